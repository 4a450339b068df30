"""Data-parallel training measured: run with mpiexec -n 1 and -n 2.

    mpiexec -n 2 python bench/bench_dist.py        (add --oversubscribe, and as
                                                    root --allow-run-as-root)

Prints, from rank 0, one JSON line:
  * allreduce: seconds of MPI Allreduce for sizes 4 KiB to 16 MiB (median of
    repeats), and the alpha (seconds per message) and beta (seconds per byte)
    of a least-squares fit, for the cost model (minisinga.dist);
  * steps: for the MNIST MLP and the CNN, seconds per step and digits per
    second with a batch of 32 per rank (weak scaling), eager mode, plain
    DistOpt, the fused buffer (default threshold) and one all-reduce per
    tensor (threshold 1), and the share of the step spent waiting on MPI;
  * bytes: what one rank sends per step for plain, half and sparse (top 5%).
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))

from models import MODELS  # noqa: E402

from minisinga import device, dist, opt, tensor  # noqa: E402
from minisinga.datasets import load_mnist  # noqa: E402


def allreduce_times(comm, MPI):
    out = {}
    for nbytes in [4096, 65536, 1 << 20, 4 << 20, 16 << 20]:
        buf = np.ones(nbytes // 4, np.float32)
        times = []
        for _ in range(15):
            comm.Barrier()
            t = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, [buf, MPI.FLOAT], MPI.SUM)
            times.append(time.perf_counter() - t)
        out[nbytes] = float(np.median(times))
    # The fit uses 64 KiB to 4 MiB: smaller messages go through MPI's shared-memory
    # eager path (another alpha), larger ones outgrow the caches (another beta).
    fit = [k for k in out if 65536 <= k <= 4 << 20]
    sizes = np.array(fit, float)
    secs = np.array([out[k] for k in fit])
    n = comm.Get_size()
    if n > 1:   # T = 2(n-1) alpha + 2(n-1)/n * bytes * beta
        A = np.stack([np.full_like(sizes, 2 * (n - 1)), 2 * (n - 1) / n * sizes], 1)
        alpha, beta = np.linalg.lstsq(A, secs, rcond=None)[0]
    else:
        alpha = beta = 0.0
    return {"seconds": {str(k): v for k, v in out.items()}, "alpha": float(alpha),
            "beta": float(beta)}


def steps(model_name, option, threshold, x, y, steps_n=30):
    dev = device.get_default_device()
    dev.set_rand_seed(0)
    net = MODELS[model_name]()
    dopt = opt.DistOpt(opt.SGD(lr=0.02, momentum=0.9))
    net.set_optimizer(dopt)
    bs = 32
    tx = tensor.Tensor((bs, 1, 28, 28), dev, tensor.float32)
    ty = tensor.Tensor((bs,), dev, tensor.int32)
    net.compile([tx], is_train=True, use_graph=False)
    wait = [0.0]
    real_wait = dopt.wait

    def timed_wait():
        t = time.perf_counter()
        real_wait()
        wait[0] += time.perf_counter() - t
    dopt.wait = timed_wait
    mine = dist.shard(len(x), dopt.global_rank, dopt.world_size, batch_size=bs)

    def step(i):
        idx = mine[(i % (len(mine) // bs)) * bs:][:bs]
        tx.copy_from_numpy(x[idx])
        ty.copy_from_numpy(y[idx])
        if option == "plain":
            dopt.backward_and_update(net.softmax_cross_entropy(net.forward(tx), ty),
                                     threshold=threshold)
        else:
            net(tx, ty, option, 0.05)
    for i in range(3):
        step(i)
    dopt.communicator.comm.Barrier()
    wait[0], sent0 = 0.0, dopt.communicator.bytes_sent
    t = time.perf_counter()
    for i in range(steps_n):
        step(i)
    secs = (time.perf_counter() - t) / steps_n
    return {"s_per_step": secs, "digits_per_s": bs * dopt.world_size / secs,
            "wait_share": wait[0] / steps_n / secs,
            "bytes_per_step": (dopt.communicator.bytes_sent - sent0) / steps_n}


def main():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    x, y, _, _ = load_mnist()
    result = {"ranks": comm.Get_size(), "allreduce": allreduce_times(comm, MPI)}
    for model_name in ("mlp", "cnn"):
        result[model_name] = {
            "fused": steps(model_name, "plain", dist.DEFAULT_THRESHOLD, x, y),
            "per_tensor": steps(model_name, "plain", 1, x, y),
            "half": steps(model_name, "half", dist.DEFAULT_THRESHOLD, x, y),
            "sparseTopK": steps(model_name, "sparseTopK", dist.DEFAULT_THRESHOLD, x, y),
        }
    if comm.Get_rank() == 0:
        a, b = result["allreduce"]["alpha"], result["allreduce"]["beta"]
        for model_name, params in (("mlp", 203_530), ("cnn", 431_080)):
            # the cost model's step time for n ranks, from this run's one-rank compute
            # (run with -n 1 first) is added by the docs; here: the communication part
            result[model_name]["predicted_comm_s"] = {
                str(n): dist.ring_allreduce_seconds(params * 4, n, a, b) for n in (2, 4, 8, 64)}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
