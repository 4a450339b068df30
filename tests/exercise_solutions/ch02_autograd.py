"""Reference solutions: docs/autograd.md."""
from __future__ import annotations

from minisinga import autograd, backend


class Cube(autograd.Operation):
    def forward(self, x):
        self.x = x
        return backend.mul(backend.mul(x, x), x)

    def backward(self, dy):
        return backend.mul(backend.scale(backend.mul(self.x, self.x), 3.0), dy)


def backward_order(y):
    order, done = [], set()
    # Iterative post-order DFS over the producers; reversed, consumers come first.
    stack = [(y.creator, False)]
    while stack:
        op, expanded = stack.pop()
        if expanded:
            order.append(op)
            continue
        if op in done:
            continue
        done.add(op)
        stack.append((op, True))
        for src_op, *_ in op.src:
            if src_op is not None and src_op not in done:
                stack.append((src_op, False))
    return order[::-1]


def train_step(x, t, W, lr):
    loss = autograd.mse_loss(autograd.matmul(x, W), t)
    value = float(loss.to_numpy().reshape(-1)[0])
    for p, g in autograd.backward(loss):
        backend.axpy(p.data, g.data, -lr)
    return value
