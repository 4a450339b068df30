"""Exercises of the chapter "Tensors and the C backend" (docs/backend.md).

Check your answers with:  python -m minisinga.exercises check backend.1 backend.2 backend.3
(backend.4 is the C file ch01_backend/square.c.)
"""
from __future__ import annotations


def contiguous_strides(shape: tuple[int, ...]) -> list[int]:
    """backend.1: the element strides of a compact, row-major array of ``shape``.

    Example: (2, 3, 4) -> [12, 4, 1]; () -> [].
    Read: docs/backend.md, "Two layers of tensor".
    """
    raise NotImplementedError("backend.1: write contiguous_strides (docs/backend.md)")


def transpose_strides(shape: tuple[int, ...], perm: tuple[int, ...]):
    """backend.2: ``(out_shape, strides)`` such that
    ``backend.strided_copy(x, out_shape, strides)`` is ``x`` transposed by ``perm``.

    ``strided_copy`` computes out[idx] = x.flat[sum(idx * strides)].
    Read: docs/backend.md and docs/ops/shapes.md#transpose.
    """
    raise NotImplementedError("backend.2: write transpose_strides (docs/ops/shapes.md)")


def broadcast_strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """backend.3: the strides (one per axis of ``out_shape``) that make
    ``backend.strided_copy(x, out_shape, strides)`` broadcast ``x`` to ``out_shape``.

    Read: docs/backend.md and docs/ops/elementwise.md (broadcasting).
    """
    raise NotImplementedError("backend.3: write broadcast_strides (docs/ops/elementwise.md)")
