"""Convolution, pooling and batch-norm layers (re-exported by minisinga.layer)."""
__all__: list[str] = []
