#!/usr/bin/env bash
# Run the whole test suite against an AddressSanitizer + UndefinedBehaviorSanitizer
# build of minisinga's C extension.
#
#   tools/sanitize.sh            # from anywhere in the repository; .ci/run calls it
#   tools/sanitize.sh -k fuzz    # extra arguments go to pytest
#
# The sanitized build must not replace the normal one (an editable install keeps
# its .so in the source tree), so this script copies the working tree (tracked
# and untracked-but-not-ignored files) into a scratch directory, makes a second
# virtual environment there, and installs the copy with MINISINGA_SANITIZE=1.
# Nothing outside the scratch directory is touched; it is deleted on exit.
#
# Python itself is not instrumented, so ASan's runtime has to be loaded first:
# LD_PRELOAD=libasan.so (the extension pulls in libubsan itself).  Settings:
#   ASAN_OPTIONS   detect_leaks=1 (LeakSanitizer at exit), abort on the first error
#   LSAN_OPTIONS   tools/lsan.supp: CPython's and NumPy's exit-time "leaks" only
#   UBSAN_OPTIONS  halt_on_error=1:print_stacktrace=1 (the build already has
#                  -fno-sanitize-recover, so any UB report stops the process)
# Any report makes the run fail.  Before the suite, two self-checks prove that
# the build is really sanitized and that a leaked ms_alloc block IS reported
# (so the suppressions cannot silently hide our own leaks).
#
# RSS-based memory tests are skipped in this run (marker `rss`): ASan keeps freed
# memory in quarantine, so RSS says nothing here; LeakSanitizer checks instead.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src"

echo "== sanitize: copying the working tree to $WORK/src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) \
    | tar -xf - -C "$WORK/src"

echo "== sanitize: building with MINISINGA_SANITIZE=1 in a second virtual environment"
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q --upgrade pip
# MINISINGA_CUDA=0: the nvcc-built module is not instrumented anyway, and
# skipping it saves minutes; the CUDA kernels still run here, on the CPU
# emulator that tests/test_cuda.py builds with g++.  MINISINGA_SANITIZE=1 in
# the test run (san below) builds that emulator with ASan and UBSan too, and
# gives its tensors exact, never-reused memory (gpu.emulated_gpu): an access
# past a tensor's end or after its free in a CUDA kernel is then reported, as
# compute-sanitizer would on a GPU.
(cd "$WORK/src" && MINISINGA_SANITIZE=1 MINISINGA_CUDA=0 "$VPY" -m pip install -q -e ".[test]")

# Compilers that the tests start (g++ for the emulated CUDA kernels, gcc -E for
# the cffi declarations) must not inherit LD_PRELOAD=libasan: ASan would check
# the compiler itself, and its own leaks at exit would fail the run.  These
# wrappers, first on PATH during the sanitized run, drop it; Python children
# (examples run as commands) keep it, as they must to load the extension.
mkdir -p "$WORK/nosan"
for tool in gcc g++ cc c++ nvcc; do
    real="$(command -v "$tool" || true)"
    [ -n "$real" ] || continue
    printf '#!/bin/sh\nexec env -u LD_PRELOAD %s "$@"\n' "$real" > "$WORK/nosan/$tool"
    chmod +x "$WORK/nosan/$tool"
done

ASAN_LIB="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$ASAN_LIB" ]; then
    echo "sanitize: gcc has no libasan.so (install libasan / gcc's sanitizer runtime)" >&2
    exit 2
fi

# Run a command with the sanitizer runtime and options; cwd is the copy.
# Reports go to files under $WORK/reports (pytest's output capture would swallow
# a report written to stderr by a process that then dies); show_reports prints them.
# allocator_may_return_null=1: a huge allocation returns NULL as glibc's does,
# so minisinga's MemoryError path runs instead of ASan aborting.
mkdir -p "$WORK/reports"
san() {
    (cd "$WORK/src" && env \
        LD_PRELOAD="$ASAN_LIB" \
        ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1:exitcode=86:log_path=$WORK/reports/asan" \
        LSAN_OPTIONS="suppressions=$ROOT/tools/lsan.supp:print_suppressions=0:exitcode=87" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=88:log_path=$WORK/reports/ubsan" \
        OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" \
        PATH="$WORK/nosan:$PATH" \
        MINISINGA_CUDA=0 \
        MINISINGA_SANITIZE=1 \
        "$@")
}
# Print every report file; fail if one holds an error (ASan/LSan "ERROR:", UBSan
# "runtime error").  ASan's "failed to allocate" WARNINGs are expected: the tests
# ask for impossible sizes on purpose and check the MemoryError.
show_reports() {
    local bad=0
    for f in "$WORK"/reports/*; do
        [ -e "$f" ] || continue
        if grep -q "ERROR: \|runtime error" "$f"; then
            bad=1
            echo "---- $f" >&2
            cat "$f" >&2
        fi
    done
    rm -f "$WORK"/reports/*
    return $bad
}

echo "== sanitize: self-check 1: the extension is the sanitized build"
san "$VPY" -c "from minisinga._lib import lib; assert lib.ms_sanitized() == 1, 'not sanitized'" \
    || { show_reports; exit 1; }
show_reports || exit 1

echo "== sanitize: self-check 2: a leaked ms_alloc block is reported"
if san "$VPY" -c "from minisinga._lib import lib; lib.ms_alloc(4096)"; then
    echo "sanitize: LeakSanitizer did not report a deliberately leaked block" >&2
    exit 1
fi
if ! cat "$WORK"/reports/* 2>/dev/null | grep -q "in ms_alloc"; then
    echo "sanitize: the deliberate leak was not attributed to ms_alloc" >&2
    show_reports
    exit 1
fi
rm -f "$WORK"/reports/*

echo "== sanitize: the whole test suite under ASan + UBSan + LSan"
start=$(date +%s)
rc=0
# MINISINGA_LSAN_AT_END: tests/conftest.py runs the leak check when the session
# ends, while every object that Python still holds is reachable (at exit, Python
# drops objects without their finalisers, and blocks still held would look
# leaked).  PYTHONMALLOC=malloc: Python objects then live in malloc'd memory,
# which LSan scans for pointers (pymalloc's mmap'd arenas are invisible to it,
# so a buffer held only by a Python object would look leaked).
san env MINISINGA_LSAN_AT_END=1 PYTHONMALLOC=malloc \
    "$VPY" -m pytest -q -p no:cacheprovider "$@" || rc=$?
if ! show_reports || [ "$rc" -ne 0 ]; then
    echo "sanitize: FAILED (pytest exit status $rc; sanitizer reports above, if any)" >&2
    exit 1
fi
echo "== sanitize: clean (suite took $(( $(date +%s) - start )) s)"
