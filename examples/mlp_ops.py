"""The first example: a two-layer perceptron written with operations only and
hand-made weights, trained on 2-D points on either side of the line y = 5x + 1.

Run with:  pip install -e . && python examples/mlp_ops.py [--steps 600]
"""
import argparse

import numpy as np

from minisinga import autograd, device, opt
from minisinga.tensor import Tensor, to_numpy


def two_class_points(n=400, seed=0):
    """n points around y = 5x + 1, labelled (one-hot) by the side they fall on."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = 5 * x + 1 + rng.standard_normal(n) * 2
    data = np.stack([x, y], axis=1).astype(np.float32)
    label = np.zeros((n, 2), dtype=np.float32)
    label[np.arange(n), (y > 5 * x + 1).astype(int)] = 1
    return data, label


def main(steps: int = 600, seed: int = 0, log_every: int = 50) -> list[float]:
    data, label = two_class_points(seed=seed)
    device.set_rand_seed(seed)

    w0 = Tensor(shape=(2, 3), requires_grad=True, stores_grad=True)
    w0.gaussian(0.0, 0.1)
    b0 = Tensor(shape=(1, 3), requires_grad=True, stores_grad=True)
    b0.set_value(0.0)
    w1 = Tensor(shape=(3, 2), requires_grad=True, stores_grad=True)
    w1.gaussian(0.0, 0.1)
    b1 = Tensor(shape=(1, 2), requires_grad=True, stores_grad=True)
    b1.set_value(0.0)

    inputs = Tensor(data=data)    # data matrix (N, 2)
    target = Tensor(data=label)   # label matrix, one-hot (N, 2)
    autograd.training = True
    sgd = opt.SGD(0.05)
    losses = []
    for i in range(steps):
        x = autograd.matmul(inputs, w0)
        x = autograd.add_bias(x, b0)
        x = autograd.relu(x)
        x = autograd.matmul(x, w1)
        x = autograd.add_bias(x, b1)
        loss = autograd.softmax_cross_entropy(x, target)
        for p, g in autograd.backward(loss):
            sgd.update(p, g)
        losses.append(float(to_numpy(loss)[0]))
        if log_every and (i % log_every == 0 or i == steps - 1):
            accuracy = (to_numpy(x).argmax(1) == label.argmax(1)).mean()
            print(f"step {i:4d}  loss {losses[-1]:.4f}  accuracy {accuracy:.3f}")
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.seed)
