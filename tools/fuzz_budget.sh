#!/usr/bin/env bash
# Spend a fixed time budget on the long fuzz profile, with fresh seeds.
#
#   tools/fuzz_budget.sh [SECONDS] [python]     (default 150 s, python3)
#
# The long profile (2,000 examples per property, tests/conftest.py) takes about
# three minutes for the two fuzz files on a quiet machine, more on a busy one;
# so this runs it in rounds of HYPOTHESIS_MAX_EXAMPLES examples per property,
# each round with a new random seed, and starts another round only while the
# last round's time still fits in what is left of the budget.  Each round prints
# its seed first; to replay a failure:
#
#   HYPOTHESIS_PROFILE=long HYPOTHESIS_MAX_EXAMPLES=<n> \
#       pytest tests/test_fuzz.py tests/test_fuzz_conv.py --hypothesis-seed=<seed>
#
# (Hypothesis also prints the failing example itself, and a @reproduce_failure blob.)
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET="${1:-150}"
PY="${2:-python3}"
ROUND_EXAMPLES="${FUZZ_ROUND_EXAMPLES:-250}"
start=$(date +%s)
last=0
round=0
while :; do
    now=$(date +%s)
    left=$((BUDGET - (now - start)))
    if [ "$round" -gt 0 ] && [ "$last" -gt "$left" ]; then
        break
    fi
    round=$((round + 1))
    seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    echo "== fuzz round $round: HYPOTHESIS_PROFILE=long HYPOTHESIS_MAX_EXAMPLES=$ROUND_EXAMPLES --hypothesis-seed=$seed (${left}s of ${BUDGET}s left)"
    t0=$(date +%s)
    HYPOTHESIS_PROFILE=long HYPOTHESIS_MAX_EXAMPLES="$ROUND_EXAMPLES" \
        "$PY" -m pytest -q -p no:cacheprovider tests/test_fuzz.py tests/test_fuzz_conv.py \
        --hypothesis-seed="$seed" || {
            echo "fuzz: FAILED in round $round; replay with --hypothesis-seed=$seed (command above)" >&2
            exit 1
        }
    last=$(( $(date +%s) - t0 ))
done
echo "== fuzz: $round rounds of $ROUND_EXAMPLES examples per property in $(( $(date +%s) - start ))s, no failure"
