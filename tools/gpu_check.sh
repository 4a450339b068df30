#!/usr/bin/env bash
# tools/gpu_check.sh -- on a fresh GPU machine: build minisinga with its CUDA
# backend, run the GPU tests, run the GPU benchmarks, train the README's example
# on the GPU and on the CPU, print a summary last.
#
# Needs python3 with numpy (torch for the benchmark comparison, pytest for the
# tests), nvcc, and cffi + pycparser: when python3 cannot import cffi, the
# wheels are installed from .whl/ (see minisinga/cuda/README.md for how to
# fetch them and the exact device `run` call).  Logs go to $OUT (or
# /tmp/minisinga-gpu-check).  Exit status: 0 when the build, the tests, the
# benchmarks' correctness checks and the example trainings all pass.
#
#   bash tools/gpu_check.sh --emulated   # a rehearsal without a GPU: the same
#       steps, the tests on the emulated device, the benchmarks' smoke test
#       (no CNN step: minutes there); checks this script, not the GPU.
set -uo pipefail
EMULATED=0
[ "${1:-}" = "--emulated" ] && EMULATED=1
cd "$(dirname "$0")/.."
LOG="${OUT:-/tmp/minisinga-gpu-check}"
mkdir -p "$LOG"
export PYTHONUNBUFFERED=1
step() { echo; echo "== $* ($(date +%T))"; }
START=$(date +%s)

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
nvcc --version | tail -2
python3 -c "import sys, numpy; print('python', sys.version.split()[0], '/ numpy', numpy.__version__)"

step "cffi"
if ! python3 -c "import cffi" 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "cffi is not installed and there is no .whl/ folder: see minisinga/cuda/README.md"
        exit 1
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/ms_site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/ms_site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 -c "import cffi; print('cffi', cffi.__version__)" || exit 1

step "build (MINISINGA_CUDA=1: nvcc required; C and CUDA kernels in place)"
T0=$(date +%s)
MINISINGA_CUDA=1 python3 setup.py build_ext --inplace >"$LOG/build.log" 2>&1
BUILD_RC=$?
BUILD_S=$(( $(date +%s) - T0 ))
grep -E "^minisinga|error|Error" "$LOG/build.log" | head -40
if [ $BUILD_RC -ne 0 ]; then
    echo "BUILD FAILED (exit $BUILD_RC) after ${BUILD_S}s; the end of $LOG/build.log:"
    tail -60 "$LOG/build.log"
    exit 1
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
TEST_DEVICES=cuda
BENCH_ARGS=()
if [ $EMULATED -eq 1 ]; then
    echo "REHEARSAL: the emulated device stands in for the GPU"
    TEST_DEVICES=emulated
    BENCH_ARGS=(--emulated --workloads matmul memory twins mlp)
else
# all-skipped GPU tests would look like a pass: insist on a visible GPU
python3 -c "
import sys
from minisinga import device, gpu
print('GPUs:', device.get_num_gpus(), gpu.why_unavailable())
sys.exit(0 if device.get_num_gpus() > 0 else 1)" || { echo "NO GPU VISIBLE: stopping"; exit 1; }
fi

step "GPU tests (tests/test_cuda*.py on the $TEST_DEVICES device)"
# test_cuda.py: every kernel twin through the operation registry, plus hard
# shapes; test_cuda_kernels.py: the conv / pooling / batchnorm / mathfn /
# indexing twins in long rows, many blocks, ties, against the C kernels;
# test_cuda_model.py: graph mode, the optimizers and checkpoints on the GPU.
T0=$(date +%s)
MINISINGA_TEST_DEVICES=$TEST_DEVICES timeout 420 python3 -m pytest tests/test_cuda.py \
    tests/test_cuda_kernels.py tests/test_cuda_model.py -q -rfE --tb=short \
    -p no:cacheprovider 2>&1 | tee "$LOG/pytest.log" | grep -v "^SKIPPED"
TEST_RC=${PIPESTATUS[0]}
TEST_S=$(( $(date +%s) - T0 ))
TEST_LINE=$(tail -1 "$LOG/pytest.log")

step "benchmarks (tools/gpu_bench.py)"
T0=$(date +%s)
timeout 240 python3 tools/gpu_bench.py "${BENCH_ARGS[@]}" --out "$LOG/bench.txt" 2>&1 | tee "$LOG/bench.log"
BENCH_RC=${PIPESTATUS[0]}
BENCH_S=$(( $(date +%s) - T0 ))

step "example: examples/train.py (the CNN, 2 epochs, graph mode) on the GPU, then the CPU"
# The README's training with one option changed: the same model, seed and data
# order on both devices, so the two accuracies should agree closely.
T0=$(date +%s)
EX_RC=0
EX_DETAIL="skipped in the rehearsal (the CNN is too slow on the emulated device)"
if [ $EMULATED -eq 0 ]; then
    for dev in gpu cpu; do
        timeout 150 python3 examples/train.py --device $dev --quiet --plot "" \
            --checkpoint "/tmp/ms_example_$dev.zip" 2>&1 | tee "$LOG/example_$dev.log"
        rc=${PIPESTATUS[0]}
        [ $rc -ne 0 ] && EX_RC=$rc
    done
    acc() { grep -o 'final test accuracy [0-9.]* after [0-9]* steps in [0-9.]* s' \
        "$LOG/example_$1.log" 2>/dev/null | sed 's/final test //; s/after [0-9]* steps //' || echo "none"; }
    EX_DETAIL="gpu: $(acc gpu); cpu: $(acc cpu)"
fi
EX_S=$(( $(date +%s) - T0 ))

# The benchmark table first, then the table of the steps: the last lines
# printed say whether the check passed.
step "summary"
if [ -f "$LOG/bench.txt" ]; then cat "$LOG/bench.txt"; else echo "(no benchmark table)"; fi
ok() { [ "$1" -eq 0 ] && echo "ok" || echo "FAILED"; }
echo
printf '%-11s | %-6s | %5s | %7s | %s\n' "step" "result" "exit" "seconds" "detail"
printf '%-11s | %-6s | %5s | %7s | %s\n' "build" "$(ok $BUILD_RC)" "$BUILD_RC" "$BUILD_S" \
    "MINISINGA_CUDA=1 setup.py build_ext (nvcc $(nvcc --version | grep -o 'release [0-9.]*'))"
printf '%-11s | %-6s | %5s | %7s | %s\n' "GPU tests" "$(ok $TEST_RC)" "$TEST_RC" "$TEST_S" \
    "$TEST_LINE"
printf '%-11s | %-6s | %5s | %7s | %s\n' "benchmarks" "$(ok $BENCH_RC)" "$BENCH_RC" \
    "$BENCH_S" "correctness checked before timing; table above"
printf '%-11s | %-6s | %5s | %7s | %s\n' "example" "$(ok $EX_RC)" "$EX_RC" "$EX_S" \
    "$EX_DETAIL"
printf '%-11s | %-6s | %5s | %7s | %s\n' "total" "" "" "$(( $(date +%s) - START ))" \
    "logs in $LOG"
[ $TEST_RC -eq 0 ] && [ $BENCH_RC -eq 0 ] && [ $EX_RC -eq 0 ]
