"""Exercises of the chapter "Shapes and reductions" (docs/ops/shapes.md).

Check your answers with:  python -m minisinga.exercises check shapes.1 shapes.2
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend  # noqa: F401


def inverse_perm(perm: tuple[int, ...]) -> tuple[int, ...]:
    """shapes.1: the permutation that undoes ``perm``:
    transpose's backward is transpose(dy, inverse_perm(perm)).

    Read: docs/ops/shapes.md#transpose.
    """
    raise NotImplementedError("shapes.1: write inverse_perm (docs/ops/shapes.md#transpose)")


def reduce_max_backward(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """shapes.2: dL/dx of y = reduce_max(x, axes=[1],
    keepdims=1) for x (N, C), dy (N, 1), with minisinga's convention for ties.

    Read: docs/ops/shapes.md#reduce_max.
    """
    raise NotImplementedError("shapes.2: write reduce_max_backward (docs/ops/shapes.md#reduce_max)")


def cat_backward(dy: np.ndarray, sizes: list[int], axis: int) -> list[np.ndarray]:
    """shapes.3: the gradients of the inputs of y = autograd.cat(xs, axis), given
    dy and each input's size along ``axis``.

    Read: docs/ops/shapes.md#cat.
    """
    raise NotImplementedError("shapes.3: write cat_backward (docs/ops/shapes.md)")
