"""The compiled C extension and small helpers for calling it.

``lib`` holds every function declared in ``minisinga/c/minisinga.h``;
``kernel("relu_forward", dtype)`` picks the one for an element type
(``relu_forward_f32``).  Nothing here does any maths.
"""
from __future__ import annotations

from . import dtypes

try:
    from ._C import ffi, lib
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "minisinga's C extension (minisinga._C) is not built. Install the "
        "package with `pip install -e .` (or `pip install .`) from the "
        "repository root; that compiles the kernels in minisinga/c.") from exc

__all__ = ["ffi", "lib", "kernel"]

_KERNELS: dict[tuple[str, int], object] = {}


def kernel(name: str, dtype: int):
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
