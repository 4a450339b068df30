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

import functools
import math

import numpy as np

from . import autograd, dtypes
from .tensor import Tensor

__all__ = [
    "Layer", "Linear", "ReLU", "Sigmoid", "SoftMax", "Flatten", "Cat", "Add", "Reshape",
    "Dropout", "SoftMaxCrossEntropy", "MeanSquareError", "CrossEntropy", "BinaryCrossEntropy",
]


def _lazy(forward):
    """Wrap a subclass's forward: initialise the layer from the first inputs."""
    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        if not self._initialized:
            self._initialized = True  # set first: initialize may call sublayers
            try:
                self.initialize(*args, **kwargs)
            except BaseException:
                self._initialized = False
                raise
        return forward(self, *args, **kwargs)
    wrapper._lazy_wrapped = True
    return wrapper


class Layer:
    """Base class of layers: lazy initialisation, dotted names, params and states."""

    sep = "."

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fwd = cls.__dict__.get("forward")
        if fwd is not None and not getattr(fwd, "_lazy_wrapped", False):
            cls.forward = _lazy(fwd)

    def __init__(self):
        object.__setattr__(self, "_layers", {})
        object.__setattr__(self, "_tensors", {})
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_attr", None)
        self.name = None
        self._initialized = False

    # ---------------------------------------------------------------- registration
    def __setattr__(self, attr, value):
        if isinstance(value, Layer):
            self._layers[attr] = value
            object.__setattr__(value, "_parent", self)
            object.__setattr__(value, "_attr", attr)
            value.name = value._path()
            value._rename_children()
        elif isinstance(value, Tensor) and not attr.startswith("_"):
            self._tensors[attr] = value
            value.name = self._full_name(attr)
        else:  # a plain value replaces any layer or tensor registered under this name
            self.__dict__["_layers"].pop(attr, None)
            self.__dict__["_tensors"].pop(attr, None)
        object.__setattr__(self, attr, value)

    def __delattr__(self, attr):
        self._layers.pop(attr, None)
        self._tensors.pop(attr, None)
        object.__delattr__(self, attr)

    def _path(self) -> str:
        """This layer's dotted path from the outermost layer ('' for the root)."""
        parts, layer = [], self
        while layer._parent is not None:
            parts.append(layer._attr)
            layer = layer._parent
        return self.sep.join(reversed(parts))

    def _full_name(self, attr: str) -> str:
        path = self._path()
        return f"{path}{self.sep}{attr}" if path else attr

    def _rename_children(self) -> None:
        for attr, t in self._tensors.items():
            t.name = self._full_name(attr)
        for sub in self._layers.values():
            sub.name = sub._path()
            sub._rename_children()

    def register_layers(self, *layers) -> None:
        """Register a list of sublayers named ``<ClassName>_<index>``."""
        for i, layer in enumerate(layers):
            setattr(self, f"{type(layer).__name__}_{i}", layer)

    # ---------------------------------------------------------------- calling
    def initialize(self, *inputs) -> None:
        """Create parameters from the first inputs (override in subclasses)."""

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------------- params and states
    def _collect(self, include_states: bool) -> dict[str, Tensor]:
        out = {}
        for attr, t in self._tensors.items():
            if t.stores_grad or include_states:
                t.name = self._full_name(attr)
                out[t.name] = t
        for sub in self._layers.values():
            out.update(sub._collect(include_states))
        return out

    def get_params(self) -> dict[str, Tensor]:
        """{dotted name: Tensor} of every parameter (stores_grad=True), sublayers included."""
        return self._collect(False)

    def get_states(self) -> dict[str, Tensor]:
        """Parameters plus auxiliary states (such as running statistics)."""
        return self._collect(True)

    def _assign(self, values: dict, include_states: bool, what: str) -> None:
        if not isinstance(values, dict):
            raise TypeError(f"{what}: expected a dict of name -> Tensor or ndarray, "
                            f"got {type(values).__name__}")
        own = self._collect(include_states)
        unknown = sorted(set(values) - set(own))
        if unknown:
            raise KeyError(f"{what}: unknown name(s) {unknown}; this layer has {sorted(own)}"
                           + ("" if own else " (it is not initialised yet: call it once first)"))
        # Check everything before copying anything, so a bad dict changes nothing.
        arrays = {}
        for name, value in values.items():
            target = own[name]
            arr = value.to_numpy() if isinstance(value, Tensor) else np.asarray(value)
            if tuple(arr.shape) != target.shape:
                raise ValueError(f"{what}: {name} has shape {target.shape} but the value has "
                                 f"shape {tuple(arr.shape)}")
            if arr.dtype.kind not in "fiu":
                raise TypeError(f"{what}: {name}: cannot copy a {arr.dtype} array")
            arrays[name] = arr
        for name, arr in arrays.items():
            own[name].copy_from_numpy(arr.astype(dtypes.to_numpy(own[name].dtype), copy=False))

    def set_params(self, parameters: dict) -> None:
        """Copy values (Tensors or NumPy arrays) into the named parameters."""
        self._assign(parameters, False, "set_params")

    def set_states(self, states: dict) -> None:
        """Copy values into the named parameters and states."""
        self._assign(states, True, "set_states")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _make_param(shape, like: Tensor) -> Tensor:
    return Tensor(shape, like.device, like.dtype, requires_grad=True, stores_grad=True)


def _check_input(layer: Layer, x, ndim: int | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{type(layer).__name__} {layer.name or ''}: input must be a Tensor, "
                        f"got {type(x).__name__}")
    if ndim is not None and x.ndim() != ndim:
        raise ValueError(f"{type(layer).__name__} {layer.name or ''}: expected a {ndim}-D "
                         f"input, got shape {x.shape}")
    return x


def _positive_int(layer: str, name: str, v) -> int:
    if not dtypes.is_int(v) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")
    return int(v)


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
            x = autograd.flatten(x, 1)
        if x.data.shape[1] != self.in_features:
            raise ValueError(f"Linear {self.name or ''}: expected {self.in_features} input "
                             f"features, got shape {x.shape}")
        y = autograd.matmul(x, self.W)
        if self.bias:
            y = autograd.add_bias(y, self.b, axis=0)
        return y


class ReLU(Layer):
    """relu(x)."""

    def forward(self, x):
        return autograd.relu(x)


class Sigmoid(Layer):
    """sigmoid(x)."""

    def forward(self, x):
        return autograd.sigmoid(x)


class SoftMax(Layer):
    """softmax(x) along axis 1."""

    def forward(self, x):
        return autograd.softmax(x, 1)


class Flatten(Layer):
    """flatten(x, axis)."""

    def __init__(self, axis: int = 1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return autograd.flatten(x, self.axis)


class Cat(Layer):
    """cat(xs, axis): ``forward(xs)`` takes a list of tensors."""

    def __init__(self, axis: int = 0):
        super().__init__()
        self.axis = axis

    def forward(self, xs):
        return autograd.cat(xs, self.axis)


class Add(Layer):
    """a + b."""

    def forward(self, a, b):
        return autograd.add(a, b)


class Reshape(Layer):
    """reshape(x, shape): ``forward(x, shape)``."""

    def forward(self, x, shape):
        return autograd.reshape(x, shape)


class Dropout(Layer):
    """dropout(x, ratio); the ratio is honoured (SINGA passes it as the seed)."""

    def __init__(self, ratio: float = 0.5):
        super().__init__()
        if not dtypes.is_number(ratio) or not 0 <= ratio < 1:
            raise ValueError(f"Dropout: ratio must be a number in [0, 1), got {ratio!r}")
        self.ratio = float(ratio)

    def forward(self, x):
        return autograd.dropout(x, self.ratio)


class SoftMaxCrossEntropy(Layer):
    """softmax_cross_entropy(x, t)."""

    def forward(self, x, t):
        return autograd.softmax_cross_entropy(x, t)


class MeanSquareError(Layer):
    """mse_loss(x, t)."""

    def forward(self, x, t):
        return autograd.mse_loss(x, t)


class CrossEntropy(Layer):
    """cross_entropy(x, t)."""

    def forward(self, x, t):
        return autograd.cross_entropy(x, t)


class BinaryCrossEntropy(Layer):
    """binary_cross_entropy(x, t)."""

    def forward(self, x, t):
        return autograd.binary_cross_entropy(x, t)


# ====================================================== convolution, pooling, batch norm
# (Conv2d, SeparableConv2d, BatchNorm2d, Pooling2d, MaxPool2d, AvgPool2d, MaxPool1d,
#  AvgPool1d live in minisinga/layers_conv.py and are re-exported here.)

from . import layers_conv as _layers_conv  # noqa: E402
from . import layers_seq as _layers_seq  # noqa: E402
from .layers_conv import *  # noqa: E402,F401,F403
from .layers_seq import *  # noqa: E402,F401,F403

__all__ += _layers_conv.__all__ + _layers_seq.__all__
