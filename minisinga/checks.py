"""One vocabulary for checking the arguments of public functions.

Every check raises before any C code runs, and every message has the same four
parts, so a newcomer reads them all the same way::

    leakyrelu: a must be a number (an int or a float), got '0.1' (a str)
    ^ function ^ argument ^ what was expected          ^ what came

``TypeError`` is for a value of the wrong kind (a string where a number is
meant), ``ValueError`` for a value of the right kind that is out of range or
does not fit the other arguments.  Strings are never numbers, even ``'0.1'``,
and bools are never ints or numbers (``dtypes.is_int`` / ``dtypes.is_number``
say which values are).
"""
from __future__ import annotations

import math

import numpy as np

from . import dtypes

__all__ = ["number", "integer", "finite_number", "flag", "int_sequence", "numpy_data",
           "int_array", "device_mismatch", "shown"]


def shown(value) -> str:
    """``value`` as a message shows it: its repr (cut at 60 characters) and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (a {type(value).__name__})"


def number(where: str, argname: str, value) -> float:
    """``value`` as a float, or a TypeError when it is not an int or a float."""
    if not dtypes.is_number(value):
        raise TypeError(f"{where}: {argname} must be a number (an int or a float), "
                        f"got {shown(value)}")
    return float(value)


def finite_number(where: str, argname: str, value) -> float:
    """As ``number``, and a ValueError for NaN or an infinity."""
    v = number(where, argname, value)
    if not math.isfinite(v):
        raise ValueError(f"{where}: {argname} must be a finite number, got {value!r}")
    return v


def integer(where: str, argname: str, value) -> int:
    """``value`` as an int, or a TypeError when it is not an integer (a float is not,
    even 2.0: it may be the result of a computation that was meant to be whole)."""
    if not dtypes.is_int(value):
        raise TypeError(f"{where}: {argname} must be an int, got {shown(value)}")
    return int(value)


def flag(where: str, argname: str, value) -> bool:
    """``value`` as a bool: True/False (NumPy's too) or the ints 0 and 1 (ONNX and SINGA
    write flags as ints); a TypeError for anything else (a string, None, 2)."""
    if isinstance(value, (bool, np.bool_)) or (dtypes.is_int(value) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{where}: {argname} must be a bool (or the int 0 or 1), got {shown(value)}")


def int_sequence(where: str, argname: str, value,
                 expected: str = "a list or tuple of ints") -> list:
    """``value`` as a list, refusing what is not a sequence of values: a string or
    bytes (b'1' would be the list [49]), a number, None.  The items are the caller's
    to check."""
    if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{where}: {argname} must be {expected}, got {shown(value)}")
    return list(value)


#: The kinds of NumPy data a tensor can hold: floats, signed and unsigned ints, bools.
_TENSOR_KINDS = "fiub"


def numpy_data(where: str, argname: str, arr: np.ndarray) -> np.ndarray:
    """``arr``, refused with a TypeError when its data cannot become a tensor's
    without losing something: complex numbers (the imaginary part would be
    dropped), Python objects (None would become NaN), strings, dates."""
    if arr.dtype.kind not in _TENSOR_KINDS:
        what = {"c": "complex numbers (their imaginary parts would be lost)",
                "O": "Python objects", "U": "strings", "S": "bytes",
                "M": "dates", "m": "time spans"}.get(arr.dtype.kind, "data")
        raise TypeError(f"{where}: {argname} must hold floats, integers or bools, got an "
                        f"array of dtype {arr.dtype} ({what})")
    return arr


def int_array(where: str, argname: str, values) -> np.ndarray:
    """Integer data given on the host (an int, a nested list, an ndarray) as an
    int32 array, to be copied to a device as indices.  Floats holding whole
    numbers are accepted (SINGA keeps indices in float tensors); anything else
    is a TypeError, and a value outside the int32 range a ValueError (no axis
    is that long).  Only the conversion: the operation checks the range."""
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{where}: {argname} must hold integers, got {arr.dtype} "
                        f"({values!r:.80})")
    if arr.size and (arr.min() < -2**31 or arr.max() >= 2**31):
        bad = arr[(arr < -2**31) | (arr >= 2**31)].flat[0]
        raise ValueError(f"{where}: index {bad} in {argname} is out of range (outside the "
                         f"int32 range, longer than any axis)")
    return arr.astype(np.int32)


def device_mismatch(where: str, name_a: str, device_a, name_b: str, device_b) -> ValueError:
    """The error for two tensors that must be on one device but are not.

    Two device objects can print alike (two ``CppCPU()`` instances, or two
    emulated GPUs): then the message says they are different objects."""
    a, b = repr(device_a), repr(device_b)
    if a == b:
        detail = (f"two different device objects that both print as {a} (each "
                  f"{type(device_a).__name__}() made is a device of its own; use one "
                  "object, such as device.get_default_device())")
    else:
        detail = f"device {a} and device {b}"
    return ValueError(f"{where}: {name_a} and {name_b} must be on the same device, but they "
                      f"are on {detail}; move one with to_device")
