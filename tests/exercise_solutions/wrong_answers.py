"""Plausible wrong answers, at least one per exercise: each must FAIL its check.

``WRONG[id]`` is a list of ``(what the mistake is, overrides)``; the overrides
replace names of the reference solution (``(file, name): object``) or the whole
text of a C file (``(file, None): text``), as ``minisinga.exercises.Workspace``
takes them.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from minisinga import autograd, backend, layer, opt, testing

HERE = Path(__file__).resolve().parent


def _c(file: str, old: str, new: str) -> dict:
    """The reference C file with one mistake put in (``old`` -> ``new``)."""
    text = (HERE / file).read_text()
    assert old in text, f"{file}: {old!r} not found"
    return {(file, None): text.replace(old, new)}


# ----------------------------------------------------------------------------- backend
def _column_major(shape):
    strides, step = [], 1
    for d in shape:
        strides.append(step)
        step *= d
    return strides


def _transpose_inverse(shape, perm):
    src = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    inv = [perm.index(k) for k in range(len(perm))]
    return [shape[p] for p in perm], [src[p] for p in inv]


def _broadcast_keeps_ones(shape, out_shape):
    lead = len(out_shape) - len(shape)
    return [0] * lead + [math.prod(shape[i + 1:]) for i in range(len(shape))]


def _broadcast_no_lead(shape, out_shape):
    src = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    strides = [0 if d == 1 else s for d, s in zip(shape, src)]
    return strides + [0] * (len(out_shape) - len(shape))   # zeros appended, not prepended


# ----------------------------------------------------------------------------- autograd
class _CubeTwoX(autograd.Operation):
    def forward(self, x):
        self.x = x
        return backend.mul(backend.mul(x, x), x)

    def backward(self, dy):   # 3 x dy: one factor of x short
        return backend.mul(backend.scale(self.x, 3.0), dy)


def _order_preorder(y):
    """A DFS pre-order: a producer may come before one of its consumers."""
    order, seen, stack = [], set(), [y.creator]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        order.append(op)
        for src_op, *_ in reversed(op.src):
            if src_op is not None:
                stack.append(src_op)
    return order


def _train_ascent(x, t, W, lr):
    loss = autograd.mse_loss(autograd.matmul(x, W), t)
    value = float(loss.to_numpy()[0])
    for p, g in autograd.backward(loss):
        backend.axpy(p.data, g.data, +lr)   # uphill
    return value


# ----------------------------------------------------------------------------- gradcheck
def _forward_difference(f, x, eps):
    x = np.array(x, dtype=np.float64)
    g, f0 = np.zeros_like(x), f(x)
    for i in range(x.size):
        x.reshape(-1)[i] += eps
        g.reshape(-1)[i] = (f(x) - f0) / eps
        x.reshape(-1)[i] -= eps
    return g


def _hardswish_middle_only(x):
    return (2 * x + 3) / 6   # the middle piece everywhere


class _DoubleRight(autograd.Operation):
    def forward(self, x):
        return backend.scale(x, 2.0)

    def backward(self, dy):
        return backend.scale(dy, 2.0)


class _DoubleWrong(autograd.Operation):
    def forward(self, x):
        return backend.scale(x, 2.0)

    def backward(self, dy):
        return backend.scale(dy, 3.0)


class _SiluNoSecondTerm(autograd.Operation):
    def forward(self, x):
        self.s = backend.unary("sigmoid_forward", x)
        return backend.mul(x, self.s)

    def backward(self, dy):   # treats sigmoid(x) as a constant
        return backend.mul(dy, self.s)


def _silu_info(ops, fn, ref):
    def samples(rng):
        return [testing.Sample([rng.uniform(-3, 3, (3, 4))])]
    return lambda: testing.OpInfo(name="silu_exercise", ops=ops, fn=fn, ref=ref,
                                  samples=samples)


# ----------------------------------------------------------------------------- ops
def _sum_leading_only(dy, shape):
    """Sums the leading axes only; an inner size-1 axis is left unsummed."""
    lead = len(dy.shape) - len(shape)
    outer, rest = math.prod(dy.shape[:lead]), math.prod(dy.shape[lead:])
    return backend.reduce_sum(dy, 1, outer, rest).reshape(tuple(shape))


class _MulNoReduction(autograd.Operation):
    def forward(self, a, b):
        shape = backend.broadcast_shape(a.shape, b.shape)
        self.a, self.b = backend.broadcast_to(a, shape), backend.broadcast_to(b, shape)
        return backend.mul(self.a, self.b)

    def backward(self, dy):   # the gradients keep the broadcast shape
        return backend.mul(dy, self.b), backend.mul(dy, self.a)


class _DivSign(autograd.Operation):
    def forward(self, a, b):
        self.b = b
        self.y = backend.binary("div_forward", a, b)
        return self.y

    def backward(self, dy):
        da = backend.binary("div_forward", dy, self.b)
        return da, backend.mul(da, self.y)   # + instead of -


class _SoftplusExp(autograd.Operation):
    def forward(self, x):
        self.x = x
        return backend.unary("softplus_forward", x)

    def backward(self, dy):   # e^x instead of e^x / (1 + e^x)
        return backend.mul(dy, backend.unary("exp_forward", self.x))


class _LeakyStrict(autograd.Operation):
    """Slope a at exactly 0 (x > 0 instead of x >= 0)."""

    def __init__(self, a=0.01):
        super().__init__()
        self.a = float(a)

    def forward(self, x):
        self.x = x
        return backend.unary("leakyrelu_forward", x, self.a)

    def backward(self, dy):
        arr = self.x.numpy()
        slope = backend.full(self.x.shape, 0.0, self.x.dtype, self.x.device)
        slope.numpy()[...] = np.where(arr > 0, 1.0, self.a)
        return backend.mul(dy, slope)


def _gemm_ignores_trans(A, B, dy, alpha, transA, transB):
    return alpha * dy @ B.T, alpha * A.T @ dy


def _sce_sum(x, t):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True) - t   # no / N


def _reduce_max_ties(x, dy):
    return (x == x.max(axis=1, keepdims=True)) * dy   # every tied maximum gets it


def _im2col_ijc(x, kh, kw, stride, pad):
    N, C, H, W = x.shape
    OH, OW = (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1
    col = np.zeros((C * kh * kw, N * OH * OW))
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for n in range(N):
                    for p in range(OH):
                        for q in range(OW):
                            ih, iw = p * stride - pad + i, q * stride - pad + j
                            if 0 <= ih < H and 0 <= iw < W:
                                col[(i * kw + j) * C + c, (n * OH + p) * OW + q] = x[n, c, ih, iw]
    return col


def _same_pad_swapped(size, k, s, d, mode):
    out = -(-size // s)
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
    small, large = total // 2, total - total // 2
    return (large, small) if mode == "SAME_UPPER" else (small, large)


# ----------------------------------------------------------------------------- training
class _ScaleNotParams(layer.Layer):
    def initialize(self, x):
        from minisinga import tensor
        f = x.shape[1]
        self.gamma = tensor.Tensor((f,), x.device, x.dtype).set_value(1.0)   # no stores_grad
        self.beta = tensor.Tensor((f,), x.device, x.dtype).set_value(0.0)

    def forward(self, x):
        return autograd.add(autograd.mul(x, self.gamma), self.beta)


class _ResidualNoSkip(layer.Layer):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = layer.Linear(hidden)

    def initialize(self, x):
        self.fc2 = layer.Linear(x.shape[1])

    def forward(self, x):
        return self.fc2(autograd.relu(self.fc1(x)))


def _sgd_no_dampening(p, g, buf, lr, momentum, dampening, weight_decay):
    g = g + weight_decay * p
    buf = momentum * buf + g
    return p - lr * buf, buf


def _sgd_pytorch_first(p, g, buf, lr, momentum, dampening, weight_decay):
    g = g + weight_decay * p
    buf = g if not buf.any() else momentum * buf + (1 - dampening) * g
    return p - lr * buf, buf


def _adam_no_correction(p, g, m, v, t, lr, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    return p - lr * m / (np.sqrt(v) + epsilon), m, v


class _SignSGDUphill(opt.Optimizer):
    def apply(self, name, param, grad):
        lr = float(self.lr_value.to_numpy()[0])
        backend.axpy(param.data, backend.unary("sign_forward", grad.data), lr)


class _SignSGDFixedLr(opt.Optimizer):
    def apply(self, name, param, grad):   # ignores the schedule
        backend.axpy(param.data, backend.unary("sign_forward", grad.data), -0.1)


def _chunked(block, thread, block_dim, grid_dim, n):
    per = -(-n // (block_dim * grid_dim))
    start = (block * block_dim + thread) * per
    return list(range(start, min(start + per, n)))


# ----------------------------------------------------------------------------- indexing, pooling, batchnorm
def _slice_no_clamp(dim, start, end, step):
    start, end = start + dim if start < 0 else start, end + dim if end < 0 else end
    return list(range(start, end, step))


def _pad_symmetric(mode, dim, begin, end):
    """reflect that repeats the edge (np.pad's 'symmetric')."""
    out = []
    for o in range(begin + dim + end):
        i = o - begin
        if mode == "edge":
            out.append(min(max(i, 0), dim - 1))
        else:
            m = i % (2 * dim)
            out.append(m if m < dim else 2 * dim - 1 - m)
    return out


def _gather_assign(x_shape, axis, indices, dy):
    dx = np.zeros(x_shape)
    np.moveaxis(dx, axis, 0)[indices] = np.moveaxis(dy, axis, 0)   # repeats: the last wins
    return dx


def _max_pool_assign(x, dy, k, stride):
    dx = np.zeros_like(x)
    N, C, OH, OW = dy.shape
    for n in range(N):
        for c in range(C):
            for p in range(OH):
                for q in range(OW):
                    win = x[n, c, p * stride:p * stride + k, q * stride:q * stride + k]
                    i, j = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, p * stride + i, q * stride + j] = dy[n, c, p, q]   # = , not +=
    return dx


def _avg_pool_counting_padding(x, k, stride, pad):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, C, H, W = xp.shape
    OH, OW = (H - k) // stride + 1, (W - k) // stride + 1
    y = np.zeros((N, C, OH, OW))
    for p in range(OH):
        for q in range(OW):
            y[:, :, p, q] = xp[:, :, p * stride:p * stride + k, q * stride:q * stride + k].mean(
                axis=(2, 3))
    return y


def _bn_unbiased(x, scale, bias, eps):
    axes, c = (0, 2, 3), (1, -1, 1, 1)
    mean, var = x.mean(axis=axes), x.var(axis=axes, ddof=1)
    return scale.reshape(c) * (x - mean.reshape(c)) / np.sqrt(var.reshape(c) + eps) + \
        bias.reshape(c)


def _running_keras(running_mean, running_var, x, momentum):
    m = x.size // x.shape[1]
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    return (momentum * running_mean + (1 - momentum) * mean,
            momentum * running_var + (1 - momentum) * var * m / (m - 1))


def _running_biased(running_mean, running_var, x, momentum):
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


def _bn_backward_constant_stats(x, scale, dy, eps):
    axes, c = (0, 2, 3), (1, -1, 1, 1)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    xhat = (x - mean) / np.sqrt(var + eps)
    return dy * scale.reshape(c) / np.sqrt(var + eps), (dy * xhat).sum(axis=axes), dy.sum(axis=axes)


B = "ch01_backend.py"
A = "ch02_autograd.py"
G = "ch03_gradcheck.py"
LADDER = "ch18_matmul_ladder/matmul.c"

WRONG = {
    "backend.1": [("column-major strides", {(B, "contiguous_strides"): _column_major})],
    "backend.2": [("the inverse permutation's strides",
                   {(B, "transpose_strides"): _transpose_inverse})],
    "backend.3": [("size-1 axes keep their stride", {(B, "broadcast_strides"):
                                                     _broadcast_keeps_ones}),
                  ("zeros appended instead of prepended", {(B, "broadcast_strides"):
                                                           _broadcast_no_lead})],
    "backend.4": [("backward forgets the 2",
                   _c("ch01_backend/square.c", "2.0 * x[i] * dy[i]", "x[i] * dy[i]")),
                  ("forward stops one short",
                   _c("ch01_backend/square.c", "i < n; i++)\n        y[i]", "i < n - 1; i++)\n        y[i]")),
                  ("does not compile", _c("ch01_backend/square.c", "y[i] = x[i] * x[i];",
                                          "y[i] = x[i] * x[i]"))],
    "autograd.1": [("3 x instead of 3 x^2", {(A, "Cube"): _CubeTwoX})],
    "autograd.2": [("DFS pre-order", {(A, "backward_order"): _order_preorder})],
    "autograd.3": [("gradient ascent", {(A, "train_step"): _train_ascent})],
    "gradcheck.1": [("one-sided differences", {(G, "central_difference"): _forward_difference})],
    "gradcheck.2": [("the middle piece everywhere",
                     {(G, "hardswish_derivative"): _hardswish_middle_only})],
    "gradcheck.3": [("a correct backward", {(G, "sum_blind_op"):
                                            lambda: (lambda x: _DoubleRight()(x)[0])}),
                    ("a bug .sum() sees too", {(G, "sum_blind_op"):
                                               lambda: (lambda x: _DoubleWrong()(x)[0])})],
    "gradcheck.4": [("backward without the sigmoid's derivative", {
        (G, "Silu"): _SiluNoSecondTerm,
        (G, "silu_opinfo"): _silu_info((_SiluNoSecondTerm,), lambda x: _SiluNoSecondTerm()(x)[0],
                                       lambda x: x / (1 + np.exp(-x)))}),
                    ("ops does not list Silu", {(G, "silu_opinfo"): _silu_info(
                        (), lambda x: _SiluNoSecondTerm()(x)[0], lambda x: x)})],
    "elementwise.1": [("only the leading axes summed",
                       {("ch04_elementwise.py", "sum_to_shape"): _sum_leading_only})],
    "elementwise.2": [("no reduction in backward",
                       {("ch04_elementwise.py", "BroadcastMul"): _MulNoReduction})],
    "elementwise.3": [("sign error in db", {("ch04_elementwise.py", "Div"): _DivSign})],
    "activations.1": [("e^x for sigmoid(x)", {("ch05_activations.py", "Softplus"): _SoftplusExp})],
    "activations.2": [("the diagonal only", {("ch05_activations.py", "softmax_backward"):
                                             lambda y, dy: y * dy})],
    "activations.3": [("slope a at 0", {("ch05_activations.py", "LeakyRelu"): _LeakyStrict})],
    "matmul.1": [("db = dy^T a", {("ch06_matmul.py", "matmul_backward"):
                                  lambda a, b, dy: (dy @ b.T, dy.T @ a)}),
                 ("da = dy b^T scaled by the batch", {("ch06_matmul.py", "matmul_backward"):
                                                     lambda a, b, dy: (dy @ b.T / len(a), a.T @ dy)})],
    "matmul.2": [("ignores the transposes", {("ch06_matmul.py", "gemm_backward"):
                                             _gemm_ignores_trans})],
    "matmul.3": [("a mean, not a sum", {("ch06_matmul.py", "add_bias_backward"):
                                        lambda dy, axis: dy.mean(axis=axis)}),
                 ("the other axis", {("ch06_matmul.py", "add_bias_backward"):
                                     lambda dy, axis: dy.sum(axis=1 - axis)})],
    "losses.1": [("no 1/N", {("ch07_losses.py", "softmax_cross_entropy_grad"): _sce_sum})],
    "losses.2": [("the naive formula overflows", {("ch07_losses.py", "logsumexp"):
                                                  lambda x: np.log(np.exp(x).sum(axis=1))})],
    "losses.3": [("the 1/2 convention (no 2)", {("ch07_losses.py", "mse_grad"):
                                                lambda x, t: (x - t) / x.size}),
                 ("mean over the rows only", {("ch07_losses.py", "mse_grad"):
                                              lambda x, t: 2 * (x - t) / len(x)})],
    "shapes.1": [("perm itself", {("ch08_shapes.py", "inverse_perm"): lambda perm: perm})],
    "shapes.2": [("ties share the gradient", {("ch08_shapes.py", "reduce_max_backward"):
                                              _reduce_max_ties})],
    "shapes.3": [("every slice from offset 0", {("ch08_shapes.py", "cat_backward"):
                                                lambda dy, sizes, axis: [
                                                    np.take(dy, range(s), axis=axis)
                                                    for s in sizes]})],
    "convolution.1": [("dilation forgotten", {("ch13_convolution.py", "conv_output_size"):
                                              lambda size, k, s, p, d: (size + p - k) // s + 1}),
                      ("off by one", {("ch13_convolution.py", "conv_output_size"):
                                      lambda size, k, s, p, d: (size + p - (k - 1) * d) // s})],
    "convolution.2": [("rows in (i, j, c) order", {("ch13_convolution.py", "im2col"):
                                                   _im2col_ijc})],
    "convolution.3": [("UPPER and LOWER swapped", {("ch13_convolution.py", "same_pad"):
                                                   _same_pad_swapped})],
    "layers.2": [("tensors that are not parameters", {("ch16_layers.py", "Scale"):
                                                      _ScaleNotParams})],
    "layers.3": [("no skip connection", {("ch16_layers.py", "Residual"): _ResidualNoSkip})],
    "dropout.1": [("SINGA's 1 - ratio", {("ch09_dropout.py", "dropout_scale"):
                                         lambda ratio: 1.0 - ratio})],
    "dropout.2": [("the scale forgotten", {("ch09_dropout.py", "dropout_backward"):
                                           lambda x, y, dy, ratio: dy * (y != 0)}),
                  ("the mask forgotten", {("ch09_dropout.py", "dropout_backward"):
                                          lambda x, y, dy, ratio: dy / (1 - ratio)})],
    "dropout.3": [("the non-inverted convention", {("ch09_dropout.py", "dropout_eval"):
                                                   lambda x, ratio: x * (1 - ratio)})],
    "trigonometric.1": [("acos's sign", {("ch10_trigonometric.py", "asin_derivative"):
                                         lambda x: -1 / np.sqrt(1 - x * x)})],
    "trigonometric.2": [("atan's derivative", {("ch10_trigonometric.py", "atanh_derivative"):
                                               lambda x: 1 / (1 + x * x)})],
    "trigonometric.3": [("tanh applied to y again", {("ch10_trigonometric.py", "tanh_backward"):
                                                     lambda y, dy: dy * (1 - np.tanh(y) ** 2)})],
    "logic.1": [("the branches swapped", {("ch11_logic.py", "where_backward"):
                                          lambda c, dz: (dz * (c == 0), dz * (c != 0))})],
    "logic.2": [("no reduction to the input shapes", {("ch11_logic.py",
                                                       "where_backward_broadcast"):
                                                      lambda c, sx, sy, dz: (
                                                          dz * (np.broadcast_to(c, dz.shape) != 0),
                                                          dz * (np.broadcast_to(c, dz.shape) == 0))})],
    "logic.3": [("the branches swapped", {("ch11_logic.py", "piecewise"):
                                          lambda x: autograd.where(-x, x * x, autograd.greater(
                                              x, x * 0.0))})],
    "indexing.1": [("no clamping", {("ch12_indexing.py", "slice_positions"): _slice_no_clamp})],
    "indexing.2": [("reflect repeats the edge", {("ch12_indexing.py", "pad_source"):
                                                 _pad_symmetric})],
    "indexing.3": [("assignment loses repeated indices", {("ch12_indexing.py",
                                                           "gather_backward"): _gather_assign})],
    "pooling.1": [("no division by k^2", {("ch14_pooling.py", "avg_pool_backward"):
                                          lambda dy, k: np.repeat(np.repeat(dy, k, 2), k, 3)})],
    "pooling.2": [("= instead of +=", {("ch14_pooling.py", "max_pool_backward"):
                                       _max_pool_assign})],
    "pooling.3": [("padding counted in the average", {("ch14_pooling.py", "avg_pool_padded"):
                                                      _avg_pool_counting_padding})],
    "batchnorm.1": [("the unbiased variance", {("ch15_batchnorm.py", "batchnorm_forward"):
                                               _bn_unbiased})],
    "batchnorm.2": [("momentum on the old value (Keras)", {("ch15_batchnorm.py", "running_update"):
                                                            _running_keras}),
                    ("the biased variance kept", {("ch15_batchnorm.py", "running_update"):
                                                  _running_biased})],
    "batchnorm.3": [("the statistics taken as constants", {("ch15_batchnorm.py",
                                                            "batchnorm_backward"):
                                                           _bn_backward_constant_stats})],
    "layers.1": [("the states counted too", {("ch16_layers.py", "count_parameters"):
                                             lambda m: sum(t.size() for t in
                                                           m.get_states().values())}),
                 ("tensors, not numbers", {("ch16_layers.py", "count_parameters"):
                                           lambda m: len(m.get_params())})],
    "optimizers.1": [("no dampening", {("ch17_optimizers.py", "sgd_step"): _sgd_no_dampening}),
                     ("PyTorch's first step", {("ch17_optimizers.py", "sgd_step"):
                                               _sgd_pytorch_first})],
    "optimizers.2": [("no bias correction", {("ch17_optimizers.py", "adam_step"):
                                             _adam_no_correction})],
    "optimizers.3": [("uphill", {("ch17_optimizers.py", "SignSGD"): _SignSGDUphill}),
                     ("ignores the schedule", {("ch17_optimizers.py", "SignSGD"):
                                               _SignSGDFixedLr})],
    "ladder.1": [("C not zeroed first", _c(LADDER, "    memset(C, 0, (size_t)n * n * sizeof(float));\n", "")),
                 ("the leftover rows forgotten", _c(LADDER, "for (; i < n; i++)", "for (; i < 0; i++)"))],
    "ladder.3": [("the naive loop (right, but slow)", {(LADDER, None): """
void matmul(int n, const float *A, const float *B, float *C)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float sum = 0;
            for (int k = 0; k < n; k++)
                sum += A[i * n + k] * B[k * n + j];
            C[i * n + j] = sum;
        }
}
"""}),
                 ("fast but wrong: A^T B",
                  _c(LADDER, "A[(size_t)i * n + k], a1", "A[(size_t)k * n + i], a1"))],
    "ladder.2": [("no zero padding", _c("ch18_matmul_ladder/pack.c",
                                        "(r + i < mc) ? A[(i0 + r + i) * n + p0 + p] : 0",
                                        "A[(i0 + r + i) * n + p0 + p]")),
                 ("row-major panels", _c("ch18_matmul_ladder/pack.c", "ap[r * kc + p * mr + i]",
                                         "ap[r * kc + i * kc + p]"))],
    "cuda.1": [("a contiguous chunk per thread", {("ch19_cuda.py", "grid_stride_indices"): _chunked})],
    "cuda.2": [("rounded down", {("ch19_cuda.py", "grid_size"):
                                 lambda n, t, m: min(n // t, m)}),
               ("no cap", {("ch19_cuda.py", "grid_size"): lambda n, t, m: -(-n // t)})],
    "cuda.3": [("no warp minimum", {("ch19_cuda.py", "row_threads"):
                                    lambda n: min(1 << max(n - 1, 0).bit_length(), 256)}),
               ("no cap at 256", {("ch19_cuda.py", "row_threads"):
                                  lambda n: max(32, 1 << max(n - 1, 0).bit_length())})],
}
