"""The CUDA GPU device: memory on a GPU, and the CUDA twins of the C kernels.

``minisinga._cuda`` (built from minisinga/cuda by minisinga/_build_cuda.py
when nvcc is found) holds, for every C kernel ``relu_forward_f32(T *y, const
T *x, int64_t n)``, a launcher of the same name and signature that takes
device pointers and launches ``relu_forward_kernel_f32`` on the GPU.  So a
``CudaGPU`` hands out those launchers from ``kernel(name, dtype)`` exactly as
the CPU hands out its C functions, and every operation runs unchanged on it.

What the GPU adds is here: which GPU is current, ``cudaMalloc``/``cudaFree``
memory freed when the last reference goes, copies to and from the host, and
errors.  Every CUDA call is checked in C; after each call Python asks whether
an error is waiting and raises it as ``RuntimeError("cudaMalloc failed: out of
memory ...")``.  A kernel that faults while running is reported by the next
call that waits for the GPU (a copy, ``sync()``), unless
``set_blocking_launches(True)`` makes every launch wait (slow; for debugging).

Without the module, or without a GPU, ``num_gpus()`` is 0 and asking for a
GPU raises a RuntimeError that says why.
"""
from __future__ import annotations

import functools
import gc
import threading

from . import dtypes
from ._lib import lib as c_lib
from .device import Device

try:
    from ._cuda import ffi, lib
    _IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # built without nvcc (or MINISINGA_CUDA=0)
    ffi = lib = None
    _IMPORT_ERROR = exc

__all__ = ["CudaGPU", "available", "num_gpus", "get_gpu", "why_unavailable",
           "set_blocking_launches"]


def available() -> bool:
    """True when minisinga was built with its CUDA module."""
    return lib is not None


def num_gpus() -> int:
    """GPUs the CUDA runtime can use (0 without the module, a driver or a GPU)."""
    return lib.ms_cuda_device_count() if lib is not None else 0


def why_unavailable() -> str:
    """Why no GPU can be used here (an empty string when one can)."""
    if lib is None:
        return (f"minisinga was built without its CUDA module ({_IMPORT_ERROR}); rebuild "
                "on a machine with nvcc (`pip install -e .`, or MINISINGA_CUDA=1 to "
                "require it)")
    if num_gpus() == 0:
        return "the CUDA runtime finds no GPU (or no NVIDIA driver) on this machine"
    return ""


def check_error() -> None:
    """Raise the CUDA error kept by the last call, if any, as a RuntimeError."""
    if lib.ms_cuda_error_pending():
        msg = ffi.new("char[256]")
        lib.ms_cuda_take_error(msg, 256)
        raise RuntimeError(ffi.string(msg).decode())


def set_blocking_launches(on: bool) -> None:
    """Wait for every kernel right after launching it, so that a fault is
    reported by the launch that caused it (slow; for debugging)."""
    if lib is None:
        raise RuntimeError(why_unavailable())
    lib.ms_cuda_set_blocking(1 if on else 0)


# The GPU current for this host thread (cudaSetDevice is per thread).
_current = threading.local()


class CudaGPU(Device):
    """One CUDA GPU.  ``id()`` is its ordinal (0, 1, ...).

    Like the CPU, it owns a Philox random stream (seed, counter): the same seed
    gives the same uniform and Bernoulli numbers as the CPU, bit for bit.
    Create it with ``device.create_cuda_gpu()`` / ``create_cuda_gpu_on(id)``,
    which return one object per GPU (operations check that their inputs are on
    the same device object)."""

    def __init__(self, ordinal: int, seed: int = 0):
        super().__init__(seed)
        self._id = ordinal
        self._kernels: dict[tuple[str, int], object] = {}

    def id(self) -> int:
        """This GPU's ordinal (0, 1, ...); the CPU's id is -1."""
        return self._id

    def __repr__(self) -> str:
        return f"CudaGPU(id={self._id})"

    def activate(self) -> None:
        """Make this GPU current for the calling thread (only when it is not)."""
        if getattr(_current, "id", None) != self._id:
            lib.ms_cuda_set_device(self._id)
            check_error()
            _current.id = self._id

    # -- memory -------------------------------------------------------------------------
    def alloc(self, nbytes: int):
        """``nbytes`` of device memory (cudaMalloc), freed by cudaFree when the
        returned object is collected."""
        self.activate()
        ptr = lib.ms_cuda_malloc(nbytes)
        if ptr == ffi.NULL:
            lib.ms_cuda_take_error(ffi.NULL, 0)
            gc.collect()  # unreachable tensors may still hold device memory
            ptr = lib.ms_cuda_malloc(nbytes)
            if ptr == ffi.NULL:
                check_error()
                raise MemoryError(f"could not allocate {nbytes} bytes on {self}")
        # NOTE: bind the function and the ordinal now; at interpreter exit this
        # module's globals may be gone before the last tensors are collected.
        return ffi.gc(ptr, functools.partial(_free, lib.ms_cuda_free, self._id))

    def copy_from_host(self, dst, src, nbytes: int) -> None:
        """cudaMemcpy ``nbytes`` from host address ``src`` to device address ``dst``."""
        self.activate()
        lib.ms_cuda_memcpy_h2d(dst, src, nbytes)
        check_error()

    def copy_to_host(self, dst, src, nbytes: int) -> None:
        """cudaMemcpy ``nbytes`` from device address ``src`` to host address ``dst``
        (waits for the kernels that write ``src``)."""
        self.activate()
        lib.ms_cuda_memcpy_d2h(dst, src, nbytes)
        check_error()

    def copy_from_device(self, dst, src, nbytes: int) -> None:
        """cudaMemcpy ``nbytes`` from device address ``src`` (this GPU or another)
        to ``dst`` on this GPU."""
        self.activate()
        lib.ms_cuda_memcpy_d2d(dst, src, nbytes)
        check_error()

    # -- kernels ------------------------------------------------------------------------
    def kernel(self, name: str, dtype: int):
        """The CUDA launcher ``<name>_<suffix>``, wrapped so that it runs on this
        GPU and raises the CUDA error of its launch."""
        wrapped = self._kernels.get((name, dtype))
        if wrapped is None:
            wrapped = self._kernels[(name, dtype)] = self._wrap(name, _find_launcher(name, dtype))
        return wrapped

    def _wrap(self, name: str, fn):
        gpu = self

        def launch(*args):
            gpu.activate()
            fn(*args)
            if lib.ms_cuda_error_pending():
                check_error()

        if name == "strided_copy":
            max_ndim = lib.ms_cuda_max_ndim()

            def launch_strided(y, x, shape, xstrides, ndim):
                # NOTE: the CUDA kernel takes shape and strides by value, in a
                # struct of max_ndim entries; refuse more before any C runs.
                if ndim > max_ndim:
                    raise ValueError(f"strided_copy on {gpu}: a tensor of {ndim} dimensions; "
                                     f"the CUDA kernel handles at most {max_ndim} (transpose "
                                     "or broadcast fewer axes, or use the CPU)")
                launch(y, x, shape, xstrides, ndim)

            return launch_strided
        return launch

    def sync(self) -> None:
        """Wait until every kernel queued on this GPU has finished; raises the
        error of any that failed."""
        self.activate()
        lib.ms_cuda_synchronize()
        check_error()

    Sync = sync


def _find_launcher(name: str, dtype: int):
    full = f"{name}_{dtypes.suffix(dtype)}"
    fn = getattr(lib, full, None)
    if fn is not None:
        return fn
    if getattr(c_lib, full, None) is not None:
        raise NotImplementedError(
            f"{name}: the C kernel {full} has no CUDA twin yet, so it cannot run on a GPU "
            "(see minisinga/cuda/README.md: adding one is a mechanical step)")
    raise TypeError(f"{name}: no kernel for element type {dtypes.name(dtype)} "
                    f"({full} is not built)")


def _free(cuda_free, ordinal: int, ptr) -> None:
    """The ffi.gc destructor of device memory (its status is ignored: a
    destructor cannot raise, and at exit the runtime may be unloading)."""
    cuda_free(ptr, ordinal)


_GPUS: dict[int, CudaGPU] = {}


def get_gpu(ordinal: int) -> CudaGPU:
    """The one CudaGPU object of GPU ``ordinal``; a clear error if there is none."""
    if isinstance(ordinal, bool) or not isinstance(ordinal, int):
        raise TypeError(f"id: expected a GPU ordinal (an int >= 0), got {ordinal!r}")
    reason = why_unavailable()
    if reason:
        raise RuntimeError(f"cannot create CUDA GPU {ordinal}: {reason}")
    count = num_gpus()
    if not 0 <= ordinal < count:
        raise ValueError(f"cannot create CUDA GPU {ordinal}: this machine has {count} "
                         f"GPU(s), ordinals 0..{count - 1}")
    gpu = _GPUS.get(ordinal)
    if gpu is None:
        gpu = _GPUS[ordinal] = CudaGPU(ordinal)
    return gpu
