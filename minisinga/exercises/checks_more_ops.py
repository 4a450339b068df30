"""Checks of the later operation chapters: indexing, pooling, batch normalisation."""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..ops.indexing import onnx_slice_positions, pad_positions
from ._registry import exercise
from ._util import close, equal, forward, grads, t64

INDEX = "ch12_indexing.py"
POOL = "ch14_pooling.py"
BN = "ch15_batchnorm.py"


# ----------------------------------------------------------------------------- indexing
@exercise("indexing.1", "ops/indexing.md", "ONNX Slice: which positions it takes", INDEX,
          ["slice_positions"],
          hint="negative start/end count from the end (add dim); then clamp: for step > 0 "
               "start and end to [0, dim], for step < 0 start to [0, dim - 1] and end to "
               "[-1, dim - 1]; then range(start, end, step)")
def _(ws):
    fn = ws.get(INDEX, "slice_positions")
    cases = [(5, 1, 4, 1), (5, 0, 5, 2), (5, -3, -1, 1), (5, 4, 0, -1), (5, -1, -10, -1),
             (5, 1, 100, 1), (5, -100, 2, 1), (5, 10, 2, -2), (6, 5, -7, -2), (4, 2, 2, 1)]
    for dim, start, end, step in cases:
        equal([int(i) for i in fn(dim, start, end, step)],
              onnx_slice_positions(dim, start, end, step),
              f"slice_positions(dim={dim}, start={start}, end={end}, step={step})")


@exercise("indexing.2", "ops/indexing.md", "Pad's source positions: reflect and edge", INDEX,
          ["pad_source"],
          hint="position o of the padded axis reads i = o - begin when 0 <= i < dim; beyond "
               "that, edge clamps i into [0, dim - 1] and reflect mirrors WITHOUT repeating "
               "the edge (np.pad's 'reflect': period 2 (dim - 1))")
def _(ws):
    fn = ws.get(INDEX, "pad_source")
    for mode in ("edge", "reflect"):
        for dim, begin, end in [(4, 2, 3), (3, 5, 5), (5, 0, 2), (2, 3, 1), (1, 2, 2)]:
            equal([int(i) for i in fn(mode, dim, begin, end)],
                  pad_positions(mode, dim, begin, end),
                  f"pad_source({mode!r}, dim={dim}, begin={begin}, end={end})")
            x = np.arange(float(dim))
            got = forward(lambda t, mode=mode, b=begin, e=end: autograd.pad(t, mode, [b, e]), x)
            close(x[fn(mode, dim, begin, end)], got, f"x[pad_source(...)] against autograd.pad "
                  f"({mode!r}, dim={dim}, begin={begin}, end={end})")


@exercise("indexing.3", "ops/indexing.md", "Gather's backward: scatter-add", INDEX,
          ["gather_backward"],
          hint="dx starts at zeros and every row of dy is ADDED at the row it came from; an "
               "index taken twice gets both gradients (np.add.at, not dx[idx] = dy, which "
               "keeps only the last)")
def _(ws):
    fn = ws.get(INDEX, "gather_backward")
    rng = np.random.default_rng(50)
    x = rng.standard_normal((5, 3))
    for axis, idx in ((0, [3, 0, 3, 1, 3]), (1, [2, 2, 0])):
        y_shape = np.take(x, idx, axis=axis).shape
        dy = rng.standard_normal(y_shape)
        want = grads(lambda t, axis=axis, idx=idx: autograd.gather(t, axis, idx), [x], dy=dy)[0]
        close(fn(x.shape, axis, list(idx), dy.copy()), want,
              f"gather_backward(x of {x.shape}, axis={axis}, indices={idx})")


# ----------------------------------------------------------------------------- pooling
@exercise("pooling.1", "ops/pooling.md", "Average pooling's backward", POOL,
          ["avg_pool_backward"],
          hint="each output is the mean of the k x k cells of its window, so each of those "
               "cells gets dy / (k * k): with non-overlapping windows, np.repeat dy along both "
               "axes and divide")
def _(ws):
    fn = ws.get(POOL, "avg_pool_backward")
    rng = np.random.default_rng(51)
    for k in (2, 3):
        x = rng.standard_normal((2, 3, 2 * k, 3 * k))
        dy = rng.standard_normal((2, 3, 2, 3))
        want = grads(lambda t, k=k: autograd.avg_pool2d(t, k), [x], dy=dy)[0]
        close(fn(dy.copy(), k), want, f"avg_pool_backward(dy, k={k}) (stride k, no padding)")


@exercise("pooling.2", "ops/pooling.md", "Max pooling's backward, overlapping windows", POOL,
          ["max_pool_backward"],
          hint="each window sends its dy to ONE cell, its first maximum in row-major window "
               "order; with stride < k a cell can win several windows and then ADDS their "
               "gradients (+=, not =)")
def _(ws):
    fn = ws.get(POOL, "max_pool_backward")
    rng = np.random.default_rng(52)
    x = rng.standard_normal((1, 2, 5, 5))
    x[0, 0, 2, 2] = 9.0                  # wins every window around it
    x[0, 1, 1, 1] = x[0, 1, 1, 2] = 7.0  # a tie
    for k, s in ((3, 1), (2, 2), (3, 2)):
        oh = (5 - k) // s + 1
        dy = rng.standard_normal((1, 2, oh, oh))
        want = grads(lambda t, k=k, s=s: autograd.max_pool2d(t, k, s), [x], dy=dy)[0]
        close(fn(x.copy(), dy.copy(), k, s), want, f"max_pool_backward(x, dy, k={k}, "
              f"stride={s})")


@exercise("pooling.3", "ops/pooling.md", "Average pooling with padding that does not count",
          POOL, ["avg_pool_padded"],
          hint="minisinga averages over the REAL cells of each window: a corner window of a "
               "padded input divides by the number of cells inside x, not by k * k")
def _(ws):
    fn = ws.get(POOL, "avg_pool_padded")
    rng = np.random.default_rng(53)
    x = rng.standard_normal((2, 2, 5, 4))
    for k, s, p in ((3, 1, 1), (3, 2, 1), (2, 2, 1)):
        want = forward(lambda t, k=k, s=s, p=p: autograd.avg_pool2d(t, k, s, p), x)
        close(fn(x.copy(), k, s, p), want, f"avg_pool_padded(x, k={k}, stride={s}, pad={p})")


# ----------------------------------------------------------------------------- batchnorm
def _bn_inputs(rng):
    x = rng.standard_normal((4, 3, 2, 2)) * 2 + 1
    return x, rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)


def _bn(x, scale, bias, rm, rv, momentum=0.9, eps=1e-5):
    return autograd.batchnorm_2d(x, scale, bias, rm, rv, momentum, eps, training=True)


@exercise("batchnorm.1", "ops/batchnorm.md", "Batch normalisation's forward (training)", BN,
          ["batchnorm_forward"],
          hint="per channel c, over the axes (N, H, W): mean and the BIASED variance "
               "(divide by m, not m - 1); y = scale (x - mean) / sqrt(var + eps) + bias")
def _(ws):
    fn = ws.get(BN, "batchnorm_forward")
    x, scale, bias = _bn_inputs(np.random.default_rng(54))
    want = forward(lambda a, s, b: _bn(a, s, b, t64(np.zeros(3), False),
                                       t64(np.ones(3), False)), x, scale, bias)
    close(fn(x.copy(), scale.copy(), bias.copy(), 1e-5), want,
          "batchnorm_forward(x (4, 3, 2, 2), scale, bias, eps=1e-5)")


@exercise("batchnorm.2", "ops/batchnorm.md", "The running statistics", BN, ["running_update"],
          hint="momentum weights the NEW batch (SINGA's and cuDNN's rule): running = "
               "(1 - momentum) running + momentum batch; the variance kept is the UNBIASED "
               "one, var * m / (m - 1) with m = N H W")
def _(ws):
    fn = ws.get(BN, "running_update")
    x, scale, bias = _bn_inputs(np.random.default_rng(55))
    rm0, rv0 = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 0.5])
    rm, rv = t64(rm0, False), t64(rv0, False)
    old = autograd.training
    autograd.training = True
    try:
        _bn(t64(x), t64(scale), t64(bias), rm, rv, momentum=0.3)
    finally:
        autograd.training = old
    mean, var = fn(rm0.copy(), rv0.copy(), x.copy(), 0.3)
    close(mean, rm.to_numpy(), "the new running mean (momentum 0.3)")
    close(var, rv.to_numpy(), "the new running variance (momentum 0.3)")


@exercise("batchnorm.3", "ops/batchnorm.md", "Batch normalisation's backward", BN,
          ["batchnorm_backward"],
          hint="the mean and variance depend on x too: with xhat = (x - mean) invstd and g = "
               "dy scale, dx = invstd (g - mean(g) - xhat mean(g xhat)) (means per channel); "
               "dscale = sum(dy xhat), dbias = sum(dy)")
def _(ws):
    fn = ws.get(BN, "batchnorm_backward")
    rng = np.random.default_rng(56)
    x, scale, bias = _bn_inputs(rng)
    dy = rng.standard_normal(x.shape)
    want = grads(lambda a, s, b: _bn(a, s, b, t64(np.zeros(3), False), t64(np.ones(3), False)),
                 [x, scale, bias], dy=dy)
    dx, dscale, dbias = fn(x.copy(), scale.copy(), dy.copy(), 1e-5)
    close(dbias, want[2], "dbias")
    close(dscale, want[1], "dscale")
    close(dx, want[0], "dx", rtol=1e-5, atol=1e-8)


# ----------------------------------------------------------------------------- dropout
DROP = "ch09_dropout.py"
TRIG = "ch10_trigonometric.py"
LOGIC = "ch11_logic.py"


def _dropout_run(x, ratio, dy):
    """y = dropout(x) in training mode, and dL/dx for the upstream dy."""
    old = autograd.training
    autograd.training = True
    try:
        xt = t64(x)
        y = autograd.dropout(xt, ratio)
        dx = autograd.gradients(y, t64(dy, grad=False))[xt].to_numpy()
        return y.to_numpy(), dx
    finally:
        autograd.training = old


@exercise("dropout.1", "ops/dropout.md", "Inverted dropout's scale", DROP, ["dropout_scale"],
          hint="a survivor is multiplied by 1 / (1 - ratio), so that the expected output "
               "equals x (SINGA's 1 - ratio makes the expectation (1 - ratio)^2 x)")
def _(ws):
    fn = ws.get(DROP, "dropout_scale")
    rng = np.random.default_rng(60)
    x = rng.uniform(1, 2, (50,))
    for ratio in (0.1, 0.5, 0.8):
        y, _ = _dropout_run(x, ratio, np.ones_like(x))
        kept = y != 0
        close(np.full(int(kept.sum()), float(fn(ratio))), y[kept] / x[kept],
              f"dropout_scale({ratio}) against y / x of the elements dropout kept")


@exercise("dropout.2", "ops/dropout.md", "Dropout's backward, from its output", DROP,
          ["dropout_backward"],
          hint="the mask of the forward is where y != 0 (x has no zeros here); the gradient "
               "goes through the kept elements only, times the same 1 / (1 - ratio)")
def _(ws):
    fn = ws.get(DROP, "dropout_backward")
    rng = np.random.default_rng(61)
    x = rng.uniform(1, 2, (4, 6))
    dy = rng.standard_normal((4, 6))
    y, want = _dropout_run(x, 0.3, dy)
    close(fn(x.copy(), y.copy(), dy.copy(), 0.3), want, "dropout_backward(x, y, dy, ratio=0.3)")


@exercise("dropout.3", "ops/dropout.md", "Dropout at inference", DROP, ["dropout_eval"],
          hint="with the inverted convention nothing happens outside training: y = x (no "
               "(1 - ratio) factor, that is the other convention)")
def _(ws):
    fn = ws.get(DROP, "dropout_eval")
    x = np.random.default_rng(62).standard_normal((3, 4))
    old = autograd.training
    autograd.training = False
    try:
        want = forward(lambda t: autograd.dropout(t, 0.4), x)
    finally:
        autograd.training = old
    close(fn(x.copy(), 0.4), want, "dropout_eval(x, 0.4) against dropout outside training")


# ----------------------------------------------------------------------------- trigonometric
@exercise("trigonometric.1", "ops/trigonometric.md", "The derivative of asin", TRIG,
          ["asin_derivative"],
          hint="differentiate sin(y) = x: cos(y) y' = 1, and cos(asin x) = sqrt(1 - x^2) "
               "(positive on (-pi/2, pi/2)), so y' = 1 / sqrt(1 - x^2)")
def _(ws):
    fn = ws.get(TRIG, "asin_derivative")
    x = np.linspace(-0.9, 0.9, 7)
    close(fn(x.copy()), grads(autograd.asin, [x])[0], "asin_derivative(x)")


@exercise("trigonometric.2", "ops/trigonometric.md", "The derivative of atanh", TRIG,
          ["atanh_derivative"],
          hint="tanh(y) = x gives (1 - tanh(y)^2) y' = 1, so y' = 1 / (1 - x^2) on (-1, 1) "
               "(atan's is 1 / (1 + x^2))")
def _(ws):
    fn = ws.get(TRIG, "atanh_derivative")
    x = np.linspace(-0.9, 0.9, 7)
    close(fn(x.copy()), grads(autograd.atanh, [x])[0], "atanh_derivative(x)")


@exercise("trigonometric.3", "ops/trigonometric.md", "tanh's backward from its output",
          TRIG, ["tanh_backward"],
          hint="backward keeps y = tanh(x), not x: dx = dy (1 - y^2); applying tanh to y "
               "again is a different number")
def _(ws):
    fn = ws.get(TRIG, "tanh_backward")
    rng = np.random.default_rng(63)
    x, dy = rng.uniform(-2, 2, (3, 4)), rng.standard_normal((3, 4))
    y = forward(autograd.tanh, x)
    close(fn(y.copy(), dy.copy()), grads(autograd.tanh, [x], dy=dy)[0], "tanh_backward(y, dy)")


# ----------------------------------------------------------------------------- logic
@exercise("logic.1", "ops/logic.md", "where's backward", LOGIC, ["where_backward"],
          hint="z = x where c else y: dx = dz where c (0 elsewhere), dy = dz where not c; the "
               "condition itself gets no gradient")
def _(ws):
    fn = ws.get(LOGIC, "where_backward")
    rng = np.random.default_rng(64)
    x, y, dz = (rng.standard_normal((3, 4)) for _ in range(3))
    c = rng.integers(0, 2, (3, 4)).astype(np.float64)
    want = grads(lambda a, b: autograd.where(a, b, t64(c, False)), [x, y], dy=dz)
    dx, dy = fn(c.copy(), dz.copy())
    close(dx, want[0], "dx")
    close(dy, want[1], "dy")


@exercise("logic.2", "ops/logic.md", "where's backward, with broadcasting", LOGIC,
          ["where_backward_broadcast"],
          hint="first as in logic.1 on the broadcast shape, then sum each gradient back to its "
               "input's shape (over the leading axes and the axes where the input had size 1)")
def _(ws):
    fn = ws.get(LOGIC, "where_backward_broadcast")
    rng = np.random.default_rng(65)
    for sx, sy, sc in [((3, 4), (4,), (3, 4)), ((1, 4), (3, 1), (3, 4)), ((2, 3, 1), (3, 4), (1, 3, 4))]:
        x, y = rng.standard_normal(sx), rng.standard_normal(sy)
        c = rng.integers(0, 2, sc).astype(np.float64)
        out = np.broadcast_shapes(sx, sy, sc)
        dz = rng.standard_normal(out)
        want = grads(lambda a, b, c=c: autograd.where(a, b, t64(c, False)), [x, y], dy=dz)
        dx, dy = fn(c.copy(), sx, sy, dz.copy())
        close(dx, want[0], f"dx (x {sx}, y {sy}, condition {sc})")
        close(dy, want[1], f"dy (x {sx}, y {sy}, condition {sc})")


@exercise("logic.3", "ops/logic.md", "A piecewise function from greater and where", LOGIC,
          ["piecewise"],
          hint="f(x) = x^2 where x > 0, else -x: cond = autograd.greater(x, zeros), then "
               "autograd.where(x * x, -x, cond); where routes each gradient to its branch")
def _(ws):
    fn = ws.get(LOGIC, "piecewise")
    x = np.array([-2.0, -0.7, -0.1, 0.2, 0.9, 1.7])
    close(forward(fn, x), np.where(x > 0, x * x, -x), "piecewise(x)")
    dy = np.array([1.0, -2.0, 0.5, 1.5, -1.0, 2.0])
    close(grads(fn, [x], dy=dy)[0], dy * np.where(x > 0, 2 * x, -1.0),
          "the gradient of piecewise(x) by autograd")
