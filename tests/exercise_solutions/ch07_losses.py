"""Reference solutions: docs/ops/losses.md."""
from __future__ import annotations

import numpy as np


def softmax_cross_entropy_grad(x, t):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True) - t) / x.shape[0]


def logsumexp(x):
    m = x.max(axis=1)
    return m + np.log(np.exp(x - m[:, None]).sum(axis=1))


def mse_grad(x, t):
    return 2 * (x - t) / x.size
