"""minisinga.tensor: the user-facing Tensor (SINGA's API).

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
import weakref

import numpy as np

from . import backend, checks, dtypes
from .ctensor import CTensor, check_shape
from .device import Device, get_default_device
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

_counter = 0


def _next_name() -> str:
    global _counter
    _counter += 1
    return f"Dummy#{_counter}"


def _check_device(device, argname: str = "device") -> Device:
    if device is None:
        return get_default_device()
    if not isinstance(device, Device):
        raise TypeError(f"{argname}: expected a minisinga Device (for example "
                        f"device.get_default_device()), got {device!r}")
    return device


def _check_number(value, argname: str, where: str, finite: bool = False) -> float:
    """``value`` if it is a number (finite, if asked); ``where`` names the caller: a
    method's bare name (``"set_value"``, shown as ``Tensor.set_value``) or a
    module function's dotted one (``"tensor.axpy"``)."""
    check = checks.finite_number if finite else checks.number
    return check(where if "." in where else f"Tensor.{where}", argname, value)


# -- in-place changes: the rule that keeps gradients right ----------------------------
#: memory block -> the count of in-place changes when it was last changed in place.
#: Views (``reshape``) share their block, so a change through any of them counts.
#: The entries vanish with their blocks (weak keys).
_CHANGED_AT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: How many in-place changes there have been; an operation notes this count when
#: it records its forward (``Operation._epoch``).
EPOCH = [0]


def mark_changed(ct: CTensor) -> None:
    """Note that the memory of ``ct`` was just changed in place (``+=``, ``set_value``...)."""
    EPOCH[0] += 1
    _CHANGED_AT[ct._mem] = EPOCH[0]


def changed_since(ct: CTensor, epoch: int) -> bool:
    """Whether the memory of ``ct`` was changed in place after the count ``epoch``."""
    return _CHANGED_AT.get(ct._mem, -1) > epoch


class Tensor:
    """A multi-dimensional array on a device, with the flags autograd uses.

    Args:
        shape: dimensions of a new tensor, filled with zeros (ignored when
            ``data`` is given).
        device: where the memory lives; ``None`` is the default CPU device.
        dtype: ``float32`` (default), ``float64`` or ``int32``.  With NumPy
            ``data`` and no ``dtype``, float arrays become float32 and integer
            arrays int32.
        data: a NumPy array (copied), a ``CTensor`` (wrapped, not copied) or
            ``None``.
        requires_grad: whether backward walks through this tensor.
        stores_grad: whether ``autograd.backward`` yields its gradient
            (requires ``requires_grad``).
        creator: the Operation that produced it (``None`` for a leaf).
        name: a label; parameters are named by their layer (``conv1.W``).
    """

    __array_priority__ = 1000  # make ndarray + Tensor use Tensor.__radd__

    def __init__(self, shape=(), device=None, dtype=None, data=None,
                 requires_grad: bool = True, stores_grad: bool = False,
                 creator=None, name: str | None = None):
        if stores_grad and not requires_grad:
            raise ValueError("Tensor: stores_grad=True requires requires_grad=True "
                             "(a tensor whose gradient is stored must be on the "
                             "gradient path); got requires_grad=False")
        if isinstance(data, CTensor):
            if dtype is not None and dtypes.as_dtype(dtype) != data.dtype:
                data = backend.cast(data, dtypes.as_dtype(dtype))
            self.data = data
        elif data is not None:
            if isinstance(data, Tensor):
                data = data.data.numpy() if data.device.is_cpu() else data.to_numpy()
            arr = checks.numpy_data("Tensor", "data", np.asarray(data))
            code = dtypes.from_numpy(arr.dtype) if dtype is None else dtypes.as_dtype(dtype)
            self.data = CTensor.from_numpy(arr, code, _check_device(device))
        else:
            code = float32 if dtype is None else dtypes.as_dtype(dtype)
            self.data = CTensor(check_shape(shape), code, _check_device(device))
            # Zeros, as SINGA's CPU allocator gives: a new tensor never shows what an
            # old one left in the memory.  (The operations' outputs, which a kernel
            # overwrites entirely, are made by CTensor._new and are not filled.)
            backend.fill(self.data, 0)
        if stores_grad and self.data.dtype == int32:
            raise ValueError("Tensor: stores_grad=True needs a float tensor; an int32 tensor "
                             "(labels, indices) never gets a gradient")
        self.requires_grad = bool(requires_grad)
        self.stores_grad = bool(stores_grad)
        self._name = name if name is not None else _next_name()
        self.creator = creator

    @classmethod
    def _output(cls, data: CTensor, requires_grad: bool, creator, index: int,
                name: str | None = None) -> Tensor:
        """Output ``index`` of an operation (autograd's fast path: nothing to check).

        Without ``name``, its name, "<op name>:<index>" (or "Dummy#<n>" when no
        graph is recorded), is made when first asked for."""
        t = cls.__new__(cls)
        t.data = data
        t.requires_grad = requires_grad
        t.stores_grad = False
        t.creator = creator
        t._name = name
        t._index = index
        return t

    @property
    def name(self) -> str:
        """A label; parameters are named by their layer (``conv1.W``)."""
        if self._name is None:
            creator = self.creator
            self._name = creator.output_name(self._index) if creator is not None else _next_name()
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    # -- basic attributes ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> int:
        return self.data.dtype

    @property
    def device(self) -> Device:
        return self.data.device

    def size(self) -> int:
        """Number of elements."""
        return self.data.size

    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.data.shape)

    def memsize(self) -> int:
        """Bytes of memory the elements occupy."""
        return self.data.nbytes()

    def is_empty(self) -> bool:
        return self.data.size == 0

    # -- fills (in place, return self so calls chain) ------------------------------
    def set_value(self, x) -> Tensor:
        """Fill every element with the number ``x``; returns self."""
        _check_number(x, "x", "set_value")
        if self.dtype == int32:
            # NOTE: int(inf) raises OverflowError and C would wrap a big int;
            # both are refused here with one clear message.
            if isinstance(x, (int, np.integer)):
                ok = -2**31 <= int(x) < 2**31
            else:
                ok = bool(np.isfinite(x)) and float(x).is_integer() and -2**31 <= x < 2**31
            if not ok:
                raise ValueError(f"set_value: {x!r} is not an integer in the int32 range "
                                 f"[{-2**31}, {2**31 - 1}], but the tensor is int32")
        backend.fill(self.data, int(x) if self.dtype == int32 else float(x))
        mark_changed(self.data)
        return self

    def _require_float(self, what: str) -> None:
        if self.dtype not in dtypes.FLOAT_TYPES:
            raise TypeError(f"{what}: needs a float32 or float64 tensor, this one is "
                            f"{dtypes.name(self.dtype)}")

    def gaussian(self, mean, std) -> Tensor:
        """Fill with N(mean, std**2) samples from the device's generator; returns self."""
        self._require_float("gaussian")
        _check_number(mean, "mean", "gaussian", finite=True)
        _check_number(std, "std", "gaussian", finite=True)
        if std < 0:
            raise ValueError(f"gaussian: std must be >= 0, got {std}")
        backend.random_gaussian(self.data, float(mean), float(std))
        mark_changed(self.data)
        return self

    def uniform(self, low, high) -> Tensor:
        """Fill with U[low, high) samples; returns self."""
        self._require_float("uniform")
        _check_number(low, "low", "uniform", finite=True)
        _check_number(high, "high", "uniform", finite=True)
        if high < low:
            raise ValueError(f"uniform: high must be >= low, got low={low}, high={high}")
        backend.random_uniform(self.data, float(low), float(high))
        mark_changed(self.data)
        return self

    def bernoulli(self, p) -> Tensor:
        """Fill with 1 (probability p) or 0; returns self."""
        self._require_float("bernoulli")
        _check_number(p, "p", "bernoulli", finite=True)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"bernoulli: p must be in [0, 1], got {p}")
        backend.random_bernoulli(self.data, float(p))
        mark_changed(self.data)
        return self

    # -- copies -------------------------------------------------------------------------
    def copy_from_numpy(self, np_array, offset: int = 0) -> Tensor:
        """Copy a NumPy array with exactly as many elements into this tensor."""
        if offset != 0:
            raise ValueError(f"copy_from_numpy: offset must be 0, got {offset}")
        if not isinstance(np_array, np.ndarray):
            raise TypeError(f"np_array: expected a NumPy array, got {type(np_array).__name__}")
        self.data.copy_from_numpy(np_array)
        mark_changed(self.data)
        return self

    def copy_data(self, t: Tensor) -> Tensor:
        """Copy the elements of ``t`` (same size; cast if the dtypes differ)."""
        if not isinstance(t, Tensor):
            raise TypeError(f"t: expected a Tensor, got {type(t).__name__}")
        if t.size() != self.size():
            raise ValueError(f"copy_data: sizes differ: this tensor has {self.size()} "
                             f"elements {self.shape}, t has {t.size()} {t.shape}")
        backend.copy_into(self.data, t.data)
        mark_changed(self.data)
        return self

    def copy_from(self, t, offset: int = 0) -> Tensor:
        """Copy from a Tensor or a NumPy array (SINGA's ``copy_from``)."""
        if isinstance(t, np.ndarray):
            return self.copy_from_numpy(t, offset)
        return self.copy_data(t)

    def clone(self) -> Tensor:
        """A deep copy with the same flags (a new leaf; no creator)."""
        return Tensor(data=self.data.clone(), requires_grad=self.requires_grad,
                      stores_grad=self.stores_grad)

    deepcopy = clone

    def copy(self) -> Tensor:
        """A shallow copy: a new Tensor sharing this tensor's memory (SINGA's ``copy``).

        A change in place to either (``+=``, ``set_value``) is seen by both."""
        return Tensor(data=self.data, requires_grad=self.requires_grad,
                      stores_grad=self.stores_grad)

    def contiguous(self) -> Tensor:
        """A compact copy (every minisinga tensor is compact already)."""
        return Tensor(data=self.data.clone(), requires_grad=self.requires_grad)

    def as_type(self, dtype) -> Tensor:
        """A copy in element type ``dtype``: a code, a NumPy dtype, or SINGA's
        spellings ``'int'`` (int32) and ``'float'`` (float32)."""
        return Tensor(data=backend.cast(self.data, _singa_dtype(dtype)),
                      requires_grad=self.requires_grad)

    def to_type(self, dtype) -> Tensor:
        """Convert to element type ``dtype`` in place (this Tensor gets new memory);
        returns self."""
        self.data = backend.cast(self.data, _singa_dtype(dtype))
        return self

    def reset_like(self, t: Tensor) -> Tensor:
        """Take ``t``'s shape, element type and device, with new zero-filled memory
        (SINGA's ``reset_like``); returns self."""
        _check_tensor(t)
        self.data = CTensor(t.shape, t.dtype, t.device)
        backend.fill(self.data, 0)
        return self

    def is_transpose(self) -> bool:
        """Always False: minisinga's transposes are compact copies, never strided views."""
        return False

    def is_dummy(self) -> bool:
        """Whether the tensor still has its default name ``"Dummy#<n>"``."""
        return self.name.startswith("Dummy#")

    def l1(self) -> float:
        """The mean absolute value, sum(|x|) / size (SINGA's ``l1``)."""
        from . import autograd
        return autograd.reduce_mean(autograd.abs(self), keepdims=0).item()

    def l2(self) -> float:
        """sqrt(sum(x**2)) / size (SINGA's ``l2``)."""
        from . import autograd
        total = autograd.reduce_sum(autograd.mul(self, self), keepdims=0)
        return autograd.sqrt(total).item() / self.size()

    # -- shape ----------------------------------------------------------------------------
    def reshape(self, shape) -> Tensor:
        """A tensor of a new shape sharing this memory (no copy)."""
        shape = check_shape(shape)
        return Tensor(data=self.data.reshape(shape), requires_grad=self.requires_grad)

    def transpose(self, axes=None) -> Tensor:
        """A copy with permuted axes (reversed when ``axes`` is None)."""
        perm = normalize_perm(axes, self.ndim())
        return Tensor(data=backend.transpose(self.data, perm), requires_grad=self.requires_grad)

    def T(self) -> Tensor:
        """The 2-D transpose (a copy)."""
        return self.transpose()

    # -- devices ------------------------------------------------------------------------
    def to_device(self, dev) -> Tensor:
        """Move the data to ``dev`` in place; returns self."""
        dev = _check_device(dev, "dev")
        if dev is self.device:
            return self
        from . import device as _device
        self.data = _device.copy_to_device(self.data, dev)
        return self

    def to_host(self) -> Tensor:
        """Move the data to the default CPU device in place; returns self."""
        return self.to_device(get_default_device())

    # -- NumPy interop ------------------------------------------------------------------
    def to_numpy(self) -> np.ndarray:
        """A NumPy copy of the data."""
        return to_numpy(self)

    def __array__(self, dtype=None, copy=None):
        arr = to_numpy(self)
        return arr if dtype is None else arr.astype(dtype)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        values = np.array2string(to_numpy(self), separator=", ", threshold=64,
                                 prefix="Tensor(")
        return (f"Tensor({values}, dtype={dtypes.name(self.dtype)}, "
                f"device={self.device})")

    # -- arithmetic: through autograd, so it is differentiable (SINGA's is not) -----
    def _operand(self, other) -> Tensor:
        if isinstance(other, Tensor):
            return other
        if not dtypes.is_number(other):
            raise TypeError(f"unsupported operand: a Tensor and a {type(other).__name__}")
        if self.dtype == int32 and isinstance(other, (float, np.floating)):
            # int32 and a float number: a float32 operand (never truncated to an int)
            return Tensor(data=np.asarray(other, np.float32), device=self.device,
                          requires_grad=False)
        try:
            value = np.asarray(other, dtype=dtypes.to_numpy(self.dtype))
        except OverflowError:
            raise OverflowError(f"the number {other!r} does not fit in the tensor's dtype "
                                f"{dtypes.name(self.dtype)}") from None
        return Tensor(data=value, dtype=self.dtype, device=self.device, requires_grad=False)

    def __add__(self, other):
        from . import autograd
        return autograd.add(self, self._operand(other))

    def __radd__(self, other):
        from . import autograd
        return autograd.add(self._operand(other), self)

    def __sub__(self, other):
        from . import autograd
        return autograd.sub(self, self._operand(other))

    def __rsub__(self, other):
        from . import autograd
        return autograd.sub(self._operand(other), self)

    def __mul__(self, other):
        from . import autograd
        return autograd.mul(self, self._operand(other))

    def __rmul__(self, other):
        from . import autograd
        return autograd.mul(self._operand(other), self)

    def __truediv__(self, other):
        from . import autograd
        return autograd.div(self, self._operand(other))

    def __rtruediv__(self, other):
        from . import autograd
        return autograd.div(self._operand(other), self)

    __rdiv__ = __rtruediv__  # SINGA's (Python 2) spelling

    def __floordiv__(self, other):
        """``t // x``: the quotient rounded down (SINGA: divide, then floor); its
        gradient is 0 (floor is piecewise constant)."""
        from . import autograd
        return autograd.floor(autograd.div(self, self._operand(other)))

    def __pow__(self, other):
        from . import autograd
        return autograd.pow(self, self._operand(other))

    def __rpow__(self, other):
        from . import autograd
        return autograd.pow(self._operand(other), self)

    def __matmul__(self, other):
        from . import autograd
        if not isinstance(other, Tensor):
            raise TypeError(f"unsupported operand for @: a Tensor and a {type(other).__name__}")
        return autograd.matmul(self, other)

    def __neg__(self):
        from . import autograd
        return autograd.negative(self)

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
        from . import autograd
        other = self._operand(other)
        on_path = autograd.training and (
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

    def _detached_old_value(self) -> Tensor:
        """A copy of this tensor's value that takes its place in the recorded graph
        (the same creator and output index), for ``_inplace`` to compute from."""
        creator = self.creator
        old = Tensor._output(self.data.clone(), self.requires_grad, creator,
                             0 if creator is None else creator.y_id2idx[id(self)])
        if creator is not None:
            creator.y_id2idx[id(old)] = old._index
        self._old_value = old  # kept alive while this tensor lives (its id is a key)
        return old

    def __iadd__(self, other):
        from . import autograd
        return self._inplace(other, "+", autograd.Add, autograd.add)

    def __isub__(self, other):
        from . import autograd
        return self._inplace(other, "-", autograd.Sub, autograd.sub)

    def __imul__(self, other):
        from . import autograd
        return self._inplace(other, "*", autograd.Mul, autograd.mul)

    def __itruediv__(self, other):
        from . import autograd
        return self._inplace(other, "/", autograd.Div, autograd.div)

    __idiv__ = __itruediv__  # SINGA's (Python 2) spelling

    # -- comparisons: 1.0 / 0.0 tensors, constants for autograd (SINGA's rule) -------------
    def __lt__(self, other):
        from . import autograd
        return autograd.less(self, self._operand(other))

    def __gt__(self, other):
        from . import autograd
        return autograd.greater(self, self._operand(other))

    def __le__(self, other):
        from . import autograd
        other = self._operand(other)
        # NOTE: less or equal, not "not greater": a NaN compares false both ways
        return autograd._or(autograd.less(self, other), autograd.equal(self, other))

    def __ge__(self, other):
        from . import autograd
        other = self._operand(other)
        return autograd._or(autograd.greater(self, other), autograd.equal(self, other))

    def __eq__(self, other):
        from . import autograd
        if other is None:  # SINGA: ``t == None`` is False
            return False
        if not isinstance(other, Tensor) and not dtypes.is_number(other):
            return NotImplemented
        return autograd.equal(self, self._operand(other))

    def __ne__(self, other):
        from . import autograd
        if other is None:
            return True
        if not isinstance(other, Tensor) and not dtypes.is_number(other):
            return NotImplemented
        return autograd._not(autograd.equal(self, self._operand(other)))

    def __bool__(self) -> bool:
        # NOTE: as NumPy: only a one-element tensor has a truth value.  Without
        # this, ``t in [a, b]`` (which compares with ==) would be true by accident.
        if self.size() != 1:
            raise ValueError(f"the truth value of a tensor with {self.size()} elements "
                             f"(shape {self.shape}) is ambiguous; compare explicitly, "
                             f"e.g. `(t == 0).item()`, or use `t is other` for identity")
        return bool(self.item())

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
                y = _autograd().reshape(y, y.shape[:axis] + y.shape[axis + 1:])  # drop the axis
            else:
                raise TypeError(f"tensor indices must be ints or slices, got "
                                f"{type(key).__name__} ({key!r})")
        return y

    def repeat(self, repeats, axis=None) -> Tensor:
        """Repeat elements, as ``np.repeat``: ``repeats`` an int or one int per
        element along ``axis``; ``axis=None`` repeats the flattened tensor."""
        return repeat(self, repeats, axis)

    # -- SINGA's deprecated matrix-vector updates, in place --------------------------------
    def _matrix_vector(self, v, along: str, symbol: str):
        if self.ndim() != 2 or not isinstance(v, Tensor) or v.ndim() != 1:
            raise ValueError(f"{along}: needs a 2-D tensor and a 1-D Tensor v, got shapes "
                             f"{self.shape} and {getattr(v, 'shape', type(v).__name__)}")
        n = self.shape[0] if along.endswith("column") else self.shape[1]
        if v.size() != n:
            raise ValueError(f"{along}: v has {v.size()} elements, the matrix {self.shape} "
                             f"needs {n}")
        shaped = v.reshape((n, 1) if along.endswith("column") else (1, n))
        return {"+": self.__iadd__, "/": self.__itruediv__, "*": self.__imul__}[symbol](shaped)

    def add_column(self, v: Tensor) -> Tensor:
        """Add the vector v to every column, in place (deprecated in SINGA)."""
        return self._matrix_vector(v, "add_column", "+")

    def add_row(self, v: Tensor) -> Tensor:
        """Add the vector v to every row, in place (deprecated in SINGA)."""
        return self._matrix_vector(v, "add_row", "+")

    def div_column(self, v: Tensor) -> Tensor:
        """Divide every column by the vector v, in place (deprecated in SINGA)."""
        return self._matrix_vector(v, "div_column", "/")

    def div_row(self, v: Tensor) -> Tensor:
        """Divide every row by the vector v, in place (deprecated in SINGA)."""
        return self._matrix_vector(v, "div_row", "/")

    def mult_column(self, v: Tensor) -> Tensor:
        """Multiply every column by the vector v, in place (deprecated in SINGA)."""
        return self._matrix_vector(v, "mult_column", "*")

    def mult_row(self, v: Tensor) -> Tensor:
        """Multiply every row by the vector v, in place (deprecated in SINGA)."""
        return self._matrix_vector(v, "mult_row", "*")

    # Tensors are hashed by identity (autograd.gradients returns {param: grad}).
    __hash__ = object.__hash__

    def item(self):
        """The single value of a size-1 tensor as a Python number."""
        if self.size() != 1:
            raise ValueError(f"item(): the tensor has {self.size()} elements, not 1")
        return to_numpy(self).reshape(()).item()


def _singa_dtype(dtype) -> int:
    """A dtype code from a code, a NumPy dtype, or SINGA's ``'int'`` / ``'float'``."""
    if isinstance(dtype, str) and dtype == "int":
        return int32
    if isinstance(dtype, str) and dtype == "float":
        return float32
    return dtypes.as_dtype(dtype)


def normalize_perm(axes, ndim: int, argname: str = "axes") -> tuple[int, ...]:
    """Check a permutation of ``range(ndim)`` (negative axes allowed)."""
    if axes is None:
        return tuple(range(ndim))[::-1]
    try:
        # NOTE: only ints; int(1.5) or int("1") would quietly accept a wrong axis
        perm = tuple(int(a) if isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                     else None for a in axes)
    except TypeError:
        raise TypeError(f"{argname}: expected a sequence of ints, got {axes!r}") from None
    if None in perm or len(perm) != ndim:
        raise ValueError(f"{argname}: expected a permutation of {ndim} axes, got {axes!r}")
    perm = tuple(a + ndim if a < 0 else a for a in perm)
    if sorted(perm) != list(range(ndim)):
        raise ValueError(f"{argname}: expected a permutation of {ndim} axes, got {axes!r}")
    return perm


# -- module functions ------------------------------------------------------------------
def from_numpy(np_array, dev=None) -> Tensor:
    """A Tensor holding a copy of ``np_array`` on ``dev`` (default: the CPU).

    float64 becomes float32 and integer types become int32 (SINGA's rules);
    use ``Tensor(data=arr, dtype=float64)`` to keep float64.
    """
    if not isinstance(np_array, np.ndarray):
        raise TypeError(f"np_array: expected a NumPy array, got {type(np_array).__name__}")
    return Tensor(data=np_array, device=dev)


def to_numpy(t: Tensor) -> np.ndarray:
    """A NumPy copy of ``t``'s data."""
    if not isinstance(t, Tensor):
        raise TypeError(f"t: expected a Tensor, got {type(t).__name__}")
    if not t.device.is_cpu():
        from . import device as _device
        return _device.copy_to_device(t.data, get_default_device()).numpy()
    return t.data.numpy().copy()


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
def _autograd():
    from . import autograd
    return autograd


def _check_tensor(t, argname: str = "t") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{argname}: expected a Tensor, got {type(t).__name__}")
    return t


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
    """Join ``tensors`` (a list) along ``axis`` (``autograd.cat``)."""
    return _autograd().cat(list(tensors), axis)


def abs(t: Tensor) -> Tensor:
    """|t|, elementwise."""
    return _autograd().abs(t)


def exp(t: Tensor) -> Tensor:
    """e**t, elementwise."""
    return _autograd().exp(t)


def log(t: Tensor) -> Tensor:
    """The natural logarithm, elementwise."""
    return _autograd().log(t)


def sqrt(t: Tensor) -> Tensor:
    """The square root, elementwise."""
    return _autograd().sqrt(t)


def square(t: Tensor) -> Tensor:
    """t * t, elementwise (the product operation: its gradient is 2 t dy)."""
    return _autograd().mul(t, t)


def ceil(t: Tensor) -> Tensor:
    """The smallest integer >= t, elementwise (a zero gradient)."""
    return _autograd().ceil(t)


def sign(t: Tensor) -> Tensor:
    """-1, 0 or 1, elementwise."""
    return _autograd().sign(t)


def sigmoid(t: Tensor) -> Tensor:
    """1 / (1 + e**-t), elementwise."""
    return _autograd().sigmoid(t)


def tanh(t: Tensor) -> Tensor:
    """tanh(t), elementwise."""
    return _autograd().tanh(t)


def softmax(t: Tensor, out=None) -> Tensor:
    """The softmax of each row of a 1-D or 2-D tensor (the last axis)."""
    _check_tensor(t)
    return _into(out, _autograd().softmax(t, axis=-1))


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
    return _into(out, _autograd().reduce_sum(t, axis, keepdims=0))


def average(t: Tensor, axis=None):
    """The mean: a float when ``axis`` is None, else a Tensor without ``axis``."""
    _check_tensor(t)
    if axis is None:
        return _autograd().reduce_mean(t, None, keepdims=0).item()
    return _autograd().reduce_mean(t, axis, keepdims=0)


def mult(A: Tensor, B: Tensor, C=None, alpha=1.0, beta=0.0) -> Tensor:
    """alpha * A @ B + beta * C: matrix-vector, matrix-matrix or batched (3-D, 4-D).

    With ``C`` given, the result is written into C and C is returned."""
    _check_tensor(A, "A")
    _check_tensor(B, "B")
    _check_number(alpha, "alpha", "tensor.mult")
    _check_number(beta, "beta", "tensor.mult")
    ag = _autograd()
    if B.ndim() == 1:  # GEMV: a matrix times a column
        y = ag.reshape(ag.matmul(A, ag.reshape(B, (B.shape[0], 1))), (A.shape[0],))
    else:
        y = ag.matmul(A, B)
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
    ag = _autograd()
    if axis is None:
        t = ag.reshape(t, (t.size(),))
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
        return _any_dtype(t, lambda u: ag.reshape(ag.expand(ag.reshape(u, split), expanded),
                                                  out))
    positions = [i for i in range(dim) for _ in range(counts[i])]
    return _any_dtype(t, lambda u: ag.gather(u, axis, positions))


def _any_dtype(t: Tensor, fn) -> Tensor:
    """``fn(t)`` for an operation of float tensors, also for an int32 ``t``
    (through float64, which holds every int32 exactly)."""
    if t.dtype == int32:
        return fn(t.as_type(float64)).as_type(int32)
    return fn(t)


def _slice_any(t: Tensor, axis: int, start: int, stop: int, step: int) -> Tensor:
    """``t`` sliced along ``axis`` as Python's ``range(start, stop, step)`` (from
    ``slice.indices``) reads it: ``autograd.slice``, a window copy.  A stop of
    -1 (backwards to the first element) is ONNX's end -dim - 1."""
    end = stop if stop >= 0 else -t.shape[axis] - 1
    return _any_dtype(t, lambda u: _autograd().slice(u, [start], [end], [axis], [step]))


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
    ag = _autograd()
    a2 = ag.reshape(_permuted(A, keep_a + axes_a), (m, k))
    b2 = ag.reshape(_permuted(B, axes_b + keep_b), (k, n))
    out_shape = tuple(A.shape[a] for a in keep_a) + tuple(B.shape[b] for b in keep_b)
    return ag.reshape(ag.matmul(a2, b2), out_shape)


def _axis(opname: str, axis, ndim: int) -> int:
    if not dtypes.is_int(axis) or not -ndim <= axis < ndim:
        raise ValueError(f"{opname}: axis {axis!r} is out of range for {ndim} dimensions")
    return int(axis) % ndim if ndim else 0


def _permuted(t: Tensor, perm) -> Tensor:
    """``autograd.transpose(t, perm)``, skipping the copy when perm is the identity."""
    if list(perm) == list(range(t.ndim())):
        return t
    return _autograd().transpose(t, list(perm))


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
    ag = _autograd()
    # A letter in one operand only, and not in the output: sum it away first.
    for which in (0, 1):
        s, other = (sa, sb) if which == 0 else (sb, sa)
        lonely = [i for i, c in enumerate(s) if c not in other and c not in out]
        if lonely:
            t = ag.reduce_sum(A if which == 0 else B, lonely, keepdims=0)
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
    a3 = ag.reshape(_permuted(A, [sa.index(c) for c in batch + kept_a + summed]), (nb, m, k))
    b3 = ag.reshape(_permuted(B, [sb.index(c) for c in batch + summed + kept_b]), (nb, k, n))
    order = batch + kept_a + kept_b
    y = ag.reshape(ag.matmul(a3, b3), tuple(size[c] for c in order))
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
