"""Exercises of the chapter "Batch normalisation" (docs/ops/batchnorm.md).

Check your answers with:  python -m minisinga.exercises check batchnorm.1 batchnorm.2 batchnorm.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401


def batchnorm_forward(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """batchnorm.1: y of batch normalisation in training mode for x (N, C, H, W),
    scale and bias (C,): the batch's statistics per channel.

    Read: docs/ops/batchnorm.md.
    """
    raise NotImplementedError("batchnorm.1: write batchnorm_forward (docs/ops/batchnorm.md)")


def running_update(running_mean, running_var, x: np.ndarray, momentum: float):
    """batchnorm.2: the running mean and variance (each (C,)) after one
    training step on the batch x (N, C, H, W), by minisinga's (SINGA's) rule;
    returns (new mean, new var).

    Read: docs/ops/batchnorm.md.
    """
    raise NotImplementedError("batchnorm.2: write running_update (docs/ops/batchnorm.md)")


def batchnorm_backward(x: np.ndarray, scale: np.ndarray, dy: np.ndarray, eps: float):
    """batchnorm.3: (dx, dscale, dbias) of batch normalisation in training
    mode, given dy; derive dx through the batch mean and variance too.

    Read: docs/ops/batchnorm.md.
    """
    raise NotImplementedError("batchnorm.3: write batchnorm_backward (docs/ops/batchnorm.md)")
