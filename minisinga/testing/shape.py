"""Registry entries of the shape operations
(minisinga/ops/shape.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.shape import (
    Concat,
    Flatten,
    Reshape,
    Split,
    Squeeze,
    Transpose,
    Unsqueeze,
    cat,
    flatten,
    reshape,
    resolve_shape,
    split,
    squeeze,
    transpose,
    unsqueeze,
)
from .registry import OpInfo, Sample, register


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


def _np_reshape(x, shape):
    return x.reshape(resolve_shape("reshape", x.shape, shape))


register(OpInfo("reshape", (Reshape,), reshape, _np_reshape,
                lambda rng: [Sample([_u(rng, 2, 3, 4)], {"shape": [6, -1]}),
                             Sample([_u(rng, 2, 3, 4)], {"shape": [0, 12]})]))
register(OpInfo("flatten", (Flatten,), flatten,
                lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
                lambda rng: [Sample([_u(rng, 2, 3, 4)]), Sample([_u(rng, 2, 3, 4)], {"axis": 2}),
                             Sample([_u(rng, 2, 3)], {"axis": 0})]))
register(OpInfo("transpose", (Transpose,), transpose,
                lambda x, perm=None: np.transpose(x, perm),
                lambda rng: [Sample([_u(rng, 2, 3, 4)], {"perm": [2, 0, 1]}),
                             Sample([_u(rng, 3, 4)])]))
register(OpInfo("squeeze", (Squeeze,), squeeze,
                lambda x, axis=None: np.squeeze(x, axis=None if axis is None else tuple(axis)),
                lambda rng: [Sample([_u(rng, 2, 1, 3, 1)]),
                             Sample([_u(rng, 2, 1, 3, 1)], {"axis": [1]})]))
register(OpInfo("unsqueeze", (Unsqueeze,), unsqueeze,
                lambda x, axis: np.expand_dims(x, axis if isinstance(axis, int) else tuple(axis)),
                lambda rng: [Sample([_u(rng, 2, 3)], {"axis": 0}),
                             Sample([_u(rng, 2, 3)], {"axis": [1, -1]})]))
register(OpInfo("cat", (Concat,), lambda *xs, axis=0: cat(list(xs), axis),
                lambda *xs, axis=0: np.concatenate(xs, axis),
                lambda rng: [Sample([_u(rng, 2, 3), _u(rng, 1, 3)]),
                             Sample([_u(rng, 2, 2, 3), _u(rng, 2, 1, 3), _u(rng, 2, 4, 3)],
                                    {"axis": 1}),
                             Sample([_u(rng, 2, 3), _u(rng, 2, 2)], {"axis": -1})]))
register(OpInfo("split", (Split,), split,
                lambda x, axis, parts=None, num_output=None: tuple(
                    np.split(x, np.cumsum(parts)[:-1] if parts else num_output, axis)),
                lambda rng: [Sample([_u(rng, 5, 3)], {"axis": 0, "parts": [2, 3]}),
                             Sample([_u(rng, 2, 6)], {"axis": -1, "num_output": 3})]))
