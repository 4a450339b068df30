"""Reference solutions: docs/ops/convolution.md."""
from __future__ import annotations

import numpy as np


def conv_output_size(size, k, stride, pad_total, dilation):
    return (size + pad_total - ((k - 1) * dilation + 1)) // stride + 1


def im2col(x, kh, kw, stride, pad):
    N, C, H, W = x.shape
    OH = (H + 2 * pad - kh) // stride + 1
    OW = (W + 2 * pad - kw) // stride + 1
    col = np.zeros((C * kh * kw, N * OH * OW))
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for n in range(N):
                    for p in range(OH):
                        for q in range(OW):
                            ih, iw = p * stride - pad + i, q * stride - pad + j
                            if 0 <= ih < H and 0 <= iw < W:
                                col[(c * kh + i) * kw + j, (n * OH + p) * OW + q] = x[n, c, ih, iw]
    return col


def same_pad(size, k, s, d, mode):
    out = -(-size // s)
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
    small, large = total // 2, total - total // 2
    return (small, large) if mode == "SAME_UPPER" else (large, small)
