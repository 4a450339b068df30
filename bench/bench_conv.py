"""The benchmark's convolution in its parts: forward, input gradient, weight gradient.

    python bench/bench_conv.py              # 1 thread
    python bench/bench_conv.py --threads 2
    python bench/bench_conv.py --reference  # conv.c's reference code, no fast paths
    python bench/bench_conv.py --stride 2   # the same layer with stride 2
    python bench/bench_conv.py --clock cpu  # CPU time, for a machine shared with others
    python bench/bench_conv.py --in-channels 1   # the example CNN's first layer (1 -> 32)

Calls the C kernels ``conv2d_forward_f32`` and ``conv2d_backward_f32`` directly (no
autograd, no allocation per call) on the workload of ``python -m minisinga.bench
--workloads conv``: x (32, 32, 28, 28), W (32, 32, 3, 3), padding 1.  Prints the best
of ``--repeat`` calls of each part, and PyTorch's forward and forward + backward when
it is installed, so that a change to one part of the kernel can be seen on its own.
``--reference`` turns off the fast code of minisinga/c/conv_fast.c (``ms_conv_fast_paths
= 0``), so that the two can be compared: the numbers in conv_fast.c's header come from
here.
The best (not the median) is shown because these parts are short and a busy machine
only ever makes them slower.  On a machine whose cores other processes share, ``--clock
cpu`` times the process's CPU time instead of the wall clock (with one thread, the
time spent waiting for a core then does not count).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from minisinga import device
from minisinga._lib import ffi, lib
from minisinga.ops.conv import conv_geom

N, C_DEFAULT, H, W, O_DEFAULT, K = 32, 32, 28, 28, 32, 3


def best_ms(fn, repeat: int, clock=time.perf_counter) -> float:
    """The fastest of ``repeat`` calls of ``fn`` (after one warm-up call), in ms."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--reference", action="store_true",
                    help="run conv.c's reference code only (no conv_fast.c)")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--in-channels", type=int, default=C_DEFAULT, help=f"C (default {C_DEFAULT})")
    ap.add_argument("--out-channels", type=int, default=O_DEFAULT, help=f"O (default {O_DEFAULT})")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: the process's CPU time (for 1 thread on a busy machine)")
    args = ap.parse_args()
    device.set_num_threads(args.threads)
    lib.ms_conv_fast_paths = 0 if args.reference else 1
    S, C, O = args.stride, args.in_channels, args.out_channels
    OH = (H + 2 - K) // S + 1

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    w = rng.standard_normal((O, C, K, K), dtype=np.float32) * 0.1
    b = rng.standard_normal(O, dtype=np.float32)
    dy = rng.standard_normal((N, O, OH, OH), dtype=np.float32)
    y, dx, dw, db = np.empty_like(dy), np.empty_like(x), np.empty_like(w), np.empty_like(b)
    keep = [ffi.from_buffer(a) for a in (x, w, b, dy, y, dx, dw, db)]   # NOTE: owns nothing
    px, pw, pb, pdy, py, pdx, pdw, pdb = (ffi.cast("float *", k) for k in keep)
    null = ffi.NULL
    geom = conv_geom(N=N, C=C, H=H, W=W, O=O, G=1, KH=K, KW=K, SH=S, SW=S, PT=1, PL=1, DH=1,
                     DW=1, OH=OH, OW=OH)

    parts = {
        "forward": lambda: lib.conv2d_forward_f32(py, px, pw, pb, geom),
        "dx": lambda: lib.conv2d_backward_f32(pdx, null, null, pdy, px, pw, geom),
        "dW + db": lambda: lib.conv2d_backward_f32(null, pdw, pdb, pdy, px, pw, geom),
        "dx + dW + db": lambda: lib.conv2d_backward_f32(pdx, pdw, pdb, pdy, px, pw, geom),
    }
    code = "reference code (conv.c)" if args.reference else "fast paths on"
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"conv2d x {x.shape}, W {w.shape}, padding 1, stride {S}, {code}, "
          f"{args.threads} thread(s); best of {args.repeat} calls, {args.clock} clock")
    for name, fn in parts.items():
        print(f"  minisinga {name:13s} {best_ms(fn, args.repeat, clock):7.2f} ms")
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return
    torch.set_num_threads(args.threads)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    tdy = torch.from_numpy(dy)

    def t_forward():
        with torch.no_grad():
            F.conv2d(tx, tw, tb, stride=S, padding=1)

    def t_all():
        torch.autograd.grad(F.conv2d(tx, tw, tb, stride=S, padding=1), (tx, tw, tb), tdy)

    print(f"  torch     {'forward':13s} {best_ms(t_forward, args.repeat, clock):7.2f} ms")
    print(f"  torch     {'fwd + all bwd':13s} {best_ms(t_all, args.repeat, clock):7.2f} ms")


if __name__ == "__main__":
    main()
