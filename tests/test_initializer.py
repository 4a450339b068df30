"""minisinga.initializer: exact properties (eye, orthogonal) and, for the random
ones, the statistics of large samples against the formulas."""
import math

import numpy as np
import pytest

from minisinga import device, initializer, tensor
from minisinga.tensor import Tensor


def empty(shape, dtype=tensor.float32):
    return Tensor(shape, dtype=dtype)


def values(t):
    return tensor.to_numpy(t).astype(np.float64)


# ------------------------------------------------------------------------ exact ones
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2)])
def test_eye(shape):
    t = empty(shape).set_value(7.0)
    assert initializer.eye(t) is t  # in place, returned
    np.testing.assert_array_equal(tensor.to_numpy(t), np.eye(*shape))
    i = initializer.eye(empty(shape, tensor.int32))
    np.testing.assert_array_equal(tensor.to_numpy(i), np.eye(*shape, dtype=np.int32))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (8, 2, 3, 3), (20, 3, 2)])
def test_orthogonal_is_orthogonal(shape):
    t = empty(shape, tensor.float64)
    assert initializer.orthogonal(t, gain=2.0) is t
    q = values(t).reshape(shape[0], -1) / 2.0
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_float32_and_reproducible_from_the_device_seed():
    device.set_rand_seed(3)
    a = values(initializer.orthogonal(empty((30, 20))))
    device.set_rand_seed(3)
    b = values(initializer.orthogonal(empty((30, 20))))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.T @ a, np.eye(20), atol=1e-5)
    c = values(initializer.orthogonal(empty((30, 20))))
    assert np.abs(a - c).max() > 0.1  # the stream moved on


def test_orthogonal_is_not_biased_in_sign():
    """Folding sign(diag(R)) into Q: without it the diagonal of Q from NumPy's
    QR is biased negative.  Over many draws, the mean diagonal is near 0."""
    diag = [np.diag(values(initializer.orthogonal(empty((4, 4), tensor.float64))))
            for _ in range(400)]
    assert abs(np.mean(diag)) < 0.05


# ----------------------------------------------------------- variance scaling
FAN_CASES = [
    # shape, fan_in, fan_out (SINGA's rules)
    ((400, 300), 400, 300),
    ((64, 32, 3, 3), 32 * 9, 64 * 9),   # conv weight (out, in, kh, kw)
    ((40, 20, 5), 20 * 5, 40 * 5),      # 1-D conv
    ((90000,), 300, 300),               # no structure: sqrt(size) for both
]

VARIANCE_SCALING = [
    # name, uniform?, std as a function of (fan_in, fan_out)
    ("lecun_uniform", True, lambda fi, fo: math.sqrt(1 / fi)),
    ("lecun_normal", False, lambda fi, fo: math.sqrt(1 / fi)),
    ("glorot_uniform", True, lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("glorot_normal", False, lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("he_uniform", True, lambda fi, fo: math.sqrt(2 / fi)),
    ("he_normal", False, lambda fi, fo: math.sqrt(2 / fi)),
]


def check_stats(t, std, uniform):
    """Mean 0 and the given std within sampling error; a uniform fill stays inside
    +-sqrt(3) std and reaches near it; a Gaussian has its kurtosis of 3."""
    v = values(t).ravel()
    n = v.size
    assert abs(v.mean()) < 5 * std / math.sqrt(n), (v.mean(), std)
    assert abs(v.std() / std - 1) < 0.02, (v.std(), std)
    if uniform:
        limit = math.sqrt(3) * std
        assert np.abs(v).max() <= limit * (1 + 1e-6)
        assert np.abs(v).max() > 0.99 * limit
    else:
        kurtosis = np.mean((v - v.mean()) ** 4) / v.var() ** 2
        assert abs(kurtosis - 3) < 0.2, kurtosis


@pytest.mark.parametrize("name,uniform,std", VARIANCE_SCALING)
@pytest.mark.parametrize("shape,fan_in,fan_out", FAN_CASES)
def test_variance_scaling_statistics(name, uniform, std, shape, fan_in, fan_out):
    t = empty(shape)
    assert getattr(initializer, name)(t) is t
    check_stats(t, std(fan_in, fan_out), uniform)


def test_deprecated_singa_names():
    check_stats(initializer.xavier(empty((300, 500))), math.sqrt(6 / 800) / math.sqrt(3), True)
    check_stats(initializer.glorot(empty((300, 500))), math.sqrt(2 / 800), False)
    check_stats(initializer.msra(empty((300, 500))), math.sqrt(2 / 300), False)


def test_explicit_fans():
    check_stats(initializer.gaussian(empty((300, 400)), 30, 50), math.sqrt(4 / 80), False)
    check_stats(initializer.gaussian(empty((300, 400)), 30), math.sqrt(2 / 30), False)
    check_stats(initializer.gaussian(empty((300, 400)), 0, 50), math.sqrt(2 / 50), False)
    check_stats(initializer.uniform(empty((300, 400)), 30, 50), math.sqrt(1 / 40), True)
    check_stats(initializer.uniform(empty((300, 400)), 30), math.sqrt(1 / 30), True)


def test_random_fills_come_from_the_device_generator():
    for name in ("he_normal", "glorot_uniform", "orthogonal"):
        device.set_rand_seed(11)
        a = values(getattr(initializer, name)(empty((50, 40), tensor.float64)))
        device.set_rand_seed(11)
        b = values(getattr(initializer, name)(empty((50, 40), tensor.float64)))
        np.testing.assert_array_equal(a, b)


def test_empty_tensors_are_fine():
    assert initializer.he_normal(empty((0, 5))).shape == (0, 5)
    assert initializer.orthogonal(empty((0, 5))).shape == (0, 5)


# ------------------------------------------------------------------------ bad input
def test_errors_name_the_function():
    with pytest.raises(TypeError, match="initializer.he_normal: t must be a Tensor"):
        initializer.he_normal(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="initializer.glorot_uniform: t must be float32 or "
                                        "float64, got int32"):
        initializer.glorot_uniform(empty((3, 3), tensor.int32))
    with pytest.raises(ValueError, match=r"initializer.eye: t must be 2-D, got shape \(2, 2, 2\)"):
        initializer.eye(empty((2, 2, 2)))
    with pytest.raises(ValueError, match="initializer.orthogonal: t must have at least 2 "
                                         "dimensions"):
        initializer.orthogonal(empty((5,)))
    with pytest.raises(TypeError, match="initializer.orthogonal: gain must be a number"):
        initializer.orthogonal(empty((3, 3)), gain="2")
    with pytest.raises(ValueError, match="initializer.gaussian: fan_in and fan_out cannot both "
                                         "be 0"):
        initializer.gaussian(empty((3, 3)))
    with pytest.raises(ValueError, match="initializer.uniform: fan_out must be a number >= 0"):
        initializer.uniform(empty((3, 3)), 3, -1)
    with pytest.raises(ValueError, match="initializer.msra: t must have at least 2 dimensions"):
        initializer.msra(empty((3,)))
