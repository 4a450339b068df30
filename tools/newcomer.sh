#!/usr/bin/env bash
# Do what the README tells a newcomer, exactly: a fresh clone, a fresh virtual
# environment, then the README's main command (the line after
# <!-- main-command --> and its fence), and check what it promises:
#   * it ends with "final test accuracy 0.9x" of at least 0.95,
#   * it wrote runs/cnn/checkpoint.zip and runs/cnn/training.png,
#   * it wrote nothing that git does not ignore (`git status` stays clean),
#   * with nvcc but no NVIDIA driver, no CUDA module was built.
# The README's test command is run the same way by .ci/run itself.  The time
# is printed (the README quotes it), never asserted: machines differ.
#
#   tools/newcomer.sh            # from anywhere in the repository; CI runs it
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

git clone -q "$ROOT" "$WORK/clone"
cd "$WORK/clone"
python3 -m venv "$WORK/venv"
# shellcheck disable=SC1091
. "$WORK/venv/bin/activate"
python -m pip install -q --upgrade pip
unset MINISINGA_CUDA   # as a newcomer has it

MAIN_CMD="$(awk '/<!-- main-command -->/{getline; getline; print; exit}' README.md)"
echo "== newcomer: $MAIN_CMD"
start=$(date +%s.%N)
bash -c "$MAIN_CMD" 2>&1 | tr '\r' '\n' | tee "$WORK/out.txt" | grep -v '%|' || true
[ "${PIPESTATUS[0]}" = 0 ] || { echo "newcomer: the main command failed" >&2; exit 1; }
seconds=$(python -c "import time; print(f'{time.time() - $start:.0f}')")

fail() { echo "newcomer: $1" >&2; exit 1; }
acc=$(grep -o 'final test accuracy [0-9.]*' "$WORK/out.txt" | awk '{print $4}')
[ -n "$acc" ] || fail "no 'final test accuracy' line"
python -c "import sys; sys.exit(0 if float('$acc') >= 0.95 else 1)" \
    || fail "final test accuracy $acc is below 0.95"
for f in runs/cnn/checkpoint.zip runs/cnn/training.png; do
    [ -s "$f" ] || fail "$f was not written"
done
dirty="$(git status --porcelain)"
[ -z "$dirty" ] || fail "the command left files git does not ignore: $dirty"
if command -v nvcc >/dev/null 2>&1 \
        && ! python -c "from minisinga._build_cuda import nvidia_driver_present as d; exit(not d())"; then
    ! python -c "import minisinga._cuda" 2>/dev/null \
        || fail "nvcc but no NVIDIA driver here, and a CUDA module was built anyway"
    echo "== newcomer: nvcc but no NVIDIA driver: no CUDA module built, as promised"
fi
echo "== newcomer: main command OK in ${seconds} s (install + training), final test accuracy $acc"
