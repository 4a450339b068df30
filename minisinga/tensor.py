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

import numpy as np

from . import backend, checks, dtypes
from .ctensor import CTensor, check_shape
from .device import Device, get_default_device
from .dtypes import float32, float64, int32

__all__ = [
    "Tensor", "float32", "float64", "int32", "from_numpy", "to_numpy", "zeros",
    "ones", "zeros_like", "ones_like", "random", "from_raw_tensor",
    "from_raw_tensors", "to_host", "product", "sizeof",
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
    check = checks.finite_number if finite else checks.number
    return check(f"Tensor.{where}", argname, value)


class Tensor:
    """A multi-dimensional array on a device, with the flags autograd uses.

    Args:
        shape: dimensions of a new, uninitialised tensor (ignored when ``data``
            is given).
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
        return self

    def uniform(self, low, high) -> Tensor:
        """Fill with U[low, high) samples; returns self."""
        self._require_float("uniform")
        _check_number(low, "low", "uniform", finite=True)
        _check_number(high, "high", "uniform", finite=True)
        if high < low:
            raise ValueError(f"uniform: high must be >= low, got low={low}, high={high}")
        backend.random_uniform(self.data, float(low), float(high))
        return self

    def bernoulli(self, p) -> Tensor:
        """Fill with 1 (probability p) or 0; returns self."""
        self._require_float("bernoulli")
        _check_number(p, "p", "bernoulli", finite=True)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"bernoulli: p must be in [0, 1], got {p}")
        backend.random_bernoulli(self.data, float(p))
        return self

    # -- copies -------------------------------------------------------------------------
    def copy_from_numpy(self, np_array, offset: int = 0) -> Tensor:
        """Copy a NumPy array with exactly as many elements into this tensor."""
        if offset != 0:
            raise ValueError(f"copy_from_numpy: offset must be 0, got {offset}")
        if not isinstance(np_array, np.ndarray):
            raise TypeError(f"np_array: expected a NumPy array, got {type(np_array).__name__}")
        self.data.copy_from_numpy(np_array)
        return self

    def copy_data(self, t: Tensor) -> Tensor:
        """Copy the elements of ``t`` (same size; cast if the dtypes differ)."""
        if not isinstance(t, Tensor):
            raise TypeError(f"t: expected a Tensor, got {type(t).__name__}")
        if t.size() != self.size():
            raise ValueError(f"copy_data: sizes differ: this tensor has {self.size()} "
                             f"elements {self.shape}, t has {t.size()} {t.shape}")
        backend.copy_into(self.data, t.data)
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

    def as_type(self, dtype) -> Tensor:
        """A copy in element type ``dtype``."""
        return Tensor(data=backend.cast(self.data, dtypes.as_dtype(dtype)),
                      requires_grad=self.requires_grad)

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

    # Tensors are hashed by identity (autograd.gradients returns {param: grad}).
    __hash__ = object.__hash__

    def item(self):
        """The single value of a size-1 tensor as a Python number."""
        if self.size() != 1:
            raise ValueError(f"item(): the tensor has {self.size()} elements, not 1")
        return to_numpy(self).reshape(()).item()


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
