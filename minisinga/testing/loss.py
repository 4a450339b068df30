"""Registry entries of the losses
(minisinga/ops/loss.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.loss import (
    BinaryCrossEntropy,
    CrossEntropy,
    MeanSquareError,
    SoftMaxCrossEntropy,
    binary_cross_entropy,
    cross_entropy,
    mse_loss,
    softmax_cross_entropy,
)
from .registry import OpInfo, Sample, register


def np_softmax_cross_entropy(x, t):
    """The reference loss, shape (1,): the batch mean of -log softmax(x)[label], for
    class indices t, or of -sum(q * log softmax(x)) for targets t normalised per row
    to q (used by the registry and tests/test_fuzz.py)."""
    logp = x - x.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    if t.ndim == 1:
        return np.array([-logp[np.arange(len(t)), t].mean()])
    q = t / t.sum(1, keepdims=True)
    return np.array([-(q * logp).sum() / x.shape[0]])


def _onehot(labels, c):
    out = np.zeros((len(labels), c), dtype=np.int32)
    out[np.arange(len(labels)), labels] = 1
    return out


def _sce_samples(rng):
    return [Sample([rng.uniform(-2, 2, (4, 3)), rng.integers(0, 3, 4).astype(np.int32)],
                   note="class indices"),
            Sample([rng.uniform(-2, 2, (3, 5)), _onehot(rng.integers(0, 5, 3), 5)],
                   note="int32 one-hot"),
            Sample([rng.uniform(-2, 2, (3, 4)), rng.uniform(0.1, 1, (3, 4))],
                   note="soft targets, normalised per row")]


def _probs(rng, shape):
    p = rng.uniform(0.1, 1, shape)
    return p / p.sum(-1, keepdims=True)


register(OpInfo("softmax_cross_entropy", (SoftMaxCrossEntropy,),
                lambda x, t: softmax_cross_entropy(x, t), np_softmax_cross_entropy, _sce_samples,
                grad_inputs=[0]))
register(OpInfo("cross_entropy", (CrossEntropy,), lambda x, t: cross_entropy(x, t),
                lambda x, t: np.array([-(t * np.log(x)).sum() / x.shape[0]]),
                lambda rng: [Sample([_probs(rng, (3, 4)), _probs(rng, (3, 4))])],
                grad_inputs=[0]))
register(OpInfo("binary_cross_entropy", (BinaryCrossEntropy,),
                lambda x, t: binary_cross_entropy(x, t),
                lambda x, t: np.array([-(t * np.log(x + 1e-4) + (1 - t) * np.log(1.0001 - x)).sum()
                                       / x.shape[0]]),
                lambda rng: [Sample([rng.uniform(0.1, 0.9, (4, 3)),
                                     rng.integers(0, 2, (4, 3)).astype(np.float64)])],
                grad_inputs=[0]))
register(OpInfo("mse_loss", (MeanSquareError,), lambda x, t: mse_loss(x, t),
                lambda x, t: np.array([((x - t) ** 2).mean()]),
                lambda rng: [Sample([rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (4, 3))])],
                grad_inputs=[0]))
