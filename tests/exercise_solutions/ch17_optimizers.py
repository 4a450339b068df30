"""Reference solutions: docs/optimizers.md."""
from __future__ import annotations

import numpy as np

from minisinga import backend, opt


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay):
    g = g + weight_decay * p
    buf = momentum * buf + (1 - dampening) * g
    return p - lr * buf, buf


def adam_step(p, g, m, v, t, lr, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    p = p - lr * (m / (1 - beta_1 ** t)) / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)
    return p, m, v


class SignSGD(opt.Optimizer):
    def apply(self, name, param, grad):
        self._check(name, param, grad)
        lr = float(self.lr_value.to_numpy()[0])
        backend.axpy(param.data, backend.unary("sign_forward", grad.data), -lr)
