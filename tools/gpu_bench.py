"""GPU benchmarks: minisinga's handwritten CUDA kernels against PyTorch.

    python3 tools/gpu_bench.py [--out FILE] [--quick] [--emulated] [--workloads ...]

Matrix products (float32 at 1024, 2048, 4096; float64 at 2048) against
torch.matmul, i.e. cuBLAS, with TF32 switched OFF so both do true float32
arithmetic; then memory-bound kernels (add, relu, a whole-tensor sum, softmax
over rows, uniform random numbers) in GB/s against the matching torch call;
then the twins of conv.c, pooling.c, batchnorm.c and optim.c (im2col,
max_pool2d, batchnorm training forward, adam_update) in GB/s against
F.unfold, F.max_pool2d, F.batch_norm and torch's fused Adam; last, whole
training steps of ``minisinga.bench``'s mnist_mlp (784 -> 256 -> 10, batch 64)
and cnn (examples/cnn_ops.py's network, batch 32) in minisinga eager and
graph mode against PyTorch eager on CUDA, in steps/s (``--workloads``
picks the parts).

Every kernel is checked before it is timed: its output is first filled with
NaN (so an element it fails to write shows), then compared with a float64
reference by ||out - ref|| / ||ref|| (for the newer twins: the C kernel run in
float64 on the same inputs; an int32 output such as argmax must be equal;
a training step: its first two losses against the CPU's).
Timing: the host clock around a batch of launches closed by a device
synchronisation, after a warm-up; the median of 5 batches.  Prints each row
as it goes and a summary table last.
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time

import numpy as np

from minisinga import device, gpu, tensor
from minisinga.ctensor import CTensor
from minisinga.ops.conv import conv_geom

try:
    import torch
except ImportError:  # the table then has no torch column
    torch = None


WORKLOADS = ("matmul", "memory", "twins", "mlp", "cnn")


#: --emulated: one timed call after the two untimed ones (the times mean nothing there)
SMOKE = False


def timeit(run, sync, target_s: float = 0.05, batches: int = 5) -> float:
    """Median seconds per call of run(), over ``batches`` batches of about target_s
    (after two untimed calls)."""
    if SMOKE:
        target_s, batches = 0.0, 1
    run()
    sync()
    t = time.perf_counter()
    run()
    sync()
    one = max(time.perf_counter() - t, 1e-7)
    reps = max(1, min(1000, int(target_s / one)))
    times = []
    for _ in range(batches):
        sync()
        t = time.perf_counter()
        for _ in range(reps):
            run()
        sync()
        times.append((time.perf_counter() - t) / reps)
    return statistics.median(times)


def rel_err(out: np.ndarray, ref: np.ndarray) -> float:
    if np.isnan(out).any():
        return float("nan")
    return float(np.linalg.norm(out.astype(np.float64) - ref) / max(np.linalg.norm(ref), 1e-300))


def host(ct: CTensor) -> np.ndarray:
    return tensor.to_numpy(tensor.Tensor(data=ct, requires_grad=False))


ROWS: list[tuple] = []


def report(op, size, ms_s, torch_s, unit, amount, err):
    """amount: flops (unit TFLOP/s) or bytes (unit GB/s) per call."""
    scale = {"TFLOP/s": 1e12, "GB/s": 1e9}.get(unit, 1.0)
    ours = amount / ms_s / scale
    theirs = amount / torch_s / scale if torch_s else float("nan")
    ratio = ours / theirs if torch_s else float("nan")
    row = (op, size, ms_s * 1e3, ours, theirs, unit, ratio, err)
    ROWS.append(row)
    print(f"{op:<14} {size:<12} {ms_s * 1e3:9.3f} ms  {ours:9.2f} {unit:<8} "
          f"torch {theirs:9.2f}  ratio {ratio:5.2f}  rel.err {err:.1e}", flush=True)


def bench_matmul(g, n: int, dtype, rng):
    npd = np.float32 if dtype == tensor.float32 else np.float64
    a = rng.standard_normal((n, n)).astype(npd)
    b = rng.standard_normal((n, n)).astype(npd)
    A, B = CTensor.from_numpy(a, dtype, g), CTensor.from_numpy(b, dtype, g)
    C = CTensor((n, n), dtype, g)
    g.kernel("fill", dtype)(C.ptr, float("nan"), n * n)
    gemm = g.kernel("gemm", dtype)

    def run():
        gemm(C.ptr, A.ptr, B.ptr, n, n, n, 0, 0, 1.0, 0.0)

    run()
    if torch is not None:
        ref = (torch.from_numpy(a).cuda().double() @ torch.from_numpy(b).cuda().double()).cpu().numpy()
    else:
        ref = a.astype(np.float64) @ b.astype(np.float64)
    err = rel_err(host(C), ref)
    ours = timeit(run, g.sync)
    theirs = None
    if torch is not None:
        ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
        theirs = timeit(lambda: torch.matmul(ta, tb), torch.cuda.synchronize)
    report(f"matmul {'f32' if dtype == tensor.float32 else 'f64'}", f"{n}^3", ours, theirs,
           "TFLOP/s", 2.0 * n ** 3, err)


def bench_memory(g, n: int, rng):
    f32 = tensor.float32
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    A, B, Y = CTensor.from_numpy(a, f32, g), CTensor.from_numpy(b, f32, g), CTensor((n,), f32, g)
    ta = tb = None
    if torch is not None:
        ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
        ty = torch.empty_like(ta)
    tsync = torch.cuda.synchronize if torch is not None else None

    def check(kernel_out, ref):
        return rel_err(host(kernel_out), ref)

    # add: read 2, write 1
    fill = g.kernel("fill", f32)
    fill(Y.ptr, float("nan"), n)
    add = g.kernel("add_forward", f32)
    add(Y.ptr, A.ptr, B.ptr, n)
    err = check(Y, a.astype(np.float64) + b)
    ours = timeit(lambda: add(Y.ptr, A.ptr, B.ptr, n), g.sync)
    theirs = timeit(lambda: torch.add(ta, tb, out=ty), tsync) if torch is not None else None
    report("add", f"{n}", ours, theirs, "GB/s", 12.0 * n, err)

    # relu: read 1, write 1
    fill(Y.ptr, float("nan"), n)
    relu = g.kernel("relu_forward", f32)
    relu(Y.ptr, A.ptr, n)
    err = check(Y, np.maximum(a, 0).astype(np.float64))
    ours = timeit(lambda: relu(Y.ptr, A.ptr, n), g.sync)
    theirs = timeit(lambda: torch.relu(ta), tsync) if torch is not None else None
    report("relu", f"{n}", ours, theirs, "GB/s", 8.0 * n, err)

    # whole-tensor sum: read 1
    S = CTensor((1, 1), f32, g)
    rsum = g.kernel("reduce_sum_forward", f32)
    rsum(S.ptr, A.ptr, 1, n, 1, 1.0)
    err = abs(float(host(S)[0, 0]) - a.astype(np.float64).sum()) / np.abs(a).sum()
    ours = timeit(lambda: rsum(S.ptr, A.ptr, 1, n, 1, 1.0), g.sync)
    theirs = timeit(lambda: torch.sum(ta), tsync) if torch is not None else None
    report("sum (all)", f"{n}", ours, theirs, "GB/s", 4.0 * n, err)

    # softmax over rows of 4096: read 1, write 1 (at least)
    rows, cols = n // 4096, 4096
    fill(Y.ptr, float("nan"), n)
    smax = g.kernel("softmax_forward", f32)
    smax(Y.ptr, A.ptr, rows, cols, 1)
    a2 = a.reshape(rows, cols).astype(np.float64)
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))
    err = check(Y, (e / e.sum(axis=1, keepdims=True)).reshape(-1))
    ours = timeit(lambda: smax(Y.ptr, A.ptr, rows, cols, 1), g.sync)
    theirs = None
    if torch is not None:
        t2 = ta.view(rows, cols)
        theirs = timeit(lambda: torch.softmax(t2, dim=1), tsync)
    report("softmax", f"{rows}x{cols}", ours, theirs, "GB/s", 8.0 * n, err)

    # uniform random numbers: write 1 (checked against the CPU's, bit for bit)
    unif = g.kernel("random_uniform", f32)
    unif(Y.ptr, n, 0.0, 1.0, 42, 0)
    m = min(n, 1 << 20)
    cpu = CTensor((m,), f32)
    device.get_default_device().kernel("random_uniform", f32)(cpu.ptr, m, 0.0, 1.0, 42, 0)
    same = np.array_equal(host(Y)[:m], cpu.numpy())
    ours = timeit(lambda: unif(Y.ptr, n, 0.0, 1.0, 42, 0), g.sync)
    theirs = timeit(lambda: ty.uniform_(), tsync) if torch is not None else None
    report("uniform", f"{n}", ours, theirs, "GB/s", 4.0 * n, 0.0 if same else float("nan"))


def bench_twin(g, op, size, name, outputs, inputs, scalars, nbytes, torch_fn, rng_note=""):
    """One launch of kernel ``name`` (float32) on ``g``: its outputs (``outputs``:
    (shape, dtype) pairs, NaN-poisoned or -1 for int32) are checked against the
    C kernel run in float64 on the CPU with the same inputs (``inputs``:
    float32 or int32 arrays; ``scalars`` follow them), then it is timed
    against ``torch_fn`` (None: no torch column).  ``nbytes``: the bytes one
    call must move at least (read once, write once)."""
    f32, f64, i32 = tensor.float32, tensor.float64, tensor.int32
    cpu = device.get_default_device()

    def launch_on(dev, ftype):
        outs = []
        for shape, odt in outputs:
            o = CTensor(shape, ftype if odt is None else odt, dev)
            fill = float("nan") if odt is None else -1
            dev.kernel("fill", o.dtype)(o.ptr, fill, o.size)
            outs.append(o)
        ins = [CTensor.from_numpy(a, i32 if a.dtype == np.int32 else ftype, dev) for a in inputs]
        fn = dev.kernel(name, ftype)
        return outs, ins, fn

    outs, ins, fn = launch_on(g, f32)
    args = [o.ptr for o in outs] + [i.ptr for i in ins] + list(scalars)
    fn(*args)
    ref_outs, ref_ins, ref_fn = launch_on(cpu, f64)
    ref_fn(*[o.ptr for o in ref_outs], *[i.ptr for i in ref_ins], *scalars)
    err = 0.0
    for o, r in zip(outs, ref_outs):
        got, want = host(o), r.numpy()
        if o.dtype == i32:
            err = max(err, 0.0 if np.array_equal(got, want) else float("nan"))
        else:
            err = max(err, rel_err(got, want.astype(np.float64)))
    ours = timeit(lambda: fn(*args), g.sync)
    theirs = timeit(torch_fn, torch.cuda.synchronize) if torch_fn is not None else None
    report(op, size, ours, theirs, "GB/s", nbytes, err)


def bench_new_twins(g, rng, quick: bool, use_torch: bool):
    """The twins of conv.c, pooling.c, batchnorm.c and optim.c in GB/s."""
    F = torch.nn.functional if use_torch else None
    N, C, H = (4, 8, 28) if quick else (32, 64, 56)
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    tx = torch.from_numpy(x).cuda() if use_torch else None

    # im2col, 3x3, padding 1, stride 1: write col (9 x the input), read x
    geom = (conv_geom(N=N, C=C, H=H, W=H, KH=3, KW=3, SH=1, SW=1, PT=1, PL=1, DH=1, DW=1,
                      OH=H, OW=H),)
    col = (C * 9, N * H * H)
    bench_twin(g, "im2col 3x3", f"{N}x{C}x{H}x{H}", "im2col", [(col, None)], [x], geom,
               4.0 * (x.size + C * 9 * N * H * H),
               (lambda: F.unfold(tx, 3, padding=1)) if use_torch else None)

    # max_pool2d 3x3 stride 2 padding 1: read x, write y and argmax
    OH = (H + 2 - 3) // 2 + 1
    pgeom = (N * C, H, H, OH, OH, 3, 3, 2, 2, 1, 1)
    bench_twin(g, "max_pool2d", f"{N}x{C}x{H}x{H}", "max_pool2d_forward",
               [((N * C, OH, OH), None), ((N * C, OH, OH), tensor.int32)], [x], pgeom,
               4.0 * (x.size + 2 * N * C * OH * OH),
               (lambda: F.max_pool2d(tx, 3, 2, 1, return_indices=True)) if use_torch else None)

    # batchnorm training forward: read x, write y (+ per-channel statistics)
    scale = rng.uniform(0.5, 2, C).astype(np.float32)
    bias = rng.uniform(-1, 1, C).astype(np.float32)
    rm, rv = np.zeros(C, np.float32), np.ones(C, np.float32)
    xb = x.reshape(N, C, H * H)
    if use_torch:
        tw, tb = torch.from_numpy(scale).cuda(), torch.from_numpy(bias).cuda()
        trm, trv = torch.zeros(C, device="cuda"), torch.ones(C, device="cuda")
    bench_twin(g, "batchnorm fwd", f"{N}x{C}x{H}x{H}", "batchnorm2d_forward_training",
               [(xb.shape, None), ((C,), None), ((C,), None)], [rm, rv, xb, scale, bias],
               (0.1, 1e-5, N, C, H * H), 8.0 * x.size,
               (lambda: F.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.1,
                                     eps=1e-5)) if use_torch else None)

    # adam_update: read p, m, v, g, write p, m, v (lr and step: device doubles)
    n = 1 << (16 if quick else 24)
    p0 = rng.standard_normal(n).astype(np.float32)
    gr = rng.standard_normal(n).astype(np.float32)
    got = {}
    for dev, ftype in ((g, tensor.float32), (device.get_default_device(), tensor.float64)):
        P, M, V, G = [CTensor.from_numpy(a, ftype, dev) for a in (p0, 0 * p0, 0 * p0, gr)]
        lr = CTensor.from_numpy(np.array([1e-3]), tensor.float64, dev)
        st = CTensor.from_numpy(np.array([0.0]), tensor.float64, dev)
        adam = dev.kernel("adam_update", ftype)
        args = (P.ptr, M.ptr, V.ptr, G.ptr, lr.ptr, st.ptr, 0.9, 0.999, 1e-8, 0.0, n)
        adam(*args)
        got[ftype] = host(P)
        if dev is g:
            ours = timeit(functools.partial(adam, *args), g.sync)
    theirs = None
    if use_torch:
        tp = torch.from_numpy(p0).cuda().requires_grad_()
        tp.grad = torch.from_numpy(gr).cuda()
        topt = torch.optim.Adam([tp], lr=1e-3, fused=True)
        theirs = timeit(topt.step, torch.cuda.synchronize)
    report("adam_update", f"{n}", ours, theirs, "GB/s", 28.0 * n,
           rel_err(got[tensor.float32], got[tensor.float64]))


def loss_of(t) -> float:
    """The number in a one-element loss tensor (minisinga's or torch's)."""
    if torch is not None and isinstance(t, torch.Tensor):
        return float(t.item())
    return float(t.to_numpy().reshape(-1)[0])


def bench_training(g, workload: str, emulated: bool):
    """A whole training step (forward, backward, SGD) of ``minisinga.bench``'s
    mnist_mlp or cnn workload on the GPU: minisinga eager and graph mode against
    PyTorch eager on CUDA, in steps/s.  Checked first: the losses of the first
    two steps on the GPU against the same model's on the CPU (same data, same
    initial parameters); rel.err is the larger difference, relative to the
    CPU's loss or to 1 where the loss is below 1 (after one step on one image
    the CNN's loss can be 1e-8)."""
    from minisinga import bench
    batch = 1 if emulated else 32

    def make(lib, dev):
        if workload == "mnist_mlp":
            return bench.mlp_steps(workload, lib, dev)
        return bench.cnn_steps(lib, batch, dev)

    cpu_losses = [loss_of(s) for s in (lambda st: (st(), st()))(make("minisinga", None))]
    theirs = None
    if torch is not None:
        tstep = make("torch", g)
        theirs = timeit(tstep, torch.cuda.synchronize, target_s=0.2)
    size = "64x784" if workload == "mnist_mlp" else f"{batch}x1x28x28"   # the batch
    for lib in ("minisinga", "minisinga-graph"):
        step = make(lib, g)
        losses = [loss_of(step()), loss_of(step())]
        err = max(abs(a - b) / max(abs(b), 1.0) for a, b in zip(losses, cpu_losses))
        ours = timeit(step, g.sync, target_s=0.2)
        name = ("mlp" if workload == "mnist_mlp" else "cnn") + (" graph" if "graph" in lib else "")
        report(f"{name} step", size, ours, theirs, "steps/s", 1.0, err)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the summary table to this file")
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS),
                    help="which parts to run (default: all)")
    ap.add_argument("--emulated", action="store_true",
                    help="a smoke test of this script without a GPU: tiny sizes on the "
                         "emulated device, no torch (the timings mean nothing)")
    args = ap.parse_args()
    global torch, SMOKE
    if args.emulated:
        torch, SMOKE = None, True
        g = gpu.emulated_gpu()
    elif device.get_num_gpus() == 0:
        print("no GPU:", gpu.why_unavailable())
        return 1
    else:
        g = device.create_cuda_gpu()
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = False  # cuBLAS in true float32
        torch.backends.cudnn.allow_tf32 = False  # and cuDNN's convolutions
        print(f"torch {torch.__version__}, TF32 off; GPU: {torch.cuda.get_device_name(0)}")
    rng = np.random.default_rng(0)
    if args.emulated:
        sizes, size64, mem = [64], 64, 1 << 14
    elif args.quick:
        sizes, size64, mem = [512, 1024], 1024, 1 << 22
    else:
        sizes, size64, mem = [1024, 2048, 4096], 2048, 1 << 26
    todo = set(args.workloads)
    if "matmul" in todo:
        for n in sizes:
            bench_matmul(g, n, tensor.float32, rng)
        bench_matmul(g, size64, tensor.float64, rng)
    if "memory" in todo:
        bench_memory(g, mem, rng)
    if "twins" in todo:
        bench_new_twins(g, rng, quick=args.quick or args.emulated, use_torch=torch is not None)
    for workload in ("mnist_mlp", "cnn"):
        if workload.split("_")[-1] in todo:
            bench_training(g, workload, args.emulated)

    lines = ["", "== summary: minisinga CUDA kernels vs torch (ratio > 1: minisinga faster)",
             f"{'op':<14} {'size':<12} {'ms':>9} {'minisinga':>10} {'torch':>10} "
             f"{'unit':<8} {'ratio':>6} {'rel.err':>8}"]
    for op, size, ms, ours, theirs, unit, ratio, err in ROWS:
        lines.append(f"{op:<14} {size:<12} {ms:9.3f} {ours:10.2f} {theirs:10.2f} {unit:<8} "
                     f"{ratio:6.2f} {err:8.1e}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    bad = [r for r in ROWS if not r[7] <= 1e-4]
    if bad:
        print(f"WRONG RESULTS (rel.err > 1e-4 or NaN): {[r[0] for r in bad]}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
