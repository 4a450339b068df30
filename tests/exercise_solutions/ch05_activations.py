"""Reference solutions: docs/ops/activations.md."""
from __future__ import annotations

from minisinga import autograd, backend


class Softplus(autograd.Operation):
    def forward(self, x):
        self.x = x
        return backend.unary("softplus_forward", x)

    def backward(self, dy):
        return backend.mul(dy, backend.unary("sigmoid_forward", self.x))


def softmax_backward(y, dy):
    return y * (dy - (dy * y).sum(axis=1, keepdims=True))


class LeakyRelu(autograd.Operation):
    def __init__(self, a=0.01):
        super().__init__()
        self.a = float(a)

    def forward(self, x):
        self.x = x
        return backend.unary("leakyrelu_forward", x, self.a)

    def backward(self, dy):
        return backend.grad_kernel("leakyrelu_backward", dy, self.x, scalars=(self.a,))
