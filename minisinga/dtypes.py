"""Element types.

minisinga keeps SINGA's integer codes for element types (``tensor.float32 ==
0``, ``tensor.int32 == 2``) and adds ``float64`` (SINGA's kDouble, 4), which the
gradient checks need.  Every function that takes a ``dtype`` also accepts the
matching NumPy dtype (``np.float32``) or its name (``"float32"``).
"""
from __future__ import annotations

import numpy as np

float32 = 0
int32 = 2
float64 = 4

#: code -> (name, NumPy dtype, C type, kernel-name suffix)
_INFO = {
    float32: ("float32", np.dtype(np.float32), "float", "f32"),
    int32: ("int32", np.dtype(np.int32), "int32_t", "i32"),
    float64: ("float64", np.dtype(np.float64), "double", "f64"),
}
_BY_NAME = {info[0]: code for code, info in _INFO.items()}

FLOAT_TYPES = (float32, float64)


def is_int(v) -> bool:
    """True for a Python or NumPy integer (``3``, ``np.int64(3)``), False for a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_number(v) -> bool:
    """True for a Python or NumPy integer or float, False for a bool."""
    return isinstance(v, (int, float, np.integer, np.floating)) and \
        not isinstance(v, (bool, np.bool_))


def as_dtype(dtype, argname: str = "dtype") -> int:
    """Normalise ``dtype`` (a code, NumPy dtype or name) to minisinga's code."""
    if type(dtype) is int and dtype in _INFO:  # the common case: a code already
        return dtype
    if dtype is None or isinstance(dtype, (bool, np.bool_)):   # (NumPy reads None as float64)
        raise TypeError(f"{argname}: expected float32, float64 or int32, got {dtype!r}")
    if isinstance(dtype, (int, np.integer)) and int(dtype) in _INFO:
        return int(dtype)
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name in _BY_NAME and not isinstance(dtype, (int, np.integer)):
        return _BY_NAME[name]
    raise TypeError(
        f"{argname}: expected float32, float64 or int32 (tensor.float32, "
        f"tensor.float64, tensor.int32 or the NumPy dtypes), got {dtype!r}")


def name(dtype: int) -> str:
    """'float32', 'float64' or 'int32'."""
    return _INFO[dtype][0]


def to_numpy(dtype: int) -> np.dtype:
    """The NumPy dtype of a minisinga element type."""
    return _INFO[dtype][1]


def ctype(dtype: int) -> str:
    """The C element type ('float', 'double', 'int32_t')."""
    return _INFO[dtype][2]


def suffix(dtype: int) -> str:
    """The kernel-name suffix: relu_forward + '_f32'."""
    return _INFO[dtype][3]


def itemsize(dtype: int) -> int:
    """Bytes per element."""
    return _INFO[dtype][1].itemsize


def from_numpy(np_dtype: np.dtype) -> int:
    """The minisinga element type a NumPy array of ``np_dtype`` becomes by default.

    float64 becomes float32 (SINGA's rule; pass ``dtype=float64`` to keep it),
    every integer and boolean type becomes int32, and float32 stays.
    """
    kind = np.dtype(np_dtype).kind
    if kind == "f":
        return float32
    if kind in "iub":
        return int32
    raise TypeError(f"data: cannot store a NumPy array of dtype {np.dtype(np_dtype)} "
                    "(expected a float, integer or boolean array)")
