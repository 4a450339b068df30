"""Exercises of the chapter "Convolution" (docs/ops/convolution.md).

Check your answers with:  python -m minisinga.exercises check convolution.1 convolution.2 convolution.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend  # noqa: F401


def conv_output_size(size: int, k: int, stride: int, pad_total: int, dilation: int) -> int:
    """convolution.1: the number of output positions along one axis
    of ``size`` inputs, for a kernel of ``k`` taps with ``dilation``, ``stride``, and
    ``pad_total`` zeros added in all (both ends together).

    Read: docs/ops/convolution.md#the-output-size.
    """
    raise NotImplementedError("convolution.1: write conv_output_size (docs/ops/convolution.md)")


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, pad: int) -> np.ndarray:
    """convolution.2: the matrix col (C*kh*kw, N*OH*OW) of x (N, C, H, W)
    with ``pad`` zeros on every side, in minisinga's row and column order
    (plain Python loops are fine: this is about the index math).

    Read: docs/ops/convolution.md#lowering-onto-gemm-im2col.
    """
    raise NotImplementedError("convolution.2: write im2col (docs/ops/convolution.md)")


def same_pad(size: int, k: int, s: int, d: int, mode: str) -> tuple[int, int]:
    """convolution.3: (begin, end) padding of one axis for
    mode 'SAME_UPPER' or 'SAME_LOWER' (ONNX's auto_pad).

    Read: docs/ops/convolution.md#padding-modes-and-the-same-arithmetic.
    """
    raise NotImplementedError("convolution.3: write same_pad (docs/ops/convolution.md)")
