"""Small helpers shared by the checks."""
from __future__ import annotations

import numpy as np

from .. import autograd, dtypes
from ..tensor import Tensor
from ..testing import GradcheckError, gradcheck
from ._registry import ExerciseFailed


def t64(arr, grad: bool = True) -> Tensor:
    """A float64 Tensor holding a copy of ``arr`` (a parameter when ``grad``)."""
    return Tensor(data=np.asarray(arr, dtype=np.float64), dtype=dtypes.float64,
                  requires_grad=grad, stores_grad=grad)


def close(got, want, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise ExerciseFailed unless ``got`` matches ``want`` (shape and values)."""
    if isinstance(got, Tensor):
        got = got.to_numpy()
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ExerciseFailed(f"{what}: expected an array, got {type(got).__name__}") from exc
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise ExerciseFailed(f"{what}: expected shape {want.shape}, got {got.shape}")
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ExerciseFailed(f"{what}: element {pos} is {float(got[pos])!r}, expected "
                             f"{float(want[pos])!r} "
                             f"({int(bad.sum())} of {bad.size} elements differ)")


def equal(got, want, what: str) -> None:
    """Raise ExerciseFailed unless ``got == want``."""
    if got != want:
        raise ExerciseFailed(f"{what}: expected {want!r}, got {got!r}")


def grads(fn, arrays, dy=None) -> list[np.ndarray]:
    """dL/d(each input) of ``L = sum(dy * fn(*inputs))`` by minisinga's autograd."""
    old = autograd.training
    autograd.training = True
    try:
        xs = [t64(a) for a in arrays]
        y = fn(*xs)
        dyt = None if dy is None else t64(dy, grad=False)
        got = autograd.gradients(y, dyt)
        return [got[x].to_numpy() if x in got else np.zeros(x.shape) for x in xs]
    finally:
        autograd.training = old


def check_grad(fn, arrays, what: str, **kwargs) -> None:
    """minisinga.gradcheck, its failure turned into ExerciseFailed."""
    try:
        gradcheck(fn, arrays, **kwargs)
    except GradcheckError as exc:
        raise ExerciseFailed(f"{what}: {exc}") from None


def forward(fn, *arrays) -> np.ndarray:
    """fn on float64 Tensors (no graph), as a float64 array."""
    return fn(*[t64(a, grad=False) for a in arrays]).to_numpy()
