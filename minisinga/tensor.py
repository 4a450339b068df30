"""minisinga.tensor: the user-facing Tensor (SINGA's API).

The class itself is in ``minisinga/_tensor.py``; this module re-exports it, gives
it its operators (``+``, ``@``, ``<``, ``t[i]``, ``+=``...), which are
operations and so differentiable, and holds SINGA's tensor functions.

A ``Tensor`` wraps a ``CTensor`` (its ``.data``) and adds what autograd needs:
``creator`` (the Operation that produced it), ``requires_grad`` (walk the graph
through it) and ``stores_grad`` (``autograd.backward`` yields its gradient; the
parameters of a model).  The rule: ``stores_grad=True`` needs
``requires_grad=True``.

Every fill, copy and random number is computed by the C kernels; NumPy is only
used to move data in and out.
"""
from __future__ import annotations

import builtins

import numpy as np

from . import backend, dtypes, engine
from . import operations as ops
from ._tensor import (  # noqa: F401  (re-exported: SINGA's tensor module has them)
    EPOCH,
    Tensor,
    _check_number,
    _check_tensor,
    changed_since,
    mark_changed,
    normalize_perm,
    to_numpy,
)
from .ctensor import CTensor, check_shape
from .dtypes import float32, float64, int32

__all__ = [
    "Tensor", "PlaceHolder", "float32", "float64", "int32", "from_numpy", "to_numpy", "zeros",
    "ones", "zeros_like", "ones_like", "random", "from_raw_tensor",
    "from_raw_tensors", "to_host", "product", "sizeof", "mark_changed",
    "reshape", "transpose", "contiguous", "concatenate", "abs", "exp", "log", "sqrt",
    "square", "ceil", "sign", "sigmoid", "tanh", "softmax", "pow", "lt", "le", "gt", "ge",
    "eq", "add", "sub", "eltwise_mult", "div", "axpy", "add_column", "add_row",
    "sum_columns", "sum_rows", "sum", "average", "mult", "repeat", "tensordot", "einsum",
    "copy_data_to_from", "copy_from_numpy", "bernoulli", "gaussian", "uniform", "dtype_name",
]


# -- Tensor's operators: each is an operation, so it is differentiable (SINGA's is not) ---
class _Operators:
    """The methods of Tensor that are operations.  Tensor lives in _tensor.py, below
    the engine that records operations; these are written here, above the
    operations, and copied onto Tensor just after this class, so that the
    imports run one way: _tensor <- engine <- ops <- tensor."""

    def l1(self) -> float:
        """The mean absolute value, sum(|x|) / size (SINGA's ``l1``)."""
        return ops.reduce_mean(ops.abs(self), keepdims=0).item()

    def l2(self) -> float:
        """sqrt(sum(x**2)) / size (SINGA's ``l2``)."""
        total = ops.reduce_sum(ops.mul(self, self), keepdims=0)
        return ops.sqrt(total).item() / self.size()

    def __add__(self, other):
        return ops.add(self, self._operand(other))

    def __radd__(self, other):
        return ops.add(self._operand(other), self)

    def __sub__(self, other):
        return ops.sub(self, self._operand(other))

    def __rsub__(self, other):
        return ops.sub(self._operand(other), self)

    def __mul__(self, other):
        return ops.mul(self, self._operand(other))

    def __rmul__(self, other):
        return ops.mul(self._operand(other), self)

    def __truediv__(self, other):
        return ops.div(self, self._operand(other))

    def __rtruediv__(self, other):
        return ops.div(self._operand(other), self)

    __rdiv__ = __rtruediv__  # SINGA's (Python 2) spelling

    def __floordiv__(self, other):
        """``t // x``: the quotient rounded down (SINGA: divide, then floor); its
        gradient is 0 (floor is piecewise constant)."""
        return ops.floor(ops.div(self, self._operand(other)))

    def __pow__(self, other):
        return ops.pow(self, self._operand(other))

    def __rpow__(self, other):
        return ops.pow(self._operand(other), self)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"unsupported operand for @: a Tensor and a {type(other).__name__}")
        return ops.matmul(self, other)

    def __neg__(self):
        return ops.negative(self)

    # -- in-place arithmetic: the tensor's own memory changes ---------------------------
    def _inplace(self, other, symbol: str, op_class, function):
        """``self <symbol>= other``: the result is written into this tensor's memory.

        While autograd records (``autograd.training``) and the result is on the
        gradient path, the change is recorded too: the old value becomes the input
        of a new operation and this tensor its output (PyTorch's "rebase").  A
        parameter (``stores_grad``) is changed like an optimizer changes it: its
        new value is data.  Every change is counted (``mark_changed``), and an
        operation that saved this memory for its backward refuses to run on the
        changed values."""
        other = self._operand(other)
        on_path = engine.training and (
            (self.requires_grad and self.dtype != int32) or
            (other.requires_grad and other.dtype != int32))
        if on_path and self.stores_grad:
            if other.requires_grad and other.dtype != int32:
                raise RuntimeError(
                    f"{self.name} {symbol}= ...: {self.name} stores its gradient (a parameter) "
                    f"and the right-hand side is on the gradient path while "
                    f"autograd.training is on; a parameter changed in place is not an "
                    f"operation autograd can differentiate. Write "
                    f"`y = {self.name} {symbol} other` for a new tensor instead")
            on_path = False  # a parameter update, as an optimizer makes it
        if not on_path:
            out = op_class().forward(self.data, other.data)
        else:
            result = function(self._detached_old_value(), other)
            out = result.data
        if out.shape != self.shape or out.dtype != self.dtype:
            raise ValueError(
                f"{symbol}=: the result has shape {out.shape} and dtype {dtypes.name(out.dtype)} "
                f"but the tensor has shape {self.shape} and dtype {dtypes.name(self.dtype)}; "
                f"an in-place operator cannot change either (right-hand side: shape "
                f"{other.shape}, {dtypes.name(other.dtype)})")
        backend.copy_into(self.data, out)
        mark_changed(self.data)
        if on_path:  # this tensor is now the output of the new operation
            op = result.creator
            op.y_id2idx[id(self)] = 0
            self.creator = op
            self.requires_grad = True
        return self

    def __iadd__(self, other):
        return self._inplace(other, "+", ops.Add, ops.add)

    def __isub__(self, other):
        return self._inplace(other, "-", ops.Sub, ops.sub)

    def __imul__(self, other):
        return self._inplace(other, "*", ops.Mul, ops.mul)

    def __itruediv__(self, other):
        return self._inplace(other, "/", ops.Div, ops.div)

    __idiv__ = __itruediv__  # SINGA's (Python 2) spelling

    # -- comparisons: 1.0 / 0.0 tensors, constants for autograd (SINGA's rule) -------------
    def __lt__(self, other):
        return ops.less(self, self._operand(other))

    def __gt__(self, other):
        return ops.greater(self, self._operand(other))

    def __le__(self, other):
        other = self._operand(other)
        # NOTE: less or equal, not "not greater": a NaN compares false both ways
        return ops._or(ops.less(self, other), ops.equal(self, other))

    def __ge__(self, other):
        other = self._operand(other)
        return ops._or(ops.greater(self, other), ops.equal(self, other))

    def __eq__(self, other):
        if other is None:  # SINGA: ``t == None`` is False
            return False
        if not isinstance(other, Tensor) and not dtypes.is_number(other):
            return NotImplemented
        return ops.equal(self, self._operand(other))

    def __ne__(self, other):
        if other is None:
            return True
        if not isinstance(other, Tensor) and not dtypes.is_number(other):
            return NotImplemented
        return ops._not(ops.equal(self, self._operand(other)))

    # -- indexing -------------------------------------------------------------------------
    def __getitem__(self, keys) -> Tensor:
        """``t[i]``, ``t[a:b:c]``, ``t[i, a:b]``: ints and slices on the leading
        axes; a copy, tracked by autograd (the gradient scatters back).

        An int drops its axis, a slice keeps it (NumPy's rule); an int outside
        ``[-d, d)`` raises IndexError (so ``for row in t`` stops)."""
        if not isinstance(keys, tuple):
            keys = (keys,)
        if len(keys) > self.ndim():
            raise IndexError(f"too many indices: {len(keys)} for a tensor of shape {self.shape}")
        y = self
        axis = 0  # the axis of y that the next key indexes
        for i, key in enumerate(keys):
            dim = self.shape[i]
            if isinstance(key, slice):
                y = _slice_any(y, axis, *key.indices(dim))
                axis += 1
            elif dtypes.is_int(key):
                if not -dim <= key < dim:
                    raise IndexError(f"index {key} is out of range for axis {i} of size {dim} "
                                     f"(shape {self.shape})")
                key = int(key) % dim
                y = _slice_any(y, axis, key, key + 1, 1)
                y = ops.reshape(y, y.shape[:axis] + y.shape[axis + 1:])  # drop the axis
            else:
                raise TypeError(f"tensor indices must be ints or slices, got "
                                f"{type(key).__name__} ({key!r})")
        return y

    def repeat(self, repeats, axis=None) -> Tensor:
        """Repeat elements, as ``np.repeat``: ``repeats`` an int or one int per
        element along ``axis``; ``axis=None`` repeats the flattened tensor."""
        return repeat(self, repeats, axis)



for _name, _method in list(vars(_Operators).items()):
    if callable(_method):   # (the functions, not __doc__ or __module__)
        setattr(Tensor, _name, _method)


# -- module functions ------------------------------------------------------------------
def from_numpy(np_array, dev=None) -> Tensor:
    """A Tensor holding a copy of ``np_array`` on ``dev`` (default: the CPU).

    float64 becomes float32 and integer types become int32 (SINGA's rules);
    use ``Tensor(data=arr, dtype=float64)`` to keep float64.
    """
    if not isinstance(np_array, np.ndarray):
        raise TypeError(f"np_array: expected a NumPy array, got {type(np_array).__name__}")
    return Tensor(data=np_array, device=dev)



def to_host(t: Tensor) -> Tensor:
    """A copy of ``t`` on the CPU."""
    return Tensor(data=to_numpy(t), dtype=t.dtype)


def from_raw_tensor(ctensor: CTensor) -> Tensor:
    """Wrap a CTensor as a Tensor (no copy)."""
    return Tensor(data=ctensor)


def from_raw_tensors(ctensors) -> list[Tensor]:
    return [from_raw_tensor(c) for c in ctensors]


def zeros(shape, device=None, dtype=float32) -> Tensor:
    """A tensor of zeros."""
    return Tensor(shape, device, dtype).set_value(0)


def ones(shape, device=None, dtype=float32) -> Tensor:
    """A tensor of ones."""
    return Tensor(shape, device, dtype).set_value(1)


def zeros_like(t: Tensor) -> Tensor:
    return zeros(t.shape, t.device, t.dtype)


def ones_like(t: Tensor) -> Tensor:
    return ones(t.shape, t.device, t.dtype)


def random(shape, device=None) -> Tensor:
    """A float32 tensor of U[0, 1) samples."""
    return Tensor(shape, device).uniform(0.0, 1.0)


def product(shape) -> int:
    return backend.numel(check_shape(shape))


def sizeof(dtype) -> int:
    """Bytes per element of ``dtype``."""
    return dtypes.itemsize(dtypes.as_dtype(dtype))


#: The name of each element type code (SINGA's ``dtype_name``).
dtype_name = {float32: "float32", float64: "float64", int32: "int32"}

#: SINGA's name for a Tensor that stands for an input (``Model.compile([PlaceHolder(...)])``).
PlaceHolder = Tensor


# -- SINGA's module functions: each is one or a few operations -------------------------
# Unlike SINGA's (which are eager and untracked), the ones that compute are built
# from autograd operations, so they are differentiable like ``+`` and ``@``.
# ``reshape`` and ``transpose`` are the Tensor methods (a view; a copy).
def _into(out, result: Tensor, argname: str = "out") -> Tensor:
    """``result``, or, when ``out`` is a Tensor, ``result`` copied into ``out``."""
    if out is None:
        return result
    _check_tensor(out, argname)
    if out.shape != result.shape:
        raise ValueError(f"{argname}: has shape {out.shape} but the result has shape "
                         f"{result.shape}")
    return out.copy_data(result)


def reshape(t: Tensor, shape) -> Tensor:
    """``t.reshape(shape)``: a view of the same memory with a new shape."""
    return _check_tensor(t).reshape(shape)


def transpose(t: Tensor, axes=None) -> Tensor:
    """``t.transpose(axes)``: a copy with permuted axes (reversed when None)."""
    return _check_tensor(t).transpose(axes)


def contiguous(t: Tensor) -> Tensor:
    """A compact copy of ``t``."""
    return _check_tensor(t).contiguous()


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join ``tensors`` (a list) along ``axis`` (``ops.cat``)."""
    return ops.cat(list(tensors), axis)


def abs(t: Tensor) -> Tensor:
    """|t|, elementwise."""
    return ops.abs(t)


def exp(t: Tensor) -> Tensor:
    """e**t, elementwise."""
    return ops.exp(t)


def log(t: Tensor) -> Tensor:
    """The natural logarithm, elementwise."""
    return ops.log(t)


def sqrt(t: Tensor) -> Tensor:
    """The square root, elementwise."""
    return ops.sqrt(t)


def square(t: Tensor) -> Tensor:
    """t * t, elementwise (the product operation: its gradient is 2 t dy)."""
    return ops.mul(t, t)


def ceil(t: Tensor) -> Tensor:
    """The smallest integer >= t, elementwise (a zero gradient)."""
    return ops.ceil(t)


def sign(t: Tensor) -> Tensor:
    """-1, 0 or 1, elementwise."""
    return ops.sign(t)


def sigmoid(t: Tensor) -> Tensor:
    """1 / (1 + e**-t), elementwise."""
    return ops.sigmoid(t)


def tanh(t: Tensor) -> Tensor:
    """tanh(t), elementwise."""
    return ops.tanh(t)


def softmax(t: Tensor, out=None) -> Tensor:
    """The softmax of each row of a 1-D or 2-D tensor (the last axis)."""
    _check_tensor(t)
    return _into(out, ops.softmax(t, axis=-1))


def pow(t: Tensor, x, out=None) -> Tensor:
    """t ** x, elementwise; ``x`` a number or a Tensor (broadcast)."""
    return _into(out, _check_tensor(t) ** x)


def lt(t: Tensor, x) -> Tensor:
    """1.0 where t < x, else 0.0 (x a number or a Tensor, broadcast)."""
    return _check_tensor(t) < x


def le(t: Tensor, x) -> Tensor:
    """1.0 where t <= x, else 0.0."""
    return _check_tensor(t) <= x


def gt(t: Tensor, x) -> Tensor:
    """1.0 where t > x, else 0.0."""
    return _check_tensor(t) > x


def ge(t: Tensor, x) -> Tensor:
    """1.0 where t >= x, else 0.0."""
    return _check_tensor(t) >= x


def eq(t: Tensor, x) -> Tensor:
    """1.0 where t == x, else 0.0."""
    return _check_tensor(t) == x


def add(lhs: Tensor, rhs, ret=None) -> Tensor:
    """lhs + rhs (written into ``ret`` when given)."""
    return _into(ret, _check_tensor(lhs, "lhs") + rhs, "ret")


def sub(lhs: Tensor, rhs, ret=None) -> Tensor:
    """lhs - rhs (written into ``ret`` when given)."""
    return _into(ret, _check_tensor(lhs, "lhs") - rhs, "ret")


def eltwise_mult(lhs: Tensor, rhs, ret=None) -> Tensor:
    """lhs * rhs, elementwise (written into ``ret`` when given)."""
    return _into(ret, _check_tensor(lhs, "lhs") * rhs, "ret")


def div(lhs: Tensor, rhs, ret=None) -> Tensor:
    """lhs / rhs, elementwise (written into ``ret`` when given)."""
    return _into(ret, _check_tensor(lhs, "lhs") / rhs, "ret")


def axpy(alpha, x: Tensor, y: Tensor) -> Tensor:
    """y += alpha * x, in place; returns y."""
    _check_number(alpha, "alpha", "tensor.axpy")
    y += _check_tensor(x, "x") * alpha
    return y


def add_column(alpha, v: Tensor, beta, M: Tensor) -> Tensor:
    """M = alpha * v + beta * M for every column of M, in place; returns M."""
    _check_number(alpha, "alpha", "tensor.add_column")
    _check_number(beta, "beta", "tensor.add_column")
    M *= beta
    return M.add_column(_check_tensor(v, "v") * alpha)


def add_row(alpha, v: Tensor, beta, M: Tensor) -> Tensor:
    """M = alpha * v + beta * M for every row of M, in place; returns M."""
    _check_number(alpha, "alpha", "tensor.add_row")
    _check_number(beta, "beta", "tensor.add_row")
    M *= beta
    return M.add_row(_check_tensor(v, "v") * alpha)


def sum_columns(M: Tensor) -> Tensor:
    """The sum of the columns of a 2-D tensor: shape (rows,)."""
    return sum(M, axis=1)


def sum_rows(M: Tensor) -> Tensor:
    """The sum of the rows of a 2-D tensor: shape (columns,)."""
    return sum(M, axis=0)


def sum(t: Tensor, axis=None, out=None) -> Tensor:
    """The sum over ``axis`` (None: all, a 0-d tensor; an int or a tuple of ints),
    those axes removed (NumPy's ``sum``)."""
    _check_tensor(t)
    return _into(out, ops.reduce_sum(t, axis, keepdims=0))


def average(t: Tensor, axis=None):
    """The mean: a float when ``axis`` is None, else a Tensor without ``axis``."""
    _check_tensor(t)
    if axis is None:
        return ops.reduce_mean(t, None, keepdims=0).item()
    return ops.reduce_mean(t, axis, keepdims=0)


def mult(A: Tensor, B: Tensor, C=None, alpha=1.0, beta=0.0) -> Tensor:
    """alpha * A @ B + beta * C: matrix-vector, matrix-matrix or batched (3-D, 4-D).

    With ``C`` given, the result is written into C and C is returned."""
    _check_tensor(A, "A")
    _check_tensor(B, "B")
    _check_number(alpha, "alpha", "tensor.mult")
    _check_number(beta, "beta", "tensor.mult")
    if B.ndim() == 1:  # GEMV: a matrix times a column
        y = ops.reshape(ops.matmul(A, ops.reshape(B, (B.shape[0], 1))), (A.shape[0],))
    else:
        y = ops.matmul(A, B)
    if alpha != 1.0:
        y = y * alpha
    if C is None:
        return y
    if beta != 0.0:
        y = y + C * beta
    return _into(C, y, "C")


def repeat(t: Tensor, repeats, axis=None) -> Tensor:
    """np.repeat: each element repeated ``repeats`` times (an int, or one int per
    element along ``axis``); ``axis=None`` works on the flattened tensor.

    A gather through the repeated positions (differentiable: the gradient of
    a copied element is the sum over its copies)."""
    _check_tensor(t)
    if axis is None:
        t = ops.reshape(t, (t.size(),))
        axis = 0
    if not dtypes.is_int(axis):
        raise TypeError(f"repeat: axis must be an int or None, got {axis!r}")
    if not -t.ndim() <= axis < t.ndim():
        raise ValueError(f"repeat: axis={axis} is out of range for shape {t.shape}")
    dim = t.shape[axis]
    counts = [repeats] * dim if dtypes.is_int(repeats) else list(repeats)
    if len(counts) != dim or not builtins.all(dtypes.is_int(c) and c >= 0 for c in counts):
        raise ValueError(f"repeat: repeats must be an int >= 0 or {dim} of them (one per "
                         f"element along axis {axis}), got {repeats!r}")
    if dtypes.is_int(repeats):
        # every element r times: a broadcast of a new axis of size r after `axis`
        # (the strided-copy kernel; no list of positions)
        shape = t.shape
        split = shape[:axis + 1] + (1,) + shape[axis + 1:]
        expanded = shape[:axis + 1] + (repeats,) + shape[axis + 1:]
        out = shape[:axis] + (dim * repeats,) + shape[axis + 1:]
        return _any_dtype(t, lambda u: ops.reshape(ops.expand(ops.reshape(u, split), expanded),
                                                   out))
    positions = [i for i in range(dim) for _ in range(counts[i])]
    return _any_dtype(t, lambda u: ops.gather(u, axis, positions))


def _any_dtype(t: Tensor, fn) -> Tensor:
    """``fn(t)`` for an operation of float tensors, also for an int32 ``t``
    (through float64, which holds every int32 exactly)."""
    if t.dtype == int32:
        return fn(t.as_type(float64)).as_type(int32)
    return fn(t)


def _slice_any(t: Tensor, axis: int, start: int, stop: int, step: int) -> Tensor:
    """``t`` sliced along ``axis`` as Python's ``range(start, stop, step)`` (from
    ``slice.indices``) reads it: ``ops.slice``, a window copy.  A stop of -1
    (backwards to the first element) is ONNX's end -dim - 1."""
    end = stop if stop >= 0 else -t.shape[axis] - 1
    return _any_dtype(t, lambda u: ops.slice(u, [start], [end], [axis], [step]))


def tensordot(A: Tensor, B: Tensor, axes=2) -> Tensor:
    """Sum the products of A and B over ``axes`` (NumPy's ``tensordot``).

    ``axes`` is an int n (the last n axes of A with the first n of B) or a pair
    of lists of axes.  Lowered onto one matrix product: A's kept axes are moved
    to the front and its summed axes to the back, B's the other way round, and
    both are reshaped to matrices."""
    _check_tensor(A, "A")
    _check_tensor(B, "B")
    if dtypes.is_int(axes):
        if not 0 <= axes <= builtins.min(A.ndim(), B.ndim()):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and "
                             f"min(A.ndim, B.ndim) = {builtins.min(A.ndim(), B.ndim())}")
        axes_a = list(range(A.ndim() - axes, A.ndim()))
        axes_b = list(range(axes))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of lists of axes, "
                            f"got {axes!r}") from None
        axes_a = [axes_a] if dtypes.is_int(axes_a) else list(axes_a)
        axes_b = [axes_b] if dtypes.is_int(axes_b) else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"tensordot: {len(axes_a)} axes of A but {len(axes_b)} of B")
    axes_a = [_axis("tensordot", a, A.ndim()) for a in axes_a]
    axes_b = [_axis("tensordot", b, B.ndim()) for b in axes_b]
    for a, b in zip(axes_a, axes_b):
        if A.shape[a] != B.shape[b]:
            raise ValueError(f"tensordot: axis {a} of A has size {A.shape[a]} but axis {b} "
                             f"of B has size {B.shape[b]}")
    keep_a = [a for a in range(A.ndim()) if a not in axes_a]
    keep_b = [b for b in range(B.ndim()) if b not in axes_b]
    k = product([A.shape[a] for a in axes_a])
    m = product([A.shape[a] for a in keep_a])
    n = product([B.shape[b] for b in keep_b])
    a2 = ops.reshape(_permuted(A, keep_a + axes_a), (m, k))
    b2 = ops.reshape(_permuted(B, axes_b + keep_b), (k, n))
    out_shape = tuple(A.shape[a] for a in keep_a) + tuple(B.shape[b] for b in keep_b)
    return ops.reshape(ops.matmul(a2, b2), out_shape)


def _axis(opname: str, axis, ndim: int) -> int:
    if not dtypes.is_int(axis) or not -ndim <= axis < ndim:
        raise ValueError(f"{opname}: axis {axis!r} is out of range for {ndim} dimensions")
    return int(axis) % ndim if ndim else 0


def _permuted(t: Tensor, perm) -> Tensor:
    """``ops.transpose(t, perm)``, skipping the copy when perm is the identity."""
    if list(perm) == list(range(t.ndim())):
        return t
    return ops.transpose(t, list(perm))


_ops = ops   # (inside einsum, SINGA's argument name ``ops`` hides the module)


def einsum(ops: str, *args: Tensor) -> Tensor:
    """Einstein summation of two tensors, e.g. ``einsum('bij,bjk->bik', A, B)``.

    Each letter of ``ops`` names an axis.  A letter in A, B and the output is a
    *batch* axis; one in A and B but not the output is *summed*; one in one
    operand and the output is *kept*; one in one operand only is summed first.
    The call is lowered onto one batched matrix product:
    A -> (batch, kept_A, summed) and B -> (batch, summed, kept_B) by transposes
    and reshapes, then ``matmul`` (the batched GEMM), then the output's order.
    """
    if not isinstance(ops, str) or "->" not in ops:
        raise ValueError(f"einsum: ops must be a string like 'ij,jk->ik', got {ops!r}")
    if len(args) != 2:
        raise ValueError(f"einsum: exactly two operands are supported (as in SINGA), "
                         f"got {len(args)}")
    A, B = (_check_tensor(t, name) for t, name in zip(args, ("A", "B")))
    inputs, out = ops.replace(" ", "").split("->")
    try:
        sa, sb = inputs.split(",")
    except ValueError:
        raise ValueError(f"einsum: ops must name two operands, got {ops!r}") from None
    for s, t, name in ((sa, A, "A"), (sb, B, "B"), (out, None, "the output")):
        if (s and not s.isalpha()) or len(set(s)) != len(s):
            raise ValueError(f"einsum: the subscripts of {name} ({s!r}) must be distinct "
                             f"letters (a repeated letter, a diagonal, is not supported)")
        if t is not None and len(s) != t.ndim():
            raise ValueError(f"einsum: {name} has {t.ndim()} dimensions {t.shape} but "
                             f"{len(s)} subscripts {s!r}")
    size = {}
    for s, t in ((sa, A), (sb, B)):
        for letter, d in zip(s, t.shape):
            if size.setdefault(letter, d) != d:
                raise ValueError(f"einsum: axis {letter!r} has size {size[letter]} in one "
                                 f"operand and {d} in the other")
    for letter in out:
        if letter not in size:
            raise ValueError(f"einsum: output axis {letter!r} is in neither operand")
    # A letter in one operand only, and not in the output: sum it away first.
    for which in (0, 1):
        s, other = (sa, sb) if which == 0 else (sb, sa)
        lonely = [i for i, c in enumerate(s) if c not in other and c not in out]
        if lonely:
            t = _ops.reduce_sum(A if which == 0 else B, lonely, keepdims=0)
            s = "".join(c for i, c in enumerate(s) if i not in lonely)
            if which == 0:
                A, sa = t, s
            else:
                B, sb = t, s
    batch = [c for c in sa if c in sb and c in out]
    summed = [c for c in sa if c in sb and c not in out]
    kept_a = [c for c in sa if c not in sb]
    kept_b = [c for c in sb if c not in sa]
    nb = product([size[c] for c in batch])
    m = product([size[c] for c in kept_a])
    k = product([size[c] for c in summed])
    n = product([size[c] for c in kept_b])
    a3 = _ops.reshape(_permuted(A, [sa.index(c) for c in batch + kept_a + summed]), (nb, m, k))
    b3 = _ops.reshape(_permuted(B, [sb.index(c) for c in batch + summed + kept_b]), (nb, k, n))
    order = batch + kept_a + kept_b
    y = _ops.reshape(_ops.matmul(a3, b3), tuple(size[c] for c in order))
    return _permuted(y, [order.index(c) for c in out])


def copy_data_to_from(dst: Tensor, src: Tensor, size: int, dst_offset: int = 0,
                      src_offset: int = 0) -> None:
    """Copy ``size`` elements from ``src`` (from element ``src_offset``) into
    ``dst`` (from element ``dst_offset``), on one device or across devices.

    The tensors are seen as flat arrays; both must have one element type."""
    _check_tensor(dst, "dst")
    _check_tensor(src, "src")
    for value, argname in ((size, "size"), (dst_offset, "dst_offset"), (src_offset, "src_offset")):
        if not dtypes.is_int(value) or value < 0:
            raise ValueError(f"copy_data_to_from: {argname} must be an int >= 0, got {value!r}")
    if dst.dtype != src.dtype:
        raise TypeError(f"copy_data_to_from: dst is {dtypes.name(dst.dtype)} but src is "
                        f"{dtypes.name(src.dtype)}; cast one with as_type")
    for t, offset, argname in ((dst, dst_offset, "dst"), (src, src_offset, "src")):
        if offset + size > t.size():
            raise ValueError(f"copy_data_to_from: {argname} has {t.size()} elements, too "
                             f"few for {size} from offset {offset}")
    if size == 0:
        return
    d, s = dst.data, src.data
    if d.device is s.device:  # one device: its copy kernel, on offset pointers
        backend.kernel("copy", d)(d.ptr + dst_offset, s.ptr + src_offset, size)
    else:
        from ._lib import ffi
        item = dtypes.itemsize(d.dtype)
        dptr = ffi.cast("char *", d._mem) + dst_offset * item
        sptr = ffi.cast("char *", s._mem) + src_offset * item
        if s.device.is_cpu():
            d.device.copy_from_host(dptr, sptr, size * item)
        elif d.device.is_cpu():
            s.device.copy_to_host(dptr, sptr, size * item)
        else:
            d.device.copy_from_device(dptr, sptr, size * item)
    mark_changed(d)


def copy_from_numpy(data: CTensor, np_array) -> None:
    """Copy ``np_array`` (as many elements) into the raw CTensor ``data``."""
    if not isinstance(data, CTensor):
        raise TypeError(f"data: expected a CTensor (a Tensor's .data), got {type(data).__name__}")
    if not isinstance(np_array, np.ndarray):
        raise TypeError(f"np_array: expected a NumPy array, got {type(np_array).__name__}")
    data.copy_from_numpy(np_array)
    mark_changed(data)


def bernoulli(p, t: Tensor) -> Tensor:
    """Fill ``t`` with 1 (probability p) or 0; returns t."""
    return _check_tensor(t).bernoulli(p)


def gaussian(mean, std, t: Tensor) -> Tensor:
    """Fill ``t`` with N(mean, std**2) samples; returns t."""
    return _check_tensor(t).gaussian(mean, std)


def uniform(low, high, t: Tensor) -> Tensor:
    """Fill ``t`` with U[low, high) samples; returns t."""
    return _check_tensor(t).uniform(low, high)
