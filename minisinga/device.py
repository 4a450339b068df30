"""Devices: where a tensor's memory lives and which kernels compute on it.

As in SINGA, there is one default CPU device (``get_default_device()`` and
``create_cpu_device()`` return the same object, whose ``id()`` is -1).  Each
device owns its random-number stream: a seed and a counter.  The kernels use
the counter-based generator Philox4x32-10, so a tensor's random numbers depend
only on (seed, counter, position), never on threads; the CUDA backend draws the
same numbers for the same seed.
"""
from __future__ import annotations

import itertools
import threading
import weakref

from . import dtypes
from ._lib import cpu_kernel, ffi, lib

_MAX_SEED = 2**64 - 1


def _check_seed(seed) -> int:
    if not dtypes.is_int(seed):
        raise TypeError(f"seed: expected an int in [0, 2**64), got {seed!r} "
                        f"({type(seed).__name__})")
    if not 0 <= int(seed) <= _MAX_SEED:
        raise ValueError(f"seed: expected an int in [0, 2**64), got {seed}")
    return int(seed)


_UINTPTR = ffi.typeof("uintptr_t")
_VOIDP = ffi.typeof("void *")
_cast = ffi.cast
_weakref = weakref.ref


def address_of(ptr) -> int:
    """The address a cffi pointer points to, as an int."""
    return int(ffi.cast(_UINTPTR, ptr))


class _PerThread(threading.local):
    recorder = None   # no thread records until it says so


class Device:
    """Base class of devices.  A device allocates memory and owns a random stream.

    It also keeps books on its memory: every live block by address (so graph mode
    can tell which buffer a kernel's pointer argument is, ``block_at``), and how
    many bytes are in use and the peak since ``reset_peak_memory()``
    (``memory_stats()``).  A subclass's ``alloc`` registers each block with
    ``_track`` and calls ``_untrack`` from the block's destructor.
    """

    def __init__(self, seed: int = 0):
        # NOTE: the recorder is per thread (``recorder`` below), so that a step
        # recorded in one thread never picks up another thread's kernel launches.
        self._local = _PerThread()
        self._serials = itertools.count(1)
        self._seed = _check_seed(seed)
        self._rng_offset = 0
        # pointer -> (serial, nbytes, weak reference to the memory) of every live block;
        # serial numbers count the allocations 1, 2, 3, ... and are never reused.
        self._blocks: dict[object, tuple[int, int, weakref.ref]] = {}
        # The kernels handed out by ``_lib.kernel``, by (name, dtype): looked up once.
        self._bound_kernels: dict[tuple[str, int], object] = {}
        self._serial = 0
        self._bytes_in_use = 0
        self._peak_bytes = 0

    @property
    def recorder(self):
        """The graph recorder (a ``minisinga.graph.Graph``) listening to the kernel
        launches that the calling thread makes on this device while graph mode
        records a training step, else None.  Each thread has its own."""
        return self._local.recorder

    @recorder.setter
    def recorder(self, graph) -> None:
        self._local.recorder = graph

    # -- identity --------------------------------------------------------------
    def id(self) -> int:
        """-1 for the CPU, the GPU ordinal otherwise (SINGA's convention)."""
        raise NotImplementedError

    def is_cpu(self) -> bool:
        return self.id() < 0

    # -- random numbers ----------------------------------------------------------
    def set_rand_seed(self, seed: int) -> None:
        """Restart this device's random stream from ``seed`` (an int in [0, 2**64))."""
        self._seed = _check_seed(seed)
        self._rng_offset = 0

    SetRandSeed = set_rand_seed  # SINGA's SWIG spelling

    def next_random_block(self, n: int) -> tuple[int, int]:
        """Reserve ``n`` Philox counter blocks; returns (seed, first block)."""
        offset = self._rng_offset
        self._rng_offset += n
        return self._seed, offset

    # -- memory and kernels ------------------------------------------------------
    def alloc(self, nbytes: int):
        """Memory for ``nbytes`` bytes, freed when the returned object is collected."""
        raise NotImplementedError

    def kernel(self, name: str, dtype: int):
        """The function computing ``name`` for ``dtype`` on this device."""
        raise NotImplementedError

    def sync(self) -> None:
        """Wait for queued work (nothing to wait for on the CPU)."""

    Sync = sync

    # -- memory bookkeeping --------------------------------------------------------
    # NOTE: the books are keyed by the block's pointer itself (a cdata that does
    # not own the memory): cffi pointers hash and compare by address, so this
    # saves converting every address to an int at allocation and again at free.
    def _track(self, mem, nbytes: int):
        """Register the new block ``mem`` (a cffi pointer) of ``nbytes``; returns it."""
        # (``next`` on a count is atomic: two threads never get one serial number)
        self._serial = serial = next(self._serials)
        self._blocks[_cast(_VOIDP, mem)] = (serial, nbytes, _weakref(mem))
        self._bytes_in_use = in_use = self._bytes_in_use + nbytes
        if in_use > self._peak_bytes:
            self._peak_bytes = in_use
        return mem

    def _untrack(self, ptr) -> None:
        """Forget the block at ``ptr`` (called just before its memory is released)."""
        block = self._blocks.pop(ptr, None)
        if block is not None:
            self._bytes_in_use -= block[1]

    def block_at(self, address: int) -> tuple[int, int, weakref.ref] | None:
        """(serial, nbytes, weak reference to the memory) of the live block that
        starts at ``address``, or None."""
        return self._blocks.get(_cast(_VOIDP, address))

    def last_serial(self) -> int:
        """The serial number of the newest block (blocks made later have larger ones)."""
        return self._serial

    def memory_stats(self) -> dict[str, int]:
        """Bytes allocated through this device: ``bytes_in_use`` now, ``peak_bytes``
        since the last ``reset_peak_memory()``, and ``num_allocs``, the number of
        allocations so far."""
        return {"bytes_in_use": self._bytes_in_use, "peak_bytes": self._peak_bytes,
                "num_allocs": self._serial}   # one serial number per allocation

    def reset_peak_memory(self) -> None:
        """Start measuring the peak again from the bytes in use now."""
        self._peak_bytes = self._bytes_in_use


class CppCPU(Device):
    """The host CPU.  Memory comes from ``ms_alloc`` (64-byte aligned) and is
    returned with ``ms_free`` when the last Python reference goes away."""

    def id(self) -> int:
        return -1

    def __init__(self, seed: int = 0):
        super().__init__(seed)
        # The destructor of every block, bound once (not a new bound method per block).
        self._destructor = self._free

    def alloc(self, nbytes: int):
        # Past 2**63 - 64 bytes even the round-up to 64 would overflow int64.
        if nbytes > 2**63 - 64:
            raise MemoryError(f"could not allocate {nbytes} bytes on the CPU")
        ptr = lib.ms_alloc(nbytes)
        if ptr == ffi.NULL:
            raise MemoryError(f"could not allocate {nbytes} bytes on the CPU")
        # NOTE: size given by position: as a keyword it costs a third of the call.
        mem = ffi.gc(ptr, self._destructor, nbytes)
        # The books (``_track``, written out: this runs for every tensor).  The raw
        # ``ptr`` is the key: ``_free`` receives that same object.
        self._serial = serial = next(self._serials)
        self._blocks[ptr] = (serial, nbytes, _weakref(mem))
        self._bytes_in_use = in_use = self._bytes_in_use + nbytes
        if in_use > self._peak_bytes:
            self._peak_bytes = in_use
        return mem

    def _free(self, ptr, _ms_free=lib.ms_free) -> None:
        # The destructor of a block: bookkeeping first (``_untrack``, inlined: it runs
        # once per tensor), then the memory goes back.  (ms_free is bound as a
        # default so it still exists at interpreter exit.)
        try:
            block = self._blocks.pop(ptr, None)
            if block is not None:
                self._bytes_in_use -= block[1]
        finally:
            _ms_free(ptr)

    def memory_stats(self) -> dict[str, int]:
        """As :meth:`Device.memory_stats`, plus ``cached_bytes``: memory of freed
        blocks that ``ms_free`` keeps to hand out again for the same size (up to
        256 MiB, minisinga/c/core.c), which the process still holds.
        :meth:`empty_cache` gives it back to the system."""
        stats = super().memory_stats()
        stats["cached_bytes"] = int(lib.ms_cache_bytes())
        return stats

    def empty_cache(self) -> None:
        """Return the freed blocks kept for reuse to the system (``cached_bytes``
        drops to 0).  Tensors in use are not touched; the next allocations of those
        sizes simply come from the system again, as on the first step."""
        lib.ms_empty_cache()

    def kernel(self, name: str, dtype: int):
        return cpu_kernel(name, dtype)

    def __repr__(self) -> str:
        return "CppCPU(id=-1)"


_default_device = CppCPU()


def get_default_device() -> CppCPU:
    """The default CPU device (a single object, as in SINGA)."""
    return _default_device


def create_cpu_device() -> CppCPU:
    """The default CPU device; SINGA also returns the same one every time."""
    return _default_device


def set_rand_seed(seed: int) -> None:
    """Seed the default CPU device's random stream (an int in [0, 2**64)).

    Each device has its own stream: a model built on a GPU draws its parameters
    there, so seed that device (``gpu.set_rand_seed(seed)``)."""
    _default_device.set_rand_seed(seed)


def get_num_threads() -> int:
    """How many OpenMP threads the C kernels may use."""
    return lib.ms_get_max_threads()


def set_num_threads(n: int) -> None:
    """Limit the C kernels to ``n`` OpenMP threads (n >= 1)."""
    if not dtypes.is_int(n) or n < 1:
        raise ValueError(f"n: expected an int >= 1, got {n!r}")
    lib.ms_set_num_threads(int(n))


def copy_to_device(ct, dev: Device):
    """A copy of the CTensor ``ct`` in ``dev``'s memory (CPU or GPU, either way)."""
    from . import backend
    from .ctensor import CTensor
    out = CTensor(ct.shape, ct.dtype, dev)
    if ct.device.is_cpu() and dev.is_cpu():
        return backend.copy_into(out, ct)
    nbytes = ct.nbytes()
    if ct.device.is_cpu():          # host -> GPU
        dev.copy_from_host(out._mem, ct._mem, nbytes)
    elif dev.is_cpu():              # GPU -> host
        ct.device.copy_to_host(out._mem, ct._mem, nbytes)
    else:                           # GPU -> GPU (the same one or another)
        dev.copy_from_device(out._mem, ct._mem, nbytes)
    return out


# -- CUDA GPUs (minisinga/gpu.py; minisinga._cuda is built only where nvcc is found) --------
def get_num_gpus() -> int:
    """Number of usable CUDA GPUs (0 without the CUDA module, a driver or a GPU)."""
    from . import gpu
    return gpu.num_gpus()


def get_gpu_ids() -> list[int]:
    """The ordinals of the usable GPUs: ``[0, ..., get_num_gpus() - 1]``."""
    return list(range(get_num_gpus()))


def create_cuda_gpu_on(id: int) -> Device:
    """The CudaGPU device of GPU ``id`` (one object per GPU, like the CPU device).

    Raises RuntimeError when minisinga has no CUDA module or the machine no GPU,
    and ValueError for an ordinal that does not exist."""
    from . import gpu
    return gpu.get_gpu(id)


def create_cuda_gpu() -> Device:
    """The CudaGPU device of GPU 0 (SINGA: ``create_cuda_gpu_on(0)``)."""
    return create_cuda_gpu_on(0)


def create_cuda_gpus_on(ids) -> list[Device]:
    """The CudaGPU devices of the GPUs ``ids`` (a list of ordinals)."""
    return [create_cuda_gpu_on(i) for i in ids]


def create_cuda_gpus(num: int) -> list[Device]:
    """The CudaGPU devices of the first ``num`` GPUs."""
    if not dtypes.is_int(num) or num < 0:
        raise ValueError(f"num: expected an int >= 0, got {num!r}")
    return create_cuda_gpus_on(list(range(int(num))))
