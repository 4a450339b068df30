"""Registry entries of sign and rounding, erf, n-ary max and min, prelu, cossim, ranking_loss
(minisinga/ops/mathfn.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..ops.mathfn import (
    Ceil,
    CosSim,
    Erf,
    Floor,
    Max,
    Min,
    PRelu,
    RankingLoss,
    Round,
    Rounde,
    Sign,
    ceil,
    cossim,
    erf,
    floor,
    max,
    min,
    prelu,
    ranking_loss,
    round,
    rounde,
    sign,
)
from .registry import OpInfo, Sample, register

# NOTE: here max, min and round are minisinga's operations (SINGA's names), not
# Python's builtins.


def _away_from_jumps(offsets, signed=True, shapes=((3, 4), (5,), (2, 1, 3))):
    """Samples whose fractional part lies in one of ``offsets`` (intervals kept away
    from integers and half-integers), so finite differences see no jump."""
    def make(rng):
        out = []
        for s in shapes:
            whole = rng.integers(-3, 3, s) if signed else rng.integers(0, 3, s)
            lo, hi = offsets[rng.integers(len(offsets))]
            out.append(Sample([whole + rng.uniform(lo, hi, s)]))
        return out
    return make


_FRACTIONS = [(0.1, 0.4), (0.6, 0.9)]


def _np_round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _np_cossim(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _signed(rng, shape, lo=0.2, hi=1.0):
    """Uniform magnitudes in [lo, hi) with random signs: away from 0."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1, 1], shape)


def _distinct(rng, *shapes):
    """Samples for max / min: values on a grid 0.05 apart, so no two inputs tie
    (or come within a finite-difference step of a tie)."""
    total = builtins.sum(math.prod(s) for s in shapes)
    values = rng.permutation(total) * 0.05 - 1.0
    out, start = [], 0
    for s in shapes:
        size = math.prod(s)
        out.append(values[start:start + size].reshape(s))
        start += size
    return out


def _extremum_samples(rng):
    return [Sample(_distinct(rng, (2, 3), (2, 3), (2, 3)), note="three of one shape"),
            Sample(_distinct(rng, (2, 3), (3,)), note="(2, 3) with (3,)"),
            Sample(_distinct(rng, (3, 1), (1, 4)), note="(3, 1) with (1, 4)"),
            Sample(_distinct(rng, (4,)), note="one input")]


def _ranking_samples(rng):
    # Keep every M - pos + neg away from the hinge at 0 (|h| >= 0.1).
    out = []
    for shape in [(6,), (4, 1), (3, 2)]:
        pos = rng.uniform(-1, 1, shape)
        h = _signed(rng, shape, 0.1, 0.8)
        out.append(Sample([pos, pos - 0.2 + h]))
    out.append(Sample([np.array([0.9, 0.1, 0.5]), np.array([0.2, 0.4, 0.1])], {"M": 0.5}))
    return out


register(OpInfo("sign", (Sign,), sign, np.sign,
                lambda rng: [Sample([_signed(rng, (3, 4))]), Sample([_signed(rng, (5,))])]))
register(OpInfo("ceil", (Ceil,), ceil, np.ceil, _away_from_jumps([(0.1, 0.9)])))
register(OpInfo("floor", (Floor,), floor, np.floor, _away_from_jumps([(0.1, 0.9)])))
register(OpInfo("round", (Round,), round, _np_round_half_away, _away_from_jumps(_FRACTIONS)))
register(OpInfo("rounde", (Rounde,), rounde, np.round, _away_from_jumps(_FRACTIONS)))
register(OpInfo("erf", (Erf,), erf, np.vectorize(math.erf),
                lambda rng: [Sample([rng.uniform(-2, 2, (3, 4))]), Sample([rng.uniform(-1, 1, (5,))])]))
register(OpInfo("max", (Max,), max, lambda *xs: np.maximum.reduce(np.broadcast_arrays(*xs)),
                _extremum_samples))
register(OpInfo("min", (Min,), min, lambda *xs: np.minimum.reduce(np.broadcast_arrays(*xs)),
                _extremum_samples))
register(OpInfo("prelu", (PRelu,), prelu, lambda x, s: np.where(x >= 0, x, s * x),
                lambda rng: [Sample([_signed(rng, (3, 4)), rng.uniform(0.1, 0.5, (3, 4))],
                                    note="one shape"),
                             Sample([_signed(rng, (2, 3, 4)), rng.uniform(0.1, 0.5, (4,))],
                                    note="slope per channel (4,)"),
                             Sample([_signed(rng, (2, 3)), rng.uniform(0.1, 0.5, (1, 1))],
                                    note="one slope (1, 1)")]))
register(OpInfo("cossim", (CosSim,), cossim, _np_cossim,
                lambda rng: [Sample([rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))]),
                             Sample([rng.uniform(-1, 1, (1, 5)), rng.uniform(-1, 1, (1, 5))])]))
register(OpInfo("ranking_loss", (RankingLoss,), ranking_loss,
                lambda p, q, M=0.2: np.array([np.maximum(0, M - p + q).sum() / p.shape[0]]),
                _ranking_samples))
