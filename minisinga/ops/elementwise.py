"""Elementwise arithmetic: add, sub, mul, div, pow (NumPy broadcasting), the
unary functions, n-ary sum and mean, and dropout.

Broadcasting happens here in Python: the inputs are expanded to the output's
shape (``backend.broadcast_to``) so that every C kernel sees compact buffers
of equal size; backward sums the gradient back over the expanded axes
(``backend.sum_to_shape``).  Derivations: docs/ops/elementwise.md.
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend, checks, dtypes, engine
from ..ctensor import CTensor
from ..testing import OpInfo, Sample, register
from ._util import check_float, int32_operands

_INT32 = dtypes.int32

__all__ = [
    "Add", "Sub", "Mul", "Div", "Pow", "Negative", "Reciprocal", "Abs", "Exp", "Log",
    "Sqrt", "Clip", "Identity", "Sum", "Mean", "Dropout",
    "add", "sub", "mul", "div", "pow", "negative", "reciprocal", "abs", "exp", "log",
    "sqrt", "clip", "identity", "sum", "mean", "dropout",
]


# --8<-- [start:Broadcasting]
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
# --8<-- [end:Broadcasting]


# --8<-- [start:Add]
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
# --8<-- [end:Add]


# --8<-- [start:Sub]
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
# --8<-- [end:Sub]


# --8<-- [start:Mul]
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
# --8<-- [end:Mul]


# --8<-- [start:Div]
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
# --8<-- [end:Div]


# --8<-- [start:Pow]
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
# --8<-- [end:Pow]


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
# --8<-- [start:Negative]
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
# --8<-- [end:Negative]


# --8<-- [start:Reciprocal]
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
# --8<-- [end:Reciprocal]


# --8<-- [start:Abs]
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
# --8<-- [end:Abs]


# --8<-- [start:Exp]
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
# --8<-- [end:Exp]


# --8<-- [start:Log]
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
# --8<-- [end:Log]


# --8<-- [start:Sqrt]
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
# --8<-- [end:Sqrt]


# --8<-- [start:Clip]
class Clip(engine.Operation):
    r"""Clamp into [min, max]: ``clip(x, min=None, max=None)`` (None: unbounded).

    Forward: $y = \min(\max(x, lo), hi)$
    Grad x: $\bar{x} = \bar{y}\,[lo \le x \le hi]$
    Convention: at $x = lo$ or $x = hi$ the gradient passes ($\bar{x} = \bar{y}$)
    Derivation: ops/elementwise.md#clip
    """

    def __init__(self, min=None, max=None):
        super().__init__()
        self.lo = -np.inf if min is None else checks.number("clip", "min", min)
        self.hi = np.inf if max is None else checks.number("clip", "max", max)
        if self.lo > self.hi:
            raise ValueError(f"clip: min={min} is greater than max={max}")

    def forward(self, x):
        check_float("clip", x, names=["x"])
        self.x = x
        return backend.unary("clip_forward", x, self.lo, self.hi)

    def backward(self, dy):
        return backend.grad_kernel("clip_backward", dy, self.x, scalars=(self.lo, self.hi))
# --8<-- [end:Clip]


# --8<-- [start:Identity]
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
# --8<-- [end:Identity]


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
# --8<-- [start:Sum]
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
# --8<-- [end:Sum]


# --8<-- [start:Mean]
class Mean(Sum):
    r"""N-ary elementwise mean with broadcasting: ``mean(x1, x2, ...)``.

    Forward: $y = \frac{1}{n}\sum_i x_i$
    Grad xs: $\bar{x}_i = \mathrm{unbroadcast}(\bar{y}) / n$ for every input
    Derivation: ops/elementwise.md#mean
    """

    def forward(self, *xs):
        self.scale = 1.0 / builtins.max(len(xs), 1)
        return super().forward(*xs)
# --8<-- [end:Mean]


def sum(*xs):
    """x1 + x2 + ... elementwise (differentiable)."""
    return Sum()(*xs)[0]


def mean(*xs):
    """(x1 + x2 + ...) / n elementwise (differentiable)."""
    return Mean()(*xs)[0]


# ---------------------------------------------------------------------- dropout
# --8<-- [start:Dropout]
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
# --8<-- [end:Dropout]


def dropout(x, ratio: float = 0.5):
    """Zero each element with probability ``ratio`` in training, scale the rest by
    1/(1-ratio); identity outside training (differentiable)."""
    return Dropout(ratio)(x)[0]


# ---------------------------------------------------------------------- registry
def _pair(shape_a, shape_b, lo=-1.0, hi=1.0):
    def make(rng):
        return [rng.uniform(lo, hi, shape_a), rng.uniform(lo, hi, shape_b)]
    return make


# --8<-- [start:binary_samples]
def _binary_samples(rng, positive_b=False, positive_a=False):
    shapes = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)),
              ((), (2, 2))]
    out = []
    for sa, sb in shapes:
        a = rng.uniform(0.5, 2.0, sa) if positive_a else rng.uniform(-1, 1, sa)
        b = rng.uniform(0.5, 2.0, sb) * (1 if positive_b else rng.choice([-1, 1], sb))
        out.append(Sample([a, b], note=f"{sa} with {sb}"))
    return out
# --8<-- [end:binary_samples]


def _unary_samples(lo, hi, shapes=((3, 4), (5,), (2, 1, 3))):
    def make(rng):
        return [Sample([rng.uniform(lo, hi, s)]) for s in shapes]
    return make


def _away_from_zero(rng, shapes=((3, 4), (5,))):
    out = []
    for s in shapes:
        x = rng.uniform(0.1, 1.0, s) * rng.choice([-1, 1], s)
        out.append(Sample([x]))
    return out


# --8<-- [start:register_add]
register(OpInfo("add", (Add,), add, np.add, _binary_samples))
# --8<-- [end:register_add]
# --8<-- [start:register_sub]
register(OpInfo("sub", (Sub,), sub, np.subtract, _binary_samples))
# --8<-- [end:register_sub]
# --8<-- [start:register_mul]
register(OpInfo("mul", (Mul,), mul, np.multiply, _binary_samples))
# --8<-- [end:register_mul]
# --8<-- [start:register_div]
register(OpInfo("div", (Div,), div, np.divide,
                lambda rng: _binary_samples(rng, positive_b=True)))
# --8<-- [end:register_div]
# --8<-- [start:register_pow]
register(OpInfo("pow", (Pow,), pow, np.power,
                lambda rng: _binary_samples(rng, positive_a=True)))
# --8<-- [end:register_pow]
# --8<-- [start:register_negative]
register(OpInfo("negative", (Negative,), negative, np.negative, _unary_samples(-2, 2)))
# --8<-- [end:register_negative]
# --8<-- [start:register_reciprocal]
register(OpInfo("reciprocal", (Reciprocal,), reciprocal, np.reciprocal,
                lambda rng: [Sample([rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))])]))
# --8<-- [end:register_reciprocal]
# --8<-- [start:register_abs]
register(OpInfo("abs", (Abs,), abs, np.abs, _away_from_zero))
# --8<-- [end:register_abs]
# --8<-- [start:register_exp]
register(OpInfo("exp", (Exp,), exp, np.exp, _unary_samples(-2, 2)))
# --8<-- [end:register_exp]
# --8<-- [start:register_log]
register(OpInfo("log", (Log,), log, np.log, _unary_samples(0.2, 3)))
# --8<-- [end:register_log]
# --8<-- [start:register_sqrt]
register(OpInfo("sqrt", (Sqrt,), sqrt, np.sqrt, _unary_samples(0.2, 3)))
# --8<-- [end:register_sqrt]
# --8<-- [start:register_clip]
register(OpInfo("clip", (Clip,), clip, lambda x, min=None, max=None: np.clip(x, min, max),
                lambda rng: [Sample([np.array([-0.93, -0.41, 0.12, 0.33, 0.58, 0.87])],
                                    {"min": -0.5, "max": 0.5}),
                             Sample([rng.uniform(-1, 1, (3, 3))], {"min": 0.05}),
                             Sample([rng.uniform(-1, 1, (3, 3))], {"max": 0.07})]))
# --8<-- [end:register_clip]
# --8<-- [start:register_identity]
register(OpInfo("identity", (Identity,), identity, lambda x: x.copy(), _unary_samples(-1, 1)))
# --8<-- [end:register_identity]
# --8<-- [start:register_sum]
register(OpInfo("sum", (Sum,), sum, lambda *xs: builtins.sum(xs),
                lambda rng: [Sample([rng.uniform(-1, 1, (2, 3)) for _ in range(3)]),
                             Sample([rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3,))])]))
# --8<-- [end:register_sum]
# --8<-- [start:register_mean]
register(OpInfo("mean", (Mean,), mean, lambda *xs: builtins.sum(xs) / len(xs),
                lambda rng: [Sample([rng.uniform(-1, 1, (2, 3)) for _ in range(3)]),
                             Sample([rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (2, 4))])]))
# --8<-- [end:register_mean]


# --8<-- [start:seeded_dropout]
def _seeded_dropout(x, ratio=0.5):
    # A fixed seed per call, so that the finite differences see the same mask.
    x.device.set_rand_seed(1234)
    return dropout(x, ratio)
# --8<-- [end:seeded_dropout]


# --8<-- [start:register_dropout]
register(OpInfo("dropout", (Dropout,), _seeded_dropout, None,
                lambda rng: [Sample([rng.uniform(-1, 1, (4, 5))], {"ratio": 0.3}),
                             Sample([rng.uniform(-1, 1, (6,))], {"ratio": 0.0})],
                random=True))
# --8<-- [end:register_dropout]
