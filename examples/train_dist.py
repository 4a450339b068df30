"""Data-parallel training on handwritten digits over MPI, with SINGA's DistOpt.

    pip install -e ".[dist]"
    mpiexec -n 2 python examples/train_dist.py

(As root, Open MPI also wants ``--allow-run-as-root``; with more ranks than
cores, ``--oversubscribe``.)  Every rank builds the same model from the same
seed, takes its own slice of every batch (``dist.shard``), and DistOpt adds up
the gradients, so two ranks with batches of 16 train what one process with
batches of 32 trains (``examples/train.py``), to float32 rounding.

``--dist-option`` picks SINGA's training step: plain, half (float16 on the
wire), partialUpdate, sparseTopK or sparseThreshold (with ``--spars``).  Rank 0
prints, evaluates and writes the checkpoint (``runs/dist-<model>/``), which any
world size can resume (``--resume``: it goes on from the step it holds, with the
same global batches).

On GPUs (``pip install -e ".[nccl]"``), ``--gpu`` puts each rank on GPU
``local_rank`` and DistOpt sums the gradients with NCCL:
``mpiexec -n 2 python examples/train_dist.py --gpu`` on a machine with two GPUs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import MODELS  # noqa: E402
from train import evaluate  # noqa: E402

from minisinga import device, dist, opt, tensor  # noqa: E402
from minisinga.datasets import load_mnist  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Data-parallel training over MPI (DistOpt).")
    p.add_argument("--model", choices=sorted(MODELS), default="cnn")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=None,
                   help="per rank (default: 32 / number of ranks, the README's 32 in all)")
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--dist-option", choices=dist.DIST_OPTIONS, default="plain")
    p.add_argument("--spars", type=float, default=None,
                   help="sparse options: the fraction sent (sparseTopK) or the threshold "
                        "(sparseThreshold)")
    p.add_argument("--no-graph", action="store_true", help="run eagerly")
    p.add_argument("--limit", type=int, default=None, help="use only this many training digits")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None,
                   help="written by rank 0 after every epoch (default "
                        "runs/dist-<model>/checkpoint.zip; '' to disable)")
    p.add_argument("--resume", default=None,
                   help="a checkpoint of this script (any world size) to go on from")
    p.add_argument("--gpu", action="store_true",
                   help="train on CUDA GPU local_rank (one per rank; NCCL sums the gradients)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None, step_hook=None) -> dict:
    """Train; returns the model, the losses and accuracies (rank 0's view).

    ``step_hook(step, rank)`` runs before every step (the tests use it)."""
    args = parse_args(argv)
    sgd = opt.SGD(lr=args.lr, momentum=0.9, weight_decay=1e-5)
    dopt = opt.DistOpt(sgd)
    rank, world = dopt.global_rank, dopt.world_size
    say = print if rank == 0 and not args.quiet else (lambda *a, **k: None)
    bs = args.batch_size or max(1, 32 // world)
    checkpoint = (os.path.join("runs", f"dist-{args.model}", "checkpoint.zip")
                  if args.checkpoint is None else args.checkpoint)

    x_train, y_train, x_test, y_test = load_mnist()
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    dev = (device.create_cuda_gpu_on(dopt.local_rank) if args.gpu
           else device.get_default_device())
    dev.set_rand_seed(args.seed)                 # the same initial model on every rank
    net = MODELS[args.model]()
    net.set_optimizer(dopt)
    tx = tensor.Tensor((bs, 1, 28, 28), dev, tensor.float32)
    ty = tensor.Tensor((bs,), dev, tensor.int32)
    use_graph = not args.no_graph and args.dist_option in ("plain", "half")
    net.compile([tx], is_train=True, use_graph=use_graph, sequential=False)
    first = 0   # the global step to start from
    if args.resume:   # the model, the optimizer's buffers and its step counter
        dopt.set_states(net.load_states(args.resume))
        first = int(tensor.to_numpy(dopt.opt.step_counter)[0])
    say(f"{world} rank(s), {bs} digits each per step ({bs * world} in all), "
        f"{args.model}, dist_option {args.dist_option}, {'graph' if use_graph else 'eager'}"
        + (f", from step {first}" if first else ""))

    losses, accuracies, step, start = [], [], 0, time.perf_counter()
    for epoch in range(args.epochs):
        mine = dist.shard(len(x_train), rank, world, batch_size=bs, seed=args.seed,
                          epoch=epoch)
        for b in range(len(mine) // bs):
            if step < first:   # resuming: these global batches were trained already
                step += 1
                continue
            if args.max_steps and step >= args.max_steps:
                break
            if step_hook is not None:
                step_hook(step, rank)
            idx = mine[b * bs:(b + 1) * bs]
            tx.copy_from_numpy(x_train[idx])
            ty.copy_from_numpy(y_train[idx])
            _, loss = net(tx, ty, args.dist_option, args.spars)
            losses.append(float(tensor.to_numpy(loss)[0]))
            step += 1
        if first and step <= first:   # resuming after this epoch: nothing trained in it
            continue
        accuracies.append(evaluate(net, x_test, y_test, 500, dev))
        say(f"epoch {epoch + 1}: test accuracy {accuracies[-1]:.4f} "
            f"(rank 0's loss {np.mean(losses[-10:]):.4f})", flush=True)
        if checkpoint and rank == 0:   # one file, from rank 0: the ranks are equal
            os.makedirs(os.path.dirname(checkpoint) or ".", exist_ok=True)
            net.save_states(checkpoint, aux_states=dopt.get_states())
    seconds = time.perf_counter() - start
    say(f"final test accuracy {accuracies[-1]:.4f}: {step} steps on each of {world} rank(s) "
        f"in {seconds:.1f} s")
    return {"model": net, "optimizer": dopt, "losses": losses, "accuracies": accuracies,
            "rank": rank, "world_size": world, "seconds": seconds}


if __name__ == "__main__":
    main()
