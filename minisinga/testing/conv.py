"""Registry entries of 2-D convolution (minisinga/ops/conv.py), and the one NumPy
convolution every check compares against: ``np_conv2d`` (forward) and
``np_conv2d_vjp`` (gradients), used by the registry, tests/test_conv.py,
tests/test_fuzz_conv.py, tests/test_bench.py, the exercises and the docs.

They are written from the definition, apart from minisinga's own geometry code
(``spatial_geometry``), so that they check it too: the padding from ``np_pads``,
the output size from the padded size, and every tap of the kernel as one
strided view of the padded input.
"""
from __future__ import annotations

import numpy as np

from ..ops.conv import _Conv2d, conv2d
from .registry import OpInfo, Sample, register


def _hw(value) -> tuple[int, int]:
    """An int or an (h, w) pair, as (h, w)."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def np_pads(hw, kernel, stride, dilation, padding=0, pad_mode="NOTSET") -> tuple[int, ...]:
    """(top, bottom, left, right) padding of an input of spatial size ``hw``.

    ``padding``: an int pads all four sides, a pair (ph, pw) top and bottom by ph
    and left and right by pw, a 4-tuple is (top, bottom, left, right).  ONNX's
    ``pad_mode``: VALID pads nothing; SAME_UPPER and SAME_LOWER pad so that the
    output has ceil(size / stride) elements, the odd one at the end (UPPER) or at
    the beginning (LOWER)."""
    mode = pad_mode.upper()
    if mode == "VALID":
        return (0, 0, 0, 0)
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(hw, _hw(kernel), _hw(stride), _hw(dilation)):
            total = max(0, (-(-size // s) - 1) * s + (k - 1) * d + 1 - size)
            small, large = total // 2, total - total // 2
            pads += [small, large] if mode == "SAME_UPPER" else [large, small]
        return tuple(pads)
    if np.ndim(padding) == 0:
        return (int(padding),) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def _taps(x, kernel, stride, dilation, pads, fill=0.0):
    """The padded input xp, and P[n, c, i, j, p, q] = xp[n, c, p*sh + i*dh, q*sw + j*dw]:
    for each tap (i, j) of the kernel, the input cells it meets at every output pixel."""
    (kh, kw), (sh, sw), (dh, dw) = _hw(kernel), _hw(stride), _hw(dilation)
    t, b, l, r = pads
    xp = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (t, b), (l, r)),
                constant_values=fill)
    oh = (xp.shape[2] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[3] - (kw - 1) * dw - 1) // sw + 1
    P = np.zeros(x.shape[:2] + (kh, kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            P[:, :, i, j] = xp[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                               j * dw:j * dw + (ow - 1) * sw + 1:sw]
    return xp, P


def _untaps(dP, pads, x_shape, stride, dilation):
    """The adjoint of _taps: each tap's share dP[:, :, i, j] added back onto the cells
    of x it came from (the padding cut off)."""
    (sh, sw), (dh, dw) = _hw(stride), _hw(dilation)
    t, b, l, r = pads
    kh, kw, oh, ow = dP.shape[2:]
    dxp = np.zeros(tuple(x_shape[:2]) + (x_shape[2] + t + b, x_shape[3] + l + r))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                j * dw:j * dw + (ow - 1) * sw + 1:sw] += dP[:, :, i, j]
    return dxp[:, :, t:t + x_shape[2], l:l + x_shape[3]]


def np_conv2d(x, W, b=None, stride=1, padding=0, dilation=1, group=1, pad_mode="NOTSET"):
    """The reference convolution, float64, with conv2d's arguments:
    y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] * xp[n, c0 + c, p*sh + i*dh, q*sw + j*dw],
    xp the zero-padded input and c0 the first input channel of o's group."""
    pads = np_pads(x.shape[2:], W.shape[2:], stride, dilation, padding, pad_mode)
    _, P = _taps(x, W.shape[2:], stride, dilation, pads)
    n, o = x.shape[0], W.shape[0]
    Pg = P.reshape((n, group, W.shape[1]) + P.shape[2:])    # (n, g, Cg, kh, kw, OH, OW)
    Wg = np.asarray(W, dtype=np.float64).reshape((group, o // group) + W.shape[1:])
    y = np.einsum("ngcijab,gocij->ngoab", Pg, Wg).reshape((n, o) + P.shape[4:])
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64).reshape(1, -1, 1, 1)
    return y


def np_conv2d_vjp(dy, x, W, stride=1, padding=0, dilation=1, group=1, pad_mode="NOTSET"):
    """The gradients (dx, dW, db) of np_conv2d for the upstream gradient dy."""
    pads = np_pads(x.shape[2:], W.shape[2:], stride, dilation, padding, pad_mode)
    _, P = _taps(x, W.shape[2:], stride, dilation, pads)
    n, o = x.shape[0], W.shape[0]
    dyg = np.asarray(dy, dtype=np.float64).reshape((n, group, o // group) + P.shape[4:])
    Pg = P.reshape((n, group, W.shape[1]) + P.shape[2:])
    Wg = np.asarray(W, dtype=np.float64).reshape((group, o // group) + W.shape[1:])
    dW = np.einsum("ngoab,ngcijab->gocij", dyg, Pg).reshape(W.shape)
    dP = np.einsum("ngoab,gocij->ngcijab", dyg, Wg).reshape(P.shape)
    dx = _untaps(dP, pads, x.shape, stride, dilation)
    return dx, dW, dyg.sum(axis=(0, 3, 4)).reshape(-1)


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


register(OpInfo("conv2d", (_Conv2d,), conv2d, np_conv2d, _samples))
