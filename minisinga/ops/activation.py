"""Activation functions and softmax.  Derivations: docs/ops/activations.md."""
from __future__ import annotations

import numpy as np

from .. import backend, checks, engine
from ..testing import OpInfo, Sample, register
from ._util import check_float, normalize_axis, three_d_view

__all__ = [
    "ReLU", "LeakyRelu", "Elu", "SeLU", "Sigmoid", "HardSigmoid", "Tanh", "SoftPlus",
    "SoftSign", "SoftMax",
    "relu", "leakyrelu", "elu", "selu", "sigmoid", "hardsigmoid", "tanh", "softplus",
    "softsign", "softmax",
]


# --8<-- [start:ReLU]
class ReLU(engine.Operation):
    r"""Rectified linear unit: ``relu(x)``.

    Forward: $y = \max(0, x)$
    Grad x: $\bar{x} = \bar{y}\,[x > 0]$
    Convention: $\mathrm{relu}'(0) = 0$; NaN stays NaN (as in PyTorch) and $\mathrm{relu}(-0) = -0$
    Derivation: ops/activations.md#relu
    """

    def forward(self, x):
        check_float("relu", x, names=["x"])
        self.x = x
        return backend.unary("relu_forward", x)

    def backward(self, dy):
        return backend.grad_kernel("relu_backward", dy, self.x)
# --8<-- [end:ReLU]


# --8<-- [start:LeakyRelu]
class LeakyRelu(engine.Operation):
    r"""Leaky ReLU: ``leakyrelu(x, a=0.01)``.

    Forward: $y = x$ if $x \ge 0$ else $a x$
    Grad x: $\bar{x} = \bar{y}$ if $x \ge 0$ else $a \bar{y}$
    Convention: slope 1 at $x = 0$
    Derivation: ops/activations.md#leakyrelu
    """

    def __init__(self, a: float = 0.01):
        super().__init__()
        self.a = checks.number("leakyrelu", "a", a)

    def forward(self, x):
        check_float("leakyrelu", x, names=["x"])
        self.x = x
        return backend.unary("leakyrelu_forward", x, self.a)

    def backward(self, dy):
        return backend.grad_kernel("leakyrelu_backward", dy, self.x, scalars=(self.a,))
# --8<-- [end:LeakyRelu]


# --8<-- [start:Elu]
class Elu(engine.Operation):
    r"""Exponential linear unit: ``elu(x, alpha=1.0)``.

    Forward: $y = x$ if $x > 0$ else $\alpha (e^x - 1)$
    Grad x: $\bar{x} = \bar{y}$ if $x > 0$ else $\bar{y}\,\alpha e^x$
    Convention: at $x = 0$ the left slope $\alpha$ is used
    Derivation: ops/activations.md#elu
    """

    gamma = 1.0

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = checks.number(type(self).__name__.lower(), "alpha", alpha)

    def forward(self, x):
        check_float(type(self).__name__.lower(), x, names=["x"])
        self.x = x
        return backend.unary("elu_forward", x, self.alpha, self.gamma)

    def backward(self, dy):
        return backend.grad_kernel("elu_backward", dy, self.x, scalars=(self.alpha, self.gamma))
# --8<-- [end:Elu]


# --8<-- [start:SeLU]
class SeLU(Elu):
    r"""Scaled ELU: ``selu(x, alpha=1.67326, gamma=1.0507)``.

    Forward: $y = \gamma x$ if $x > 0$ else $\gamma \alpha (e^x - 1)$
    Grad x: $\bar{x} = \gamma \bar{y}$ if $x > 0$ else $\bar{y}\,\gamma \alpha e^x$
    Convention: at $x = 0$ the left slope $\gamma\alpha$ is used
    Derivation: ops/activations.md#selu
    """

    def __init__(self, alpha: float = 1.67326, gamma: float = 1.0507):
        super().__init__(alpha)
        self.gamma = checks.number("selu", "gamma", gamma)
# --8<-- [end:SeLU]


# --8<-- [start:Sigmoid]
class Sigmoid(engine.Operation):
    r"""Logistic sigmoid: ``sigmoid(x)``.

    Forward: $y = 1 / (1 + e^{-x})$
    Grad x: $\bar{x} = \bar{y}\, y (1 - y)$
    Derivation: ops/activations.md#sigmoid
    """

    def forward(self, x):
        check_float("sigmoid", x, names=["x"])
        self.y = backend.unary("sigmoid_forward", x)
        return self.y

    def backward(self, dy):
        return backend.grad_kernel("sigmoid_backward", dy, self.y)
# --8<-- [end:Sigmoid]


# --8<-- [start:HardSigmoid]
class HardSigmoid(engine.Operation):
    r"""Piecewise-linear sigmoid: ``hardsigmoid(x, alpha=0.2, gamma=0.5)``.

    Forward: $y = \max(0, \min(1, \alpha x + \gamma))$
    Grad x: $\bar{x} = \alpha \bar{y}\,[0 < \alpha x + \gamma < 1]$
    Convention: the gradient is 0 at both kinks
    Derivation: ops/activations.md#hardsigmoid
    """

    def __init__(self, alpha: float = 0.2, gamma: float = 0.5):
        super().__init__()
        self.alpha = checks.number("hardsigmoid", "alpha", alpha)
        self.gamma = checks.number("hardsigmoid", "gamma", gamma)

    def forward(self, x):
        check_float("hardsigmoid", x, names=["x"])
        self.x = x
        return backend.unary("hardsigmoid_forward", x, self.alpha, self.gamma)

    def backward(self, dy):
        return backend.grad_kernel("hardsigmoid_backward", dy, self.x,
                                   scalars=(self.alpha, self.gamma))
# --8<-- [end:HardSigmoid]


# --8<-- [start:Tanh]
class Tanh(engine.Operation):
    r"""Hyperbolic tangent: ``tanh(x)``.

    Forward: $y = \tanh x$
    Grad x: $\bar{x} = \bar{y}\,(1 - y^2)$
    Derivation: ops/activations.md#tanh
    """

    def forward(self, x):
        check_float("tanh", x, names=["x"])
        self.y = backend.unary("tanh_forward", x)
        return self.y

    def backward(self, dy):
        return backend.grad_kernel("tanh_backward", dy, self.y)
# --8<-- [end:Tanh]


# --8<-- [start:SoftPlus]
class SoftPlus(engine.Operation):
    r"""Softplus: ``softplus(x)``, computed without overflow.

    Forward: $y = \ln(1 + e^x)$
    Grad x: $\bar{x} = \bar{y}\,\sigma(x)$
    Derivation: ops/activations.md#softplus
    """

    def forward(self, x):
        check_float("softplus", x, names=["x"])
        self.x = x
        return backend.unary("softplus_forward", x)

    def backward(self, dy):
        return backend.grad_kernel("softplus_backward", dy, self.x)
# --8<-- [end:SoftPlus]


# --8<-- [start:SoftSign]
class SoftSign(engine.Operation):
    r"""Softsign: ``softsign(x)``.

    Forward: $y = x / (1 + |x|)$
    Grad x: $\bar{x} = \bar{y} / (1 + |x|)^2$
    Derivation: ops/activations.md#softsign
    """

    def forward(self, x):
        check_float("softsign", x, names=["x"])
        self.x = x
        return backend.unary("softsign_forward", x)

    def backward(self, dy):
        return backend.grad_kernel("softsign_backward", dy, self.x)
# --8<-- [end:SoftSign]


# --8<-- [start:SoftMax]
class SoftMax(engine.Operation):
    r"""Softmax along an axis: ``softmax(x, axis=1)`` (max-subtracted, stable).

    Forward: $y_i = e^{x_i - m} / \sum_j e^{x_j - m}$, $m = \max_j x_j$
    Grad x: $\bar{x}_i = y_i (\bar{y}_i - \sum_j \bar{y}_j y_j)$
    Derivation: ops/activations.md#softmax
    """

    def __init__(self, axis: int = 1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        check_float("softmax", x, names=["x"])
        axis = normalize_axis("softmax", self.axis, len(x.shape))
        self.view = three_d_view(x.shape, axis)
        self.y = backend.empty(x.shape, x.dtype, x.device)
        if x.size:
            backend.kernel("softmax_forward", x)(self.y.ptr, x.ptr, *self.view)
        return self.y

    def backward(self, dy):
        dx = backend.empty(dy.shape, dy.dtype, dy.device)
        if dy.size:
            backend.kernel("softmax_backward", dy)(dx.ptr, dy.ptr, self.y.ptr, *self.view)
        return dx
# --8<-- [end:SoftMax]


def relu(x):
    """max(0, x) (differentiable; relu'(0) = 0).

    NaN stays NaN, as in PyTorch, so a diverged value is not silently turned
    into 0, and relu(-0) = -0; the same on every device (tests/test_twin.py)."""
    return ReLU()(x)[0]


def leakyrelu(x, a: float = 0.01):
    """x if x >= 0 else a * x (differentiable)."""
    return LeakyRelu(a)(x)[0]


def elu(x, alpha: float = 1.0):
    """x if x > 0 else alpha * (exp(x) - 1) (differentiable)."""
    return Elu(alpha)(x)[0]


def selu(x, alpha: float = 1.67326, gamma: float = 1.0507):
    """gamma * elu(x, alpha) (differentiable)."""
    return SeLU(alpha, gamma)(x)[0]


def sigmoid(x):
    """1 / (1 + exp(-x)) (differentiable)."""
    return Sigmoid()(x)[0]


def hardsigmoid(x, alpha: float = 0.2, gamma: float = 0.5):
    """max(0, min(1, alpha * x + gamma)) (differentiable)."""
    return HardSigmoid(alpha, gamma)(x)[0]


def tanh(x):
    """tanh(x) (differentiable)."""
    return Tanh()(x)[0]


def softplus(x):
    """log(1 + exp(x)) (differentiable)."""
    return SoftPlus()(x)[0]


def softsign(x):
    """x / (1 + |x|) (differentiable)."""
    return SoftSign()(x)[0]


def softmax(x, axis: int = 1):
    """exp(x) / sum(exp(x)) along ``axis`` (differentiable)."""
    return SoftMax(axis)(x)[0]


# ---------------------------------------------------------------------- registry
# --8<-- [start:away_from_zero]
def _away_from_zero(rng, shapes=((3, 4), (2, 1, 5))):
    return [Sample([rng.uniform(0.1, 2.0, s) * rng.choice([-1, 1], s)]) for s in shapes]
# --8<-- [end:away_from_zero]


def _smooth(lo=-3.0, hi=3.0):
    def make(rng):
        return [Sample([rng.uniform(lo, hi, s)]) for s in ((3, 4), (2, 1, 5))]
    return make


def _np_softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_hardsigmoid(x, alpha=0.2, gamma=0.5):
    return np.clip(alpha * x + gamma, 0, 1)


# --8<-- [start:register_relu]
register(OpInfo("relu", (ReLU,), relu, lambda x: np.maximum(x, 0), _away_from_zero))
# --8<-- [end:register_relu]
# --8<-- [start:register_leakyrelu]
register(OpInfo("leakyrelu", (LeakyRelu,), leakyrelu,
                lambda x, a=0.01: np.where(x >= 0, x, a * x),
                lambda rng: [Sample([rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))],
                                    {"a": 0.2})]))
# --8<-- [end:register_leakyrelu]
# --8<-- [start:register_elu]
register(OpInfo("elu", (Elu,), elu,
                lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
                lambda rng: [Sample([rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))],
                                    {"alpha": 0.7})]))
# --8<-- [end:register_elu]
# --8<-- [start:register_selu]
register(OpInfo("selu", (SeLU,), selu,
                lambda x, alpha=1.67326, gamma=1.0507: gamma * np.where(x > 0, x, alpha * np.expm1(x)),
                _away_from_zero))
# --8<-- [end:register_selu]
# --8<-- [start:register_sigmoid]
register(OpInfo("sigmoid", (Sigmoid,), sigmoid, lambda x: 1 / (1 + np.exp(-x)), _smooth()))
# --8<-- [end:register_sigmoid]
# --8<-- [start:register_hardsigmoid]
register(OpInfo("hardsigmoid", (HardSigmoid,), hardsigmoid, _np_hardsigmoid,
                lambda rng: [Sample([np.array([-4.1, -2.2, -1.3, 0.4, 1.7, 2.3, 3.9])]),
                             Sample([rng.uniform(-2, 2, (3, 3))], {"alpha": 0.3, "gamma": 0.4})]))
# --8<-- [end:register_hardsigmoid]
# --8<-- [start:register_tanh]
register(OpInfo("tanh", (Tanh,), tanh, np.tanh, _smooth()))
# --8<-- [end:register_tanh]
# --8<-- [start:register_softplus]
register(OpInfo("softplus", (SoftPlus,), softplus, lambda x: np.logaddexp(0, x), _smooth()))
# --8<-- [end:register_softplus]
# --8<-- [start:register_softsign]
register(OpInfo("softsign", (SoftSign,), softsign, lambda x: x / (1 + np.abs(x)), _away_from_zero))
# --8<-- [end:register_softsign]
# --8<-- [start:register_softmax]
register(OpInfo("softmax", (SoftMax,), softmax, _np_softmax,
                lambda rng: [Sample([rng.uniform(-2, 2, (3, 4))]),
                             Sample([rng.uniform(-2, 2, (2, 3, 4))], {"axis": -1}),
                             Sample([rng.uniform(-2, 2, (2, 3, 2))], {"axis": 0})]))
# --8<-- [end:register_softmax]
