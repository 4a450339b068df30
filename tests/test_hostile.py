"""Hostile values: NaN and +-inf flow through every kernel as IEEE 754 says.

* Every operation in the registry runs forward and backward, in float32 and
  float64, on its own samples with NaN, +inf and -inf planted in every float
  input: it must return (no crash, no exception), with outputs and gradients
  of the right shapes.  Where the operation is elementwise-defined and has a
  NumPy reference, the NaN pattern of the output must equal NumPy's.
* softmax and the cross-entropy losses stay finite for logits of +-1e4.
* log(0) = -inf, log(x < 0) = nan, sqrt(x < 0) = nan, 1/0 = inf: values, not errors.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np
import pytest

from minisinga import autograd, tensor
from minisinga.tensor import Tensor
from minisinga.testing import REGISTRY

HOSTILE = (np.nan, np.inf, -np.inf)
DTYPES = [tensor.float32, tensor.float64]
CASES = [(name, i) for name, info in sorted(REGISTRY.items())
         for i in range(len(info.samples(np.random.default_rng(0))))]

# Operations whose NaN pattern is checked against NumPy: every output element
# depends on a known set of inputs, and IEEE fixes the result.  (Matrix products
# are left out: a BLAS may skip a multiply by zero, so NumPy's own NaN pattern
# there depends on the library; reductions and losses: one NaN makes the total NaN,
# which the "returns" check plus the finite-logit tests below cover.)
NAN_PATTERN_OPS = {
    "add", "sub", "mul", "div", "pow", "negative", "reciprocal", "abs", "exp", "log", "sqrt",
    "clip", "identity", "sum", "mean", "relu", "leakyrelu", "elu", "selu", "sigmoid",
    "hardsigmoid", "tanh", "softplus", "softsign", "softmax", "reduce_sum", "reduce_mean",
    "reshape", "flatten", "transpose", "squeeze", "unsqueeze", "cat", "split", "add_bias",
}


@contextlib.contextmanager
def training():
    old = autograd.training
    autograd.training = True
    try:
        yield
    finally:
        autograd.training = old


def _plant(arr: np.ndarray) -> np.ndarray:
    """A copy of arr with nan, inf, -inf written at spread-out positions."""
    out = np.array(arr, dtype=np.float64, copy=True)
    flat = out.reshape(-1)
    for j, v in enumerate(HOSTILE):
        if flat.size > j:
            flat[(j * 7) % flat.size] = v
    return out


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name, i", CASES)
def test_registry_op_survives_nan_and_inf(name, i, dtype):
    info = REGISTRY[name]
    sample = info.samples(np.random.default_rng(0))[i]
    fn = functools.partial(info.fn, **sample.kwargs)
    arrays = [_plant(a) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in sample.args]
    with training(), np.errstate(all="ignore"):
        ts = []
        for k, a in enumerate(arrays):
            diff = a.dtype.kind == "f" and (info.grad_inputs is None or k in info.grad_inputs)
            ts.append(Tensor(data=a, dtype=dtype if a.dtype.kind == "f" else None,
                             requires_grad=diff, stores_grad=diff))
        outs = _as_tuple(fn(*ts))
        if info.no_grad is None:
            dys = [Tensor(data=np.ones(o.shape), dtype=o.dtype, requires_grad=False) for o in outs]
            roots = [(o, d) for o, d in zip(outs, dys) if o.creator is not None]
            grads = dict(autograd._backward_many([o for o, _ in roots], [d for _, d in roots]))
            for t in ts:
                if t in grads:
                    assert grads[t].shape == t.shape
    if info.ref is None or name not in NAN_PATTERN_OPS:
        return
    with np.errstate(all="ignore"):
        refs = _as_tuple(info.ref(*[a.astype(tensor.dtypes.to_numpy(dtype)).astype(np.float64)
                                    if a.dtype.kind == "f" else a for a in arrays],
                                  **sample.kwargs))
    for o, r in zip(outs, refs):
        got = o.to_numpy()
        assert got.shape == np.shape(r)
        assert np.array_equal(np.isnan(got), np.isnan(r)), \
            f"{name}: NaN pattern differs from NumPy\ninput {arrays}\ngot {got}\nwant {r}"
        inf = np.isinf(r)
        assert np.array_equal(got[inf], np.asarray(r)[inf]), f"{name}: infinities differ"


# ------------------------------------------------------------- finite for big logits
BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, 0.0, 1e4]])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_softmax_finite_for_huge_logits(dtype):
    with training():
        x = Tensor(data=BIG, dtype=dtype, stores_grad=True)
        y = autograd.softmax(x, 1)
        g = autograd.gradients(y, Tensor(data=np.linspace(-1, 1, 12).reshape(4, 3),
                                         dtype=dtype))[x]
    p = y.to_numpy()
    assert np.isfinite(p).all() and np.isfinite(g.to_numpy()).all()
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0], [0, 0, 1]], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("target", ["index", "onehot", "soft"])
def test_softmax_cross_entropy_finite_for_huge_logits(dtype, target):
    labels = np.array([1, 2, 2, 0], dtype=np.int32)  # mostly the *small* logits
    if target == "index":
        t = Tensor(data=labels)
    elif target == "onehot":
        t = Tensor(data=np.eye(3, dtype=np.int32)[labels])
    else:
        t = Tensor(data=np.full((4, 3), 1 / 3), dtype=dtype)
    with training():
        x = Tensor(data=BIG, dtype=dtype, stores_grad=True)
        loss = autograd.softmax_cross_entropy(x, t)
        g = autograd.gradients(loss)[x].to_numpy()
    value = loss.to_numpy()[0]
    assert np.isfinite(value) and np.isfinite(g).all()
    # the reference in float64 with log-sum-exp
    logp = BIG - BIG.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    q = np.eye(3)[labels] if target != "soft" else np.full((4, 3), 1 / 3)
    np.testing.assert_allclose(value, -(q * logp).sum() / 4, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_binary_cross_entropy_finite_at_saturated_sigmoid(dtype):
    with training():
        x = Tensor(data=BIG, dtype=dtype, stores_grad=True)
        p = autograd.sigmoid(x)  # exactly 0 and 1 in both precisions
        loss = autograd.binary_cross_entropy(p, Tensor(data=(BIG < 0) * 1.0, dtype=dtype))
        g = autograd.gradients(loss)[x].to_numpy()
    assert np.isfinite(loss.to_numpy()).all() and np.isfinite(g).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_cross_entropy_of_softmax_finite_when_target_is_likely(dtype):
    """cross_entropy takes probabilities: it is finite for +-1e4 logits when each
    target class has a non-underflowed probability (else log 0 = inf, as IEEE says;
    use softmax_cross_entropy on logits for that)."""
    labels = BIG.argmax(1)
    with training():
        x = Tensor(data=BIG, dtype=dtype, stores_grad=True)
        loss = autograd.cross_entropy(autograd.softmax(x, 1),
                                      Tensor(data=np.eye(3)[labels], dtype=dtype))
        g = autograd.gradients(loss)[x].to_numpy()
    assert np.isfinite(loss.to_numpy()).all() and np.isfinite(g).all()


# ------------------------------------------------------------------- IEEE corner values
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_log_sqrt_reciprocal_at_their_poles(dtype):
    x = Tensor(data=np.array([0.0, -1.0, np.inf, -0.0]), dtype=dtype)
    np.testing.assert_array_equal(autograd.log(x).to_numpy(), [-np.inf, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(autograd.sqrt(x).to_numpy(), [0.0, np.nan, np.inf, -0.0])
    np.testing.assert_array_equal(autograd.reciprocal(x).to_numpy(), [np.inf, -1.0, 0.0, -np.inf])
    z = Tensor(data=np.array([0.0]), dtype=dtype)
    np.testing.assert_array_equal(autograd.div(Tensor(data=np.array([1.0, 0.0]), dtype=dtype),
                                               z).to_numpy(), [np.inf, np.nan])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_nan_propagates_through_relu(dtype):
    """Found by test_registry_op_survives_nan_and_inf: relu(nan) was 0, which hides a
    diverged training step; it is nan now (as NumPy, PyTorch), and relu'(0) = 0 still."""
    x = Tensor(data=np.array([np.nan, -np.inf, np.inf, -1.0, 0.0, 2.0]), dtype=dtype)
    np.testing.assert_array_equal(autograd.relu(x).to_numpy(), [np.nan, 0, np.inf, 0, 0, 2])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_cross_entropy_gradient_is_zero_where_target_is_zero(dtype):
    """Found by test_cross_entropy_of_softmax_finite_when_target_is_likely: where
    t = 0 and x = 0 the backward computed 0/0 = NaN although the forward leaves
    that term out; the gradient there is 0 now."""
    with training():
        x = Tensor(data=np.array([[1.0, 0.0], [0.5, 0.5]]), dtype=dtype, stores_grad=True)
        t = Tensor(data=np.array([[1.0, 0.0], [0.0, 1.0]]), dtype=dtype)
        loss = autograd.cross_entropy(x, t)
        g = autograd.gradients(loss)[x].to_numpy()
    np.testing.assert_array_equal(g, [[-0.5, 0.0], [0.0, -1.0]])
    assert loss.to_numpy()[0] == pytest.approx(np.log(2) / 2)


# ------------------------------------------------- a graph back-propagated twice
# Computing the gradients of one graph twice used to pass a NULL pointer to the
# conv2d kernel (its backward frees the input it saved) and kill the process.  The
# sweep runs every registry operation's backward twice in a child process, so a
# crash fails these tests instead of the test run: the second backward must give
# the same gradients or raise a RuntimeError that says how to keep what was saved.
_TWICE = r"""
import functools, json, sys
import numpy as np
from minisinga import autograd, tensor
from minisinga.tensor import Tensor
from minisinga.testing import REGISTRY

def grads(outs, ts, retain):
    roots = [o for o in outs if o.creator is not None and o.requires_grad]
    dys = [Tensor(data=np.full(o.shape, 0.5), dtype=o.dtype, requires_grad=False) for o in roots]
    got = dict(autograd._backward_many(roots, dys, retain))
    return [got[t].to_numpy() if t in got else None for t in ts]

autograd.training = True
for name, info in sorted(REGISTRY.items()):
    if info.no_grad is not None or info.random:
        continue
    for i, sample in enumerate(info.samples(np.random.default_rng(0))):
        for retain in (False, True):
            ts = []
            for k, a in enumerate(sample.args):
                a = np.asarray(a)
                diff = a.dtype.kind == "f" and (info.grad_inputs is None or k in info.grad_inputs)
                ts.append(Tensor(data=a, dtype=tensor.float64 if a.dtype.kind == "f" else None,
                                 requires_grad=diff, stores_grad=diff))
            out = info.fn(*ts, **sample.kwargs)
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            first = grads(outs, ts, retain)
            try:
                second = grads(outs, ts, False)
            except RuntimeError as exc:
                result = "refused: " + str(exc)
            else:
                same = all((a is None and b is None) or np.array_equal(a, b)
                           for a, b in zip(first, second))
                result = "same" if same else "differs"
            print(json.dumps([name, i, retain, result]), flush=True)
"""


@functools.cache
def _twice_results():
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", _TWICE], capture_output=True, text=True,
                          timeout=600)
    results = {}
    for line in proc.stdout.splitlines():
        name, i, retain, result = json.loads(line)
        results[(name, i, retain)] = result
    return proc, results


TWICE_CASES = [(name, i) for name, i in CASES
               if REGISTRY[name].no_grad is None and not REGISTRY[name].random]


def test_backward_twice_sweep_does_not_crash():
    proc, _ = _twice_results()
    assert proc.returncode == 0, (f"the child died (code {proc.returncode}) after:\n"
                                  f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


@pytest.mark.parametrize("name, i", TWICE_CASES)
def test_backward_twice_same_gradients_or_clear_refusal(name, i):
    _, results = _twice_results()
    assert (name, i, False) in results, f"{name} sample {i}: the child crashed before it"
    result = results[(name, i, False)]
    assert result == "same" or (result.startswith("refused: ") and "retain_graph=True" in result
                                and "forward pass again" in result), result
    # With retain_graph=True on the first backward, the second always works.
    assert results[(name, i, True)] == "same", results[(name, i, True)]


def test_conv2d_backward_twice_refused_in_process():
    """The case the first campaign found, in process, now that it cannot crash."""
    x = Tensor(data=np.ones((1, 1, 3, 3)), requires_grad=True, stores_grad=True)
    w = Tensor(data=np.ones((1, 1, 2, 2)), requires_grad=True, stores_grad=True)
    with training():
        loss = autograd.sum(autograd.conv2d(x, w))
    first = autograd.gradients(loss)
    assert np.array_equal(first[w].to_numpy(), np.full((1, 1, 2, 2), 4.0))
    with pytest.raises(RuntimeError, match=r"conv2d .*backward already ran.*retain_graph=True"):
        autograd.gradients(loss)
    with training():
        loss = autograd.sum(autograd.conv2d(x, w))
    autograd.gradients(loss, retain_graph=True)
    again = autograd.gradients(loss)
    assert np.array_equal(again[w].to_numpy(), first[w].to_numpy())
    with pytest.raises(TypeError, match="retain_graph must be a bool"):
        autograd.gradients(loss, retain_graph="yes")


# ------------------------------------------------- wrong arguments: one vocabulary
# Every wrong argument gets a TypeError/ValueError naming the function, the
# argument, what was expected and what came (minisinga/checks.py), before C runs.
def _x():
    return Tensor(data=np.arange(6, dtype=np.float32).reshape(2, 3))


def _copy_into(arr, dtype=tensor.float32):
    return Tensor((arr.size,), dtype=dtype).copy_from_numpy(arr)


def _set_step(value):
    from minisinga import opt
    sgd = opt.SGD(lr=0.1)
    sgd.set_states({"step_counter": np.array([value])})


def _user_op_backward(make_grad):
    class UserOp(autograd.Operation):
        def forward(self, x):
            return x.clone()

        def backward(self, dy):
            return make_grad(dy)

    a = Tensor(data=np.ones((2, 3), np.float32), stores_grad=True)
    with training():
        y = autograd.relu(UserOp()(a)[0])
    return autograd.gradients(y)


def _f64_dy():
    a = Tensor(data=np.ones((2, 3), np.float32), stores_grad=True)
    with training():
        y = autograd.relu(a)
    return autograd.gradients(y, Tensor(data=np.ones((2, 3)), dtype=tensor.float64))


def _relu_graph():
    a = Tensor(data=np.ones(3, np.float32), stores_grad=True)
    with training():
        return autograd.relu(a)


def _two_cpus():
    from minisinga import device
    other = Tensor(data=np.ones((2, 3), np.float32), device=device.CppCPU())
    return autograd.add(_x(), other)


BAD_CALLS = {
    "complex Tensor": (lambda: Tensor(data=np.ones(3) + 1j), TypeError,
                       r"Tensor: data must hold floats.*complex128.*imaginary"),
    "complex Tensor, dtype given": (lambda: Tensor(data=np.ones(3) + 1j, dtype=tensor.float32),
                                    TypeError, r"complex128"),
    "complex copy_from_numpy": (lambda: _copy_into(np.ones(3) + 1j), TypeError,
                                r"copy_from_numpy: the array must hold.*complex128"),
    "object Tensor": (lambda: Tensor(data=np.array([1.0, None])), TypeError,
                      r"Tensor: data must hold.*dtype object"),
    "object copy_from_numpy": (lambda: _copy_into(np.array([1.0, None])), TypeError,
                               r"copy_from_numpy: .*dtype object"),
    "string copy_from_numpy": (lambda: _copy_into(np.array(["1", "2"])), TypeError,
                               r"copy_from_numpy: .*strings"),
    "leakyrelu a='0.1'": (lambda: autograd.leakyrelu(_x(), "0.1"), TypeError,
                          r"leakyrelu: a must be a number \(an int or a float\), got '0.1' "
                          r"\(a str\)"),
    "leakyrelu a=None": (lambda: autograd.leakyrelu(_x(), None), TypeError,
                         r"leakyrelu: a must be a number.*None"),
    "clip('0', '1')": (lambda: autograd.clip(_x(), "0", "1"), TypeError,
                       r"clip: min must be a number.*'0' \(a str\)"),
    "clip(0, [1])": (lambda: autograd.clip(_x(), 0, [1]), TypeError, r"clip: max must be"),
    "elu alpha='1'": (lambda: autograd.elu(_x(), "1"), TypeError, r"elu: alpha must be"),
    "selu gamma=None": (lambda: autograd.selu(_x(), 1.0, None), TypeError,
                        r"selu: gamma must be"),
    "hardsigmoid alpha=b''": (lambda: autograd.hardsigmoid(_x(), b"1"), TypeError,
                              r"hardsigmoid: alpha must be"),
    "dropout ratio='0.5'": (lambda: autograd.dropout(_x(), "0.5"), TypeError,
                            r"dropout: ratio must be a number"),
    "gemm alpha='2'": (lambda: autograd.gemm(_x(), autograd.transpose(_x(), (1, 0)), None, "2"),
                       TypeError, r"gemm: alpha must be a number"),
    "onehot values strings": (lambda: autograd.onehot(
        -1, Tensor(data=np.array([0, 1], np.int32)), 2, ["0", "1"]), TypeError,
        r"onehot: values \(off\) must be a number"),
    "pad constant='0'": (lambda: autograd.pad(_x(), "constant", [0, 0, 1, 1], "0"), TypeError,
                         r"pad: constant must be a number"),
    "pad by 2**40": (lambda: autograd.pad(_x(), "constant", [0, 0, 0, 2**40]), ValueError,
                     r"pad: tensors of more than 2\*\*31 - 1 elements"),
    "set_value('1')": (lambda: _x().set_value("1"), TypeError,
                       r"Tensor.set_value: x must be a number"),
    "SGD momentum=None": (lambda: __import__("minisinga.opt").opt.SGD(lr=0.1, momentum=None),
                          TypeError, r"SGD: momentum must be a number.*None \(a NoneType\)"),
    "SGD lr='0.1'": (lambda: __import__("minisinga.opt").opt.SGD(lr="0.1"), TypeError,
                     r"lr must be a number.*'0.1' \(a str\)"),
    "stores_grad on int32 data": (lambda: Tensor(data=np.ones(3, np.int32), stores_grad=True),
                                  ValueError, r"stores_grad=True needs a float tensor"),
    "stores_grad on int32 shape": (lambda: Tensor((3,), dtype=tensor.int32, stores_grad=True),
                                   ValueError, r"stores_grad=True needs a float tensor"),
    "NaN step counter": (lambda: _set_step(np.nan), ValueError,
                         r"set_states: step_counter must be a whole number >= 0.*nan"),
    "inf step counter": (lambda: _set_step(np.inf), ValueError, r"step_counter"),
    "negative step counter": (lambda: _set_step(-1.0), ValueError, r"step_counter"),
    "fractional step counter": (lambda: _set_step(2.5), ValueError, r"step_counter"),
    "float64 dy for float32 y": (_f64_dy, TypeError,
                                 r"backward: dy is float64 but y is float32"),
    "user backward returns ndarray": (lambda: _user_op_backward(lambda dy: dy.numpy()),
                                      TypeError, r"UserOp#\d+: backward returned a "
                                      r"numpy.ndarray as the gradient of input 0"),
    "user backward returns a list": (lambda: _user_op_backward(lambda dy: [1.0]), TypeError,
                                     r"backward returned a list"),
    "user backward returns float64": (lambda: _user_op_backward(
        lambda dy: tensor.CTensor(dy.shape, tensor.float64)), TypeError,
        r"backward returned a float64 gradient for input 0, which is float32"),
    "user backward wrong shape": (lambda: _user_op_backward(
        lambda dy: tensor.CTensor((3, 2), dy.dtype)), RuntimeError,
        r"backward returned a gradient of shape \(3, 2\) for input 0 of shape \(2, 3\)"),
    "user backward other device": (lambda: _user_op_backward(
        lambda dy: tensor.CTensor(dy.shape, dy.dtype, __import__("minisinga.device").device
                                  .CppCPU())), ValueError,
        r"UserOp#\d+ backward: the gradient of input 0 and input 0 must be on the same device, "
        r"but they are on two different device objects"),
    # found by a second round of junk values through 45 public arguments (see the note)
    "reduce_sum axes=1.5": (lambda: autograd.reduce_sum(_x(), 1.5), TypeError,
                            r"reduce_sum: axes must be an int or a list of ints, got 1.5 "
                            r"\(a float\)"),
    "reduce_sum axes=True": (lambda: autograd.reduce_sum(_x(), True), TypeError,
                             r"reduce_sum: axes must be an int or a list of ints, got True"),
    "squeeze axis=1+2j": (lambda: autograd.squeeze(_x(), 1 + 2j), TypeError,
                          r"squeeze: axis must be an int or a list of ints"),
    "unsqueeze axis=None": (lambda: autograd.unsqueeze(_x(), None), TypeError,
                            r"unsqueeze: axis must be an int or a list of ints, got None"),
    "reduce_mean keepdims='1'": (lambda: autograd.reduce_mean(_x(), [0], "1"), TypeError,
                                 r"reduce_mean: keepdims must be a bool \(or the int 0 or 1\)"),
    "reduce_max keepdims=2": (lambda: autograd.reduce_max(_x(), [0], 2), TypeError,
                              r"reduce_max: keepdims must be a bool"),
    "gemm transA=None": (lambda: autograd.gemm(_x(), _x(), None, 1.0, 1.0, None), TypeError,
                         r"gemm: transA must be a bool"),
    "tile repeats=b'1'": (lambda: autograd.tile(_x(), b"1"), TypeError,
                          r"tile: repeats must be a list or tuple of ints, got b'1'"),
    "Tensor shape=b'1'": (lambda: Tensor(b"1"), TypeError, r"shape: expected a tuple of ints"),
    "backward dy=True": (lambda: autograd.gradients(_relu_graph(), True), TypeError,
                         r"backward: dy must be None, a number or a Tensor, got bool"),
    "as_type(None)": (lambda: _x().as_type(None), TypeError,
                      r"expected float32, float64 or int32, got None"),
    "gaussian std=nan": (lambda: _x().gaussian(0.0, float("nan")), ValueError,
                         r"Tensor.gaussian: std must be a finite number, got nan"),
    "initializer fan_in=nan": (lambda: __import__("minisinga.initializer").initializer.uniform(
        _x(), float("nan"), 3), ValueError, r"initializer.uniform: fan_in must be a number >= 0"),
    "two CppCPU devices": (_two_cpus, ValueError,
                           r"add: a and b must be on the same device, but they are on two "
                           r"different device objects that both print as CppCPU\(id=-1\)"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_argument_is_named(case):
    call, exc, match = BAD_CALLS[case]
    with pytest.raises(exc, match=match):
        call()


def test_device_mismatch_names_both_devices():
    from minisinga import checks, device
    err = checks.device_mismatch("f", "a", device.get_default_device(), "b", "EmulatedGPU")
    assert str(err) == ("f: a and b must be on the same device, but they are on device "
                        "CppCPU(id=-1) and device 'EmulatedGPU'; move one with to_device")


def test_numbers_that_are_right_still_work():
    x = _x()
    # NumPy scalars and ints are numbers; the result is the same as with floats
    np.testing.assert_array_equal(autograd.leakyrelu(x - 3, np.float32(0.5)).to_numpy(),
                                  autograd.leakyrelu(x - 3, 0.5).to_numpy())
    np.testing.assert_array_equal(autograd.clip(x, 1, np.int64(4)).to_numpy(),
                                  np.clip(x.to_numpy(), 1, 4))
    assert Tensor(data=np.array([True, False])).dtype == tensor.int32


# ------------------------------------------------- a pooling window of padding only
@pytest.mark.parametrize("fn", [autograd.max_pool2d, autograd.avg_pool2d], ids=["max", "avg"])
@pytest.mark.parametrize("hw", [(0, 0), (0, 3), (3, 0)])
def test_pooling_refuses_windows_made_only_of_padding(fn, hw):
    """The long fuzz profile found max pooling of a 0x0 image (kernel 2, padding 1)
    returning uninitialised memory (and an uninitialised argmax for backward)."""
    x = Tensor(data=np.zeros((2, 1) + hw, np.float32), stores_grad=True)
    with training(), pytest.raises(ValueError, match=r"empty \(H, W\) plane.*no cell of x"):
        fn(x, 2, padding=1)
