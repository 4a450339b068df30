"""Trigonometric and hyperbolic functions (tanh is an activation, in
activation.py).  Each is a forward kernel and a backward kernel that reads the
saved input, in minisinga/c/mathfn.c.  Outside a function's domain (asin of 2,
acosh of 0) the result is NaN, as for log of a negative number.
Derivations: docs/ops/trigonometric.md."""
from __future__ import annotations

from .. import backend, engine
from ._util import check_float

__all__ = [
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
]


class _Trig(engine.Operation):
    """y = f(x) by the kernel ``forward_kernel``; dx by ``backward_kernel(dx, dy, x)``
    (their names written out in each class, so that grep finds every use)."""

    fname = ""
    forward_kernel = ""
    backward_kernel = ""

    def forward(self, x):
        check_float(self.fname, x, names=["x"])
        self.x = x
        return backend.unary(self.forward_kernel, x)

    def backward(self, dy):
        return backend.grad_kernel(self.backward_kernel, dy, self.x)


class Sin(_Trig):
    r"""Sine: ``sin(x)``.

    Forward: $y = \sin x$
    Grad x: $\bar{x} = \bar{y}\cos x$
    Derivation: ops/trigonometric.md#sin
    """

    fname = "sin"
    forward_kernel = "sin_forward"
    backward_kernel = "sin_backward"


class Cos(_Trig):
    r"""Cosine: ``cos(x)``.

    Forward: $y = \cos x$
    Grad x: $\bar{x} = -\bar{y}\sin x$
    Derivation: ops/trigonometric.md#cos
    """

    fname = "cos"
    forward_kernel = "cos_forward"
    backward_kernel = "cos_backward"


class Tan(_Trig):
    r"""Tangent: ``tan(x)`` (poles at $\pi/2 + k\pi$).

    Forward: $y = \tan x$
    Grad x: $\bar{x} = \bar{y} / \cos^2 x$
    Derivation: ops/trigonometric.md#tan
    """

    fname = "tan"
    forward_kernel = "tan_forward"
    backward_kernel = "tan_backward"


class Asin(_Trig):
    r"""Inverse sine: ``asin(x)``, for $|x| \le 1$.

    Forward: $y = \arcsin x$
    Grad x: $\bar{x} = \bar{y} / \sqrt{1 - x^2}$
    Derivation: ops/trigonometric.md#asin
    """

    fname = "asin"
    forward_kernel = "asin_forward"
    backward_kernel = "asin_backward"


class Acos(_Trig):
    r"""Inverse cosine: ``acos(x)``, for $|x| \le 1$.

    Forward: $y = \arccos x$
    Grad x: $\bar{x} = -\bar{y} / \sqrt{1 - x^2}$
    Derivation: ops/trigonometric.md#acos
    """

    fname = "acos"
    forward_kernel = "acos_forward"
    backward_kernel = "acos_backward"


class Atan(_Trig):
    r"""Inverse tangent: ``atan(x)``.

    Forward: $y = \arctan x$
    Grad x: $\bar{x} = \bar{y} / (1 + x^2)$
    Derivation: ops/trigonometric.md#atan
    """

    fname = "atan"
    forward_kernel = "atan_forward"
    backward_kernel = "atan_backward"


class Sinh(_Trig):
    r"""Hyperbolic sine: ``sinh(x)``.

    Forward: $y = \sinh x$
    Grad x: $\bar{x} = \bar{y}\cosh x$
    Derivation: ops/trigonometric.md#sinh
    """

    fname = "sinh"
    forward_kernel = "sinh_forward"
    backward_kernel = "sinh_backward"


class Cosh(_Trig):
    r"""Hyperbolic cosine: ``cosh(x)``.

    Forward: $y = \cosh x$
    Grad x: $\bar{x} = \bar{y}\sinh x$
    Derivation: ops/trigonometric.md#cosh
    """

    fname = "cosh"
    forward_kernel = "cosh_forward"
    backward_kernel = "cosh_backward"


class Asinh(_Trig):
    r"""Inverse hyperbolic sine: ``asinh(x)``.

    Forward: $y = \operatorname{asinh} x = \ln(x + \sqrt{x^2 + 1})$
    Grad x: $\bar{x} = \bar{y} / \sqrt{x^2 + 1}$
    Derivation: ops/trigonometric.md#asinh
    """

    fname = "asinh"
    forward_kernel = "asinh_forward"
    backward_kernel = "asinh_backward"


class Acosh(_Trig):
    r"""Inverse hyperbolic cosine: ``acosh(x)``, for $x \ge 1$.

    Forward: $y = \operatorname{acosh} x = \ln(x + \sqrt{x^2 - 1})$
    Grad x: $\bar{x} = \bar{y} / \sqrt{x^2 - 1}$
    Derivation: ops/trigonometric.md#acosh
    """

    fname = "acosh"
    forward_kernel = "acosh_forward"
    backward_kernel = "acosh_backward"


class Atanh(_Trig):
    r"""Inverse hyperbolic tangent: ``atanh(x)``, for $|x| < 1$.

    Forward: $y = \operatorname{atanh} x = \tfrac{1}{2}\ln\frac{1 + x}{1 - x}$
    Grad x: $\bar{x} = \bar{y} / (1 - x^2)$
    Derivation: ops/trigonometric.md#atanh
    """

    fname = "atanh"
    forward_kernel = "atanh_forward"
    backward_kernel = "atanh_backward"


def sin(x):
    """sin x, elementwise (differentiable)."""
    return Sin()(x)[0]


def cos(x):
    """cos x, elementwise (differentiable)."""
    return Cos()(x)[0]


def tan(x):
    """tan x, elementwise (differentiable)."""
    return Tan()(x)[0]


def asin(x):
    """arcsin x for |x| <= 1, elementwise (differentiable for |x| < 1)."""
    return Asin()(x)[0]


def acos(x):
    """arccos x for |x| <= 1, elementwise (differentiable for |x| < 1)."""
    return Acos()(x)[0]


def atan(x):
    """arctan x, elementwise (differentiable)."""
    return Atan()(x)[0]


def sinh(x):
    """sinh x, elementwise (differentiable)."""
    return Sinh()(x)[0]


def cosh(x):
    """cosh x, elementwise (differentiable)."""
    return Cosh()(x)[0]


def asinh(x):
    """asinh x, elementwise (differentiable)."""
    return Asinh()(x)[0]


def acosh(x):
    """acosh x for x >= 1, elementwise (differentiable for x > 1)."""
    return Acosh()(x)[0]


def atanh(x):
    """atanh x for |x| < 1, elementwise (differentiable)."""
    return Atanh()(x)[0]
