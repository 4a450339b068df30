"""Exercises of the chapter "Pooling" (docs/ops/pooling.md).

Check your answers with:  python -m minisinga.exercises check pooling.1 pooling.2 pooling.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401


def avg_pool_backward(dy: np.ndarray, k: int) -> np.ndarray:
    """pooling.1: dL/dx of y = autograd.avg_pool2d(x, k) (k x k windows,
    stride k, no padding, H and W multiples of k), given dy (N, C, H/k, W/k).

    Read: docs/ops/pooling.md.
    """
    raise NotImplementedError("pooling.1: write avg_pool_backward (docs/ops/pooling.md)")


def max_pool_backward(x: np.ndarray, dy: np.ndarray, k: int, stride: int) -> np.ndarray:
    """pooling.2: dL/dx of y = autograd.max_pool2d(x, k, stride) for
    x (N, C, H, W) and no padding; windows may overlap (stride < k).

    Read: docs/ops/pooling.md.
    """
    raise NotImplementedError("pooling.2: write max_pool_backward (docs/ops/pooling.md)")


def avg_pool_padded(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """pooling.3: the forward of autograd.avg_pool2d(x, k, stride, pad): ``pad``
    cells on every side, with minisinga's convention for the padded cells.

    Read: docs/ops/pooling.md.
    """
    raise NotImplementedError("pooling.3: write avg_pool_padded (docs/ops/pooling.md)")
