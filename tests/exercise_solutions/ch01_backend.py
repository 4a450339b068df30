"""Reference solutions: docs/backend.md."""
from __future__ import annotations


def contiguous_strides(shape):
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def transpose_strides(shape, perm):
    src = contiguous_strides(shape)
    return [shape[p] for p in perm], [src[p] for p in perm]


def broadcast_strides(shape, out_shape):
    lead = len(out_shape) - len(shape)
    src = contiguous_strides(shape)
    return [0] * lead + [0 if shape[i] == 1 and out_shape[lead + i] != 1 else src[i]
                         for i in range(len(shape))]
