"""Linear algebra: matmul (2-D and batched), gemm, add_bias.
Derivations: docs/ops/matmul.md."""
from __future__ import annotations

import math

from .. import backend, checks, engine
from ..ctensor import CTensor
from ._util import check_float

__all__ = ["Matmul", "Gemm", "AddBias", "matmul", "gemm", "add_bias", "batched_matmul"]


def _batch_operand(x: CTensor, batch_shape, rows: int, cols: int):
    """(CTensor, stride) for one side of a batched product: a stride of 0 when x
    has no batch of its own (it is shared by every product), else x expanded to
    the full batch."""
    nbatch = math.prod(batch_shape)
    if math.prod(x.shape[:-2]) == 1:
        return x, 0
    if tuple(x.shape[:-2]) != tuple(batch_shape):
        x = backend.broadcast_to(x, tuple(batch_shape) + (rows, cols))
    return x, (rows * cols if nbatch > 1 else 0)


def batched_matmul(a: CTensor, b: CTensor, trans_a: int = 0, trans_b: int = 0,
                   alpha: float = 1.0) -> CTensor:
    """alpha * op(a) @ op(b) over broadcast batch dimensions (shapes already checked);
    op transposes the last two axes when its flag is set."""
    m, k = (a.shape[-1], a.shape[-2]) if trans_a else (a.shape[-2], a.shape[-1])
    n = b.shape[-2] if trans_b else b.shape[-1]
    if len(a.shape) == 2 and len(b.shape) == 2:  # the common case: one plain gemm
        y = CTensor._new((m, n), a.dtype, a.device)
        if y.size:
            backend.kernel("gemm", a)(y.ptr, a.ptr, b.ptr, m, n, k, trans_a, trans_b, alpha, 0.0)
        return y
    batch = backend.broadcast_shape(a.shape[:-2], b.shape[:-2], "matmul")
    a, sa = _batch_operand(a, batch, a.shape[-2], a.shape[-1])
    b, sb = _batch_operand(b, batch, b.shape[-2], b.shape[-1])
    y = CTensor._new(tuple(batch) + (m, n), a.dtype, a.device)
    nbatch = math.prod(batch)
    if y.size:
        if nbatch == 1:
            backend.kernel("gemm", a)(y.ptr, a.ptr, b.ptr, m, n, k, trans_a, trans_b,
                                           alpha, 0.0)
        else:
            backend.kernel("gemm_batched", a)(y.ptr, a.ptr, b.ptr, nbatch, m, n, k,
                                                   trans_a, trans_b, alpha, 0.0, sa, sb, m * n)
    return y


class Matmul(engine.Operation):
    r"""Matrix product, 2-D or batched over broadcast leading axes: ``matmul(a, b)``, ``a @ b``.

    Forward: $Y = A B$
    Grad a: $\bar{A} = \mathrm{unbroadcast}(\bar{Y} B^\top)$
    Grad b: $\bar{B} = \mathrm{unbroadcast}(A^\top \bar{Y})$
    Derivation: ops/matmul.md#matmul
    """

    def forward(self, a, b):
        check_float("matmul", a, b, names=["a", "b"])
        if len(a.shape) < 2 or len(b.shape) < 2:
            raise ValueError(f"matmul: both inputs need at least 2 dimensions, got shapes "
                             f"{a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: inner dimensions differ: a {a.shape} has "
                             f"{a.shape[-1]} columns but b {b.shape} has {b.shape[-2]} rows")
        self.a, self.b = a, b
        return batched_matmul(a, b)

    def backward(self, dy):
        da = db = None
        if self.needs_input_grad[0]:
            da = backend.sum_to_shape(batched_matmul(dy, self.b, 0, 1), self.a.shape)
        if self.needs_input_grad[1]:
            db = backend.sum_to_shape(batched_matmul(self.a, dy, 1, 0), self.b.shape)
        return da, db


def matmul(a, b):
    """a @ b for 2-D or batched (..., M, K) @ (..., K, N) tensors (differentiable)."""
    return Matmul()(a, b)[0]


def _gemm(out: CTensor | None, a, b, m, n, k, ta, tb, alpha, beta) -> CTensor:
    if out is None:
        out = CTensor._new((m, n), a.dtype, a.device)
    if out.size:
        backend.kernel("gemm", a)(out.ptr, a.ptr, b.ptr, m, n, k, ta, tb, alpha, beta)
    return out


class Gemm(engine.Operation):
    r"""ONNX/SINGA general matrix multiply:
    ``gemm(A, B, C=None, alpha=1.0, beta=1.0, transA=0, transB=0)``; C broadcasts to (M, N).

    Forward: $Y = \alpha A' B' + \beta C$, $A' = A^\top$ if transA, $B' = B^\top$ if transB
    Grad A: $\bar{A}' = \alpha \bar{Y} B'^\top$ (transposed back when transA)
    Grad B: $\bar{B}' = \alpha A'^\top \bar{Y}$ (transposed back when transB)
    Grad C: $\bar{C} = \beta\,\mathrm{unbroadcast}(\bar{Y})$
    Derivation: ops/matmul.md#gemm
    """

    def __init__(self, alpha=1.0, beta=1.0, transA=0, transB=0):
        super().__init__()
        self.alpha = checks.number("gemm", "alpha", alpha)
        self.beta = checks.number("gemm", "beta", beta)
        self.ta = int(checks.flag("gemm", "transA", transA))
        self.tb = int(checks.flag("gemm", "transB", transB))

    def forward(self, A, B, C=None):
        names = ["A", "B"] + (["C"] if C is not None else [])
        check_float("gemm", *([A, B] + ([C] if C is not None else [])), names=names)
        if len(A.shape) != 2 or len(B.shape) != 2:
            raise ValueError(f"gemm: A and B must be 2-D, got {A.shape} and {B.shape}")
        m, k = (A.shape[1], A.shape[0]) if self.ta else A.shape
        k2, n = (B.shape[1], B.shape[0]) if self.tb else B.shape
        if k != k2:
            raise ValueError(f"gemm: inner dimensions differ: op(A) is ({m}, {k}) and op(B) is "
                             f"({k2}, {n}) (A {A.shape}, B {B.shape}, transA={self.ta}, "
                             f"transB={self.tb})")
        self.A, self.B, self.m, self.n, self.k = A, B, m, n, k
        self.c_shape = None
        if C is not None:
            backend.broadcast_shape(C.shape, (m, n), "gemm")
            if len(C.shape) > 2:
                raise ValueError(f"gemm: C {C.shape} must broadcast to ({m}, {n})")
            self.c_shape = C.shape
            y = backend.broadcast_to(C, (m, n)).clone()
            return _gemm(y, A, B, m, n, k, self.ta, self.tb, self.alpha, self.beta)
        return _gemm(None, A, B, m, n, k, self.ta, self.tb, self.alpha, 0.0)

    def backward(self, dy):
        m, n, k, a = self.m, self.n, self.k, self.alpha
        if self.ta:  # dA (k, m) = alpha * op(B) @ dy^T
            dA = _gemm(None, self.B, dy, k, m, n, self.tb, 1, a, 0.0)
        else:        # dA (m, k) = alpha * dy @ op(B)^T
            dA = _gemm(None, dy, self.B, m, k, n, 0, 1 - self.tb, a, 0.0)
        if self.tb:  # dB (n, k) = alpha * dy^T @ op(A)
            dB = _gemm(None, dy, self.A, n, k, m, 1, self.ta, a, 0.0)
        else:        # dB (k, n) = alpha * op(A)^T @ dy
            dB = _gemm(None, self.A, dy, k, n, m, 1 - self.ta, 0, a, 0.0)
        if self.c_shape is None:
            return dA, dB
        return dA, dB, backend.scale(backend.sum_to_shape(dy, self.c_shape), self.beta)


def gemm(A, B, C=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    """alpha * op(A) @ op(B) + beta * C (differentiable in A, B and C)."""
    op = Gemm(alpha, beta, transA, transB)
    return (op(A, B, C) if C is not None else op(A, B))[0]


class AddBias(engine.Operation):
    r"""Add a bias vector to each row (axis=0) or each column (axis=1) of a matrix:
    ``add_bias(x, b, axis=0)``; b may be (C,) or (1, C) (axis 0), (M,) or (M, 1) (axis 1).

    Forward: $y_{ij} = x_{ij} + b_j$ (axis 0) or $x_{ij} + b_i$ (axis 1)
    Grad x: $\bar{x} = \bar{y}$
    Grad b: $\bar{b}_j = \sum_i \bar{y}_{ij}$ (axis 0) or $\bar{b}_i = \sum_j \bar{y}_{ij}$ (axis 1)
    Derivation: ops/matmul.md#add_bias
    """

    def __init__(self, axis: int = 0):
        super().__init__()
        if axis not in (0, 1):
            raise ValueError(f"add_bias: axis must be 0 (add to every row) or 1 (to every "
                             f"column), got {axis!r}")
        self.axis = axis

    def forward(self, x, b):
        check_float("add_bias", x, b, names=["x", "b"])
        if len(x.shape) != 2:
            raise ValueError(f"add_bias: x must be 2-D, got shape {x.shape}")
        m, n = x.shape
        want = n if self.axis == 0 else m
        ok = b.size == want and len(b.shape) in (1, 2) and max(b.shape) == want
        if not ok:
            raise ValueError(f"add_bias: b {b.shape} must have {want} elements "
                             f"(({want},) or {(1, want) if self.axis == 0 else (want, 1)}) "
                             f"for x {x.shape} with axis={self.axis}")
        self.b_shape = b.shape
        y = CTensor._new(x.shape, x.dtype, x.device)
        if y.size:
            backend.kernel("add_bias_forward", x)(y.ptr, x.ptr, b.ptr, m, n, self.axis)
        return y

    def backward(self, dy):
        m, n = dy.shape
        outer, mid, inner = (1, m, n) if self.axis == 0 else (m, n, 1)
        db = CTensor._new(self.b_shape, dy.dtype, dy.device)  # b's own shape: no reshape
        backend.kernel("reduce_sum_forward", dy)(db.ptr, dy.ptr, outer, mid, inner, 1.0)
        return dy, db


def add_bias(x, b, axis: int = 0):
    """x + b broadcast over rows (axis 0) or columns (axis 1) (differentiable)."""
    return AddBias(axis)(x, b)[0]
