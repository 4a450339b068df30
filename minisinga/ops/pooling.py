"""2-D max and average pooling, and global average pooling.  Derivations: docs/ops/pooling.md.

``pooling_2d(x, kernel_size, stride=None, padding=0, is_max=True, pad_mode="NOTSET")``
pools each (H, W) plane of an NCHW tensor; ``max_pool2d`` and ``avg_pool2d`` fix
``is_max``.  The stride defaults to the kernel size (non-overlapping windows), and the
padding forms and ``pad_mode`` are conv2d's (see ops/conv.py).

Two conventions, stated once here and pinned by exact tests (tests/test_conv.py):

* Max pooling: padding cells never win, and ties go to the FIRST maximum in row-major
  window order (top row first, left to right), so the whole gradient of a window of
  equal values goes to its top-left real cell.
* Average pooling EXCLUDES the padding from the count (SINGA's rule, PyTorch's
  ``count_include_pad=False``): a corner window of a 3x3 kernel with padding 1 averages
  its 4 real cells, dividing by 4, not 9.
* A window is never made only of padding: the padding must be smaller than the kernel
  on every side, and an input with an empty (H, W) plane (H or W = 0), whose padded
  windows would hold no cell of x, is refused with a ValueError.  (Such a window has
  no maximum; -inf or 0 would be an invented value.)

``globalaveragepool(x)`` is the mean over H and W keeping dims, (N, C, H, W) ->
(N, C, 1, 1): written with ``reduce_mean``, so it needs no kernel or backward of its own.
"""
from __future__ import annotations

from .. import backend, dtypes, engine
from .._tensor import Tensor
from ..ctensor import CTensor
from ._util import check_float
from .conv import IntPair, Padding, check_pad_mode, int_pair, padding4, spatial_geometry
from .reduce import reduce_mean

__all__ = ["_Pooling2d", "pooling_2d", "max_pool2d", "avg_pool2d", "globalaveragepool",
           "GlobalAveragePool"]


class _Pooling2d(engine.Operation):
    r"""2-D max or average pooling, NCHW:
    ``pooling_2d(x, kernel_size, stride=None, padding=0, is_max=True, pad_mode="NOTSET")``.

    Forward: $y_p = \max_{k \in w(p)} x_k$ (max) or $y_p = \frac{1}{|w(p)|}\sum_{k \in w(p)} x_k$ (avg), $w(p)$ the cells of window $p$ inside x
    Grad x: $\bar{x}_k = \sum_{p:\, k = \operatorname{argmax}_{w(p)} x} \bar{y}_p$ (max) or $\bar{x}_k = \sum_{p:\, k \in w(p)} \bar{y}_p / |w(p)|$ (avg)
    Convention: a max tie goes to the first cell in row-major window order; padding never wins a max and is not counted in an average
    Derivation: ops/pooling.md#pooling_2d
    """

    def __init__(self, kernel_size, stride=None, padding=0, is_max: bool = True,
                 pad_mode="NOTSET", where: str = "pooling_2d"):
        super().__init__()
        self.where = where  # how errors name the caller: a layer passes "MaxPool2d 'pool1'"
        self.kernel = int_pair(where, "kernel_size", kernel_size, 1)
        self.stride = self.kernel if stride is None else int_pair(where, "stride", stride, 1)
        self.pads = padding4(where, padding)
        self.pad_mode = check_pad_mode(where, pad_mode, padding)
        (kh, kw), (t, b, l, r) = self.kernel, self.pads
        if max(t, b) >= kh or max(l, r) >= kw:
            raise ValueError(f"{where}: padding {padding!r} must be smaller than the kernel "
                             f"{self.kernel} on every side (else a window could hold only "
                             "padding)")
        self.is_max = bool(is_max)

    def forward(self, x):
        where = self.where
        check_float(where, x, names=["x"])
        if len(x.shape) != 4:
            raise ValueError(f"{where}: x must be 4-D (N, C, H, W), got shape {x.shape}")
        N, C, H, W = x.shape
        if H * W >= 2**31:
            raise ValueError(f"{where}: an (H, W) plane of {H * W} cells is too large "
                             "(argmax indices are int32)")
        pads, (oh, ow) = spatial_geometry(where, x.shape, self.kernel, self.stride,
                                          self.pads, (1, 1), self.pad_mode)
        if H == 0 or W == 0:
            # Padding smaller than the kernel leaves a real cell in every window of a
            # non-empty plane; an empty plane gives windows of padding only.
            raise ValueError(f"{where}: x {x.shape} has an empty (H, W) plane, so each of the "
                             f"({oh}, {ow}) windows of its padding holds no cell of x: there "
                             "is no maximum or average to take (empty planes are refused)")
        self.x_shape, self.out = x.shape, (oh, ow)
        self.window = (*self.kernel, *self.stride, pads[0], pads[2])
        y = CTensor((N, C, oh, ow), x.dtype, x.device)
        if self.is_max:
            self.argmax = CTensor._new(y.shape, dtypes.int32, x.device)
            if y.size:
                backend.kernel("max_pool2d_forward", x)(y.ptr, self.argmax.ptr, x.ptr, N * C,
                                                        H, W, oh, ow, *self.window)
        elif y.size:
            backend.kernel("avg_pool2d_forward", x)(y.ptr, x.ptr, N * C, H, W, oh, ow,
                                                    *self.window)
        return y

    def backward(self, dy):
        N, C, H, W = self.x_shape
        oh, ow = self.out
        dx = CTensor(self.x_shape, dy.dtype, dy.device)
        if dx.size:
            if self.is_max:
                backend.kernel("max_pool2d_backward", dy)(dx.ptr, dy.ptr, self.argmax.ptr,
                                                          N * C, H, W, oh, ow)
            else:
                backend.kernel("avg_pool2d_backward", dy)(dx.ptr, dy.ptr, N * C, H, W, oh, ow,
                                                          *self.window)
        return dx


def pooling_2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: Padding = 0, is_max: bool = True, pad_mode: str = "NOTSET") -> Tensor:
    """Max (``is_max``) or average pooling of x (N, C, H, W) (differentiable).

    ``kernel_size`` and ``stride`` are an int or a pair (stride defaults to the kernel);
    ``padding`` an int, a pair (ph, pw) or (top, bottom, left, right), each side smaller
    than the kernel; ``pad_mode`` as conv2d's.  Returns (N, C, OH, OW).
    """
    return _Pooling2d(kernel_size, stride, padding, is_max, pad_mode)(x)[0]


def max_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: Padding = 0, pad_mode: str = "NOTSET") -> Tensor:
    """Max pooling (ties: the first cell in row-major window order; padding never wins)."""
    return pooling_2d(x, kernel_size, stride, padding, True, pad_mode)


def avg_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: Padding = 0, pad_mode: str = "NOTSET") -> Tensor:
    """Average pooling over the real cells of each window (padding is not counted)."""
    return pooling_2d(x, kernel_size, stride, padding, False, pad_mode)


#: The spellings of the two data formats: SINGA's code and docs use both the
#: singular and the plural, and ONNX / cuDNN name the layouts.
DATA_FORMATS = {"channels_first": "channels_first", "channel_first": "channels_first",
                "NCHW": "channels_first",
                "channels_last": "channels_last", "channel_last": "channels_last",
                "NHWC": "channels_last"}


def check_data_format(opname: str, data_format) -> str:
    """'channels_first' or 'channels_last' from any accepted spelling; else ValueError."""
    if not isinstance(data_format, str) or data_format not in DATA_FORMATS:
        raise ValueError(f"{opname}: data_format must be 'channels_first' (N, C, H, W) or "
                         f"'channels_last' (N, H, W, C) (also spelled 'channel_first', "
                         f"'NCHW', 'channel_last', 'NHWC'), got {data_format!r}")
    return DATA_FORMATS[data_format]


def globalaveragepool(x: Tensor, data_format: str = "channels_first") -> Tensor:
    """Mean over the spatial axes keeping dims: (N, C, H, W) -> (N, C, 1, 1), or with
    ``data_format="channels_last"`` (N, H, W, C) -> (N, 1, 1, C) (differentiable).
    SINGA's spellings ``'channel_first'`` / ``'channel_last'`` are accepted."""
    data_format = check_data_format("globalaveragepool", data_format)
    if x.ndim() != 4:
        raise ValueError(f"globalaveragepool: x must be 4-D, got shape {x.shape}")
    axes = [2, 3] if data_format == "channels_first" else [1, 2]
    return reduce_mean(x, axes, keepdims=1)


class GlobalAveragePool:
    """SINGA's operator class for ``globalaveragepool``, kept so SINGA code that
    writes ``autograd.GlobalAveragePool()(x)[0]`` runs.

    It is not an ``Operation``: global average pooling is ``reduce_mean`` over
    the spatial axes, so it needs no kernel and no backward of its own (its
    gradient is reduce_mean's).  Calling it returns a 1-tuple, as operators do.
    """

    def __init__(self, data_format: str = "channels_first"):
        self.data_format = check_data_format("GlobalAveragePool", data_format)

    def __call__(self, x: Tensor) -> tuple:
        return (globalaveragepool(x, self.data_format),)
