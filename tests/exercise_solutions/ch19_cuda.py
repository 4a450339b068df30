"""Reference solutions: docs/cuda.md."""
from __future__ import annotations


def grid_stride_indices(block, thread, block_dim, grid_dim, n):
    return list(range(block * block_dim + thread, n, block_dim * grid_dim))


def grid_size(n, threads, max_blocks):
    return min((n + threads - 1) // threads, max_blocks)


def row_threads(length):
    t = 32
    while t < 256 and t < length:
        t *= 2
    return t
