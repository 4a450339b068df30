"""CTensor: the raw storage that operations see.

A CTensor is a compact (C-contiguous) block of memory plus its shape, element
type and device.  It has no autograd information; ``Tensor`` wraps one in its
``.data`` attribute.  The memory is allocated by the device (``ms_alloc`` on the
CPU, 64-byte aligned) and freed when the last Python reference to it goes
away: views made by ``reshape`` and ``numpy()`` hold a reference to the same
block, so it lives as long as any of them.
"""
from __future__ import annotations

import math

import numpy as np

from . import checks, dtypes
from ._lib import ffi, kernel
from .device import get_default_device

#: The cffi pointer type of each element type ("float *", ...), looked up once.
_POINTER = {code: ffi.typeof(dtypes.ctype(code) + " *") for code in dtypes.FLOAT_TYPES
            + (dtypes.int32,)}
#: Bytes per element of each element type.
_ITEMSIZE = {code: dtypes.itemsize(code) for code in _POINTER}
_cast = ffi.cast


def check_shape(shape, argname: str = "shape") -> tuple[int, ...]:
    """Validate a shape: an int or a sequence of ints >= 0."""
    # NOTE: the common case first, cheaply: a tuple of plain non-negative ints.
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes, bytearray)):   # b'1' would be the shape (49,)
        raise TypeError(f"{argname}: expected a tuple of ints, got {shape!r}")
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{argname}: expected a tuple of ints, got {shape!r}") from None
    for d in dims:
        if not dtypes.is_int(d):
            raise TypeError(f"{argname}: expected a tuple of ints, got {shape!r} "
                            f"(element {d!r} is a {type(d).__name__})")
        if d < 0:
            raise ValueError(f"{argname}: dimensions must be >= 0, got {shape!r}")
    return tuple(int(d) for d in dims)


class CTensor:
    """Compact memory with a shape, an element type and a device."""

    __slots__ = ("shape", "dtype", "device", "size", "_mem", "ptr")

    def __init__(self, shape, dtype: int = dtypes.float32, device=None, _mem=None):
        self._setup(check_shape(shape), dtypes.as_dtype(dtype),
                    device if device is not None else get_default_device(), _mem)

    def _setup(self, shape: tuple, dtype: int, device, mem) -> None:
        self.shape = shape
        self.dtype = dtype
        self.device = device
        self.size = math.prod(shape)
        if mem is None:
            mem = device.alloc(self.size * dtypes.itemsize(dtype))
        self._mem = mem  # owns the block (ffi.gc frees it)
        # A typed pointer, ready to pass to kernels; it borrows from _mem.
        self.ptr = ffi.cast(_POINTER[dtype], mem)

    @classmethod
    def _new(cls, shape: tuple, dtype: int, device, _mem=None) -> CTensor:
        """The constructor for minisinga's own code, which has checked its arguments
        already: ``shape`` a tuple of ints >= 0, ``dtype`` a code, ``device`` a Device.
        It skips the checks (they are most of the cost of a small tensor)."""
        # NOTE: ``_setup`` written out: this runs for every tensor an operation makes.
        t = cls.__new__(cls)
        t.shape = shape
        t.dtype = dtype
        t.device = device
        t.size = size = math.prod(shape)
        if _mem is None:
            _mem = device.alloc(size * _ITEMSIZE[dtype])
        t._mem = _mem
        t.ptr = _cast(_POINTER[dtype], _mem)
        return t

    def _view(self, shape: tuple) -> CTensor:
        """``reshape`` for minisinga's own code: ``shape`` is a checked tuple of
        the same size."""
        return CTensor._new(shape, self.dtype, self.device, self._mem)

    # -- conversion ---------------------------------------------------------------
    @classmethod
    def from_numpy(cls, arr: np.ndarray, dtype: int | None = None, device=None) -> CTensor:
        """A new CTensor holding a copy of ``arr`` (cast to ``dtype``)."""
        arr = np.asarray(arr)
        dtype = dtypes.from_numpy(arr.dtype) if dtype is None else dtypes.as_dtype(dtype)
        t = cls(arr.shape, dtype, device)
        t.copy_from_numpy(arr)
        return t

    def numpy(self) -> np.ndarray:
        """A zero-copy NumPy view of the memory (CPU only); it keeps the memory alive."""
        if not self.device.is_cpu():
            raise ValueError("numpy(): the tensor is on a GPU; call to_host() first")
        nbytes = self.size * dtypes.itemsize(self.dtype)
        buf = ffi.buffer(self._mem, nbytes)
        return np.frombuffer(buf, dtype=dtypes.to_numpy(self.dtype)).reshape(self.shape)

    def copy_from_numpy(self, arr: np.ndarray) -> None:
        """Copy ``arr`` (same number of elements) into this memory, casting it."""
        arr = checks.numpy_data("copy_from_numpy", "the array", np.asarray(arr))
        if arr.size != self.size:
            raise ValueError(f"copy_from_numpy: the array has {arr.size} elements "
                             f"(shape {arr.shape}) but the tensor has {self.size} "
                             f"(shape {self.shape})")
        target = dtypes.to_numpy(self.dtype)
        if self.dtype == dtypes.int32 and arr.dtype.kind in "iu" and arr.size:
            lo, hi = arr.min(), arr.max()
            if lo < -2**31 or hi > 2**31 - 1:
                raise ValueError("copy_from_numpy: integer values outside the int32 "
                                 f"range [{-2**31}, {2**31 - 1}] (got {lo}..{hi})")
        if self.dtype == dtypes.int32 and arr.dtype.kind == "f":
            raise TypeError("copy_from_numpy: refusing to truncate a float array "
                            f"({arr.dtype}) into an int32 tensor; cast it yourself")
        src = np.ascontiguousarray(arr, dtype=target)
        if self.size and self.device.is_cpu():
            ffi.memmove(self._mem, ffi.from_buffer(src), src.nbytes)
        elif self.size:  # a GPU: cudaMemcpy from the array's memory
            self.device.copy_from_host(self._mem, ffi.from_buffer(src), src.nbytes)

    # -- views and copies -------------------------------------------------------------
    def reshape(self, shape) -> CTensor:
        """A CTensor sharing this memory with another shape of the same size."""
        shape = check_shape(shape)
        if math.prod(shape) != self.size:
            raise ValueError(f"reshape: cannot view {self.size} elements "
                             f"(shape {self.shape}) as shape {shape}")
        return CTensor._new(shape, self.dtype, self.device, _mem=self._mem)

    def clone(self) -> CTensor:
        """A new CTensor with a copy of the data."""
        out = CTensor._new(self.shape, self.dtype, self.device)
        kernel("copy", self)(out.ptr, self.ptr, self.size)
        return out

    def nbytes(self) -> int:
        return self.size * dtypes.itemsize(self.dtype)

    def __repr__(self) -> str:
        return f"CTensor(shape={self.shape}, dtype={dtypes.name(self.dtype)}, device={self.device})"
