"""Sequence and other layers built from autograd operations (re-exported by minisinga.layer)."""
__all__: list[str] = []
