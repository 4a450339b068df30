"""Sequence and attention layers: Gemm, RNN, LSTM, LayerNorm, MultiHeadAttention.

Each layer is checked three ways: its forward against a float64 NumPy
reference written straight from the formulas, its gradients (input AND
parameters) by minisinga.gradcheck in float64, and, for the recurrent layers,
by training on a small generated task.  (Embedding: tests/test_embedding_layer.py.)
"""
import numpy as np
import pytest

import minisinga
from minisinga import autograd, device, layer, opt, tensor
from minisinga.tensor import Tensor


@pytest.fixture(autouse=True)
def _restore_training():
    old = autograd.training
    yield
    autograd.training = old


def rand(shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def t64(a):
    return Tensor(data=np.asarray(a, dtype=np.float64), dtype=tensor.float64, requires_grad=False)


def t32(a):
    return tensor.from_numpy(np.asarray(a, dtype=np.float32))


def params_np(lay):
    return {k: tensor.to_numpy(v) for k, v in lay.get_params().items()}


def with_params(lay, fn):
    """g(x, *params) for gradcheck: run fn(lay, x) with the layer's parameters
    replaced by the given tensors (so gradcheck perturbs and differentiates them).
    Returns (g, names, arrays)."""
    names = sorted(lay.get_params())
    arrays = [tensor.to_numpy(lay.get_params()[n]) for n in names]

    def g(x, *ps):
        for name, p in zip(names, ps):
            owner, parts = lay, name.split(".")
            for part in parts[:-1]:
                owner = owner._layers[part]
            setattr(owner, parts[-1], p)
        return fn(lay, x)
    return g, names, arrays


# ------------------------------------------------------------------ NumPy references
def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def np_recurrent(kind, p, x, h0, c0, num_layers, num_dirs, hidden, nonlinearity="tanh"):
    """(y, h_n, c_n) for x (seq, batch, in), straight from the formulas."""
    H, seq = hidden, x.shape[0]
    inp, hn, cn = x, [], []
    for l in range(num_layers):
        outs = []
        for d in range(num_dirs):
            s = f"_l{l}" + ("_reverse" if d else "")
            Wx, Wh, b = p["Wx" + s], p["Wh" + s], p.get("b" + s, 0.0)
            h, c = h0[l * num_dirs + d].copy(), c0[l * num_dirs + d].copy()
            ys = [None] * seq
            for t in (range(seq - 1, -1, -1) if d else range(seq)):
                a = inp[t] @ Wx + h @ Wh + b
                if kind == "rnn":
                    h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
                else:
                    i, f, o = sig(a[:, :H]), sig(a[:, H:2 * H]), sig(a[:, 2 * H:3 * H])
                    c = f * c + i * np.tanh(a[:, 3 * H:])
                    h = o * np.tanh(c)
                ys[t] = h
            outs.append(np.stack(ys))
            hn.append(h)
            cn.append(c)
        inp = np.concatenate(outs, axis=2)
    return inp, np.stack(hn), np.stack(cn)


# ------------------------------------------------------------------------------ Gemm
@pytest.mark.parametrize("transA,transB", [(False, True), (False, False), (True, True),
                                           (True, False)])
def test_gemm_forward_matches_numpy_and_shapes_follow_singa(transA, transB):
    x = rand((4, 3) if transA else (3, 4), 1)
    g = layer.Gemm(5, alpha=0.5, beta=2.0, transA=transA, transB=transB)
    y = g(t64(x))
    assert g.W.shape == ((5, 4) if transB else (4, 5)) and g.b.shape == (1, 5)
    np.testing.assert_array_equal(tensor.to_numpy(g.b), np.zeros((1, 5)))
    b = rand((1, 5), 2)
    g.set_params({"b": b})
    y = g(t64(x))
    W = tensor.to_numpy(g.W)
    ref = 0.5 * ((x.T if transA else x) @ (W.T if transB else W)) + 2.0 * b
    np.testing.assert_allclose(tensor.to_numpy(y), ref, rtol=1e-12, atol=1e-12)


def test_gemm_bias_shape_and_no_bias():
    g = layer.Gemm(3, bias_shape=(3,))
    g(t32(rand((2, 4))))
    assert g.b.shape == (3,)
    g = layer.Gemm(3, bias=False)
    y = g(t32(rand((2, 4))))
    assert set(g.get_params()) == {"W"}
    np.testing.assert_allclose(tensor.to_numpy(y), rand((2, 4)) @ tensor.to_numpy(g.W).T,
                               rtol=1e-5, atol=1e-6)


def test_gemm_gradients():
    g = layer.Gemm(3, alpha=0.7, beta=1.5)
    g(t64(rand((2, 4))))
    g.set_params({"b": rand((1, 3), 3)})
    fn, names, arrays = with_params(g, lambda lay, x: lay(x))
    minisinga.gradcheck(fn, [rand((2, 4), 4)] + arrays, name="Gemm")


def test_gemm_errors():
    with pytest.raises(ValueError, match="Gemm: nb_kernels"):
        layer.Gemm(0)
    with pytest.raises(ValueError, match="Gemm: bias_shape"):
        layer.Gemm(3, bias_shape=(2, 4))
    g = layer.Gemm(3)
    g(t32(rand((2, 4))))
    with pytest.raises(ValueError, match="Gemm: expected 4 input features"):
        g(t32(rand((2, 5))))
    with pytest.raises(ValueError, match="Gemm: expected a 2-D input"):
        g(t32(rand((2, 2, 4))))


# ------------------------------------------------------------------- RNN and LSTM
RECURRENT_CASES = [
    # kind, num_layers, bidirectional, batch_first, nonlinearity, bias
    ("rnn", 1, False, False, "tanh", True),
    ("rnn", 2, True, False, "relu", True),
    ("rnn", 3, False, True, "tanh", False),
    ("lstm", 1, False, False, "tanh", True),
    ("lstm", 2, True, True, "tanh", True),
    ("lstm", 2, False, False, "tanh", False),
]


def make(kind, in_size, hidden, num_layers=1, bidirectional=False, batch_first=False,
         nonlinearity="tanh", bias=True, dropout=0.0):
    if kind == "rnn":
        return layer.RNN(in_size, hidden, num_layers, nonlinearity, bias, batch_first, dropout,
                         bidirectional)
    return layer.LSTM(in_size, hidden, nonlinearity, num_layers, bias, batch_first, dropout,
                      bidirectional)


def run(lay, x, h0=None, c0=None):
    """(y, h_n, c_n or None) from the tensor form of either layer."""
    if isinstance(lay, layer.LSTM):
        y, (h, c) = lay(x, None if h0 is None else (h0, c0))
        return y, h, c
    y, h = lay(x, h0)
    return y, h, None


@pytest.mark.parametrize("kind,L,bi,bf,nl,bias", RECURRENT_CASES)
def test_recurrent_forward_matches_numpy(kind, L, bi, bf, nl, bias):
    seq, batch, in_size, H, D = 4, 3, 5, 6, 2 if bi else 1
    lay = make(kind, in_size, H, L, bi, bf, nl, bias)
    x = rand((seq, batch, in_size), 1)
    h0, c0 = rand((L * D, batch, H), 2), rand((L * D, batch, H), 3)
    xin = x.transpose(1, 0, 2) if bf else x
    y, h, c = run(lay, t64(xin), t64(h0), t64(c0) if kind == "lstm" else None)
    ry, rh, rc = np_recurrent(kind, params_np(lay), x, h0, c0, L, D, H, nl)
    if bf:
        ry = ry.transpose(1, 0, 2)
    assert y.shape == ry.shape == ((batch, seq, D * H) if bf else (seq, batch, D * H))
    np.testing.assert_allclose(tensor.to_numpy(y), ry, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tensor.to_numpy(h), rh, rtol=1e-10, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(tensor.to_numpy(c), rc, rtol=1e-10, atol=1e-12)
    # No initial state means zeros.
    y0, h0_out, _ = run(lay, t64(xin))
    zeros = np.zeros((L * D, batch, H))
    ry0, rh0, _ = np_recurrent(kind, params_np(lay), x, zeros, zeros, L, D, H, nl)
    np.testing.assert_allclose(tensor.to_numpy(y0), ry0.transpose(1, 0, 2) if bf else ry0,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tensor.to_numpy(h0_out), rh0, rtol=1e-10, atol=1e-12)


def test_parameter_names_and_shapes():
    lstm = layer.LSTM(3, 4, num_layers=2, bidirectional=True)
    lstm(t32(rand((2, 1, 3))))
    shapes = {k: v.shape for k, v in lstm.get_params().items()}
    assert shapes == {
        "Wx_l0": (3, 16), "Wh_l0": (4, 16), "b_l0": (16,),
        "Wx_l0_reverse": (3, 16), "Wh_l0_reverse": (4, 16), "b_l0_reverse": (16,),
        "Wx_l1": (8, 16), "Wh_l1": (4, 16), "b_l1": (16,),
        "Wx_l1_reverse": (8, 16), "Wh_l1_reverse": (4, 16), "b_l1_reverse": (16,)}

    class Model(layer.Layer):
        def __init__(self):
            super().__init__()
            self.rnn = layer.RNN(3, 2, bias=False)

        def forward(self, x):
            return self.rnn(x)[0]
    m = Model()
    m(t32(rand((2, 1, 3))))
    assert sorted(m.get_params()) == ["rnn.Wh_l0", "rnn.Wx_l0"]


def test_list_form_is_singas_call_convention():
    """forward(xs_list, h0) -> (list_of_h, h_last); LSTM forward(xs, (h0, c0)) -> (outs, h, c)."""
    seq, batch, in_size, H = 5, 2, 3, 4
    x = rand((seq, batch, in_size), 1)
    h0, c0 = rand((batch, H), 2), rand((batch, H), 3)
    xs = [t64(x[t]) for t in range(seq)]

    rnn = layer.RNN(in_size, H)
    outs, h = rnn(xs, t64(h0))
    assert isinstance(outs, list) and len(outs) == seq and h.shape == (batch, H)
    ry, rh, _ = np_recurrent("rnn", params_np(rnn), x, h0[None], h0[None], 1, 1, H)
    np.testing.assert_allclose(np.stack([tensor.to_numpy(o) for o in outs]), ry, rtol=1e-10)
    np.testing.assert_allclose(tensor.to_numpy(h), rh[0], rtol=1e-10)
    np.testing.assert_array_equal(tensor.to_numpy(h), tensor.to_numpy(outs[-1]))

    lstm = layer.LSTM(in_size, H)
    outs, h, c = lstm(xs, (t64(h0), t64(c0)))
    assert len(outs) == seq and h.shape == c.shape == (batch, H)
    ry, rh, rc = np_recurrent("lstm", params_np(lstm), x, h0[None], c0[None], 1, 1, H)
    np.testing.assert_allclose(np.stack([tensor.to_numpy(o) for o in outs]), ry, rtol=1e-10)
    np.testing.assert_allclose(tensor.to_numpy(c), rc[0], rtol=1e-10)

    # Several layers / both directions in the list form: per-step outputs of width
    # 2 * hidden and 3-D states, the same numbers as the tensor form.
    bi = layer.LSTM(in_size, H, num_layers=2, bidirectional=True)
    outs, h, c = bi(xs)
    y, (h2, c2) = bi(t64(x))
    assert outs[0].shape == (batch, 2 * H) and h.shape == (4, batch, H)
    np.testing.assert_array_equal(np.stack([tensor.to_numpy(o) for o in outs]),
                                  tensor.to_numpy(y))
    np.testing.assert_array_equal(tensor.to_numpy(h), tensor.to_numpy(h2))
    np.testing.assert_array_equal(tensor.to_numpy(c), tensor.to_numpy(c2))


def test_autograd_old_style_aliases():
    assert autograd.RNN is layer.RNN and autograd.LSTM is layer.LSTM
    assert autograd.RNN_Base is layer.RNN_Base


def test_initialisation_is_uniform_and_reproducible_from_the_seed():
    device.set_rand_seed(7)
    a = layer.LSTM(50, 100)
    a(t32(rand((1, 1, 50))))
    device.set_rand_seed(7)
    b = layer.LSTM(50, 100)
    b(t32(rand((1, 1, 50))))
    k = 1 / np.sqrt(100)
    for name, w in params_np(a).items():
        np.testing.assert_array_equal(w, params_np(b)[name])
        assert np.abs(w).max() <= k
        if w.size > 10000:  # U(-k, k) has std k / sqrt(3)
            assert abs(w.std() - k / np.sqrt(3)) < 0.02 * k and abs(w.mean()) < 0.02 * k


@pytest.mark.parametrize("kind,L,bi,bf,nl,bias", RECURRENT_CASES)
def test_recurrent_gradients_input_state_and_parameters(kind, L, bi, bf, nl, bias):
    D = 2 if bi else 1
    seq, batch, in_size, H = (3 if L * D == 1 else 2), 2, 2, 2
    lay = make(kind, in_size, H, L, bi, bf, nl, bias)
    x = rand((batch, seq, in_size) if bf else (seq, batch, in_size), 1)
    lay(t64(x))  # float64 parameters
    if nl == "relu":  # keep pre-activations away from relu's kink
        lay.set_params({k: v + 0.5 * np.sign(v) for k, v in params_np(lay).items()})

    def fn(lay, x):
        y, h, c = run(lay, x)
        return (y, h) if c is None else (y, h, c)
    g, names, arrays = with_params(lay, fn)
    # The full Jacobian costs one backward per output element per parameter
    # tensor; the stacked cases check the random projection of every element
    # (against the full numerical Jacobian) and leave the full analytical one to
    # the single-layer cases, which run the same cell code.
    limit = 4096 if L * D == 1 else 0
    minisinga.gradcheck(g, [x] + arrays, name=f"{kind} params", full_jacobian_limit=limit)

    # The initial state is differentiable too.
    h0, c0 = rand((L * D, batch, H), 2), rand((L * D, batch, H), 3)

    def fn_state(x, h0, c0=None):
        y, h, c = run(lay, x, h0, c0)
        return (y, h) if c is None else (y, h, c)
    minisinga.gradcheck(fn_state, [x, h0] + ([c0] if kind == "lstm" else []),
                        name=f"{kind} state")


def test_list_form_gradients():
    lstm = layer.LSTM(2, 3)
    x = rand((3, 2, 2), 1)
    lstm([t64(x[0])])

    def fn(x0, x1, x2, h0, c0):
        outs, h, c = lstm([x0, x1, x2], (h0, c0))
        return tuple(outs) + (c,)
    minisinga.gradcheck(fn, [x[0], x[1], x[2], rand((2, 3), 2), rand((2, 3), 3)])


def test_dropout_between_layers_only_in_training():
    x = t64(rand((4, 3, 2), 1))
    lay = layer.LSTM(2, 5, num_layers=2, dropout=0.5)
    autograd.training = False
    y_eval = tensor.to_numpy(lay(x)[0])
    ref, _, _ = np_recurrent("lstm", params_np(lay), tensor.to_numpy(x), np.zeros((2, 3, 5)),
                             np.zeros((2, 3, 5)), 2, 1, 5)
    np.testing.assert_allclose(y_eval, ref, rtol=1e-10)  # dropout off outside training
    autograd.training = True
    device.set_rand_seed(3)
    y1 = tensor.to_numpy(lay(x)[0])
    device.set_rand_seed(3)
    y2 = tensor.to_numpy(lay(x)[0])
    assert np.abs(y1 - y_eval).max() > 1e-3  # active in training
    np.testing.assert_array_equal(y1, y2)    # from the device generator
    # With one layer there is no "between": dropout changes nothing, as in PyTorch.
    one = layer.RNN(2, 5, dropout=0.5)
    autograd.training = False
    a = tensor.to_numpy(one(x)[0])
    autograd.training = True
    np.testing.assert_array_equal(tensor.to_numpy(one(x)[0]), a)


def test_dropout_gradients_with_a_fixed_mask():
    lay = layer.RNN(2, 3, num_layers=2, dropout=0.4)
    x = rand((3, 2, 2), 1)
    lay(t64(x))

    def fn(x):
        device.set_rand_seed(11)  # the same mask at every evaluation
        return lay(x)[0]
    minisinga.gradcheck(fn, [x], name="RNN with dropout")


# ---------------------------------------------------------------- training
def running_sign_batch(rng, seq, n):
    """x_t ~ N(0, 1); the label at step t is 1 when x_1 + ... + x_t > 0."""
    x = rng.standard_normal((seq, n, 1)).astype(np.float32)
    labels = (np.cumsum(x[:, :, 0], axis=0) > 0).astype(np.int32).reshape(-1)
    return t32(x), tensor.from_numpy(labels), labels


class Tagger(layer.Layer):
    """A recurrent layer, then a per-step Linear to 2 classes."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.head = layer.Linear(2)

    def forward(self, x):
        y = self.rnn(x)[0]
        seq, batch, width = y.shape
        return self.head(autograd.reshape(y, (seq * batch, width)))


@pytest.mark.parametrize("kind,lr,steps", [("lstm", 1.0, 200), ("rnn", 0.3, 150)])
def test_recurrent_layer_learns_running_sum_sign(kind, lr, steps):
    device.set_rand_seed(0)
    rng = np.random.default_rng(0)
    model = Tagger(layer.LSTM(1, 8) if kind == "lstm" else layer.RNN(1, 8))
    sgd = opt.SGD(lr)
    autograd.training = True
    losses = []
    for _ in range(steps):
        x, t, _ = running_sign_batch(rng, 8, 32)
        loss = autograd.softmax_cross_entropy(model(x), t)
        for p, g in autograd.backward(loss):
            sgd.update(p, g)
        losses.append(tensor.to_numpy(loss).item())
    assert np.all(np.isfinite(losses))
    first, last = np.mean(losses[:5]), np.mean(losses[-20:])
    assert last < 0.5 * first, (first, last)
    autograd.training = False
    x, _, labels = running_sign_batch(rng, 8, 256)
    accuracy = (tensor.to_numpy(model(x)).argmax(1) == labels).mean()
    assert accuracy > 0.9, accuracy  # chance is about 0.5


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [layer.RNN, layer.LSTM])
def test_recurrent_constructor_errors(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=f"{name}: hidden_size must be a positive int"):
        cls(3, 0)
    with pytest.raises(ValueError, match=f"{name}: input_size must be a positive int"):
        cls(-1, 3)
    with pytest.raises(ValueError, match=f"{name}: num_layers must be a positive int"):
        cls(3, 3, num_layers=0)
    with pytest.raises(ValueError, match=f"{name}: unsupported nonlinearity 'sigmoid'"):
        cls(3, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=f"{name}: dropout must be in"):
        cls(3, 3, dropout=1.0)
    with pytest.raises(TypeError, match=f"{name}: bidirectional must be True or False"):
        cls(3, 3, bidirectional="yes")
    if cls is layer.LSTM:
        with pytest.raises(ValueError, match="LSTM: unsupported nonlinearity 'relu'"):
            cls(3, 3, nonlinearity="relu")


@pytest.mark.parametrize("cls", [layer.RNN, layer.LSTM])
def test_recurrent_input_errors(cls):
    name = cls.__name__
    lay = cls(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=f"{name}: expected an input of shape "
                                         r"\(seq, batch, input_size\) with input_size=3"):
        lay(t32(rand((5, 2, 4))))
    assert not lay._initialized  # a refused first call leaves it uninitialised
    with pytest.raises(ValueError, match=f"{name}: expected an input of shape"):
        lay(t32(rand((5, 3))))
    with pytest.raises(TypeError, match=f"{name}: input must be float32 or float64"):
        lay(tensor.from_numpy(np.zeros((5, 2, 3), np.int32)))
    with pytest.raises(ValueError, match=f"{name}: time step 1 has shape"):
        lay([t32(rand((2, 3))), t32(rand((2, 4)))])
    with pytest.raises(ValueError, match=f"{name}: the list of time steps is empty"):
        lay([])
    x = t32(rand((5, 2, 3)))
    good = t32(np.zeros((2, 2, 4)))
    bad = t32(np.zeros((1, 2, 4)))
    hx_bad = bad if cls is layer.RNN else (bad, good)
    with pytest.raises(ValueError, match=rf"{name}: h0 has shape \(1, 2, 4\); expected "
                                         r"\(num_layers \* num_directions, batch, hidden_size\)"
                                         r" = \(2, 2, 4\)"):
        lay(x, hx_bad)
    if cls is layer.LSTM:
        with pytest.raises(ValueError, match=r"LSTM: c0 has shape \(1, 2, 4\)"):
            lay(x, (good, bad))
        with pytest.raises(TypeError, match=r"LSTM: the initial state must be a tuple \(h0, c0\)"):
            lay(x, good)
    with pytest.raises(TypeError, match=f"{name}: dtype mismatch: the input is float64, the "
                                        "parameters are float32"):
        lay(t64(rand((5, 2, 3))))


# -------------------------------------------------------------------- LayerNorm
def np_layernorm(x, k, scale, bias, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * scale + bias


@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 4, 5), (4, 5)),
                                              ((3, 5), (5,))])
def test_layernorm_forward_matches_numpy(shape, normalized):
    ln = layer.LayerNorm(normalized, eps=1e-3)
    x = rand(shape, 1, -3, 3)
    ln(t64(x))
    ns = ln.normalized_shape
    np.testing.assert_array_equal(tensor.to_numpy(ln.scale), np.ones(ns))
    scale, bias = rand(ns, 2), rand(ns, 3)
    ln.set_params({"scale": scale, "bias": bias})
    np.testing.assert_allclose(tensor.to_numpy(ln(t64(x))),
                               np_layernorm(x, len(ns), scale, bias, 1e-3), rtol=1e-10,
                               atol=1e-12)
    plain = layer.LayerNorm(normalized, elementwise_affine=False)
    y = tensor.to_numpy(plain(t64(x)))
    assert plain.get_params() == {}
    np.testing.assert_allclose(y, np_layernorm(x, len(ns), 1.0, 0.0, 1e-5), rtol=1e-10,
                               atol=1e-12)


def test_layernorm_gradients():
    ln = layer.LayerNorm((3, 4))
    x = rand((2, 3, 4), 1, -2, 2)
    ln(t64(x))
    ln.set_params({"scale": rand((3, 4), 2), "bias": rand((3, 4), 3)})
    g, names, arrays = with_params(ln, lambda lay, x: lay(x))
    minisinga.gradcheck(g, [x] + arrays, name="LayerNorm")


def test_layernorm_errors():
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be a positive int"):
        layer.LayerNorm(0)
    with pytest.raises(ValueError, match="LayerNorm: eps must be > 0"):
        layer.LayerNorm(4, eps=0)
    with pytest.raises(ValueError, match=r"LayerNorm: the input's trailing dimensions must be "
                                         r"\(4,\), got shape \(2, 5\)"):
        layer.LayerNorm(4)(t32(rand((2, 5))))


# ------------------------------------------------------------ MultiHeadAttention
def np_attention(q, k, v, p, H, mask=None):
    N, L, d = q.shape
    dk = d // H

    def heads(x, n):
        y = x @ p["W" + n] + p["b" + n]
        return y.reshape(N, -1, H, dk).transpose(0, 2, 1, 3)
    Q, K, V = heads(q, "q"), heads(k, "k"), heads(v, "v")
    s = Q @ K.transpose(0, 1, 3, 2) / np.sqrt(dk)
    if mask is not None:
        s = np.where(mask, -np.inf, s)
    a = np.exp(s - s.max(-1, keepdims=True))
    a = a / a.sum(-1, keepdims=True)
    ctx = (a @ V).transpose(0, 2, 1, 3).reshape(N, L, d)
    return ctx @ p["Wo"] + p["bo"], a


def test_attention_forward_matches_numpy():
    N, L, S, d, H = 2, 3, 4, 6, 3
    mha = layer.MultiHeadAttention(d, H)
    q, k, v = rand((N, L, d), 1), rand((N, S, d), 2), rand((N, S, d), 3)
    mha(t64(q), t64(k), t64(v))
    mha.set_params({f"b{n}": rand(d, 4 + i) for i, n in enumerate("qkvo")})
    out, A = mha(t64(q), t64(k), t64(v), need_weights=True)
    ref, ref_a = np_attention(q, k, v, params_np(mha), H)
    assert out.shape == (N, L, d) and A.shape == (N, H, L, S)
    np.testing.assert_allclose(tensor.to_numpy(out), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tensor.to_numpy(A), ref_a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mask_shape", [(3, 3), (2, 3, 3), (2, 1, 3, 3), (1, 2, 3, 3)])
def test_attention_mask_blocks_positions(mask_shape):
    N, L, d, H = 2, 3, 4, 2
    rng = np.random.default_rng(5)
    mask = rng.random(mask_shape) < 0.4
    mask[..., 0] = False  # every query may attend to key 0: no fully masked row
    full = np.broadcast_to(mask if len(mask_shape) != 3 else mask[:, None], (N, H, L, L))
    mha = layer.MultiHeadAttention(d, H)
    x = rand((N, L, d), 1)
    out, A = mha(t64(x), t64(x), t64(x), mask=mask, need_weights=True)
    A = tensor.to_numpy(A)
    assert np.all(A[full] == 0.0)  # masked keys get exactly zero weight
    np.testing.assert_allclose(A.sum(-1), 1.0, rtol=1e-12)
    ref, ref_a = np_attention(x, x, x, params_np(mha), H, full)
    np.testing.assert_allclose(tensor.to_numpy(out), ref, rtol=1e-10, atol=1e-12)
    # A Tensor mask (0/1 floats) means the same.
    out2 = mha(t64(x), t64(x), t64(x), mask=t64(mask.astype(float)))
    np.testing.assert_allclose(tensor.to_numpy(out2), ref, rtol=1e-10, atol=1e-12)


def test_attention_gradients_with_a_causal_mask():
    N, L, S, d, H = 2, 3, 3, 4, 2
    mha = layer.MultiHeadAttention(d, H)
    q, k, v = rand((N, L, d), 1), rand((N, S, d), 2), rand((N, S, d), 3)
    mha(t64(q), t64(k), t64(v))
    mha.set_params({f"b{n}": rand(d, 4 + i) for i, n in enumerate("qkvo")})
    causal = np.triu(np.ones((L, S), bool), 1)

    def fn(q, k, v):
        return mha(q, k, v, mask=causal)
    minisinga.gradcheck(fn, [q, k, v], name="MultiHeadAttention inputs")
    g, names, arrays = with_params(mha, lambda lay, x: lay(x, x, x, mask=causal))
    minisinga.gradcheck(g, [q] + arrays, name="MultiHeadAttention params")


def test_attention_dropout_only_in_training():
    mha = layer.MultiHeadAttention(4, 2, dropout=0.5)
    x = t64(rand((2, 3, 4), 1))
    autograd.training = False
    a = tensor.to_numpy(mha(x, x, x))
    np.testing.assert_allclose(a, np_attention(tensor.to_numpy(x), tensor.to_numpy(x),
                                               tensor.to_numpy(x), params_np(mha), 2)[0],
                               rtol=1e-10, atol=1e-12)
    autograd.training = True
    assert np.abs(tensor.to_numpy(mha(x, x, x)) - a).max() > 1e-3


def test_attention_errors():
    with pytest.raises(ValueError, match="MultiHeadAttention: d_model=6 is not divisible by "
                                         "num_heads=4"):
        layer.MultiHeadAttention(6, 4)
    mha = layer.MultiHeadAttention(4, 2)
    x = t32(rand((2, 3, 4)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention: key must be \(batch, length, "
                                         r"d_model=4\), got shape \(2, 3, 5\)"):
        mha(x, t32(rand((2, 3, 5))), x)
    with pytest.raises(ValueError, match="MultiHeadAttention: key and value must have the same "
                                         "length"):
        mha(x, t32(rand((2, 5, 4))), x)
    with pytest.raises(ValueError, match=r"MultiHeadAttention: mask has shape \(3, 4\)"):
        mha(x, x, x, mask=np.zeros((3, 4), bool))


def test_parameter_gradcheck_harness_catches_a_wrong_parameter_gradient():
    """with_params really checks parameter gradients: an RNN whose Wh gets no
    gradient (it is read through a constant copy) must fail."""
    class DetachedRNN(layer.RNN):
        def step_forward(self, xw, state, Wh):
            return super().step_forward(xw, state, Tensor(data=Wh.data, requires_grad=False))

    lay = DetachedRNN(2, 2)
    x = rand((3, 2, 2), 1)
    lay(t64(x))
    g, names, arrays = with_params(lay, lambda lay, x: lay(x)[0])
    with pytest.raises(minisinga.GradcheckError, match=f"input {1 + names.index('Wh_l0')} "):
        minisinga.gradcheck(g, [x] + arrays)
