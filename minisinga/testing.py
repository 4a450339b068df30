"""minisinga.testing: gradient checking, and the registry of operations it drives.

``gradcheck(fn, inputs)`` compares the gradients that autograd computes
(analytical, through the C float64 kernels) with central finite differences
(numerical).  It is strict in the way PyTorch's gradcheck is:

* float64 inputs, central differences with eps = 1e-6;
* the full Jacobian for small inputs (every output element against every
  input element), and always a random upstream gradient v, never only
  ``.sum()``: ``L = sum(v * y)`` catches a transposed or permuted gradient
  that ``.sum()`` would hide;
* |analytical - numerical| <= atol + rtol * |numerical|, atol 1e-5, rtol 1e-3.

A failure raises ``GradcheckError`` naming the operation, the input, the
element, and both values.  Use it on your own Operation::

    import minisinga
    minisinga.gradcheck(square, [np.random.rand(3, 4)])

The registry (``OpInfo`` entries, registered by each module in
``minisinga/ops``) lists every operation with a float64 NumPy reference and
sample inputs; the test suite turns each entry into a gradient check, a
forward check against the reference, a float32-vs-float64 check and a
determinism check.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import dtypes, engine
from ._tensor import Tensor

__all__ = ["gradcheck", "GradcheckError", "OpInfo", "Sample", "register", "REGISTRY",
           "numerical_jacobian", "analytical_jacobian"]


class GradcheckError(AssertionError):
    """A gradient check failed; the message says where and by how much."""


def _as_input(x, differentiable: bool) -> Tensor:
    if isinstance(x, Tensor):
        arr = x.to_numpy()
    else:
        arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return Tensor(data=arr.astype(np.float64), dtype=dtypes.float64,
                      requires_grad=differentiable, stores_grad=differentiable)
    return Tensor(data=arr, requires_grad=False)


def _outputs(result) -> list[Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _evaluate(fn, tensors) -> list[np.ndarray]:
    """fn's outputs as float64 arrays, evaluated in training mode (as backward sees it)."""
    old = engine.training
    engine.training = True
    try:
        return [o.to_numpy().astype(np.float64) for o in _outputs(fn(*tensors))]
    finally:
        engine.training = old


def analytical_vjp(fn, tensors, vs) -> dict[int, np.ndarray]:
    """Gradients of L = sum_k <v_k, y_k> with respect to each input, by autograd."""
    old = engine.training
    engine.training = True
    try:
        outs = _outputs(fn(*tensors))
        dys = [Tensor(data=v, dtype=o.dtype, requires_grad=False) for o, v in zip(outs, vs)]
        roots = [(o, d) for o, d in zip(outs, dys) if o.creator is not None and o.requires_grad]
        grads = {}
        if roots:
            for p, g in engine._backward_many([o for o, _ in roots], [d for _, d in roots]):
                grads[id(p)] = g.to_numpy()
    finally:
        engine.training = old
    return {i: grads.get(id(t), np.zeros(t.shape)) for i, t in enumerate(tensors)
            if t.stores_grad}


def numerical_jacobian(fn, tensors, index: int, eps: float) -> np.ndarray:
    """J[out_flat, in_flat] for input ``index`` by central differences.

    The input is perturbed in place through its zero-copy NumPy view."""
    view = tensors[index].data.numpy().reshape(-1)
    cols = []
    for j in range(view.size):
        orig = view[j]
        view[j] = orig + eps
        plus = np.concatenate([o.ravel() for o in _evaluate(fn, tensors)])
        view[j] = orig - eps
        minus = np.concatenate([o.ravel() for o in _evaluate(fn, tensors)])
        view[j] = orig
        cols.append((plus - minus) / (2 * eps))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def analytical_jacobian(fn, tensors, index: int, out_shapes) -> np.ndarray:
    """J[out_flat, in_flat] for input ``index``: one backward per output element."""
    sizes = [int(np.prod(s)) for s in out_shapes]
    rows = []
    for k, size in enumerate(sizes):
        for e in range(size):
            vs = [np.zeros(s) for s in out_shapes]
            vs[k].reshape(-1)[e] = 1.0
            rows.append(analytical_vjp(fn, tensors, vs)[index].reshape(-1))
    return np.stack(rows) if rows else np.zeros((0, 0))


def _compare(name, what, index, shape, analytical, numerical, atol, rtol):
    diff = np.abs(analytical - numerical)
    bound = atol + rtol * np.abs(numerical)
    bad = ~(diff <= bound)  # also catches NaN
    if bad.any():
        pos = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise GradcheckError(
            f"gradcheck failed for {name}: {what}, input {index} (shape {tuple(shape)}), "
            f"element {tuple(int(p) for p in pos)}: numerical {numerical[pos]!r} vs "
            f"analytical {analytical[pos]!r} (|diff| {diff[pos]:.3g} > atol + rtol*|numerical| "
            f"= {bound[pos]:.3g}); {int(bad.sum())} of {bad.size} elements differ")


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0, wrt=None, name: str | None = None,
              full_jacobian_limit: int = 4096) -> bool:
    """Check autograd's gradients of ``fn`` against central differences.

    Args:
        fn: takes Tensors (one per input) and returns a Tensor or a tuple.
        inputs: NumPy arrays or Tensors; float ones are converted to float64.
        wrt: indices of the inputs to check (default: every float input).
        full_jacobian_limit: compare the full Jacobian when
            (output size x input size) is at most this; the random-projection
            check always runs.
    Returns True, or raises GradcheckError.
    """
    name = name or getattr(fn, "__name__", "fn")
    arrays = [x.to_numpy() if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    tensors = [_as_input(a, i in wrt) for i, a in enumerate(arrays)]
    outs = _evaluate(fn, tensors)
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(o.shape) for o in outs]

    # 1. Random projection: d/dx <v, f(x)>.
    analytical = analytical_vjp(fn, tensors, vs)
    for i in wrt:
        num_j = numerical_jacobian(fn, tensors, i, eps)
        v_flat = np.concatenate([v.ravel() for v in vs]) if vs else np.zeros(0)
        numerical = (v_flat @ num_j).reshape(tensors[i].shape) if num_j.size else \
            np.zeros(tensors[i].shape)
        _compare(name, "random upstream gradient", i, tensors[i].shape,
                 analytical[i].reshape(tensors[i].shape), numerical, atol, rtol)
        # 2. The full Jacobian, when small enough.
        out_size = sum(o.size for o in outs)
        if 0 < out_size * tensors[i].size() <= full_jacobian_limit:
            ana_j = analytical_jacobian(fn, tensors, i, [o.shape for o in outs])
            _compare(name, "Jacobian [output element, input element]", i,
                     tensors[i].shape, ana_j, num_j, atol, rtol)
    return True


# ------------------------------------------------------------------------------ registry
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
