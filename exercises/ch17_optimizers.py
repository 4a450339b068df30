"""Exercises of the chapter "Optimizers" (docs/optimizers.md).

Check your answers with:  python -m minisinga.exercises check optimizers.1 ...
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import backend, opt  # noqa: F401


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay):
    """optimizers.1: one step of minisinga's (SINGA's) SGD rule on NumPy arrays;
    returns (new p, new buf).  ``buf`` starts at zeros.

    Read: docs/optimizers.md (SGD).
    """
    raise NotImplementedError("optimizers.1: write sgd_step (docs/optimizers.md)")


def adam_step(p, g, m, v, t, lr, beta_1, beta_2, epsilon):
    """optimizers.2: one Adam step on NumPy arrays, ``t`` = 1 for the first
    step; returns (new p, new m, new v).

    Read: docs/optimizers.md (Adam).
    """
    raise NotImplementedError("optimizers.2: write adam_step (docs/optimizers.md)")


class SignSGD(opt.Optimizer):
    """optimizers.3: p -= lr * sign(g), computed by kernels, with the learning rate
    of the current step (``self.lr_value``, so schedules work).

    Read: docs/optimizers.md, "Where the numbers live".
    """

    def apply(self, name, param, grad):
        raise NotImplementedError("optimizers.3: write SignSGD.apply (docs/optimizers.md)")
