"""Optimizers and schedules: each update rule against its closed form in NumPy."""
import math
import warnings

import numpy as np
import pytest

from minisinga import autograd, device, layer, opt, tensor
from minisinga.tensor import Tensor

RNG = np.random.default_rng(7)


def param(arr, dtype=tensor.float64, name="w"):
    return Tensor(data=arr, dtype=dtype, requires_grad=True, stores_grad=True, name=name)


def grad(arr, dtype=tensor.float64):
    return Tensor(data=arr, dtype=dtype, requires_grad=False)


def run_steps(optimizer, p0, grads, dtype=tensor.float64):
    """Apply one gradient per step to a parameter starting at p0; returns p after each step."""
    p = param(p0, dtype)
    out = []
    for g in grads:
        optimizer.apply("w", p, grad(g, dtype))
        optimizer.step()
        out.append(p.to_numpy())
    return out


# ---------------------------------------------------------------------- references
def sgd_ref(p, grads, lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False):
    p, buf, out = p.copy(), np.zeros_like(p), []
    for g in grads:
        d = g + wd * p
        if momentum != 0:
            buf = momentum * buf + (1 - dampening) * d   # SINGA: buf starts at zeros
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


def adam_ref(p, grads, lr, b1, b2, eps, wd=0.0):
    p, m, v, out = p.copy(), np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        d = g + wd * p
        m = b1 * m + (1 - b1) * d
        v = b2 * v + (1 - b2) * d * d
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        out.append(p)
    return out


def rmsprop_ref(p, grads, lr, rho, eps, wd=0.0):
    p, r, out = p.copy(), np.zeros_like(p), []
    for g in grads:
        d = g + wd * p
        r = rho * r + (1 - rho) * d * d
        p = p - lr * d / np.sqrt(r + eps)
        out.append(p)
    return out


def adagrad_ref(p, grads, lr, eps, wd=0.0):
    p, h, out = p.copy(), np.zeros_like(p), []
    for g in grads:
        d = g + wd * p
        h = h + d * d
        p = p - lr * d / np.sqrt(h + eps)
        out.append(p)
    return out


P0 = RNG.standard_normal((3, 4))
GRADS = [RNG.standard_normal((3, 4)) for _ in range(3)]

CASES = [
    ("sgd plain", lambda: opt.SGD(lr=0.1), lambda: sgd_ref(P0, GRADS, 0.1)),
    ("sgd weight decay", lambda: opt.SGD(lr=0.1, weight_decay=0.05),
     lambda: sgd_ref(P0, GRADS, 0.1, wd=0.05)),
    ("sgd momentum", lambda: opt.SGD(lr=0.1, momentum=0.9),
     lambda: sgd_ref(P0, GRADS, 0.1, momentum=0.9)),
    ("sgd momentum dampening wd", lambda: opt.SGD(lr=0.1, momentum=0.8, dampening=0.3,
                                                  weight_decay=0.01),
     lambda: sgd_ref(P0, GRADS, 0.1, momentum=0.8, dampening=0.3, wd=0.01)),
    ("sgd nesterov", lambda: opt.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda: sgd_ref(P0, GRADS, 0.05, momentum=0.9, wd=0.01, nesterov=True)),
    ("adam", lambda: opt.Adam(lr=0.01), lambda: adam_ref(P0, GRADS, 0.01, 0.9, 0.999, 1e-8)),
    ("adam wd", lambda: opt.Adam(lr=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                                 weight_decay=0.1),
     lambda: adam_ref(P0, GRADS, 0.02, 0.8, 0.99, 1e-6, wd=0.1)),
    ("rmsprop", lambda: opt.RMSProp(lr=0.01), lambda: rmsprop_ref(P0, GRADS, 0.01, 0.9, 1e-8)),
    ("rmsprop wd", lambda: opt.RMSProp(lr=0.01, rho=0.5, epsilon=1e-4, weight_decay=0.2),
     lambda: rmsprop_ref(P0, GRADS, 0.01, 0.5, 1e-4, wd=0.2)),
    ("adagrad", lambda: opt.AdaGrad(lr=0.1), lambda: adagrad_ref(P0, GRADS, 0.1, 1e-8)),
    ("adagrad wd", lambda: opt.AdaGrad(lr=0.1, epsilon=1e-3, weight_decay=0.3),
     lambda: adagrad_ref(P0, GRADS, 0.1, 1e-3, wd=0.3)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_update_matches_closed_form_float64(case):
    _, make, ref = case
    got = run_steps(make(), P0, GRADS)
    for step, (g, r) in enumerate(zip(got, ref())):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_update_matches_closed_form_float32(case):
    _, make, ref = case
    got = run_steps(make(), P0.astype(np.float32), [g.astype(np.float32) for g in GRADS],
                    tensor.float32)
    for g, r in zip(got, ref()):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_sgd_momentum_first_step_follows_singa_not_pytorch():
    # buf starts at zeros: the first step moves by lr * (1 - dampening) * g.
    # (PyTorch starts buf at g and would move by lr * g.)
    p0, g = np.ones(4), np.full(4, 2.0)
    (p1,) = run_steps(opt.SGD(lr=0.1, momentum=0.9, dampening=0.5), p0, [g])
    np.testing.assert_allclose(p1, p0 - 0.1 * 0.5 * g, rtol=1e-15)


def test_step_counter_and_update_without_momentum_has_no_state():
    sgd = opt.SGD(lr=0.1)
    run_steps(sgd, P0, GRADS)
    states = sgd.get_states()
    assert set(states) == {"step_counter"}
    assert states["step_counter"].to_numpy()[0] == 3


# ---------------------------------------------------------------------- schedules
def test_constant_schedule():
    step = Tensor(data=np.array([5.0], np.float32))
    assert opt.Constant(0.3)(step).to_numpy()[0] == np.float32(0.3)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_formula(staircase):
    sched = opt.ExponentialDecay(0.5, decay_steps=3, decay_rate=0.7, staircase=staircase)
    for s in range(10):
        step = Tensor(data=np.array([s], np.float32))
        e = s // 3 if staircase else s / 3
        np.testing.assert_allclose(sched(step).to_numpy()[0], 0.5 * 0.7 ** e, rtol=1e-6)


def test_optimizer_follows_its_schedule():
    sched = opt.ExponentialDecay(0.2, decay_steps=2, decay_rate=0.5)
    sgd = opt.SGD(lr=sched)
    p0, g = np.zeros(3), np.ones(3)
    got = run_steps(sgd, p0, [g] * 4)
    expected, p = [], p0.copy()
    for k in range(4):
        p = p - 0.2 * 0.5 ** (k / 2) * g   # step k uses lr(k)
        expected.append(p)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(sgd.lr_value.to_numpy()[0], 0.2 * 0.5 ** 2, rtol=1e-6)


def test_adam_bias_correction_reads_the_step_counter():
    # t comes from step_counter, so restoring the counter restores the correction.
    a = opt.Adam(lr=0.01)
    run_steps(a, P0, GRADS[:2])
    b = opt.Adam(lr=0.01)
    b.set_states(a.get_states())
    pa, pb = param(P0), param(P0)
    a.apply("w", pa, grad(GRADS[2]))
    b.apply("w", pb, grad(GRADS[2]))
    np.testing.assert_array_equal(pa.to_numpy(), pb.to_numpy())


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize("make, argname", [
    (lambda: opt.SGD(lr=-0.1), "lr"),
    (lambda: opt.SGD(lr=float("nan")), "lr"),
    (lambda: opt.SGD(momentum=-0.5), "momentum"),
    (lambda: opt.SGD(weight_decay=-1e-4), "weight_decay"),
    (lambda: opt.SGD(dampening=1.5), "dampening"),
    (lambda: opt.SGD(nesterov=True), "nesterov"),
    (lambda: opt.SGD(momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda: opt.Adam(beta_1=1.0), "beta_1"),
    (lambda: opt.Adam(beta_1=-0.1), "beta_1"),
    (lambda: opt.Adam(beta_2=1.2), "beta_2"),
    (lambda: opt.Adam(epsilon=0), "epsilon"),
    (lambda: opt.Adam(weight_decay=-1), "weight_decay"),
    (lambda: opt.RMSProp(rho=1.0), "rho"),
    (lambda: opt.RMSProp(epsilon=-1e-8), "epsilon"),
    (lambda: opt.AdaGrad(lr=-1), "lr"),
    (lambda: opt.AdaGrad(epsilon=0.0), "epsilon"),
    (lambda: opt.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5), "decay_steps"),
    (lambda: opt.ExponentialDecay(0.1, decay_steps=10, decay_rate=-0.5), "decay_rate"),
    (lambda: opt.Constant(-0.1), "init_value"),
])
def test_invalid_hyperparameters_raise_value_error_naming_the_argument(make, argname):
    with pytest.raises(ValueError, match=argname):
        make()


@pytest.mark.parametrize("make, argname", [
    (lambda: opt.SGD(lr="0.1"), "lr"),
    (lambda: opt.SGD(momentum=True), "momentum"),
    (lambda: opt.SGD(momentum=0.9, nesterov=1), "nesterov"),
])
def test_non_numbers_raise_type_error_naming_the_argument(make, argname):
    with pytest.raises(TypeError, match=argname):
        make()


def test_apply_checks_its_arguments_before_any_kernel():
    sgd = opt.SGD(lr=0.1)
    p = param(np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        sgd.apply("w", p, grad(np.ones((3, 2))))
    with pytest.raises(TypeError, match="float32"):
        sgd.apply("w", p, grad(np.ones((2, 3)), tensor.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        sgd.apply("w", Tensor(data=np.ones(3, np.int32)), Tensor(data=np.ones(3, np.int32)))
    np.testing.assert_array_equal(p.to_numpy(), np.ones((2, 3)))


# ---------------------------------------------------------------------- with autograd
def test_call_backpropagates_updates_every_parameter_and_steps():
    device.set_rand_seed(3)
    lin = layer.Linear(2)
    x = Tensor(data=RNG.standard_normal((5, 4)).astype(np.float32))
    t = Tensor(data=np.array([0, 1, 1, 0, 1], np.int32))
    autograd.training = True
    try:
        loss = autograd.softmax_cross_entropy(lin(x), t)
        before = {k: v.to_numpy() for k, v in lin.get_params().items()}
        grads = {p.name: g.to_numpy() for p, g in autograd.backward(loss)}
        sgd = opt.SGD(lr=0.5)
        sgd(loss)
    finally:
        autograd.training = False
    assert set(grads) == {"W", "b"}
    for name, p in lin.get_params().items():
        np.testing.assert_allclose(p.to_numpy(), before[name] - 0.5 * grads[name], rtol=1e-6,
                                   atol=1e-7)
    assert sgd.step_counter.to_numpy()[0] == 1


def test_update_still_works_without_warning():
    sgd = opt.SGD(lr=0.5)
    p = param(np.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgd.update(p, grad(np.full(3, 2.0)))
    np.testing.assert_array_equal(p.to_numpy(), np.zeros(3))


# ---------------------------------------------------------------------- states
@pytest.mark.parametrize("make", [lambda: opt.SGD(0.1, momentum=0.9), lambda: opt.Adam(0.01),
                                  lambda: opt.RMSProp(0.01), lambda: opt.AdaGrad(0.1)],
                         ids=["sgd", "adam", "rmsprop", "adagrad"])
def test_states_round_trip_continues_identically(make):
    a = make()
    pa = param(P0)
    for g in GRADS[:2]:
        a.apply("w", pa, grad(g))
        a.step()
    states = a.get_states()
    assert "step_counter" in states
    assert {k.split(":")[0] for k in states if k != "step_counter"} == set(a.buffer_names)
    assert all(k.endswith(":w") for k in states if k != "step_counter")
    b = make()
    b.set_states({k: v.to_numpy() for k, v in states.items()})   # arrays work too
    pb = param(pa.to_numpy())
    for g in GRADS[2:] * 3:
        a.apply("w", pa, grad(g))
        a.step()
        b.apply("w", pb, grad(g))
        b.step()
    np.testing.assert_array_equal(pa.to_numpy(), pb.to_numpy())


def test_get_states_returns_copies():
    sgd = opt.SGD(0.1, momentum=0.9)
    run_steps(sgd, P0, GRADS[:1])
    states = sgd.get_states()
    run_steps(sgd, P0, GRADS[1:2])
    assert states["step_counter"].to_numpy()[0] == 1


def test_set_states_refuses_bad_input_and_changes_nothing():
    sgd = opt.SGD(0.1, momentum=0.9)
    run_steps(sgd, P0, GRADS[:1])
    before = {k: v.to_numpy() for k, v in sgd.get_states().items()}
    with pytest.raises(KeyError, match="velocity:w"):
        sgd.set_states({"step_counter": np.array([5.0], np.float32),
                        "velocity:w": np.zeros((3, 4))})
    with pytest.raises(ValueError, match="momentum:w"):
        sgd.set_states({"step_counter": np.array([5.0], np.float32),
                        "momentum:w": np.zeros((4, 3))})
    with pytest.raises(TypeError, match="dict"):
        sgd.set_states([1, 2])
    after = {k: v.to_numpy() for k, v in sgd.get_states().items()}
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_set_states_recomputes_the_learning_rate():
    sgd = opt.SGD(lr=opt.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    sgd.set_states({"step_counter": np.array([3.0], np.float32)})
    assert math.isclose(sgd.lr_value.to_numpy()[0], 0.125, rel_tol=1e-6)
