"""Registry entries of elementwise arithmetic, the unary functions, sum, mean and dropout
(minisinga/ops/elementwise.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..ops.elementwise import (
    Abs,
    Add,
    Clip,
    Div,
    Dropout,
    Exp,
    Identity,
    Log,
    Mean,
    Mul,
    Negative,
    Pow,
    Reciprocal,
    Sqrt,
    Sub,
    Sum,
    abs,
    add,
    clip,
    div,
    dropout,
    exp,
    identity,
    log,
    mean,
    mul,
    negative,
    pow,
    reciprocal,
    sqrt,
    sub,
    sum,
)
from .registry import OpInfo, Sample, register

# NOTE: here abs, pow and sum are minisinga's operations (SINGA's names), not
# Python's builtins; a reference that needs Python's sum says builtins.sum.


def _binary_samples(rng, positive_b=False, positive_a=False):
    shapes = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)),
              ((), (2, 2))]
    out = []
    for sa, sb in shapes:
        a = rng.uniform(0.5, 2.0, sa) if positive_a else rng.uniform(-1, 1, sa)
        b = rng.uniform(0.5, 2.0, sb) * (1 if positive_b else rng.choice([-1, 1], sb))
        out.append(Sample([a, b], note=f"{sa} with {sb}"))
    return out


def _unary_samples(lo, hi, shapes=((3, 4), (5,), (2, 1, 3))):
    def make(rng):
        return [Sample([rng.uniform(lo, hi, s)]) for s in shapes]
    return make


def _away_from_zero(rng, shapes=((3, 4), (5,))):
    out = []
    for s in shapes:
        x = rng.uniform(0.1, 1.0, s) * rng.choice([-1, 1], s)
        out.append(Sample([x]))
    return out


register(OpInfo("add", (Add,), add, np.add, _binary_samples))
register(OpInfo("sub", (Sub,), sub, np.subtract, _binary_samples))
register(OpInfo("mul", (Mul,), mul, np.multiply, _binary_samples))
register(OpInfo("div", (Div,), div, np.divide,
                lambda rng: _binary_samples(rng, positive_b=True)))
register(OpInfo("pow", (Pow,), pow, np.power,
                lambda rng: _binary_samples(rng, positive_a=True)))
register(OpInfo("negative", (Negative,), negative, np.negative, _unary_samples(-2, 2)))
register(OpInfo("reciprocal", (Reciprocal,), reciprocal, np.reciprocal,
                lambda rng: [Sample([rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))])]))
register(OpInfo("abs", (Abs,), abs, np.abs, _away_from_zero))
register(OpInfo("exp", (Exp,), exp, np.exp, _unary_samples(-2, 2)))
register(OpInfo("log", (Log,), log, np.log, _unary_samples(0.2, 3)))
register(OpInfo("sqrt", (Sqrt,), sqrt, np.sqrt, _unary_samples(0.2, 3)))
register(OpInfo("clip", (Clip,), clip, lambda x, min=None, max=None: np.clip(x, min, max),
                lambda rng: [Sample([np.array([-0.93, -0.41, 0.12, 0.33, 0.58, 0.87])],
                                    {"min": -0.5, "max": 0.5}),
                             Sample([rng.uniform(-1, 1, (3, 3))], {"min": 0.05}),
                             Sample([rng.uniform(-1, 1, (3, 3))], {"max": 0.07})]))
register(OpInfo("identity", (Identity,), identity, lambda x: x.copy(), _unary_samples(-1, 1)))
register(OpInfo("sum", (Sum,), sum, lambda *xs: builtins.sum(xs),
                lambda rng: [Sample([rng.uniform(-1, 1, (2, 3)) for _ in range(3)]),
                             Sample([rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3,))])]))
register(OpInfo("mean", (Mean,), mean, lambda *xs: builtins.sum(xs) / len(xs),
                lambda rng: [Sample([rng.uniform(-1, 1, (2, 3)) for _ in range(3)]),
                             Sample([rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (2, 4))])]))


def _seeded_dropout(x, ratio=0.5):
    # A fixed seed per call, so that the finite differences see the same mask.
    x.device.set_rand_seed(1234)
    return dropout(x, ratio)


register(OpInfo("dropout", (Dropout,), _seeded_dropout, None,
                lambda rng: [Sample([rng.uniform(-1, 1, (4, 5))], {"ratio": 0.3}),
                             Sample([rng.uniform(-1, 1, (6,))], {"ratio": 0.0})],
                random=True))
