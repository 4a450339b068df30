"""Checks of the operation chapters (docs/ops/*.md)."""
from __future__ import annotations

import numpy as np

from .. import autograd, backend
from ..ctensor import CTensor
from ..ops.conv import conv_geom, same_padding
from ..testing.conv import np_conv2d
from ._registry import ExerciseFailed, exercise
from ._util import check_grad, close, equal, forward, grads, t64

ELEM = "ch04_elementwise.py"
ACT = "ch05_activations.py"
MATMUL = "ch06_matmul.py"
LOSS = "ch07_losses.py"
SHAPES = "ch08_shapes.py"
CONV = "ch13_convolution.py"


def _operation(ws, file, name):
    cls = ws.get(file, name)
    if not (isinstance(cls, type) and issubclass(cls, autograd.Operation)):
        raise ExerciseFailed(f"{name} must be a subclass of autograd.Operation")
    return cls


# ----------------------------------------------------------------------------- elementwise
@exercise("elementwise.1", "ops/elementwise.md", "Broadcasting's backward: reduce to shape",
          ELEM, ["sum_to_shape"],
          hint="pad the target shape with leading 1s to dy's rank; sum every axis where the "
               "padded shape has 1 and dy does not (leading axes AND inner size-1 axes), "
               "e.g. with backend.reduce_sum(dy, outer, mid, inner)")
def _(ws):
    fn = ws.get(ELEM, "sum_to_shape")
    rng = np.random.default_rng(10)
    for big, small in [((2, 3, 4), (3, 4)), ((2, 3, 4), (2, 1, 4)), ((2, 3, 5, 4), (3, 1, 4)),
                       ((3, 4), (3, 4)), ((2, 3), (1,)), ((4, 2, 3), (4, 1, 1))]:
        dy = rng.standard_normal(big)
        got = fn(CTensor.from_numpy(dy), small)
        if not isinstance(got, CTensor):
            raise ExerciseFailed(f"sum_to_shape must return a CTensor, got {type(got).__name__}")
        equal(tuple(got.shape), tuple(small), f"sum_to_shape(dy of {big}, {small}): its shape")
        lead = len(big) - len(small)
        axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(small)
                                          if d == 1 and big[lead + i] != 1)
        close(got.numpy(), dy.sum(axis=axes).reshape(small),
              f"sum_to_shape(dy of {big}, {small})")


@exercise("elementwise.2", "ops/elementwise.md", "A broadcasting multiply, forward and backward",
          ELEM, ["BroadcastMul"],
          hint="forward: broadcast both to the common shape (backend.broadcast_shape, "
               "backend.broadcast_to) and multiply; backward: da = sum_to_shape(dy * b, "
               "a's shape), db = sum_to_shape(dy * a, b's shape)")
def _(ws):
    cls = _operation(ws, ELEM, "BroadcastMul")
    rng = np.random.default_rng(11)
    for sa, sb in [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((1,), (2, 3))]:
        a, b = rng.uniform(-1, 1, sa), rng.uniform(-1, 1, sb)
        close(forward(lambda x, y: cls()(x, y)[0], a, b), a * b, f"BroadcastMul {sa} x {sb}")
        check_grad(lambda x, y: cls()(x, y)[0], [a, b], f"BroadcastMul {sa} x {sb}",
                   name="BroadcastMul")


@exercise("elementwise.3", "ops/elementwise.md", "The gradients of a division", ELEM, ["Div"],
          hint="y = a / b: da = dy / b and db = -dy * a / b^2 (mind the sign); kernels: "
               "backend.binary('div_forward', ...), backend.mul, backend.scale")
def _(ws):
    cls = _operation(ws, ELEM, "Div")
    rng = np.random.default_rng(12)
    a, b = rng.uniform(-2, 2, (3, 4)), rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    close(forward(lambda x, y: cls()(x, y)[0], a, b), a / b, "Div forward")
    check_grad(lambda x, y: cls()(x, y)[0], [a, b], "Div", name="Div")


# ----------------------------------------------------------------------------- activations
@exercise("activations.1", "ops/activations.md", "Softplus: derive its backward", ACT,
          ["Softplus"],
          hint="y = log(1 + e^x), so dy/dx = e^x / (1 + e^x) = sigmoid(x); "
               "backward = dy * sigmoid(x) (backend.unary('sigmoid_forward', x))")
def _(ws):
    cls = _operation(ws, ACT, "Softplus")
    x = np.random.default_rng(13).uniform(-4, 4, (3, 5))
    close(forward(lambda t: cls()(t)[0], x), np.log1p(np.exp(x)), "Softplus forward")
    check_grad(lambda t: cls()(t)[0], [x], "Softplus", name="Softplus")


@exercise("activations.2", "ops/activations.md", "Softmax's backward, by the Jacobian",
          ACT, ["softmax_backward"],
          hint="the Jacobian is diag(y) - y y^T per row, so dx = y * (dy - sum(dy * y)) "
               "with the sum along each row (keepdims)")
def _(ws):
    fn = ws.get(ACT, "softmax_backward")
    rng = np.random.default_rng(14)
    x, dy = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    y = forward(lambda t: autograd.softmax(t, axis=1), x)
    want = grads(lambda t: autograd.softmax(t, axis=1), [x], dy=dy)[0]
    close(fn(y.copy(), dy.copy()), want, "softmax_backward(y, dy) against minisinga's")


@exercise("activations.3", "ops/activations.md", "Leaky ReLU, and its convention at the kink",
          ACT, ["LeakyRelu"],
          hint="y = x where x >= 0 else a x; the slope at exactly x = 0 is 1 (minisinga's "
               "convention, docs/ops/activations.md#leakyrelu)")
def _(ws):
    cls = _operation(ws, ACT, "LeakyRelu")
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.5, 0.0])
    dy = np.array([1.0, 2.0, 3.0, -1.0, 0.5, -2.0])
    for a in (0.01, 0.2):
        close(forward(lambda t, a=a: cls(a)(t)[0], x), np.where(x >= 0, x, a * x),
              f"LeakyRelu({a}) forward")
        want = grads(lambda t, a=a: autograd.leakyrelu(t, a), [x], dy=dy)[0]
        got = grads(lambda t, a=a: cls(a)(t)[0], [x], dy=dy)[0]
        close(got, want, f"LeakyRelu({a}) backward, x = {x.tolist()} (two of them exactly 0)")
    xs = np.random.default_rng(15).uniform(-2, 2, (3, 4))
    check_grad(lambda t: cls(0.1)(t)[0], [np.where(np.abs(xs) < 0.1, 0.5, xs)], "LeakyRelu")


# ----------------------------------------------------------------------------- matmul
@exercise("matmul.1", "ops/matmul.md", "The two gradients of a matrix product", MATMUL,
          ["matmul_backward"],
          hint="y = a b with a (m, k), b (k, n): da = dy b^T (m, k), db = a^T dy (k, n); "
               "check the shapes first, they leave one way to write each product")
def _(ws):
    fn = ws.get(MATMUL, "matmul_backward")
    rng = np.random.default_rng(16)
    a, b, dy = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    da, db = fn(a.copy(), b.copy(), dy.copy())
    want = grads(autograd.matmul, [a, b], dy=dy)
    close(da, want[0], "da")
    close(db, want[1], "db")


@exercise("matmul.2", "ops/matmul.md", "Gemm's backward, with transposes", MATMUL,
          ["gemm_backward"],
          hint="y = alpha op(A) op(B) + beta C.  With dA' = alpha dy op(B)^T (the gradient "
               "of op(A)), dA is dA' or dA'^T when transA; likewise dB' = alpha op(A)^T dy")
def _(ws):
    fn = ws.get(MATMUL, "gemm_backward")
    rng = np.random.default_rng(17)
    for ta in (0, 1):
        for tb in (0, 1):
            A = rng.standard_normal((3, 3))
            B = rng.standard_normal((3, 3))
            C = rng.standard_normal((3, 3))
            dy = rng.standard_normal((3, 3))
            want = grads(lambda a, b, c, ta=ta, tb=tb: autograd.gemm(a, b, c, 0.7, 0.4, ta, tb),
                         [A, B, C], dy=dy)
            dA, dB = fn(A.copy(), B.copy(), dy.copy(), 0.7, ta, tb)
            close(dA, want[0], f"dA (transA={ta}, transB={tb}, alpha=0.7)")
            close(dB, want[1], f"dB (transA={ta}, transB={tb}, alpha=0.7)")


@exercise("matmul.3", "ops/matmul.md", "add_bias's backward, along either axis", MATMUL,
          ["add_bias_backward"],
          hint="the bias is copied to every row (axis 0) or every column (axis 1), so its "
               "gradient SUMS dy over the copies: dy.sum(axis=0) for axis 0, dy.sum(axis=1) "
               "for axis 1 (a sum, not a mean)")
def _(ws):
    fn = ws.get(MATMUL, "add_bias_backward")
    rng = np.random.default_rng(23)
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for axis, nb in ((0, 3), (1, 4)):
        b = rng.standard_normal(nb)
        want = grads(lambda a, c, axis=axis: autograd.add_bias(a, c, axis=axis), [x, b], dy=dy)[1]
        close(fn(dy.copy(), axis), want, f"add_bias_backward(dy, axis={axis}): db")


# ----------------------------------------------------------------------------- losses
@exercise("losses.1", "ops/losses.md", "The gradient of softmax cross-entropy", LOSS,
          ["softmax_cross_entropy_grad"],
          hint="the loss is the MEAN over the batch of -sum t log softmax(x), so "
               "dx = (softmax(x) - t) / N")
def _(ws):
    fn = ws.get(LOSS, "softmax_cross_entropy_grad")
    rng = np.random.default_rng(18)
    x = rng.standard_normal((5, 4))
    t = np.eye(4)[rng.integers(0, 4, 5)]
    want = grads(lambda a: autograd.softmax_cross_entropy(a, t64(t, False)), [x])[0]
    close(fn(x.copy(), t.copy()), want, "softmax_cross_entropy_grad(x, t)")


@exercise("losses.2", "ops/losses.md", "A log-sum-exp that does not overflow", LOSS,
          ["logsumexp"],
          hint="subtract each row's maximum m first: log sum exp(x) = m + log sum exp(x - m); "
               "exp(1000) is inf in float64")
def _(ws):
    fn = ws.get(LOSS, "logsumexp")
    rng = np.random.default_rng(19)
    x = rng.standard_normal((4, 6)) * 3
    x[1] += 1000.0
    x[2] -= 1000.0
    s = forward(lambda t: autograd.softmax(t, axis=1), x)
    want = x[:, 0] - np.log(s[:, 0])            # log softmax = x - lse, by minisinga's softmax
    with np.errstate(all="ignore"):
        got = fn(x.copy())
    close(np.asarray(got).reshape(-1), want, "logsumexp(x) per row (rows with +-1000 added)")


@exercise("losses.3", "ops/losses.md", "The gradient of the mean squared error", LOSS,
          ["mse_grad"],
          hint="minisinga's mse_loss is the mean over EVERY element of (x - t)^2, with no "
               "1/2 (as SINGA): dx = 2 (x - t) / x.size")
def _(ws):
    fn = ws.get(LOSS, "mse_grad")
    rng = np.random.default_rng(24)
    x, t = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    want = grads(lambda a: autograd.mse_loss(a, t64(t, False)), [x])[0]
    close(fn(x.copy(), t.copy()), want, "mse_grad(x, t)")


# ----------------------------------------------------------------------------- shapes
@exercise("shapes.1", "ops/shapes.md", "Transpose's backward: the inverse permutation",
          SHAPES, ["inverse_perm"],
          hint="if y = transpose(x, perm) then axis k of y is axis perm[k] of x; dx = "
               "transpose(dy, inv) with inv[perm[k]] = k (np.argsort(perm)); it is not perm "
               "itself unless perm is its own inverse")
def _(ws):
    fn = ws.get(SHAPES, "inverse_perm")
    rng = np.random.default_rng(20)
    for perm in [(1, 0), (1, 2, 0), (2, 0, 1), (0, 3, 1, 2)]:
        shape = (2, 3, 4, 5)[:len(perm)]
        x = rng.standard_normal(shape)
        dy = rng.standard_normal(np.transpose(x, perm).shape)
        want = grads(lambda t, perm=perm: autograd.transpose(t, perm), [x], dy=dy)[0]
        inv = tuple(int(i) for i in fn(tuple(perm)))
        if sorted(inv) != list(range(len(perm))):
            raise ExerciseFailed(f"inverse_perm({perm}) = {inv} is not a permutation")
        close(np.transpose(dy, inv), want, f"transpose(dy, inverse_perm({perm}))")


@exercise("shapes.2", "ops/shapes.md", "reduce_max's backward, with ties", SHAPES,
          ["reduce_max_backward"],
          hint="the whole gradient of a row goes to ONE element: its first maximum "
               "(np.argmax's choice); ties do not share it")
def _(ws):
    fn = ws.get(SHAPES, "reduce_max_backward")
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, -4.0, -0.5, -0.5]])
    dy = np.array([[1.5], [-2.0], [0.25]])
    want = grads(lambda t: autograd.reduce_max(t, axes=[1], keepdims=1), [x], dy=dy)[0]
    close(fn(x.copy(), dy.copy()), want, "reduce_max_backward(x, dy) over axis 1 (with ties)")


@exercise("shapes.3", "ops/shapes.md", "cat's backward: split dy back", SHAPES,
          ["cat_backward"],
          hint="input k's gradient is the slice of dy along axis from sum(sizes[:k]) to "
               "sum(sizes[:k + 1]) (running offsets, starting at 0)")
def _(ws):
    fn = ws.get(SHAPES, "cat_backward")
    rng = np.random.default_rng(25)
    for axis, shapes in ((0, [(2, 3), (1, 3), (3, 3)]), (1, [(2, 1), (2, 4), (2, 2)])):
        xs = [rng.standard_normal(s) for s in shapes]
        dy = rng.standard_normal(np.concatenate(xs, axis=axis).shape)
        want = grads(lambda *t, axis=axis: autograd.cat(list(t), axis), xs, dy=dy)
        sizes = [s[axis] for s in shapes]
        got = list(fn(dy.copy(), sizes, axis))
        equal(len(got), len(xs), f"cat_backward(dy, {sizes}, axis={axis}): number of gradients")
        for k, (g, w) in enumerate(zip(got, want)):
            close(g, w, f"cat_backward(dy, {sizes}, axis={axis})[{k}]")


# ----------------------------------------------------------------------------- convolution
@exercise("convolution.1", "ops/convolution.md", "The output size of a convolution", CONV,
          ["conv_output_size"],
          hint="the dilated kernel covers (k - 1) d + 1 inputs; it fits at "
               "(size + pad_total - ((k - 1) d + 1)) // stride + 1 positions")
def _(ws):
    fn = ws.get(CONV, "conv_output_size")
    rng = np.random.default_rng(21)
    for size, k, s, p, d in [(5, 3, 1, 0, 1), (7, 3, 2, 2, 1), (9, 3, 1, 0, 2), (10, 2, 3, 1, 3),
                             (6, 1, 1, 0, 1), (8, 3, 2, 1, 2)]:
        x = rng.standard_normal((1, 1, size, 4))
        W = rng.standard_normal((1, 1, k, 1))
        y = forward(lambda a, w, s=s, p=p, d=d: autograd.conv2d(
            a, w, stride=(s, 1), padding=(p // 2, p - p // 2, 0, 0), dilation=(d, 1)), x, W)
        equal(int(fn(size, k, s, p, d)), y.shape[2],
              f"conv_output_size(size={size}, k={k}, stride={s}, pad_total={p}, dilation={d})")


@exercise("convolution.2", "ops/convolution.md", "im2col's index math", CONV, ["im2col"],
          hint="col[(c*kh + i)*kw + j, (n*OH + p)*OW + q] = x[n, c, p*s - pad + i, "
               "q*s - pad + j], 0 in the padding: rows in (c, i, j) order, columns in (n, p, q)")
def _(ws):
    fn = ws.get(CONV, "im2col")
    rng = np.random.default_rng(22)
    for (N, C, H, W), k, s, pad in [((1, 1, 3, 3), 2, 1, 0), ((2, 3, 5, 4), 3, 2, 1),
                                    ((1, 2, 4, 6), 2, 1, 1)]:
        x = rng.standard_normal((N, C, H, W))
        OH, OW = (H + 2 * pad - k) // s + 1, (W + 2 * pad - k) // s + 1
        xc = CTensor.from_numpy(x)
        col = CTensor((C * k * k, N * OH * OW), xc.dtype, xc.device)
        backend.kernel("im2col", xc)(col.ptr, xc.ptr,
                                     conv_geom(N=N, C=C, H=H, W=W, KH=k, KW=k, SH=s, SW=s,
                                               PT=pad, PL=pad, DH=1, DW=1, OH=OH, OW=OW))
        close(fn(x.copy(), k, k, s, pad), col.numpy(),
              f"im2col of x {x.shape}, kernel {k}x{k}, stride {s}, padding {pad}")
        Wt = rng.standard_normal((2, C, k, k))
        got = (Wt.reshape(2, -1) @ col.numpy()).reshape(2, N, OH, OW).transpose(1, 0, 2, 3)
        close(got, np_conv2d(x, Wt, stride=s, padding=pad), "W col against np_conv2d",
              rtol=1e-5, atol=1e-6)


@exercise("convolution.3", "ops/convolution.md", "SAME padding, upper and lower", CONV,
          ["same_pad"],
          hint="the output has ceil(size / s) elements; total = max(0, (out - 1) s + "
               "(k - 1) d + 1 - size); split in half, the odd one at the END for SAME_UPPER "
               "and at the BEGINNING for SAME_LOWER")
def _(ws):
    fn = ws.get(CONV, "same_pad")
    for size in (5, 6, 7):
        for k, s, d in [(3, 1, 1), (2, 1, 1), (4, 2, 1), (3, 2, 2), (5, 3, 1)]:
            for mode in ("SAME_UPPER", "SAME_LOWER"):
                equal(tuple(int(v) for v in fn(size, k, s, d, mode)),
                      same_padding(size, k, s, d, mode),
                      f"same_pad(size={size}, k={k}, s={s}, d={d}, {mode!r}) (begin, end)")
