"""minisinga.layer: SINGA's Layer API.

A ``Layer`` holds parameters and calls operations.  Its parameters are
created lazily, at the first call, from the input's shape, dtype and device:
``Linear(10)`` does not know its input size until it sees data.

Naming.  Assigning a Layer or a Tensor as an attribute registers it and names
it by its path from the outermost layer, joined with dots: ``conv1.W``,
``bn1.running_mean``, ``block.l1.W``.  A Tensor attribute with
``stores_grad=True`` is a *parameter* (``get_params``); any other Tensor
attribute is an auxiliary *state*, such as batch norm's running statistics
(``get_states`` returns parameters and states).

Writing a layer::

    class Scale(layer.Layer):
        def initialize(self, x):                  # runs once, at the first call
            self.s = Tensor((x.shape[1],), x.device, x.dtype,
                            requires_grad=True, stores_grad=True).set_value(1.0)
        def forward(self, x):
            return autograd.mul(x, self.s)
"""
from __future__ import annotations

import math

from . import dtypes
from . import operations as ops
from ._layer import Layer, _check_input, _lazy, _make_param, _positive_int  # noqa: F401

__all__ = [
    "Layer", "Linear", "ReLU", "Sigmoid", "SoftMax", "Flatten", "Cat", "Add", "Reshape",
    "Dropout", "SoftMaxCrossEntropy", "MeanSquareError", "CrossEntropy", "BinaryCrossEntropy",
]


class Linear(Layer):
    """Fully connected layer: y = x W + b, with W (in, out) and b (out,).

    ``Linear(out_features, bias=True)``, or SINGA's old form
    ``Linear(in_features, out_features, bias=True)``, whose input size is
    checked against the data at the first call (SINGA ignores it).  An input
    with more than 2 dimensions is flattened to (N, -1) first, so an MLP can
    take images directly.  W ~ N(0, sqrt(2 / (in + out))), b = 0.
    """

    def __init__(self, out_features, *args, bias: bool = True, **kwargs):
        super().__init__()
        self.in_features = None
        if args:
            if isinstance(args[0], bool):  # Linear(out, True)
                bias = args[0]
            else:  # the old form Linear(in, out[, bias])
                self.in_features = _positive_int("Linear", "in_features", out_features)
                out_features = args[0]
                if len(args) > 1:
                    bias = args[1]
        self.out_features = _positive_int("Linear", "out_features", out_features)
        self.bias = bool(kwargs.pop("bias", bias))

    def initialize(self, x):
        _check_input(self, x)
        in_features = math.prod(x.shape[1:])
        if self.in_features is not None and self.in_features != in_features:
            raise ValueError(f"Linear {self.name or ''}: declared in_features={self.in_features} "
                             f"but the input {x.shape} has {in_features} features")
        self.in_features = in_features
        std = math.sqrt(2.0 / (in_features + self.out_features))
        self.W = _make_param((in_features, self.out_features), x).gaussian(0.0, std)
        if self.bias:
            self.b = _make_param((self.out_features,), x).set_value(0.0)

    def forward(self, x):
        _check_input(self, x)
        if len(x.data.shape) != 2:   # (x.ndim(), read directly: this runs every step)
            x = ops.flatten(x, 1)
        if x.data.shape[1] != self.in_features:
            raise ValueError(f"Linear {self.name or ''}: expected {self.in_features} input "
                             f"features, got shape {x.shape}")
        y = ops.matmul(x, self.W)
        if self.bias:
            y = ops.add_bias(y, self.b, axis=0)
        return y


class ReLU(Layer):
    """relu(x)."""

    def forward(self, x):
        return ops.relu(x)


class Sigmoid(Layer):
    """sigmoid(x)."""

    def forward(self, x):
        return ops.sigmoid(x)


class SoftMax(Layer):
    """softmax(x) along axis 1."""

    def forward(self, x):
        return ops.softmax(x, 1)


class Flatten(Layer):
    """flatten(x, axis)."""

    def __init__(self, axis: int = 1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return ops.flatten(x, self.axis)


class Cat(Layer):
    """cat(xs, axis): ``forward(xs)`` takes a list of tensors."""

    def __init__(self, axis: int = 0):
        super().__init__()
        self.axis = axis

    def forward(self, xs):
        return ops.cat(xs, self.axis)


class Add(Layer):
    """a + b."""

    def forward(self, a, b):
        return ops.add(a, b)


class Reshape(Layer):
    """reshape(x, shape): ``forward(x, shape)``."""

    def forward(self, x, shape):
        return ops.reshape(x, shape)


class Dropout(Layer):
    """dropout(x, ratio); the ratio is honoured (SINGA passes it as the seed)."""

    def __init__(self, ratio: float = 0.5):
        super().__init__()
        if not dtypes.is_number(ratio) or not 0 <= ratio < 1:
            raise ValueError(f"Dropout: ratio must be a number in [0, 1), got {ratio!r}")
        self.ratio = float(ratio)

    def forward(self, x):
        return ops.dropout(x, self.ratio)


class SoftMaxCrossEntropy(Layer):
    """softmax_cross_entropy(x, t)."""

    def forward(self, x, t):
        return ops.softmax_cross_entropy(x, t)


class MeanSquareError(Layer):
    """mse_loss(x, t)."""

    def forward(self, x, t):
        return ops.mse_loss(x, t)


class CrossEntropy(Layer):
    """cross_entropy(x, t)."""

    def forward(self, x, t):
        return ops.cross_entropy(x, t)


class BinaryCrossEntropy(Layer):
    """binary_cross_entropy(x, t)."""

    def forward(self, x, t):
        return ops.binary_cross_entropy(x, t)


# ====================================================== convolution, pooling, batch norm
# (Conv2d, SeparableConv2d, BatchNorm2d, Pooling2d, MaxPool2d, AvgPool2d, MaxPool1d,
#  AvgPool1d live in minisinga/layers_conv.py and are re-exported here.)

from . import layers_conv as _layers_conv  # noqa: E402
from . import layers_seq as _layers_seq  # noqa: E402
from .layers_conv import *  # noqa: E402,F401,F403
from .layers_seq import *  # noqa: E402,F401,F403

__all__ += _layers_conv.__all__ + _layers_seq.__all__
