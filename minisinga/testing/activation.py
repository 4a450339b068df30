"""Registry entries of the activation functions and softmax
(minisinga/ops/activation.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.activation import (
    Elu,
    HardSigmoid,
    LeakyRelu,
    ReLU,
    SeLU,
    Sigmoid,
    SoftMax,
    SoftPlus,
    SoftSign,
    Tanh,
    elu,
    hardsigmoid,
    leakyrelu,
    relu,
    selu,
    sigmoid,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .registry import OpInfo, Sample, register


def _away_from_zero(rng, shapes=((3, 4), (2, 1, 5))):
    return [Sample([rng.uniform(0.1, 2.0, s) * rng.choice([-1, 1], s)]) for s in shapes]


def _smooth(lo=-3.0, hi=3.0):
    def make(rng):
        return [Sample([rng.uniform(lo, hi, s)]) for s in ((3, 4), (2, 1, 5))]
    return make


def np_softmax(x, axis=1):
    """The reference softmax along ``axis``, max-subtracted: exp(x - m) / sum(exp(x - m))
    (used by the registry and tests/test_fuzz.py, tests/test_cuda.py)."""
    if x.size == 0:
        return np.zeros(x.shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_hardsigmoid(x, alpha=0.2, gamma=0.5):
    return np.clip(alpha * x + gamma, 0, 1)


register(OpInfo("relu", (ReLU,), relu, lambda x: np.maximum(x, 0), _away_from_zero))
register(OpInfo("leakyrelu", (LeakyRelu,), leakyrelu,
                lambda x, a=0.01: np.where(x >= 0, x, a * x),
                lambda rng: [Sample([rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))],
                                    {"a": 0.2})]))
register(OpInfo("elu", (Elu,), elu,
                lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
                lambda rng: [Sample([rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))],
                                    {"alpha": 0.7})]))
register(OpInfo("selu", (SeLU,), selu,
                lambda x, alpha=1.67326, gamma=1.0507: gamma * np.where(x > 0, x, alpha * np.expm1(x)),
                _away_from_zero))
register(OpInfo("sigmoid", (Sigmoid,), sigmoid, lambda x: 1 / (1 + np.exp(-x)), _smooth()))
register(OpInfo("hardsigmoid", (HardSigmoid,), hardsigmoid, _np_hardsigmoid,
                lambda rng: [Sample([np.array([-4.1, -2.2, -1.3, 0.4, 1.7, 2.3, 3.9])]),
                             Sample([rng.uniform(-2, 2, (3, 3))], {"alpha": 0.3, "gamma": 0.4})]))
register(OpInfo("tanh", (Tanh,), tanh, np.tanh, _smooth()))
register(OpInfo("softplus", (SoftPlus,), softplus, lambda x: np.logaddexp(0, x), _smooth()))
register(OpInfo("softsign", (SoftSign,), softsign, lambda x: x / (1 + np.abs(x)), _away_from_zero))
register(OpInfo("softmax", (SoftMax,), softmax, np_softmax,
                lambda rng: [Sample([rng.uniform(-2, 2, (3, 4))]),
                             Sample([rng.uniform(-2, 2, (2, 3, 4))], {"axis": -1}),
                             Sample([rng.uniform(-2, 2, (2, 3, 2))], {"axis": 0})]))
