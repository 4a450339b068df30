"""Exercises of the chapter "Matrix products" (docs/ops/matmul.md).

Check your answers with:  python -m minisinga.exercises check matmul.1 matmul.2
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend  # noqa: F401


def matmul_backward(a: np.ndarray, b: np.ndarray, dy: np.ndarray):
    """matmul.1: return (da, db) for y = a @ b with a (m, k), b (k, n)
    and dy = dL/dy (m, n).

    Read: docs/ops/matmul.md.
    """
    raise NotImplementedError("matmul.1: write matmul_backward (docs/ops/matmul.md)")


def gemm_backward(A, B, dy, alpha: float, transA: int, transB: int):
    """matmul.2: return (dA, dB) for
    y = alpha * op(A) @ op(B) + beta * C, where op(X) is X.T when its trans flag is 1.

    Read: docs/ops/matmul.md.
    """
    raise NotImplementedError("matmul.2: write gemm_backward (docs/ops/matmul.md)")


def add_bias_backward(dy: np.ndarray, axis: int) -> np.ndarray:
    """matmul.3: dL/db of y = autograd.add_bias(x, b, axis) for x (M, N), given dy (M, N):
    b (N,) is added to every row when axis = 0, b (M,) to every column when axis = 1.

    Read: docs/ops/matmul.md#add_bias.
    """
    raise NotImplementedError("matmul.3: write add_bias_backward (docs/ops/matmul.md)")
