"""Indexing and shape operations: slice, gather, tile, expand, pad, upsample,
depth_to_space, space_to_depth, scatter_elements, embedding; and the ones
without a gradient: onehot, cast, shape, constant_of_shape, nonzero.
Derivations: docs/ops/indexing.md.

How the data moves.  Most of these are a *gather*: output element i is input
element idx[i], idx chosen by the shapes alone (docs/ops/indexing.md derives
them all from that).  The map is never built: slice and pad are one kernel,
``window_copy``, the strided copy of transposes with a start, a step and
padding per axis, which computes each source position as it copies; their
backwards are ``slice_backward`` and ``pad_backward``.  gather reads along one
axis through an int32 index tensor (``gather_forward`` / ``gather_backward``).
Indices that may be wrong are checked on their device by a kernel that counts
the bad ones (``first_out_of_range`` in _util.py): one number comes back, and
the indices are copied to the host only to name a bad one in the error.

tile, expand and upsample are broadcasts in disguise (a reshape, a broadcast
by the strided-copy kernel, a reshape), and depth_to_space / space_to_depth
are a reshape, a transpose and a reshape; their backward sums over the
broadcast copies or transposes back.
"""
from __future__ import annotations

import math

from .. import backend, checks, dtypes, engine, graph
from .._lib import ffi
from .._tensor import Tensor
from ..ctensor import CTensor
from ._util import check_float, count, first_out_of_range, host_values, normalize_axis, three_d_view
from .logic import _Constant

__all__ = [
    "Slice", "Gather", "Tile", "Expand", "Pad", "UpSample", "DepthToSpace", "SpaceToDepth",
    "ScatterElements", "Embedding", "OneHot", "Cast", "Shape", "ConstantOfShape", "NonZero",
    "slice", "gather", "tile", "expand", "pad", "upsample", "depth_to_space", "space_to_depth",
    "scatter_elements", "embedding", "onehot", "cast", "shape", "constant_of_shape", "nonzero",
]

_INT32_MAX = 2**31 - 1


# ---------------------------------------------------------------------- helpers
def _int_list(opname: str, argname: str, values, length: int | None = None) -> list[int]:
    """A list of Python ints (from a list, tuple or 1-D array), optionally of a given length."""
    if dtypes.is_int(values):
        values = [values]
    out = checks.int_sequence(opname, argname, values)
    for v in out:
        if not dtypes.is_int(v):
            raise TypeError(f"{opname}: {argname} must be a list of ints, got {values!r}")
    if length is not None and len(out) != length:
        raise ValueError(f"{opname}: {argname} must have {length} entries, got {len(out)} "
                         f"({out})")
    return [int(v) for v in out]


def _index_ctensor(opname: str, argname: str, values, device) -> CTensor:
    """Integer indices as an int32 CTensor on ``device``.  A (C)Tensor stays where
    it is: int32 as it is, a float one (SINGA keeps indices in float tensors)
    checked to hold whole numbers by a kernel that returns one count
    (``count_not_int32``) and cast on the device.  Host data was converted by
    ``checks.int_array`` when the operation was made; it is copied over."""
    if not isinstance(values, (Tensor, CTensor)):
        return CTensor.from_numpy(values, dtypes.int32, device)
    t = values.data if isinstance(values, Tensor) else values
    if t.device is not device:
        raise checks.device_mismatch(opname, argname, t.device, "x", device)
    if t.dtype == dtypes.int32:
        return t
    if t.size and count("count_not_int32", t, t.size, 1):
        raise TypeError(f"{opname}: {argname} must hold integers, got {dtypes.name(t.dtype)} "
                        f"values with a fraction (or NaN, an infinity, or a value outside the "
                        f"int32 range)")
    return backend.cast(t, dtypes.int32)


def _check_int32_size(opname: str, shape) -> None:
    if math.prod(shape) > _INT32_MAX:
        raise ValueError(f"{opname}: tensors of more than 2**31 - 1 elements are not supported "
                         f"(indices are int32), got shape {tuple(shape)}")


def _int64s(values):
    """A host array of int64 for a kernel's per-axis arguments (shapes, strides)."""
    return ffi.new("int64_t[]", list(values) or [0])


# pad's modes as the kernels number them (MS_PAD_* in minisinga/c/pointwise.h)
_PAD_MODES = {"constant": 0, "edge": 1, "reflect": 2}


def _window_copy(x: CTensor, shape, start, step, mode: str = "constant",
                 fill: float = 0.0) -> CTensor:
    """y = the window of x of ``shape`` that reads, along axis d, source positions
    ``start[d] + o * step[d]`` (pad's mode for those outside x): the kernel
    ``window_copy``.  No index map: the kernel computes each position."""
    y = CTensor._new(tuple(shape), x.dtype, x.device)
    if y.size:
        backend.kernel("window_copy", x)(
            y.ptr, x.ptr, _int64s(shape), _int64s(x.shape),
            _int64s(backend.contiguous_strides(x.shape)), _int64s(start), _int64s(step),
            _PAD_MODES[mode], fill, len(shape))
    return y


# ---------------------------------------------------------------------- slice
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


class Slice(engine.Operation):
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

    def window_for(self, shape):
        """(out shape, start, step) per axis: the positions of x the slice reads."""
        out, first, steps = list(shape), [0] * len(shape), [1] * len(shape)
        seen = set()
        for start, end, axis, step in zip(self.starts, self.ends, self.axes, self.steps):
            a = normalize_axis("slice", axis, len(shape), "axes")
            if a in seen:
                raise ValueError(f"slice: axes {self.axes} repeats axis {a}")
            seen.add(a)
            positions = onnx_slice_positions(shape[a], start, end, step)
            out[a], first[a], steps[a] = len(positions), positions[0] if positions else 0, step
        return out, first, steps

    def forward(self, x):
        check_float("slice", x, names=["x"])
        self.x_shape = x.shape
        self.shape, self.start, self.step = self.window_for(x.shape)
        return _window_copy(x, self.shape, self.start, self.step)

    def backward(self, dy):
        dx = CTensor._new(self.x_shape, dy.dtype, dy.device)
        backend.kernel("slice_backward", dy)(
            dx.ptr, dy.ptr, _int64s(self.shape), _int64s(backend.contiguous_strides(self.x_shape)),
            _int64s(self.start), _int64s(self.step), len(self.shape), dx.size)
        return dx


def slice(x, starts, ends, axes=None, steps=None):
    """ONNX Slice of x (differentiable); see ``Slice``."""
    return Slice(starts, ends, axes, steps)(x)[0]


# ---------------------------------------------------------------------- gather
class Gather(engine.Operation):
    r"""ONNX Gather: ``gather(x, axis, indices)``; indices is an int, a (nested)
    list, an ndarray or a Tensor of integers in [-d, d) (negative ones count
    from the end); the output's shape is
    ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``.

    Forward: $y_{a, k, b} = x_{a,\, \mathrm{ind}_k,\, b}$
    Grad x: $\bar{x}_{a, i, b} = \sum_{k:\ \mathrm{ind}_k = i} \bar{y}_{a, k, b}$ (a repeated index accumulates)
    Derivation: ops/indexing.md#gather
    """

    def __init__(self, axis: int, indices):
        super().__init__()
        self.axis = axis
        # host data is converted (and checked) now, a Tensor when the forward runs
        self.indices = indices if isinstance(indices, Tensor) else \
            checks.int_array("gather", "indices", indices)

    def forward(self, x):
        check_float("gather", x, names=["x"])
        axis = normalize_axis("gather", self.axis, len(x.shape))
        self.ind = _index_ctensor("gather", "indices", self.indices, x.device)
        d = x.shape[axis]
        bad = first_out_of_range(self.ind, -d, d)
        if bad is not None:
            raise ValueError(f"gather: index {bad} is out of range for axis {axis} of size {d} "
                             f"(x {x.shape}; expected -{d} <= index < {d})")
        self.x_shape = x.shape
        self.view = three_d_view(x.shape, axis)  # (outer, d, inner)
        y = CTensor._new(x.shape[:axis] + self.ind.shape + x.shape[axis + 1:], x.dtype,
                        x.device)
        outer, _, inner = self.view
        if y.size:
            backend.kernel("gather_forward", x)(y.ptr, x.ptr, self.ind.ptr, outer, d,
                                                self.ind.size, inner)
        return y

    def backward(self, dy):
        dx = CTensor._new(self.x_shape, dy.dtype, dy.device)
        outer, d, inner = self.view
        if dx.size:
            backend.kernel("gather_backward", dy)(dx.ptr, dy.ptr, self.ind.ptr, outer, d,
                                                  self.ind.size, inner)
        return dx


def gather(x, axis: int, indices):
    """Take the entries ``indices`` of x along ``axis`` (ONNX Gather; differentiable)."""
    return Gather(axis, indices)(x)[0]


# ---------------------------------------------------------------------- pad
def pad_positions(mode: str, dim: int, begin: int, end: int) -> list[int]:
    """For each position along a padded axis, the source position (or -1 for
    the constant): what the kernels' ``pad_source_one`` (minisinga/c/pointwise.h)
    computes, written in Python.  reflect mirrors without repeating the edge, as
    np.pad's 'reflect' (period 2 (dim - 1)); edge repeats the edge element."""
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


class Pad(engine.Operation):
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

    def forward(self, x):
        check_float("pad", x, names=["x"])
        shape, ndim = x.shape, len(x.shape)
        if len(self.pads) != 2 * ndim:
            raise ValueError(f"pad: pads must have 2 * ndim = {2 * ndim} entries for x of shape "
                             f"{shape} ([begin_0, ..., end_0, ...]), got {len(self.pads)}")
        self.begins, ends = self.pads[:ndim], self.pads[ndim:]
        out = [b + d + e for b, d, e in zip(self.begins, shape, ends)]
        _check_int32_size("pad", out)
        for a, d in enumerate(shape):
            if d == 0 and self.mode != "constant" and self.begins[a] + ends[a] > 0:
                raise ValueError(f"pad: cannot {self.mode}-pad axis {a} of size 0 (x {shape})")
        self.x_shape = shape
        # output position o of axis d reads x's position o - begin (pad's mode outside x)
        return _window_copy(x, out, [-b for b in self.begins], [1] * ndim, self.mode,
                            self.constant)

    def backward(self, dy):
        if self.mode == "constant":  # the window of dy where x sits; the padding's dy is dropped
            return _window_copy(dy, self.x_shape, self.begins, [1] * len(self.x_shape))
        # edge and reflect: one padded axis at a time, each sums the copies of its positions
        dx = dy
        for a, (d, b) in enumerate(zip(self.x_shape, self.begins)):
            ydim = dx.shape[a]
            if ydim == d:
                continue  # not padded
            g = CTensor._new(dx.shape[:a] + (d,) + dx.shape[a + 1:], dx.dtype, dx.device)
            outer, _, inner = three_d_view(dx.shape, a)
            if g.size:
                backend.kernel("pad_backward", dx)(g.ptr, dx.ptr, outer, d, ydim, inner, b,
                                                   _PAD_MODES[self.mode])
            dx = g
        return dx.clone() if dx is dy else dx


def pad(x, mode: str, pads, constant: float = 0.0):
    """Pad x (ONNX Pad; modes constant, reflect, edge; differentiable)."""
    return Pad(mode, pads, constant)(x)[0]


# ------------------------------------------------------- tile, expand, upsample
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


def depth_to_space(x, blocksize: int, mode: str = "DCR"):
    """(N, C, H, W) -> (N, C/b^2, H b, W b), DCR or CRD order (differentiable)."""
    return DepthToSpace(blocksize, mode)(x)[0]


def space_to_depth(x, blocksize: int, mode: str = "DCR"):
    """(N, C, H, W) -> (N, C b^2, H/b, W/b), DCR or CRD order (differentiable)."""
    return SpaceToDepth(blocksize, mode)(x)[0]


# ---------------------------------------------------------------------- scatter_elements
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
        # host data is converted (and checked) now, a Tensor when the forward runs
        self.indices = indices if isinstance(indices, Tensor) else \
            checks.int_array("scatter_elements", "indices", indices)
        self.axis = axis

    def targets(self, x: CTensor) -> CTensor:
        """The flat position in x of each update, as an int32 CTensor on x's
        device, built and checked there (kernels: count_out_of_range,
        scatter_targets, count_repeats)."""
        ind = _index_ctensor("scatter_elements", "indices", self.indices, x.device)
        shape, ndim = x.shape, len(x.shape)
        axis = normalize_axis("scatter_elements", self.axis, ndim)
        if len(ind.shape) != ndim or any(ind.shape[a] > shape[a] for a in range(ndim)
                                         if a != axis):
            raise ValueError(f"scatter_elements: indices of shape {ind.shape} must have x's rank "
                             f"{ndim} and fit in x {shape} off axis {axis}")
        d = shape[axis]
        bad = first_out_of_range(ind, -d, d)
        if bad is not None:
            raise ValueError(f"scatter_elements: index {bad} is out of range for axis {axis} of "
                             f"size {d} (expected -{d} <= index < {d})")
        idx = CTensor._new(ind.shape, dtypes.int32, x.device)
        if idx.size:
            backend.kernel("scatter_targets", idx)(
                idx.ptr, ind.ptr, _int64s(ind.shape), _int64s(backend.contiguous_strides(shape)),
                axis, ndim, d)
            with graph.paused(x.device):  # a check: not recorded (see _util.count)
                seen = backend.full(shape, 0, dtypes.int32, x.device)
            if count("count_repeats", idx, idx.size, seen.ptr, seen.size):
                raise ValueError("scatter_elements: two updates target the same element of x; "
                                 "the result would depend on their order")
        return idx

    def forward(self, x, updates):
        check_float("scatter_elements", x, updates, names=["x", "updates"])
        _check_int32_size("scatter_elements", x.shape)
        if updates.shape != tuple(self.indices.shape):
            raise ValueError(f"scatter_elements: updates has shape {updates.shape} but indices "
                             f"has shape {tuple(self.indices.shape)}; they must be equal")
        self.idx = self.targets(x)
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


def scatter_elements(x, indices, updates, axis: int = 0):
    """A copy of x with ``updates`` written at ``indices`` along ``axis`` (ONNX
    ScatterElements; differentiable in x and updates, which may be a Tensor or an
    array)."""
    if not isinstance(updates, Tensor):
        dtype = x.dtype if isinstance(x, Tensor) else None
        updates = Tensor(data=updates, dtype=dtype, requires_grad=False)
    return ScatterElements(indices, axis)(x, updates)[0]


# ---------------------------------------------------------------------- embedding
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
        bad = first_out_of_range(x, 0, vocab)  # one count back from the device
        if bad is not None:
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


def embedding(x, w):
    """Rows of w (vocab, dim) picked by the int32 indices x -> x.shape + (dim,)
    (differentiable in w)."""
    return Embedding()(x, w)[0]


# ---------------------------------------------------------------------- onehot
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
        # values and depth are small host data (a Tensor's is read once, here)
        if isinstance(values, Tensor):
            values = host_values(values.data)
        elif hasattr(values, "reshape"):  # an ndarray, of any shape
            values = values.reshape(-1).tolist()
        values = checks.int_sequence("onehot", "values", values, "a list [off, on]")
        if len(values) != 2:
            raise ValueError(f"onehot: values must be [off, on], got {list(values)}")
        for what, v in zip(("off", "on"), values):
            checks.number("onehot", f"values ({what})", v)
        if isinstance(depth, Tensor):
            depth = host_values(depth.data)[0]
        if dtypes.is_number(depth) and not dtypes.is_int(depth) and float(depth).is_integer():
            depth = int(depth)
        if not dtypes.is_int(depth) or depth < 1:
            raise ValueError(f"onehot: depth must be a whole number >= 1, got {depth!r}")
        self.axis, self.depth = axis, int(depth)
        self.off, self.on = float(values[0]), float(values[1])

    def forward(self, indices):
        ndim = len(indices.shape)
        axis = normalize_axis("onehot", self.axis, ndim + 1)
        ind_t = _index_ctensor("onehot", "indices", indices, indices.device)
        d = self.depth
        bad = first_out_of_range(ind_t, -d, d)
        if bad is not None:
            raise ValueError(f"onehot: index {bad} is outside [-{d}, {d}) for depth {d}")
        dtype = indices.dtype if indices.dtype in dtypes.FLOAT_TYPES else dtypes.float32
        outer = math.prod(indices.shape[:axis])
        inner = math.prod(indices.shape[axis:])
        y = CTensor(indices.shape[:axis] + (d,) + indices.shape[axis:], dtype, indices.device)
        backend.kernel("onehot_forward", y)(y.ptr, ind_t.ptr, self.off, self.on, outer, d, inner)
        return y


def onehot(axis: int, indices, depth: int, values):
    """One-hot encode ``indices`` along a new axis (ONNX OneHot; no gradient)."""
    return OneHot(axis, depth, values)(indices)[0]


# ---------------------------------------------------------------------- cast
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
            # a kernel counts the values that do not fit; one number comes back
            bad = count("count_not_int32", x, x.size, 0)
            if bad:
                raise ValueError(f"cast: x holds NaN, an infinity or a value outside the int32 "
                                 f"range ({bad} of its {x.size} values); it cannot be cast to "
                                 f"int32")
        if x.dtype == self.to:
            return x.clone()
        return backend.cast(x, self.to)

    def backward(self, dy):
        return dy if dy.dtype == self.x_dtype else backend.cast(dy, self.x_dtype)


def cast(x, to):
    """x converted to the element type ``to`` (float to float: differentiable)."""
    return Cast(to)(x)[0]


# ---------------------------------------------------------------------- shape, constant_of_shape
class Shape(_Constant):
    r"""The shape of x as a 1-D int32 tensor: ``shape(x)``.

    Forward: $y = (d_0, d_1, \ldots)$
    No gradient: the shape does not depend on the values
    Derivation: ops/indexing.md#shape
    """

    no_grad_reason = "the shape does not depend on the values"

    def forward(self, x):
        # metadata, moved in from Python: no computation to do
        return CTensor.from_numpy(checks.int_array("shape", "x.shape", list(x.shape)),
                                  dtypes.int32, x.device)


def shape(x):
    """The shape of x as a 1-D int32 tensor (no gradient)."""
    return Shape()(x)[0]


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
            value = host_values(value.data)[0]
        self.value = checks.number("constant_of_shape", "value", value)

    def forward(self, x):
        if len(x.shape) != 1:
            raise ValueError(f"constant_of_shape: x must be a 1-D tensor holding a shape, got a "
                             f"tensor of shape {x.shape}")
        # the shape is needed on the host: it sizes the output
        dims = checks.int_array("constant_of_shape", "x", host_values(x)).tolist()
        if any(d < 0 for d in dims):
            raise ValueError(f"constant_of_shape: sizes must be >= 0, got {dims}")
        return backend.full(tuple(dims), self.value, dtypes.float32, x.device)


def constant_of_shape(x, value: float = 0.0):
    """A float32 tensor of the shape held by x, filled with ``value`` (no gradient)."""
    return ConstantOfShape(value)(x)[0]


# ---------------------------------------------------------------------- nonzero
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


def nonzero(x):
    """The (ndim, count) int32 indices of x's nonzero elements (no gradient)."""
    return NonZero()(x)[0]
