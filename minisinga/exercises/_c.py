"""Compile a student's C file and load it through cffi (ABI mode).

``load_c(source, cdef)`` writes ``source`` into a temporary folder, compiles
it with the C compiler into a shared library (``cc -shared -fPIC -O3``), and
opens it with ``FFI().dlopen``: the same header-declared, cffi-called kernels
as minisinga's own, without needing setuptools.  A compile error becomes an
``ExerciseFailed`` that shows the compiler's message.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from cffi import FFI

from .._lib import ffi as ms_ffi
from ._registry import ExerciseFailed

_KEEP = []   # loaded libraries stay open for the life of the process


def compiler() -> str:
    """The C compiler: $CC, Python's own, or cc."""
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        raise ExerciseFailed(f"no C compiler: {cc!r} is not on PATH (install gcc)")
    return cc


def load_c(source: str, cdef: str, flags=("-O3", "-march=native")):
    """Compile ``source`` and return ``(ffi, lib)`` with the functions of ``cdef``."""
    tmp = Path(tempfile.mkdtemp(prefix="minisinga_ex_"))
    try:
        src = tmp / "student.c"
        src.write_text("#include <stdint.h>\n#include <stddef.h>\n" + source)
        so = tmp / "student.so"
        cmd = [compiler(), "-shared", "-fPIC", "-std=c11", *flags, "-o", str(so), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ExerciseFailed("your C file does not compile:\n" + proc.stderr.strip())
        ffi = FFI()
        ffi.cdef(cdef)
        try:
            lib = ffi.dlopen(str(so))
            for line in cdef.split(";"):   # every declared function must exist
                name = line.split("(")[0].split()[-1].lstrip("*") if "(" in line else None
                if name:
                    getattr(lib, name)
        except (OSError, AttributeError) as exc:
            raise ExerciseFailed(f"your C file compiles but lacks a function: {exc} "
                                 f"(expected: {cdef.strip()})") from exc
        _KEEP.append((ffi, lib))
        return ffi, lib
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pointer(ffi, ctype: str, ctensor):
    """A ``ctype`` pointer of ``ffi`` to a minisinga CTensor's memory."""
    return ffi.cast(ctype, int(ms_ffi.cast("uintptr_t", ctensor.ptr)))
