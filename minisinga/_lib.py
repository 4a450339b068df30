"""The compiled C extension and the one function that picks a kernel.

``lib`` holds every function declared in ``minisinga/c/minisinga.h``.
``kernel("relu_forward", x)`` returns the kernel for the CTensor ``x``'s element
type on ``x``'s device: ``relu_forward_f32`` from the C library on the CPU (a
GPU device hands out its CUDA launchers of the same name).  Every kernel launch
goes through ``kernel``, which is what lets graph mode record them.  Nothing
here does any maths.
"""
from __future__ import annotations

import os

from . import dtypes

#: How long OpenMP's idle threads spin, waiting for the next parallel loop,
#: before they sleep: GCC's OpenMP (libgomp) counts it in `pause` instructions,
#: 300,000 unless told otherwise -- 10 to 40 ms, so the idle threads of a step
#: whose loops come milliseconds apart never sleep.  On a busy machine that
#: spinning takes the CPU from the thread doing the work.  10,000 (about 0.5 ms)
#: still covers the gaps between a step's kernels, so nothing sleeps mid-step on
#: a quiet machine.  libgomp reads it once, when it is loaded with the C library
#: below, so it is set just for that moment, and only when the user has set
#: neither GOMP_SPINCOUNT nor OMP_WAIT_POLICY (docs/performance/benchmarks.md,
#: "A busy machine").
OMP_SPIN_COUNT = "10000"


def _load_c_library():
    """Import the C extension with OpenMP's spin count bounded (OMP_SPIN_COUNT)."""
    ours = "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ
    if ours:
        os.environ["GOMP_SPINCOUNT"] = OMP_SPIN_COUNT
    try:
        from ._C import ffi, lib
    finally:
        if ours:   # NOTE: not for PyTorch's OpenMP nor for child processes
            del os.environ["GOMP_SPINCOUNT"]
    return ffi, lib


try:
    ffi, lib = _load_c_library()
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "minisinga's C extension (minisinga._C) is not built. Install the "
        "package with `pip install -e .` (or `pip install .`) from the "
        "repository root; that compiles the kernels in minisinga/c.") from exc

__all__ = ["ffi", "lib", "kernel", "cpu_kernel"]

_KERNELS: dict[tuple[str, int], object] = {}


def cpu_kernel(name: str, dtype: int):
    """The C function ``<name>_<suffix>`` for element type ``dtype``."""
    key = (name, dtype)
    fn = _KERNELS.get(key)
    if fn is None:
        full = f"{name}_{dtypes.suffix(dtype)}"
        fn = getattr(lib, full, None)
        if fn is None:
            raise TypeError(f"{name}: no C kernel for element type "
                            f"{dtypes.name(dtype)} ({full} is not built)")
        _KERNELS[key] = fn
    return fn


def kernel(name: str, like):
    """The kernel ``name`` for the element type and device of the CTensor ``like``.

    While graph mode records a training step on that device in the calling
    thread, the kernel comes wrapped by the recorder, which notes each launch and then runs it
    (minisinga/graph.py); while the device's time profile times a step, it comes
    wrapped to be timed (minisinga/profiling.py)."""
    device = like.device
    # NOTE: every kernel launch passes here, so the device's answer is kept in a
    # dict on the device (one lookup instead of a chain of calls).
    key = (name, like.dtype)
    fn = device._bound_kernels.get(key)
    if fn is None:
        fn = device._bound_kernels[key] = device.kernel(name, like.dtype)
    recorder = device._local.recorder   # (``device.recorder``, without the property call)
    if recorder is not None:
        fn = recorder.wrap(name, fn)
    profile = device._profile           # timing the launches (minisinga/profiling.py)
    if profile is not None and profile.timing:
        fn = profile.wrap(name, fn)
    return fn
