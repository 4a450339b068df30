"""The C kernels and their CUDA twins give the same bits on the hard values.

Every pointwise kernel (elementwise.c, activation.c, mathfn.c, logic.c, the
casts of storage.c) and every reduction kernel gets NaN, +-inf, +-0, denormals
and ordinary values (for a binary kernel: every pair of them), on the CPU and on
the emulated GPU (the .cu files compiled for the CPU, see tests/test_cuda.py),
in float32 and float64.  The outputs must be equal BIT FOR BIT: the sign of a
zero, a NaN where the other gives a number, an int32 cast of NaN.  Only the
sign and payload of a NaN are free: IEEE 754 leaves them to the hardware (x86
keeps the first operand's, a GPU gives one canonical NaN).  The emulator
runs the host's arithmetic and libm, so any difference is a difference in the
two source files, which is what this test is for (a real GPU's libm rounds its
own way, so there tests/test_cuda.py compares to rounding instead).

A meta-test fails for a kernel of those files that is in no table here.

When it was written (before minisinga/c/pointwise.h held each formula once),
it found: relu gave 0 for NaN and -0 on the GPU (the CPU kept them); the GPU's
float -> int32 casts of NaN and +-inf were a bare C cast (undefined; the CPU
saturates and maps NaN to 0); and tanh_backward, acosh_backward,
atanh_backward, hardsigmoid_forward and affine_forward differed in the last
bit because the C build fused a*b + c into one FMA.
"""
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from minisinga import gpu, tensor
from minisinga._lib import cpu_kernel
from minisinga.ctensor import CTensor
from minisinga.tensor import Tensor

NO_CXX = "" if shutil.which("g++") else "no g++ to build the emulated CUDA kernels"
pytestmark = pytest.mark.skipif(bool(NO_CXX), reason=NO_CXX or "-")

FLOATS = [pytest.param(tensor.float32, id="f32"), pytest.param(tensor.float64, id="f64")]
NP = {tensor.float32: np.float32, tensor.float64: np.float64, tensor.int32: np.int32}
BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64,
        np.dtype(np.int32): np.int32}


def hard_values(dtype) -> np.ndarray:
    """NaN, +-inf, +-0, the smallest denormal and a larger one, the smallest
    normal, values at the kinks and edges of the formulas (+-1, +-0.5, 2, 3),
    ordinary values, and numbers large enough to overflow exp or a cast."""
    f = NP[dtype]
    info = np.finfo(f)
    tiny_den = info.smallest_subnormal
    big_den = info.tiny / f(8)
    vals = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, tiny_den, -tiny_den, big_den,
            -big_den, info.tiny, -info.tiny, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, -3.0, 0.3,
            -0.7, 1.7, -2.6, 7.5, 50.0, -50.0, 800.0, -800.0, 3e9, -3e9, info.max, -info.max]
    return np.array(vals, dtype=f)


def pairs(dtype):
    """(a, b): every pair of hard values."""
    v = hard_values(dtype)
    return np.repeat(v, len(v)), np.tile(v, len(v))


@pytest.fixture(scope="module")
def emulated():
    return gpu.emulated_gpu()


def host(ct) -> np.ndarray:
    return Tensor(data=ct, requires_grad=False).to_numpy()


def run_both(emulated, name, dtype, spec):
    """Launch kernel ``name`` (element type ``dtype``) on the CPU and on the
    emulated GPU.  ``spec`` lists the arguments in order: ("out", n, np_dtype)
    an output of n elements (filled with a NaN / -7 marker), ("inout", array) and
    ("in", array) buffers, anything else a scalar.  Returns, for each device,
    the outputs and inout buffers as NumPy arrays."""
    results = []
    for dev in (None, emulated):
        args, written, alive = [], [], []  # alive: the buffers must outlive the call
        for a in spec:
            if isinstance(a, tuple) and a[0] == "out":
                _, n, odt = a
                marker = -7 if np.dtype(odt).kind == "i" else np.nan
                arr = np.full(n, marker, dtype=odt)
            elif isinstance(a, tuple) and a[0] in ("in", "inout"):
                arr = a[1]
            else:
                args.append(a)
                continue
            ct = CTensor.from_numpy(arr, {np.float32: tensor.float32, np.float64: tensor.float64,
                                          np.int32: tensor.int32}[arr.dtype.type],
                                    dev if dev is not None else None)
            args.append(ct.ptr)
            alive.append(ct)
            if a[0] != "in":
                written.append(ct)
        fn = cpu_kernel(name, dtype) if dev is None else emulated.kernel(name, dtype)
        fn(*args)
        results.append([host(ct) for ct in written])
    return results


def differences(cpu, gpu_, inputs) -> str:
    """'' when every output has the same bits; else the first few elements that
    differ, with the inputs that gave them."""
    lines = []
    for k, (c, g) in enumerate(zip(cpu, gpu_)):
        cb, gb = c.view(BITS[c.dtype]).ravel(), g.view(BITS[g.dtype]).ravel()
        same = cb == gb
        if c.dtype.kind == "f":  # any NaN matches any NaN (see the module's docstring)
            same |= np.isnan(c.ravel()) & np.isnan(g.ravel())
        bad = np.flatnonzero(~same)
        for i in bad[:6]:
            where = ", ".join(f"{x.ravel()[i]!r}" for x in inputs)
            lines.append(f"output {k} [{i}] from ({where}): cpu {c.ravel()[i]!r} "
                         f"gpu {g.ravel()[i]!r}")
        if len(bad) > 6:
            lines.append(f"output {k}: ... {len(bad)} elements differ in all")
    return "\n".join(lines)


# ------------------------------------------------------------------ the tables
# Unary kernels: (y, x, n).
UNARY = ["reciprocal_forward", "abs_forward", "exp_forward", "log_forward", "sqrt_forward",
         "relu_forward", "sigmoid_forward", "tanh_forward", "softplus_forward",
         "softsign_forward", "sign_forward", "ceil_forward", "floor_forward", "round_forward",
         "rounde_forward", "erf_forward", "sin_forward", "cos_forward", "tan_forward",
         "asin_forward", "acos_forward", "atan_forward", "sinh_forward", "cosh_forward",
         "asinh_forward", "acosh_forward", "atanh_forward", "not_forward"]
# Unary backward kernels: (dx, dy, x or y, n).
UNARY_BACKWARD = ["reciprocal_backward", "abs_backward", "sqrt_backward", "relu_backward",
                  "sigmoid_backward", "tanh_backward", "softplus_backward",
                  "softsign_backward", "erf_backward", "sin_backward", "cos_backward",
                  "tan_backward", "asin_backward", "acos_backward", "atan_backward",
                  "sinh_backward", "cosh_backward", "asinh_backward", "acosh_backward",
                  "atanh_backward"]
# Binary kernels: (y, a, b, n).
BINARY = ["add_forward", "sub_forward", "mul_forward", "div_forward", "pow_forward",
          "less_forward", "greater_forward", "equal_forward", "and_forward", "or_forward",
          "xor_forward", "prelu_forward"]
# The casts: kernel -> the source element type.
CASTS = {"cast_from_f32": np.float32, "cast_from_f64": np.float64, "cast_from_i32": np.int32}
# The reductions over the middle axis of (outer, mid, inner), and softmax.
REDUCTIONS = ["reduce_sum_forward", "reduce_max_forward", "reduce_min_forward",
              "softmax_forward", "softmax_backward", "reduce_arg_backward"]
# Kernels of those files that are not pointwise over hard values, with why.
NOT_HERE = {
    "add_bias_forward": "broadcasting add: test_cuda.py compares it (it is add_forward's formula)",
    "cossim_forward": "a row reduction in a tree: test_cuda_kernels.py compares to rounding",
    "cossim_backward": "a row reduction in a tree: test_cuda_kernels.py compares to rounding",
    "ranking_loss_forward": "a loss over many blocks: test_cuda_kernels.py compares to rounding",
    "ranking_loss_backward": "a loss over many blocks: test_cuda_kernels.py compares to rounding",
}
# Kernels with scalar parameters or several outputs: their arguments are in
# scalar_case below.
SCALARS = ["leakyrelu_forward", "leakyrelu_backward", "elu_forward", "elu_backward",
           "hardsigmoid_forward", "hardsigmoid_backward", "clip_forward", "clip_backward",
           "affine_forward", "axpy", "dropout_forward", "div_backward", "pow_backward",
           "prelu_backward", "where_forward", "where_backward", "max_update", "min_update",
           "argselect_backward"]

# The optimizers' update rules (optim.c, the rules in optim_rules.h) and the schedule:
# name -> the hyperparameter settings tried (see test_optimizer_rule).
OPTIMIZERS = {
    "sgd_update": [(0.9, 0.1, 0.01, 0), (0.9, 0.0, 0.0, 1), (0.0, 0.0, 0.01, 0)],
    "adam_update": [(0.9, 0.999, 1e-8, 0.0), (0.5, 0.9, 1e-3, 0.01)],
    "rmsprop_update": [(0.9, 1e-8, 0.0), (0.5, 1e-3, 0.01)],
    "adagrad_update": [(1e-8, 0.0), (1e-3, 0.01)],
    "exponential_decay": [(0.1, 3.0, 0.5, 0), (0.1, 3.0, 0.5, 1)],
}


def cases(names, dtypes=("f32", "f64")):
    """(name, dtype) parameters."""
    ids = {"f32": tensor.float32, "f64": tensor.float64, "i32": tensor.int32}
    return [pytest.param(name, ids[d], id=f"{name}-{d}") for name in names for d in dtypes]


def declared_kernels() -> set[str]:
    """The kernels minisinga.h declares for elementwise.c, activation.c,
    mathfn.c, logic.c, reduce.c and optim.c, and the casts."""
    header = (Path(__file__).resolve().parent.parent / "minisinga" / "c" / "minisinga.h").read_text()
    names = {"cast_from_f32", "cast_from_f64", "cast_from_i32"}
    for section in re.split(r"/\* =+ ", header):
        if re.match(r"(elementwise|activation|mathfn|logic|reduce|optim)\.c", section):
            names |= set(re.findall(r"void FN\((\w+)\)", section))
    return names


def test_every_pointwise_and_reduction_kernel_is_twin_tested():
    covered = (set(UNARY) | set(UNARY_BACKWARD) | set(BINARY) | set(CASTS) | set(REDUCTIONS)
               | set(SCALARS) | set(OPTIMIZERS) | set(NOT_HERE))
    missing = declared_kernels() - covered
    assert not missing, f"kernels with no twin test (add them to a table): {sorted(missing)}"
    assert not covered - declared_kernels(), "a table names a kernel minisinga.h does not declare"


# ------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name, dtype", cases(UNARY))
def test_unary(emulated, name, dtype):
    x = hard_values(dtype)
    cpu, gpu_ = run_both(emulated, name, dtype, [("out", x.size, NP[dtype]), ("in", x), x.size])
    assert not differences(cpu, gpu_, [x]), f"{name}:\n" + differences(cpu, gpu_, [x])


@pytest.mark.parametrize("name, dtype", cases(UNARY_BACKWARD))
def test_unary_backward(emulated, name, dtype):
    dy, x = pairs(dtype)
    cpu, gpu_ = run_both(emulated, name, dtype,
                         [("out", x.size, NP[dtype]), ("in", dy), ("in", x), x.size])
    assert not differences(cpu, gpu_, [dy, x]), f"{name}:\n" + differences(cpu, gpu_, [dy, x])


@pytest.mark.parametrize("name, dtype", cases(BINARY))
def test_binary(emulated, name, dtype):
    a, b = pairs(dtype)
    cpu, gpu_ = run_both(emulated, name, dtype,
                         [("out", a.size, NP[dtype]), ("in", a), ("in", b), a.size])
    assert not differences(cpu, gpu_, [a, b]), f"{name}:\n" + differences(cpu, gpu_, [a, b])


def scalar_case(name, dtype):
    """(spec, inputs) for a kernel with scalar parameters."""
    f = NP[dtype]
    x = hard_values(dtype)
    dy, xx = pairs(dtype)
    n, m = x.size, xx.size
    out = ("out", n, f)
    out2 = ("out", m, f)
    mask = (np.arange(n) % 3 != 0).astype(f)
    cond = (np.arange(m) % 2).astype(f)
    cond[::5] = np.nan
    k = np.arange(m, dtype=np.int32) % 3
    cases = {
        "leakyrelu_forward": ([out, ("in", x), 0.1, n], [x]),
        "leakyrelu_backward": ([out2, ("in", dy), ("in", xx), 0.1, m], [dy, xx]),
        "elu_forward": ([out, ("in", x), 0.7, 1.3, n], [x]),
        "elu_backward": ([out2, ("in", dy), ("in", xx), 0.7, 1.3, m], [dy, xx]),
        "hardsigmoid_forward": ([out, ("in", x), 0.2, 0.5, n], [x]),
        "hardsigmoid_backward": ([out2, ("in", dy), ("in", xx), 0.2, 0.5, m], [dy, xx]),
        "clip_forward": ([out, ("in", x), -1.0, 2.0, n], [x]),
        "clip_backward": ([out2, ("in", dy), ("in", xx), -1.0, 2.0, m], [dy, xx]),
        "affine_forward": ([out, ("in", x), -1.5, 0.25, n], [x]),
        "axpy": ([("inout", x.copy()), ("in", x[::-1].copy()), 0.3, n], [x, x[::-1]]),
        "dropout_forward": ([out, ("in", x), ("in", mask), 1.25, n], [x, mask]),
        "div_backward": ([out2, out2, ("in", dy), ("in", xx), ("in", dy[::-1].copy()), m],
                         [dy, xx, dy[::-1]]),
        "pow_backward": ([out2, out2, ("in", dy), ("in", xx), ("in", dy[::-1].copy()),
                          ("in", xx[::-1].copy()), m], [dy, xx, dy[::-1], xx[::-1]]),
        "prelu_backward": ([out2, out2, ("in", dy), ("in", xx), ("in", dy[::-1].copy()), m],
                           [dy, xx, dy[::-1]]),
        "where_forward": ([out2, ("in", cond), ("in", dy), ("in", xx), m], [cond, dy, xx]),
        "where_backward": ([out2, out2, ("in", dy), ("in", cond), m], [dy, cond]),
        "max_update": ([("inout", dy.copy()), ("inout", np.zeros(m, np.int32)), ("in", xx), 1,
                        m], [dy, xx]),
        "min_update": ([("inout", dy.copy()), ("inout", np.zeros(m, np.int32)), ("in", xx), 1,
                        m], [dy, xx]),
        "argselect_backward": ([out2, ("in", dy), ("in", k), 1, m], [dy, k]),
    }
    return cases[name]


@pytest.mark.parametrize("name, dtype", cases(SCALARS))
def test_with_scalars(emulated, name, dtype):
    spec, inputs = scalar_case(name, dtype)
    cpu, gpu_ = run_both(emulated, name, dtype, spec)
    assert not differences(cpu, gpu_, inputs), f"{name}:\n" + differences(cpu, gpu_, inputs)


@pytest.mark.parametrize("name, dtype", cases(list(CASTS), ("i32", "f32", "f64")))
def test_cast(emulated, name, dtype):
    src = CASTS[name]
    if src == np.int32:
        x = np.array([0, 1, -1, 7, -7, 2**24 + 1, -(2**24 + 1), 2**31 - 1, -2**31], np.int32)
    else:
        x = hard_values(tensor.float32 if src == np.float32 else tensor.float64)
        x = np.concatenate([x, np.array([2.5, -2.5, 2**31 - 0.5, -2**31 - 0.5, 2**31, -2**31 - 1,
                                         1e-45, 1e-300], src)]).astype(src)
    cpu, gpu_ = run_both(emulated, name, dtype, [("out", x.size, NP[dtype]), ("in", x), x.size])
    assert not differences(cpu, gpu_, [x]), f"{name}:\n" + differences(cpu, gpu_, [x])


@pytest.mark.parametrize("name, dtype", cases(REDUCTIONS))
def test_reduction(emulated, name, dtype):
    """Rows of the hard values in three orders, reduced over the middle axis;
    rows long and short (a block's threads split a long row)."""
    v = hard_values(dtype)
    rng = np.random.default_rng(0)
    for mid, inner in ((v.size, 1), (v.size, 3), (3, 5)):
        outer = 3
        x = np.stack([rng.permutation(np.resize(v, mid * inner)) for _ in range(outer)])
        x = x.reshape(outer, mid, inner).astype(NP[dtype])
        ordinary = rng.uniform(-2, 2, x.shape).astype(NP[dtype])
        n_out = outer * inner
        if name == "reduce_sum_forward":
            spec = [("out", n_out, NP[dtype]), ("in", x.ravel()), outer, mid, inner, 0.5]
        elif name in ("reduce_max_forward", "reduce_min_forward"):
            spec = [("out", n_out, NP[dtype]), ("out", n_out, np.int32), ("in", x.ravel()),
                    outer, mid, inner]
        elif name == "softmax_forward":
            spec = [("out", x.size, NP[dtype]), ("in", x.ravel()), outer, mid, inner]
        elif name == "softmax_backward":
            spec = [("out", x.size, NP[dtype]), ("in", x.ravel()), ("in", ordinary.ravel()),
                    outer, mid, inner]
        else:  # reduce_arg_backward
            arg = (np.arange(n_out, dtype=np.int32) * 7) % mid
            spec = [("out", x.size, NP[dtype]), ("in", x[:, 0, :].ravel().copy()), ("in", arg),
                    outer, mid, inner]
        cpu, gpu_ = run_both(emulated, name, dtype, spec)
        diff = differences(cpu, gpu_, [x.ravel()])
        assert not diff, f"{name} (outer, mid, inner) = {(outer, mid, inner)}:\n{diff}"


@pytest.mark.parametrize("dtype", FLOATS)
def test_relu_keeps_nan_and_the_sign_of_zero_on_both_backends(emulated, dtype):
    """relu's rule (its docstring, minisinga/ops/activation.py): NaN stays NaN,
    as in PyTorch, so a diverged value is not silently turned into 0; -0 stays
    -0 (x < 0 is false for both)."""
    x = np.array([np.nan, -np.inf, np.inf, -1.0, -0.0, 2.0], NP[dtype])
    want = np.array([np.nan, 0.0, np.inf, 0.0, -0.0, 2.0], NP[dtype])
    for got in run_both(emulated, "relu_forward", dtype, [("out", 6, NP[dtype]), ("in", x), 6]):
        np.testing.assert_array_equal(got[0], want)
        assert np.signbit(got[0][4]), "relu(-0) must be -0"


@pytest.mark.parametrize("name, dtype", cases(OPTIMIZERS))
def test_optimizer_rule(emulated, name, dtype):
    """Every update rule on every pair (p, g) of hard values, the state buffers filled
    with hard values too, for a few hyperparameter settings (momentum on and off,
    nesterov, weight decay), with lr and step one-element double tensors as the
    optimizers pass them; the schedule on hard step counts."""
    f = NP[dtype]
    p, g = pairs(dtype)
    n = p.size
    rng = np.random.default_rng(1)

    def state():
        return ("inout", rng.permutation(np.resize(hard_values(dtype), n)).astype(f))

    lr, step = ("in", np.array([0.1])), ("in", np.array([4.0]))
    for hyper in OPTIMIZERS[name]:
        if name == "sgd_update":
            spec = [("inout", p.copy()), state(), ("in", g), lr, *hyper, n]
        elif name == "adam_update":
            spec = [("inout", p.copy()), state(), ("inout", np.abs(state()[1])), ("in", g), lr,
                    step, *hyper, n]
        elif name == "rmsprop_update":
            spec = [("inout", p.copy()), ("inout", np.abs(state()[1])), ("in", g), lr, *hyper, n]
        elif name == "adagrad_update":
            spec = [("inout", p.copy()), ("inout", np.abs(state()[1])), ("in", g), lr, *hyper, n]
        else:   # exponential_decay: one value from one step count
            for s in (0.0, 1.0, 2.5, 7.0, 1e6):
                spec = [("out", 1, f), ("in", np.array([s], f)), *hyper]
                cpu, gpu_ = run_both(emulated, name, dtype, spec)
                assert not differences(cpu, gpu_, [np.array([s])]), f"{name} {hyper} step {s}"
            continue
        cpu, gpu_ = run_both(emulated, name, dtype, spec)
        diff = differences(cpu, gpu_, [p, g])
        assert not diff, f"{name} {hyper}:\n{diff}"
