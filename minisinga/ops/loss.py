"""Losses: softmax cross-entropy, cross-entropy, binary cross-entropy, mean squared
error.  Each returns a one-element tensor of shape (1,) (SINGA's), the mean over
the batch, and honours the upstream gradient dy (SINGA ignores it).  The target
``t`` is fixed data: it gets no gradient.  Derivations: docs/ops/losses.md."""
from __future__ import annotations

import numpy as np

from .. import backend, checks, dtypes, engine
from .._tensor import Tensor
from ..ctensor import CTensor
from ..testing import OpInfo, Sample, register
from ._util import check_float

__all__ = ["SoftMaxCrossEntropy", "CrossEntropy", "BinaryCrossEntropy", "MeanSquareError",
           "softmax_cross_entropy", "cross_entropy", "binary_cross_entropy", "mse_loss"]


# --8<-- [start:scalar]
def _scalar(dy) -> float:
    """The value of a one-element upstream gradient (read once, on the host), or
    dy itself when it is a number: a loss's ``backward(dy=1.0)`` may be called
    directly, as SINGA code does."""
    if dtypes.is_number(dy):
        return float(dy)
    # On the CPU the typed pointer reads the element directly (no NumPy view needed).
    return float(dy.ptr[0]) if dy.device.is_cpu() else \
        float(Tensor(data=dy).to_numpy().reshape(-1)[0])
# --8<-- [end:scalar]


def _float_target(name: str, t: CTensor, x: CTensor) -> CTensor:
    """The target as x's float type (an int32 one-hot matrix is cast)."""
    if t.device is not x.device:
        raise checks.device_mismatch(name, "t", t.device, "x", x.device)
    if t.dtype != x.dtype:
        t = backend.cast(t, x.dtype)
    return t


# --8<-- [start:SoftMaxCrossEntropy]
class SoftMaxCrossEntropy(engine.Operation):
    r"""Softmax followed by cross-entropy, computed stably with log-sum-exp:
    ``softmax_cross_entropy(x, t)``.  ``x``: (N, C) logits; ``t``: int32 class
    indices (N,), or an (N, C) matrix (one-hot or probabilities, float or int32)
    whose rows are normalised to sum to 1 (SINGA's rule).

    Forward: $\ell = -\frac{1}{N}\sum_n \sum_c q_{nc} \log p_{nc}$, $p_n = \mathrm{softmax}(x_n)$
    Grad x: $\bar{x} = \bar{\ell}\,(p - q) / N$
    Derivation: ops/losses.md#softmax_cross_entropy
    """

    def __init__(self, t: Tensor):
        super().__init__()
        self.t = t

    def forward(self, x):
        check_float("softmax_cross_entropy", x, names=["x"])
        if len(x.shape) != 2:
            raise ValueError(f"softmax_cross_entropy: x must be (N, C) logits, got shape {x.shape}")
        n, c = x.shape
        if n == 0 or c == 0:
            raise ValueError(f"softmax_cross_entropy: x {x.shape} is empty")
        t = self.t.data
        self.p = CTensor._new(x.shape, x.dtype, x.device)
        loss = CTensor._new((1,), x.dtype, x.device)
        if t.shape == (n,) and t.dtype == dtypes.int32:
            # The labels are checked on the host before any kernel runs (N int32
            # values; on a GPU that is one small copy back).
            labels = t.numpy() if t.device.is_cpu() else Tensor(data=t).to_numpy()
            if labels.size and (labels.min() < 0 or labels.max() >= c):
                bad = labels[(labels < 0) | (labels >= c)][0]
                raise ValueError(f"softmax_cross_entropy: label {bad} is outside [0, {c}) "
                                 f"for x of shape {x.shape}")
            self.index = t
            backend.kernel("softmax_cross_entropy_index_forward", x)(
                loss.ptr, self.p.ptr, x.ptr, t.ptr, n, c)
        elif t.shape == x.shape:
            self.index = None
            self.q = CTensor._new(x.shape, x.dtype, x.device)
            tf = _float_target("softmax_cross_entropy", t, x)
            backend.kernel("softmax_cross_entropy_dense_forward", x)(
                loss.ptr, self.p.ptr, self.q.ptr, x.ptr, tf.ptr, n, c)
        else:
            raise ValueError(f"softmax_cross_entropy: t must be int32 class indices of shape "
                             f"({n},) or a target matrix of shape {x.shape}; got shape {t.shape} "
                             f"({dtypes.name(t.dtype)})")
        return loss

    def backward(self, dy=1.0):
        dx = CTensor._new(self.p.shape, self.p.dtype, self.p.device)
        n, c = self.p.shape
        g = _scalar(dy)
        if self.index is not None:
            backend.kernel("softmax_cross_entropy_index_backward", dx)(
                dx.ptr, g, self.p.ptr, self.index.ptr, n, c)
        else:
            backend.kernel("softmax_cross_entropy_dense_backward", dx)(
                dx.ptr, g, self.p.ptr, self.q.ptr, n, c)
        return dx
# --8<-- [end:SoftMaxCrossEntropy]


# --8<-- [start:CrossEntropy]
class CrossEntropy(engine.Operation):
    r"""Cross-entropy of probabilities: ``cross_entropy(x, t)``; x, t: (N, C).

    Forward: $\ell = -\frac{1}{N}\sum_{n,c} t_{nc} \log x_{nc}$
    Grad x: $\bar{x} = -\bar{\ell}\, t / (N x)$
    Convention: $\bar{x} = 0$ where $t = 0$ (the term $0 \log x$ is dropped, even at $x = 0$)
    Derivation: ops/losses.md#cross_entropy
    """

    def __init__(self, t: Tensor):
        super().__init__()
        self.t = t

    def forward(self, x):
        check_float("cross_entropy", x, names=["x"])
        if len(x.shape) != 2 or self.t.shape != x.shape or x.size == 0:
            raise ValueError(f"cross_entropy: x and t must be (N, C) of one shape, got "
                             f"{x.shape} and {self.t.shape}")
        self.x, self.tf = x, _float_target("cross_entropy", self.t.data, x)
        loss = CTensor._new((1,), x.dtype, x.device)
        backend.kernel("cross_entropy_forward", x)(loss.ptr, x.ptr, self.tf.ptr, *x.shape)
        return loss

    def backward(self, dy=1.0):
        dx = CTensor._new(self.x.shape, self.x.dtype, self.x.device)
        backend.kernel("cross_entropy_backward", dx)(dx.ptr, _scalar(dy), self.x.ptr,
                                                          self.tf.ptr, *self.x.shape)
        return dx
# --8<-- [end:CrossEntropy]


# --8<-- [start:BinaryCrossEntropy]
class BinaryCrossEntropy(engine.Operation):
    r"""Binary cross-entropy of probabilities (SINGA's smoothed form, eps = 1e-4):
    ``binary_cross_entropy(x, t)``; N is x.shape[0].

    Forward: $\ell = -\frac{1}{N}\sum b$ with
        $b = t \log(x + \epsilon) + (1 - t)\log(1 + \epsilon - x)$
    Grad x: $\bar{x} = -\frac{\bar{\ell}}{N}\left[\frac{t}{x + \epsilon} - \frac{1 - t}{1 + \epsilon - x}\right]$
    Derivation: ops/losses.md#binary_cross_entropy
    """

    def __init__(self, t: Tensor):
        super().__init__()
        self.t = t

    def forward(self, x):
        check_float("binary_cross_entropy", x, names=["x"])
        if self.t.shape != x.shape or x.size == 0 or len(x.shape) == 0:
            raise ValueError(f"binary_cross_entropy: x and t must have one non-empty shape, "
                             f"got {x.shape} and {self.t.shape}")
        self.x, self.tf = x, _float_target("binary_cross_entropy", self.t.data, x)
        loss = CTensor._new((1,), x.dtype, x.device)
        backend.kernel("binary_cross_entropy_forward", x)(loss.ptr, x.ptr, self.tf.ptr,
                                                               x.size, x.shape[0])
        return loss

    def backward(self, dy=1.0):
        dx = CTensor._new(self.x.shape, self.x.dtype, self.x.device)
        backend.kernel("binary_cross_entropy_backward", dx)(
            dx.ptr, _scalar(dy), self.x.ptr, self.tf.ptr, self.x.size, self.x.shape[0])
        return dx
# --8<-- [end:BinaryCrossEntropy]


# --8<-- [start:MeanSquareError]
class MeanSquareError(engine.Operation):
    r"""Mean squared error over every element (SINGA: no 1/2): ``mse_loss(x, t)``.

    Forward: $\ell = \frac{1}{n}\sum_i (x_i - t_i)^2$
    Grad x: $\bar{x} = \bar{\ell}\, 2 (x - t) / n$
    Derivation: ops/losses.md#mse_loss
    """

    def __init__(self, t: Tensor):
        super().__init__()
        self.t = t

    def forward(self, x):
        check_float("mse_loss", x, names=["x"])
        if self.t.shape != x.shape or x.size == 0:
            raise ValueError(f"mse_loss: x and t must have one non-empty shape, got "
                             f"{x.shape} and {self.t.shape}")
        self.x, self.tf = x, _float_target("mse_loss", self.t.data, x)
        loss = CTensor._new((1,), x.dtype, x.device)
        backend.kernel("mse_loss_forward", x)(loss.ptr, x.ptr, self.tf.ptr, x.size)
        return loss

    def backward(self, dy=1.0):
        dx = CTensor._new(self.x.shape, self.x.dtype, self.x.device)
        backend.kernel("mse_loss_backward", dx)(dx.ptr, _scalar(dy), self.x.ptr,
                                                     self.tf.ptr, self.x.size)
        return dx
# --8<-- [end:MeanSquareError]


def _target(name: str, t) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: t must be a Tensor, got {type(t).__name__}")
    return t


def softmax_cross_entropy(x, t):
    """Mean cross-entropy of softmax(x) against t (indices or a target matrix)."""
    return SoftMaxCrossEntropy(_target("softmax_cross_entropy", t))(x)[0]


def cross_entropy(x, t):
    """Mean cross-entropy of probabilities x against targets t."""
    return CrossEntropy(_target("cross_entropy", t))(x)[0]


def binary_cross_entropy(x, t):
    """Mean binary cross-entropy of probabilities x against targets t."""
    return BinaryCrossEntropy(_target("binary_cross_entropy", t))(x)[0]


def mse_loss(x, t):
    """Mean of (x - t)**2 over every element."""
    return MeanSquareError(_target("mse_loss", t))(x)[0]


# ---------------------------------------------------------------------- registry
def _np_sce(x, t):
    logp = x - x.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    if t.ndim == 1:
        return np.array([-logp[np.arange(len(t)), t].mean()])
    q = t / t.sum(1, keepdims=True)
    return np.array([-(q * logp).sum() / x.shape[0]])


def _onehot(labels, c):
    out = np.zeros((len(labels), c), dtype=np.int32)
    out[np.arange(len(labels)), labels] = 1
    return out


def _sce_samples(rng):
    return [Sample([rng.uniform(-2, 2, (4, 3)), rng.integers(0, 3, 4).astype(np.int32)],
                   note="class indices"),
            Sample([rng.uniform(-2, 2, (3, 5)), _onehot(rng.integers(0, 5, 3), 5)],
                   note="int32 one-hot"),
            Sample([rng.uniform(-2, 2, (3, 4)), rng.uniform(0.1, 1, (3, 4))],
                   note="soft targets, normalised per row")]


def _probs(rng, shape):
    p = rng.uniform(0.1, 1, shape)
    return p / p.sum(-1, keepdims=True)


# --8<-- [start:register_softmax_cross_entropy]
register(OpInfo("softmax_cross_entropy", (SoftMaxCrossEntropy,),
                lambda x, t: softmax_cross_entropy(x, t), _np_sce, _sce_samples, grad_inputs=[0]))
# --8<-- [end:register_softmax_cross_entropy]
# --8<-- [start:register_cross_entropy]
register(OpInfo("cross_entropy", (CrossEntropy,), lambda x, t: cross_entropy(x, t),
                lambda x, t: np.array([-(t * np.log(x)).sum() / x.shape[0]]),
                lambda rng: [Sample([_probs(rng, (3, 4)), _probs(rng, (3, 4))])],
                grad_inputs=[0]))
# --8<-- [end:register_cross_entropy]
# --8<-- [start:register_binary_cross_entropy]
register(OpInfo("binary_cross_entropy", (BinaryCrossEntropy,),
                lambda x, t: binary_cross_entropy(x, t),
                lambda x, t: np.array([-(t * np.log(x + 1e-4) + (1 - t) * np.log(1.0001 - x)).sum()
                                       / x.shape[0]]),
                lambda rng: [Sample([rng.uniform(0.1, 0.9, (4, 3)),
                                     rng.integers(0, 2, (4, 3)).astype(np.float64)])],
                grad_inputs=[0]))
# --8<-- [end:register_binary_cross_entropy]
# --8<-- [start:register_mse_loss]
register(OpInfo("mse_loss", (MeanSquareError,), lambda x, t: mse_loss(x, t),
                lambda x, t: np.array([((x - t) ** 2).mean()]),
                lambda rng: [Sample([rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (4, 3))])],
                grad_inputs=[0]))
# --8<-- [end:register_mse_loss]
