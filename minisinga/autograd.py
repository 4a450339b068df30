"""minisinga.autograd: SINGA's autograd module, under SINGA's names.

Nothing is defined here: this module gathers the engine (``minisinga/engine.py``:
``Operation``, ``backward``, ``gradients``, the ``training`` flag), the
operations (``minisinga/ops/``, one module per family: ``autograd.relu``,
``autograd.ReLU``) and SINGA's old-style layer names (``autograd.Linear``, from
``minisinga/layer.py``), so that SINGA code runs unchanged.  Inside minisinga,
modules import the engine and ``minisinga.operations`` (every operation) directly.

While ``autograd.training`` is True, every Operation called on Tensors records
itself as the ``creator`` of its outputs; ``backward(y)`` walks that graph back
from ``y`` and yields ``(param, grad)`` pairs as soon as each is final.

Adding an operation (the one documented way)::

    class Square(autograd.Operation):
        def forward(self, x):            # x: a CTensor
            self.x = x                   # keep what backward needs
            return backend.mul(x, x)     # one CTensor (or a tuple of them)
        def backward(self, dy):          # dy: a CTensor
            return backend.mul(backend.scale(self.x, 2.0), dy)  # one per input

    def square(x):
        return Square()(x)[0]

(``engine.Operation`` is the same class.)  See docs/autograd.md for the
derivation of the engine.
"""
from __future__ import annotations

import sys

from . import engine
from ._tensor import Tensor  # noqa: F401
from .ctensor import CTensor  # noqa: F401
from .engine import (  # noqa: F401
    Dummy,
    Gradients,
    Operation,
    Operator,
    _backward_many,
    backward,
    gradients,
)
from .layer import (  # noqa: F401  (SINGA's old-style layer names)
    LSTM,
    RNN,
    AvgPool1d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Linear,
    MaxPool1d,
    MaxPool2d,
    Pooling2d,
    RNN_Base,
    SeparableConv2d,
)
from .operations import *  # noqa: F401,F403

# ``autograd.training`` (per thread) and ``autograd.recording`` read and assign the
# engine's flags, as module attributes, as SINGA code does (engine.FlagModule).
sys.modules[__name__].__class__ = engine.FlagModule
