"""Thin Python functions over the C kernels, on CTensors.

Each function here checks nothing the caller has not checked, allocates the
output, and calls one C function.  Python owns shapes: strides for transposes
and broadcasts are computed here and handed to C as plain arrays.
"""
from __future__ import annotations

import math

from . import dtypes
from ._lib import ffi, kernel
from .ctensor import CTensor


def empty(shape, dtype: int, device) -> CTensor:
    """An uninitialised CTensor (``shape`` already checked)."""
    return CTensor._new(tuple(shape), dtype, device)


def fill(t: CTensor, value) -> CTensor:
    """t[:] = value, in place."""
    kernel("fill", t)(t.ptr, value, t.size)
    return t


def full(shape, value, dtype: int, device) -> CTensor:
    """A new CTensor of ``shape`` (already checked) filled with ``value``."""
    return fill(CTensor._new(tuple(shape), dtype, device), value)


# The cast kernel that reads each source element type (written out for grep).
_CAST_KERNELS = {dtypes.float32: "cast_from_f32", dtypes.float64: "cast_from_f64",
                 dtypes.int32: "cast_from_i32"}


def copy_into(dst: CTensor, src: CTensor) -> CTensor:
    """dst[:] = src[:] (same size), casting between element types if needed."""
    if dst.dtype == src.dtype:
        kernel("copy", dst)(dst.ptr, src.ptr, dst.size)
    else:
        kernel(_CAST_KERNELS[src.dtype], dst)(dst.ptr, src.ptr, dst.size)
    return dst


def cast(t: CTensor, dtype: int) -> CTensor:
    """A copy of ``t`` in element type ``dtype``.

    Floats to int32 truncate toward zero and saturate at the int32 range;
    NaN becomes 0 (the cast kernels spell this out: a bare C cast is undefined)."""
    return copy_into(CTensor._new(t.shape, dtype, t.device), t)


def contiguous_strides(shape) -> list[int]:
    """Element strides of a compact array of ``shape``."""
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def strided_copy(t: CTensor, out_shape, strides) -> CTensor:
    """out[idx] = t.flat[sum(idx * strides)]: the one kernel behind transposes
    (permuted strides) and broadcasts (zero strides)."""
    out = CTensor._new(tuple(out_shape), t.dtype, t.device)
    if out.size:
        ndim = len(out.shape)
        shape_arr = ffi.new("int64_t[]", list(out.shape) or [1])
        stride_arr = ffi.new("int64_t[]", list(strides) or [0])
        kernel("strided_copy", t)(out.ptr, t.ptr, shape_arr, stride_arr, ndim)
    return out


def transpose(t: CTensor, perm) -> CTensor:
    """A compact copy of ``t`` with its axes permuted (``perm`` already checked)."""
    src = contiguous_strides(t.shape)
    return strided_copy(t, [t.shape[p] for p in perm], [src[p] for p in perm])


def broadcast_to(t: CTensor, shape) -> CTensor:
    """A compact copy of ``t`` broadcast to ``shape`` (NumPy rules, checked by the caller)."""
    shape = tuple(shape)
    if t.shape == shape:
        return t
    lead = len(shape) - len(t.shape)
    src = contiguous_strides(t.shape)
    strides = [0] * lead + [0 if t.shape[i] == 1 else src[i] for i in range(len(t.shape))]
    return strided_copy(t, shape, strides)


def random_uniform(t: CTensor, low: float, high: float) -> CTensor:
    seed, offset = t.device.next_random_block(t.size)
    kernel("random_uniform", t)(t.ptr, t.size, low, high, seed, offset)
    return t


def random_gaussian(t: CTensor, mean: float, std: float) -> CTensor:
    seed, offset = t.device.next_random_block(t.size)
    kernel("random_gaussian", t)(t.ptr, t.size, mean, std, seed, offset)
    return t


def random_bernoulli(t: CTensor, p: float) -> CTensor:
    seed, offset = t.device.next_random_block(t.size)
    kernel("random_bernoulli", t)(t.ptr, t.size, p, seed, offset)
    return t


def numel(shape) -> int:
    return math.prod(shape)


# -- elementwise helpers used by the operations ---------------------------------------------
def unary(name: str, x: CTensor, *scalars) -> CTensor:
    """y = name(x, *scalars): calls the C kernel ``name`` as (y, x, *scalars, n)."""
    y = CTensor._new(x.shape, x.dtype, x.device)
    kernel(name, x)(y.ptr, x.ptr, *scalars, x.size)
    return y


def binary(name: str, a: CTensor, b: CTensor) -> CTensor:
    """y = name(a, b) on two CTensors of the same shape: (y, a, b, n)."""
    y = CTensor._new(a.shape, a.dtype, a.device)
    kernel(name, a)(y.ptr, a.ptr, b.ptr, a.size)
    return y


def grad_kernel(name: str, dy: CTensor, *saved, scalars=()) -> CTensor:
    """dx = name(dy, *saved, *scalars): a backward kernel writing one gradient."""
    dx = CTensor._new(dy.shape, dy.dtype, dy.device)
    kernel(name, dy)(dx.ptr, dy.ptr, *[s.ptr for s in saved], *scalars, dy.size)
    return dx


def add(a: CTensor, b: CTensor) -> CTensor:
    """a + b (same shape)."""
    return binary("add_forward", a, b)


def mul(a: CTensor, b: CTensor) -> CTensor:
    """a * b (same shape)."""
    return binary("mul_forward", a, b)


def affine(x: CTensor, alpha: float, beta: float = 0.0) -> CTensor:
    """alpha * x + beta."""
    return unary("affine_forward", x, alpha, beta)


def scale(x: CTensor, alpha: float) -> CTensor:
    """alpha * x."""
    return unary("affine_forward", x, alpha, 0.0)


def axpy(y: CTensor, x: CTensor, alpha: float) -> CTensor:
    """y += alpha * x, in place."""
    kernel("axpy", y)(y.ptr, x.ptr, alpha, y.size)
    return y


def broadcast_shape(a, b, opname: str = "broadcast") -> tuple[int, ...]:
    """NumPy's broadcasting rule for two shapes, with an error naming the op."""
    if a == b:
        return tuple(a)
    ndim = max(len(a), len(b))
    pa = (1,) * (ndim - len(a)) + tuple(a)
    pb = (1,) * (ndim - len(b)) + tuple(b)
    out = []
    for da, db in zip(pa, pb):
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise ValueError(f"{opname}: shapes {tuple(a)} and {tuple(b)} cannot be broadcast "
                             "together (each dimension must match or be 1)")
    return tuple(out)


def reduce_sum(x: CTensor, outer: int, mid: int, inner: int, scale: float = 1.0) -> CTensor:
    """Sum (times ``scale``) over the middle axis of x viewed as (outer, mid, inner)."""
    y = CTensor._new((outer, inner), x.dtype, x.device)
    kernel("reduce_sum_forward", x)(y.ptr, x.ptr, outer, mid, inner, scale)
    return y


def sum_to_shape(dy: CTensor, shape) -> CTensor:
    """Sum ``dy`` over the axes that broadcasting expanded, giving ``shape``.

    The backward of every broadcasting operation: if x of ``shape`` was
    broadcast to dy's shape, dL/dx sums dL/dy over the copies."""
    shape = tuple(shape)
    if dy.shape == shape:
        return dy
    lead = len(dy.shape) - len(shape)
    padded = (1,) * lead + shape
    # Reduce each maximal run of adjacent broadcast axes with one kernel call.
    cur = dy
    cur_shape = list(dy.shape)
    axis = 0
    while axis < len(cur_shape):
        if padded[axis] == 1 and cur_shape[axis] != 1:
            end = axis
            while end < len(cur_shape) and padded[end] == 1 and cur_shape[end] != 1:
                end += 1
            outer = math.prod(cur_shape[:axis])
            mid = math.prod(cur_shape[axis:end])
            inner = math.prod(cur_shape[end:])
            cur = reduce_sum(cur, outer, mid, inner)
            cur_shape = cur_shape[:axis] + [1] * (end - axis) + cur_shape[end:]
            axis = end
        else:
            axis += 1
    return cur._view(shape)


def copy_to_device(ct: CTensor, dev) -> CTensor:
    """A copy of the CTensor ``ct`` in ``dev``'s memory (CPU or GPU, either way)."""
    out = CTensor(ct.shape, ct.dtype, dev)
    if ct.device.is_cpu() and dev.is_cpu():
        return copy_into(out, ct)
    nbytes = ct.nbytes()
    if ct.device.is_cpu():          # host -> GPU
        dev.copy_from_host(out._mem, ct._mem, nbytes)
    elif dev.is_cpu():              # GPU -> host
        ct.device.copy_to_host(out._mem, ct._mem, nbytes)
    else:                           # GPU -> GPU (the same one or another)
        dev.copy_from_device(out._mem, ct._mem, nbytes)
    return out
