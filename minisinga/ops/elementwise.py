"""Elementwise arithmetic: add, sub, mul, div, pow (NumPy broadcasting), the
unary functions, n-ary sum and mean, and dropout.

Broadcasting happens here in Python: the inputs are expanded to the output's
shape (``backend.broadcast_to``) so that every C kernel sees compact buffers
of equal size; backward sums the gradient back over the expanded axes
(``backend.sum_to_shape``).  Derivations: docs/ops/elementwise.md.
"""
from __future__ import annotations

import builtins

from .. import backend, checks, dtypes, engine
from ..ctensor import CTensor
from ._util import check_float, int32_operands

_INT32 = dtypes.int32

__all__ = [
    "Add", "Sub", "Mul", "Div", "Pow", "Negative", "Reciprocal", "Abs", "Exp", "Log",
    "Sqrt", "Clip", "Identity", "Sum", "Mean", "Dropout",
    "add", "sub", "mul", "div", "pow", "negative", "reciprocal", "abs", "exp", "log",
    "sqrt", "clip", "identity", "sum", "mean", "dropout",
]


class _Broadcasting(engine.Operation):
    """Shared forward for the binary operations: check, broadcast, run a kernel.

    Not an operation: the shared base of add, sub, mul, div and pow.
    """

    kernel = ""
    #: whether two int32 operands have an int32 kernel (+, -, *; not / or **)
    int_kernel = False

    def forward(self, a: CTensor, b: CTensor) -> CTensor:
        opname = type(self).__name__.lower()
        if a.dtype == _INT32 or b.dtype == _INT32:  # integer data: see int32_operands
            a, b = int32_operands(opname, a, b, self.int_kernel)
            if a.dtype != _INT32:
                check_float(opname, a, b, names=["a", "b"])
        else:
            check_float(opname, a, b, names=["a", "b"])
        shape = backend.broadcast_shape(a.shape, b.shape, opname)
        self.a_shape, self.b_shape = a.shape, b.shape
        self.a = backend.broadcast_to(a, shape)
        self.b = backend.broadcast_to(b, shape)
        return backend.binary(self.kernel, self.a, self.b)


class Add(_Broadcasting):
    r"""Elementwise sum with broadcasting: ``add(a, b)``, ``a + b``.

    Forward: $y = a + b$
    Grad a: $\bar{a} = \mathrm{unbroadcast}(\bar{y})$
    Grad b: $\bar{b} = \mathrm{unbroadcast}(\bar{y})$
    Derivation: ops/elementwise.md#add
    """

    kernel = "add_forward"
    int_kernel = True

    def backward(self, dy):
        return backend.sum_to_shape(dy, self.a_shape), backend.sum_to_shape(dy, self.b_shape)


class Sub(_Broadcasting):
    r"""Elementwise difference with broadcasting: ``sub(a, b)``, ``a - b``.

    Forward: $y = a - b$
    Grad a: $\bar{a} = \mathrm{unbroadcast}(\bar{y})$
    Grad b: $\bar{b} = -\mathrm{unbroadcast}(\bar{y})$
    Derivation: ops/elementwise.md#sub
    """

    kernel = "sub_forward"
    int_kernel = True

    def backward(self, dy):
        db = backend.scale(backend.sum_to_shape(dy, self.b_shape), -1.0)
        return backend.sum_to_shape(dy, self.a_shape), db


class Mul(_Broadcasting):
    r"""Elementwise product with broadcasting: ``mul(a, b)``, ``a * b``.

    Forward: $y = a \, b$
    Grad a: $\bar{a} = \mathrm{unbroadcast}(\bar{y}\, b)$
    Grad b: $\bar{b} = \mathrm{unbroadcast}(\bar{y}\, a)$
    Derivation: ops/elementwise.md#mul
    """

    kernel = "mul_forward"
    int_kernel = True

    def backward(self, dy):
        da = backend.mul(dy, self.b) if self.needs_input_grad[0] else None
        db = backend.mul(dy, self.a) if self.needs_input_grad[1] else None
        return (da and backend.sum_to_shape(da, self.a_shape),
                db and backend.sum_to_shape(db, self.b_shape))


class Div(_Broadcasting):
    r"""Elementwise quotient with broadcasting: ``div(a, b)``, ``a / b``.

    Forward: $y = a / b$
    Grad a: $\bar{a} = \mathrm{unbroadcast}(\bar{y} / b)$
    Grad b: $\bar{b} = \mathrm{unbroadcast}(-\bar{y}\, a / b^2)$
    Derivation: ops/elementwise.md#div
    """

    kernel = "div_forward"

    def backward(self, dy):
        da = CTensor._new(dy.shape, dy.dtype, dy.device)
        db = CTensor._new(dy.shape, dy.dtype, dy.device)
        backend.kernel("div_backward", dy)(da.ptr, db.ptr, dy.ptr, self.a.ptr,
                                                self.b.ptr, dy.size)
        return backend.sum_to_shape(da, self.a_shape), backend.sum_to_shape(db, self.b_shape)


class Pow(_Broadcasting):
    r"""Elementwise power with a tensor exponent: ``pow(a, b)``, ``a ** b``.

    Forward: $y = a^b$
    Grad a: $\bar{a} = \mathrm{unbroadcast}(\bar{y}\, b\, a^{b-1})$
    Grad b: $\bar{b} = \mathrm{unbroadcast}(\bar{y}\, a^b \ln a)$
    Convention: $\bar{b} = 0$ where $a = 0$
    Derivation: ops/elementwise.md#pow
    """

    kernel = "pow_forward"

    def forward(self, a, b):
        self.y = super().forward(a, b)
        return self.y

    def backward(self, dy):
        da = CTensor._new(dy.shape, dy.dtype, dy.device)
        db = CTensor._new(dy.shape, dy.dtype, dy.device)
        backend.kernel("pow_backward", dy)(da.ptr, db.ptr, dy.ptr, self.a.ptr,
                                                self.b.ptr, self.y.ptr, dy.size)
        return backend.sum_to_shape(da, self.a_shape), backend.sum_to_shape(db, self.b_shape)


def add(a, b):
    """a + b with broadcasting (differentiable)."""
    return Add()(a, b)[0]


def sub(a, b):
    """a - b with broadcasting (differentiable)."""
    return Sub()(a, b)[0]


def mul(a, b):
    """a * b elementwise with broadcasting (differentiable)."""
    return Mul()(a, b)[0]


def div(a, b):
    """a / b elementwise with broadcasting (differentiable)."""
    return Div()(a, b)[0]


def pow(a, b):
    """a ** b elementwise with broadcasting; b is a Tensor (differentiable)."""
    return Pow()(a, b)[0]


# ---------------------------------------------------------------------- unary
class Negative(engine.Operation):
    r"""Negation: ``negative(x)``, ``-x``.

    Forward: $y = -x$
    Grad x: $\bar{x} = -\bar{y}$
    Derivation: ops/elementwise.md#negative
    """

    def forward(self, x):
        check_float("negative", x, names=["x"])
        return backend.scale(x, -1.0)

    def backward(self, dy):
        return backend.scale(dy, -1.0)


class Reciprocal(engine.Operation):
    r"""Elementwise reciprocal: ``reciprocal(x)``.

    Forward: $y = 1/x$
    Grad x: $\bar{x} = -\bar{y}\, y^2$
    Derivation: ops/elementwise.md#reciprocal
    """

    def forward(self, x):
        check_float("reciprocal", x, names=["x"])
        self.y = backend.unary("reciprocal_forward", x)
        return self.y

    def backward(self, dy):
        return backend.grad_kernel("reciprocal_backward", dy, self.y)


class Abs(engine.Operation):
    r"""Absolute value: ``abs(x)``.

    Forward: $y = |x|$
    Grad x: $\bar{x} = \bar{y}\,\mathrm{sign}(x)$
    Convention: $\mathrm{sign}(0) = 0$, so the gradient at 0 is 0
    Derivation: ops/elementwise.md#abs
    """

    def forward(self, x):
        check_float("abs", x, names=["x"])
        self.x = x
        return backend.unary("abs_forward", x)

    def backward(self, dy):
        return backend.grad_kernel("abs_backward", dy, self.x)


class Exp(engine.Operation):
    r"""Exponential: ``exp(x)``.

    Forward: $y = e^x$
    Grad x: $\bar{x} = \bar{y}\, y$
    Derivation: ops/elementwise.md#exp
    """

    def forward(self, x):
        check_float("exp", x, names=["x"])
        self.y = backend.unary("exp_forward", x)
        return self.y

    def backward(self, dy):
        return backend.mul(dy, self.y)


class Log(engine.Operation):
    r"""Natural logarithm: ``log(x)``; log(0) = -inf, log(x < 0) = nan (IEEE).

    Forward: $y = \ln x$
    Grad x: $\bar{x} = \bar{y} / x$
    Derivation: ops/elementwise.md#log
    """

    def forward(self, x):
        check_float("log", x, names=["x"])
        self.x = x
        return backend.unary("log_forward", x)

    def backward(self, dy):
        return backend.binary("div_forward", dy, self.x)


class Sqrt(engine.Operation):
    r"""Square root: ``sqrt(x)``.

    Forward: $y = \sqrt{x}$
    Grad x: $\bar{x} = \bar{y} / (2y)$
    Derivation: ops/elementwise.md#sqrt
    """

    def forward(self, x):
        check_float("sqrt", x, names=["x"])
        self.y = backend.unary("sqrt_forward", x)
        return self.y

    def backward(self, dy):
        return backend.grad_kernel("sqrt_backward", dy, self.y)


class Clip(engine.Operation):
    r"""Clamp into [min, max]: ``clip(x, min=None, max=None)`` (None: unbounded).

    Forward: $y = \min(\max(x, lo), hi)$
    Grad x: $\bar{x} = \bar{y}\,[lo \le x \le hi]$
    Convention: at $x = lo$ or $x = hi$ the gradient passes ($\bar{x} = \bar{y}$)
    Derivation: ops/elementwise.md#clip
    """

    def __init__(self, min=None, max=None):
        super().__init__()
        self.lo = -float("inf") if min is None else checks.number("clip", "min", min)
        self.hi = float("inf") if max is None else checks.number("clip", "max", max)
        if self.lo > self.hi:
            raise ValueError(f"clip: min={min} is greater than max={max}")

    def forward(self, x):
        check_float("clip", x, names=["x"])
        self.x = x
        return backend.unary("clip_forward", x, self.lo, self.hi)

    def backward(self, dy):
        return backend.grad_kernel("clip_backward", dy, self.x, scalars=(self.lo, self.hi))


class Identity(engine.Operation):
    r"""Identity: ``identity(x)`` returns a copy of x.

    Forward: $y = x$
    Grad x: $\bar{x} = \bar{y}$
    Derivation: ops/elementwise.md#identity
    """

    def forward(self, x):
        return x.clone()

    def backward(self, dy):
        return dy


def negative(x):
    """-x (differentiable)."""
    return Negative()(x)[0]


def reciprocal(x):
    """1 / x (differentiable)."""
    return Reciprocal()(x)[0]


def abs(x):
    """|x| (differentiable; gradient 0 at 0)."""
    return Abs()(x)[0]


def exp(x):
    """e ** x (differentiable)."""
    return Exp()(x)[0]


def log(x):
    """Natural log (differentiable)."""
    return Log()(x)[0]


def sqrt(x):
    """Square root (differentiable)."""
    return Sqrt()(x)[0]


def clip(x, min=None, max=None):
    """Clamp x into [min, max]; None leaves that side open (differentiable)."""
    return Clip(min, max)(x)[0]


def identity(x):
    """A copy of x (differentiable)."""
    return Identity()(x)[0]


# ---------------------------------------------------------------------- n-ary
class Sum(engine.Operation):
    r"""N-ary elementwise sum with broadcasting: ``sum(x1, x2, ...)``.

    Forward: $y = \sum_i x_i$
    Grad xs: $\bar{x}_i = \mathrm{unbroadcast}(\bar{y})$ for every input
    Derivation: ops/elementwise.md#sum
    """

    scale = 1.0

    def forward(self, *xs):
        if not xs:
            raise ValueError(f"{type(self).__name__.lower()}: needs at least one input")
        check_float(type(self).__name__.lower(), *xs)
        shape = xs[0].shape
        for x in xs[1:]:
            shape = backend.broadcast_shape(shape, x.shape, type(self).__name__.lower())
        self.shapes = [x.shape for x in xs]
        y = backend.broadcast_to(xs[0], shape).clone()
        for x in xs[1:]:
            backend.axpy(y, backend.broadcast_to(x, shape), 1.0)
        return backend.scale(y, self.scale) if self.scale != 1.0 else y

    def backward(self, dy):
        g = backend.scale(dy, self.scale) if self.scale != 1.0 else dy
        return tuple(backend.sum_to_shape(g, s) for s in self.shapes)


class Mean(Sum):
    r"""N-ary elementwise mean with broadcasting: ``mean(x1, x2, ...)``.

    Forward: $y = \frac{1}{n}\sum_i x_i$
    Grad xs: $\bar{x}_i = \mathrm{unbroadcast}(\bar{y}) / n$ for every input
    Derivation: ops/elementwise.md#mean
    """

    def forward(self, *xs):
        self.scale = 1.0 / builtins.max(len(xs), 1)
        return super().forward(*xs)


def sum(*xs):
    """x1 + x2 + ... elementwise (differentiable)."""
    return Sum()(*xs)[0]


def mean(*xs):
    """(x1 + x2 + ...) / n elementwise (differentiable)."""
    return Mean()(*xs)[0]


# ---------------------------------------------------------------------- dropout
class Dropout(engine.Operation):
    r"""Inverted dropout: ``dropout(x, ratio=0.5)``.

    In training each element is zeroed with probability ``ratio`` and the
    survivors are scaled by 1/(1 - ratio), so the expected output equals x
    (SINGA scales by 1 - ratio, a bug); outside training it is the identity.
    The mask comes from the device's random generator.

    Forward: $y = x \cdot m / (1 - r)$, $m_i \sim \mathrm{Bernoulli}(1 - r)$
    Grad x: $\bar{x} = \bar{y} \cdot m / (1 - r)$
    Derivation: ops/dropout.md#dropout
    """

    def __init__(self, ratio: float = 0.5):
        super().__init__()
        self.ratio = checks.number("dropout", "ratio", ratio)
        if not 0 <= self.ratio < 1:
            raise ValueError(f"dropout: ratio must be a number in [0, 1), got {ratio!r}")

    def forward(self, x):
        check_float("dropout", x, names=["x"])
        self.active = engine.training and self.ratio > 0
        if not self.active:
            return x
        self.scale = 1.0 / (1.0 - self.ratio)
        self.mask = backend.random_bernoulli(CTensor._new(x.shape, x.dtype, x.device), 1.0 - self.ratio)
        y = CTensor._new(x.shape, x.dtype, x.device)
        backend.kernel("dropout_forward", x)(y.ptr, x.ptr, self.mask.ptr, self.scale, x.size)
        return y

    def backward(self, dy):
        if not self.active:
            return dy
        dx = CTensor._new(dy.shape, dy.dtype, dy.device)
        backend.kernel("dropout_forward", dy)(dx.ptr, dy.ptr, self.mask.ptr, self.scale,
                                                   dy.size)
        return dx


def dropout(x, ratio: float = 0.5):
    """Zero each element with probability ``ratio`` in training, scale the rest by
    1/(1-ratio); identity outside training (differentiable)."""
    return Dropout(ratio)(x)[0]
