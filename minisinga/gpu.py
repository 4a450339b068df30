"""The CUDA GPU device: memory on a GPU, and the CUDA twins of the C kernels.

``minisinga._cuda`` (built from minisinga/cuda by minisinga/_build_cuda.py
when nvcc is found) holds, for every C kernel ``relu_forward_f32(T *y, const
T *x, int64_t n)``, a launcher of the same name and signature that takes
device pointers and launches ``relu_forward_kernel_f32`` on the GPU.  So a
``CudaGPU`` hands out those launchers from ``kernel(name, dtype)`` exactly as
the CPU hands out its C functions, and every operation runs unchanged on it.

What the GPU adds is here: which GPU is current, ``cudaMalloc`` memory that
goes back to a block cache (``BlockCache``) when the last reference goes,
copies to and from the host, and errors.  Every CUDA call is checked in C; after each call Python asks whether
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
import os
import subprocess
import sys
import threading
from pathlib import Path

from . import dtypes
from ._device import Device
from ._lib import ffi as c_ffi
from ._lib import lib as c_lib

try:
    from ._cuda import ffi, lib
    _IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # built without nvcc (or MINISINGA_CUDA=0)
    ffi = lib = None
    _IMPORT_ERROR = exc

__all__ = ["CudaGPU", "EmulatedGPU", "available", "num_gpus", "get_gpu", "why_unavailable",
           "set_blocking_launches", "emulated_gpu"]


def available() -> bool:
    """True when minisinga was built with its CUDA module."""
    return lib is not None


def num_gpus() -> int:
    """GPUs the CUDA runtime can use (0 without the module, a driver or a GPU)."""
    return lib.ms_cuda_device_count() if lib is not None else 0


def why_unavailable() -> str:
    """Why no GPU can be used here (an empty string when one can)."""
    if lib is None:
        return (f"minisinga was built without its CUDA module ({_IMPORT_ERROR}); it is "
                "built where nvcc and an NVIDIA driver are found (`pip install -e .`; "
                "MINISINGA_CUDA=1 builds it without a driver too)")
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


class BlockCache:
    """Freed device blocks kept for reuse, by size: a GPU's caching allocator.

    ``cudaFree`` waits for everything queued on the GPU, and ``cudaMalloc`` is
    slow too; an eager training step makes and drops dozens of tensors, so
    freeing each would stall the GPU dozens of times a step.  Instead a freed
    block goes here (``give``) and the next request of the same size takes it
    back (``take``), as PyTorch's caching allocator does.  Sizes are rounded up
    to ``GRAIN`` bytes so that near sizes share blocks.  The cache holds at most
    ``limit`` bytes; past that a freed block is released at once.  Reuse is safe
    without any synchronisation because every kernel and copy runs on the one
    default stream, in order: a kernel that writes the new tensor runs after the
    kernels that read the old one.

    ``release(ptr)`` really frees a block (``cudaFree``).  ``grain=1`` and
    ``limit=0`` turn the cache off: blocks of exactly the requested size, each
    released when freed (the emulated GPU under the sanitizers, so that ASan
    sees every access past a tensor's end and every use after free)."""

    GRAIN = 512

    def __init__(self, release, limit: int, grain: int = GRAIN):
        self._release = release
        self._free: dict[int, list] = {}   # size -> raw pointers of freed blocks
        self.bytes = 0                     # bytes held in ``_free``
        self.limit = limit
        self.grain = grain

    def size_of(self, nbytes: int) -> int:
        """The size of the block that holds ``nbytes`` (a multiple of the grain, >= it)."""
        return max(1, -(-nbytes // self.grain)) * self.grain

    def take(self, size: int):
        """A freed block of ``size`` bytes, or None."""
        blocks = self._free.get(size)
        if not blocks:
            return None
        self.bytes -= size
        return blocks.pop()

    def give(self, ptr, size: int) -> None:
        """Keep the freed block ``ptr`` of ``size`` bytes, or release it if the
        cache is full."""
        if self.bytes + size > self.limit:
            self._release(ptr)
            return
        self._free.setdefault(size, []).append(ptr)
        self.bytes += size

    def empty(self) -> None:
        """Release every kept block."""
        free, self._free, self.bytes = self._free, {}, 0
        for blocks in free.values():
            for ptr in blocks:
                self._release(ptr)


class _CachingDevice(Device):
    """A device whose memory comes from ``_raw_alloc``/``_raw_free`` through a
    ``BlockCache`` (the GPUs).  Subclasses set ``_gc`` (their ffi's ``gc``)."""

    #: The most bytes of freed blocks a device keeps for reuse.
    cache_limit = 4 << 30

    def __init__(self, seed: int = 0, exact_memory: bool = False):
        super().__init__(seed)
        self._cache = BlockCache(self._raw_free, 0, grain=1) if exact_memory else \
            BlockCache(self._raw_free, self.cache_limit)

    def _raw_alloc(self, size: int):
        raise NotImplementedError

    def _raw_free(self, ptr) -> None:
        raise NotImplementedError

    def alloc(self, nbytes: int):
        """A block of at least ``nbytes``, freed (to the cache) when the returned
        object is collected."""
        size = self._cache.size_of(nbytes)
        ptr = self._cache.take(size)
        if ptr is None:
            ptr = self._raw_alloc(size)
            if ptr is None:
                # Out of memory: unreachable tensors may still hold blocks, and the
                # cache holds freed ones; give all of them back and try once more.
                gc.collect()
                self._cache.empty()
                ptr = self._raw_alloc(size)
                if ptr is None:
                    self._out_of_memory(nbytes)
        return self._track(self._gc(ptr, self._free), nbytes)

    def _out_of_memory(self, nbytes: int):
        raise MemoryError(f"could not allocate {nbytes} bytes on {self}")

    def _free(self, ptr) -> None:
        # The destructor of a block: bookkeeping first, then to the cache.  It
        # must not raise (a destructor), and at exit the runtime may be unloading.
        block = self._blocks.pop(ptr, None)
        if block is not None:
            self._bytes_in_use -= block[1]
            cache = self._cache   # NOTE: no module globals here (gone at exit)
            cache.give(ptr, cache.size_of(block[1]))
        else:   # not in the books: release it rather than guess its size
            self._raw_free(ptr)

    def memory_stats(self) -> dict[str, int]:
        """As :meth:`Device.memory_stats`, plus ``cached_bytes``: freed blocks kept
        for reuse (see :class:`BlockCache`), which the device still holds.
        :meth:`empty_cache` releases them."""
        stats = super().memory_stats()
        stats["cached_bytes"] = self._cache.bytes
        return stats

    def empty_cache(self) -> None:
        """Release the freed blocks kept for reuse (``cached_bytes`` drops to 0),
        for another program on the GPU, say.  Tensors in use are not touched."""
        self._cache.empty()


class CudaGPU(_CachingDevice):
    """One CUDA GPU.  ``id()`` is its ordinal (0, 1, ...).

    Like the CPU, it owns a Philox random stream (seed, counter): the same seed
    gives the same uniform and Bernoulli numbers as the CPU, bit for bit.
    Create it with ``device.create_cuda_gpu()`` / ``create_cuda_gpu_on(id)``,
    which return one object per GPU (operations check that their inputs are on
    the same device object)."""

    def __init__(self, ordinal: int, seed: int = 0):
        self._id = ordinal
        super().__init__(seed)
        self._gc = ffi.gc
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
    # alloc, free and the cache: _CachingDevice.  Below, the raw cudaMalloc/cudaFree.
    def _raw_alloc(self, size: int):
        """``size`` bytes of device memory (cudaMalloc), or None when it fails
        (CUDA's message kept for ``_out_of_memory``)."""
        self.activate()
        ptr = lib.ms_cuda_malloc(size)
        if ptr == ffi.NULL:
            msg = ffi.new("char[256]")
            lib.ms_cuda_take_error(msg, 256)
            self._alloc_error = ffi.string(msg).decode()
            return None
        return ptr

    def _out_of_memory(self, nbytes: int):
        raise RuntimeError(f"{self._alloc_error} ({nbytes} bytes on {self})")

    def _raw_free(self, ptr, _cuda_free=lib.ms_cuda_free if lib is not None else None) -> None:
        # cudaFree on this GPU (ms_cuda_free switches to it and back).  Its status
        # is ignored: this runs in destructors, and at exit the runtime may be
        # unloading.  NOTE: bound as a default argument, because at interpreter
        # exit this module's globals may be gone before the last tensors are.
        _cuda_free(ptr, self._id)

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
            out = fn(*args)
            if lib.ms_cuda_error_pending():
                check_error()
            return out  # nonzero_count returns its count; the others None

        return guard_host_arrays(name, launch, lib.ms_cuda_max_ndim(), self)

    def sync(self) -> None:
        """Wait until every kernel queued on this GPU has finished; raises the
        error of any that failed."""
        self.activate()
        lib.ms_cuda_synchronize()
        check_error()

    Sync = sync


#: Kernels that get a host array of ``ndim`` entries (shape / strides), which
#: the CUDA launcher passes to the kernel by value in a struct of at most
#: ms_cuda_max_ndim() entries: name -> the position of the ndim argument.
HOST_ARRAY_KERNELS = {"strided_copy": 4, "nonzero_forward": 3, "window_copy": 9,
                      "slice_backward": 6, "scatter_targets": 5}


def guard_host_arrays(name: str, launch, max_ndim: int, device):
    """``launch`` itself, or (for the kernels of HOST_ARRAY_KERNELS) ``launch``
    behind a check that refuses more than ``max_ndim`` dimensions with a
    ValueError before any C runs."""
    at = HOST_ARRAY_KERNELS.get(name)
    if at is None:
        return launch

    def launch_checked(*args):
        # NOTE: the CUDA kernel takes the shape by value, in a struct of
        # max_ndim entries; refuse more before any C runs.
        ndim = args[at]
        if ndim > max_ndim:
            raise ValueError(f"{name} on {device}: a tensor of {ndim} dimensions; the CUDA "
                             f"kernel handles at most {max_ndim} (transpose, broadcast or "
                             "index fewer axes, or use the CPU)")
        return launch(*args)

    return launch_checked


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


_GPUS: dict[int, CudaGPU] = {}


def get_gpu(ordinal: int) -> CudaGPU:
    """The one CudaGPU object of GPU ``ordinal``; a clear error if there is none."""
    if not dtypes.is_int(ordinal):
        raise TypeError(f"id: expected a GPU ordinal (an int >= 0), got {ordinal!r}")
    ordinal = int(ordinal)
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


# ------------------------------------------------------------------ the emulated GPU
class EmulatedGPU(_CachingDevice):
    """The CUDA kernels of minisinga/cuda run on the CPU, for testing them
    without a GPU (and without nvcc): the same .cu files compiled by g++ under
    minisinga/cuda/emulate.h, where a launch runs its blocks one after another
    and a block's threads are fibers meeting at every ``__syncthreads``.

    To Python it is a GPU: ``is_cpu()`` is False, so a tensor on it has no
    NumPy view and every value read on the host goes through ``copy_to_host``,
    the path a ``CudaGPU`` takes (an operation that reads ``.numpy()`` of a
    device tensor fails here as it would on a GPU).  Its memory is host memory
    (``ms_alloc``), kept in the device's books like every device's; copies are
    ``memmove``.  ``id()`` is -2: not a CUDA ordinal, never confused with GPU 0.
    Kernels are looked up and guarded exactly as on a CudaGPU.  The emulator
    is not thread-safe: use it from one thread.  Get it with
    ``emulated_gpu()``."""

    def __init__(self, emu_lib, emu_ffi, seed: int = 0, exact_memory: bool = False):
        super().__init__(seed, exact_memory)
        self._gc = c_ffi.gc
        self._lib = emu_lib
        self._ffi = emu_ffi
        self._kernels: dict[tuple[str, int], object] = {}

    def id(self) -> int:
        """-2: the emulated GPU is no CUDA ordinal (the CPU is -1)."""
        return -2

    def is_cpu(self) -> bool:
        """False: tensors on it are handled as GPU tensors."""
        return False

    def __repr__(self) -> str:
        return "EmulatedGPU"

    # -- memory: host memory (ms_alloc) through the GPUs' BlockCache ------------
    def _raw_alloc(self, size: int):
        if size > 2**63 - 64:
            return None
        ptr = c_lib.ms_alloc(size)
        return None if ptr == c_ffi.NULL else ptr

    def _raw_free(self, ptr, _ms_free=c_lib.ms_free) -> None:
        _ms_free(ptr)

    def copy_from_host(self, dst, src, nbytes: int) -> None:
        """Copy ``nbytes`` from host address ``src`` into this device's ``dst``."""
        c_ffi.memmove(dst, src, nbytes)

    def copy_to_host(self, dst, src, nbytes: int) -> None:
        """Copy ``nbytes`` from this device's ``src`` to host address ``dst``."""
        c_ffi.memmove(dst, src, nbytes)

    def copy_from_device(self, dst, src, nbytes: int) -> None:
        """Copy ``nbytes`` between two blocks of device memory."""
        c_ffi.memmove(dst, src, nbytes)

    # -- kernels ------------------------------------------------------------------
    def kernel(self, name: str, dtype: int):
        """The emulated CUDA launcher ``<name>_<suffix>``, guarded as on a CudaGPU."""
        wrapped = self._kernels.get((name, dtype))
        if wrapped is None:
            wrapped = self._kernels[(name, dtype)] = self._wrap(name, self._find(name, dtype))
        return wrapped

    def _find(self, name: str, dtype: int):
        full = f"{name}_{dtypes.suffix(dtype)}"
        try:
            return getattr(self._lib, full)
        except AttributeError:
            if getattr(c_lib, full, None) is not None:
                raise NotImplementedError(
                    f"{name}: the C kernel {full} has no CUDA twin yet") from None
            raise TypeError(f"{name}: no kernel for element type {dtypes.name(dtype)} "
                            f"({full} is not built)") from None

    def _wrap(self, name: str, fn):
        emu_lib, emu_ffi = self._lib, self._ffi

        def launch(*args):
            out = fn(*args)
            if emu_lib.ms_cuda_error_pending():
                msg = emu_ffi.new("char[256]")
                emu_lib.ms_cuda_take_error(msg, 256)
                raise RuntimeError(emu_ffi.string(msg).decode())
            return out

        return guard_host_arrays(name, launch, emu_lib.ms_cuda_max_ndim(), self)


@functools.cache
def emulated_gpu() -> EmulatedGPU:
    """The one EmulatedGPU of this process; builds the emulated kernels with
    g++ on first use (needs g++ and a minisinga source tree, not nvcc).

    The build is a separate step, ``python minisinga/_build_cuda.py emulated``: it
    compiles what changed, writes the kernels' declarations next to the library
    (``cdef.h``) and prints the library's path; this reads both."""
    from cffi import FFI

    script = Path(__file__).resolve().with_name("_build_cuda.py")
    done = subprocess.run([sys.executable, str(script), "emulated"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building the emulated CUDA kernels ({script.name} emulated) "
                           f"failed:\n{done.stdout}{done.stderr}")
    path = Path(done.stdout.strip().splitlines()[-1])
    emu_ffi = FFI()
    emu_ffi.cdef((path.parent / "cdef.h").read_text())
    # Under tools/sanitize.sh (MINISINGA_SANITIZE=1) the kernels are built with
    # ASan and UBSan, and the memory is exact and never reused, so that ASan
    # sees every access past a tensor's end and every use after free.
    return EmulatedGPU(emu_ffi.dlopen(str(path)), emu_ffi,
                       exact_memory=os.environ.get("MINISINGA_SANITIZE") == "1")
