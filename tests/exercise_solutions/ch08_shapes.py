"""Reference solutions: docs/ops/shapes.md."""
from __future__ import annotations

import numpy as np


def inverse_perm(perm):
    inv = [0] * len(perm)
    for k, p in enumerate(perm):
        inv[p] = k
    return tuple(inv)


def reduce_max_backward(x, dy):
    dx = np.zeros_like(x)
    rows = np.arange(x.shape[0])
    dx[rows, np.argmax(x, axis=1)] = dy[:, 0]
    return dx


def cat_backward(dy, sizes, axis):
    out, start = [], 0
    for size in sizes:
        out.append(np.take(dy, range(start, start + size), axis=axis))
        start += size
    return out
