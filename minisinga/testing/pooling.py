"""Registry entries of 2-D pooling, with ``np_pooling_2d``, the direct NumPy pooling the tests
compare against
(minisinga/ops/pooling.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.conv import int_pair, padding4, spatial_geometry
from ..ops.pooling import _Pooling2d, avg_pool2d, globalaveragepool, max_pool2d, pooling_2d
from .registry import OpInfo, Sample, register


def np_pooling_2d(x, kernel_size, stride=None, padding=0, is_max=True, pad_mode="NOTSET"):
    """A direct NumPy pooling (a loop over output pixels), the tests' reference."""
    where = "np_pooling_2d"
    kernel = int_pair(where, "k", kernel_size, 1)
    stride = kernel if stride is None else int_pair(where, "s", stride, 1)
    (t, b, l, r), (oh, ow) = spatial_geometry(where, x.shape, kernel, stride,
                                              padding4(where, padding), (1, 1),
                                              pad_mode.upper())
    pad = ((0, 0), (0, 0), (t, b), (l, r))
    xp = np.pad(x.astype(np.float64), pad, constant_values=-np.inf if is_max else 0.0)
    real = np.pad(np.ones(x.shape[2:]), pad[2:])
    y = np.zeros(x.shape[:2] + (oh, ow))
    for p in range(oh):
        for q in range(ow):
            hs, ws = p * stride[0], q * stride[1]
            win = xp[:, :, hs:hs + kernel[0], ws:ws + kernel[1]]
            if is_max:
                y[:, :, p, q] = win.max(axis=(2, 3))
            else:
                count = real[hs:hs + kernel[0], ws:ws + kernel[1]].sum()
                y[:, :, p, q] = win.sum(axis=(2, 3)) / count
    return y


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


# --8<-- [start:register_max_pool2d]
register(OpInfo("max_pool2d", (_Pooling2d,), max_pool2d, np_max_pool2d, _samples))
# --8<-- [end:register_max_pool2d]
# --8<-- [end:register_max_pool2d]
# --8<-- [start:register_avg_pool2d]
register(OpInfo("avg_pool2d", (_Pooling2d,), avg_pool2d, np_avg_pool2d, _samples))
# --8<-- [end:register_avg_pool2d]
# --8<-- [end:register_avg_pool2d]
# --8<-- [start:register_pooling_2d]
register(OpInfo("pooling_2d", (_Pooling2d,), pooling_2d, np_pooling_2d,
                lambda rng: [Sample([rng.uniform(-1, 1, (1, 2, 4, 4))],
                                    {"kernel_size": 3, "stride": 1, "padding": 1,
                                     "is_max": flag}, note=f"is_max={flag}")
                             for flag in (True, False)]))
# --8<-- [end:register_pooling_2d]
# --8<-- [end:register_pooling_2d]
register(OpInfo("globalaveragepool", (), globalaveragepool, _np_gap, _gap_samples))
