"""minisinga._device: ``Device``, the base class of every device.

A device allocates memory, keeps books on it, owns a random stream and hands
out the kernels that compute on it.  The CPU (``CppCPU``, minisinga/device.py)
and the CUDA GPUs (minisinga/gpu.py) derive from it; this module sits below
both, so that ``device.py``, which creates GPUs on request, and ``gpu.py``,
whose devices derive from ``Device``, do not import each other in a circle.
"""
from __future__ import annotations

import itertools
import threading
import weakref

from . import dtypes
from ._lib import ffi

__all__ = ["Device", "address_of"]


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
        self._profile = None   # a profiling.TimeProfile once set_verbosity(v > 0) is called

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

    # -- time profiling (minisinga/profiling.py) ------------------------------------
    def set_verbosity(self, verbosity: int) -> None:
        """Time the training steps run on this device: 0 (the default) not at all,
        1 the forward and backward time of a step, 2 also every kernel launch.
        Switching it on (again) starts a new profile; see ``print_time_profiling``."""
        if not dtypes.is_int(verbosity) or not 0 <= int(verbosity) <= 2:
            raise ValueError(f"verbosity: expected 0, 1 or 2, got {verbosity!r}")
        if int(verbosity) == 0:
            self._profile = None
            return
        from .profiling import TimeProfile
        skip = self._profile.skip if self._profile is not None else 5
        self._profile = TimeProfile(self, int(verbosity), skip)

    def set_skip_iteration(self, n: int) -> None:
        """Leave the first ``n`` training steps out of the time profile (default 5:
        the first steps warm up caches and the allocator, and graph mode records)."""
        if not dtypes.is_int(n) or int(n) < 0:
            raise ValueError(f"n: expected a number of steps >= 0, got {n!r}")
        if self._profile is None:
            raise RuntimeError("set_skip_iteration: no time profile on this device; "
                               "call set_verbosity(1 or 2) first")
        self._profile.skip = int(n)

    def time_profile(self) -> dict:
        """The time profile as numbers (``profiling.TimeProfile.report``): mean
        seconds per step of the forward and backward pass, each launch, each kernel."""
        if self._profile is None:
            raise RuntimeError("time_profile: no time profile on this device; call "
                               "set_verbosity(1 or 2) before training")
        return self._profile.report()

    def print_time_profiling(self) -> None:
        """Print the time profile: the mean time per step of the forward and the
        backward pass, and with verbosity 2 of every kernel launch."""
        if self._profile is None:
            print("Time Profiling: off (call set_verbosity(1 or 2) before training)")
            return
        print("\n".join(self._profile.lines()))

    SetVerbosity = set_verbosity                # SINGA's spellings
    SetSkipIteration = set_skip_iteration
    PrintTimeProfiling = print_time_profiling

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
