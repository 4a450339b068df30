"""Exercises of the chapter "The CUDA backend" (docs/cuda.md).  No GPU needed.

Check your answers with:  python -m minisinga.exercises check cuda.1 cuda.2
"""
from __future__ import annotations


def grid_stride_indices(block: int, thread: int, block_dim: int, grid_dim: int,
                        n: int) -> list[int]:
    """cuda.1: the elements, in order, that thread ``thread`` of block ``block``
    handles in the grid-stride loop of an elementwise kernel over n elements
    (grid_dim blocks of block_dim threads).

    Read: docs/cuda.md, "Elementwise kernels: a grid-stride loop".
    """
    raise NotImplementedError("cuda.1: write grid_stride_indices (docs/cuda.md)")


def grid_size(n: int, threads: int, max_blocks: int) -> int:
    """cuda.2: how many blocks of ``threads`` threads the launcher starts for n
    elements, with at most ``max_blocks`` (and no launch at all for n = 0).

    Read: docs/cuda.md, "Elementwise kernels: a grid-stride loop".
    """
    raise NotImplementedError("cuda.2: write grid_size (docs/cuda.md)")


def row_threads(length: int) -> int:
    """cuda.3: threads per block for a kernel that reduces rows of ``length``
    elements with one block per row (softmax, the losses, reduce_sum).

    Read: docs/cuda.md, "Reductions: warp shuffles".
    """
    raise NotImplementedError("cuda.3: write row_threads (docs/cuda.md)")
