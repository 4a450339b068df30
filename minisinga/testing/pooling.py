"""Registry entries of 2-D pooling (minisinga/ops/pooling.py), and the one NumPy
pooling every check compares against: ``np_pooling_2d`` (forward) and
``np_pooling_2d_vjp`` (gradient), used by the registry, tests/test_conv.py and
tests/test_fuzz_conv.py.  Written from the definition with the helpers of the
reference convolution (testing/conv.py), apart from minisinga's geometry code.
"""
from __future__ import annotations

import numpy as np

from ..ops.pooling import _Pooling2d, avg_pool2d, globalaveragepool, max_pool2d, pooling_2d
from .conv import _hw, _taps, _untaps, np_pads
from .registry import OpInfo, Sample, register


def _windows(x, kernel_size, stride, padding, pad_mode, fill):
    """pads, W[n, c, i, j, p, q] (cell (i, j) of window (p, q), ``fill`` in the padding),
    and real[0, 0, i, j, p, q] (1 where that cell is inside x)."""
    kernel = _hw(kernel_size)
    stride = kernel if stride is None else _hw(stride)
    pads = np_pads(x.shape[2:], kernel, stride, 1, padding, pad_mode)
    _, W = _taps(x, kernel, stride, 1, pads, fill)
    _, real = _taps(np.ones((1, 1) + tuple(x.shape[2:])), kernel, stride, 1, pads)
    return pads, stride, W, real


def np_pooling_2d(x, kernel_size, stride=None, padding=0, is_max=True, pad_mode="NOTSET"):
    """The reference pooling, float64, with pooling_2d's arguments: the maximum or the
    mean of the cells of each window that are inside x (padding never wins a max
    and is not counted in a mean)."""
    _, _, W, real = _windows(x, kernel_size, stride, padding, pad_mode,
                             -np.inf if is_max else 0.0)
    if is_max:
        return W.max(axis=(2, 3))
    return W.sum(axis=(2, 3)) / real.sum(axis=(2, 3))


def np_pooling_2d_vjp(dy, x, kernel_size, stride=None, padding=0, is_max=True,
                      pad_mode="NOTSET"):
    """The gradient dx of np_pooling_2d for the upstream gradient dy: a max sends each
    dy to the first maximum of its window (row-major order), a mean shares it
    equally among the window's cells inside x."""
    pads, stride, W, real = _windows(x, kernel_size, stride, padding, pad_mode,
                                     -np.inf if is_max else 0.0)
    dy = np.asarray(dy, dtype=np.float64)[:, :, None, None]
    if is_max:
        flat = W.reshape(W.shape[:2] + (W.shape[2] * W.shape[3],) + W.shape[4:])
        cell = np.arange(flat.shape[2]).reshape(1, 1, -1, 1, 1)
        first = (cell == flat.argmax(axis=2)[:, :, None]).reshape(W.shape)
        share = first * dy
    else:
        share = real * dy / real.sum(axis=(2, 3), keepdims=True)
    return _untaps(share, pads, x.shape, stride, (1, 1))


def np_max_pool2d(x, kernel_size, stride=None, padding=0, pad_mode="NOTSET"):
    """NumPy reference of max_pool2d."""
    return np_pooling_2d(x, kernel_size, stride, padding, True, pad_mode)


def np_avg_pool2d(x, kernel_size, stride=None, padding=0, pad_mode="NOTSET"):
    """NumPy reference of avg_pool2d."""
    return np_pooling_2d(x, kernel_size, stride, padding, False, pad_mode)


def _samples(rng):
    def u(*shape):
        return rng.uniform(-1, 1, shape)
    return [
        Sample([u(2, 2, 4, 4)], {"kernel_size": 2}, note="2x2, stride = kernel"),
        Sample([u(1, 2, 5, 5)], {"kernel_size": 3, "stride": 2, "padding": 1},
               note="3x3, stride 2, pad 1"),
        Sample([u(1, 2, 4, 5)], {"kernel_size": (2, 3), "stride": 1, "padding": (1, 0, 0, 2)},
               note="asymmetric padding"),
        Sample([u(1, 1, 5, 4)], {"kernel_size": 2, "stride": 2, "pad_mode": "SAME_UPPER"},
               note="SAME_UPPER"),
        Sample([u(1, 1, 5, 4)], {"kernel_size": 2, "stride": 2, "pad_mode": "SAME_LOWER"},
               note="SAME_LOWER"),
    ]


def _gap_samples(rng):
    return [Sample([rng.uniform(-1, 1, (2, 3, 4, 5))]),
            Sample([rng.uniform(-1, 1, (2, 4, 5, 3))], {"data_format": "channels_last"})]


def _np_gap(x, data_format="channels_first"):
    axes = (2, 3) if data_format == "channels_first" else (1, 2)
    return x.mean(axis=axes, keepdims=True)


register(OpInfo("max_pool2d", (_Pooling2d,), max_pool2d, np_max_pool2d, _samples))
register(OpInfo("avg_pool2d", (_Pooling2d,), avg_pool2d, np_avg_pool2d, _samples))
register(OpInfo("pooling_2d", (_Pooling2d,), pooling_2d, np_pooling_2d,
                lambda rng: [Sample([rng.uniform(-1, 1, (1, 2, 4, 4))],
                                    {"kernel_size": 3, "stride": 1, "padding": 1,
                                     "is_max": flag}, note=f"is_max={flag}")
                             for flag in (True, False)]))
register(OpInfo("globalaveragepool", (), globalaveragepool, _np_gap, _gap_samples))
