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

The registry (``REGISTRY``, of ``OpInfo`` entries, minisinga/testing/registry.py)
lists every operation with a float64 NumPy reference and sample inputs; the
test suite turns each entry into a gradient check, a forward check against the
reference, a float32-vs-float64 check and a determinism check.  The entries
live in this package, one module per family of operations, named as in
minisinga/ops (the ``"relu"`` entry is in minisinga/testing/activation.py); an
op module holds only its formula, its Operation and its function.  Importing
this package loads every entry.  ``import minisinga`` does not load it: it is
for the tests and for checking your own operations.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from .. import dtypes, engine
from .._tensor import Tensor
from .registry import REGISTRY, OpInfo, Sample, register

__all__ = ["gradcheck", "GradcheckError", "OpInfo", "Sample", "register", "REGISTRY",
           "numerical_jacobian", "analytical_jacobian"]

# The registry's entries, one module per family of operations (the names of
# minisinga/ops).  Each registers its entries when imported; all are imported
# here, so that REGISTRY is complete (the meta-test in tests/test_ops.py relies
# on it).  Add a module here when you add a family.
FAMILIES = ("activation", "batchnorm", "composite", "conv", "elementwise", "indexing", "linalg",
            "logic", "loss", "mathfn", "pooling", "reduce", "shape", "trig")
for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")


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
