"""A small CNN (conv, batch norm, max and average pooling, two parallel convs joined by
cat) written with SINGA's old-style autograd layers and operations, trained with SGD on
the real MNIST digits shipped with minisinga.

This is SINGA's autograd CNN example with only the import renamed.  Run with:

    pip install -e . && python examples/cnn_ops.py [--epochs 1] [--batch-size 32]
        [--lr 0.003] [--max-steps 30]

It prints the training loss as it goes and the accuracy on held-out test digits at the
end.  (The last Linear layer has 32*28*28 = 25,088 inputs, so the learning rate must be
small: at 0.01 the loss jumps about before it falls.)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from minisinga import autograd, device, opt, tensor
from minisinga.datasets import load_mnist

try:  # a progress bar if tqdm is installed; it is optional
    from tqdm import tqdm
except ImportError:
    tqdm = None


class CNN:
    """The model, exactly as in SINGA's example: the layers, then ``forward``."""

    def __init__(self):
        self.conv1 = autograd.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = autograd.BatchNorm2d(32)
        self.pooling1 = autograd.MaxPool2d(3, 1, padding=1)
        self.conv21 = autograd.Conv2d(32, 16, 3, padding=1)
        self.conv22 = autograd.Conv2d(32, 16, 3, padding=1)
        self.bn2 = autograd.BatchNorm2d(32)
        self.linear = autograd.Linear(32 * 28 * 28, 10)
        self.pooling2 = autograd.AvgPool2d(3, 1, padding=1)

    def forward(self, x, t):
        """(loss, logits) for images x (N, 1, 28, 28) and labels t (N,)."""
        y = self.conv1(x)
        y = autograd.relu(y)
        y = self.bn1(y)
        y = self.pooling1(y)
        y1 = self.conv21(y)
        y2 = self.conv22(y)
        y = autograd.cat((y1, y2), 1)
        y = autograd.relu(y)
        y = self.bn2(y)
        y = self.pooling2(y)
        y = autograd.flatten(y)
        y = self.linear(y)
        loss = autograd.softmax_cross_entropy(y, t)
        return loss, y


def accuracy(model: CNN, x: np.ndarray, y: np.ndarray, batch_size: int, dev) -> float:
    """Fraction of correct predictions, in inference mode (batch norm's running stats)."""
    old, autograd.training = autograd.training, False
    try:
        correct = 0
        for i in range(0, len(x), batch_size):
            inputs = tensor.Tensor(device=dev, data=x[i:i + batch_size], stores_grad=False)
            targets = tensor.Tensor(device=dev, data=y[i:i + batch_size], requires_grad=False)
            _, logits = model.forward(inputs, targets)
            correct += int((tensor.to_numpy(logits).argmax(1) == y[i:i + batch_size]).sum())
    finally:
        autograd.training = old
    return correct / len(x)


def main(epochs: int = 1, batch_size: int = 32, lr: float = 0.003, max_steps: int | None = 30,
         n_train: int | None = None, n_test: int = 500, seed: int = 0,
         log_every: int = 5) -> dict:
    """Train; returns {"losses": [...], "accuracy": test accuracy, "seconds_per_step": ...}."""
    x_train, y_train, x_test, y_test = load_mnist()
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    x_test, y_test = x_test[:n_test], y_test[:n_test]
    dev = device.get_default_device()
    device.set_rand_seed(seed)
    model = CNN()
    sgd = opt.SGD(lr)

    batch_number = len(x_train) // batch_size
    total = epochs * batch_number if max_steps is None else min(max_steps, epochs * batch_number)
    bar = tqdm(total=total, desc="training") if tqdm is not None and log_every else None
    losses, start = [], time.perf_counter()
    old_training, autograd.training = autograd.training, True
    for epoch in range(epochs):
        for i in range(batch_number):
            if len(losses) == total:
                break
            inputs = tensor.Tensor(device=dev, data=x_train[i * batch_size:(1 + i) * batch_size],
                                   stores_grad=False)
            targets = tensor.Tensor(device=dev, data=y_train[i * batch_size:(1 + i) * batch_size],
                                    requires_grad=False, stores_grad=False)
            loss, y = model.forward(inputs, targets)
            for p, gp in autograd.backward(loss):
                sgd.update(p, gp)
            losses.append(float(tensor.to_numpy(loss)[0]))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if log_every and (len(losses) % log_every == 0 or len(losses) == 1):
                line = f"epoch {epoch}  step {len(losses):4d}  loss {losses[-1]:.4f}"
                (bar.write if bar is not None else print)(line)
    seconds = (time.perf_counter() - start) / max(len(losses), 1)
    autograd.training = old_training
    if bar is not None:
        bar.close()
    acc = accuracy(model, x_test, y_test, batch_size, dev) if n_test else float("nan")
    if log_every:
        tail = f"; test accuracy on {len(x_test)} digits: {acc:.3f}" if n_test else ""
        print(f"{len(losses)} steps, {seconds:.2f} s per step{tail}")
    return {"losses": losses, "accuracy": acc, "seconds_per_step": seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--max-steps", type=int, default=30,
                        help="stop after this many steps (0: no limit)")
    parser.add_argument("--test-size", type=int, default=500,
                        help="test digits to measure accuracy on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=5,
                        help="print the loss every this many steps (0: never)")
    args = parser.parse_args()
    main(args.epochs, args.batch_size, args.lr, args.max_steps or None, n_test=args.test_size,
         seed=args.seed, log_every=args.log_every)
