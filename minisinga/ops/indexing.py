"""Indexing and shape operations: slice, gather, tile, expand, pad, upsample,
depth_to_space, space_to_depth, scatter_elements, embedding; and the ones
without a gradient: onehot, cast, shape, constant_of_shape, nonzero.
Derivations: docs/ops/indexing.md.

How the data moves.  Most of these are a *gather*: output element i is input
element idx[i].  Python computes the index map idx from the shapes alone and
the C kernel ``gather_index`` (minisinga/c/indexing.c) moves the data; the
backward is ``scatter_add_index`` through the same map (an input element read
k times receives the sum of its k gradients).  The maps are built with NumPy
on integers, which is metadata: for each output axis, a short list of source
positions along that axis is computed with a plain Python loop, and the lists
are combined into flat indices by an outer sum (see ``index_map``).  NumPy
never touches the tensor's values.

tile, expand and upsample are broadcasts in disguise (a reshape, a broadcast
by the strided-copy kernel, a reshape), and depth_to_space / space_to_depth
are a reshape, a transpose and a reshape; their backward sums over the
broadcast copies or transposes back.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, checks, dtypes, engine
from .._lib import ffi
from .._tensor import Tensor
from ..ctensor import CTensor
from ..testing import OpInfo, Sample, register
from ._util import check_float, normalize_axis
from .logic import _Constant

__all__ = [
    "Slice", "Gather", "Tile", "Expand", "Pad", "UpSample", "DepthToSpace", "SpaceToDepth",
    "ScatterElements", "Embedding", "OneHot", "Cast", "Shape", "ConstantOfShape", "NonZero",
    "slice", "gather", "tile", "expand", "pad", "upsample", "depth_to_space", "space_to_depth",
    "scatter_elements", "embedding", "onehot", "cast", "shape", "constant_of_shape", "nonzero",
]

_INT32_MAX = 2**31 - 1


# ---------------------------------------------------------------------- helpers
def _host(t: CTensor) -> np.ndarray:
    """The values of a CTensor on the host, to check indices before C runs."""
    return t.numpy() if t.device.is_cpu() else Tensor(data=t).to_numpy()


def _int_list(opname: str, argname: str, values, length: int | None = None) -> list[int]:
    """A list of Python ints (from a list, tuple or 1-D array), optionally of a given length."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = [values]
    out = checks.int_sequence(opname, argname, values)
    for v in out:
        if not dtypes.is_int(v):
            raise TypeError(f"{opname}: {argname} must be a list of ints, got {values!r}")
    if length is not None and len(out) != length:
        raise ValueError(f"{opname}: {argname} must have {length} entries, got {len(out)} "
                         f"({out})")
    return [int(v) for v in out]


def _int_array(opname: str, argname: str, values) -> np.ndarray:
    """Integer indices (an int, a nested list, an ndarray or a Tensor) as an int64 array."""
    if isinstance(values, Tensor):
        values = _host(values.data)
    arr = np.asarray(values)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)  # a float tensor holding whole numbers (SINGA's tensors)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{opname}: {argname} must hold integers, got {arr.dtype} "
                        f"({values!r:.80})")
    return arr.astype(np.int64)


def _check_int32_size(opname: str, shape) -> None:
    if math.prod(shape) > _INT32_MAX:
        raise ValueError(f"{opname}: tensors of more than 2**31 - 1 elements are not supported "
                         f"(the index maps are int32), got shape {tuple(shape)}")


# --8<-- [start:index_map]
def index_map(sources, strides) -> np.ndarray:
    """The flat int32 index map of a gather that works axis by axis.

    ``sources[k]`` is an integer array (usually 1-D, one entry per position
    along an output axis) of source positions along an input axis, or -1 for
    "no source" (padding); ``strides[k]`` is that input axis' stride in
    elements.  The result has shape ``sources[0].shape + sources[1].shape +
    ...`` and holds

        idx[o_0, o_1, ...] = sum_k sources[k][o_k] * strides[k],

    or -1 where any ``sources[k][o_k]`` is -1.  An outer sum on integers, in
    int32: a padding entry counts as 0 in the sum, so every partial sum is a
    valid position in [0, size), and size < 2**31 was checked."""
    sources = [np.asarray(src, dtype=np.int32) for src in sources]
    idx = np.zeros((), dtype=np.int32)
    for src, stride in zip(sources, strides):
        idx = np.add.outer(idx, np.maximum(src, 0) * np.int32(stride))
    if any((src < 0).any() for src in sources):  # only pad has padding: mark it
        padding = np.zeros((), dtype=bool)
        for src in sources:
            padding = np.logical_or.outer(padding, src < 0)
        idx[padding] = -1
    return idx
# --8<-- [end:index_map]


# --8<-- [start:gather]
def _gather(x: CTensor, idx: np.ndarray, fill: float = 0.0) -> tuple[CTensor, CTensor]:
    """y[i] = x.flat[idx[i]] (fill where idx < 0) by the C kernel; returns
    (y, the index map as an int32 CTensor on x's device, kept for backward)."""
    idx_t = CTensor.from_numpy(idx, dtypes.int32, x.device)
    y = CTensor._new(idx.shape, x.dtype, x.device)
    if y.size:
        backend.kernel("gather_index", x)(y.ptr, x.ptr, idx_t.ptr, fill, y.size)
    return y, idx_t
# --8<-- [end:gather]


# --8<-- [start:scatter_add]
def _scatter_add(dy: CTensor, idx_t: CTensor, x_shape) -> CTensor:
    """dx.flat[j] = sum of dy[i] over idx[i] == j: the backward of ``_gather``."""
    dx = CTensor(x_shape, dy.dtype, dy.device)
    backend.kernel("scatter_add_index", dy)(dx.ptr, dy.ptr, idx_t.ptr, dx.size, dy.size)
    return dx
# --8<-- [end:scatter_add]


# --8<-- [start:IndexGather]
class _IndexGather(engine.Operation):
    """An operation that is a gather through an index map: a subclass computes
    ``index_map_for(shape) -> (idx, fill)``; forward and backward are shared."""

    opname = ""

    def index_map_for(self, shape):
        raise NotImplementedError

    def forward(self, x):
        check_float(self.opname, x, names=["x"])
        _check_int32_size(self.opname, x.shape)
        idx, fill = self.index_map_for(x.shape)
        self.x_shape = x.shape
        y, self.idx = _gather(x, idx, fill)
        return y

    def backward(self, dy):
        return _scatter_add(dy, self.idx, self.x_shape)
# --8<-- [end:IndexGather]


# ---------------------------------------------------------------------- slice
# --8<-- [start:onnx_slice_positions]
def onnx_slice_positions(dim: int, start: int, end: int, step: int) -> list[int]:
    """The positions ONNX Slice takes along an axis of size ``dim``.

    Negative start / end count from the end; then, for step > 0, start and end
    are clamped to [0, dim]; for step < 0, start to [0, dim - 1] and end to
    [-1, dim - 1] (so end = -dim - 1, or INT_MIN, slices backwards to the first
    element)."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
    else:
        start = min(max(start, 0), dim - 1)
        end = min(max(end, -1), dim - 1)
    return list(range(start, end, step))
# --8<-- [end:onnx_slice_positions]


# --8<-- [start:Slice]
class Slice(_IndexGather):
    r"""ONNX Slice: ``slice(x, starts, ends, axes=None, steps=None)``; negative
    starts / ends count from the end, negative steps go backwards, and
    out-of-range bounds are clamped as ONNX says.  axes defaults to
    [0, 1, ...], steps to 1s.

    Forward: $y_{\ldots j \ldots} = x_{\ldots\, s + j\,t \,\ldots}$ on each sliced axis (start $s$, step $t$)
    Grad x: $\bar{x}$ = zeros with $\bar{y}$ scattered back to the sliced positions
    Derivation: ops/indexing.md#slice
    """

    opname = "slice"

    def __init__(self, starts, ends, axes=None, steps=None):
        super().__init__()
        self.starts = _int_list("slice", "starts", starts)
        self.ends = _int_list("slice", "ends", ends, len(self.starts))
        n = len(self.starts)
        self.axes = list(range(n)) if axes is None else _int_list("slice", "axes", axes, n)
        self.steps = [1] * n if steps is None else _int_list("slice", "steps", steps, n)
        if 0 in self.steps:
            raise ValueError(f"slice: steps must be nonzero, got {self.steps}")

    def index_map_for(self, shape):
        ndim = len(shape)
        sources = [list(range(d)) for d in shape]
        seen = set()
        for start, end, axis, step in zip(self.starts, self.ends, self.axes, self.steps):
            a = normalize_axis("slice", axis, ndim, "axes")
            if a in seen:
                raise ValueError(f"slice: axes {self.axes} repeats axis {a}")
            seen.add(a)
            sources[a] = onnx_slice_positions(shape[a], start, end, step)
        return index_map(sources, backend.contiguous_strides(shape)), 0.0
# --8<-- [end:Slice]


def slice(x, starts, ends, axes=None, steps=None):
    """ONNX Slice of x (differentiable); see ``Slice``."""
    return Slice(starts, ends, axes, steps)(x)[0]


# ---------------------------------------------------------------------- gather
# --8<-- [start:Gather]
class Gather(_IndexGather):
    r"""ONNX Gather: ``gather(x, axis, indices)``; indices is an int, a (nested)
    list, an ndarray or a Tensor of integers in [-d, d) (negative ones count
    from the end); the output's shape is
    ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``.

    Forward: $y_{a, k, b} = x_{a,\, \mathrm{ind}_k,\, b}$
    Grad x: $\bar{x}_{a, i, b} = \sum_{k:\ \mathrm{ind}_k = i} \bar{y}_{a, k, b}$ (a repeated index accumulates)
    Derivation: ops/indexing.md#gather
    """

    opname = "gather"

    def __init__(self, axis: int, indices):
        super().__init__()
        self.axis = axis
        self.indices = _int_array("gather", "indices", indices)

    def index_map_for(self, shape):
        axis = normalize_axis("gather", self.axis, len(shape))
        d = shape[axis]
        ind = self.indices
        if ind.size and (ind.min() < -d or ind.max() >= d):
            bad = ind[(ind < -d) | (ind >= d)].flat[0]
            raise ValueError(f"gather: index {bad} is out of range for axis {axis} of size {d} "
                             f"(x {shape}; expected -{d} <= index < {d})")
        ind = np.where(ind < 0, ind + d, ind)  # integer metadata
        sources = [list(range(n)) for n in shape[:axis]] + [ind] + \
                  [list(range(n)) for n in shape[axis + 1:]]
        return index_map(sources, backend.contiguous_strides(shape)), 0.0
# --8<-- [end:Gather]


def gather(x, axis: int, indices):
    """Take the entries ``indices`` of x along ``axis`` (ONNX Gather; differentiable)."""
    return Gather(axis, indices)(x)[0]


# ---------------------------------------------------------------------- pad
# --8<-- [start:pad_positions]
def pad_positions(mode: str, dim: int, begin: int, end: int) -> list[int]:
    """For each position along a padded axis, the source position (or -1 for
    the constant).  reflect mirrors without repeating the edge, as np.pad's
    'reflect' (period 2 (dim - 1)); edge repeats the edge element."""
    out = []
    for o in range(begin + dim + end):
        i = o - begin
        if 0 <= i < dim:
            out.append(i)
        elif mode == "constant":
            out.append(-1)
        elif mode == "edge":
            out.append(min(max(i, 0), dim - 1))
        elif dim == 1:  # reflect on a single element repeats it
            out.append(0)
        else:
            period = 2 * (dim - 1)
            m = i % period
            out.append(m if m < dim else period - m)
    return out
# --8<-- [end:pad_positions]


# --8<-- [start:Pad]
class Pad(_IndexGather):
    r"""ONNX Pad: ``pad(x, mode, pads, constant=0.)``; mode is "constant",
    "reflect" or "edge"; pads = [begin_0, begin_1, ..., end_0, end_1, ...],
    all >= 0 (ONNX's negative pads, which crop, are refused: use slice).

    Forward: $y$ = x surrounded by the padding: the constant, a mirror image (reflect), or copies of the edge
    Grad x: $\bar{x}_i = \sum_{j \text{ reading } x_i} \bar{y}_j$ (the constant gets no gradient)
    Derivation: ops/indexing.md#pad
    """

    opname = "pad"
    MODES = ("constant", "reflect", "edge")

    def __init__(self, mode: str = "constant", pads=None, constant: float = 0.0):
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"pad: mode must be one of {self.MODES}, got {mode!r}")
        if pads is None:
            raise ValueError("pad: pads is required ([begin_0, ..., end_0, ...])")
        self.mode, self.constant = mode, checks.number("pad", "constant", constant)
        self.pads = _int_list("pad", "pads", pads)
        if any(p < 0 for p in self.pads):
            raise ValueError(f"pad: pads must be >= 0, got {self.pads} (to crop, use slice)")

    def index_map_for(self, shape):
        ndim = len(shape)
        if len(self.pads) != 2 * ndim:
            raise ValueError(f"pad: pads must have 2 * ndim = {2 * ndim} entries for x of shape "
                             f"{shape} ([begin_0, ..., end_0, ...]), got {len(self.pads)}")
        # The output's size first: the positions below are built one by one, so
        # pads of 2**40 must be refused before, not after, that list is made.
        _check_int32_size("pad", [d + self.pads[a] + self.pads[ndim + a]
                                  for a, d in enumerate(shape)])
        sources = []
        for a, d in enumerate(shape):
            begin, end = self.pads[a], self.pads[ndim + a]
            if d == 0 and self.mode != "constant" and begin + end > 0:
                raise ValueError(f"pad: cannot {self.mode}-pad axis {a} of size 0 (x {shape})")
            sources.append(pad_positions(self.mode, d, begin, end))
        return index_map(sources, backend.contiguous_strides(shape)), self.constant
# --8<-- [end:Pad]


def pad(x, mode: str, pads, constant: float = 0.0):
    """Pad x (ONNX Pad; modes constant, reflect, edge; differentiable)."""
    return Pad(mode, pads, constant)(x)[0]


# ------------------------------------------------------- tile, expand, upsample
# --8<-- [start:Broadcast]
class _Broadcast(engine.Operation):
    """y = reshape(broadcast_to(reshape(x, split), expanded), out): a copy by the
    strided-copy kernel.  Backward: sum dy over the broadcast copies."""

    opname = ""

    def shapes(self, shape):
        """(split, expanded, out) for an input of ``shape``."""
        raise NotImplementedError

    def forward(self, x):
        check_float(self.opname, x, names=["x"])
        split, expanded, out = self.shapes(x.shape)
        self.x_shape, self.split, self.expanded = x.shape, split, expanded
        y = backend.broadcast_to(x.reshape(split), expanded)
        if y.shape == split:
            y = y.clone()  # nothing was broadcast; still return a new tensor
        return y.reshape(out)

    def backward(self, dy):
        return backend.sum_to_shape(dy.reshape(self.expanded), self.split).reshape(self.x_shape)
# --8<-- [end:Broadcast]


# --8<-- [start:Tile]
class Tile(_Broadcast):
    r"""Repeat the whole tensor along each axis, as np.tile: ``tile(x, repeats)``
    (an int or a list; shorter lists are padded with 1s in front, longer ones
    give x new leading axes).

    Forward: $y_{\ldots, r d + i, \ldots} = x_{\ldots, i, \ldots}$ for every copy $r$
    Grad x: $\bar{x}$ = the sum of $\bar{y}$ over the copies
    Derivation: ops/indexing.md#tile
    """

    opname = "tile"

    def __init__(self, repeats):
        super().__init__()
        self.repeats = _int_list("tile", "repeats", repeats)
        if any(r < 0 for r in self.repeats):
            raise ValueError(f"tile: repeats must be >= 0, got {self.repeats}")

    def shapes(self, shape):
        ndim = max(len(shape), len(self.repeats))
        dims = [1] * (ndim - len(shape)) + list(shape)
        reps = [1] * (ndim - len(self.repeats)) + self.repeats
        # (r0, d0, r1, d1, ...): copy r of axis k sits at position r * d_k + i
        split = [v for d in dims for v in (1, d)]
        expanded = [v for r, d in zip(reps, dims) for v in (r, d)]
        return tuple(split), tuple(expanded), tuple(r * d for r, d in zip(reps, dims))
# --8<-- [end:Tile]


# --8<-- [start:Expand]
class Expand(_Broadcast):
    r"""ONNX Expand: broadcast x and ``shape`` together: ``expand(x, shape)``
    (a 1 in shape keeps x's dimension, as in ONNX).

    Forward: $y = \mathrm{broadcast}(x)$ to broadcast_shape(x.shape, shape)
    Grad x: $\bar{x} = \mathrm{unbroadcast}(\bar{y})$
    Derivation: ops/indexing.md#expand
    """

    opname = "expand"

    def __init__(self, shape):
        super().__init__()
        self.shape = _int_list("expand", "shape", shape)
        if any(d < 0 for d in self.shape):
            raise ValueError(f"expand: shape must hold sizes >= 0, got {self.shape}")

    def shapes(self, shape):
        out = backend.broadcast_shape(shape, self.shape, "expand")
        split = (1,) * (len(out) - len(shape)) + tuple(shape)
        return split, out, out
# --8<-- [end:Expand]


# --8<-- [start:UpSample]
class UpSample(_Broadcast):
    r"""Nearest-neighbour upsampling by integer scales: ``upsample(x, mode, scales)``;
    mode must be "nearest"; scales has one entry per axis (whole numbers, >= 1).

    Forward: $y_{\ldots, i, \ldots} = x_{\ldots, \lfloor i / s \rfloor, \ldots}$
    Grad x: $\bar{x}_{\ldots, i, \ldots} = \sum_{r < s} \bar{y}_{\ldots, i s + r, \ldots}$
    Derivation: ops/indexing.md#upsample
    """

    opname = "upsample"

    def __init__(self, mode: str, scales):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"upsample: only mode 'nearest' is supported, got {mode!r}")
        try:
            scales = [float(s) for s in scales]
        except (TypeError, ValueError):
            raise TypeError(f"upsample: scales must be a list of numbers, got {scales!r}") from None
        if any(s < 1 or s != int(s) for s in scales):
            raise ValueError(f"upsample: scales must be whole numbers >= 1, got {scales}")
        self.scales = [int(s) for s in scales]

    def shapes(self, shape):
        if len(self.scales) != len(shape):
            raise ValueError(f"upsample: scales needs one entry per axis of x {shape}, got "
                             f"{self.scales}")
        # (d0, s0, d1, s1, ...): element i of axis k is copied to i * s_k + r
        split = tuple(v for d in shape for v in (d, 1))
        expanded = tuple(v for d, s in zip(shape, self.scales) for v in (d, s))
        return split, expanded, tuple(d * s for d, s in zip(shape, self.scales))
# --8<-- [end:UpSample]


def tile(x, repeats):
    """x repeated ``repeats`` times along each axis, as np.tile (differentiable)."""
    return Tile(repeats)(x)[0]


def expand(x, shape):
    """x broadcast with ``shape`` (ONNX Expand; differentiable)."""
    return Expand(shape)(x)[0]


def upsample(x, mode: str, scales):
    """Nearest-neighbour upsampling by whole-number scales, one per axis (differentiable)."""
    return UpSample(mode, scales)(x)[0]


# ------------------------------------------------- depth_to_space, space_to_depth
# --8<-- [start:Rearrange]
class _Rearrange(engine.Operation):
    """y = reshape(transpose(reshape(x, split), perm), out); backward undoes it."""

    opname = ""

    def __init__(self, blocksize: int, mode: str = "DCR"):
        super().__init__()
        if not dtypes.is_int(blocksize) or \
                blocksize < 1:
            raise ValueError(f"{self.opname}: blocksize must be an int >= 1, got {blocksize!r}")
        if mode not in ("DCR", "CRD"):
            raise ValueError(f"{self.opname}: mode must be 'DCR' or 'CRD', got {mode!r}")
        self.b, self.mode = int(blocksize), mode

    def plan(self, n, c, h, w):
        """(split, perm, out) for an (N, C, H, W) input."""
        raise NotImplementedError

    def forward(self, x):
        check_float(self.opname, x, names=["x"])
        if len(x.shape) != 4:
            raise ValueError(f"{self.opname}: x must be 4-D (N, C, H, W), got shape {x.shape}")
        split, self.perm, out = self.plan(*x.shape)
        self.x_shape = x.shape
        y = backend.transpose(x.reshape(split), self.perm)
        self.y_split = y.shape
        return y.reshape(out)

    def backward(self, dy):
        inverse = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inverse[p] = i
        return backend.transpose(dy.reshape(self.y_split), inverse).reshape(self.x_shape)
# --8<-- [end:Rearrange]


# --8<-- [start:DepthToSpace]
class DepthToSpace(_Rearrange):
    r"""Move channel blocks into space, NCHW: ``depth_to_space(x, blocksize, mode="DCR")``;
    (N, C, H, W) -> (N, C/b^2, H b, W b).  DCR reads the channel as (depth
    row, depth column, channel), CRD as (channel, row, column), as in ONNX.

    Forward: DCR $y_{n, c, h b + i, w b + j} = x_{n, (i b + j) C' + c, h, w}$; CRD $y_{n, c, h b + i, w b + j} = x_{n, c b^2 + i b + j, h, w}$
    Grad x: $\bar{x}$ = $\bar{y}$ moved back by the inverse permutation
    Derivation: ops/indexing.md#depth_to_space
    """

    opname = "depth_to_space"

    def plan(self, n, c, h, w):
        b = self.b
        if c % (b * b):
            raise ValueError(f"depth_to_space: channels {c} must be divisible by blocksize^2 = "
                             f"{b * b}")
        cc = c // (b * b)
        out = (n, cc, h * b, w * b)
        if self.mode == "DCR":
            return (n, b, b, cc, h, w), (0, 3, 4, 1, 5, 2), out
        return (n, cc, b, b, h, w), (0, 1, 4, 2, 5, 3), out
# --8<-- [end:DepthToSpace]


# --8<-- [start:SpaceToDepth]
class SpaceToDepth(_Rearrange):
    r"""Move spatial blocks into channels, NCHW: ``space_to_depth(x, blocksize, mode="DCR")``;
    (N, C, H, W) -> (N, C b^2, H/b, W/b); the inverse of depth_to_space with
    the same mode.

    Forward: DCR $y_{n, (i b + j) C + c, h, w} = x_{n, c, h b + i, w b + j}$; CRD $y_{n, c b^2 + i b + j, h, w} = x_{n, c, h b + i, w b + j}$
    Grad x: $\bar{x}$ = $\bar{y}$ moved back by the inverse permutation
    Derivation: ops/indexing.md#space_to_depth
    """

    opname = "space_to_depth"

    def plan(self, n, c, h, w):
        b = self.b
        if h % b or w % b:
            raise ValueError(f"space_to_depth: height {h} and width {w} must be divisible by "
                             f"blocksize {b}")
        out = (n, c * b * b, h // b, w // b)
        split = (n, c, h // b, b, w // b, b)
        if self.mode == "DCR":
            return split, (0, 3, 5, 1, 2, 4), out
        return split, (0, 1, 3, 5, 2, 4), out
# --8<-- [end:SpaceToDepth]


def depth_to_space(x, blocksize: int, mode: str = "DCR"):
    """(N, C, H, W) -> (N, C/b^2, H b, W b), DCR or CRD order (differentiable)."""
    return DepthToSpace(blocksize, mode)(x)[0]


def space_to_depth(x, blocksize: int, mode: str = "DCR"):
    """(N, C, H, W) -> (N, C b^2, H/b, W/b), DCR or CRD order (differentiable)."""
    return SpaceToDepth(blocksize, mode)(x)[0]


# ---------------------------------------------------------------------- scatter_elements
# --8<-- [start:ScatterElements]
class ScatterElements(engine.Operation):
    r"""ONNX ScatterElements (no reduction), any rank: ``scatter_elements(x,
    indices, updates, axis=0)``.  y is a copy of x with ``y[p with its axis
    coordinate replaced by indices[p]] = updates[p]`` for every position p of
    indices; indices and updates have one shape, of x's rank and no larger
    than x off the axis.  Two updates aimed at one element are refused (ONNX
    leaves the result undefined).  SINGA handles only 2-D, on the host, and
    its class takes updates in the constructor (``ScatterElements(indices,
    updates, axis)(x)``, no gradient for updates); here updates is the second
    forward input, ``ScatterElements(indices, axis)(x, updates)``, so that it
    gets its gradient.

    Forward: $y = x$, then $y_{p[\mathrm{axis} \to \mathrm{ind}_p]} = u_p$
    Grad x: $\bar{x} = \bar{y}$ with the overwritten elements set to 0
    Grad updates: $\bar{u}_p = \bar{y}_{p[\mathrm{axis} \to \mathrm{ind}_p]}$
    Derivation: ops/indexing.md#scatter_elements
    """

    def __init__(self, indices, axis: int = 0):
        super().__init__()
        self.indices = _int_array("scatter_elements", "indices", indices)
        self.axis = axis

    def targets(self, shape) -> np.ndarray:
        """The flat position in x of each update (checked)."""
        ind, ndim = self.indices, len(shape)
        axis = normalize_axis("scatter_elements", self.axis, ndim)
        if ind.ndim != ndim or any(ind.shape[a] > shape[a] for a in range(ndim) if a != axis):
            raise ValueError(f"scatter_elements: indices of shape {ind.shape} must have x's rank "
                             f"{ndim} and fit in x {shape} off axis {axis}")
        d = shape[axis]
        if ind.size and (ind.min() < -d or ind.max() >= d):
            bad = ind[(ind < -d) | (ind >= d)].flat[0]
            raise ValueError(f"scatter_elements: index {bad} is out of range for axis {axis} of "
                             f"size {d} (expected -{d} <= index < {d})")
        ind = np.where(ind < 0, ind + d, ind)
        strides = backend.contiguous_strides(shape)
        # The position p itself, but with 0 on the axis; then + ind * stride.
        sources = [list(range(n)) if a != axis else [0] * n for a, n in enumerate(ind.shape)]
        flat = index_map(sources, strides).astype(np.int64) + ind * strides[axis]
        if len(np.unique(flat)) != flat.size:
            raise ValueError("scatter_elements: two updates target the same element of x; "
                             "the result would depend on their order")
        return flat.astype(np.int32)

    def forward(self, x, updates):
        check_float("scatter_elements", x, updates, names=["x", "updates"])
        _check_int32_size("scatter_elements", x.shape)
        if updates.shape != self.indices.shape:
            raise ValueError(f"scatter_elements: updates has shape {updates.shape} but indices "
                             f"has shape {self.indices.shape}; they must be equal")
        self.idx = CTensor.from_numpy(self.targets(x.shape), dtypes.int32, x.device)
        y = x.clone()
        if updates.size:
            backend.kernel("scatter_index", y)(y.ptr, updates.ptr, self.idx.ptr, updates.size)
        return y

    def backward(self, dy):
        dx = dy.clone()
        if self.idx.size:
            backend.kernel("fill_index", dx)(dx.ptr, 0.0, self.idx.ptr, self.idx.size)
        du = CTensor._new(self.idx.shape, dy.dtype, dy.device)
        if du.size:
            backend.kernel("gather_index", dy)(du.ptr, dy.ptr, self.idx.ptr, 0.0, du.size)
        return dx, du
# --8<-- [end:ScatterElements]


def scatter_elements(x, indices, updates, axis: int = 0):
    """A copy of x with ``updates`` written at ``indices`` along ``axis`` (ONNX
    ScatterElements; differentiable in x and updates, which may be a Tensor or an
    array)."""
    if not isinstance(updates, Tensor):
        dtype = x.dtype if isinstance(x, Tensor) else None
        updates = Tensor(data=np.asarray(updates), dtype=dtype, requires_grad=False)
    return ScatterElements(indices, axis)(x, updates)[0]


# ---------------------------------------------------------------------- embedding
# --8<-- [start:Embedding]
class Embedding(engine.Operation):
    r"""Look up rows of a table: ``embedding(x, w)``; x holds int32 row indices
    of any shape (usually (batch, seq)), w is (vocab, dim), and y is
    ``x.shape + (dim,)``.  x gets no gradient (SINGA returns a dummy one).

    Forward: $y_{b, s, :} = w_{x_{b, s}, :}$
    Grad w: $\bar{w}_{v, :} = \sum_{(b, s):\ x_{b, s} = v} \bar{y}_{b, s, :}$ (a repeated index accumulates)
    Derivation: ops/indexing.md#embedding
    """

    def forward(self, x, w):
        if x.dtype != dtypes.int32:
            raise TypeError(f"embedding: x must hold int32 indices, got {dtypes.name(x.dtype)}; "
                            "convert it with x.as_type(tensor.int32)")
        check_float("embedding", w, names=["w"])
        if len(w.shape) != 2:
            raise ValueError(f"embedding: w must be a 2-D (vocab, dim) table, got shape {w.shape}")
        if x.device is not w.device:
            raise checks.device_mismatch("embedding", "x", x.device, "w", w.device)
        vocab, dim = w.shape
        ids = _host(x)
        if ids.size and (ids.min() < 0 or ids.max() >= vocab):
            bad = ids[(ids < 0) | (ids >= vocab)].flat[0]
            raise ValueError(f"embedding: index {bad} in x is outside [0, {vocab}), the rows of "
                             f"w {w.shape}")
        self.x, self.w_shape = x, w.shape
        y = CTensor(x.shape + (dim,), w.dtype, w.device)
        backend.kernel("embedding_forward", w)(y.ptr, w.ptr, x.ptr, x.size, dim)
        return y

    def backward(self, dy):
        dw = CTensor(self.w_shape, dy.dtype, dy.device)
        backend.kernel("embedding_backward", dy)(dw.ptr, dy.ptr, self.x.ptr, self.x.size,
                                                 *self.w_shape)
        return None, dw
# --8<-- [end:Embedding]


def embedding(x, w):
    """Rows of w (vocab, dim) picked by the int32 indices x -> x.shape + (dim,)
    (differentiable in w)."""
    return Embedding()(x, w)[0]


# ---------------------------------------------------------------------- onehot
# --8<-- [start:OneHot]
class OneHot(_Constant):
    r"""ONNX OneHot, SINGA's argument order: ``onehot(axis, indices, depth, values)``;
    indices (a Tensor of whole numbers in [-depth, depth), negative ones
    counting from the end), values = [off, on]; a new axis of size depth is
    inserted at ``axis`` (-1: last).  The output is float32 (SINGA's), or
    float64 when indices is float64.  An index out of range is an error
    (ONNX gives an all-off row).

    Forward: $y_{\ldots, d, \ldots} = \mathrm{on}$ if $d = \mathrm{ind}_{\ldots}$ else $\mathrm{off}$
    No gradient: the indices are integers and values are constants
    Derivation: ops/indexing.md#onehot
    """

    no_grad_reason = "the indices are integers"

    def __init__(self, axis: int, depth: int, values):
        super().__init__()
        if isinstance(values, Tensor):
            values = _host(values.data)
        values = np.asarray(values).reshape(-1)
        if values.size != 2:
            raise ValueError(f"onehot: values must be [off, on], got {values.tolist()}")
        for what, v in zip(("off", "on"), values.tolist()):
            checks.number("onehot", f"values ({what})", v)
        if isinstance(depth, Tensor):
            depth = _host(depth.data).reshape(-1)[0]
        if isinstance(depth, (float, np.floating)) and float(depth) == int(depth):
            depth = int(depth)
        if not dtypes.is_int(depth) or depth < 1:
            raise ValueError(f"onehot: depth must be a whole number >= 1, got {depth!r}")
        self.axis, self.depth = axis, int(depth)
        self.off, self.on = float(values[0]), float(values[1])

    def forward(self, indices):
        ndim = len(indices.shape)
        axis = normalize_axis("onehot", self.axis, ndim + 1)
        ind = _int_array("onehot", "indices", _host(indices))
        d = self.depth
        if ind.size and (ind.min() < -d or ind.max() >= d):
            bad = ind[(ind < -d) | (ind >= d)].flat[0]
            raise ValueError(f"onehot: index {bad} is outside [-{d}, {d}) for depth {d}")
        ind_t = CTensor.from_numpy(ind, dtypes.int32, indices.device)
        dtype = indices.dtype if indices.dtype in dtypes.FLOAT_TYPES else dtypes.float32
        outer = math.prod(indices.shape[:axis])
        inner = math.prod(indices.shape[axis:])
        y = CTensor(indices.shape[:axis] + (d,) + indices.shape[axis:], dtype, indices.device)
        backend.kernel("onehot_forward", y)(y.ptr, ind_t.ptr, self.off, self.on, outer, d, inner)
        return y
# --8<-- [end:OneHot]


def onehot(axis: int, indices, depth: int, values):
    """One-hot encode ``indices`` along a new axis (ONNX OneHot; no gradient)."""
    return OneHot(axis, depth, values)(indices)[0]


# ---------------------------------------------------------------------- cast
# --8<-- [start:Cast]
class Cast(engine.Operation):
    r"""Convert the element type: ``cast(x, to)``; ``to`` is a dtype code
    (SINGA's 0 = float32, 2 = int32, and 4 = float64), a NumPy dtype or a name.
    Float to int32 truncates toward zero (C's rule); NaN, infinities and values
    outside the int32 range are an error.  A cast from or to int32 is a
    constant for autograd (SINGA's Cast has no gradient at all).

    Forward: $y = x$ in the new element type
    Grad x: $\bar{x} = \bar{y}$ cast back to the type of $x$ (float to float only)
    Derivation: ops/indexing.md#cast
    """

    def __init__(self, to):
        super().__init__()
        self.to = dtypes.as_dtype(to, "to")

    def forward(self, x):
        self.x_dtype = x.dtype
        # a cast from or to int32 is a constant for autograd
        self.differentiable = self.to != dtypes.int32 and x.dtype != dtypes.int32
        if self.to == dtypes.int32 and x.dtype != dtypes.int32 and x.size:
            values = _host(x).astype(np.float64)  # exact bounds, also for float32
            if not np.all(np.isfinite(values)) or values.min() <= -2.0**31 - 1 or \
                    values.max() >= 2.0**31:
                raise ValueError("cast: x holds NaN, an infinity or a value outside the int32 "
                                 "range; it cannot be cast to int32")
        if x.dtype == self.to:
            return x.clone()
        return backend.cast(x, self.to)

    def backward(self, dy):
        return dy if dy.dtype == self.x_dtype else backend.cast(dy, self.x_dtype)
# --8<-- [end:Cast]


def cast(x, to):
    """x converted to the element type ``to`` (float to float: differentiable)."""
    return Cast(to)(x)[0]


# ---------------------------------------------------------------------- shape, constant_of_shape
# --8<-- [start:Shape]
class Shape(_Constant):
    r"""The shape of x as a 1-D int32 tensor: ``shape(x)``.

    Forward: $y = (d_0, d_1, \ldots)$
    No gradient: the shape does not depend on the values
    Derivation: ops/indexing.md#shape
    """

    no_grad_reason = "the shape does not depend on the values"

    def forward(self, x):
        # metadata, moved in from Python: no computation to do
        return CTensor.from_numpy(np.array(x.shape, dtype=np.int32), dtypes.int32, x.device)
# --8<-- [end:Shape]


def shape(x):
    """The shape of x as a 1-D int32 tensor (no gradient)."""
    return Shape()(x)[0]


# --8<-- [start:ConstantOfShape]
class ConstantOfShape(_Constant):
    r"""A float32 tensor filled with ``value`` whose shape is held by x (a 1-D
    tensor of whole numbers >= 0): ``constant_of_shape(x, value=0)``.

    Forward: $y = \mathrm{full}(x, \mathrm{value})$
    No gradient: the output does not depend on x's values continuously
    Derivation: ops/indexing.md#constant_of_shape
    """

    no_grad_reason = "x only gives the shape"

    def __init__(self, value: float = 0.0):
        super().__init__()
        if isinstance(value, Tensor):
            value = _host(value.data).reshape(-1)[0]
        self.value = checks.number("constant_of_shape", "value", value)

    def forward(self, x):
        if len(x.shape) != 1:
            raise ValueError(f"constant_of_shape: x must be a 1-D tensor holding a shape, got a "
                             f"tensor of shape {x.shape}")
        dims = _int_array("constant_of_shape", "x", _host(x))
        if (dims < 0).any():
            raise ValueError(f"constant_of_shape: sizes must be >= 0, got {dims.tolist()}")
        return backend.full(tuple(int(d) for d in dims), self.value, dtypes.float32, x.device)
# --8<-- [end:ConstantOfShape]


def constant_of_shape(x, value: float = 0.0):
    """A float32 tensor of the shape held by x, filled with ``value`` (no gradient)."""
    return ConstantOfShape(value)(x)[0]


# ---------------------------------------------------------------------- nonzero
# --8<-- [start:NonZero]
class NonZero(_Constant):
    r"""Indices of the nonzero elements, as np.nonzero stacked: ``nonzero(x)``
    -> an int32 tensor of shape (ndim, count), in row-major order.

    Forward: column $k$ of $y$ is the multi-index of the $k$-th nonzero of $x$
    No gradient: the output is integer indices
    Derivation: ops/indexing.md#nonzero
    """

    no_grad_reason = "the output is integer indices"

    def forward(self, x):
        check_float("nonzero", x, names=["x"])
        if len(x.shape) == 0:
            raise ValueError("nonzero: x must have at least one dimension, got a scalar")
        _check_int32_size("nonzero", x.shape)
        count = backend.kernel("nonzero_count", x)(x.ptr, x.size)
        y = CTensor((len(x.shape), count), dtypes.int32, x.device)
        if count:
            shape_arr = ffi.new("int64_t[]", list(x.shape))
            backend.kernel("nonzero_forward", x)(y.ptr, x.ptr, shape_arr, len(x.shape), x.size,
                                                 count)
        return y
# --8<-- [end:NonZero]


def nonzero(x):
    """The (ndim, count) int32 indices of x's nonzero elements (no gradient)."""
    return NonZero()(x)[0]


# ---------------------------------------------------------------------- registry
def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


def _np_slice(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [np.s_[:]] * x.ndim
    for s, e, a, t in zip(starts, ends, axes, steps):
        index[a] = np.s_[s:e:t]  # Python's slice clamps as ONNX does
    return x[tuple(index)]


# --8<-- [start:register_slice]
register(OpInfo("slice", (Slice,), slice, _np_slice,
                lambda rng: [Sample([_u(rng, 4, 5)], {"starts": [1, 0], "ends": [3, 5]}),
                             Sample([_u(rng, 3, 6)], {"starts": [-1], "ends": [-2**31],
                                                      "axes": [1], "steps": [-2]},
                                    note="negative step to the start"),
                             Sample([_u(rng, 2, 3, 4)], {"starts": [-10, 1], "ends": [100, -1],
                                                         "axes": [-1, 0]},
                                    note="clamped bounds")]))
# --8<-- [end:register_slice]


def _np_gather(x, axis, indices):
    return np.take(x, np.asarray(indices), axis=axis)


# --8<-- [start:register_gather]
register(OpInfo("gather", (Gather,), lambda x, axis, indices: gather(x, axis, indices),
                _np_gather,
                lambda rng: [Sample([_u(rng, 4, 3)], {"axis": 0, "indices": [2, 0, 2]},
                                    note="repeated index"),
                             Sample([_u(rng, 2, 5)], {"axis": 1, "indices": [[0, -1], [3, 3]]},
                                    note="nested, negative"),
                             Sample([_u(rng, 3, 2, 2)], {"axis": -2, "indices": 1},
                                    note="scalar index")]))
# --8<-- [end:register_gather]
# --8<-- [start:register_tile]
register(OpInfo("tile", (Tile,), tile, lambda x, repeats: np.tile(x, repeats),
                lambda rng: [Sample([_u(rng, 2, 3)], {"repeats": [2, 1]}),
                             Sample([_u(rng, 3)], {"repeats": [2, 2]}),
                             Sample([_u(rng, 2, 1, 2)], {"repeats": 3})]))
# --8<-- [end:register_tile]


def _np_expand(x, shape):
    return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(shape))).copy()


# --8<-- [start:register_expand]
register(OpInfo("expand", (Expand,), expand, _np_expand,
                lambda rng: [Sample([_u(rng, 3, 1)], {"shape": [2, 3, 4]}),
                             Sample([_u(rng, 2, 3)], {"shape": [1, 3]}, note="a 1 keeps x's dim")]))
# --8<-- [end:register_expand]


def _np_pad(x, mode, pads, constant=0.0):
    n = x.ndim
    width = [(pads[i], pads[n + i]) for i in range(n)]
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=constant)
    return np.pad(x, width, mode=mode)


# --8<-- [start:register_pad]
register(OpInfo("pad", (Pad,), pad, _np_pad,
                lambda rng: [Sample([_u(rng, 2, 3)], {"mode": "constant", "pads": [1, 0, 0, 2],
                                                      "constant": 0.5}),
                             Sample([_u(rng, 3, 4)], {"mode": "reflect", "pads": [2, 1, 1, 3]}),
                             Sample([_u(rng, 2, 3)], {"mode": "edge", "pads": [1, 2, 2, 1]}),
                             Sample([_u(rng, 3)], {"mode": "reflect", "pads": [5, 4]},
                                    note="reflect past the width")]))
# --8<-- [end:register_pad]
def _np_upsample(x, mode, scales):
    for axis, scale in enumerate(scales):
        x = x.repeat(int(scale), axis=axis)
    return x


# --8<-- [start:register_upsample]
register(OpInfo("upsample", (UpSample,), upsample, _np_upsample,
                lambda rng: [Sample([_u(rng, 2, 3)], {"mode": "nearest", "scales": [2, 3]}),
                             Sample([_u(rng, 1, 2, 2, 2)],
                                    {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 2.0]})]))
# --8<-- [end:register_upsample]


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


# --8<-- [start:register_depth_to_space]
register(OpInfo("depth_to_space", (DepthToSpace,), depth_to_space, _np_d2s,
                lambda rng: [Sample([_u(rng, 1, 8, 2, 1)], {"blocksize": 2}),
                             Sample([_u(rng, 2, 4, 1, 2)], {"blocksize": 2, "mode": "CRD"})]))
# --8<-- [end:register_depth_to_space]
# --8<-- [start:register_space_to_depth]
register(OpInfo("space_to_depth", (SpaceToDepth,), space_to_depth, _np_s2d,
                lambda rng: [Sample([_u(rng, 1, 2, 4, 2)], {"blocksize": 2}),
                             Sample([_u(rng, 2, 1, 2, 4)], {"blocksize": 2, "mode": "CRD"})]))
# --8<-- [end:register_space_to_depth]


def _np_scatter(x, updates, indices, axis=0):
    # ONNX's reference loop, element by element.
    y = x.copy()
    indices = np.asarray(indices)
    for p in np.ndindex(indices.shape):
        q = list(p)
        q[axis] = indices[p]
        y[tuple(q)] = updates[p]
    return y


# --8<-- [start:register_scatter_elements]
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
# --8<-- [end:register_scatter_elements]
# --8<-- [start:register_embedding]
register(OpInfo("embedding", (Embedding,), embedding,
                lambda x, w: w[x],
                lambda rng: [Sample([np.array([[0, 2, 2], [4, 1, 0]], dtype=np.int32),
                                     _u(rng, 5, 3)], note="repeated rows"),
                             Sample([np.array([3], dtype=np.int32), _u(rng, 4, 2)])]))
# --8<-- [end:register_embedding]


def _np_onehot(indices, axis, depth, values):
    ind = np.asarray(indices).astype(np.int64) % depth
    hot = np.moveaxis(np.arange(depth) == ind[..., None], -1, axis)
    return np.where(hot, values[1], values[0]).astype(np.float64)


# --8<-- [start:register_onehot]
register(OpInfo("onehot", (OneHot,),
                lambda indices, axis, depth, values: onehot(axis, indices, depth, values),
                _np_onehot,
                lambda rng: [Sample([np.array([0, 2, -1, 1], dtype=np.int32)],
                                    {"axis": -1, "depth": 3, "values": [0.0, 1.0]}),
                             Sample([np.array([[1, 0], [3, 2]], dtype=np.int32)],
                                    {"axis": 0, "depth": 4, "values": [-1.0, 2.5]})],
                no_grad="integer indices", fixed_dtype=True))
# --8<-- [end:register_onehot]
# --8<-- [start:register_cast]
register(OpInfo("cast", (Cast,), cast, lambda x, to: x.astype(np.float64),
                lambda rng: [Sample([_u(rng, 3, 4)], {"to": dtypes.float64})],
                fixed_dtype=True))
# --8<-- [end:register_cast]
# --8<-- [start:register_shape]
register(OpInfo("shape", (Shape,), shape, lambda x: np.array(x.shape),
                lambda rng: [Sample([_u(rng, 2, 3, 1)]), Sample([_u(rng, 4)])],
                no_grad="the shape does not depend on the values", fixed_dtype=True))
# --8<-- [end:register_shape]
# --8<-- [start:register_constant_of_shape]
register(OpInfo("constant_of_shape", (ConstantOfShape,), constant_of_shape,
                lambda x, value=0.0: np.full(tuple(x), value),
                lambda rng: [Sample([np.array([2, 3], dtype=np.int32)], {"value": 1.5}),
                             Sample([np.array([4], dtype=np.int32)])],
                no_grad="x only gives the shape", fixed_dtype=True))
# --8<-- [end:register_constant_of_shape]
# --8<-- [start:register_nonzero]
register(OpInfo("nonzero", (NonZero,), nonzero, lambda x: np.array(np.nonzero(x)),
                lambda rng: [Sample([rng.integers(-1, 2, (3, 4)).astype(np.float64)]),
                             Sample([np.array([0.0, 2.0, 0.0, -1.5])])],
                no_grad="integer indices", fixed_dtype=True))
# --8<-- [end:register_nonzero]
