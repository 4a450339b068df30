"""Convolution, pooling and batch-norm layers, with SINGA's constructors.

Re-exported by ``minisinga.layer`` (and, under SINGA's old names, by
``minisinga.autograd``): ``Conv2d``, ``SeparableConv2d``, ``BatchNorm2d``,
``Pooling2d``, ``MaxPool2d``, ``AvgPool2d``, ``MaxPool1d``, ``AvgPool1d``.

Like ``Linear``, each layer creates its parameters at its first call, from the
input: ``Conv2d(32, 3)`` learns its input channels from x.shape[1].  SINGA's old
positional forms, which name the input size first, still work, e.g.
``Conv2d(1, 32, 3, padding=1)`` and ``BatchNorm2d(32)``; unlike SINGA, that
input size is checked against the data at the first call.

Parameter names (dotted under a parent layer: ``conv1.W``, ``bn1.running_mean``):
Conv2d ``W`` (O, C/group, kh, kw) and ``b`` (O,); BatchNorm2d ``scale`` and
``bias`` (params) and ``running_mean``, ``running_var`` (states: Tensors with
``requires_grad=False``, saved by ``get_states`` but never given a gradient).

Every argument is checked when the layer is made, every input when it is called,
and each error names the layer (its dotted name once it has one) and the shapes.
"""
from __future__ import annotations

import math

from . import dtypes
from . import operations as ops
from ._layer import Layer, _make_param, _positive_int
from .ops.batchnorm import _BatchNorm2d, check_hyperparameters
from .ops.conv import _Conv2d, int_pair
from .ops.pooling import _Pooling2d
from .tensor import Tensor

__all__ = ["Conv2d", "SeparableConv2d", "BatchNorm2d", "Pooling2d", "MaxPool2d", "AvgPool2d",
           "MaxPool1d", "AvgPool1d"]


def _label(layer: Layer) -> str:
    """How errors name a layer: ``Conv2d 'block.conv1'``, or just ``Conv2d`` unnamed."""
    kind = type(layer).__name__
    return f"{kind} '{layer.name}'" if layer.name else kind


def _check_x(layer: Layer, x, ndims, what: str, param: str | None = None) -> None:
    """x must be a Tensor with one of ``ndims`` dimensions; ``param`` names the
    layer's parameter whose shape the error also shows."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{_label(layer)}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim() not in ndims:
        also = f" ({param} has shape {getattr(layer, param).shape})" if param else ""
        raise ValueError(f"{_label(layer)}: expected a {what} input, got shape "
                         f"{x.shape}{also}")


def _old_form(cls: str, args: tuple, names: tuple, given: dict, defaults: dict) -> dict:
    """The values of SINGA's old positional arguments ``args`` (named ``names``),
    merged into the keyword values ``given``; a value given both ways is an error."""
    if len(args) > len(names):
        raise TypeError(f"{cls}: too many positional arguments; the old form is (in_channels, "
                        f"out_channels, kernel_size, {', '.join(names)})")
    out = dict(given)
    for name, value in zip(names, args):
        if given[name] != defaults[name]:
            raise TypeError(f"{cls}: {name} given both by position and by keyword")
        out[name] = value
    return out


class Conv2d(Layer):
    """2-D convolution layer: ``y = conv2d(x, W, b)`` (see ``autograd.conv2d``).

    ``Conv2d(nb_kernels, kernel_size, stride=1, padding=0, dilation=1, group=1,
    bias=True, pad_mode='NOTSET', activation='NOTSET')``, or SINGA's old form
    ``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    group=1, bias=True, pad_mode='NOTSET')`` (any third positional argument selects
    it).  ``activation='RELU'`` applies a relu to the output.  Unlike SINGA on the
    CPU, groups and dilation work.

    Initialisation (SINGA's): W ~ N(0, std) with std = sqrt(2 / (C/group*kh*kw +
    nb_kernels)), drawn from the device's generator (a seed reproduces it); b = 0.
    """

    _OLD = ("stride", "padding", "dilation", "group", "bias", "pad_mode")

    def __init__(self, nb_kernels, kernel_size, *args, stride=1, padding=0, dilation=1,
                 group=1, bias=True, pad_mode="NOTSET", activation="NOTSET"):
        super().__init__()
        self.in_channels = None
        opts = {"stride": stride, "padding": padding, "dilation": dilation, "group": group,
                "bias": bias, "pad_mode": pad_mode}
        if args:  # the old form: (in_channels, out_channels, kernel_size, ...)
            defaults = {"stride": 1, "padding": 0, "dilation": 1, "group": 1, "bias": True,
                        "pad_mode": "NOTSET"}
            opts = _old_form("Conv2d", args[1:], self._OLD, opts, defaults)
            self.in_channels = _positive_int("Conv2d", "in_channels", nb_kernels)
            nb_kernels, kernel_size = kernel_size, args[0]
        self.nb_kernels = _positive_int("Conv2d", "nb_kernels (out_channels)", nb_kernels)
        # The operation checks stride, padding, dilation, group and pad_mode; make one now
        # so that a bad argument fails here, and keep its normalised values.
        probe = _Conv2d(opts["stride"], opts["padding"], opts["dilation"], opts["group"],
                        opts["pad_mode"], where="Conv2d")
        self.kernel_size = int_pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride, self.dilation, self.group = probe.stride, probe.dilation, probe.group
        self.padding, self.pad_mode = probe.pads, probe.pad_mode
        if self.nb_kernels % self.group:
            raise ValueError(f"Conv2d: group={self.group} must divide nb_kernels "
                             f"(out_channels) = {self.nb_kernels}")
        if not isinstance(opts["bias"], bool):
            raise TypeError(f"Conv2d: bias must be True or False, got {opts['bias']!r}")
        self.bias = opts["bias"]
        if not isinstance(activation, str) or activation.upper() not in ("NOTSET", "RELU"):
            raise ValueError(f"Conv2d: activation must be 'NOTSET' or 'RELU', got {activation!r}")
        self.activation = activation.upper()

    def _op(self) -> _Conv2d:
        return _Conv2d(self.stride, self.padding, self.dilation, self.group, self.pad_mode,
                       where=_label(self))

    def initialize(self, x):
        _check_x(self, x, (4,), "4-D (N, C, H, W)")
        C = x.shape[1]
        if self.in_channels is not None and self.in_channels != C:
            raise ValueError(f"{_label(self)}: declared in_channels={self.in_channels} but the "
                             f"input {x.shape} has {C} channels")
        if C % self.group:
            raise ValueError(f"{_label(self)}: group={self.group} must divide the input "
                             f"channels, but the input {x.shape} has {C}")
        self.in_channels = C
        kh, kw = self.kernel_size
        fan = C // self.group * kh * kw
        std = math.sqrt(2.0 / (fan + self.nb_kernels))
        self.W = _make_param((self.nb_kernels, C // self.group, kh, kw), x).gaussian(0.0, std)
        if self.bias:
            self.b = _make_param((self.nb_kernels,), x).set_value(0.0)

    def forward(self, x):
        _check_x(self, x, (4,), "4-D (N, C, H, W)", "W")
        y = self._op()(x, self.W, self.b)[0] if self.bias else self._op()(x, self.W)[0]
        return ops.relu(y) if self.activation == "RELU" else y


class SeparableConv2d(Layer):
    """Depthwise-separable convolution: a depthwise Conv2d (group = in_channels, one
    kh x kw filter per channel) then a pointwise 1x1 Conv2d to ``nb_kernels`` channels.

    ``SeparableConv2d(nb_kernels, kernel_size, stride=1, padding=0, bias=False)``, or the
    old form ``SeparableConv2d(in_channels, out_channels, kernel_size, stride=1,
    padding=0, bias=False)``.  Its sublayers are ``depthwise_conv`` and ``point_conv``
    (parameters ``sep.depthwise_conv.W``, ``sep.point_conv.W``).
    """

    _OLD = ("stride", "padding", "bias")

    def __init__(self, nb_kernels, kernel_size, *args, stride=1, padding=0, bias=False):
        super().__init__()
        self.in_channels = None
        opts = {"stride": stride, "padding": padding, "bias": bias}
        if args:
            opts = _old_form("SeparableConv2d", args[1:], self._OLD, opts,
                             {"stride": 1, "padding": 0, "bias": False})
            self.in_channels = _positive_int("SeparableConv2d", "in_channels", nb_kernels)
            nb_kernels, kernel_size = kernel_size, args[0]
        self.nb_kernels = _positive_int("SeparableConv2d", "nb_kernels", nb_kernels)
        # checks the arguments now (a depthwise conv of any width)
        Conv2d(1, kernel_size, stride=opts["stride"], padding=opts["padding"],
               bias=opts["bias"])
        self.kernel_size, self.stride = kernel_size, opts["stride"]
        self.padding, self.bias = opts["padding"], opts["bias"]

    def initialize(self, x):
        _check_x(self, x, (4,), "4-D (N, C, H, W)")
        C = x.shape[1]
        if self.in_channels is not None and self.in_channels != C:
            raise ValueError(f"{_label(self)}: declared in_channels={self.in_channels} but the "
                             f"input {x.shape} has {C} channels")
        self.in_channels = C
        self.depthwise_conv = Conv2d(C, self.kernel_size, stride=self.stride,
                                     padding=self.padding, group=C, bias=self.bias)
        self.point_conv = Conv2d(self.nb_kernels, 1, bias=self.bias)

    def forward(self, x):
        return self.point_conv(self.depthwise_conv(x))


class BatchNorm2d(Layer):
    """Batch normalisation per channel (see ``autograd.batchnorm_2d``).

    ``BatchNorm2d(momentum=0.9)``, or the old form ``BatchNorm2d(num_features,
    momentum=0.9)``: the channels come from x.shape[1] (and must equal num_features
    when it is given).  Unlike SINGA, a positional momentum is honoured.  momentum
    weights the NEW batch: running = (1 - momentum) * running + momentum * batch.

    ``scale`` = 1 and ``bias`` = 0 are parameters; ``running_mean`` = 0 and
    ``running_var`` = 1 are states.  ``autograd.training`` picks batch statistics
    (True, updating the running ones) or the running statistics (False).
    """

    def __init__(self, *args, momentum=0.9):
        super().__init__()
        if len(args) > 2:
            raise TypeError(f"BatchNorm2d: takes at most (num_features, momentum) by position, "
                            f"got {len(args)} positional arguments")
        self.num_features = None
        if args:
            self.num_features = _positive_int("BatchNorm2d", "num_features", args[0])
        if len(args) > 1:
            if momentum != 0.9:
                raise TypeError("BatchNorm2d: momentum given both by position and by keyword")
            momentum = args[1]
        self.momentum, _ = check_hyperparameters("BatchNorm2d", momentum, 1e-5)

    def initialize(self, x):
        _check_x(self, x, (2, 4), "4-D (N, C, H, W) or 2-D (N, C)")
        C = x.shape[1]
        if self.num_features is not None and self.num_features != C:
            raise ValueError(f"{_label(self)}: declared num_features={self.num_features} but "
                             f"the input {x.shape} has {C} channels")
        self.num_features = C
        self.scale = _make_param((C,), x).set_value(1.0)
        self.bias = _make_param((C,), x).set_value(0.0)
        self.running_mean = Tensor((C,), x.device, x.dtype, requires_grad=False).set_value(0.0)
        self.running_var = Tensor((C,), x.device, x.dtype, requires_grad=False).set_value(1.0)

    def forward(self, x):
        _check_x(self, x, (2, 4), "4-D (N, C, H, W) or 2-D (N, C)", "scale")
        op = _BatchNorm2d(self.running_mean, self.running_var, self.momentum,
                          where=_label(self))
        return op(x, self.scale, self.bias)[0]


class Pooling2d(Layer):
    """2-D max (``is_max``) or average pooling (see ``autograd.pooling_2d``).

    ``Pooling2d(kernel_size, stride=None, padding=0, is_max=True, pad_mode='NOTSET')``;
    the stride defaults to the kernel size.  Max ties go to the first cell in row-major
    window order; average pooling does not count the padding.
    """

    def __init__(self, kernel_size, stride=None, padding=0, is_max: bool = True,
                 pad_mode="NOTSET"):
        super().__init__()
        probe = _Pooling2d(kernel_size, stride, padding, is_max, pad_mode,
                           where=type(self).__name__)  # checks the arguments now
        self.kernel_size, self.stride, self.padding = probe.kernel, probe.stride, probe.pads
        self.is_max, self.pad_mode = probe.is_max, probe.pad_mode

    def _pool(self, x):
        op = _Pooling2d(self.kernel_size, self.stride, self.padding, self.is_max,
                        self.pad_mode, where=_label(self))
        return op(x)[0]

    def forward(self, x):
        _check_x(self, x, (4,), "4-D (N, C, H, W)")
        return self._pool(x)


class MaxPool2d(Pooling2d):
    """``MaxPool2d(kernel_size, stride=None, padding=0, pad_mode='NOTSET')``."""

    def __init__(self, kernel_size, stride=None, padding=0, pad_mode="NOTSET"):
        super().__init__(kernel_size, stride, padding, True, pad_mode)


class AvgPool2d(Pooling2d):
    """``AvgPool2d(kernel_size, stride=None, padding=0, pad_mode='NOTSET')``."""

    def __init__(self, kernel_size, stride=None, padding=0, pad_mode="NOTSET"):
        super().__init__(kernel_size, stride, padding, False, pad_mode)


class _Pool1d(Pooling2d):
    """1-D pooling as 2-D pooling with kernel (1, k), stride (1, s), padding (0, p):
    an (N, C, L) input is viewed as (N, C, 1, L) and the result viewed back as
    (N, C, L').  An (N, C, 1, L) input (SINGA's form) gives (N, C, 1, L')."""

    is_max = True

    def __init__(self, kernel_size, stride=None, padding=0, pad_mode="NOTSET"):
        kind = type(self).__name__
        k = _positive_int(kind, "kernel_size", kernel_size)
        s = k if stride is None else _positive_int(kind, "stride", stride)
        if not dtypes.is_int(padding):
            raise TypeError(f"{kind}: padding must be an int, got {padding!r}")
        super().__init__((1, k), (1, s), (0, padding), self.is_max, pad_mode)

    def forward(self, x):
        _check_x(self, x, (3, 4), "3-D (N, C, L) or 4-D (N, C, 1, L)")
        if x.ndim() == 4:
            if x.shape[2] != 1:
                raise ValueError(f"{_label(self)}: a 4-D input must be (N, C, 1, L), got "
                                 f"shape {x.shape}")
            return self._pool(x)
        N, C, L = x.shape
        y = self._pool(ops.reshape(x, (N, C, 1, L)))
        return ops.reshape(y, (N, C, y.shape[3]))


class MaxPool1d(_Pool1d):
    """``MaxPool1d(kernel_size, stride=None, padding=0, pad_mode='NOTSET')`` on (N, C, L)."""

    is_max = True


class AvgPool1d(_Pool1d):
    """``AvgPool1d(kernel_size, stride=None, padding=0, pad_mode='NOTSET')`` on (N, C, L)."""

    is_max = False
