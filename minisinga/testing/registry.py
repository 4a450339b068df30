"""The registry of operations: one ``OpInfo`` entry per operation.

Each entry holds the function, a float64 NumPy reference, small sample inputs
(kept away from kinks and poles) and which inputs are differentiable.  The
entries are written in the modules beside this one, one per family of ops, with
the names of ``minisinga/ops``: the ``"relu"`` entry is in
``minisinga/testing/activation.py``, next to the references and samples it uses.
Importing ``minisinga.testing`` loads them all; the test suite turns each into a
gradient check, a forward check against the reference, a float32-vs-float64
check and a determinism check (tests/test_ops.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["OpInfo", "Sample", "register", "REGISTRY"]


@dataclass
class Sample:
    """One set of inputs for an operation: positional arrays and keyword args."""
    args: list
    kwargs: dict = field(default_factory=dict)
    note: str = ""


@dataclass
class OpInfo:
    """A registry entry: everything the generated tests need for one operation.

    Attributes:
        name: the wrapper function's name (``"relu"``), the id of the tests.
        ops: the Operation classes this entry covers (for the meta-test).
        fn: ``fn(*tensors, **kwargs)`` -> Tensor or tuple of Tensors.
        ref: float64 NumPy reference, ``ref(*arrays, **kwargs)`` -> array or tuple.
        samples: ``samples(rng)`` -> list of Sample, kept away from kinks/poles.
        grad_inputs: indices of the differentiable inputs (None: every float one).
        no_grad: the reason the operation has no gradient (then it is not checked).
        random: the output is random (dropout): no reference comparison.
        atol, rtol: gradcheck tolerances.
        f32_rtol: tolerance of the float32-vs-float64 comparison.
        fixed_dtype: the outputs' element type does not follow the float inputs'
            (int32 shapes and indices, cast, onehot): the float32-vs-float64
            test then checks that both runs give one dtype and equal values.
    """
    name: str
    ops: tuple
    fn: Callable
    ref: Callable | None
    samples: Callable
    grad_inputs: list | None = None
    no_grad: str | None = None
    random: bool = False
    atol: float = 1e-5
    rtol: float = 1e-3
    f32_rtol: float = 1e-4
    f32_atol: float = 1e-5
    fixed_dtype: bool = False


REGISTRY: dict[str, OpInfo] = {}


def register(info: OpInfo) -> OpInfo:
    """Add an entry to the registry (names must be unique)."""
    if info.name in REGISTRY:
        raise ValueError(f"register: an entry named {info.name!r} already exists")
    REGISTRY[info.name] = info
    return info
