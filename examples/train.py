"""Train a network on real handwritten digits with minisinga's Model API.

The main job of the README: on a fresh clone,

    pip install -e ".[examples]" && python examples/train.py

trains SINGA's LeNet-like CNN in graph mode on the MNIST subset that ships with
minisinga (8,000 training and 2,000 held-out digits), shows a progress bar with
the loss and throughput, prints the test accuracy after each epoch, and at the
end writes a checkpoint and a plot of the training loss and test accuracy.

Outputs go to a folder per model, ``runs/<model>/`` under the current folder
(git ignores ``runs/``): ``checkpoint.zip`` (written after every epoch) and
``training.png``.  ``--resume`` continues from that checkpoint; ``--epochs`` is
the total to reach, so a finished two-epoch run continues with ``--epochs 3``.

Options: --model mlp|cnn, --epochs, --batch-size, --lr, --device cpu|gpu,
--no-graph, --data DIR (the full MNIST as IDX files; also MINISINGA_MNIST_DIR),
--out DIR, --checkpoint PATH, --resume, --plot PATH, --seed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import MODELS  # noqa: E402

from minisinga import device, opt, tensor  # noqa: E402
from minisinga.datasets import describe_source, load_mnist  # noqa: E402

try:  # optional: a nicer progress bar
    from tqdm import tqdm
except ImportError:  # pragma: no cover - depends on the environment
    tqdm = None


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train an MLP or a CNN on handwritten digits.")
    p.add_argument("--model", choices=sorted(MODELS), default="cnn")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--no-graph", action="store_true", help="run eagerly (no graph replay)")
    p.add_argument("--data", default=None,
                   help="folder with the full MNIST IDX files (default: the shipped subset)")
    p.add_argument("--out", default=None,
                   help="folder for the checkpoint and the plot (default: runs/<model>)")
    p.add_argument("--checkpoint", default=None,
                   help="written after every epoch (default: OUT/checkpoint.zip; '' to disable)")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint (model, optimizer, epoch) up to --epochs "
                        "epochs in all, instead of starting afresh")
    p.add_argument("--plot", default=None,
                   help="PNG of loss and accuracy (default: OUT/training.png; '' to skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="use only this many training digits")
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop after this many training steps in all (for quick checks)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.lr <= 0:
        p.error("--lr must be > 0")
    out = args.out if args.out is not None else os.path.join("runs", args.model)
    if args.checkpoint is None:
        args.checkpoint = os.path.join(out, "checkpoint.zip")
    if args.plot is None:
        args.plot = os.path.join(out, "training.png")
    return args


# The checkpoint records which model wrote it (as the code points of its name:
# aux states are tensors), so --resume can tell a wrong --model from damage.
def _encode_name(name: str):
    return tensor.from_numpy(np.array([ord(c) for c in name], dtype=np.int32))


def _decode_name(t) -> str:
    try:
        return "".join(chr(int(c)) for c in tensor.to_numpy(t))
    except (ValueError, OverflowError):   # not code points: a damaged checkpoint
        return "<unreadable>"


def resume(args, net, sgd):
    """Load --checkpoint into net and sgd; returns (epochs done, losses, accuracies).

    Every way this can go wrong that a user meets ends the program with one
    sentence and what to do instead, never a traceback."""
    path, fresh = args.checkpoint, f"python examples/train.py --model {args.model}"
    if not path:
        raise SystemExit("--resume needs a checkpoint, but --checkpoint is ''")
    if not os.path.exists(path):
        raise SystemExit(f"--resume: there is no checkpoint at {path}; train without --resume "
                         f"first ({fresh}), or point --checkpoint at one")
    try:
        aux = net.load_states(path)
    except (KeyError, ValueError) as err:
        why = err.args[0] if err.args else err   # a KeyError's str() adds quotes
        raise SystemExit(f"--resume: {path} cannot be loaded into the {args.model} model "
                         f"({why}). If another model wrote it, pass that --model; or train "
                         f"afresh without --resume ({fresh}).") from None
    written_by = _decode_name(aux.pop("train.model")) if "train.model" in aux else args.model
    if written_by != args.model:   # same state names, other model: refuse all the same
        raise SystemExit(f"--resume: {path} was written by the {written_by} model, not "
                         f"{args.model}; pass --model {written_by}, or train afresh")
    done = int(tensor.to_numpy(aux.pop("train.epoch"))[0])
    losses = list(tensor.to_numpy(aux.pop("train.losses"))) if "train.losses" in aux else []
    accuracies = list(tensor.to_numpy(aux.pop("train.accuracies"))) \
        if "train.accuracies" in aux else []
    if done >= args.epochs:
        last = f" (test accuracy {accuracies[-1]:.4f})" if accuracies else ""
        raise SystemExit(f"--resume: {path} has already trained {done} epoch(s){last}, and "
                         f"--epochs {args.epochs} is the total to reach; ask for more, "
                         f"e.g. --resume --epochs {done + 1}")
    sgd.set_states(aux)
    print(f"resumed from {path} after epoch {done}")
    return done, losses, accuracies


def make_device(name: str):
    if name == "gpu":
        if device.get_num_gpus() == 0:
            raise SystemExit("--device gpu: no CUDA GPU is available (or minisinga was built "
                             "without CUDA); use --device cpu")
        return device.create_cuda_gpu()
    return device.get_default_device()


def evaluate(model, x, y, batch_size: int, dev) -> float:
    """Accuracy on (x, y), in eval mode (plain forward, no graph)."""
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        xb = tensor.Tensor(data=x[start:start + batch_size], device=dev, requires_grad=False)
        out = tensor.to_numpy(model(xb))
        correct += int((out.argmax(1) == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


class _Progress:
    """tqdm when installed, otherwise a line every 10% of the epoch."""

    def __init__(self, total: int, desc: str, quiet: bool):
        self.total, self.desc, self.quiet, self.n = total, desc, quiet, 0
        self.bar = tqdm(total=total, desc=desc, unit="batch", leave=True) \
            if tqdm is not None and not quiet else None

    def update(self, loss: float, images_per_s: float) -> None:
        self.n += 1
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{images_per_s:,.0f}")
            self.bar.update(1)
        elif not self.quiet and (self.n % max(1, self.total // 10) == 0 or self.n == self.total):
            print(f"{self.desc}: {self.n}/{self.total} batches, loss {loss:.4f}, "
                  f"{images_per_s:,.0f} images/s", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def smooth(values, width: int):
    """Moving average over the last ``width`` values (fewer at the start)."""
    sums = np.cumsum(np.asarray(values, dtype=np.float64))
    out = np.empty_like(sums)
    out[:width] = sums[:width] / np.arange(1, min(width, len(sums)) + 1)
    out[width:] = (sums[width:] - sums[:-width]) / width
    return out


def plot(path: str, losses, accuracies, steps_per_epoch: int, model: str = "") -> str:
    """Write a PNG of the training loss and test accuracy; returns a status line.

    The raw loss of every step is drawn faint, its moving average on top; the
    accuracy axis spans at least 10 points, so that two epochs 1.5 points apart
    do not look like a cliff."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install matplotlib)"
    steps = np.arange(1, len(losses) + 1)
    width = max(1, len(losses) // 50)
    fig, ax1 = plt.subplots(figsize=(7, 4.2))
    ax1.plot(steps, losses, lw=0.6, alpha=0.25, color="tab:blue", label="loss of each step")
    ax1.plot(steps, smooth(losses, width), lw=1.6, color="tab:blue",
             label=f"loss, mean of {width} steps")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training loss", color="tab:blue")
    ax1.set_ylim(bottom=0)
    ax2 = ax1.twinx()
    epochs_at = [steps_per_epoch * (i + 1) for i in range(len(accuracies))]
    acc = 100 * np.asarray(accuracies, dtype=np.float64)
    ax2.plot(epochs_at, acc, "o-", color="tab:orange", label="test accuracy (after each epoch)")
    low = min(90.0, float(acc.min()) - 2) if len(acc) else 90.0
    ax2.set_ylim(max(0.0, low), 100)
    ax2.set_ylabel("test accuracy (%)", color="tab:orange")
    final = f", final test accuracy {acc[-1]:.2f}%" if len(acc) else ""
    ax1.set_title(f"{model or 'model'} on handwritten digits: {len(losses)} steps{final}")
    handles = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"plot written to {path}"


def main(argv=None) -> dict:
    """Run the training; returns the losses, accuracies and timing (for the tests)."""
    args = parse_args(argv)
    dev = make_device(args.device)
    print(f"data: {describe_source(args.data)}")
    x_train, y_train, x_test, y_test = load_mnist(args.data)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    bs = args.batch_size
    steps_per_epoch = len(x_train) // bs  # graph mode needs a fixed batch shape
    if steps_per_epoch == 0:
        raise SystemExit(f"--batch-size {bs} is larger than the {len(x_train)} training digits")

    dev.set_rand_seed(args.seed)   # the model draws its parameters on its own device
    net = MODELS[args.model]()
    sgd = opt.SGD(lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    net.set_optimizer(sgd)
    tx = tensor.Tensor((bs, 1, 28, 28), dev, tensor.float32)
    ty = tensor.Tensor((bs,), dev, tensor.int32)
    net.compile([tx], is_train=True, use_graph=not args.no_graph, sequential=False)
    n_params = sum(p.size() for p in net.get_params().values())
    print(f"model: {args.model} ({n_params:,} parameters), "
          f"{'eager' if args.no_graph else 'graph'} mode, device {dev}")

    first_epoch, losses, accuracies = 0, [], []
    if args.resume:
        first_epoch, losses, accuracies = resume(args, net, sgd)
    for path in (args.checkpoint, args.plot):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)

    start, steps, training = time.perf_counter(), 0, 0.0   # training: the steps' seconds
    for epoch in range(first_epoch, args.epochs):
        order = np.random.default_rng(args.seed + epoch).permutation(len(x_train))
        bar = _Progress(steps_per_epoch, f"epoch {epoch + 1}/{args.epochs}", args.quiet)
        tick = epoch_start = time.perf_counter()
        for b in range(steps_per_epoch):
            idx = order[b * bs:(b + 1) * bs]
            tx.copy_from_numpy(x_train[idx])
            ty.copy_from_numpy(y_train[idx])
            _, loss = net(tx, ty)
            losses.append(float(tensor.to_numpy(loss)[0]))
            steps += 1
            now = time.perf_counter()
            bar.update(losses[-1], bs / max(now - tick, 1e-9))
            tick = now
            if args.max_steps and steps >= args.max_steps:
                break
        training += time.perf_counter() - epoch_start
        bar.close()
        accuracies.append(evaluate(net, x_test, y_test, 500, dev))
        print(f"epoch {epoch + 1}: test accuracy {accuracies[-1]:.4f}", flush=True)
        if args.checkpoint:
            aux = dict(sgd.get_states())
            aux["train.epoch"] = tensor.from_numpy(np.array([epoch + 1], dtype=np.int32))
            aux["train.losses"] = tensor.from_numpy(np.array(losses, dtype=np.float32))
            aux["train.accuracies"] = tensor.from_numpy(np.array(accuracies, dtype=np.float32))
            aux["train.model"] = _encode_name(args.model)
            net.save_states(args.checkpoint, aux_states=aux)
        if args.max_steps and steps >= args.max_steps:
            break
    seconds = time.perf_counter() - start
    if accuracies:
        print(f"final test accuracy {accuracies[-1]:.4f} after {len(accuracies)} epoch(s), "
              f"{len(losses)} steps in all")
        before = f"; {len(losses) - steps} steps before it" if len(losses) > steps else ""
        print(f"this run: {steps} steps in {seconds:.1f} s ({training:.1f} s training, "
              f"{seconds - training:.1f} s evaluation and checkpoints){before}")
    if args.checkpoint:
        print(f"checkpoint written to {args.checkpoint}")
    if args.plot and losses:
        print(plot(args.plot, losses, accuracies, steps_per_epoch, args.model))
    return {"losses": losses, "accuracies": accuracies, "seconds": seconds,
            "training_seconds": training, "model": net}


if __name__ == "__main__":
    main()
