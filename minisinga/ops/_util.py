"""Checks shared by the operation modules: every one raises before C runs."""
from __future__ import annotations

from .. import backend, checks, dtypes
from ..ctensor import CTensor
from ..device import get_default_device


def check_float(opname: str, *xs: CTensor, names=None) -> None:
    """Inputs must be float32 or float64, all of one dtype, on one device."""
    first = xs[0]
    # NOTE: every operation calls this; the usual answer (all fine) takes one
    # comparison per input, and the loop below only runs to name what is wrong.
    ok = first.dtype in dtypes.FLOAT_TYPES
    for x in xs:
        if x.dtype != first.dtype or x.device is not first.device:
            ok = False
    if ok:
        return
    names = names or [f"input {i}" for i in range(len(xs))]
    for name, x in zip(names, xs):
        if x.dtype not in dtypes.FLOAT_TYPES:
            raise TypeError(f"{opname}: {name} must be float32 or float64, got "
                            f"{dtypes.name(x.dtype)} (shape {x.shape})")
        if x.dtype != first.dtype:
            raise TypeError(f"{opname}: {names[0]} is {dtypes.name(first.dtype)} but {name} is "
                            f"{dtypes.name(x.dtype)}; cast one with Tensor.as_type")
        if x.device is not first.device:
            raise checks.device_mismatch(opname, names[0], first.device, name, x.device)


def normalize_axis(opname: str, axis, ndim: int, argname: str = "axis") -> int:
    """An axis in [-ndim, ndim) as a non-negative int."""
    if not dtypes.is_int(axis):
        raise TypeError(f"{opname}: {argname} must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{opname}: {argname}={axis} is out of range for a tensor with "
                         f"{ndim} dimensions (expected -{ndim} <= {argname} < {ndim})")
    return axis + ndim if axis < 0 else axis


def normalize_axes(opname: str, axes, ndim: int, argname: str = "axes") -> list[int]:
    """A list of distinct axes (ints or one int), each normalised."""
    axes = [axes] if dtypes.is_int(axes) else checks.int_sequence(opname, argname, axes,
                                                                      "an int or a list of ints")
    out = [normalize_axis(opname, a, ndim, argname) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{opname}: {argname}={list(axes)} repeats an axis")
    return sorted(out)


def three_d_view(shape, axis: int) -> tuple[int, int, int]:
    """(outer, mid, inner) such that ``axis`` is the middle one."""
    outer = 1
    for d in shape[:axis]:
        outer *= d
    inner = 1
    for d in shape[axis + 1:]:
        inner *= d
    return outer, shape[axis], inner


def int32_operands(opname: str, a: CTensor, b: CTensor, int_kernel: bool):
    """The operands of a binary operation where one of them is int32.

    Two int32 operands stay int32 when the operation has an int32 kernel
    (``int_kernel``: +, -, *, the comparisons); else (/, **) both become
    float32.  An int32 operand beside a float one is cast to that float type
    (``int32 + float32`` is float32, as in NumPy).  Returns (a, b)."""
    if a.device is not b.device:
        raise ValueError(f"{opname}: a is on {a.device} but b is on {b.device}; move one "
                         f"with to_device")
    if a.dtype == dtypes.int32 and b.dtype == dtypes.int32:
        if int_kernel:
            return a, b
        return backend.cast(a, dtypes.float32), backend.cast(b, dtypes.float32)
    if a.dtype == dtypes.int32:
        return backend.cast(a, b.dtype), b
    return a, backend.cast(b, a.dtype)


def host_values(t: CTensor) -> list:
    """The values of ``t`` as a flat Python list, copied from its device: for
    error messages (the bad index), never for the computation."""
    host = t if t.device.is_cpu() else backend.copy_to_device(t, get_default_device())
    return host.numpy().reshape(-1).tolist()


def count(name: str, t: CTensor, *args) -> int:
    """The number a count kernel (``count_out_of_range``, ``count_not_int32``,
    ``count_repeats``) returns for ``t``: a check, run before the compute kernels.
    In graph mode it runs while the step is recorded and is not recorded itself,
    so a replay does not wait for the device to hand back a number (the values
    of a replayed step are not checked again, as graph.py says)."""
    from .. import backend, graph
    with graph.paused(t.device):
        return backend.kernel(name, t)(t.ptr, *args)


def first_out_of_range(idx: CTensor, lo: int, hi: int):
    """None when every int32 index in ``idx`` lies in [lo, hi), else the first
    one that does not.  The kernel ``count_out_of_range`` counts on the device
    and brings back one number (no copy of the indices); only on the error path
    are the indices copied to the host, to name the bad one."""
    if idx.size == 0 or count("count_out_of_range", idx, idx.size, lo, hi) == 0:
        return None
    return next(v for v in host_values(idx) if not lo <= v < hi)
