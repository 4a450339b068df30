"""Reference solutions: docs/ops/indexing.md."""
from __future__ import annotations

import numpy as np


def slice_positions(dim, start, end, step):
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
    else:
        start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return list(range(start, end, step))


def pad_source(mode, dim, begin, end):
    out = []
    for o in range(begin + dim + end):
        i = o - begin
        if mode == "edge" or dim == 1:
            out.append(min(max(i, 0), dim - 1))
        else:
            period = 2 * (dim - 1)
            m = i % period
            out.append(m if m < dim else period - m)
    return out


def gather_backward(x_shape, axis, indices, dy):
    dx = np.zeros(x_shape)
    moved = np.moveaxis(dx, axis, 0)          # a view: adding into it adds into dx
    np.add.at(moved, indices, np.moveaxis(dy, axis, 0))
    return dx
