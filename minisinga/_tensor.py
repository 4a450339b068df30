"""minisinga._tensor: the Tensor class, without its arithmetic.

A ``Tensor`` wraps a ``CTensor`` (its ``.data``) and adds what autograd needs:
``creator`` (the Operation that produced it), ``requires_grad`` (walk the graph
through it) and ``stores_grad`` (``autograd.backward`` yields its gradient; the
parameters of a model).  The rule: ``stores_grad=True`` needs
``requires_grad=True``.

This module sits below the engine (which makes Tensors) and the operations.
Tensor's operators (``+``, ``@``, ``<``, ``t[i]``, ``+=``...) are operations, so
they are defined above the operations, in ``minisinga/tensor.py``, SINGA's
tensor module, which is the one to import.

Every fill, copy and random number is computed by the C kernels; NumPy is only
used to move data in and out.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import backend, checks, dtypes
from .ctensor import CTensor, check_shape
from .device import Device, get_default_device
from .dtypes import float32, int32

__all__ = ["Tensor", "mark_changed", "changed_since", "EPOCH", "to_numpy", "normalize_perm"]

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
        self.data = backend.copy_to_device(self.data, dev)
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


    def __bool__(self) -> bool:
        # NOTE: as NumPy: only a one-element tensor has a truth value.  Without
        # this, ``t in [a, b]`` (which compares with ==) would be true by accident.
        if self.size() != 1:
            raise ValueError(f"the truth value of a tensor with {self.size()} elements "
                             f"(shape {self.shape}) is ambiguous; compare explicitly, "
                             f"e.g. `(t == 0).item()`, or use `t is other` for identity")
        return bool(self.item())

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



def to_numpy(t: Tensor) -> np.ndarray:
    """A NumPy copy of ``t``'s data."""
    if not isinstance(t, Tensor):
        raise TypeError(f"t: expected a Tensor, got {type(t).__name__}")
    if not t.device.is_cpu():
        return backend.copy_to_device(t.data, get_default_device()).numpy()
    return t.data.numpy().copy()



def _check_tensor(t, argname: str = "t") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{argname}: expected a Tensor, got {type(t).__name__}")
    return t
