"""Build script for minisinga's C extension (cffi, API / out-of-line mode).

setup.py names ``minisinga/_build.py:ffibuilder`` in ``cffi_modules``; cffi then
compiles the module ``minisinga._C`` from the handwritten kernels in
``minisinga/c``.

How the pieces fit:

* ``minisinga/c/minisinga.h`` declares every C function.  The cffi
  declarations (``cdef``) are that header run through the C preprocessor, so
  they cannot drift from it.
* A "typed" kernel file (every ``.c`` file but ``core.c``) is written once in
  terms of the element type ``T`` and the name macro ``FN``.  For each element
  type we generate a three-line wrapper (``build/ms_gen/<file>_<type>.c``)
  that defines ``T`` and ``FN`` and includes the kernel file, so the same
  source is compiled once per type.
* What this build shares with the CUDA build (minisinga/_build_cuda.py) is in
  ``build_helpers.py`` at the repository's root: the element types, the wrappers,
  the preprocessor, and the table of kernel parameters written for the graph
  recorder (``minisinga/_kernel_params.py``).

Environment switches (read at build time):

``MINISINGA_PORTABLE=1``
    do not tune for the building CPU (no ``-march=native``); use this for a
    build that must run on other machines.
``MINISINGA_SANITIZE=1``
    build with AddressSanitizer and UndefinedBehaviorSanitizer (for CI).
"""
from __future__ import annotations

import sys
from pathlib import Path

from cffi import FFI

# build_helpers.py, at the repository's root, is what the C and CUDA builds share;
# this script runs before the package is built, from no particular folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import build_helpers as bh  # noqa: E402

ROOT, C_DIR = bh.ROOT, bh.C_DIR
GEN_DIR = Path("build") / "ms_gen"


def compile_args() -> tuple[list[str], list[str]]:
    """The compiler and linker flags for the current build switches."""
    # -ffp-contract=fast lets GCC fuse a*b + c into one FMA instruction; strict
    # -std=c11 would otherwise forbid it (and halve the speed of the loops).
    # -fno-tree-loop-distribute-patterns: GCC would turn a copy loop into a call to
    # memcpy, even one of a constant 32 floats; the packing loops of the GEMM
    # copy such short rows thousands of times per call, and the calls cost more
    # than the copies.  Without it they stay loops, which GCC vectorises.
    cflags = ["-std=c11", "-ffp-contract=fast", "-fno-tree-loop-distribute-patterns",
              "-fopenmp", "-Wall", "-Wno-unused-function"]
    ldflags = ["-fopenmp"]
    if bh.flag("MINISINGA_SANITIZE"):
        # float-cast-overflow (float -> int out of range, NaN) is not part of
        # gcc's "undefined" group; the cast kernels must not do it either.
        san = ["-fsanitize=address,undefined,float-cast-overflow", "-fno-omit-frame-pointer",
               "-fno-sanitize-recover=undefined"]
        cflags += ["-O1", "-g"] + san
        ldflags += san
    else:
        cflags += ["-O3"]
    if not bh.flag("MINISINGA_PORTABLE"):
        cflags += ["-march=native"]
    return cflags, ldflags


def kernel_sources() -> list[str]:
    """Every translation unit: core.c plus one wrapper per (file, type)."""
    sources = []
    for src in sorted((ROOT / C_DIR).glob("*.c")):
        if src.stem in bh.UNTYPED:
            sources.append(str(C_DIR / src.name))
            continue
        for suffix in bh.suffixes_of(src.stem):
            wrapper = GEN_DIR / f"{src.stem}_{suffix}.c"
            bh.typed_wrapper(ROOT / wrapper, src.name, "minisinga.h", suffix,
                             "minisinga/_build.py")
            sources.append(str(wrapper))
    return sources


def dependencies(cflags: list[str]) -> list[str]:
    """Every .c and .h file: editing any of them makes a reinstall rebuild.

    The compiler flags are written to a file that is a dependency too, so that
    switching MINISINGA_PORTABLE or MINISINGA_SANITIZE rebuilds everything
    instead of reusing objects compiled with the old flags."""
    flags_file = GEN_DIR / "build_flags.txt"
    bh.write_if_changed(ROOT / flags_file, " ".join(cflags) + "\n")
    deps = sorted(str(p.relative_to(ROOT)) for p in (ROOT / C_DIR).glob("*.[ch]"))
    return deps + [str(flags_file)]


bh.write_kernel_params()   # the read/write sets of the kernels, for minisinga/graph.py
ffibuilder = FFI()
ffibuilder.cdef(bh.preprocess(ROOT / C_DIR / "minisinga.h"))
_cflags, _ldflags = compile_args()
ffibuilder.set_source(
    "minisinga._C",
    '#include "minisinga.h"',
    sources=kernel_sources(),
    include_dirs=[str(C_DIR)],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
    depends=dependencies(_cflags + _ldflags),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
