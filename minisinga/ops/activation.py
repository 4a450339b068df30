"""Activation functions and softmax.  Derivations: docs/ops/activations.md."""
from __future__ import annotations

from .. import backend, checks, engine
from ._util import check_float, normalize_axis, three_d_view

__all__ = [
    "ReLU", "LeakyRelu", "Elu", "SeLU", "Sigmoid", "HardSigmoid", "Tanh", "SoftPlus",
    "SoftSign", "SoftMax",
    "relu", "leakyrelu", "elu", "selu", "sigmoid", "hardsigmoid", "tanh", "softplus",
    "softsign", "softmax",
]


class ReLU(engine.Operation):
    r"""Rectified linear unit: ``relu(x)``.

    Forward: $y = \max(0, x)$
    Grad x: $\bar{x} = \bar{y}\,[x > 0]$
    Convention: $\mathrm{relu}'(0) = 0$; NaN stays NaN (as in PyTorch) and $\mathrm{relu}(-0) = -0$
    Derivation: ops/activations.md#relu
    """

    def forward(self, x):
        check_float("relu", x, names=["x"])
        y = backend.unary("relu_forward", x)
        # NOTE: backward keeps y, not x: [y > 0] is [x > 0] (NaN and -0 included), and y
        # is usually kept anyway by the next operation (batch norm, a matmul), while x
        # can then be freed.
        self.y = y
        return y

    def backward(self, dy):
        return backend.grad_kernel("relu_backward", dy, self.y)


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
