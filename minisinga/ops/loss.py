"""Losses: softmax cross-entropy, cross-entropy, binary cross-entropy, mean squared
error.  Each returns a one-element tensor of shape (1,) (SINGA's), the mean over
the batch, and honours the upstream gradient dy (SINGA ignores it).  The target
``t`` is fixed data: it gets no gradient.  Derivations: docs/ops/losses.md."""
from __future__ import annotations

from .. import backend, checks, dtypes, engine
from .._tensor import Tensor
from ..ctensor import CTensor
from ._util import check_float, first_out_of_range

__all__ = ["SoftMaxCrossEntropy", "CrossEntropy", "BinaryCrossEntropy", "MeanSquareError",
           "softmax_cross_entropy", "cross_entropy", "binary_cross_entropy", "mse_loss"]


def _scalar(dy, like: CTensor) -> CTensor:
    """The one-element upstream gradient as a CTensor of ``like``'s type and
    device, for the backward kernels to read ON THE DEVICE (no copy to the host,
    so no wait for the GPU in a training step).  dy may be a number: a loss's
    ``backward(dy=1.0)`` may be called directly, as SINGA code does."""
    if dtypes.is_number(dy):
        return backend.full((1,), float(dy), like.dtype, like.device)
    if dy.size != 1:
        raise ValueError(f"loss backward: dy must hold one element (the loss is one number), "
                         f"got shape {dy.shape}")
    if dy.device is not like.device:
        raise checks.device_mismatch("loss backward", "dy", dy.device, "x", like.device)
    return dy if dy.dtype == like.dtype else backend.cast(dy, like.dtype)


def _float_target(name: str, t: CTensor, x: CTensor) -> CTensor:
    """The target as x's float type (an int32 one-hot matrix is cast)."""
    if t.device is not x.device:
        raise checks.device_mismatch(name, "t", t.device, "x", x.device)
    if t.dtype != x.dtype:
        t = backend.cast(t, x.dtype)
    return t


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
            # The labels are checked before any kernel runs, by a kernel that
            # counts the bad ones on the device: one number comes back.
            if t.device is not x.device:
                raise checks.device_mismatch("softmax_cross_entropy", "t", t.device, "x",
                                             x.device)
            bad = first_out_of_range(t, 0, c)
            if bad is not None:
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
        g = _scalar(dy, dx)
        if self.index is not None:
            backend.kernel("softmax_cross_entropy_index_backward", dx)(
                dx.ptr, g.ptr, self.p.ptr, self.index.ptr, n, c)
        else:
            backend.kernel("softmax_cross_entropy_dense_backward", dx)(
                dx.ptr, g.ptr, self.p.ptr, self.q.ptr, n, c)
        return dx


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
        g = _scalar(dy, dx)
        backend.kernel("cross_entropy_backward", dx)(dx.ptr, g.ptr, self.x.ptr,
                                                          self.tf.ptr, *self.x.shape)
        return dx


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
        g = _scalar(dy, dx)
        backend.kernel("binary_cross_entropy_backward", dx)(
            dx.ptr, g.ptr, self.x.ptr, self.tf.ptr, self.x.size, self.x.shape[0])
        return dx


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
        g = _scalar(dy, dx)
        backend.kernel("mse_loss_backward", dx)(dx.ptr, g.ptr, self.x.ptr,
                                                     self.tf.ptr, self.x.size)
        return dx


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
