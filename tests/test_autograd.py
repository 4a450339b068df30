"""The autograd engine: accumulation, ordering, deep graphs, flags, gradcheck itself,
conventions at kinks, bad input, dropout, and the user's first example."""
import numpy as np
import pytest

import minisinga
from minisinga import autograd, backend, device, opt, tensor
from minisinga.tensor import Tensor

pytestmark = pytest.mark.usefixtures("training_mode")


def param(values, dtype=tensor.float64):
    return Tensor(data=np.asarray(values, dtype=np.float64), dtype=dtype,
                  requires_grad=True, stores_grad=True)


def grad_of(y, p, dy=None):
    grads = autograd.gradients(y, dy)
    return tensor.to_numpy(grads[p])


def test_reused_tensor_gradients_accumulate():
    a = param([2.0, -3.0])
    b = a + a
    c = b + b
    np.testing.assert_array_equal(grad_of(c, a), [4.0, 4.0])  # dc/da = 4, not 2


def test_diamond_and_two_branches():
    x = param([0.5, 1.5])
    h = autograd.exp(x)
    y = h * h + h
    # y = e^{2x} + e^x  ->  dy/dx = 2 e^{2x} + e^x
    want = 2 * np.exp(2 * np.array([0.5, 1.5])) + np.exp([0.5, 1.5])
    np.testing.assert_allclose(grad_of(y, x), want, rtol=1e-12)


def test_gradient_is_yielded_as_soon_as_complete():
    w1, w2 = param([1.0]), param([2.0])
    x = Tensor(data=np.array([3.0]), dtype=tensor.float64, requires_grad=False)
    h = x * w1            # w1 is used only here: complete after the first step back
    y = h * w2
    order = [p for p, _ in autograd.backward(y)]
    assert order[0] is w2 and order[1] is w1
    gen = autograd.backward(h * w2 * 2.0)
    first, g = next(gen)  # a generator: the first pair arrives before the rest is done
    assert first is w2 and tensor.to_numpy(g)[0] == pytest.approx(6.0)


def test_chain_of_10000_operations_does_not_recurse():
    x = param([1.0])
    y = x
    for _ in range(10_000):
        y = y + 1.0
    np.testing.assert_array_equal(grad_of(y, x), [1.0])


def test_requires_grad_false_inputs_get_no_gradient_work():
    calls = []

    class Spy(autograd.Operation):
        def forward(self, a, b):
            return backend.add(a, b)

        def backward(self, dy):
            calls.append(self.needs_input_grad)
            return dy, (None if not self.needs_input_grad[1] else dy)

    w = param([1.0, 2.0])
    c = Tensor(data=np.array([1.0, 1.0]), dtype=tensor.float64, requires_grad=False)
    y = Spy()(w, c)[0]
    grads = autograd.gradients(y)
    assert calls == [(True, False)]
    assert list(grads) == [id(w)] and grads.params() == [w]  # SINGA keys by id


def test_nothing_recorded_when_not_training():
    autograd.training = False
    x = param([1.0])
    y = autograd.relu(x)
    assert y.creator is None and x.creator is None
    with pytest.raises(ValueError, match="autograd.training = True"):
        list(autograd.backward(y))


def test_operation_contract():
    x = param([[1.0, -1.0]])
    y = autograd.relu(x)
    assert isinstance(y.creator, autograd.ReLU) and y.requires_grad
    assert isinstance(x.creator, autograd.Dummy)  # leaf tensors get a Dummy creator
    assert autograd.Operator is autograd.Operation
    parts = autograd.split(param([1.0, 2.0, 3.0]), 0, [1, 2])
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(1,), (2,)]
    frozen = Tensor(data=np.ones(2), dtype=tensor.float64, requires_grad=False)
    assert not autograd.relu(frozen).requires_grad


def test_dy_none_number_and_tensor():
    x = param([1.0, 2.0])
    y = x * 3.0
    np.testing.assert_array_equal(grad_of(y, x), [3.0, 3.0])
    np.testing.assert_array_equal(grad_of(x * 3.0, x, 2.0), [6.0, 6.0])
    dy = Tensor(data=np.array([1.0, -1.0]), dtype=tensor.float64)
    np.testing.assert_array_equal(grad_of(x * 3.0, x, dy), [3.0, -3.0])
    with pytest.raises(ValueError, match="dy has shape"):
        list(autograd.backward(x * 3.0, Tensor(data=np.ones(3), dtype=tensor.float64)))


def test_arithmetic_operators_are_differentiable():
    a, b = param([1.5, 2.0]), param([0.5, 4.0])
    y = (-a * b + a / b - 2.0) ** 2.0 + 1.0 - a
    an, bn = np.array([1.5, 2.0]), np.array([0.5, 4.0])
    inner = -an * bn + an / bn - 2.0
    np.testing.assert_allclose(tensor.to_numpy(y), inner ** 2 + 1 - an)
    grads = autograd.gradients(y)
    np.testing.assert_allclose(tensor.to_numpy(grads[a]), 2 * inner * (-bn + 1 / bn) - 1)
    np.testing.assert_allclose(tensor.to_numpy(grads[b]), 2 * inner * (-an - an / bn ** 2))
    m = param([[1.0, 2.0]]) @ param([[3.0], [4.0]])
    assert tensor.to_numpy(m).tolist() == [[11.0]]
    assert tensor.to_numpy(2.0 - a).tolist() == [0.5, 0.0]


# ---------------------------------------------------------------- gradcheck itself
class WrongSquare(autograd.Operation):
    """y = x^2 with a deliberately wrong backward (x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return backend.mul(x, x)

    def backward(self, dy):
        return backend.mul(dy, self.x)


class RightSquare(WrongSquare):
    def backward(self, dy):
        return backend.scale(backend.mul(dy, self.x), 2.0)


class TransposedGrad(autograd.Operation):
    """y = x (a square matrix) but backward returns dy transposed: .sum() hides it."""

    def forward(self, x):
        return x.clone()

    def backward(self, dy):
        return backend.transpose(dy, (1, 0))


def test_gradcheck_catches_a_wrong_backward():
    x = np.array([0.3, -1.2, 2.0])
    assert minisinga.gradcheck(lambda t: RightSquare()(t)[0], [x])
    with pytest.raises(minisinga.GradcheckError) as info:
        minisinga.gradcheck(lambda t: WrongSquare()(t)[0], [x], name="wrong_square")
    msg = str(info.value)
    assert "wrong_square" in msg and "input 0" in msg and "numerical" in msg and "analytical" in msg


def test_gradcheck_catches_what_sum_would_hide():
    x = np.arange(9.0).reshape(3, 3) / 10
    with pytest.raises(minisinga.GradcheckError):
        minisinga.gradcheck(lambda t: TransposedGrad()(t)[0], [x])


# ---------------------------------------------------------------- conventions at kinks
def test_relu_gradient_at_zero_is_zero():
    x = param([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(grad_of(autograd.relu(x), x), [0.0, 0.0, 1.0])


def test_clip_boundaries_pass_the_gradient():
    x = param([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = autograd.clip(x, -1.0, 1.0)
    np.testing.assert_array_equal(tensor.to_numpy(y), [-1, -1, 0, 1, 1])
    np.testing.assert_array_equal(grad_of(y, x), [0.0, 1.0, 1.0, 1.0, 0.0])


def test_abs_and_leakyrelu_at_zero():
    x = param([0.0])
    np.testing.assert_array_equal(grad_of(autograd.abs(x), x), [0.0])
    np.testing.assert_array_equal(grad_of(autograd.leakyrelu(x, 0.1), x), [1.0])


# ---------------------------------------------------------------- dropout
def test_dropout_scale_and_mask():
    device.set_rand_seed(3)
    x = Tensor(data=np.ones(100_000), dtype=tensor.float32)
    y = tensor.to_numpy(autograd.dropout(x, 0.25))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)  # 1/(1-ratio), not 1-ratio
    assert abs(kept.mean() - 0.75) < 0.01
    assert abs(y.mean() - 1.0) < 0.02
    autograd.training = False
    np.testing.assert_array_equal(tensor.to_numpy(autograd.dropout(x, 0.25)), 1.0)


def test_dropout_gradient_uses_the_same_mask():
    x = param(np.linspace(1, 2, 50))
    y = autograd.dropout(x, 0.5)
    g = grad_of(y, x)
    np.testing.assert_array_equal(g != 0, tensor.to_numpy(y) != 0)
    np.testing.assert_allclose(g[g != 0], 2.0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, words", [
    (lambda: autograd.add(param(np.ones((2, 3))), param(np.ones((4,)))), ValueError,
     r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    (lambda: autograd.matmul(param(np.ones((2, 3))), param(np.ones((4, 2)))), ValueError,
     r"matmul: inner dimensions differ: a \(2, 3\).*b \(4, 2\)"),
    (lambda: autograd.softmax(param(np.ones((2, 3))), axis=2), ValueError, "softmax: axis=2"),
    (lambda: autograd.softmax_cross_entropy(param(np.ones((2, 3))), tensor.from_numpy(
        np.array([0, 3], dtype=np.int32))), ValueError, r"label 3 is outside \[0, 3\)"),
    (lambda: autograd.add(param(np.ones(2)), param(np.ones(2), dtype=tensor.float32)), TypeError,
     "add: a is float64 but b is float32"),
    (lambda: autograd.relu(tensor.from_numpy(np.array([1, 2]))), TypeError,
     "relu: x must be float32 or float64, got int32"),
    (lambda: autograd.reshape(param(np.ones(6)), [4, -1]), ValueError, "reshape"),
    (lambda: autograd.cat([param(np.ones((2, 3))), param(np.ones((2, 4)))]), ValueError,
     "cat: tensor 1 has shape"),
    (lambda: autograd.add_bias(param(np.ones((2, 3))), param(np.ones(2))), ValueError,
     "add_bias: b"),
    (lambda: autograd.dropout(param(np.ones(2)), 1.0), ValueError, "ratio"),
    (lambda: autograd.relu(np.ones(2)), TypeError, "must be a Tensor"),
    (lambda: autograd.reduce_sum(param(np.ones((2, 2))), axes=[0, 0]), ValueError, "repeats"),
    (lambda: autograd.split(param(np.ones(5)), 0, [2, 2]), ValueError, "sum to 5"),
    (lambda: autograd.squeeze(param(np.ones((2, 1))), [0]), ValueError, "size 2, not 1"),
])
def test_bad_input_is_refused_before_any_kernel(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


# ---------------------------------------------------------------- the user's example
def two_class_points(n=400, seed=0):
    """Points around the line y = 5x + 1, labelled by side (SINGA's mlp example data)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = 5 * x + 1 + rng.standard_normal(n) * 2
    data = np.stack([x, y], axis=1).astype(np.float32)
    label = (y > 5 * x + 1).astype(np.int32)
    onehot = np.zeros((n, 2), dtype=np.float32)
    onehot[np.arange(n), label] = 1
    return data, onehot


def test_users_first_example_loss_falls():
    data, label = two_class_points()
    device.set_rand_seed(0)
    w0 = Tensor(shape=(2, 3), requires_grad=True, stores_grad=True)
    w0.gaussian(0.0, 0.1)
    b0 = Tensor(shape=(1, 3), requires_grad=True, stores_grad=True)
    b0.set_value(0.0)
    w1 = Tensor(shape=(3, 2), requires_grad=True, stores_grad=True)
    w1.gaussian(0.0, 0.1)
    b1 = Tensor(shape=(1, 2), requires_grad=True, stores_grad=True)
    b1.set_value(0.0)

    inputs = Tensor(data=data)
    target = Tensor(data=label)
    autograd.training = True
    sgd = opt.SGD(0.05)
    losses = []
    for i in range(600):
        x = autograd.matmul(inputs, w0)
        x = autograd.add_bias(x, b0)
        x = autograd.relu(x)
        x = autograd.matmul(x, w1)
        x = autograd.add_bias(x, b1)
        loss = autograd.softmax_cross_entropy(x, target)
        for p, g in autograd.backward(loss):
            sgd.update(p, g)
        losses.append(tensor.to_numpy(loss)[0])
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses[::50]
    assert all(a > b for a, b in zip(losses[::50], losses[50::50])), losses[::50]
    predicted = tensor.to_numpy(x).argmax(1)
    assert (predicted == label.argmax(1)).mean() > 0.9


def test_elu_selu_take_the_left_slope_at_zero():
    x = param([0.0])
    np.testing.assert_allclose(grad_of(autograd.elu(x, 0.7), x), [0.7])
    np.testing.assert_allclose(grad_of(autograd.selu(x), x), [1.0507 * 1.67326])


def test_hardsigmoid_gradient_is_zero_at_both_kinks():
    # alpha x + gamma = 0 at x = -2.5 and = 1 at x = 2.5 (alpha 0.2, gamma 0.5)
    x = param([-2.5, 0.0, 2.5])
    np.testing.assert_allclose(grad_of(autograd.hardsigmoid(x), x), [0.0, 0.2, 0.0])


def test_pow_exponent_gradient_is_zero_at_zero_base():
    a, b = param([0.0, 2.0]), param([2.0, 3.0])
    grads = autograd.gradients(autograd.pow(a, b))
    np.testing.assert_allclose(tensor.to_numpy(grads[b]), [0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(tensor.to_numpy(grads[a]), [0.0, 12.0])


def test_cross_entropy_gradient_is_zero_where_the_target_is_zero():
    x = param([[0.0, 0.5, 0.5]])
    t = Tensor(data=np.array([[0.0, 1.0, 0.0]]), dtype=tensor.float64)
    g = grad_of(autograd.cross_entropy(x, t), x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [[0.0, -2.0, 0.0]])


def test_softmax_cross_entropy_kernel_never_reads_outside_the_row():
    # Python refuses bad labels, but a graph replay feeds labels without Python:
    # the kernel itself must turn a label outside [0, C) into NaN, not a wild read.
    from minisinga import backend as be
    from minisinga.ctensor import CTensor
    x = tensor.from_numpy(np.zeros((2, 3), dtype=np.float32)).data
    t = tensor.from_numpy(np.array([1, 7], dtype=np.int32)).data
    loss, p = CTensor((1,), x.dtype), CTensor(x.shape, x.dtype)
    be.kernel("softmax_cross_entropy_index_forward", x)(loss.ptr, p.ptr, x.ptr, t.ptr, 2, 3)
    assert np.isnan(loss.numpy()[0])


# -- the engine behind the facade ------------------------------------------------------
def test_the_facade_and_the_engine_share_their_flags_and_classes():
    from minisinga import engine
    assert autograd.Operation is engine.Operation and autograd.backward is engine.backward
    assert autograd.training is True and engine.training is True   # (the training_mode fixture)
    autograd.training = False
    assert engine.training is False
    autograd.training = True
    assert autograd.recording is False
    autograd.recording = True
    try:
        assert engine.recording is True
    finally:
        autograd.recording = False
    assert engine.recording is False


def test_a_non_differentiable_operation_makes_constants_the_engine_never_enters():
    entered = []

    class Double(autograd.Operation):
        def forward(self, x):
            return backend.add(x, x)

        def backward(self, dy):
            entered.append(type(self).__name__)
            return backend.add(dy, dy)

    class DoubleConstant(Double):
        differentiable = False

    w = param([1.0, -2.0])
    mask = DoubleConstant()(w)[0]
    assert mask.requires_grad is False and mask.creator is not None   # recorded, for viz
    y = autograd.mul(Double()(w)[0], mask)                 # d/dw (2w * 2w) with 2w held fixed
    np.testing.assert_allclose(grad_of(y, w), [4.0, -8.0])
    assert entered == ["Double"]


def test_an_operation_may_decide_in_forward_that_it_is_not_differentiable():
    w = param([1.5, -2.5])
    assert autograd.cast(w, tensor.int32).requires_grad is False    # a cast to int32: constant
    y = autograd.cast(w, tensor.float32)                             # float to float: a gradient
    assert y.requires_grad is True
    np.testing.assert_allclose(grad_of(autograd.cast(y, tensor.float64), w), [1.0, 1.0])


def test_no_gradient_flows_through_an_operation_that_received_none():
    class Blocked(autograd.Operation):   # passes no gradient to its input
        def forward(self, x):
            return backend.add(x, x)

        def backward(self, dy):
            return None

    w = param([1.0, 2.0])
    v = param([3.0, 4.0])
    y = autograd.add(Blocked()(autograd.mul(w, w))[0], v)
    grads = autograd.gradients(y)
    assert w not in grads                                  # mul never received a gradient
    np.testing.assert_allclose(tensor.to_numpy(grads[v]), [1.0, 1.0])


# ------------------------------------------------- what a training step keeps alive
def _in_use() -> int:
    return device.get_default_device().memory_stats()["bytes_in_use"]


def test_relu_keeps_its_output_so_that_its_input_can_be_freed():
    a = param(np.linspace(-1.0, 1.0, 1024))
    x = a * 2.0                     # an intermediate of 8 KiB that only relu reads
    before = _in_use()
    y = autograd.relu(x)
    del x                           # relu kept y, not x: x's memory goes back now
    assert _in_use() - before == 0  # + y's 8 KiB, - x's 8 KiB
    # the gradient [y > 0] dy is [x > 0] dy, the kink at 0 included
    dy = Tensor(data=np.arange(1024.0), dtype=tensor.float64, requires_grad=False)
    want = np.where(np.linspace(-1.0, 1.0, 1024) > 0, np.arange(1024.0) * 2.0, 0.0)
    np.testing.assert_array_equal(grad_of(y, a, dy), want)


def _small_cnn_loss(w, x, t):
    h = autograd.relu(autograd.conv2d(x, w, padding=1))
    h = autograd.tanh(autograd.avg_pool2d(h, 3, 1, padding=1))
    return autograd.softmax_cross_entropy(autograd.flatten(h), t)


def test_an_optimizer_step_frees_the_saved_activations_as_it_goes():
    rng = np.random.default_rng(0)
    w = Tensor(data=rng.standard_normal((2, 1, 3, 3)), requires_grad=True, stores_grad=True)
    x = Tensor(data=rng.standard_normal((4, 1, 16, 16)), requires_grad=False)
    t = Tensor(data=np.array([1, 7, 300, 511], np.int32), requires_grad=False)
    before = _in_use()
    loss = _small_cnn_loss(w, x, t)
    held = _in_use() - before       # what the graph behind loss keeps for backward
    activation = 4 * 2 * 16 * 16 * 4   # bytes of one (4, 2, 16, 16) float32 tensor
    assert held >= 3 * activation      # relu's and tanh's outputs, softmax's probabilities
    opt.SGD(lr=0.1)(loss)
    # loss (and so its graph) is still alive, but what the operations saved is not
    assert _in_use() - before < activation // 8, (held, _in_use() - before)
    with pytest.raises(RuntimeError, match="optimizer step already back-propagated.*"
                                           "forward pass again"):
        autograd.gradients(loss)


def test_gradients_can_still_be_asked_twice_of_one_graph():
    rng = np.random.default_rng(1)
    w = Tensor(data=rng.standard_normal((2, 1, 3, 3)), requires_grad=True, stores_grad=True)
    x = Tensor(data=rng.standard_normal((4, 1, 16, 16)), requires_grad=True, stores_grad=True)
    t = Tensor(data=np.array([1, 7, 300, 511], np.int32), requires_grad=False)
    loss = _small_cnn_loss(w, x, t)
    first = autograd.gradients(loss, retain_graph=True)
    again = autograd.gradients(loss)   # (only conv2d released its input, at this second one)
    np.testing.assert_array_equal(tensor.to_numpy(again[w]), tensor.to_numpy(first[w]))
    np.testing.assert_array_equal(tensor.to_numpy(again[x]), tensor.to_numpy(first[x]))
