"""Reference solutions: docs/ops/pooling.md."""
from __future__ import annotations

import numpy as np


def avg_pool_backward(dy, k):
    return np.repeat(np.repeat(dy, k, axis=2), k, axis=3) / (k * k)


def max_pool_backward(x, dy, k, stride):
    dx = np.zeros_like(x)
    N, C, OH, OW = dy.shape
    for n in range(N):
        for c in range(C):
            for p in range(OH):
                for q in range(OW):
                    win = x[n, c, p * stride:p * stride + k, q * stride:q * stride + k]
                    i, j = np.unravel_index(np.argmax(win), win.shape)   # the first maximum
                    dx[n, c, p * stride + i, q * stride + j] += dy[n, c, p, q]
    return dx


def avg_pool_padded(x, k, stride, pad):
    N, C, H, W = x.shape
    OH, OW = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
    y = np.zeros((N, C, OH, OW))
    for p in range(OH):
        for q in range(OW):
            h0, w0 = p * stride - pad, q * stride - pad
            h, w = slice(max(h0, 0), min(h0 + k, H)), slice(max(w0, 0), min(w0 + k, W))
            y[:, :, p, q] = x[:, :, h, w].mean(axis=(2, 3))   # the real cells only
    return y
