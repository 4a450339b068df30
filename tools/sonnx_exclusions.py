"""Regenerate tests/sonnx_exclusions.py: run every ONNX conformance case once
(tests/sonnx_conformance.py) and list those the importer refuses with
NotImplementedError, grouped by reason.  A case that fails any other way is
printed and the script exits 1: that is a bug to fix, not an exclusion.

It also writes docs/onnx_conformance_table.txt, the table of counts per operator
type that docs/onnx.md includes (the measured run, with its onnx version).

    python tools/sonnx_exclusions.py      # needs pip install -e ".[onnx]"
"""
import collections
import os
import re
import sys
import textwrap
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
warnings.filterwarnings("ignore")
from sonnx_conformance import all_cases, run_case  # noqa: E402

#: (substring of the NotImplementedError message, kind, the reason in full)
KINDS = [
    ("element type", "dtype",
     "an input or initializer of an element type minisinga lacks (float16, bfloat16, float8, "
     "int4/2, strings...): minisinga has float32, float64 and int32"),
    ("input of type int32", "intcompute",
     "arithmetic or comparison on integer or bool tensors: minisinga's kernels compute on "
     "float32 and float64 only (integers are data: shapes, indices)"),
    ("Cast node", "cast", "a cast to an element type minisinga lacks"),
    ("not supported by minisinga's importer", "op",
     "an operator minisinga does not implement (ConvTranspose, InstanceNormalization, "
     "sequences, strings, training ops)"),
    ("operator domain", "op", None),
    ("sequence_type", "op", None),
    ("optional_type", "op", None),
    ("-D convolution or pooling", "rank",
     "1-D or 3-D convolution, pooling or batch norm: minisinga has the 2-D (NCHW) forms"),
    ("-D input", "rank", None),
    ("Resize", "resize",
     "Resize other than nearest with asymmetric coordinates and floor (linear, cubic, "
     "half_pixel...): minisinga has nearest upsampling by whole numbers"),
    ("training_mode", "training",
     "training-mode Dropout / BatchNormalization inside the graph (an imported graph runs in "
     "inference form; SONNXModel trains with autograd instead)"),
]
POOL = ("pool", "a pooling attribute minisinga's pooling does not have (ceil_mode, dilations, "
                "count_include_pad with padding, storage_order, Indices)")
OTHER = ("other", "minisinga refuses the input on purpose (see each line)")
REASON = {kind: why for _, kind, why in KINDS if why} | dict([POOL, OTHER])
COMMENTED = ("other", "op", "pool", "training")   # kinds whose lines carry the message


def kind_of(msg: str) -> str:
    if any(w in msg for w in ("ceil_mode", "dilations", "count_include_pad", "storage_order",
                              "Indices output")):
        return POOL[0]
    for needle, kind, _ in KINDS:
        if needle in msg:
            return kind
    return OTHER[0]


def _row_of(case) -> str:
    """The table row of a case: its operator type for a one-operator node case."""
    if case.kind != "node":
        return f"model tests: {case.kind}"
    ops = sorted({n.op_type for n in case.load()[0].graph.node})
    return f"`{ops[0]}`" if len(ops) == 1 else "several operators (expanded functions)"


def write_table(cases, outcome, refused, seconds: float) -> None:
    import onnx
    rows = collections.defaultdict(lambda: [0, 0, collections.Counter()])
    for case in cases:
        row = rows[_row_of(case)]
        row[0] += 1
        if outcome[case.name] == "passed":
            row[1] += 1
        elif case.name in refused:
            row[2][kind_of(refused[case.name])] += 1
    out = [f"Measured with onnx {onnx.__version__}: {len(cases)} cases, "
           f"{sum(o == 'passed' for o in outcome.values())} passed, {len(refused)} excluded, "
           f"{seconds:.0f} s on the 2-core development machine "
           "(`python tools/sonnx_exclusions.py`).", "",
           "| operator type | cases | passed | excluded (kind: count) |", "|---|---|---|---|"]
    for name in sorted(rows, key=lambda r: (r.startswith(("model", "several")), r)):
        n, ok, why = rows[name]
        ex = ", ".join(f"{k}: {c}" for k, c in sorted(why.items()))
        out.append(f"| {name} | {n} | {ok} | {ex} |")
    with open(os.path.join(HERE, "..", "docs", "onnx_conformance_table.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


def main() -> int:
    t0 = time.time()
    cases = all_cases()
    refused, fails, passed = {}, [], 0
    outcome = {}
    for case in cases:
        outcome[case.name] = "refused"
        try:
            run_case(case)
            passed += 1
            outcome[case.name] = "passed"
        except NotImplementedError as e:
            refused[case.name] = str(e)
        except Exception as e:  # noqa: BLE001 - every other failure is reported
            fails.append((case.name, repr(e)[:300]))
    groups = collections.defaultdict(list)
    for name, msg in sorted(refused.items()):
        groups[kind_of(msg)].append((name, msg))

    lines = ['"""The ONNX conformance cases minisinga does not run, and why.', '',
             "Generated by tools/sonnx_exclusions.py, which runs every case once;",
             "tests/test_sonnx.py checks that each case listed here still raises",
             "NotImplementedError, so an exclusion is always an explicit refusal by the",
             "importer and never hides a wrong result.  Grouped by reason; REASONS at the",
             'end says each reason in full."""', "", "EXCLUDED = {"]
    for kind in sorted(groups):
        lines += [f"    # {part}" for part in textwrap.wrap(REASON[kind], 100)]
        for name, msg in groups[kind]:
            entry = f'    "{name}": "{kind}",'
            if kind in COMMENTED:
                short = re.sub(r"^sonnx: ", "", msg).replace('"', "'")
                room = 110 - len(entry) - 4
                entry += "  # " + (short if len(short) <= room else short[:room - 3] + "...")
            lines.append(entry)
    lines += ["}", "", "#: the reason for each kind of exclusion", "REASONS = {"]
    for kind in sorted(groups):
        parts = textwrap.wrap(REASON[kind], 90)
        lines.append(f'    "{kind}": (')
        lines += [f'        "{p}{" " if j < len(parts) - 1 else ""}"' for j, p in enumerate(parts)]
        lines.append("    ),")
    lines.append("}")
    with open(os.path.join(HERE, "..", "tests", "sonnx_exclusions.py"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_table(cases, outcome, refused, time.time() - t0)
    print(f"{len(cases)} cases in {time.time() - t0:.0f} s: {passed} passed, "
          f"{len(refused)} refused ({ {k: len(v) for k, v in sorted(groups.items())} }), "
          f"{len(fails)} failed")
    for name, err in fails:
        print("FAILED", name, err)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
