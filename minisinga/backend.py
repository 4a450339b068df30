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
    """An uninitialised CTensor."""
    return CTensor(shape, dtype, device)


def fill(t: CTensor, value) -> CTensor:
    """t[:] = value, in place."""
    kernel("fill", t.dtype)(t.ptr, value, t.size)
    return t


def full(shape, value, dtype: int, device) -> CTensor:
    return fill(CTensor(shape, dtype, device), value)


def copy_into(dst: CTensor, src: CTensor) -> CTensor:
    """dst[:] = src[:] (same size), casting between element types if needed."""
    if dst.dtype == src.dtype:
        kernel("copy", dst.dtype)(dst.ptr, src.ptr, dst.size)
    else:
        kernel(f"cast_from_{dtypes.suffix(src.dtype)}", dst.dtype)(dst.ptr, src.ptr, dst.size)
    return dst


def cast(t: CTensor, dtype: int) -> CTensor:
    """A copy of ``t`` in element type ``dtype`` (floats to int32 truncate)."""
    return copy_into(CTensor(t.shape, dtype, t.device), t)


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
    out = CTensor(out_shape, t.dtype, t.device)
    if out.size:
        ndim = len(out.shape)
        shape_arr = ffi.new("int64_t[]", list(out.shape) or [1])
        stride_arr = ffi.new("int64_t[]", list(strides) or [0])
        kernel("strided_copy", t.dtype)(out.ptr, t.ptr, shape_arr, stride_arr, ndim)
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
    kernel("random_uniform", t.dtype)(t.ptr, t.size, low, high, seed, offset)
    return t


def random_gaussian(t: CTensor, mean: float, std: float) -> CTensor:
    seed, offset = t.device.next_random_block(t.size)
    kernel("random_gaussian", t.dtype)(t.ptr, t.size, mean, std, seed, offset)
    return t


def random_bernoulli(t: CTensor, p: float) -> CTensor:
    seed, offset = t.device.next_random_block(t.size)
    kernel("random_bernoulli", t.dtype)(t.ptr, t.size, p, seed, offset)
    return t


def numel(shape) -> int:
    return math.prod(shape)
