"""Devices: where a tensor's memory lives and which kernels compute on it.

As in SINGA, there is one default CPU device (``get_default_device()`` and
``create_cpu_device()`` return the same object, whose ``id()`` is -1).  Each
device owns its random-number stream: a seed and a counter.  The kernels use
the counter-based generator Philox4x32-10, so a tensor's random numbers depend
only on (seed, counter, position), never on threads; the CUDA backend draws the
same numbers for the same seed.
"""
from __future__ import annotations

import weakref

from . import dtypes
from ._device import Device, address_of  # noqa: F401  (re-exported: device.Device)
from ._lib import cpu_kernel, ffi, lib

_weakref = weakref.ref


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


def busy_backoffs() -> int:
    """How many times the calling thread's parallel loops have gone to one thread
    for a while because their threads waited for each other (another program held
    a core: docs/performance/benchmarks.md, "A busy machine").  The benchmarks
    report it; on a quiet machine it should stay 0."""
    return int(lib.ms_par_backoffs())


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
