"""Shape operations: reshape, flatten, transpose, squeeze, unsqueeze, cat, split.

reshape, flatten, squeeze and unsqueeze return views that share the input's
memory (no kernel runs); transpose, cat and split copy with the strided and
block-copy kernels of storage.c.  Derivations: docs/ops/shapes.md."""
from __future__ import annotations

import math

from .. import backend, checks, dtypes, engine
from .._tensor import Tensor, normalize_perm
from ..ctensor import CTensor
from ._util import normalize_axes, normalize_axis

__all__ = ["Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split",
           "reshape", "flatten", "transpose", "squeeze", "unsqueeze", "cat", "split"]


def resolve_shape(opname: str, in_shape, shape) -> tuple[int, ...]:
    """ONNX reshape rules: 0 copies the input's dimension, one -1 is inferred."""
    try:
        bad = [s for s in shape if not dtypes.is_int(s)]
    except TypeError:
        bad = [shape]
    if bad:  # NOTE: int(2.7) would silently truncate; refuse instead
        raise TypeError(f"{opname}: shape must be a sequence of ints, got {shape!r}")
    shape = [int(s) for s in shape]
    out = [in_shape[i] if s == 0 and i < len(in_shape) else s for i, s in enumerate(shape)]
    if out.count(-1) > 1 or any(s < -1 for s in out):
        raise ValueError(f"{opname}: shape {tuple(shape)} may hold at most one -1 and no other "
                         "negative value")
    size = math.prod(in_shape)
    if -1 in out:
        known = math.prod(s for s in out if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"{opname}: cannot infer -1 in {tuple(shape)} for an input of "
                             f"shape {tuple(in_shape)} ({size} elements)")
        out[out.index(-1)] = size // known
    if math.prod(out) != size:
        raise ValueError(f"{opname}: cannot reshape {tuple(in_shape)} ({size} elements) to "
                         f"{tuple(out)}")
    return tuple(out)


class _View(engine.Operation):
    """A reshape of some kind: forward views x in a new shape, backward views dy back.

    Not an operation: the shared base of reshape, flatten, squeeze and unsqueeze.
    """

    def new_shape(self, shape):
        raise NotImplementedError

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.new_shape(x.shape))

    def backward(self, dy):
        return dy.reshape(self.x_shape)


class Reshape(_View):
    r"""New shape, same elements: ``reshape(x, shape)`` (0 keeps a dimension, one -1 inferred).

    Forward: $y = x$ viewed with a new shape
    Grad x: $\bar{x} = \bar{y}$ viewed with the shape of $x$
    Derivation: ops/shapes.md#reshape
    """

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def new_shape(self, shape):
        return resolve_shape("reshape", shape, self.shape)


class Flatten(_View):
    r"""To 2-D, splitting the axes at ``axis``: ``flatten(x, axis=1)``.

    Forward: $y$ = x viewed as $(\prod_{i<axis} d_i, \prod_{i \ge axis} d_i)$
    Grad x: $\bar{x} = \bar{y}$ viewed with the shape of $x$
    Derivation: ops/shapes.md#flatten
    """

    def __init__(self, axis: int = 1):
        super().__init__()
        self.axis = axis

    def new_shape(self, shape):
        ndim = len(shape)
        if not dtypes.is_int(self.axis) or not -ndim <= self.axis <= ndim:
            raise ValueError(f"flatten: axis={self.axis!r} out of range for shape {shape} "
                             f"(expected {-ndim} <= axis <= {ndim})")
        axis = int(self.axis) + ndim if self.axis < 0 else int(self.axis)
        return (math.prod(shape[:axis]), math.prod(shape[axis:]))


class Squeeze(_View):
    r"""Remove size-1 axes (all of them, or those listed): ``squeeze(x, axis=None)``.

    Forward: $y = x$ without the listed size-1 axes
    Grad x: $\bar{x} = \bar{y}$ viewed with the shape of $x$
    Derivation: ops/shapes.md#squeeze
    """

    def __init__(self, axis=None):
        super().__init__()
        self.axis = axis

    def new_shape(self, shape):
        if self.axis is None or (isinstance(self.axis, (list, tuple)) and not self.axis):
            return tuple(d for d in shape if d != 1)
        axes = normalize_axes("squeeze", self.axis, len(shape), "axis")
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has size {shape[a]}, not 1")
        return tuple(d for i, d in enumerate(shape) if i not in axes)


class Unsqueeze(_View):
    r"""Insert size-1 axes at the given output positions: ``unsqueeze(x, axis)``
    (an int or a list; SINGA crashes on an int).

    Forward: $y = x$ with new size-1 axes
    Grad x: $\bar{x} = \bar{y}$ viewed with the shape of $x$
    Derivation: ops/shapes.md#unsqueeze
    """

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def new_shape(self, shape):
        axes = [self.axis] if dtypes.is_int(self.axis) else \
            checks.int_sequence("unsqueeze", "axis", self.axis, "an int or a list of ints")
        out_ndim = len(shape) + len(axes)
        axes = normalize_axes("unsqueeze", axes, out_ndim, "axis")
        out, it = [], iter(shape)
        for i in range(out_ndim):
            out.append(1 if i in axes else next(it))
        return tuple(out)


class Transpose(engine.Operation):
    r"""Permute the axes: ``transpose(x, perm)`` (reversed when perm is None).

    Forward: $y_{i_{p_0} \ldots i_{p_{k}}} = x_{i_0 \ldots i_k}$, i.e. axis $j$ of y is axis $p_j$ of x
    Grad x: $\bar{x}$ = $\bar{y}$ transposed by the inverse permutation
    Derivation: ops/shapes.md#transpose
    """

    def __init__(self, perm=None):
        super().__init__()
        self.perm = perm

    def forward(self, x):
        try:
            self.p = normalize_perm(self.perm, len(x.shape), "perm")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"transpose: {exc} for x of shape {x.shape}") from None
        return backend.transpose(x, self.p)

    def backward(self, dy):
        inverse = [0] * len(self.p)
        for i, p in enumerate(self.p):
            inverse[p] = i
        return backend.transpose(dy, inverse)


class Concat(engine.Operation):
    r"""Join tensors along an axis: ``cat(xs, axis=0)`` (negative axis allowed).

    Forward: $y = [x_1, x_2, \ldots]$ along axis
    Grad xs: $\bar{x}_i$ = the slice of $\bar{y}$ that $x_i$ filled
    Derivation: ops/shapes.md#cat
    """

    def __init__(self, axis: int = 0):
        super().__init__()
        self.axis = axis

    def forward(self, *xs):
        if not xs:
            raise ValueError("cat: needs at least one tensor")
        first = xs[0]
        axis = normalize_axis("cat", self.axis, len(first.shape))
        for i, x in enumerate(xs):
            if x.dtype != first.dtype or x.device is not first.device:
                raise TypeError(f"cat: tensor {i} differs from tensor 0 in dtype or device")
            if len(x.shape) != len(first.shape) or any(
                    a != b for j, (a, b) in enumerate(zip(x.shape, first.shape)) if j != axis):
                raise ValueError(f"cat: tensor {i} has shape {x.shape}, which does not match "
                                 f"tensor 0's {first.shape} outside axis {axis}")
        outer = math.prod(first.shape[:axis])
        inner = math.prod(first.shape[axis + 1:])
        total = sum(x.shape[axis] for x in xs)
        y = CTensor(first.shape[:axis] + (total,) + first.shape[axis + 1:], first.dtype,
                    first.device)
        self.widths = [x.shape[axis] * inner for x in xs]
        self.shapes = [x.shape for x in xs]
        self.outer, self.ny = outer, total * inner
        offset = 0
        copy = backend.kernel("copy_block", first)
        for x, w in zip(xs, self.widths):
            if y.size:
                copy(y.ptr, x.ptr, outer, self.ny, w, offset)
            offset += w
        return y

    def backward(self, dy):
        take = backend.kernel("take_block", dy)
        dxs, offset = [], 0
        for shape, w in zip(self.shapes, self.widths):
            dx = CTensor(shape, dy.dtype, dy.device)
            if dx.size:
                take(dx.ptr, dy.ptr, self.outer, w, self.ny, offset)
            dxs.append(dx)
            offset += w
        return tuple(dxs)


class Split(engine.Operation):
    r"""Split along an axis into pieces of the given lengths (or ``num_output``
    equal pieces): ``split(x, axis, parts, num_output=None)``; returns a tuple.

    Forward: $y_k$ = the $k$-th slice of $x$ along axis
    Grad x: $\bar{x} = [\bar{y}_1, \bar{y}_2, \ldots]$ joined along axis
    Derivation: ops/shapes.md#split
    """

    def __init__(self, axis: int, parts=None, num_output=None):
        super().__init__()
        self.axis, self.parts, self.num_output = axis, parts, num_output

    def forward(self, x):
        axis = normalize_axis("split", self.axis, len(x.shape))
        size = x.shape[axis]
        parts = self.parts
        if parts is None:
            n = self.num_output
            if not dtypes.is_int(n) or n < 1 or size % n:
                raise ValueError(f"split: cannot split axis {axis} of size {size} into "
                                 f"num_output={self.num_output} equal parts")
            parts = [size // int(n)] * int(n)
        if not isinstance(parts, (list, tuple)) or not parts or any(
                not dtypes.is_int(p) for p in parts):
            raise TypeError(f"split: parts must be a non-empty list of ints, got {parts!r}")
        parts = [int(p) for p in parts]
        if any(p < 0 for p in parts) or sum(parts) != size:
            raise ValueError(f"split: parts {parts} must be >= 0 and sum to {size}, the size of "
                             f"axis {axis} of x {x.shape}")
        outer = math.prod(x.shape[:axis])
        inner = math.prod(x.shape[axis + 1:])
        self.x_shape, self.outer, self.nx = x.shape, outer, size * inner
        self.widths = [p * inner for p in parts]
        take = backend.kernel("take_block", x)
        ys, offset = [], 0
        for p, w in zip(parts, self.widths):
            y = CTensor(x.shape[:axis] + (p,) + x.shape[axis + 1:], x.dtype, x.device)
            if y.size:
                take(y.ptr, x.ptr, outer, w, self.nx, offset)
            ys.append(y)
            offset += w
        return tuple(ys)

    def backward(self, *dys):
        dx = CTensor(self.x_shape, dys[0].dtype, dys[0].device)
        copy = backend.kernel("copy_block", dx)
        offset = 0
        for dy, w in zip(dys, self.widths):
            if dy.size:
                copy(dx.ptr, dy.ptr, self.outer, self.nx, w, offset)
            offset += w
        return dx


def reshape(x, shape):
    """x with a new shape (0 keeps a dimension, one -1 is inferred); shares memory."""
    return Reshape(shape)(x)[0]


def flatten(x, axis: int = 1):
    """x as a 2-D tensor (prod(shape[:axis]), prod(shape[axis:])); shares memory."""
    return Flatten(axis)(x)[0]


def transpose(x, perm=None):
    """x with its axes permuted by ``perm`` (reversed when None); a copy."""
    return Transpose(perm)(x)[0]


def squeeze(x, axis=None):
    """x without size-1 axes (all, or those in ``axis``); shares memory."""
    return Squeeze(axis)(x)[0]


def unsqueeze(x, axis):
    """x with size-1 axes inserted at ``axis`` (an int or a list); shares memory."""
    return Unsqueeze(axis)(x)[0]


def cat(xs, axis: int = 0):
    """Concatenate a list of tensors along ``axis``."""
    if isinstance(xs, Tensor):
        raise TypeError("cat: xs must be a list or tuple of Tensors, got one Tensor")
    return Concat(axis)(*xs)[0]


def split(x, axis: int, parts=None, num_output=None):
    """Split x along ``axis`` into pieces of lengths ``parts`` (or ``num_output`` equal
    pieces); returns a tuple of Tensors."""
    return Split(axis, parts, num_output)(x)
