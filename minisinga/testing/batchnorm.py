"""Registry entries of batch normalisation
(minisinga/ops/batchnorm.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.batchnorm import _BatchNorm2d, batchnorm_2d
from .registry import OpInfo, Sample, register


def np_batchnorm_2d(x, scale, bias, running_mean, running_var, momentum=0.9, eps=1e-5,
                    training=None):
    """NumPy reference of the output (the running-statistics update is tested apart)."""
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = running_mean, running_var
    xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return scale.reshape(shape) * xhat + bias.reshape(shape)


def _samples(rng):
    def args(*shape):
        C = shape[1]
        return [rng.uniform(-1, 2, shape), rng.uniform(0.5, 1.5, C), rng.uniform(-1, 1, C),
                rng.uniform(-0.5, 0.5, C), rng.uniform(0.5, 2, C)]
    return [Sample(args(2, 2, 3, 3), {"training": True}, note="training"),
            Sample(args(3, 2, 1, 2), {"training": True, "momentum": 0.3, "eps": 1e-3},
                   note="training, other momentum and eps"),
            Sample(args(4, 3), {"training": True}, note="training, 2-D input"),
            Sample(args(2, 2, 3, 3), {"training": False}, note="inference")]


register(OpInfo("batchnorm_2d", (_BatchNorm2d,), batchnorm_2d, np_batchnorm_2d, _samples,
                grad_inputs=[0, 1, 2]))
