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
    from minisinga.testing.conv import np_conv2d
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    y, _ = bench.np_conv_forward(x, w, b)
    np.testing.assert_allclose(y, np_conv2d(x, w, b, padding=1), rtol=1e-10, atol=1e-12)


def test_gpu_bench_smoke_test_on_the_emulated_device(tmp_path):
    """tools/gpu_bench.py (what tools/gpu_check.sh runs on a GPU) works end to end on
    the emulated device: every row's result checked against its reference, the
    training steps' losses equal to the CPU's, the summary table written.  GPU
    time is rare; a script that breaks there wastes it."""
    import os
    import shutil

    import pytest

    from minisinga import gpu
    if not shutil.which("g++"):
        pytest.skip("no g++ to build the emulated CUDA kernels")
    gpu.emulated_gpu()  # build it here, so that a build failure names itself
    table = tmp_path / "bench.txt"
    script = os.path.join(os.path.dirname(__file__), "..", "tools", "gpu_bench.py")
    cmd = [sys.executable, script, "--emulated", "--out", str(table),
           "--workloads", "matmul", "memory", "twins", "mlp"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rows = {}
    for line in table.read_text().splitlines()[3:]:
        cells = line.split()
        unit = next(i for i, c in enumerate(cells) if c in ("TFLOP/s", "GB/s", "steps/s"))
        rows[" ".join(cells[:unit - 4])] = float(cells[-1])   # op name -> rel.err
    assert {"matmul f32", "matmul f64", "add", "softmax", "im2col 3x3", "adam_update",
            "mlp step", "mlp graph step"} <= set(rows)
    assert all(err <= 1e-4 for err in rows.values()), rows
    # the same model on the CPU: the same losses, up to the order of the GEMM's sums
    assert rows["mlp step"] <= 1e-6 and rows["mlp graph step"] <= 1e-6


def test_busy_mode_compares_default_threads_with_one_thread():
    """`--busy`: the default thread count against 1 thread, on the machine as it is
    and beside a process that keeps a core busy (pinned, then free to move)."""
    cmd = [sys.executable, "-m", "minisinga.bench", "--busy", "--quick", "--workloads",
           "gemm1024"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("workload"))
    rows = [line.split() for line in lines[header + 1:]]
    machines = [" ".join(r[1:3]).rstrip() if r[1] == "busy," else r[1] for r in rows]
    assert machines == ["quiet", "busy, pinned", "busy, unpinned"]
    for r in rows:
        assert r[0] == "gemm1024" and float(r[-1]) > 0   # default / 1 thread
        assert r[-3] == "in" and int(r[-4]) >= 0 and int(r[-2]) > 0   # back-offs in steps


def test_peak_loop_counts_its_operations_and_does_them():
    """gemm_peak (the register-only loop the gemm rows are measured against) does
    2 * MR * NR multiply-adds' worth of operations per step, whatever the thread
    count, and really computes them: its result grows with the steps."""
    from minisinga import device
    from minisinga._lib import ffi, lib
    n = device.get_num_threads()
    try:
        sums, flops = {}, {}
        for threads in (1, 2):
            device.set_num_threads(threads)
            for iters in (5000, 10000):
                sink = ffi.new("float *")
                flops[threads, iters] = lib.gemm_peak_f32(sink, iters)
                sums[threads, iters] = sink[0]
    finally:
        device.set_num_threads(n)
    per_step = flops[1, 5000] // 5000
    assert per_step >= 2 * 6 * 8 and per_step % 16 == 0     # 2 MR NR, NR a whole vector
    assert flops == {(t, i): per_step * i for t in (1, 2) for i in (5000, 10000)}
    for t in (1, 2):
        assert 0 < sums[t, 5000] and np.isclose(sums[t, 10000], 2 * sums[t, 5000], rtol=1e-2)
    assert np.isclose(sums[1, 10000], sums[2, 10000], rtol=1e-2)


def test_profile_mode_shows_where_the_step_goes(tmp_path):
    """`--profile`: the time inside each kernel of one training step, from the
    device's time profile, beside PyTorch's profile when it is importable."""
    path = tmp_path / "profile.json"
    cmd = [sys.executable, "-m", "minisinga.bench", "--profile", "tiny_mlp", "--quick",
           "--json", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    import json
    res = json.loads(path.read_text())
    kernels = res["minisinga"]
    # the tiny MLP's step: 2 products forward, 3 backward (no gradient for the input
    # batch), 4 parameters updated
    assert kernels["gemm"][0] == 5 and kernels["sgd_update"][0] == 4
    inside = sum(sec for _, sec in kernels.values())
    assert 0 < inside < res["step"]
    assert "gemm" in out.stdout and "inside its kernels" in out.stdout
