"""Tests generated from the operation registry (minisinga.testing.REGISTRY).

For every registered operation and each of its samples:
  * gradcheck through the real C float64 kernels (full Jacobian + random projection);
  * forward against the float64 NumPy reference;
  * float32 against float64, within float32 rounding;
  * the same sample run twice gives bitwise-identical gradients.
And a meta-test: every Operation subclass in minisinga has a registry entry.
"""
import ast
import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minisinga
from minisinga import autograd, tensor, testing
from minisinga.testing import REGISTRY, analytical_vjp

CASES = [(name, i) for name, info in sorted(REGISTRY.items())
         for i in range(len(info.samples(np.random.default_rng(0))))]
# Random operations (dropout) have no reference output; their own tests pin them.
REF_CASES = [(name, i) for name, i in CASES if REGISTRY[name].ref is not None]
GRAD_CASES = [(name, i) for name, i in CASES if REGISTRY[name].no_grad is None]


def _sample(name, i):
    info = REGISTRY[name]
    return info, info.samples(np.random.default_rng(0))[i]


def _fn(info, sample):
    return functools.partial(info.fn, **sample.kwargs)


def _tensors(arrays, dtype):
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            out.append(tensor.Tensor(data=a, dtype=dtype))
        else:
            out.append(tensor.Tensor(data=a))
    return out


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("name, i", GRAD_CASES)
def test_gradcheck(name, i):
    info, sample = _sample(name, i)
    fn = _fn(info, sample)
    fn.__name__ = name
    minisinga.gradcheck(fn, sample.args, atol=info.atol, rtol=info.rtol,
                        wrt=info.grad_inputs, name=f"{name} [{sample.note or i}]")


@pytest.mark.parametrize("name, i", REF_CASES)
def test_forward_matches_numpy_reference(name, i):
    info, sample = _sample(name, i)
    got = _as_tuple(_fn(info, sample)(*_tensors(sample.args, tensor.float64)))
    want = _as_tuple(info.ref(*sample.args, **sample.kwargs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == np.shape(w), f"{name}: shape {g.shape} != reference {np.shape(w)}"
        np.testing.assert_allclose(tensor.to_numpy(g), w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, i", CASES)
def test_float32_agrees_with_float64(name, i):
    info, sample = _sample(name, i)
    fn = _fn(info, sample)
    r64 = _as_tuple(fn(*_tensors(sample.args, tensor.float64)))
    r32 = _as_tuple(fn(*_tensors(sample.args, tensor.float32)))
    for a, b in zip(r32, r64):
        if info.fixed_dtype:
            assert a.dtype == b.dtype, f"{name}: the output dtype depends on the input's"
        else:
            assert a.dtype == tensor.float32 and b.dtype == tensor.float64
        np.testing.assert_allclose(tensor.to_numpy(a), tensor.to_numpy(b),
                                   rtol=info.f32_rtol, atol=info.f32_atol)


@pytest.mark.parametrize("name, i", GRAD_CASES)
def test_gradients_are_deterministic(name, i):
    info, sample = _sample(name, i)
    fn = _fn(info, sample)
    runs = []
    for _ in range(2):
        ts = []
        for k, a in enumerate(sample.args):
            a = np.asarray(a)
            diff = a.dtype.kind == "f" and (info.grad_inputs is None or k in info.grad_inputs)
            ts.append(tensor.Tensor(data=a, dtype=tensor.float64 if a.dtype.kind == "f" else None,
                                    requires_grad=diff, stores_grad=diff))
        outs = _as_tuple(fn(*ts))
        vs = [np.linspace(-1, 1, o.size()).reshape(o.shape) for o in outs]
        runs.append(analytical_vjp(fn, ts, vs))
    assert runs[0].keys() == runs[1].keys() and runs[0]
    for k in runs[0]:
        assert np.array_equal(runs[0][k], runs[1][k]), f"{name}: input {k} gradients differ"


def _all_operation_classes():
    seen, stack = set(), [autograd.Operation]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return {c for c in seen if c.__module__.startswith("minisinga.")
            and not c.__name__.startswith("_") and c is not autograd.Dummy}


def test_every_operation_has_a_registry_entry():
    covered = {op for info in REGISTRY.values() for op in info.ops}
    missing = sorted(c.__name__ for c in _all_operation_classes() - covered)
    assert not missing, f"Operations without a registry entry: {missing}"


def test_registry_lives_in_minisinga_testing_and_every_family_module_is_loaded():
    # an op module is formula, Operation, function: its entries are in
    # minisinga/testing/<family>.py, and minisinga.testing imports every one of those
    # (a module left out of FAMILIES would drop its entries without a failure here
    # for ops without an Operation, like the composites)
    package = Path(minisinga.__file__).parent
    for path in sorted((package / "ops").glob("*.py")):
        source = path.read_text()
        assert "register(OpInfo(" not in source and "testing import" not in source, \
            f"{path.name}: registry entries belong in minisinga/testing/{path.name}"
    families = {p.stem for p in (package / "testing").glob("*.py")} - {"__init__", "registry"}
    assert set(testing.FAMILIES) == families
    assert all(f"minisinga.testing.{f}" in sys.modules for f in families)
    assert REGISTRY["relu"].fn.__module__ == "minisinga.ops.activation"


def test_no_op_module_imports_numpy():
    # NumPy is for getting data in and out and for the tests' references: an
    # operation's forward and backward run on the kernels only (issue 18)
    package = Path(minisinga.__file__).parent
    for path in sorted((package / "ops").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "numpy" or n.startswith("numpy.") for n in names), \
                f"minisinga/ops/{path.name} imports NumPy (line {node.lineno})"


def test_import_minisinga_loads_the_registry_only_when_asked():
    code = ("import sys, minisinga; assert 'minisinga.testing' not in sys.modules; "
            "from minisinga import gradcheck; import minisinga.testing as t; "
            "assert gradcheck is t.gradcheck and minisinga.GradcheckError is t.GradcheckError; "
            "assert 'relu' in t.REGISTRY")
    subprocess.run([sys.executable, "-c", code], check=True)
