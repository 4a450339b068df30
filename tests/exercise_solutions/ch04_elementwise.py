"""Reference solutions: docs/ops/elementwise.md."""
from __future__ import annotations

import math

from minisinga import autograd, backend


def sum_to_shape(dy, shape):
    shape = tuple(shape)
    padded = (1,) * (len(dy.shape) - len(shape)) + shape
    cur, cur_shape = dy, list(dy.shape)
    for axis in range(len(cur_shape)):   # one reduce_sum per broadcast axis
        if padded[axis] == 1 and cur_shape[axis] != 1:
            outer = math.prod(cur_shape[:axis])
            inner = math.prod(cur_shape[axis + 1:])
            cur = backend.reduce_sum(cur, outer, cur_shape[axis], inner)
            cur_shape[axis] = 1
    return cur.reshape(shape)


class BroadcastMul(autograd.Operation):
    def forward(self, a, b):
        shape = backend.broadcast_shape(a.shape, b.shape)
        self.a, self.b = backend.broadcast_to(a, shape), backend.broadcast_to(b, shape)
        self.sa, self.sb = a.shape, b.shape
        return backend.mul(self.a, self.b)

    def backward(self, dy):
        return (sum_to_shape(backend.mul(dy, self.b), self.sa),
                sum_to_shape(backend.mul(dy, self.a), self.sb))


class Div(autograd.Operation):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = backend.binary("div_forward", a, b)
        return self.y

    def backward(self, dy):
        da = backend.binary("div_forward", dy, self.b)            # dy / b
        db = backend.scale(backend.mul(da, self.y), -1.0)          # -dy a / b^2
        return da, db
