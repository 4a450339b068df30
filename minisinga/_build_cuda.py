"""Build script for minisinga's CUDA backend, the cffi module ``minisinga._cuda``.

A second extension module, separate from ``minisinga._C``, so that a machine
without CUDA still builds and imports minisinga (``device.get_num_gpus()`` is
then 0).  setup.py lists this file in ``cffi_modules`` only when CUDA is
wanted (see ``nvcc_or_none``).

How the pieces fit:

* Every ``minisinga/cuda/<name>.cu`` but ``core.cu`` is the CUDA twin of
  ``minisinga/c/<name>.c``, written once in terms of ``T`` and ``FN`` like the C
  file.  For each element type we generate a wrapper
  (``build/ms_cuda/gen/<name>_<type>.cu``) that defines ``T`` and ``FN`` and
  includes it, exactly as ``_build.py`` does for the C kernels.
* nvcc compiles each wrapper to an object (in parallel, and only when a source
  changed), for sm_80 and sm_90 machine code plus compute_90 PTX, with -O3 and
  -fPIC.  cffi links those objects and the STATIC CUDA runtime
  (libcudart_static.a) into ``minisinga._cuda``: the module needs the NVIDIA
  driver at run time, not a CUDA toolkit.
* The declarations: ``minisinga/cuda/ms_cuda.h`` declares the GPU housekeeping
  (memory, copies, errors) and reads the typed half of ``minisinga/c/minisinga.h``
  once per element type, so every launcher is declared with its C kernel's
  signature; each .cu includes it, so nvcc rejects a launcher whose signature
  differs.  The cffi ``cdef`` is that header run through the preprocessor, with
  the sections of kernel files that have no .cu twin yet left out (their names
  then raise a clear error when looked up on a GPU; see minisinga/cuda/README.md).
  After compiling, ``check_objects`` verifies with ``nm`` that every declared
  function is defined by some object, so a half-written twin fails the build,
  not the import.

Environment switches (read at build time):

``MINISINGA_CUDA=0``  never build the CUDA module.
``MINISINGA_CUDA=1``  the CUDA module is required: a missing nvcc is an error
                      (CI sets it, so the CUDA sources compile on every run).
(unset)               build it when nvcc is found AND an NVIDIA driver is present
                      (a GPU this machine could run it on), else skip; one line
                      says which and why.  Compiling the kernels takes minutes,
                      wasted on a machine that has nvcc but no GPU.
``MINISINGA_CUDA_ARCHS``  replaces the default ``80,90`` list of machine-code
                      targets (PTX is always added for the last one).
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cffi import FFI

# build_helpers.py, at the repository's root, is what the C and CUDA builds share;
# this script runs before the package is built, from no particular folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import build_helpers as bh  # noqa: E402

ROOT, C_DIR, CUDA_DIR = bh.ROOT, bh.C_DIR, bh.CUDA_DIR
OUT_DIR = Path("build") / "ms_cuda"  # generated wrappers, filtered header, objects

# random.c's declarations sit in the header's storage/random part, which has no
# "end random.c" marker: they are always present, and so must random.cu be.
ALWAYS_DECLARED = {"storage", "random"}


def _switch() -> str:
    """'0' (off), '1' (required) or '' (auto) from MINISINGA_CUDA."""
    value = os.environ.get("MINISINGA_CUDA", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return "0"
    if value in ("1", "true", "yes", "on"):
        return "1"
    return ""


def find_nvcc() -> str | None:
    """The nvcc to use: on the PATH, else under $CUDA_HOME or /usr/local/cuda."""
    found = shutil.which("nvcc")
    if found:
        return found
    for home in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if home and (Path(home) / "bin" / "nvcc").exists():
            return str(Path(home) / "bin" / "nvcc")
    return None


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver, i.e. a GPU the module could run on.

    The kernel driver shows itself in /proc/driver/nvidia; in a container the
    user-space driver library libcuda.so.1 is mounted in.  Either will do."""
    if Path("/proc/driver/nvidia/version").exists():
        return True
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def nvcc_or_none(announce: bool = False) -> str | None:
    """nvcc's path when the CUDA module should be built, else None.

    Raises RuntimeError when MINISINGA_CUDA=1 and there is no nvcc."""
    switch = _switch()
    if switch == "0":
        if announce:
            print("minisinga: MINISINGA_CUDA=0: building without the CUDA backend")
        return None
    nvcc = find_nvcc()
    if nvcc is not None and switch == "" and not nvidia_driver_present():
        if announce:
            print(f"minisinga: nvcc found ({nvcc}) but no NVIDIA driver here: building "
                  "without the CUDA backend (minisinga._cuda), which could not run; "
                  "set MINISINGA_CUDA=1 to build it anyway")
        return None
    if nvcc is None:
        if switch == "1":
            raise RuntimeError(
                "MINISINGA_CUDA=1 asks for the CUDA backend, but nvcc was not found on "
                "the PATH, under $CUDA_HOME or in /usr/local/cuda. Install the CUDA "
                "toolkit (or put its bin/ on the PATH), or unset MINISINGA_CUDA.")
        if announce:
            print("minisinga: nvcc not found: building without the CUDA backend "
                  "(minisinga._cuda); set MINISINGA_CUDA=1 to require it")
        return None
    if announce:
        why = "MINISINGA_CUDA=1" if switch == "1" else "nvcc and an NVIDIA driver found"
        print(f"minisinga: building the C kernels (minisinga._C) and the CUDA kernels "
              f"(minisinga._cuda, {why}; compiling them takes a few minutes)")
    return nvcc


def cuda_library_dir(nvcc: str) -> str:
    """The folder holding libcudart_static.a, as nvcc itself reports it."""
    out = subprocess.run([nvcc, "--dryrun", "-x", "cu", "-c", os.devnull, "-o", os.devnull],
                         capture_output=True, text=True).stderr
    candidates = []
    for line in out.splitlines():
        if "LIBRARIES=" in line:
            candidates += re.findall(r'-L"?([^"\s]+)"?', line)
    candidates += [str(Path(nvcc).resolve().parent.parent / sub)
                   for sub in ("lib64", "lib", "targets/x86_64-linux/lib")]
    for cand in candidates:
        if (Path(cand) / "libcudart_static.a").exists():
            return str(Path(cand).resolve())
    raise RuntimeError(f"libcudart_static.a was not found next to {nvcc} "
                       f"(looked in: {', '.join(candidates)})")


def nvcc_flags() -> list[str]:
    """The nvcc flags: -O3, -fPIC and the GPU targets."""
    archs = [a.strip() for a in os.environ.get("MINISINGA_CUDA_ARCHS", "80,90").split(",")
             if a.strip()]
    flags = ["-O3", "-std=c++17", "-Xcompiler", "-fPIC", "-cudart", "static",
             "-I", str(ROOT / C_DIR), "-I", str(ROOT / CUDA_DIR)]
    for arch in archs:
        flags += ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
    flags += ["-gencode", f"arch=compute_{archs[-1]},code=compute_{archs[-1]}"]
    return flags


def twin_stems() -> list[str]:
    """The kernel files that have a CUDA twin (names without .cu)."""
    return sorted(p.stem for p in (ROOT / CUDA_DIR).glob("*.cu") if p.stem not in bh.UNTYPED)


def missing_twins() -> list[str]:
    """C kernel files (name.c) with no minisinga/cuda/name.cu yet."""
    have = set(twin_stems())
    return sorted(p.name for p in (ROOT / C_DIR).glob("*.c")
                  if p.name != "core.c" and p.stem not in have)


def cuda_sources() -> list[Path]:
    """Every translation unit nvcc compiles: core.cu plus one wrapper per (file, type)."""
    sources = [ROOT / CUDA_DIR / "core.cu"]
    for stem in twin_stems():
        for suffix in bh.suffixes_of(stem):
            wrapper = bh.typed_wrapper(ROOT / OUT_DIR / "gen" / f"{stem}_{suffix}.cu",
                                       f"{stem}.cu", "ms_cuda.h", suffix,
                                       "minisinga/_build_cuda.py")
            sources.append(wrapper)
    return sources


def object_path(src: Path) -> Path:
    return ROOT / OUT_DIR / "obj" / (src.stem + ".o")


def _source_of(wrapper: Path) -> Path:
    """The handwritten .cu a generated wrapper includes (core.cu is itself)."""
    if wrapper.parent == ROOT / CUDA_DIR:
        return wrapper
    return ROOT / CUDA_DIR / (wrapper.stem.rsplit("_", 1)[0] + ".cu")


def compile_objects(nvcc: str, verbose: bool = True) -> list[str]:
    """nvcc every source whose object is missing or older than its inputs (or
    built with other flags); returns every object path."""
    flags = nvcc_flags()
    stamp = ROOT / OUT_DIR / "obj" / "flags.txt"
    stamp_text = "\n".join([nvcc] + flags)
    same_flags = stamp.exists() and stamp.read_text() == stamp_text
    jobs = []
    for src in cuda_sources():
        obj = object_path(src)
        inputs = [src, _source_of(src)] + bh.headers()
        newest = max(p.stat().st_mtime for p in inputs)
        if not same_flags or not obj.exists() or obj.stat().st_mtime < newest:
            jobs.append((src, obj))

    def run(job):
        src, obj = job
        obj.parent.mkdir(parents=True, exist_ok=True)
        cmd = [nvcc, "-c", str(src), "-o", str(obj)] + flags
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nvcc failed on {src.relative_to(ROOT)}:\n{' '.join(cmd)}\n"
                               f"{done.stdout}{done.stderr}")
        return src

    if jobs:
        if verbose:
            print(f"minisinga: nvcc: compiling {len(jobs)} CUDA source(s) "
                  f"({' '.join(flags[flags.index('-gencode'):])})", flush=True)
        workers = max(1, min(len(jobs), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for src in pool.map(run, jobs):
                if verbose:
                    print(f"minisinga: nvcc: {src.relative_to(ROOT)}", flush=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(stamp_text)
    objects = [str(object_path(src)) for src in cuda_sources()]
    check_objects(objects)
    return objects


def check_objects(objects: list[str]) -> None:
    """Fail the build if a declared function is defined by no object (nm)."""
    nm = shutil.which("nm")
    if nm is None:
        print("minisinga: nm not found: skipping the check that every declared CUDA "
              "launcher is defined")
        return
    out = subprocess.run([nm, "--defined-only", "-g"] + objects, check=True,
                         capture_output=True, text=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if len(line.split()) >= 3}
    missing = [name for name in bh.declared_functions(preprocessed_header()) if name not in defined]
    if missing:
        raise RuntimeError(
            "these functions are declared for the CUDA module (ms_cuda.h, or a section of "
            "minisinga.h whose kernel file has a .cu twin) but no .cu file defines them: "
            + ", ".join(missing))


def filtered_header() -> Path:
    """minisinga.h without the sections of kernel files that have no .cu twin,
    written next to the objects; the cdef is read through it."""
    text = (ROOT / C_DIR / "minisinga.h").read_text()
    have = set(twin_stems()) | ALWAYS_DECLARED

    def keep_or_drop(match):
        return match.group(0) if match.group(1) in have else f"/* {match.group(1)}.c: no CUDA twin */"

    # a section: "/* ====...==== name.c" up to "/* end name.c */"
    text = re.sub(r"/\* =+ (\w+)\.c\b.*?/\* end \1\.c \*/", keep_or_drop, text, flags=re.S)
    path = ROOT / OUT_DIR / "include" / "minisinga.h"
    bh.write_if_changed(path, text)
    return path


def preprocessed_header() -> str:
    """ms_cuda.h (through the filtered minisinga.h) expanded for ``ffi.cdef``."""
    return bh.preprocess(ROOT / CUDA_DIR / "ms_cuda.h", [filtered_header().parent])


def make_ffibuilder(nvcc: str) -> FFI:
    """The cffi builder of minisinga._cuda (the objects are compiled separately,
    by compile_objects, just before cffi generates and links the module)."""
    builder = FFI()
    builder.cdef(preprocessed_header())
    objects = [str(object_path(src)) for src in cuda_sources()]
    builder.set_source(
        "minisinga._cuda",
        '#include "ms_cuda.h"',
        include_dirs=[str(CUDA_DIR), str(C_DIR)],
        extra_objects=objects,
        library_dirs=[cuda_library_dir(nvcc)],
        # the static CUDA runtime and what it needs from the system
        libraries=["cudart_static", "stdc++", "dl", "pthread", "rt"],
        depends=objects + [str(p.relative_to(ROOT)) for p in bh.headers()],
    )
    return builder



def build_emulated(out_dir: Path = ROOT / OUT_DIR / "emulated", cxx: str = "g++") -> Path:
    """The CUDA kernels compiled for the CPU by ``cxx`` under emulate.h (see
    minisinga/cuda/emulate.h), as one shared library in ``out_dir`` (objects
    are rebuilt only when a source changed).  Used by
    tests/test_cuda.py to check the kernels' logic where there is no GPU; it
    needs no nvcc.  core.cu (the real CUDA runtime calls) is left out."""
    out_dir = Path(out_dir)
    sanitize = os.environ.get("MINISINGA_SANITIZE") == "1"
    if sanitize:   # tools/sanitize.sh: the kernels' memory accesses checked by ASan
        out_dir = out_dir.with_name(out_dir.name + "-asan")
    (out_dir / "obj").mkdir(parents=True, exist_ok=True)
    impl = out_dir / "emulate_impl.cpp"
    bh.write_if_changed(impl, '#include "ms_cuda.h"\n#define MS_EMU_IMPLEMENTATION\n'
                            '#include "emulate.h"\n')
    flags = ["-x", "c++", "-std=c++17", "-O1", "-fPIC", "-ffp-contract=off",
             "-Wno-unknown-pragmas", "-DMS_CUDA_EMULATE",
             "-include", str(ROOT / CUDA_DIR / "emulate.h"),
             "-I", str(ROOT / C_DIR), "-I", str(ROOT / CUDA_DIR)]
    if sanitize:
        flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    sources = [impl] + [src for src in cuda_sources() if src.name != "core.cu"]

    inputs = bh.headers() + [ROOT / CUDA_DIR / "emulate.h"]

    def run(src):
        obj = out_dir / "obj" / (src.stem + ".o")
        own = [src] if src == impl else [src, _source_of(src)]
        newest = max(p.stat().st_mtime for p in inputs + own)
        if obj.exists() and obj.stat().st_mtime >= newest:
            return str(obj)  # up to date
        done = subprocess.run([cxx] + flags + ["-c", str(src), "-o", str(obj)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{cxx} (emulated CUDA) failed on {src.name}:\n"
                               f"{done.stdout}{done.stderr}")
        return str(obj)

    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        objects = list(pool.map(run, sources))
    lib = out_dir / "libms_cuda_emulated.so"
    subprocess.run([cxx, "-shared", "-o", str(lib)] + objects
                   + (["-fsanitize=address,undefined"] if sanitize else []), check=True)
    return lib

def ffibuilder() -> FFI:
    """The builder of minisinga._cuda, for setup.py's ``cffi_modules`` (which lists
    this only when ``nvcc_or_none()`` found an nvcc to use)."""
    return make_ffibuilder(nvcc_or_none())


def main(argv: list[str]) -> int:
    """``python minisinga/_build_cuda.py``: build minisinga._cuda here;
    ``python minisinga/_build_cuda.py emulated``: build the emulated kernels (see
    build_emulated), write their declarations next to the library (``cdef.h``), and
    print the library's path (gpu.emulated_gpu runs this)."""
    if argv[:1] == ["emulated"]:
        lib = build_emulated()
        bh.write_if_changed(lib.parent / "cdef.h", preprocessed_header() + "\n")
        print(lib)
        return 0
    nvcc = nvcc_or_none()
    if nvcc is None:
        raise SystemExit("no nvcc (or MINISINGA_CUDA=0): nothing to build")
    compile_objects(nvcc)
    make_ffibuilder(nvcc).compile(verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
