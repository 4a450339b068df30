"""Registry entries of the indexing operations (slice, gather, pad, ...) and onehot, cast, shape,
constant_of_shape, nonzero
(minisinga/ops/indexing.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops.indexing import (
    Cast,
    ConstantOfShape,
    DepthToSpace,
    Embedding,
    Expand,
    Gather,
    NonZero,
    OneHot,
    Pad,
    ScatterElements,
    Shape,
    Slice,
    SpaceToDepth,
    Tile,
    UpSample,
    cast,
    constant_of_shape,
    depth_to_space,
    embedding,
    expand,
    gather,
    nonzero,
    onehot,
    pad,
    scatter_elements,
    shape,
    slice,
    space_to_depth,
    tile,
    upsample,
)
from .registry import OpInfo, Sample, register

# NOTE: here slice is minisinga's operation (SINGA's name), not Python's builtin;
# the references index with np.s_.


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


def _np_slice(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [np.s_[:]] * x.ndim
    for s, e, a, t in zip(starts, ends, axes, steps):
        index[a] = np.s_[s:e:t]  # Python's slice clamps as ONNX does
    return x[tuple(index)]


register(OpInfo("slice", (Slice,), slice, _np_slice,
                lambda rng: [Sample([_u(rng, 4, 5)], {"starts": [1, 0], "ends": [3, 5]}),
                             Sample([_u(rng, 3, 6)], {"starts": [-1], "ends": [-2**31],
                                                      "axes": [1], "steps": [-2]},
                                    note="negative step to the start"),
                             Sample([_u(rng, 2, 3, 4)], {"starts": [-10, 1], "ends": [100, -1],
                                                         "axes": [-1, 0]},
                                    note="clamped bounds")]))


def _np_gather(x, axis, indices):
    return np.take(x, np.asarray(indices), axis=axis)


register(OpInfo("gather", (Gather,), lambda x, axis, indices: gather(x, axis, indices),
                _np_gather,
                lambda rng: [Sample([_u(rng, 4, 3)], {"axis": 0, "indices": [2, 0, 2]},
                                    note="repeated index"),
                             Sample([_u(rng, 2, 5)], {"axis": 1, "indices": [[0, -1], [3, 3]]},
                                    note="nested, negative"),
                             Sample([_u(rng, 3, 2, 2)], {"axis": -2, "indices": 1},
                                    note="scalar index")]))
register(OpInfo("tile", (Tile,), tile, lambda x, repeats: np.tile(x, repeats),
                lambda rng: [Sample([_u(rng, 2, 3)], {"repeats": [2, 1]}),
                             Sample([_u(rng, 3)], {"repeats": [2, 2]}),
                             Sample([_u(rng, 2, 1, 2)], {"repeats": 3})]))


def _np_expand(x, shape):
    return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(shape))).copy()


register(OpInfo("expand", (Expand,), expand, _np_expand,
                lambda rng: [Sample([_u(rng, 3, 1)], {"shape": [2, 3, 4]}),
                             Sample([_u(rng, 2, 3)], {"shape": [1, 3]}, note="a 1 keeps x's dim")]))


def _np_pad(x, mode, pads, constant=0.0):
    n = x.ndim
    width = [(pads[i], pads[n + i]) for i in range(n)]
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=constant)
    return np.pad(x, width, mode=mode)


register(OpInfo("pad", (Pad,), pad, _np_pad,
                lambda rng: [Sample([_u(rng, 2, 3)], {"mode": "constant", "pads": [1, 0, 0, 2],
                                                      "constant": 0.5}),
                             Sample([_u(rng, 3, 4)], {"mode": "reflect", "pads": [2, 1, 1, 3]}),
                             Sample([_u(rng, 2, 3)], {"mode": "edge", "pads": [1, 2, 2, 1]}),
                             Sample([_u(rng, 3)], {"mode": "reflect", "pads": [5, 4]},
                                    note="reflect past the width")]))
def _np_upsample(x, mode, scales):
    for axis, scale in enumerate(scales):
        x = x.repeat(int(scale), axis=axis)
    return x


register(OpInfo("upsample", (UpSample,), upsample, _np_upsample,
                lambda rng: [Sample([_u(rng, 2, 3)], {"mode": "nearest", "scales": [2, 3]}),
                             Sample([_u(rng, 1, 2, 2, 2)],
                                    {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 2.0]})]))


def _np_d2s(x, blocksize, mode="DCR"):
    # The ONNX specification's reference formulas.
    n, c, h, w = x.shape
    b = blocksize
    if mode == "DCR":
        t = x.reshape(n, b, b, c // b**2, h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // b**2, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // b**2, h * b, w * b)


def _np_s2d(x, blocksize, mode="DCR"):
    n, c, h, w = x.shape
    b = blocksize
    t = x.reshape(n, c, h // b, b, w // b, b)
    t = t.transpose(0, 3, 5, 1, 2, 4) if mode == "DCR" else t.transpose(0, 1, 3, 5, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


register(OpInfo("depth_to_space", (DepthToSpace,), depth_to_space, _np_d2s,
                lambda rng: [Sample([_u(rng, 1, 8, 2, 1)], {"blocksize": 2}),
                             Sample([_u(rng, 2, 4, 1, 2)], {"blocksize": 2, "mode": "CRD"})]))
register(OpInfo("space_to_depth", (SpaceToDepth,), space_to_depth, _np_s2d,
                lambda rng: [Sample([_u(rng, 1, 2, 4, 2)], {"blocksize": 2}),
                             Sample([_u(rng, 2, 1, 2, 4)], {"blocksize": 2, "mode": "CRD"})]))


def _np_scatter(x, updates, indices, axis=0):
    # ONNX's reference loop, element by element.
    y = x.copy()
    indices = np.asarray(indices)
    for p in np.ndindex(indices.shape):
        q = list(p)
        q[axis] = indices[p]
        y[tuple(q)] = updates[p]
    return y


register(OpInfo("scatter_elements", (ScatterElements,),
                lambda x, updates, indices, axis=0: scatter_elements(x, indices, updates, axis),
                _np_scatter,
                lambda rng: [Sample([_u(rng, 3, 3), _u(rng, 2, 3)],
                                    {"indices": [[1, 0, 2], [0, 2, 1]]}),
                             Sample([_u(rng, 2, 4), _u(rng, 2, 2)],
                                    {"indices": [[3, -4], [1, 2]], "axis": 1},
                                    note="negative index, axis 1"),
                             Sample([_u(rng, 2, 3, 2), _u(rng, 1, 2, 2)],
                                    {"indices": np.array([[[2, 0], [0, 1]]]), "axis": 1},
                                    note="3-D")]))
register(OpInfo("embedding", (Embedding,), embedding,
                lambda x, w: w[x],
                lambda rng: [Sample([np.array([[0, 2, 2], [4, 1, 0]], dtype=np.int32),
                                     _u(rng, 5, 3)], note="repeated rows"),
                             Sample([np.array([3], dtype=np.int32), _u(rng, 4, 2)])]))


def _np_onehot(indices, axis, depth, values):
    ind = np.asarray(indices).astype(np.int64) % depth
    hot = np.moveaxis(np.arange(depth) == ind[..., None], -1, axis)
    return np.where(hot, values[1], values[0]).astype(np.float64)


register(OpInfo("onehot", (OneHot,),
                lambda indices, axis, depth, values: onehot(axis, indices, depth, values),
                _np_onehot,
                lambda rng: [Sample([np.array([0, 2, -1, 1], dtype=np.int32)],
                                    {"axis": -1, "depth": 3, "values": [0.0, 1.0]}),
                             Sample([np.array([[1, 0], [3, 2]], dtype=np.int32)],
                                    {"axis": 0, "depth": 4, "values": [-1.0, 2.5]})],
                no_grad="integer indices", fixed_dtype=True))
register(OpInfo("cast", (Cast,), cast, lambda x, to: x.astype(np.float64),
                lambda rng: [Sample([_u(rng, 3, 4)], {"to": dtypes.float64})],
                fixed_dtype=True))
register(OpInfo("shape", (Shape,), shape, lambda x: np.array(x.shape),
                lambda rng: [Sample([_u(rng, 2, 3, 1)]), Sample([_u(rng, 4)])],
                no_grad="the shape does not depend on the values", fixed_dtype=True))
register(OpInfo("constant_of_shape", (ConstantOfShape,), constant_of_shape,
                lambda x, value=0.0: np.full(tuple(x), value),
                lambda rng: [Sample([np.array([2, 3], dtype=np.int32)], {"value": 1.5}),
                             Sample([np.array([4], dtype=np.int32)])],
                no_grad="x only gives the shape", fixed_dtype=True))
register(OpInfo("nonzero", (NonZero,), nonzero, lambda x: np.array(np.nonzero(x)),
                lambda rng: [Sample([rng.integers(-1, 2, (3, 4)).astype(np.float64)]),
                             Sample([np.array([0.0, 2.0, 0.0, -1.5])])],
                no_grad="integer indices", fixed_dtype=True))
