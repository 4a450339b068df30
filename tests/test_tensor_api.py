"""SINGA's tensor module as SINGA code uses it (issue 20): in-place operators and
the rule that keeps gradients right, zero-filled new tensors on every device,
the module functions and methods of ``singa.tensor``, and the Operation contract
(``gradients`` keys, losses' default ``dy``, ``set_states`` numbers).

The functions that compute (einsum, tensordot, repeat, indexing, square, sum,
mult) are gradient-checked from the registry (minisinga/testing/composite.py) in
tests/test_ops.py; here: their values, their errors and their memory rules.
"""
import shutil

import numpy as np
import pytest

from minisinga import autograd, gpu, layer, opt, tensor
from minisinga.tensor import Tensor


def f64(values, **flags):
    return Tensor(data=np.asarray(values, dtype=np.float64), dtype=tensor.float64, **flags)


def param(values):
    return f64(values, requires_grad=True, stores_grad=True)


@pytest.fixture
def training():
    old = autograd.training
    autograd.training = True
    yield
    autograd.training = old


@pytest.fixture(scope="module")
def emulated():
    if not shutil.which("g++"):
        pytest.skip("no g++ to build the emulated CUDA kernels")
    return gpu.emulated_gpu()


# ============================================================ in-place operators
def test_inplace_add_changes_the_tensor_every_reference_sees():
    w = Tensor(data=np.array([1.0, 2.0], np.float32))
    same, view, shallow = w, w.reshape((2, 1)), w.copy()
    before = id(w)
    w += 1
    assert id(w) == before
    for t in (same, view, shallow):
        np.testing.assert_array_equal(tensor.to_numpy(t).ravel(), [2.0, 3.0])


def test_inplace_operators_with_tensors_scalars_and_broadcasting():
    m = Tensor(data=np.arange(6.0).reshape(2, 3))
    ref = np.arange(6.0).reshape(2, 3).astype(np.float32)
    row = np.array([1.0, 2.0, 4.0], np.float32)
    m += Tensor(data=row)
    ref += row
    m -= 0.5
    ref -= 0.5
    m *= Tensor(data=np.array([[2.0], [3.0]], np.float32))
    ref *= np.array([[2.0], [3.0]], np.float32)
    m /= 4
    ref /= 4
    np.testing.assert_allclose(tensor.to_numpy(m), ref, rtol=1e-6)


def test_a_layer_parameter_changed_in_place_is_the_parameter():
    lin = layer.Linear(2)
    lin(Tensor(data=np.ones((1, 3), np.float32)))
    W = lin.W
    before = tensor.to_numpy(W)
    W += 1.0     # the gradient-check idiom: param += eps
    np.testing.assert_allclose(tensor.to_numpy(lin.get_params()["W"]), before + 1.0)


def test_inplace_cannot_change_shape_or_dtype():
    v = Tensor(data=np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"\+=.*shape \(2, 3\).*cannot change"):
        v += Tensor(data=np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(tensor.to_numpy(v), [1, 1, 1])   # unchanged


def test_inplace_on_a_tensor_a_recorded_op_saved_raises_at_backward(training):
    x = param([0.5, -1.0, 2.0])
    y = autograd.sigmoid(x)        # Sigmoid saves its output y for backward
    y += 1.0
    with pytest.raises(RuntimeError, match=r"Sigmoid#\d+: a tensor it saved.*changed in place"):
        autograd.gradients(autograd.reduce_sum(y))


def test_changing_a_parameter_after_forward_is_caught(training):
    w = param([1.0, 2.0])
    z = w * w                      # Mul saves both inputs
    w -= 0.1                       # e.g. an update before backward ran
    with pytest.raises(RuntimeError, match="changed in place"):
        autograd.gradients(autograd.reduce_sum(z))
    w2 = param([1.0, 2.0])
    z2 = w2 * w2
    w2.set_value(3.0)              # any in-place change counts, not only +=
    with pytest.raises(RuntimeError, match="changed in place"):
        autograd.gradients(autograd.reduce_sum(z2))


def test_inplace_before_the_forward_pass_is_fine(training):
    w = param([1.0, 2.0])
    w += 1.0
    g = autograd.gradients(autograd.reduce_sum(w * w))
    np.testing.assert_allclose(tensor.to_numpy(g[w]), [4.0, 6.0])


def test_inplace_on_an_intermediate_is_recorded(training):
    # h = x @ W; h += b; h *= 3: the in-place steps are differentiated
    x = param([[1.0, 2.0]])
    W = param([[1.0], [-1.0]])
    b = param([0.5])
    h = x @ W
    h += b
    h *= 3.0
    g = autograd.gradients(autograd.reduce_sum(h))
    np.testing.assert_allclose(tensor.to_numpy(h), [[-1.5]])   # (1 - 2 + 0.5) * 3
    np.testing.assert_allclose(tensor.to_numpy(g[x]), [[3.0, -3.0]])
    np.testing.assert_allclose(tensor.to_numpy(g[W]), [[3.0], [6.0]])
    np.testing.assert_allclose(tensor.to_numpy(g[b]), [3.0])


def test_inplace_product_of_an_intermediate_has_the_right_gradient(training):
    # y = x * x; y *= x: y = x^3, dy/dx = 3x^2 (the old y is kept for backward)
    x = param([1.0, 2.0, -3.0])
    y = x * x
    y *= x
    g = autograd.gradients(autograd.reduce_sum(y))
    np.testing.assert_allclose(tensor.to_numpy(g[x]), [3.0, 12.0, 27.0])


def test_a_parameter_plus_a_tensor_on_the_gradient_path_is_refused(training):
    w = param([1.0, 2.0])
    x = param([3.0, 4.0])
    with pytest.raises(RuntimeError, match="stores its gradient"):
        w += x * 2.0
    np.testing.assert_array_equal(tensor.to_numpy(w), [1.0, 2.0])


def test_inplace_without_training_is_plain_data():
    x = param([1.0, 2.0])
    x *= 2.0
    assert x.creator is None
    np.testing.assert_array_equal(tensor.to_numpy(x), [2.0, 4.0])


# ============================================================ zero-filled allocation
@pytest.mark.parametrize("dtype", [tensor.float32, tensor.float64, tensor.int32])
def test_a_new_tensor_is_zeros_on_the_cpu_even_after_a_free(dtype):
    for _ in range(3):
        old = Tensor((64, 64), dtype=dtype).set_value(7)
        del old
        t = Tensor((64, 64), dtype=dtype)
        assert not tensor.to_numpy(t).any()
    t = Tensor((2, 3))
    t += 1.23
    np.testing.assert_allclose(tensor.to_numpy(t), np.full((2, 3), 1.23), rtol=1e-6)


@pytest.mark.parametrize("dtype", [tensor.float32, tensor.float64, tensor.int32])
def test_a_new_tensor_is_zeros_on_the_emulated_gpu(emulated, dtype):
    # the emulated GPU hands freed blocks out again (its BlockCache), like a GPU
    for _ in range(3):
        old = Tensor((64, 64), emulated, dtype).set_value(7)
        del old
        t = Tensor((64, 64), emulated, dtype)
        assert t.device is emulated
        assert not tensor.to_numpy(t).any()


# ============================================================ methods of Tensor
def test_getitem_ints_and_slices_like_numpy():
    a = np.arange(24.0).reshape(4, 3, 2)
    t = Tensor(data=a, dtype=tensor.float64)
    for key in (1, -1, slice(1, 3), slice(None, None, -1), (2, 1), (slice(0, 4, 2), 0),
                (1, slice(0, 2), 1)):
        np.testing.assert_array_equal(tensor.to_numpy(t[key]), a[key])
    ints = Tensor(data=np.arange(6, dtype=np.int32).reshape(2, 3))
    got = ints[1, 1:]
    assert got.dtype == tensor.int32
    np.testing.assert_array_equal(tensor.to_numpy(got), [4, 5])
    assert [tensor.to_numpy(row).tolist() for row in ints] == [[0, 1, 2], [3, 4, 5]]


def test_getitem_errors():
    t = Tensor(data=np.zeros((2, 3), np.float32))
    with pytest.raises(IndexError, match="index 2 is out of range for axis 0 of size 2"):
        t[2]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(TypeError, match="ints or slices"):
        t["a"]


def test_getitem_is_tracked_by_autograd(training):
    x = param([[1.0, 2.0], [3.0, 4.0]])
    g = autograd.gradients(autograd.reduce_sum(x[1] * 2.0))
    np.testing.assert_array_equal(tensor.to_numpy(g[x]), [[0, 0], [2, 2]])


def test_copy_is_shallow_and_clone_is_deep():
    t = Tensor(data=np.zeros(3, np.float32))
    shallow, deep = t.copy(), t.clone()
    t.set_value(5)
    np.testing.assert_array_equal(tensor.to_numpy(shallow), [5, 5, 5])
    np.testing.assert_array_equal(tensor.to_numpy(deep), [0, 0, 0])


def test_as_type_accepts_singas_spellings_and_is_transpose_is_false():
    t = Tensor(data=np.array([1.7, -2.2], np.float32))
    i = t.as_type("int")
    assert i.dtype == tensor.int32
    np.testing.assert_array_equal(tensor.to_numpy(i), [1, -2])
    assert i.as_type("float").dtype == tensor.float32
    assert t.transpose().is_transpose() is False and t.is_transpose() is False
    assert t.to_type(tensor.float64) is t and t.dtype == tensor.float64


def test_comparison_operators_give_float_masks():
    a = Tensor(data=np.array([1.0, 2.0, 3.0], np.float32))
    b = Tensor(data=np.array([3.0, 2.0, 1.0], np.float32))
    for got, want in ((a < b, [1, 0, 0]), (a <= b, [1, 1, 0]), (a > b, [0, 0, 1]),
                      (a >= b, [0, 1, 1]), (a == b, [0, 1, 0]), (a != b, [1, 0, 1]),
                      (a <= 2, [1, 1, 0])):
        assert got.dtype == tensor.float32
        np.testing.assert_array_equal(tensor.to_numpy(got), want)
    assert (a == None) is False  # noqa: E711 (SINGA's rule)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
    assert {a: 1, b: 2}[a] == 1                # tensors still hash by identity
    with pytest.raises(ValueError, match="ambiguous"):
        a in [b, a]     # noqa: B015 (compares b == a first: a mask, as in NumPy)


def test_l1_l2_and_deprecated_matrix_vector_updates():
    m = Tensor(data=np.array([[1.0, -2.0], [3.0, -4.0]], np.float32))
    assert m.l1() == pytest.approx(10.0 / 4)
    assert m.l2() == pytest.approx(np.sqrt(30.0) / 4)
    m.add_row(Tensor(data=np.array([10.0, 20.0], np.float32)))
    m.mult_column(Tensor(data=np.array([1.0, 2.0], np.float32)))
    np.testing.assert_allclose(tensor.to_numpy(m), [[11.0, 18.0], [26.0, 32.0]])


# ============================================================ module functions
A = np.arange(1.0, 13.0).reshape(3, 4)


def T(a, dtype=tensor.float64):
    return Tensor(data=np.asarray(a), dtype=dtype)


@pytest.mark.parametrize("name, ref", [
    ("square", np.square), ("sqrt", np.sqrt), ("log", np.log), ("exp", np.exp),
    ("ceil", np.ceil), ("abs", np.abs), ("sign", np.sign), ("tanh", np.tanh),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
])
def test_unary_module_functions(name, ref):
    x = A / 3.0
    np.testing.assert_allclose(tensor.to_numpy(getattr(tensor, name)(T(x))), ref(x), rtol=1e-12)


def test_reductions_and_layout_functions():
    t = T(A)
    assert tensor.sum(t).shape == () and tensor.sum(t).item() == A.sum()
    np.testing.assert_array_equal(tensor.to_numpy(tensor.sum(t, 0)), A.sum(0))
    np.testing.assert_array_equal(tensor.to_numpy(tensor.sum(t, (0, 1))), A.sum())
    out = T(np.zeros(3))
    assert tensor.sum(t, 1, out=out) is out
    np.testing.assert_array_equal(tensor.to_numpy(out), A.sum(1))
    assert tensor.average(t) == pytest.approx(A.mean())
    np.testing.assert_allclose(tensor.to_numpy(tensor.average(t, 1)), A.mean(1))
    np.testing.assert_array_equal(tensor.to_numpy(tensor.sum_rows(t)), A.sum(0))
    np.testing.assert_array_equal(tensor.to_numpy(tensor.sum_columns(t)), A.sum(1))
    np.testing.assert_array_equal(tensor.to_numpy(tensor.reshape(t, (4, 3))), A.reshape(4, 3))
    np.testing.assert_array_equal(tensor.to_numpy(tensor.transpose(t)), A.T)
    np.testing.assert_array_equal(tensor.to_numpy(tensor.transpose(t, (1, 0))), A.T)
    np.testing.assert_array_equal(tensor.to_numpy(tensor.concatenate([t, t], 1)),
                                  np.concatenate([A, A], 1))
    np.testing.assert_array_equal(tensor.to_numpy(tensor.repeat(t, [1, 0, 2], 0)),
                                  np.repeat(A, [1, 0, 2], 0))
    np.testing.assert_array_equal(tensor.to_numpy(t.repeat(2)), np.repeat(A, 2))
    np.testing.assert_allclose(tensor.to_numpy(tensor.softmax(t)),
                               np.exp(A) / np.exp(A).sum(1, keepdims=True))


def test_comparisons_and_binary_module_functions():
    t, u = T(A), T(A[::-1].copy())
    for fn, ref in ((tensor.lt, np.less), (tensor.le, np.less_equal), (tensor.gt, np.greater),
                    (tensor.ge, np.greater_equal), (tensor.eq, np.equal)):
        np.testing.assert_array_equal(tensor.to_numpy(fn(t, u)), ref(A, A[::-1]))
        np.testing.assert_array_equal(tensor.to_numpy(fn(t, 6.0)), ref(A, 6.0))
    ret = T(np.zeros_like(A))
    assert tensor.add(t, u, ret) is ret
    np.testing.assert_array_equal(tensor.to_numpy(ret), A + A[::-1])
    np.testing.assert_array_equal(tensor.to_numpy(tensor.sub(t, 1.0)), A - 1)
    np.testing.assert_array_equal(tensor.to_numpy(tensor.eltwise_mult(t, u)), A * A[::-1])
    np.testing.assert_array_equal(tensor.to_numpy(tensor.div(t, u)), A / A[::-1])
    np.testing.assert_allclose(tensor.to_numpy(tensor.pow(t, 2.0)), A ** 2)
    y = T(np.ones_like(A))
    assert tensor.axpy(2.0, t, y) is y
    np.testing.assert_array_equal(tensor.to_numpy(y), 2 * A + 1)
    M = T(np.ones((3, 2)))
    tensor.add_column(2.0, T([1.0, 2.0, 3.0]), 3.0, M)
    np.testing.assert_array_equal(tensor.to_numpy(M), 3 + 2 * np.array([[1, 1], [2, 2], [3, 3]]))


def test_mult_gemv_gemm_batched_and_with_c():
    B = np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(tensor.to_numpy(tensor.mult(T(A), T(B))), A @ B)
    v = np.arange(4.0)
    np.testing.assert_allclose(tensor.to_numpy(tensor.mult(T(A), T(v))), A @ v)
    C = T(np.ones((3, 2)))
    assert tensor.mult(T(A), T(B), C, alpha=2.0, beta=0.5) is C
    np.testing.assert_allclose(tensor.to_numpy(C), 2 * A @ B + 0.5)


def test_einsum_and_tensordot_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    for ops, x, y in (("bij,bjk->bik", a, b), ("bij,bjk->kib", a, b), ("ijk,ijk->", a, a),
                      ("ki,kj->kij", a[0], a[1]), ("bij,c->bi", a, b[0, 0])):
        np.testing.assert_allclose(tensor.to_numpy(tensor.einsum(ops, T(x), T(y))),
                                   np.einsum(ops, x, y), atol=1e-12)
    c = rng.standard_normal((4, 3, 5))
    np.testing.assert_allclose(tensor.to_numpy(tensor.tensordot(T(a), T(c), ([1, 2], [1, 0]))),
                               np.tensordot(a, c, ([1, 2], [1, 0])), atol=1e-12)


@pytest.mark.parametrize("call, words", [
    (lambda t: tensor.einsum("ii,ij->ij", t, t), "distinct letters"),
    (lambda t: tensor.einsum("ij,jk->ik", t), "exactly two operands"),
    (lambda t: tensor.einsum("ij,jk", t, t), "like 'ij,jk->ik'"),
    (lambda t: tensor.einsum("ij,ik->jk", t, tensor.transpose(t)), "size 3 in one operand"),
    (lambda t: tensor.tensordot(t, t, ([0], [1])), "size 3 but axis 1 of B has size 4"),
    (lambda t: tensor.repeat(t, [1, 2], 0), "3 of them"),
    (lambda t: tensor.sum(t, 0, out=T(np.zeros(3))), "out: has shape"),
])
def test_module_function_errors(call, words):
    with pytest.raises((ValueError, TypeError), match=words):
        call(T(A))


def test_copy_data_to_from_with_offsets():
    dst = T(np.zeros(6))
    src = T(np.arange(1.0, 5.0))
    tensor.copy_data_to_from(dst, src, 2, dst_offset=3, src_offset=1)
    np.testing.assert_array_equal(tensor.to_numpy(dst), [0, 0, 0, 2, 3, 0])
    with pytest.raises(ValueError, match="too few for 3 from offset 4"):
        tensor.copy_data_to_from(dst, src, 3, dst_offset=4)
    with pytest.raises(TypeError, match="cast one"):
        tensor.copy_data_to_from(dst, Tensor(data=np.ones(2, np.float32)), 1)


def test_copy_data_to_from_across_devices(emulated):
    host = T(np.arange(6.0))
    dev = Tensor((5,), emulated, tensor.float64)
    tensor.copy_data_to_from(dev, host, 3, dst_offset=2, src_offset=1)
    np.testing.assert_array_equal(tensor.to_numpy(dev), [0, 0, 1, 2, 3])
    back = T(np.zeros(4))
    tensor.copy_data_to_from(back, dev, 2, dst_offset=0, src_offset=3)
    np.testing.assert_array_equal(tensor.to_numpy(back), [2, 3, 0, 0])
    other = Tensor((5,), emulated, tensor.float64)
    tensor.copy_data_to_from(other, dev, 4, dst_offset=1)
    np.testing.assert_array_equal(tensor.to_numpy(other), [0, 0, 0, 1, 2])


def test_placeholder_and_random_fill_functions():
    assert tensor.PlaceHolder is Tensor
    t = tensor.PlaceHolder((100,))
    assert tensor.uniform(2.0, 3.0, t) is t and 2.0 <= tensor.to_numpy(t).min()
    assert tensor.to_numpy(tensor.bernoulli(1.0, t)).min() == 1.0
    assert tensor.gaussian(0.0, 0.0, t) is t and not tensor.to_numpy(t).any()


# ============================================================ the Operation contract
def test_gradients_are_keyed_by_id_as_in_singa(training):
    w = param([1.0, 2.0])
    b = param([0.5, 0.5])
    grads = autograd.gradients(autograd.reduce_sum(w * w + b))
    assert set(grads) == {id(w), id(b)}                  # SINGA: {id(param): grad}
    np.testing.assert_array_equal(tensor.to_numpy(grads[id(w)]), [2.0, 4.0])
    assert grads[w] is grads[id(w)] and w in grads and grads.get(b) is grads[id(b)]
    assert set(map(id, grads.params())) == {id(w), id(b)}


@pytest.mark.parametrize("make", [
    lambda t: autograd.SoftMaxCrossEntropy(t),
    lambda t: autograd.MeanSquareError(t.as_type(tensor.float64)),
])
def test_a_loss_backward_defaults_to_dy_one(training, make):
    x = param([[0.2, -0.4, 1.0], [0.3, 0.1, -0.5]])
    t = Tensor(data=np.array([[0, 1, 0], [1, 0, 0]], np.int32))
    op = make(t)
    op(x)
    default, two = op.backward(), op.backward(2.0)
    np.testing.assert_allclose(tensor.to_numpy(Tensor(data=two)),
                               2 * tensor.to_numpy(Tensor(data=default)), rtol=1e-12)
    assert np.abs(tensor.to_numpy(Tensor(data=default))).sum() > 0


@pytest.mark.parametrize("Op", [autograd.Max, autograd.Min])
def test_one_input_min_max_backward_returns_the_tensor(training, Op):
    x = param([1.0, -2.0])
    op = Op()
    op(x)
    dy = Tensor(data=np.array([3.0, 4.0]), dtype=tensor.float64).data
    dx = op.backward(dy)
    assert not isinstance(dx, tuple)
    np.testing.assert_array_equal(tensor.to_numpy(Tensor(data=dx)), [3.0, 4.0])


def test_set_states_takes_a_plain_step_count():
    sgd = opt.SGD(lr=opt.ExponentialDecay(0.1, 1, 0.5))
    sgd.set_states({"step_counter": 5})
    assert sgd.get_states()["step_counter"].item() == 5.0
    assert sgd.lr_value.item() == pytest.approx(0.1 * 0.5 ** 5)
    with pytest.raises(ValueError, match="finite number >= 0"):
        sgd.set_states({"step_counter": -1})


# ============================================================ int32 arithmetic
def ints(values):
    return Tensor(data=np.asarray(values, dtype=np.int32))


def test_int32_arithmetic_with_broadcasting_stays_int32():
    a = np.array([[1, -2, 3], [4, 5, -6]], np.int32)
    b = np.array([10, 20, 30], np.int32)
    for got, want in ((ints(a) + ints(b), a + b), (ints(a) - ints(b), a - b), (ints(a) * ints(b), a * b),
                      (ints(a) + 7, a + 7), (3 - ints(a), 3 - a), (ints(a) * -2, a * -2)):
        assert got.dtype == tensor.int32
        np.testing.assert_array_equal(tensor.to_numpy(got), want)


def test_int32_wraps_around_like_numpy():
    big = np.array([2**31 - 1, -2**31], np.int32)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(tensor.to_numpy(ints(big) + ints([1, -1])),
                                      big + np.array([1, -1], np.int32))
        np.testing.assert_array_equal(tensor.to_numpy(ints(big) + ints([1, -1])), [-2**31, 2**31 - 1])
        np.testing.assert_array_equal(tensor.to_numpy(ints(big) * ints([2, 2])), big * np.int32(2))


def test_int32_with_floats_becomes_float():
    a = np.array([1, 2, 3], np.int32)
    f = np.array([0.5, 0.25, 2.0], np.float32)
    for got, want in ((ints(a) + Tensor(data=f), a + f), (Tensor(data=f) - ints(a), f - a),
                      (ints(a) + 0.5, a + np.float32(0.5)), (ints(a) / ints([2, 2, 2]), a / 2)):
        assert got.dtype == tensor.float32
        np.testing.assert_allclose(tensor.to_numpy(got), want)
    t = ints(a)
    with pytest.raises(ValueError, match="dtype float32 but the tensor has shape"):
        t += 0.5                     # never silently truncated
    t += 2
    np.testing.assert_array_equal(tensor.to_numpy(t), a + 2)


def test_int32_comparisons():
    a = ints([[1, 5, 3], [4, 2, 6]])
    b = ints([3, 2, 3])
    np.testing.assert_array_equal(tensor.to_numpy(a <= b), [[1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(tensor.to_numpy(a >= b), [[0, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(tensor.to_numpy(a == b), [[0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(tensor.to_numpy(a != b), [[1, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(tensor.to_numpy(a < 4), [[1, 0, 1], [0, 1, 0]])
    assert (a > b).dtype == tensor.int32
    np.testing.assert_array_equal(tensor.to_numpy(a > Tensor(data=np.float32([2.5]))),
                                  [[0, 1, 1], [1, 0, 1]])


def test_int32_on_the_emulated_gpu(emulated):
    a = Tensor(data=np.array([[1, -2], [3, 4]], np.int32), device=emulated)
    b = Tensor(data=np.array([5, 6], np.int32), device=emulated)
    np.testing.assert_array_equal(tensor.to_numpy(a + b), [[6, 4], [8, 10]])
    np.testing.assert_array_equal(tensor.to_numpy(a * b - a), [[4, -10], [12, 20]])
    np.testing.assert_array_equal(tensor.to_numpy(a <= b), [[1, 1], [1, 1]])
    np.testing.assert_array_equal(tensor.to_numpy(a == 3), [[0, 0], [1, 0]])


def test_int32_mixed_with_a_float_parameter_trains(training):
    w = param([0.5, -1.0])
    mask = ints([1, 0])
    g = autograd.gradients(autograd.reduce_sum(w * mask))
    np.testing.assert_array_equal(tensor.to_numpy(g[w]), [1.0, 0.0])


# ============================================================ data-format spellings
@pytest.mark.parametrize("spelling, axes", [
    ("channels_first", (2, 3)), ("channel_first", (2, 3)), ("NCHW", (2, 3)),
    ("channels_last", (1, 2)), ("channel_last", (1, 2)), ("NHWC", (1, 2)),
])
def test_globalaveragepool_accepts_singas_spellings(spelling, axes):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    want = x.mean(axis=axes, keepdims=True)
    got = autograd.globalaveragepool(T(x), spelling)
    np.testing.assert_allclose(tensor.to_numpy(got), want)
    np.testing.assert_allclose(tensor.to_numpy(autograd.GlobalAveragePool(spelling)(T(x))[0]),
                               want)


@pytest.mark.parametrize("nonsense", ["channels_middle", "nchw", "", None, 1])
def test_globalaveragepool_refuses_nonsense_clearly(nonsense):
    with pytest.raises(ValueError, match=r"data_format must be 'channels_first'.*got"):
        autograd.globalaveragepool(T(np.zeros((1, 2, 3, 3))), nonsense)


def test_batchnorm_operation_is_shaped_like_singas(training):
    rng = np.random.default_rng(0)
    x = param(rng.uniform(-1, 2, (3, 2, 2, 2)))
    scale, bias = param([1.0, 2.0]), param([0.0, 0.5])
    rm, rv = f64([0.5, -0.5]), f64([2.0, 3.0])
    op = autograd._BatchNorm2d(rm, rv, momentum=0.9)     # the statistics on the operation
    y = op(x, scale, bias)[0]                             # three inputs
    assert op.running_mean is rm and op.running_var is rv
    mean = tensor.to_numpy(x).mean(axis=(0, 2, 3))
    np.testing.assert_allclose(tensor.to_numpy(rm), 0.1 * np.array([0.5, -0.5]) + 0.9 * mean)
    g = autograd.gradients(autograd.reduce_sum(y * y))
    assert set(g) == {id(x), id(scale), id(bias)}
    op2 = autograd._BatchNorm2d(f64([0.0, 0.0]), f64([1.0, 1.0]))
    y2 = op2(x, scale, bias)[0]
    dxs = op2.backward(Tensor(data=np.ones(y2.shape), dtype=tensor.float64).data)
    assert len(dxs) == 3                                  # dx, dscale, dbias: SINGA's three


def test_floordiv_reset_like_and_old_spellings():
    a = Tensor(data=np.array([7.0, -7.0, 6.5], np.float32))
    np.testing.assert_array_equal(tensor.to_numpy(a // 2), [3.0, -4.0, 3.0])
    np.testing.assert_allclose(tensor.to_numpy(Tensor.__rdiv__(a, 1.0)), 1.0 / np.array([7, -7, 6.5]),
                               rtol=1e-6)
    Tensor.__idiv__(a, 2.0)
    np.testing.assert_array_equal(tensor.to_numpy(a), [3.5, -3.5, 3.25])
    like = Tensor((2, 2), dtype=tensor.int32)
    assert a.reset_like(like) is a and a.shape == (2, 2) and a.dtype == tensor.int32
    assert not tensor.to_numpy(a).any()
    assert tensor.dtype_name[tensor.int32] == "int32"
