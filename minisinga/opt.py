"""minisinga.opt: optimizers.  Each update is one C kernel per parameter.

``SGD(lr)`` with ``update(param, grad)`` is plain gradient descent,
p <- p - lr * g, computed in place by the ``axpy`` kernel.
"""
from __future__ import annotations

from . import backend
from .tensor import Tensor

__all__ = ["Optimizer", "SGD"]


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr: expected a number, got {lr!r}")
    if lr < 0:
        raise ValueError(f"lr: must be >= 0, got {lr}")
    return float(lr)


class Optimizer:
    """Base class: holds the learning rate and applies updates in place."""

    def __init__(self, lr=0.1):
        self.lr = _check_lr(lr)

    def update(self, param: Tensor, grad: Tensor) -> None:
        """Apply one update to ``param`` in place, given its gradient."""
        if not isinstance(param, Tensor) or not isinstance(grad, Tensor):
            raise TypeError("update: param and grad must be Tensors")
        if param.shape != grad.shape:
            raise ValueError(f"update: param {param.name} has shape {param.shape} but its "
                             f"gradient has shape {grad.shape}")
        if param.dtype != grad.dtype:
            raise TypeError(f"update: param {param.name} and its gradient differ in dtype")
        self.apply(param.name, param, grad)

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent: p <- p - lr * g."""

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        backend.axpy(param.data, grad.data, -self.lr)
