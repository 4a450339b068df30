"""Checks of the first chapters: the backend, autograd, gradient checking."""
from __future__ import annotations

import math

import numpy as np

from .. import autograd, backend
from ..ctensor import CTensor
from ..testing import REGISTRY, GradcheckError, OpInfo, gradcheck, register
from ._c import load_c, pointer
from ._registry import ExerciseFailed, exercise
from ._util import check_grad, close, equal, forward, grads, t64

BACKEND = "ch01_backend.py"
AUTOGRAD = "ch02_autograd.py"
GRADCHECK = "ch03_gradcheck.py"


def _ctensor(arr) -> CTensor:
    return CTensor.from_numpy(np.asarray(arr, dtype=np.float64))


def _strided_copy(x: np.ndarray, out_shape, strides, what: str) -> np.ndarray:
    """backend.strided_copy with the student's shape and strides, checked first:
    the kernel trusts its caller, and a wrong stride would read outside x."""
    try:
        out_shape = tuple(int(d) for d in out_shape)
        strides = [int(s) for s in strides]
    except (TypeError, ValueError) as exc:
        raise ExerciseFailed(f"{what}: the shape and strides must be sequences of ints "
                             f"({exc})") from None
    if len(strides) != len(out_shape) or any(d < 0 for d in out_shape):
        raise ExerciseFailed(f"{what}: {len(strides)} strides for the output shape {out_shape}")
    if math.prod(out_shape):
        lo = sum((d - 1) * st for d, st in zip(out_shape, strides) if st < 0)
        hi = sum((d - 1) * st for d, st in zip(out_shape, strides) if st > 0)
        if lo < 0 or hi >= x.size:
            raise ExerciseFailed(
                f"{what}: with output shape {out_shape} and strides {strides}, strided_copy "
                f"would read element {hi if hi >= x.size else lo} of a tensor of {x.size} "
                f"elements (shape {x.shape}): outside it")
    return backend.strided_copy(_ctensor(x), out_shape, strides).numpy()


# ----------------------------------------------------------------------------- backend
@exercise("backend.1", "backend.md", "Strides of a compact (row-major) array", BACKEND,
          ["contiguous_strides"],
          hint="the last axis moves by 1 element; each axis before it moves by the product "
               "of the sizes after it (row-major, C order)")
def _(ws):
    fn = ws.get(BACKEND, "contiguous_strides")
    for shape in [(5,), (3, 4), (2, 3, 4), (4, 1, 3, 2), ()]:
        got = fn(shape)
        want = backend.contiguous_strides(shape)
        equal(list(got), want, f"contiguous_strides({shape})")


@exercise("backend.2", "backend.md", "Transpose through strided_copy", BACKEND,
          ["transpose_strides"],
          hint="output axis k walks input axis perm[k]: out_shape[k] = shape[perm[k]] and "
               "its stride is the input's stride of axis perm[k]")
def _(ws):
    fn = ws.get(BACKEND, "transpose_strides")
    rng = np.random.default_rng(0)
    for shape, perm in [((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4, 5), (1, 3, 0, 2))]:
        x = rng.standard_normal(shape)
        out_shape, strides = fn(shape, perm)
        equal(tuple(out_shape), tuple(np.transpose(x, perm).shape),
              f"transpose_strides({shape}, {perm}): the output shape")
        got = _strided_copy(x, out_shape, strides, f"transpose_strides({shape}, {perm})")
        close(got, np.transpose(x, perm),
              f"strided_copy with your strides for transpose {shape} by {perm}")


@exercise("backend.3", "backend.md", "Broadcast through zero strides", BACKEND,
          ["broadcast_strides"],
          hint="align the shapes on the right; a missing leading axis and an axis of size 1 "
               "that is stretched both get stride 0, the others keep their compact stride")
def _(ws):
    fn = ws.get(BACKEND, "broadcast_strides")
    rng = np.random.default_rng(1)
    for shape, out in [((3,), (2, 3)), ((3, 1), (3, 4)), ((1, 4), (2, 3, 4)),
                       ((2, 1, 3), (4, 2, 5, 3)), ((2, 3), (2, 3))]:
        x = rng.standard_normal(shape)
        strides = list(fn(shape, out))
        equal(len(strides), len(out), f"broadcast_strides({shape}, {out}): number of strides")
        got = _strided_copy(x, out, strides, f"broadcast_strides({shape}, {out})")
        close(got, np.broadcast_to(x, out),
              f"strided_copy with your strides broadcasting {shape} to {out}")


SQUARE_CDEF = """
void square_forward(double *y, const double *x, int64_t n);
void square_backward(double *dx, const double *dy, const double *x, int64_t n);
"""


@exercise("backend.4", "backend.md", "Write Square's C kernels and load them through cffi",
          "ch01_backend/square.c",
          hint="forward: y[i] = x[i] * x[i]; backward writes (not adds) "
               "dx[i] = 2 * x[i] * dy[i]; loop i from 0 to n - 1")
def _(ws):
    ffi, lib = load_c(ws.text("ch01_backend/square.c"), SQUARE_CDEF)

    class _StudentSquare(autograd.Operation):
        """Square on the student's kernels (outputs pre-filled with NaN)."""

        def forward(self, x):
            self.x = x
            y = backend.full(x.shape, float("nan"), x.dtype, x.device)
            lib.square_forward(pointer(ffi, "double *", y), pointer(ffi, "double *", x), x.size)
            return y

        def backward(self, dy):
            dx = backend.full(dy.shape, float("nan"), dy.dtype, dy.device)
            lib.square_backward(pointer(ffi, "double *", dx), pointer(ffi, "double *", dy),
                                pointer(ffi, "double *", self.x), dy.size)
            return dx

    def square(x):
        return _StudentSquare()(x)[0]

    x = np.random.default_rng(2).uniform(-2, 2, (3, 5))
    close(forward(square, x), x * x, "square_forward: y")
    check_grad(square, [x], "square_backward", name="square")


# ----------------------------------------------------------------------------- autograd
@exercise("autograd.1", "autograd.md", "An Operation: Cube, forward and backward", AUTOGRAD,
          ["Cube"],
          hint="keep x in forward (self.x = x); backward returns 3 * x * x * dy, built from "
               "backend.mul and backend.scale")
def _(ws):
    cube_cls = ws.get(AUTOGRAD, "Cube")
    if not (isinstance(cube_cls, type) and issubclass(cube_cls, autograd.Operation)):
        raise ExerciseFailed("Cube must be a subclass of autograd.Operation")

    def cube(x):
        return cube_cls()(x)[0]

    x = np.random.default_rng(3).uniform(-2, 2, (4, 3))
    close(forward(cube, x), x ** 3, "Cube forward")
    check_grad(cube, [x], "Cube backward", name="cube")


def _diamond():
    """z = exp(x) + 2*exp(x)*w, then (z*z).sum-like: a graph where one op feeds two."""
    rng = np.random.default_rng(4)
    x = t64(rng.uniform(-1, 1, (3,)))
    w = t64(rng.uniform(-1, 1, (3,)))
    e = autograd.exp(x)
    z = autograd.add(e, autograd.mul(autograd.mul(e, w), t64(np.full(3, 2.0), grad=False)))
    return autograd.mul(autograd.relu(z), autograd.tanh(e))


@exercise("autograd.2", "autograd.md", "Order the graph for the backward pass", AUTOGRAD,
          ["backward_order"],
          hint="an operation may run its backward only after every operation that used its "
               "outputs has run; visit op.src (creator, ...) entries and emit an op once all "
               "of its consumers are emitted (a reversed post-order DFS, or Kahn's algorithm)")
def _(ws):
    fn = ws.get(AUTOGRAD, "backward_order")
    old = autograd.training
    autograd.training = True
    try:
        y = _diamond()
        order = list(fn(y))
    finally:
        autograd.training = old
    # Every op reachable from y, by the recorded src edges.
    reach, stack, consumers = {y.creator}, [y.creator], {}
    while stack:
        op = stack.pop()
        for src_op, *_ in op.src:
            if src_op is None:
                continue
            consumers.setdefault(src_op, set()).add(op)
            if src_op not in reach:
                reach.add(src_op)
                stack.append(src_op)
    if len(order) != len(set(order)):
        raise ExerciseFailed("backward_order lists an operation more than once")
    if set(order) != reach:
        missing = [op.name for op in reach - set(order)]
        extra = [getattr(op, "name", op) for op in set(order) - reach]
        raise ExerciseFailed(f"backward_order must list every operation reachable from y "
                             f"(Dummy leaves included) exactly once; missing {missing}, "
                             f"not in the graph {extra}")
    pos = {op: i for i, op in enumerate(order)}
    for op, users in consumers.items():
        for user in users:
            if pos[user] > pos[op]:
                raise ExerciseFailed(f"{op.name} comes before {user.name}, which uses its "
                                     f"output: {op.name}'s gradient is not complete yet")


@exercise("autograd.3", "autograd.md", "One training step by hand", AUTOGRAD, ["train_step"],
          hint="loss = autograd.mse_loss(autograd.matmul(x, W), t); for (p, g) in "
               "autograd.backward(loss): p -= lr * g (backend.axpy(p.data, g.data, -lr)); "
               "return the loss before the step as a float")
def _(ws):
    fn = ws.get(AUTOGRAD, "train_step")
    rng = np.random.default_rng(5)
    x, t, w0 = rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), rng.standard_normal((3, 2))
    W = t64(w0)
    old = autograd.training
    autograd.training = True
    try:
        loss = fn(t64(x, grad=False), t64(t, grad=False), W, 0.1)
    finally:
        autograd.training = old
    r = x @ w0 - t
    close(float(loss), np.mean(r * r), "the returned loss (before the step)")
    close(W.to_numpy(), w0 - 0.1 * 2 * x.T @ r / r.size, "W after one step of lr 0.1")


# ----------------------------------------------------------------------------- gradcheck
@exercise("gradcheck.1", "gradcheck.md", "Central differences", GRADCHECK,
          ["central_difference"],
          hint="g[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), one element at a time; "
               "the one-sided (f(x + eps e_i) - f(x)) / eps has an error O(eps), not O(eps^2)")
def _(ws):
    fn = ws.get(GRADCHECK, "central_difference")
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (3, 4))
    v = rng.standard_normal((3, 4))
    calls = []

    def f(a):
        calls.append(1)
        return float(np.sum(v * np.sin(3 * a)))

    x0 = x.copy()
    got = fn(f, x, 1e-3)
    if not np.array_equal(x, x0):
        raise ExerciseFailed("central_difference must leave x as it found it")
    # The exact gradient, by minisinga's autograd of sum(v * sin(3x)).
    exact = grads(lambda t: autograd.sin(autograd.mul(t, t64(np.full((3, 4), 3.0), False))),
                  [x], dy=v)[0]
    close(got, exact, "central_difference(f, x, eps=1e-3) against the exact gradient",
          rtol=1e-5, atol=1e-5)


@exercise("gradcheck.2", "gradcheck.md", "Derive and check the gradient of hardswish",
          GRADCHECK, ["hardswish", "hardswish_derivative"],
          hint="hardswish(x) = x * clip(x + 3, 0, 6) / 6: 0 below -3, x above 3, "
               "x (x + 3) / 6 between; so the derivative is 0, 1, or (2x + 3) / 6")
def _(ws):
    hs = ws.get(GRADCHECK, "hardswish")
    dhs = ws.get(GRADCHECK, "hardswish_derivative")
    x = np.array([-5.0, -3.5, -2.0, -0.7, 0.4, 1.3, 2.9, 3.2, 6.0])   # away from -3 and 3
    want = x * np.clip(x + 3, 0, 6) / 6
    close(forward(hs, x), want, "hardswish(x)")
    check_grad(hs, [x], "hardswish's autograd gradient", name="hardswish")
    ref = grads(lambda t: autograd.mul(t, autograd.clip(autograd.add(t, t64(np.full(9, 3.0),
                False)), 0.0, 6.0)) * (1.0 / 6.0), [x])[0]
    close(dhs(x.copy()), ref, "hardswish_derivative(x), against minisinga's gradient")


@exercise("gradcheck.3", "gradcheck.md", "A wrong backward that .sum() cannot see",
          GRADCHECK, ["sum_blind_op"],
          hint="with L = y.sum() the upstream gradient is all ones, so a backward that "
               "permutes or reverses dy gives the same answer; a random dy (gradcheck's) "
               "does not. E.g. y = 2 x with backward 2 * reversed(dy)")
def _(ws):
    fn = ws.get(GRADCHECK, "sum_blind_op")()
    x = np.random.default_rng(7).uniform(-1, 1, (5,))
    # 1. The gradient of y.sum() is right.
    ana = grads(fn, [x])[0]
    num = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = 1e-6
        num[i] = (forward(fn, x + e).sum() - forward(fn, x - e).sum()) / 2e-6
    close(ana, num, "the gradient of y.sum() must be right (the bug must hide from it)",
          rtol=1e-4, atol=1e-6)
    # 2. ... and gradcheck, with its random upstream gradient, finds the bug.
    try:
        gradcheck(fn, [x])
    except GradcheckError:
        return
    raise ExerciseFailed("gradcheck passes your operation: its backward is right, so there "
                         "is no bug for .sum() to miss")


@exercise("gradcheck.4", "gradcheck.md", "Add an operation to the registry and pass gradcheck",
          GRADCHECK, ["Silu", "silu_opinfo"],
          hint="Silu: y = x * sigmoid(x), dx = dy * (s + x s (1 - s)) with s = sigmoid(x); "
               "the OpInfo needs name, ops=(Silu,), fn, a float64 NumPy ref and samples(rng) "
               "returning a list of testing.Sample")
def _(ws):
    silu_cls = ws.get(GRADCHECK, "Silu")
    info = ws.get(GRADCHECK, "silu_opinfo")()
    if not isinstance(info, OpInfo):
        raise ExerciseFailed(f"silu_opinfo() must return a testing.OpInfo, got "
                             f"{type(info).__name__}")
    if silu_cls not in info.ops:
        raise ExerciseFailed("the OpInfo's ops must list the Silu class (the meta-test "
                             "finds operations without an entry through it)")
    taken = info.name in REGISTRY
    if taken:
        raise ExerciseFailed(f"the name {info.name!r} is taken in the registry; pick another")
    register(info)
    try:
        samples = info.samples(np.random.default_rng(0))
        if not samples:
            raise ExerciseFailed("samples(rng) returned no samples")
        for s in samples:
            args = [np.asarray(a, dtype=np.float64) for a in s.args]
            true = args[0] / (1 + np.exp(-args[0]))
            close(info.ref(*args, **s.kwargs), true, "your ref against x * sigmoid(x)")
            def fn(*t, kwargs=s.kwargs):
                return info.fn(*t, **kwargs)
            got = forward(fn, *args)
            close(got, true, f"{info.name} forward on a sample of shape {args[0].shape}")
            check_grad(fn, args, "the registry's gradcheck",
                       atol=info.atol, rtol=info.rtol, name=info.name)
    finally:
        REGISTRY.pop(info.name, None)
