"""Reference solutions: docs/ops/batchnorm.md."""
from __future__ import annotations

import numpy as np

_AXES = (0, 2, 3)
_C = (1, -1, 1, 1)


def batchnorm_forward(x, scale, bias, eps):
    mean, var = x.mean(axis=_AXES), x.var(axis=_AXES)
    xhat = (x - mean.reshape(_C)) / np.sqrt(var.reshape(_C) + eps)
    return scale.reshape(_C) * xhat + bias.reshape(_C)


def running_update(running_mean, running_var, x, momentum):
    m = x.size // x.shape[1]
    mean, var = x.mean(axis=_AXES), x.var(axis=_AXES)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var * m / (m - 1))


def batchnorm_backward(x, scale, dy, eps):
    mean, var = x.mean(axis=_AXES, keepdims=True), x.var(axis=_AXES, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * invstd
    g = dy * scale.reshape(_C)
    dx = invstd * (g - g.mean(axis=_AXES, keepdims=True)
                   - xhat * (g * xhat).mean(axis=_AXES, keepdims=True))
    return dx, (dy * xhat).sum(axis=_AXES), dy.sum(axis=_AXES)
