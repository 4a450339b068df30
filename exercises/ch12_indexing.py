"""Exercises of the chapter "Indexing and data movement" (docs/ops/indexing.md).

Check your answers with:  python -m minisinga.exercises check indexing.1 indexing.2 indexing.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401


def slice_positions(dim: int, start: int, end: int, step: int) -> list[int]:
    """indexing.1: the positions, in order, that ONNX Slice takes along an axis of
    size ``dim`` (negative start/end count from the end; out-of-range values clamp).

    Read: docs/ops/indexing.md#slice.
    """
    raise NotImplementedError("indexing.1: write slice_positions (docs/ops/indexing.md)")


def pad_source(mode: str, dim: int, begin: int, end: int) -> list[int]:
    """indexing.2: for each position of an axis of size ``dim`` padded with
    ``begin`` and ``end`` cells, the position of x it copies, for mode 'edge' or
    'reflect' (np.pad's meaning).

    Read: docs/ops/indexing.md#pad.
    """
    raise NotImplementedError("indexing.2: write pad_source (docs/ops/indexing.md)")


def gather_backward(x_shape, axis: int, indices: list[int], dy: np.ndarray) -> np.ndarray:
    """indexing.3: dL/dx of y = autograd.gather(x, axis, indices), given dy;
    an index may appear more than once.

    Read: docs/ops/indexing.md#gather.
    """
    raise NotImplementedError("indexing.3: write gather_backward (docs/ops/indexing.md)")
