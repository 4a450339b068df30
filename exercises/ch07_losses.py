"""Exercises of the chapter "Losses" (docs/ops/losses.md).

Check your answers with:  python -m minisinga.exercises check losses.1 losses.2
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend  # noqa: F401


def softmax_cross_entropy_grad(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """losses.1: dL/dx of
    L = autograd.softmax_cross_entropy(x, t), x (N, C) logits, t (N, C) one-hot.

    Read: docs/ops/losses.md#softmax_cross_entropy.
    """
    raise NotImplementedError("losses.1: write softmax_cross_entropy_grad (docs/ops/losses.md)")


def logsumexp(x: np.ndarray) -> np.ndarray:
    """losses.2: log(sum(exp(x))) of each row of x (N, C), shape (N,),
    finite even when a row's values are near +-1000.

    Read: docs/ops/losses.md.
    """
    raise NotImplementedError("losses.2: write logsumexp (docs/ops/losses.md)")


def mse_grad(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """losses.3: dL/dx of L = autograd.mse_loss(x, t) (x and t of one shape).

    Read: docs/ops/losses.md#mse_loss.
    """
    raise NotImplementedError("losses.3: write mse_grad (docs/ops/losses.md)")
