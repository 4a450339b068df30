"""Registry entries of 2-D convolution, with ``np_conv2d``, the direct NumPy convolution the tests
and the exercises compare against
(minisinga/ops/conv.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.conv import _Conv2d, conv2d, int_pair, padding4, spatial_geometry
from .registry import OpInfo, Sample, register


def np_conv2d(x, W, b=None, stride=1, padding=0, dilation=1, group=1, pad_mode="NOTSET"):
    """A direct NumPy convolution (loops over the kernel taps), the tests' reference."""
    where = "np_conv2d"
    stride, dilation = int_pair(where, "s", stride, 1), int_pair(where, "d", dilation, 1)
    kh, kw = W.shape[2:]
    (t, bt, l, r), (oh, ow) = spatial_geometry(where, x.shape, (kh, kw), stride,
                                               padding4(where, padding), dilation,
                                               pad_mode.upper())
    xp = np.pad(x, ((0, 0), (0, 0), (t, bt), (l, r)))
    N, C = x.shape[:2]
    O, Cg = W.shape[:2]
    y = np.zeros((N, O, oh, ow))
    for o in range(O):
        c0 = (o // (O // group)) * Cg
        for i in range(kh):
            for j in range(kw):
                h0, w0 = i * dilation[0], j * dilation[1]
                patch = xp[:, c0:c0 + Cg, h0:h0 + (oh - 1) * stride[0] + 1:stride[0],
                           w0:w0 + (ow - 1) * stride[1] + 1:stride[1]]
                y[:, o] += np.einsum("nchw,c->nhw", patch, W[o, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


def _samples(rng):
    return [
        Sample([_u(rng, 2, 2, 4, 4), _u(rng, 3, 2, 3, 3), _u(rng, 3)], note="bias"),
        Sample([_u(rng, 2, 2, 4, 4), _u(rng, 2, 2, 2, 2)], {"padding": 1, "stride": 2},
               note="stride 2, pad 1, no bias"),
        Sample([_u(rng, 1, 4, 4, 4), _u(rng, 4, 2, 2, 2), _u(rng, 4)], {"group": 2},
               note="groups"),
        Sample([_u(rng, 1, 2, 5, 5), _u(rng, 2, 2, 2, 2)], {"dilation": 2, "padding": (1, 0)},
               note="dilation"),
        Sample([_u(rng, 1, 2, 4, 4), _u(rng, 2, 2, 3, 2)], {"padding": (0, 2, 1, 0)},
               note="asymmetric padding"),
        Sample([_u(rng, 1, 2, 5, 4), _u(rng, 2, 2, 2, 3)],
               {"stride": 2, "pad_mode": "SAME_UPPER"}, note="SAME_UPPER"),
        Sample([_u(rng, 1, 2, 5, 4), _u(rng, 2, 2, 2, 3), _u(rng, 2)],
               {"stride": (2, 1), "pad_mode": "SAME_LOWER"}, note="SAME_LOWER"),
    ]


# --8<-- [start:register_conv2d]
register(OpInfo("conv2d", (_Conv2d,), conv2d, np_conv2d, _samples))
# --8<-- [end:register_conv2d]
