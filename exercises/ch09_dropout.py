"""Exercises of the chapter "Dropout" (docs/ops/dropout.md).

Check your answers with:  python -m minisinga.exercises check dropout.1 dropout.2 dropout.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401


def dropout_scale(ratio: float) -> float:
    """dropout.1: the factor by which minisinga's (inverted) dropout
    multiplies the elements it keeps.

    Read: docs/ops/dropout.md.
    """
    raise NotImplementedError("dropout.1: write dropout_scale (docs/ops/dropout.md)")


def dropout_backward(x: np.ndarray, y: np.ndarray, dy: np.ndarray, ratio: float) -> np.ndarray:
    """dropout.2: dL/dx of y = autograd.dropout(x, ratio) in training, given
    x (no zeros), the output y of that very call, and dy.

    Read: docs/ops/dropout.md.
    """
    raise NotImplementedError("dropout.2: write dropout_backward (docs/ops/dropout.md)")


def dropout_eval(x: np.ndarray, ratio: float) -> np.ndarray:
    """dropout.3: what autograd.dropout(x, ratio) returns outside training.

    Read: docs/ops/dropout.md.
    """
    raise NotImplementedError("dropout.3: write dropout_eval (docs/ops/dropout.md)")
