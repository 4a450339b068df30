"""Sequence, embedding and attention layers, built from autograd operations.

Re-exported by ``minisinga.layer``: ``layer.RNN``, ``layer.LSTM`` and so on.
None of these layers has a backward of its own: each forward is a chain of
operations (matmul, add, tanh, sigmoid, split, cat, softmax, ...), so autograd
differentiates it and the C kernels do the arithmetic.

* ``Gemm``: ``y = alpha * op(x) @ op(W) + beta * b``, SINGA's ONNX-style dense layer.
* ``Embedding``: a lookup table ``W[x]`` (uses ``autograd.embedding``).
* ``RNN``, ``LSTM``: multi-layer, optionally bidirectional recurrent layers.
  SINGA's Python RNN/LSTM store ``num_layers``, ``bidirectional``,
  ``batch_first`` and ``dropout`` but ignore them; here all four are honoured.
* ``LayerNorm`` and ``MultiHeadAttention``: SINGA has them only in its examples.
"""
from __future__ import annotations

import math

import numpy as np

from . import checks, dtypes, initializer
from . import operations as ops
from ._layer import Layer, _make_param, _positive_int
from .tensor import Tensor

__all__ = ["Gemm", "Embedding", "RNN_Base", "RNN", "LSTM", "LayerNorm", "MultiHeadAttention"]


# ------------------------------------------------------------------------- helpers
def _who(layer: Layer) -> str:
    """'RNN' or 'RNN encoder.rnn': how error messages name a layer."""
    return type(layer).__name__ + (f" {layer.name}" if layer.name else "")


def _float_tensor(layer: Layer, x, what: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{_who(layer)}: {what} must be a Tensor, got {type(x).__name__}")
    if x.dtype not in dtypes.FLOAT_TYPES:
        raise TypeError(f"{_who(layer)}: {what} must be float32 or float64, got "
                        f"{dtypes.name(x.dtype)}")
    return x


def _same_kind(layer: Layer, x: Tensor, ref: Tensor, what: str, ref_what: str) -> None:
    """x must have ref's dtype and live on ref's device (ref_what: 'W is', ...)."""
    if x.dtype != ref.dtype:
        raise TypeError(f"{_who(layer)}: dtype mismatch: {what} is {dtypes.name(x.dtype)}, "
                        f"{ref_what} {dtypes.name(ref.dtype)}")
    if x.device is not ref.device:
        raise checks.device_mismatch(_who(layer), what, x.device,
                                     ref_what.rsplit(" ", 1)[0], ref.device)   # (less " is")


def _number(layer: str, name: str, v) -> float:
    if not dtypes.is_number(v):
        raise TypeError(f"{layer}: {name} must be a number, got {v!r}")
    return float(v)


def _flag(layer: str, name: str, v) -> bool:
    if not isinstance(v, (bool, np.bool_, int)) or v not in (0, 1):
        raise TypeError(f"{layer}: {name} must be True or False, got {v!r}")
    return bool(v)


def _ratio(layer: str, name: str, v) -> float:
    v = _number(layer, name, v)
    if not 0.0 <= v < 1.0:
        raise ValueError(f"{layer}: {name} must be in [0, 1), got {v}")
    return v


# ---------------------------------------------------------------------------- Gemm
class Gemm(Layer):
    """ONNX-style dense layer: ``y = alpha * op(x) @ op(W) + beta * b``.

    ``Gemm(nb_kernels, alpha=1.0, beta=1.0, transA=False, transB=True, bias=True,
    bias_shape=None)``, as in SINGA.  op transposes when its flag is set.  x is
    (N, in) (or (in, N) with transA); W is (nb_kernels, in) when transB (the
    default, ONNX's layout) else (in, nb_kernels), W ~ N(0, sqrt(2 / (in +
    nb_kernels))) as Linear; b is (1, nb_kernels), or ``bias_shape`` (anything
    that broadcasts to (N, nb_kernels)), zeros.  Forward is one ``autograd.gemm``.
    """

    def __init__(self, nb_kernels: int, alpha: float = 1.0, beta: float = 1.0,
                 transA: bool = False, transB: bool = True, bias: bool = True,
                 bias_shape=None):
        super().__init__()
        self.nb_kernels = _positive_int("Gemm", "nb_kernels", nb_kernels)
        self.alpha = _number("Gemm", "alpha", alpha)
        self.beta = _number("Gemm", "beta", beta)
        self.transA = _flag("Gemm", "transA", transA)
        self.transB = _flag("Gemm", "transB", transB)
        self.bias = _flag("Gemm", "bias", bias)
        self.bias_shape = (1, self.nb_kernels) if bias_shape is None else tuple(bias_shape)
        if len(self.bias_shape) > 2 or (self.bias_shape and
                                        self.bias_shape[-1] not in (1, self.nb_kernels)):
            raise ValueError(f"Gemm: bias_shape {self.bias_shape} does not broadcast to "
                             f"(N, {self.nb_kernels})")
        self.in_features = None

    def _check(self, x) -> int:
        """Check x; return its number of input features."""
        _float_tensor(self, x)
        if x.ndim() != 2:
            raise ValueError(f"{_who(self)}: expected a 2-D input, got shape {x.shape}")
        features = x.shape[0] if self.transA else x.shape[1]
        if self.in_features is not None and features != self.in_features:
            raise ValueError(f"{_who(self)}: expected {self.in_features} input features "
                             f"(transA={self.transA}), got input of shape {x.shape}")
        return features

    def initialize(self, x):
        self.in_features = self._check(x)
        w_shape = ((self.nb_kernels, self.in_features) if self.transB
                   else (self.in_features, self.nb_kernels))
        std = math.sqrt(2.0 / (self.in_features + self.nb_kernels))
        self.W = _make_param(w_shape, x).gaussian(0.0, std)
        if self.bias:
            self.b = _make_param(self.bias_shape, x).set_value(0.0)

    def forward(self, x):
        self._check(x)
        _same_kind(self, x, self.W, "the input", "W is")
        C = self.b if self.bias else None
        return ops.gemm(x, self.W, C, self.alpha, self.beta, int(self.transA),
                             int(self.transB))


# ----------------------------------------------------------------------- Embedding
class Embedding(Layer):
    """A lookup table: ``y[n, t] = W[x[n, t]]``.

    ``Embedding(input_dim, output_dim, initializer='gaussian')``: W is
    (input_dim, output_dim), N(0, 1) ('gaussian') or U(-1, 1) ('uniform'), as
    SINGA, float32, on the device of the first input.  x holds int32 indices in
    [0, input_dim), of shape (batch, seq); the output is (batch, seq,
    output_dim).  Forward is ``autograd.embedding(x, W)``, which checks the
    indices and whose backward scatter-adds into the rows of W that were used.
    """

    def __init__(self, input_dim: int, output_dim: int, initializer: str = "gaussian"):
        super().__init__()
        self.input_dim = _positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = _positive_int("Embedding", "output_dim", output_dim)
        if initializer not in ("gaussian", "uniform"):
            raise ValueError(f"Embedding: initializer must be 'gaussian' or 'uniform', got "
                             f"{initializer!r}")
        self.initializer = initializer

    def _check(self, x) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{_who(self)}: input must be a Tensor of int32 indices, got "
                            f"{type(x).__name__}")
        if x.dtype != dtypes.int32:
            raise TypeError(f"{_who(self)}: input must hold int32 indices, got "
                            f"{dtypes.name(x.dtype)}")

    def initialize(self, x):
        self._check(x)
        self.W = Tensor((self.input_dim, self.output_dim), x.device, dtypes.float32,
                        requires_grad=True, stores_grad=True)
        if self.initializer == "gaussian":
            self.W.gaussian(0.0, 1.0)
        else:
            self.W.uniform(-1.0, 1.0)

    def forward(self, x):
        self._check(x)
        if x.device is not self.W.device:
            raise checks.device_mismatch(_who(self), "the indices", x.device, "W",
                                         self.W.device)
        return ops.embedding(x, self.W)

    def from_pretrained(self, W, freeze: bool = True) -> Embedding:
        """Use the (vocab, dim) matrix W as the table; returns self.

        W (a Tensor, or a float NumPy array: float64 stays float64, other floats
        become float32) is copied.  With ``freeze`` the table is a state, not a
        parameter (requires_grad = stores_grad = False), so optimizers leave it
        alone; otherwise it is trained.  input_dim and output_dim become W's
        shape, and the layer counts as initialised.
        """
        if isinstance(W, np.ndarray):
            if W.dtype.kind != "f":
                raise TypeError(f"{_who(self)}.from_pretrained: W must be a float array, got "
                                f"{W.dtype}")
            W = Tensor(data=W, dtype=dtypes.float64 if W.dtype == np.float64 else dtypes.float32)
        _float_tensor(self, W, "W")
        if W.ndim() != 2:
            raise ValueError(f"{_who(self)}.from_pretrained: W must be 2-D (vocab, dim), got "
                             f"shape {W.shape}")
        trainable = not bool(freeze)
        self.input_dim, self.output_dim = W.shape
        self.W = Tensor(data=W.data.clone(), requires_grad=trainable, stores_grad=trainable)
        self._initialized = True
        return self


# ---------------------------------------------------------------------- RNN, LSTM
class RNN_Base(Layer):
    """What RNN and LSTM share: arguments, parameters, the loop over layers,
    directions and time steps, and the two calling conventions.

    A subclass sets ``gates`` (blocks of ``hidden_size`` columns in its weights)
    and writes ``step_forward(xw, state, Wh)``: one time step, given
    ``xw = x_t @ Wx + b`` (computed for every step at once, by one matmul per
    layer and direction), the previous state (None at the first step of a zero
    initial state) and Wh.  It returns the new state; ``state[0]`` is h.

    Calling it (two forms, chosen by the type of the first argument):

    * PyTorch's form, a 3-D tensor x of shape (seq, batch, input_size), or
      (batch, seq, input_size) with ``batch_first``.  The initial state is
      optional (zeros when None) and has shape (num_layers * num_directions,
      batch, hidden_size).  Returns the top layer's outputs for every step, of
      shape (seq, batch, num_directions * hidden_size) (batch first with
      ``batch_first``), and the final states of every layer and direction,
      (num_layers * num_directions, batch, hidden_size), index
      ``layer * num_directions + direction``.
    * SINGA's form, a list of per-step tensors, each (batch, input_size).
      Returns a list of per-step outputs, each (batch, num_directions *
      hidden_size).  States are (batch, hidden_size) when num_layers *
      num_directions == 1 (as in SINGA), else the 3-D layout above
      (batch_first does not apply to the list form).

    Parameters, per layer l and direction (suffix ``''`` or ``'_reverse'``):
    ``Wx_l{l}`` (in_l, G * hidden), ``Wh_l{l}`` (hidden, G * hidden), ``b_l{l}``
    (G * hidden,), with in_0 = input_size and in_l = num_directions * hidden_size
    after; x @ Wx + h @ Wh + b.  Initialisation: every parameter ~ U(-1/sqrt(hidden),
    1/sqrt(hidden)), PyTorch's choice, from the device generator (SINGA draws
    N(0, 1) for RNN, too large for tanh units, and N(0, 0.01) for LSTM).
    ``dropout`` applies to the outputs of every layer but the last, in training only.
    """

    gates = 1
    nonlinearities: tuple[str, ...] = ("tanh",)
    state_size = 1  # tensors in a state: 1 (h) for RNN, 2 (h, c) for LSTM

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0, bidirectional=False):
        super().__init__()
        cls = type(self).__name__
        self.input_size = _positive_int(cls, "input_size", input_size)
        self.hidden_size = _positive_int(cls, "hidden_size", hidden_size)
        self.num_layers = _positive_int(cls, "num_layers", num_layers)
        if nonlinearity not in self.nonlinearities:
            raise ValueError(f"{cls}: unsupported nonlinearity {nonlinearity!r}; expected one "
                             f"of {list(self.nonlinearities)}")
        self.nonlinearity = nonlinearity
        self.bias = _flag(cls, "bias", bias)
        self.batch_first = _flag(cls, "batch_first", batch_first)
        self.dropout = _ratio(cls, "dropout", dropout)
        self.bidirectional = _flag(cls, "bidirectional", bidirectional)
        self.num_directions = 2 if self.bidirectional else 1

    # ------------------------------------------------------------ parameters
    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def _weights(self, layer: int, direction: int):
        """(Wx, Wh, b or None) of one layer and direction."""
        s = self._suffix(layer, direction)
        return (getattr(self, "Wx" + s), getattr(self, "Wh" + s),
                getattr(self, "b" + s) if self.bias else None)

    def initialize(self, x, hx=None):
        ref = self._parse_input(x)[0]
        h, g = self.hidden_size, self.gates
        k = 1.0 / math.sqrt(h)  # U(-k, k), PyTorch's choice (SINGA: N(0, 1) / N(0, 0.01))
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else h * self.num_directions
            for d in range(self.num_directions):
                s = self._suffix(layer, d)
                setattr(self, "Wx" + s, _make_param((in_size, g * h), ref).uniform(-k, k))
                setattr(self, "Wh" + s, _make_param((h, g * h), ref).uniform(-k, k))
                if self.bias:
                    setattr(self, "b" + s, _make_param((g * h,), ref).uniform(-k, k))

    # ------------------------------------------------------------ input checks
    def _parse_input(self, x):
        """Check x; return (a tensor to take dtype and device from, seq, batch, list form)."""
        who = _who(self)
        if isinstance(x, (list, tuple)):  # SINGA's form: one (batch, input_size) per step
            if not x:
                raise ValueError(f"{who}: the list of time steps is empty")
            for t, xt in enumerate(x):
                _float_tensor(self, xt, f"time step {t}")
                if xt.ndim() != 2 or xt.shape[1] != self.input_size or \
                        xt.shape[0] != x[0].shape[0]:
                    raise ValueError(f"{who}: time step {t} has shape {xt.shape}; expected "
                                     f"(batch, input_size) = ({x[0].shape[0]}, "
                                     f"{self.input_size})")
                _same_kind(self, xt, x[0], f"time step {t}", "time step 0 is")
            seq, batch = len(x), x[0].shape[0]
            return x[0], seq, batch, True
        _float_tensor(self, x)
        layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
        if x.ndim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{who}: expected an input of shape {layout} with input_size="
                             f"{self.input_size}, got shape {x.shape}")
        seq, batch = (x.shape[1], x.shape[0]) if self.batch_first else x.shape[:2]
        if seq == 0 or batch == 0:
            raise ValueError(f"{who}: the input {x.shape} has no time steps or no batch")
        return x, seq, batch, False

    def _parse_states(self, hx, ref: Tensor, batch: int):
        """The initial states as a list, one per (layer, direction), of per-tensor
        lists: states[i] = [h0] or [h0, c0], each (batch, hidden); None for zeros."""
        n = self.num_layers * self.num_directions
        if hx is None:
            return [None] * n
        who = _who(self)
        if self.state_size == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{who}: the initial state must be a tuple (h0, c0), got "
                                f"{type(hx).__name__}")
            parts = list(hx)
        else:
            parts = [hx]
        full = (n, batch, self.hidden_size)
        per_tensor = []
        for name, t in zip(("h0", "c0"), parts):
            _float_tensor(self, t, name)
            _same_kind(self, t, ref, name, "the input is")
            if t.shape == full:
                pieces = ops.split(t, 0, [1] * n) if n > 1 else (t,)
                per_tensor.append([ops.reshape(p, full[1:]) for p in pieces])
            elif n == 1 and t.shape == full[1:]:
                per_tensor.append([t])
            else:
                also = f" or {full[1:]}" if n == 1 else ""
                raise ValueError(f"{who}: {name} has shape {t.shape}; expected (num_layers * "
                                 f"num_directions, batch, hidden_size) = {full}{also}")
        return [list(s) for s in zip(*per_tensor)]

    # ------------------------------------------------------------ forward
    def step_forward(self, xw, state, Wh):
        """One time step (see the class docstring); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step_forward")

    def _direction(self, X, seq, batch, layer, direction, state):
        """Run one layer in one direction over the sequence.  X: (seq * batch, in)
        time-major.  Returns (hs in time order, final state)."""
        Wx, Wh, b = self._weights(layer, direction)
        XW = ops.matmul(X, Wx)                       # every step's input term at once
        if b is not None:
            XW = ops.add_bias(XW, b, axis=0)
        steps = ops.split(XW, 0, [batch] * seq) if seq > 1 else (XW,)
        order = range(seq - 1, -1, -1) if direction else range(seq)
        hs = [None] * seq
        for t in order:
            state = self.step_forward(steps[t], state, Wh)
            hs[t] = state[0]
        return hs, state

    def _run(self, X, seq, batch, states):
        """All layers.  Returns (Y (seq * batch, D * hidden), last layer's hs per
        direction, final states in (layer, direction) order)."""
        finals, last_hs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                i = layer * self.num_directions + d
                hs, final = self._direction(X, seq, batch, layer, d, states[i])
                outs.append(hs)
                finals.append(final)
            cols = [ops.cat(hs, 0) if seq > 1 else hs[0] for hs in outs]
            Y = ops.cat(cols, 1) if len(cols) > 1 else cols[0]
            if layer < self.num_layers - 1 and self.dropout > 0:
                Y = ops.dropout(Y, self.dropout)  # between layers; identity unless training
            X, last_hs = Y, outs
        return X, last_hs, finals

    def _forward(self, x, hx):
        """Shared forward: returns (list form?, y or list of per-step outputs,
        stacked final states, one per state tensor)."""
        ref, seq, batch, list_form = self._parse_input(x)
        _same_kind(self, ref, self._weights(0, 0)[0], "the input", "the parameters are")
        states = self._parse_states(hx, ref, batch)
        if list_form:
            X = ops.cat(list(x), 0) if seq > 1 else x[0]
        else:
            if self.batch_first:
                x = ops.transpose(x, (1, 0, 2))
            X = ops.reshape(x, (seq * batch, self.input_size))  # time-major rows
        Y, last_hs, finals = self._run(X, seq, batch, states)

        # Final states: (num_layers * num_directions, batch, hidden), or, in SINGA's
        # list form with one layer and one direction, (batch, hidden).
        n = len(finals)
        stacked = []
        for k in range(self.state_size):
            ts = [f[k] for f in finals]
            if list_form and n == 1:
                stacked.append(ts[0])
            elif n == 1:
                stacked.append(ops.reshape(ts[0], (1, batch, self.hidden_size)))
            else:
                stacked.append(ops.cat(
                    [ops.reshape(t, (1, batch, self.hidden_size)) for t in ts], 0))

        if list_form:
            if self.num_directions == 1:
                outs = list(last_hs[0])
            else:
                outs = list(ops.split(Y, 0, [batch] * seq)) if seq > 1 else [Y]
            return True, outs, stacked
        width = self.num_directions * self.hidden_size
        y = ops.reshape(Y, (seq, batch, width))
        if self.batch_first:
            y = ops.transpose(y, (1, 0, 2))
        return False, y, stacked


class RNN(RNN_Base):
    """Elman RNN: ``h_t = act(x_t @ Wx + h_{t-1} @ Wh + b)``, act tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0, bidirectional=False)``, SINGA's signature;
    unlike SINGA's RNN every argument is honoured.  G = 1 below.

    ``forward(x, h0=None)`` returns ``(y, h_n)``; ``forward(xs_list, h0)``
    returns ``(list_of_h, h_last)`` (SINGA's form).  Shapes, parameters and
    initialisation: see RNN_Base.
    """

    nonlinearities = ("tanh", "relu")

    def step_forward(self, xw, state, Wh):
        """h = act(xw + h_prev @ Wh); ``state`` is [h_prev] or None (zeros)."""
        a = xw if state is None else ops.add(xw, ops.matmul(state[0], Wh))
        h = ops.tanh(a) if self.nonlinearity == "tanh" else ops.relu(a)
        return [h]

    def forward(self, x, h0=None):
        _, y, (h_n,) = self._forward(x, h0)  # the same pair in both forms
        return y, h_n


class LSTM(RNN_Base):
    """Long short-term memory, gates in SINGA's order i, f, o, g:

        [i f o] = sigmoid(x_t @ Wx + h_{t-1} @ Wh + b)[:, :3H],  g = tanh(...)[:, 3H:]
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    ``LSTM(input_size, hidden_size, nonlinearity='tanh', num_layers=1, bias=True,
    batch_first=False, dropout=0, bidirectional=False)``, SINGA's signature
    (only 'tanh' is accepted as nonlinearity).  G = 4: the four gates' weights
    are fused into one matrix per layer and direction, column blocks [i | f | o
    | g] (SINGA keeps eight separate Wx_i ... Wh_g and eight biases Bx_*, Bh_*;
    one fused matmul per step is faster and the i, f, o columns, being adjacent,
    take one sigmoid).  One bias per layer and direction (SINGA's and PyTorch's
    second bias adds nothing).

    ``forward(x, (h0, c0)=None)`` returns ``(y, (h_n, c_n))``;
    ``forward(xs_list, (h0, c0))`` returns ``(outs, h, c)`` (SINGA's form).
    Shapes, parameters and initialisation: see RNN_Base.
    """

    gates = 4
    state_size = 2

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", num_layers=1, bias=True,
                 batch_first=False, dropout=0, bidirectional=False):
        super().__init__(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
                         dropout, bidirectional)

    def step_forward(self, xw, state, Wh):
        """One LSTM step; ``state`` is [h_prev, c_prev] or None (zeros)."""
        h = self.hidden_size
        a = xw if state is None else ops.add(xw, ops.matmul(state[0], Wh))
        ifo, g = ops.split(a, 1, [3 * h, h])
        i, f, o = ops.split(ops.sigmoid(ifo), 1, [h, h, h])
        ig = ops.mul(i, ops.tanh(g))
        c = ig if state is None else ops.add(ops.mul(f, state[1]), ig)
        return [ops.mul(o, ops.tanh(c)), c]

    def forward(self, x, hx=None):
        list_form, y, (h_n, c_n) = self._forward(x, hx)
        if list_form:
            return y, h_n, c_n
        return y, (h_n, c_n)


# ----------------------------------------------------------------------- LayerNorm
class LayerNorm(Layer):
    """Layer normalisation over the trailing axes (Ba et al. 2016):

        y = (x - mean) / sqrt(var + eps) * scale + bias

    ``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True)``:
    ``normalized_shape`` is an int (the last axis, as SINGA's example
    ``LayerNorm(n_features)``) or a tuple of the trailing dimensions; mean and
    the biased variance are taken over those axes.  With ``elementwise_affine``
    the parameters ``scale`` (ones) and ``bias`` (zeros) have that shape (SINGA's
    example names them Gamma/Beta and forgets to make them trainable).
    Built from reduce_mean, sub, mul, sqrt and div, so autograd differentiates it.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else normalized_shape
        try:
            shape = tuple(_positive_int("LayerNorm", "normalized_shape", d) for d in shape)
        except TypeError:
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a tuple of ints, "
                            f"got {normalized_shape!r}") from None
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must not be empty")
        self.normalized_shape = shape
        self.eps = _number("LayerNorm", "eps", eps)
        if self.eps <= 0:
            raise ValueError(f"LayerNorm: eps must be > 0, got {eps}")
        self.elementwise_affine = _flag("LayerNorm", "elementwise_affine", elementwise_affine)

    def _check(self, x) -> None:
        _float_tensor(self, x)
        k = len(self.normalized_shape)
        if x.ndim() < k or x.shape[x.ndim() - k:] != self.normalized_shape:
            raise ValueError(f"{_who(self)}: the input's trailing dimensions must be "
                             f"{self.normalized_shape}, got shape {x.shape}")

    def initialize(self, x):
        self._check(x)
        if self.elementwise_affine:
            self.scale = _make_param(self.normalized_shape, x).set_value(1.0)
            self.bias = _make_param(self.normalized_shape, x).set_value(0.0)

    def forward(self, x):
        self._check(x)
        if self.elementwise_affine:
            _same_kind(self, x, self.scale, "the input", "scale is")
        axes = list(range(x.ndim() - len(self.normalized_shape), x.ndim()))
        mean = ops.reduce_mean(x, axes, keepdims=1)
        xc = ops.sub(x, mean)
        var = ops.reduce_mean(ops.mul(xc, xc), axes, keepdims=1)
        y = ops.div(xc, ops.sqrt(var + self.eps))
        if self.elementwise_affine:  # scale and bias broadcast over the leading axes
            y = ops.add(ops.mul(y, self.scale), self.bias)
        return y


# -------------------------------------------------------------- MultiHeadAttention
class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017), batch first.

    ``MultiHeadAttention(d_model, num_heads, dropout=0.0, bias=True)``;
    ``forward(query, key, value, mask=None, need_weights=False)`` with query
    (N, L, d_model) and key, value (N, S, d_model):

        Q = query @ Wq + bq, K = key @ Wk + bk, V = value @ Wv + bv, each split
            into num_heads heads of d_k = d_model / num_heads columns
        A = softmax(Q K^T / sqrt(d_k) + M)            (N, heads, L, S)
        out = concat_heads(dropout(A) V) @ Wo + bo     (N, L, d_model)

    ``mask`` (a Tensor or NumPy array of bool / 0-1 values) marks with True (or
    non-zero) the positions that may NOT be attended, PyTorch's boolean
    convention and SINGA's example's; its shape is (L, S), (N, L, S) or
    (N or 1, heads or 1, L, S).  Masked scores get -1e9 added (M above), so a
    fully masked row attends uniformly instead of giving NaN as PyTorch does.
    Returns ``out``, or ``(out, A)`` with ``need_weights``.  ``dropout`` applies
    to A in training only.  Parameters ``Wq, Wk, Wv, Wo`` (d_model, d_model),
    glorot-uniform, and ``bq, bk, bv, bo`` (d_model,), zeros (PyTorch's choice).
    SINGA has this layer only in an example (with a residual and LayerNorm
    inside it and a loop over batch and heads for the matmuls).
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.d_model = _positive_int("MultiHeadAttention", "d_model", d_model)
        self.num_heads = _positive_int("MultiHeadAttention", "num_heads", num_heads)
        if self.d_model % self.num_heads:
            raise ValueError(f"MultiHeadAttention: d_model={d_model} is not divisible by "
                             f"num_heads={num_heads}")
        self.d_k = self.d_model // self.num_heads
        self.dropout = _ratio("MultiHeadAttention", "dropout", dropout)
        self.bias = _flag("MultiHeadAttention", "bias", bias)

    def _check(self, query, key, value) -> None:
        for what, t in (("query", query), ("key", key), ("value", value)):
            _float_tensor(self, t, what)
            if t.ndim() != 3 or t.shape[2] != self.d_model:
                raise ValueError(f"{_who(self)}: {what} must be (batch, length, d_model="
                                 f"{self.d_model}), got shape {t.shape}")
            _same_kind(self, t, query, what, "query is")
        if key.shape[0] != query.shape[0] or value.shape[0] != query.shape[0]:
            raise ValueError(f"{_who(self)}: query, key and value must have the same batch "
                             f"size, got {query.shape}, {key.shape}, {value.shape}")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{_who(self)}: key and value must have the same length, got "
                             f"{key.shape} and {value.shape}")

    def initialize(self, query, key, value, mask=None, need_weights=False):
        self._check(query, key, value)
        d = self.d_model
        for n in "qkvo":
            setattr(self, "W" + n, initializer.glorot_uniform(_make_param((d, d), query)))
            if self.bias:
                setattr(self, "b" + n, _make_param((d,), query).set_value(0.0))

    def _project(self, x, n: str, heads: bool):
        """x (N, T, d) @ W_n + b_n, as (N, heads, T, d_k) when ``heads`` else (N, T, d)."""
        N, T, d = x.shape
        y = ops.matmul(ops.reshape(x, (N * T, d)), getattr(self, "W" + n))
        if self.bias:
            y = ops.add_bias(y, getattr(self, "b" + n), axis=0)
        if not heads:
            return ops.reshape(y, (N, T, d))
        y = ops.reshape(y, (N, T, self.num_heads, self.d_k))
        return ops.transpose(y, (0, 2, 1, 3))

    def _mask_bias(self, mask, N: int, L: int, S: int, like: Tensor) -> Tensor:
        """-1e9 where mask is set, 0 elsewhere, shaped to broadcast to (N, heads, L, S)."""
        who = _who(self)
        if isinstance(mask, np.ndarray):
            if mask.dtype.kind not in "biuf":
                raise TypeError(f"{who}: mask must hold bool or numbers, got {mask.dtype}")
            mask = Tensor(data=mask.astype(dtypes.to_numpy(like.dtype)), dtype=like.dtype,
                          device=like.device, requires_grad=False)
        elif not isinstance(mask, Tensor):
            raise TypeError(f"{who}: mask must be a Tensor or a NumPy array, got "
                            f"{type(mask).__name__}")
        if mask.dtype != like.dtype:
            mask = mask.as_type(like.dtype)
        if mask.device is not like.device:
            raise checks.device_mismatch(who, "mask", mask.device, "query", like.device)
        shape = mask.shape
        if len(shape) == 3 and shape == (N, L, S):
            mask = ops.reshape(mask, (N, 1, L, S))
        if len(mask.shape) == 2:
            ok = mask.shape == (L, S)
        else:
            ok = len(mask.shape) == 4 and mask.shape[2:] == (L, S) and \
                mask.shape[0] in (1, N) and mask.shape[1] in (1, self.num_heads)
        if not ok:
            raise ValueError(f"{who}: mask has shape {shape}; expected (L, S) = {(L, S)}, "
                             f"(N, L, S) = {(N, L, S)} or (N or 1, heads or 1, L, S)")
        return mask * -1e9

    def forward(self, query, key, value, mask=None, need_weights=False):
        self._check(query, key, value)
        _same_kind(self, query, self.Wq, "query", "the parameters are")
        N, L, _ = query.shape
        S = key.shape[1]
        Q = self._project(query, "q", True)                  # (N, heads, L, d_k)
        K = self._project(key, "k", True)                    # (N, heads, S, d_k)
        V = self._project(value, "v", True)                  # (N, heads, S, d_k)
        scores = ops.matmul(Q, ops.transpose(K, (0, 1, 3, 2)))
        scores = scores * (1.0 / math.sqrt(self.d_k))        # (N, heads, L, S)
        if mask is not None:
            scores = ops.add(scores, self._mask_bias(mask, N, L, S, query))
        A = ops.softmax(scores, -1)
        A_used = ops.dropout(A, self.dropout) if self.dropout > 0 else A
        ctx = ops.matmul(A_used, V)                     # (N, heads, L, d_k)
        ctx = ops.transpose(ctx, (0, 2, 1, 3))          # (N, L, heads, d_k)
        ctx = ops.reshape(ctx, (N, L, self.d_model))
        out = self._project(ctx, "o", False)
        return (out, A) if need_weights else out
