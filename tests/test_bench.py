"""`python -m minisinga.bench --quick` runs and prints its table.

No timing is asserted (speed is measured, never tested); this only checks that the
benchmark command works end to end: children spawned, every library's step runs,
the table comes out.
"""
import subprocess
import sys

import numpy as np

from minisinga import bench


def test_quick_bench_prints_a_table():
    cmd = [sys.executable, "-m", "minisinga.bench", "--quick", "--workloads", "tiny_mlp",
           "conv", "--libs", "minisinga", "minisinga-graph", "numpy"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("workload"))
    rows = {line.split()[0]: line.split() for line in lines[header + 1:header + 3]}
    assert set(rows) == {"tiny_mlp", "conv"}
    assert rows["conv"][4] == "-"   # ["conv", "1", "84.9", "ms", "-", ...]: no graph mode
    assert "Peak memory" in out.stdout


def test_numpy_conv_reference_matches_minisinga():
    """The hand-written NumPy convolution the benchmark times computes a convolution."""
    from minisinga.ops.conv import np_conv2d
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    y, _ = bench.np_conv_forward(x, w, b)
    np.testing.assert_allclose(y, np_conv2d(x, w, b, padding=1), rtol=1e-10, atol=1e-12)
