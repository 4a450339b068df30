"""The operator catalogue: what the registry cannot express.

tests/test_ops.py already gradchecks every registered operation and compares
it with NumPy.  Here: the conventions (ties in max / min / reduce_max,
rounding at .5, sign(0), erf's gradient against its formula, the hinge of
ranking_loss), comparison outputs and their constant-ness, hand-computed
layouts (depth_to_space), and bad input for every operation.
"""
import math

import numpy as np
import pytest

from minisinga import autograd, tensor
from minisinga.tensor import Tensor

pytestmark = pytest.mark.usefixtures("training_mode")


def param(values, dtype=tensor.float64):
    return Tensor(data=np.asarray(values, dtype=np.float64), dtype=dtype,
                  requires_grad=True, stores_grad=True)


def const(values, dtype=tensor.float64):
    arr = np.asarray(values)
    if arr.dtype.kind == "f" or dtype != tensor.int32:
        arr = arr.astype(np.float64)
    return Tensor(data=arr, dtype=dtype, requires_grad=False)


def ints(values):
    return Tensor(data=np.asarray(values, dtype=np.int32), requires_grad=False)


def grads(y, dy, *params):
    """The gradients of <dy, y> for each of params (zeros when none reaches it)."""
    g = autograd.gradients(y, Tensor(data=np.asarray(dy, dtype=np.float64), dtype=y.dtype,
                                     requires_grad=False))
    return [tensor.to_numpy(g[p]) if p in g else np.zeros(p.shape) for p in params]


def npy(t):
    return tensor.to_numpy(t)


# ============================================================ conventions
def test_max_tie_sends_the_whole_gradient_to_the_first_input():
    a = param([1.0, 5.0, 2.0, 7.0])
    b = param([1.0, 3.0, 2.0, 7.0])
    c = param([0.0, 5.0, 2.0, 6.0])
    y = autograd.max(a, b, c)
    np.testing.assert_array_equal(npy(y), [1.0, 5.0, 2.0, 7.0])
    dy = [0.5, -2.0, 3.0, 4.0]
    ga, gb, gc = grads(y, dy, a, b, c)
    # a attains every maximum first: it takes all of dy (times dy, unlike SINGA's masks)
    np.testing.assert_array_equal(ga, dy)
    np.testing.assert_array_equal(gb, [0, 0, 0, 0])
    np.testing.assert_array_equal(gc, [0, 0, 0, 0])


def test_max_tie_goes_to_the_first_input_attaining_it_not_simply_the_first():
    a = param([0.0, 9.0])
    b = param([4.0, 1.0])
    c = param([4.0, 9.0])
    y = autograd.max(a, b, c)
    ga, gb, gc = grads(y, [2.0, 3.0], a, b, c)
    np.testing.assert_array_equal(ga, [0.0, 3.0])
    np.testing.assert_array_equal(gb, [2.0, 0.0])
    np.testing.assert_array_equal(gc, [0.0, 0.0])


def test_min_tie_with_broadcasting_sums_over_the_copies():
    a = param([[1.0, 2.0], [0.5, 2.0]])   # (2, 2)
    b = param([1.0, 3.0])                 # (2,), broadcast over rows
    y = autograd.min(a, b)
    np.testing.assert_array_equal(npy(y), [[1.0, 2.0], [0.5, 2.0]])
    ga, gb = grads(y, [[1.0, 2.0], [3.0, 4.0]], a, b)
    np.testing.assert_array_equal(ga, [[1.0, 2.0], [3.0, 4.0]])  # a is first on the tie at [0, 0]
    np.testing.assert_array_equal(gb, [0.0, 0.0])


def test_reduce_max_and_min_ties_go_to_the_first_in_row_major_order():
    x = param([[[1.0, 3.0], [3.0, 0.0]],
               [[2.0, 2.0], [-1.0, 2.0]]])     # (2, 2, 2)
    y = autograd.reduce_max(x, axes=[1, 2], keepdims=0)
    np.testing.assert_array_equal(npy(y), [3.0, 2.0])
    (g,) = grads(y, [5.0, -1.0], x)
    np.testing.assert_array_equal(g, [[[0, 5.0], [0, 0]], [[-1.0, 0], [0, 0]]])
    # non-adjacent axes (0 and 2): the group of x[:, j, :] in row-major order
    y = autograd.reduce_min(x, axes=[0, 2], keepdims=1)
    assert y.shape == (1, 2, 1)
    np.testing.assert_array_equal(npy(y).ravel(), [1.0, -1.0])
    (g,) = grads(y, [[[2.0], [3.0]]], x)
    np.testing.assert_array_equal(g, [[[2.0, 0], [0, 0]], [[0, 0], [3.0, 0]]])
    y = autograd.reduce_max(x)  # all axes, keepdims: first 3.0 at [0, 0, 1]
    assert y.shape == (1, 1, 1)
    (g,) = grads(y, [[[1.5]]], x)
    want = np.zeros((2, 2, 2))
    want[0, 0, 1] = 1.5
    np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("dtype", [tensor.float32, tensor.float64])
def test_round_halves_away_from_zero_and_rounde_halves_to_even(dtype):
    x = const([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.4, 0.6], dtype)
    np.testing.assert_array_equal(npy(autograd.round(x)), [-3, -2, -1, 1, 2, 3, 4, 0, 1])
    np.testing.assert_array_equal(npy(autograd.rounde(x)), [-2, -2, 0, 0, 2, 2, 4, 0, 1])
    np.testing.assert_array_equal(npy(autograd.floor(x)), np.floor(npy(x)))
    np.testing.assert_array_equal(npy(autograd.ceil(x)), np.ceil(npy(x)))


def test_sign_of_zero_is_zero_and_nan_stays_nan():
    y = npy(autograd.sign(const([-0.0, 0.0, -3.0, 2.0, np.nan])))
    np.testing.assert_array_equal(y[:4], [0.0, 0.0, -1.0, 1.0])
    assert math.isnan(y[4])


@pytest.mark.parametrize("fn", ["sign", "ceil", "floor", "round", "rounde"])
def test_piecewise_constant_functions_have_zero_gradient_even_at_their_jumps(fn):
    x = param([-1.0, -0.5, 0.0, 0.5, 1.0, 2.3])  # jumps and non-jumps
    (g,) = grads(getattr(autograd, fn)(x), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], x)
    np.testing.assert_array_equal(g, np.zeros(6))


def test_erf_gradient_is_the_formula_times_dy():
    xs = np.array([-2.0, -0.7, 0.0, 0.3, 1.1, 2.5])
    dy = np.array([0.5, -1.0, 2.0, 3.0, -0.25, 1.5])
    x = param(xs)
    y = autograd.erf(x)
    np.testing.assert_allclose(npy(y), [math.erf(v) for v in xs], rtol=1e-15, atol=1e-16)
    (g,) = grads(y, dy, x)
    np.testing.assert_allclose(g, dy * 2 / math.sqrt(math.pi) * np.exp(-xs ** 2), rtol=1e-14)


def test_prelu_at_zero_takes_the_identity_branch():
    x = param([0.0, -2.0, 3.0])
    s = param([0.25])
    y = autograd.prelu(x, s)
    np.testing.assert_array_equal(npy(y), [0.0, -0.5, 3.0])
    gx, gs = grads(y, [1.0, 2.0, 4.0], x, s)
    np.testing.assert_array_equal(gx, [1.0, 0.5, 4.0])
    np.testing.assert_array_equal(gs, [-4.0])  # only x = -2 contributes: 2 * -2


def test_cossim_of_a_zero_row_is_zero_with_zero_gradient():
    a = param([[0.0, 0.0], [1.0, 0.0]])
    b = param([[1.0, 2.0], [3.0, 3.0]])
    y = autograd.cossim(a, b)
    np.testing.assert_allclose(npy(y), [0.0, 1 / math.sqrt(2)], rtol=1e-15)
    ga, gb = grads(y, [1.0, 1.0], a, b)
    np.testing.assert_array_equal(ga[0], [0.0, 0.0])
    np.testing.assert_array_equal(gb[0], [0.0, 0.0])
    # row 1: d cos / d a = b/(|a||b|) - cos a/|a|^2
    np.testing.assert_allclose(ga[1], [3 / (3 * math.sqrt(2)) - 1 / math.sqrt(2), 1 / math.sqrt(2)],
                               atol=1e-15)


def test_ranking_loss_hinge_convention_and_upstream_gradient():
    pos = param([1.0, 0.5, 0.2])
    neg = param([0.0, 0.3, 0.5])  # hinges: 0.2 - 1 + 0 < 0; 0.2 - 0.5 + 0.3 = 0; 0.5 > 0
    y = autograd.ranking_loss(pos, neg)
    np.testing.assert_allclose(npy(y), [0.5 / 3], rtol=1e-15)
    gp, gn = grads(y, [3.0], pos, neg)  # dy = 3 is honoured (SINGA ignores it)
    np.testing.assert_array_equal(gp, [0.0, 0.0, -1.0])  # 0 at the hinge itself
    np.testing.assert_array_equal(gn, [0.0, 0.0, 1.0])


def test_ranking_loss_divides_by_the_batch_axis():
    pos, neg = param(np.zeros((2, 3))), param(np.ones((2, 3)))
    np.testing.assert_allclose(npy(autograd.ranking_loss(pos, neg, M=0.5)), [9.0 / 2])


# ============================================================ comparisons and logic
@pytest.mark.parametrize("dtype", [tensor.float32, tensor.float64])
def test_comparisons_give_zeros_and_ones_of_the_input_dtype(dtype):
    a = const([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]], dtype)
    b = const([2.0, 2.0, 1.0], dtype)  # broadcast over rows
    for fn, want in [(autograd.less, [[1, 0, 0], [1, 1, 0]]),
                     (autograd.greater, [[0, 0, 1], [0, 0, 1]]),
                     (autograd.equal, [[0, 1, 0], [0, 0, 0]])]:
        y = fn(a, b)
        assert y.dtype == dtype and y.shape == (2, 3)
        np.testing.assert_array_equal(npy(y), want)


def test_logic_treats_any_nonzero_as_true():
    a = const([0.0, -2.0, 0.5, 0.0])
    b = const([0.0, 0.0, 3.0, -0.1])
    np.testing.assert_array_equal(npy(autograd._and(a, b)), [0, 0, 1, 0])
    np.testing.assert_array_equal(npy(autograd._or(a, b)), [0, 1, 1, 1])
    np.testing.assert_array_equal(npy(autograd._xor(a, b)), [0, 1, 0, 1])
    np.testing.assert_array_equal(npy(autograd._not(a)), [1, 0, 0, 1])


def test_a_comparison_is_a_constant_so_a_mask_trains():
    x = param([-1.0, 2.0, 0.5])
    mask = autograd.greater(x, const([0.0]))
    assert not mask.requires_grad
    y = x * mask
    (g,) = grads(y, [5.0, 6.0, 7.0], x)
    np.testing.assert_array_equal(g, [0.0, 6.0, 7.0])


def test_backward_of_an_operation_without_gradient_raises():
    for op in [autograd.Less(), autograd.Not(), autograd.Shape(), autograd.NonZero()]:
        with pytest.raises(RuntimeError, match="has no gradient"):
            op.backward(None)


# ============================================================ layouts and exact values
def test_depth_to_space_dcr_and_crd_layouts():
    x = const(np.arange(8.0).reshape(1, 8, 1, 1))
    dcr = npy(autograd.depth_to_space(x, 2, "DCR"))
    crd = npy(autograd.depth_to_space(x, 2, "CRD"))
    # DCR: y[c, i, j] = x[(2i + j) * 2 + c];  CRD: y[c, i, j] = x[4c + 2i + j]
    np.testing.assert_array_equal(dcr[0], [[[0, 2], [4, 6]], [[1, 3], [5, 7]]])
    np.testing.assert_array_equal(crd[0], [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_space_to_depth_undoes_depth_to_space(mode):
    xs = np.random.default_rng(1).uniform(-1, 1, (2, 12, 2, 3))
    y = autograd.depth_to_space(const(xs), 2, mode)
    assert y.shape == (2, 3, 4, 6)
    np.testing.assert_array_equal(npy(autograd.space_to_depth(y, 2, mode)), xs)


def test_embedding_accumulates_repeated_rows_and_gives_x_no_gradient():
    w = param(np.arange(12.0).reshape(4, 3))
    x = ints([[1, 3], [1, 0]])
    y = autograd.embedding(x, w)
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(npy(y)[0, 1], [9, 10, 11])
    dy = np.arange(12.0).reshape(2, 2, 3)
    g = autograd.gradients(y, Tensor(data=dy, dtype=tensor.float64, requires_grad=False))
    assert x not in g
    want = np.zeros((4, 3))
    want[1] = dy[0, 0] + dy[1, 0]
    want[3] = dy[0, 1]
    want[0] = dy[1, 1]
    np.testing.assert_array_equal(npy(g[w]), want)


def test_scatter_elements_grads_mask_x_and_gather_for_updates():
    x = param(np.zeros((2, 3)))
    u = param([[1.0, 2.0]])
    y = autograd.scatter_elements(x, [[2, 0]], u, axis=1)
    np.testing.assert_array_equal(npy(y), [[2.0, 0, 1.0], [0, 0, 0]])
    dy = np.arange(6.0).reshape(2, 3) + 1
    gx, gu = grads(y, dy, x, u)
    np.testing.assert_array_equal(gx, [[0, 2, 0], [4, 5, 6]])
    np.testing.assert_array_equal(gu, [[3, 1]])


def test_scatter_elements_accepts_array_updates_without_gradient():
    x = param(np.zeros(4))
    y = autograd.scatter_elements(x, [3, 1], np.array([5.0, 6.0]))
    np.testing.assert_array_equal(npy(y), [0, 6, 0, 5])


def test_pad_constant_region_passes_no_gradient_and_edge_accumulates():
    x = param([1.0, 2.0])
    y = autograd.pad(x, "edge", [2, 1])
    np.testing.assert_array_equal(npy(y), [1, 1, 1, 2, 2])
    (g,) = grads(y, [1.0, 2.0, 3.0, 4.0, 5.0], x)
    np.testing.assert_array_equal(g, [6.0, 9.0])
    y = autograd.pad(x, "constant", [1, 1], constant=-7.0)
    np.testing.assert_array_equal(npy(y), [-7, 1, 2, -7])
    (g,) = grads(y, [1.0, 2.0, 3.0, 4.0], x)
    np.testing.assert_array_equal(g, [2.0, 3.0])


def test_gather_repeated_indices_accumulate():
    x = param([10.0, 20.0, 30.0])
    y = autograd.gather(x, 0, [2, 2, -3])
    np.testing.assert_array_equal(npy(y), [30, 30, 10])
    (g,) = grads(y, [1.0, 2.0, 4.0], x)
    np.testing.assert_array_equal(g, [4.0, 0.0, 3.0])


@pytest.mark.parametrize("starts, ends, steps", [
    ([0], [2**31 - 1], [1]), ([-1], [-2**31], [-1]), ([4], [1], [-2]), ([1], [1], [1]),
    ([7], [9], [1]), ([-9], [2], [3]), ([2], [-1], [-1]),
])
def test_slice_follows_python_and_onnx_clamping(starts, ends, steps):
    xs = np.arange(6.0)
    got = npy(autograd.slice(const(xs), starts, ends, steps=steps))
    np.testing.assert_array_equal(got, xs[starts[0]:ends[0]:steps[0]])


def test_tile_expand_upsample_gradients_sum_the_copies():
    x = param([[1.0, 2.0]])
    (g,) = grads(autograd.tile(x, [2, 3]), np.ones((2, 6)), x)
    np.testing.assert_array_equal(g, [[6.0, 6.0]])
    (g,) = grads(autograd.expand(x, [3, 1, 2]), np.ones((3, 1, 2)), x)
    np.testing.assert_array_equal(g, [[3.0, 3.0]])
    (g,) = grads(autograd.upsample(x, "nearest", [2, 2]), np.arange(8.0).reshape(2, 4), x)
    np.testing.assert_array_equal(g, [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7]])


def test_where_with_a_tensor_condition():
    x, y = param([1.0, 2.0, 3.0]), param([-1.0])
    z = autograd.where(x, y, const([1.0, 0.0, 5.0]))
    np.testing.assert_array_equal(npy(z), [1.0, -1.0, 3.0])
    gx, gy = grads(z, [1.0, 2.0, 3.0], x, y)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(gy, [2.0])


def test_onehot_values_axis_and_float_indices():
    y = autograd.onehot(0, const([2.0, -1.0, 0.0], tensor.float32), 3, [-1.0, 4.0])
    assert y.dtype == tensor.float32 and y.shape == (3, 3)
    np.testing.assert_array_equal(npy(y), [[-1, -1, 4], [-1, -1, -1], [4, 4, -1]])
    assert not y.requires_grad


def test_cast_float_to_float_passes_the_gradient_back_in_the_input_type():
    x = param([1.5, -2.25])
    y = autograd.cast(x, tensor.float32)
    assert y.dtype == tensor.float32 and y.requires_grad
    g = autograd.gradients(y * y)
    assert g[x].dtype == tensor.float64
    np.testing.assert_array_equal(npy(g[x]), [3.0, -4.5])


def test_cast_to_int32_truncates_toward_zero_and_is_a_constant():
    y = autograd.cast(param([-1.7, 1.7, 2.0, -0.2]), tensor.int32)
    assert y.dtype == tensor.int32 and not y.requires_grad
    np.testing.assert_array_equal(npy(y), [-1, 1, 2, 0])
    edge = Tensor(data=np.array([-2.0**31, 2.0**31 - 128], dtype=np.float32))
    np.testing.assert_array_equal(npy(autograd.cast(edge, tensor.int32)), [-2**31, 2**31 - 128])
    back = autograd.cast(y, 0)  # SINGA's code for float32
    assert back.dtype == tensor.float32 and not back.requires_grad
    np.testing.assert_array_equal(npy(back), [-1, 1, 2, 0])


def test_shape_constant_of_shape_and_nonzero():
    x = const(np.zeros((2, 0, 3)))
    s = autograd.shape(x)
    assert s.dtype == tensor.int32 and not s.requires_grad
    np.testing.assert_array_equal(npy(s), [2, 0, 3])
    c = autograd.constant_of_shape(ints([2, 3]), 1.25)
    assert c.dtype == tensor.float32 and c.shape == (2, 3)
    np.testing.assert_array_equal(npy(c), np.full((2, 3), 1.25))
    z = autograd.nonzero(const([[0.0, 1.0], [-2.0, 0.0]], tensor.float32))
    assert z.dtype == tensor.int32
    np.testing.assert_array_equal(npy(z), [[0, 1], [1, 0]])
    assert autograd.nonzero(const(np.zeros((2, 3)))).shape == (2, 0)


def test_inverse_functions_outside_their_domain_give_nan():
    assert math.isnan(npy(autograd.asin(const([2.0])))[0])
    assert math.isnan(npy(autograd.acosh(const([0.5])))[0])


# ============================================================ bad input
UNARY = ["sign", "ceil", "floor", "round", "rounde", "erf", "sin", "cos", "tan", "asin", "acos",
         "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "nonzero", "reduce_max",
         "reduce_min"]   # (_not has an int32 kernel: tests/test_tensor_api.py)
BINARY = ["less", "greater", "equal", "_and", "_or", "_xor", "prelu", "cossim", "ranking_loss",
          "max", "min"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_refuse_int32_input(name):
    with pytest.raises(TypeError, match=f"{name.lstrip('_')}|float32 or float64"):
        getattr(autograd, name)(ints([1, 2]))


@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_refuse_mixed_float_types(name):
    a = const(np.ones((2, 2)), tensor.float32)
    b = const(np.ones((2, 2)), tensor.float64)
    with pytest.raises(TypeError, match="float32 but .* float64"):
        getattr(autograd, name)(a, b)


@pytest.mark.parametrize("name", ["less", "_xor", "max", "min"])
def test_binary_ops_refuse_incompatible_shapes(name):
    with pytest.raises(ValueError, match="cannot be broadcast"):
        getattr(autograd, name)(const(np.ones((2, 3))), const(np.ones(4)))


def test_bad_input_elementwise():
    with pytest.raises(ValueError, match="at least one input"):
        autograd.max()
    with pytest.raises(ValueError, match="slope of shape"):
        autograd.prelu(const(np.ones(3)), const(np.ones((2, 3))))
    with pytest.raises(ValueError, match="2-D tensors of one shape"):
        autograd.cossim(const(np.ones(3)), const(np.ones(3)))
    with pytest.raises(ValueError, match="2-D tensors of one shape"):
        autograd.cossim(const(np.ones((2, 3))), const(np.ones((3, 2))))
    with pytest.raises(ValueError, match="one non-empty shape"):
        autograd.ranking_loss(const(np.ones(3)), const(np.ones(2)))
    with pytest.raises(TypeError, match="M must be a number"):
        autograd.ranking_loss(const(np.ones(3)), const(np.ones(3)), M="0.2")
    with pytest.raises(ValueError, match="axis of size 0"):
        autograd.reduce_max(const(np.ones((2, 0))), axes=1)
    with pytest.raises(ValueError, match="repeats an axis"):
        autograd.reduce_min(const(np.ones((2, 3))), axes=[1, -1])


def test_bad_input_where():
    with pytest.raises(ValueError, match="cannot be broadcast"):
        autograd.where(const(np.ones(3)), const(np.ones(3)), [1, 0])
    with pytest.raises(TypeError, match="condition must be"):
        autograd.where(const(np.ones(2)), const(np.ones(2)), ["a", "b"])


def test_bad_input_slice():
    x = const(np.ones((3, 4)))
    with pytest.raises(ValueError, match="steps must be nonzero"):
        autograd.slice(x, [0], [2], steps=[0])
    with pytest.raises(ValueError, match="ends must have 2 entries"):
        autograd.slice(x, [0, 1], [2])
    with pytest.raises(ValueError, match="repeats axis"):
        autograd.slice(x, [0, 1], [2, 3], axes=[1, -1])
    with pytest.raises(ValueError, match="out of range"):
        autograd.slice(x, [0], [2], axes=[2])
    with pytest.raises(TypeError, match="list of ints"):
        autograd.slice(x, [0.5], [2])


def test_bad_input_gather():
    x = const(np.ones((3, 4)))
    with pytest.raises(ValueError, match="index 4 is out of range for axis 1 of size 4"):
        autograd.gather(x, 1, [0, 4])
    with pytest.raises(ValueError, match="index -4 is out of range"):
        autograd.gather(x, 0, [[-4]])
    with pytest.raises(TypeError, match="must hold integers"):
        autograd.gather(x, 0, [0.5])
    with pytest.raises(ValueError, match="out of range"):
        autograd.gather(x, 2, [0])


def test_bad_input_tile_expand_upsample():
    x = const(np.ones((2, 3)))
    with pytest.raises(ValueError, match="repeats must be >= 0"):
        autograd.tile(x, [-1, 2])
    with pytest.raises(TypeError, match="list of ints"):
        autograd.tile(x, [1.5])
    with pytest.raises(ValueError, match="cannot be broadcast"):
        autograd.expand(x, [4, 2])
    with pytest.raises(ValueError, match="only mode 'nearest'"):
        autograd.upsample(x, "linear", [2, 2])
    with pytest.raises(ValueError, match="whole numbers >= 1"):
        autograd.upsample(x, "nearest", [1.5, 2])
    with pytest.raises(ValueError, match="one entry per axis"):
        autograd.upsample(x, "nearest", [2])


def test_bad_input_pad():
    x = const(np.ones((2, 3)))
    with pytest.raises(ValueError, match="mode must be one of"):
        autograd.pad(x, "wrap", [1, 1, 1, 1])
    with pytest.raises(ValueError, match="4 entries"):
        autograd.pad(x, "constant", [1, 1])
    with pytest.raises(ValueError, match="pads must be >= 0"):
        autograd.pad(x, "edge", [-1, 0, 0, 0])
    with pytest.raises(ValueError, match="size 0"):
        autograd.pad(const(np.ones((0, 2))), "reflect", [1, 0, 0, 0])
    with pytest.raises(TypeError, match="constant must be a number"):
        autograd.pad(x, "constant", [1, 1, 1, 1], constant="0")


def test_bad_input_depth_to_space_and_space_to_depth():
    with pytest.raises(ValueError, match="divisible by blocksize"):
        autograd.depth_to_space(const(np.ones((1, 6, 2, 2))), 2)
    with pytest.raises(ValueError, match="4-D"):
        autograd.depth_to_space(const(np.ones((4, 2, 2))), 2)
    with pytest.raises(ValueError, match="mode must be"):
        autograd.space_to_depth(const(np.ones((1, 1, 2, 2))), 2, "RDC")
    with pytest.raises(ValueError, match="blocksize must be an int >= 1"):
        autograd.space_to_depth(const(np.ones((1, 1, 2, 2))), 0)
    with pytest.raises(ValueError, match="divisible by blocksize 2"):
        autograd.space_to_depth(const(np.ones((1, 1, 3, 2))), 2)


def test_bad_input_scatter_elements():
    x = const(np.zeros((3, 3)))
    u = const(np.ones((1, 2)))
    with pytest.raises(ValueError, match="same element"):
        autograd.scatter_elements(x, [[1, 1]], u, axis=1)
    with pytest.raises(ValueError, match="out of range for axis 0 of size 3"):
        autograd.scatter_elements(x, [[3, 0]], u)
    with pytest.raises(ValueError, match="x's rank"):
        autograd.scatter_elements(x, [1, 0], const(np.ones(2)))
    with pytest.raises(ValueError, match="updates has shape"):
        autograd.scatter_elements(x, [[1, 0]], const(np.ones((2, 1))))
    with pytest.raises(ValueError, match="x's rank"):
        autograd.scatter_elements(x, np.zeros((1, 4), dtype=int), const(np.ones((1, 4))))


def test_bad_input_embedding():
    w = param(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"index 4 in x is outside \[0, 4\)"):
        autograd.embedding(ints([[0, 4]]), w)
    with pytest.raises(ValueError, match=r"index -1 in x is outside"):
        autograd.embedding(ints([-1]), w)
    with pytest.raises(TypeError, match="int32 indices"):
        autograd.embedding(const([[0.0, 1.0]]), w)
    with pytest.raises(ValueError, match="2-D"):
        autograd.embedding(ints([0]), param(np.ones(4)))
    with pytest.raises(TypeError, match="float32 or float64"):
        autograd.embedding(ints([0]), ints([[1, 2]]))


def test_bad_input_onehot():
    with pytest.raises(ValueError, match=r"index 3 is outside \[-3, 3\)"):
        autograd.onehot(-1, ints([0, 3]), 3, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"\[off, on\]"):
        autograd.onehot(-1, ints([0]), 3, [1.0])
    with pytest.raises(ValueError, match="depth must be"):
        autograd.onehot(-1, ints([0]), 0, [0.0, 1.0])
    with pytest.raises(TypeError, match="must hold integers"):
        autograd.onehot(-1, const([0.5]), 3, [0.0, 1.0])
    with pytest.raises(ValueError, match="out of range"):
        autograd.onehot(2, ints([0]), 3, [0.0, 1.0])


def test_bad_input_cast_shape_constant_of_shape_nonzero():
    with pytest.raises(ValueError, match="NaN, an infinity or a value outside"):
        autograd.cast(const([np.nan]), tensor.int32)
    with pytest.raises(ValueError, match="outside the int32 range"):
        autograd.cast(const([3e9]), tensor.int32)
    with pytest.raises(TypeError, match="to: expected float32"):
        autograd.cast(const([1.0]), "complex64")
    with pytest.raises(ValueError, match="1-D tensor holding a shape"):
        autograd.constant_of_shape(ints([[2, 3]]))
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        autograd.constant_of_shape(ints([2, -1]))
    with pytest.raises(TypeError, match="value must be a number"):
        autograd.constant_of_shape(ints([2]), value="1")
    with pytest.raises(ValueError, match="at least one dimension"):
        autograd.nonzero(const(1.0))


# ============================================================ the docstring contract
def _catalogue_operations():
    from minisinga.ops import indexing, logic, mathfn, reduce, trig
    for module in (mathfn, trig, logic, indexing, reduce):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, autograd.Operation):
                yield obj


@pytest.mark.parametrize("op", list(_catalogue_operations()), ids=lambda op: op.__name__)
def test_operation_docstring_follows_the_contract(op):
    lines = [line.strip() for line in (op.__doc__ or "").splitlines()]
    assert sum(line.startswith("Forward: ") for line in lines) == 1
    grads = [line for line in lines if line.startswith("Grad ")]
    no_grad = [line for line in lines if line.startswith("No gradient: ")]
    assert bool(grads) != bool(no_grad), "either Grad <input>: lines or one No gradient: line"
    derivation = [line for line in lines if line.startswith("Derivation: ")]
    assert len(derivation) == 1
    page, _, anchor = derivation[0].split()[1].partition("#")
    assert page in {"ops/elementwise.md", "ops/trigonometric.md", "ops/logic.md",
                    "ops/indexing.md", "ops/shapes.md", "ops/losses.md", "ops/matmul.md"}
    assert anchor, "the anchor is the op's name"


def test_indices_given_as_tensors_stay_on_their_device_and_are_checked_there():
    """gather, onehot and scatter_elements take index Tensors, int32 or float
    holding whole numbers (SINGA's), checked by a counting kernel: a fraction is
    a TypeError, a value out of range names itself."""
    x = const(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(npy(autograd.gather(x, 1, ints([3, -4]))), [[3, 0], [7, 4],
                                                                            [11, 8]])
    np.testing.assert_array_equal(npy(autograd.gather(x, 0, const([2.0, 0.0]))),
                                  [[8, 9, 10, 11], [0, 1, 2, 3]])
    with pytest.raises(TypeError, match="gather: indices must hold integers"):
        autograd.gather(x, 0, const([1.5]))
    with pytest.raises(ValueError, match="gather: index 3 is out of range for axis 0 of size 3"):
        autograd.gather(x, 0, ints([0, 3, 9]))      # the first bad one is named
    with pytest.raises(ValueError, match=r"gather: index 4294967296 in indices is out of range"):
        autograd.gather(x, 0, [2**32])              # beyond int32: refused before the copy
    y = autograd.scatter_elements(x, ints([[2, 0]]), const([[-1.0, -2.0]]), axis=1)
    np.testing.assert_array_equal(npy(y)[0], [-2, 1, -1, 3])
    with pytest.raises(ValueError, match="same element"):
        autograd.scatter_elements(x, ints([[2, -2]]), const([[-1.0, -2.0]]), axis=1)


def test_shape_of_a_scalar_and_cast_counts_what_does_not_fit():
    s = autograd.shape(const(np.float64(3.0)))
    assert s.shape == (0,) and s.dtype == tensor.int32
    with pytest.raises(ValueError, match=r"outside the int32 range \(2 of its 4 values\)"):
        autograd.cast(const([1.0, np.inf, -3e9, 2.0]), tensor.int32)
