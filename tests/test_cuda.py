"""Tests of the CUDA backend (minisinga/cuda, minisinga/gpu.py).

Every kernel test runs on three kinds of device:

* ``cpu``: the C kernels, the reference path;
* ``emulated``: the CUDA kernels of minisinga/cuda compiled for the CPU with
  g++ under minisinga/cuda/emulate.h (blocks run one after another, a block's
  threads are fibers meeting at every __syncthreads); ``gpu.EmulatedGPU``
  presents it to Python as a GPU (no NumPy views: host reads are copies).  It
  needs no GPU and no nvcc, so the kernels' indexing, tiling and reductions
  and the operations' GPU paths are checked on every machine; timing, races
  between blocks and CUDA's own math library are not;
* ``cuda``: a real GPU through minisinga._cuda, skipped (with the reason) where
  there is none.

For each device: the registry's checks (forward against the float64 NumPy
reference, a float64 gradient check by central differences run ON the device,
float32 against float64) and agreement with the CPU's results and gradients;
then the kernels the registry reaches only in easy shapes (GEMM with every
transpose, beta == 0 on a NaN-filled output, batched strides, tile edges;
reductions longer than a block; the losses over many blocks; Philox numbers bit
for bit).  tests/test_cuda_kernels.py and tests/test_cuda_model.py add the
newer kernels in hard shapes and the Model / optimizer / checkpoint API on the
devices.  Without a GPU: the module imports, get_num_gpus() is 0, asking for a
GPU is a clear error, and the CUDA module (if nvcc built it) declares exactly
the C kernels' signatures.
"""
import functools
import os
import shutil

import numpy as np
import pytest

from minisinga import _build_cuda, autograd, device, gpu, tensor
from minisinga._lib import cpu_kernel, ffi
from minisinga._lib import lib as c_lib
from minisinga.ctensor import CTensor
from minisinga.tensor import Tensor
from minisinga.testing import REGISTRY, _compare
from minisinga.testing.activation import np_softmax

# ----------------------------------------------------------------------- devices


NO_GPU = gpu.why_unavailable()
NO_CXX = "" if shutil.which("g++") else "no g++ to build the emulated CUDA kernels"


# MINISINGA_TEST_DEVICES=cuda (a comma-separated list) runs only those devices'
# cases; tools/gpu_check.sh uses it to spend GPU time on the GPU alone.
_WANTED = os.environ.get("MINISINGA_TEST_DEVICES", "cpu,emulated,cuda").split(",")


@pytest.fixture(scope="session")
def emulated():
    if "emulated" not in _WANTED:
        pytest.skip("MINISINGA_TEST_DEVICES leaves out the emulated device")
    if NO_CXX:
        pytest.skip(NO_CXX)
    return gpu.emulated_gpu()

DEVICES = [p for p in [
    pytest.param("cpu", id="cpu"),
    pytest.param("emulated", id="emulated"),
    pytest.param("cuda", id="cuda",
                 marks=pytest.mark.skipif(bool(NO_GPU), reason=f"no GPU: {NO_GPU}")),
] if p.id in _WANTED]


@pytest.fixture(params=DEVICES)
def dev(request):
    if request.param == "cpu":
        return device.get_default_device()
    if request.param == "emulated":
        return request.getfixturevalue("emulated")
    return device.create_cuda_gpu()


# ------------------------------------------------------------- helpers on a device


def _tensor(a, dev, dtype, grad=False):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return Tensor(data=a, dtype=dtype, device=dev, requires_grad=grad, stores_grad=grad)
    return Tensor(data=a, device=dev, requires_grad=False)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _run(fn, arrays, dev, dtype, grad_inputs=()):
    """fn's outputs (NumPy) and, given upstream gradients, input gradients."""
    old = autograd.training
    autograd.training = True
    try:
        ts = [_tensor(a, dev, dtype, grad=i in grad_inputs) for i, a in enumerate(arrays)]
        outs = _as_tuple(fn(*ts))
    finally:
        autograd.training = old
    return ts, outs


def _vjp(fn, arrays, dev, dtype, grad_inputs, vs):
    """Gradients of sum_k <v_k, y_k> for the inputs in grad_inputs, on dev."""
    old = autograd.training
    autograd.training = True
    try:
        ts, outs = _run(fn, arrays, dev, dtype, grad_inputs)
        dys = [Tensor(data=v, dtype=o.dtype, device=dev, requires_grad=False)   # (cast: not dtype)
               for v, o in zip(vs, outs)]
        roots = [(o, d) for o, d in zip(outs, dys) if o.creator is not None and o.requires_grad]
        got = {}
        if roots:
            for p, g in autograd._backward_many([o for o, _ in roots], [d for _, d in roots]):
                got[id(p)] = g.to_numpy()
    finally:
        autograd.training = old
    return {i: got.get(id(ts[i]), np.zeros(np.shape(arrays[i]))) for i in grad_inputs}


def _outputs(fn, arrays, dev, dtype):
    _, outs = _run(fn, arrays, dev, dtype)
    return [o.to_numpy().astype(np.float64) for o in outs]


def device_gradcheck(fn, arrays, dev, grad_inputs, name, eps=1e-6, atol=1e-5, rtol=1e-3,
                     full_limit=4096):
    """minisinga.gradcheck's strict check, with every evaluation on ``dev``:
    central differences against autograd, for a random upstream gradient and
    (small cases) the full Jacobian."""
    arrays = [np.asarray(a) for a in arrays]
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    outs = _outputs(fn, arrays, dev, tensor.float64)
    rng = np.random.default_rng(0)
    vs = [rng.standard_normal(o.shape) for o in outs]
    ana = _vjp(fn, arrays, dev, tensor.float64, grad_inputs, vs)
    out_shapes = [o.shape for o in outs]
    for i in grad_inputs:
        cols = []
        for j in range(arrays[i].size):
            pert = [a.copy() for a in arrays]
            pert[i].reshape(-1)[j] += eps
            plus = np.concatenate([o.ravel() for o in _outputs(fn, pert, dev, tensor.float64)])
            pert[i].reshape(-1)[j] -= 2 * eps
            minus = np.concatenate([o.ravel() for o in _outputs(fn, pert, dev, tensor.float64)])
            cols.append((plus - minus) / (2 * eps))
        num_j = np.stack(cols, axis=1)
        v_flat = np.concatenate([v.ravel() for v in vs])
        _compare(name, f"random upstream gradient on {dev}", i, arrays[i].shape,
                 ana[i].reshape(arrays[i].shape), (v_flat @ num_j).reshape(arrays[i].shape),
                 atol, rtol)
        out_size = sum(int(np.prod(s)) for s in out_shapes)
        if 0 < out_size * arrays[i].size <= full_limit:
            rows = []
            for k, shape in enumerate(out_shapes):
                for e in range(int(np.prod(shape))):
                    unit = [np.zeros(s) for s in out_shapes]
                    unit[k].reshape(-1)[e] = 1.0
                    rows.append(_vjp(fn, arrays, dev, tensor.float64, [i], unit)[i].reshape(-1))
            _compare(name, f"Jacobian on {dev}", i, arrays[i].shape, np.stack(rows), num_j,
                     atol, rtol)


# ----------------------------------------------------- the registry, on every device

CASES = [(name, i) for name, info in sorted(REGISTRY.items())
         for i in range(len(info.samples(np.random.default_rng(0))))]
REF_CASES = [c for c in CASES if REGISTRY[c[0]].ref is not None]
GRAD_CASES = [c for c in CASES if REGISTRY[c[0]].no_grad is None]


def _case(name, i):
    info = REGISTRY[name]
    sample = info.samples(np.random.default_rng(0))[i]
    return info, sample, functools.partial(info.fn, **sample.kwargs)


def _grad_inputs(info, sample):
    if info.no_grad is not None:
        return []
    if info.grad_inputs is not None:
        return list(info.grad_inputs)
    return [k for k, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f"]


@pytest.mark.parametrize("name, i", REF_CASES)
def test_forward_matches_reference_on_device(dev, name, i):
    info, sample, fn = _case(name, i)
    got = _outputs(fn, sample.args, dev, tensor.float64)
    want = _as_tuple(info.ref(*sample.args, **sample.kwargs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{name} on {dev}")


@pytest.mark.parametrize("name, i", GRAD_CASES)
def test_gradcheck_on_device(dev, name, i):
    info, sample, fn = _case(name, i)
    device_gradcheck(fn, sample.args, dev, _grad_inputs(info, sample),
                     f"{name} [{sample.note or i}]", atol=info.atol, rtol=info.rtol)


@pytest.mark.parametrize("name, i", CASES)
def test_float32_agrees_with_float64_on_device(dev, name, i):
    info, sample, fn = _case(name, i)
    r64 = _outputs(fn, sample.args, dev, tensor.float64)
    r32 = _outputs(fn, sample.args, dev, tensor.float32)
    for a, b in zip(r32, r64):
        np.testing.assert_allclose(a, b, rtol=info.f32_rtol, atol=info.f32_atol)


@pytest.mark.parametrize("dtype", [tensor.float64, tensor.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, i", CASES)
def test_device_agrees_with_cpu(dev, name, i, dtype):
    """Outputs and gradients on the device match the CPU's (summation order
    differs, so not bit for bit; float64 to 1e-12, float32 to its rounding)."""
    info, sample, fn = _case(name, i)
    cpu = device.get_default_device()
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == tensor.float64 else \
        dict(rtol=info.f32_rtol, atol=info.f32_atol)
    for a, b in zip(_outputs(fn, sample.args, dev, dtype), _outputs(fn, sample.args, cpu, dtype)):
        np.testing.assert_allclose(a, b, **tol, err_msg=f"{name}: output on {dev} vs CPU")
    grads = _grad_inputs(info, sample)
    if grads:
        outs = _outputs(fn, sample.args, cpu, tensor.float64)
        vs = [np.linspace(-1, 1, o.size).reshape(o.shape) for o in outs]
        on_dev = _vjp(fn, sample.args, dev, dtype, grads, vs)
        on_cpu = _vjp(fn, sample.args, cpu, dtype, grads, vs)
        for k in grads:
            np.testing.assert_allclose(on_dev[k], on_cpu[k], **tol,
                                       err_msg=f"{name}: gradient of input {k} on {dev} vs CPU")


# ---------------------------------------------------------- kernels in hard shapes


def _ct(a, dev, dtype):
    return CTensor.from_numpy(np.asarray(a), dtype, dev)


def _np(ct):
    return Tensor(data=ct, requires_grad=False).to_numpy()


FLOATS = [pytest.param(tensor.float32, id="f32"), pytest.param(tensor.float64, id="f64")]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ta, tb", [(0, 0), (0, 1), (1, 0), (1, 1)])
@pytest.mark.parametrize("m, n, k", [(130, 67, 19), (5, 129, 1), (1, 1, 300), (7, 3, 0),
                                     (9, 5, 1100), (130, 3, 1543)])
def test_gemm_transposes_alpha_beta_and_tile_edges(dev, dtype, ta, tb, m, n, k):
    """Tile edges in M, N and K; the last two shapes have few tiles and a long K,
    so matmul.cu splits K (4 and 6 chunks, the last one short)."""
    rng = np.random.default_rng(m * n + k)
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k))
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n))
    c0 = rng.uniform(-1, 1, (m, n))
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    tol = dict(rtol=1e-11, atol=1e-11) if dtype == tensor.float64 else dict(rtol=1e-4, atol=1e-4)
    gemm = dev.kernel("gemm", dtype)
    A, B = _ct(a, dev, dtype), _ct(b, dev, dtype)
    # beta != 0 reads C
    C = _ct(c0, dev, dtype)
    gemm(C.ptr, A.ptr, B.ptr, m, n, k, ta, tb, 0.5, -2.0)
    np.testing.assert_allclose(_np(C), 0.5 * opa @ opb - 2.0 * c0, **tol)
    # beta == 0 must not read C: a NaN there must not leak into the result
    C = _ct(np.full((m, n), np.nan), dev, dtype)
    gemm(C.ptr, A.ptr, B.ptr, m, n, k, ta, tb, 1.5, 0.0)
    np.testing.assert_allclose(_np(C), 1.5 * opa @ opb, **tol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_split_gemm_is_deterministic_and_reuses_its_scratch(dev, dtype):
    """A split product gives the same bits every time, also after a larger one
    has grown the scratch buffer of partial products and a smaller one reuses it."""
    rng = np.random.default_rng(3)
    small = rng.uniform(-1, 1, (4, 2048)), rng.uniform(-1, 1, (2048, 6))
    large = rng.uniform(-1, 1, (16, 4096)), rng.uniform(-1, 1, (4096, 40))
    tol = 1e-11 if dtype == tensor.float64 else 1e-4
    gemm = dev.kernel("gemm", dtype)
    results = []
    for a, b in (small, large, small):
        (m, k), n = a.shape, b.shape[1]
        C, A, B = _ct(np.full((m, n), np.nan), dev, dtype), _ct(a, dev, dtype), _ct(b, dev, dtype)
        gemm(C.ptr, A.ptr, B.ptr, m, n, k, 0, 0, 1.0, 0.0)
        results.append(_np(C))
        np.testing.assert_allclose(results[-1], a @ b, rtol=tol, atol=tol)
    np.testing.assert_array_equal(results[2], results[0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_batched_strides_and_broadcast(dev, dtype):
    rng = np.random.default_rng(1)
    batch, m, n, k = 3, 33, 17, 9
    a = rng.uniform(-1, 1, (batch, m, k))
    b = rng.uniform(-1, 1, (k, n))  # stride 0: one B for every product
    C = _ct(np.full((batch, m, n), np.nan), dev, dtype)
    A, B = _ct(a, dev, dtype), _ct(b, dev, dtype)
    dev.kernel("gemm_batched", dtype)(C.ptr, A.ptr, B.ptr, batch, m, n, k, 0, 0, 1.0, 0.0,
                                      m * k, 0, m * n)
    tol = 1e-11 if dtype == tensor.float64 else 1e-4
    np.testing.assert_allclose(_np(C), a @ b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("outer, mid, inner", [(3, 1000, 1), (1, 70000, 1), (2, 300, 5),
                                               (4, 7, 40), (2, 0, 3)])
def test_reduce_sum_long_rows_and_columns(dev, dtype, outer, mid, inner):
    x = np.random.default_rng(2).uniform(-1, 1, (outer, mid, inner))
    y, xt = CTensor((outer, inner), dtype, dev), _ct(x, dev, dtype)
    dev.kernel("reduce_sum_forward", dtype)(y.ptr, xt.ptr, outer, mid, inner, 0.5)
    tol = 1e-12 if dtype == tensor.float64 else 1e-4
    np.testing.assert_allclose(_np(y), 0.5 * x.sum(axis=1), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("outer, mid, inner", [(2, 700, 1), (3, 5, 4), (1, 3, 1)])
def test_softmax_rows_longer_than_a_block(dev, dtype, outer, mid, inner):
    rng = np.random.default_rng(3)
    x = rng.uniform(-5, 5, (outer, mid, inner))
    dy = rng.uniform(-1, 1, x.shape)
    y, xt, dyt = CTensor(x.shape, dtype, dev), _ct(x, dev, dtype), _ct(dy, dev, dtype)
    dev.kernel("softmax_forward", dtype)(y.ptr, xt.ptr, outer, mid, inner)
    want = np_softmax(x, axis=1)
    tol = 1e-12 if dtype == tensor.float64 else 1e-5
    np.testing.assert_allclose(_np(y), want, rtol=tol, atol=tol)
    dx = CTensor(x.shape, dtype, dev)
    dev.kernel("softmax_backward", dtype)(dx.ptr, dyt.ptr, y.ptr, outer, mid, inner)
    want_dx = want * (dy - (dy * want).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(_np(dx), want_dx, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_losses_over_many_blocks(dev, dtype):
    """N rows beyond the 1024 partial sums, so blocks take several rows each."""
    rng = np.random.default_rng(4)
    N, C = 2100, 5
    x = rng.uniform(-3, 3, (N, C))
    t = rng.integers(0, C, N).astype(np.int32)
    loss, p = CTensor((1,), dtype, dev), CTensor((N, C), dtype, dev)
    xt, tt = _ct(x, dev, dtype), _ct(t, dev, tensor.int32)
    dev.kernel("softmax_cross_entropy_index_forward", dtype)(loss.ptr, p.ptr, xt.ptr, tt.ptr,
                                                             N, C)
    lse = np.log(np.exp(x).sum(axis=1))
    tol = 1e-12 if dtype == tensor.float64 else 1e-5
    np.testing.assert_allclose(_np(loss)[0], np.mean(lse - x[np.arange(N), t]), rtol=tol)
    np.testing.assert_allclose(_np(p), np.exp(x - lse[:, None]), rtol=tol, atol=tol)
    prob = rng.uniform(0.05, 0.95, (N, C))
    tgt = rng.uniform(0, 1, (N, C))
    # NOTE: keep each CTensor in a name: .ptr does not keep its memory alive
    probt, tgtt = _ct(prob, dev, dtype), _ct(tgt, dev, dtype)
    for name, want in [("mse_loss_forward", np.mean((prob - tgt) ** 2)),
                       ("cross_entropy_forward", -np.sum(tgt * np.log(prob)) / N)]:
        out = CTensor((1,), dtype, dev)
        args = (N * C,) if name == "mse_loss_forward" else (N, C)
        dev.kernel(name, dtype)(out.ptr, probt.ptr, tgtt.ptr, *args)
        np.testing.assert_allclose(_np(out)[0], want, rtol=tol, err_msg=name)


@pytest.mark.parametrize("dtype", [tensor.float32, tensor.float64, tensor.int32],
                         ids=["f32", "f64", "i32"])
def test_strided_copy_and_blocks(dev, dtype):
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    xt = _ct(x, dev, dtype)
    perm = (2, 0, 3, 1)
    strides = [60, 20, 5, 1]
    shape = [x.shape[p] for p in perm]
    y = CTensor(shape, dtype, dev)
    dev.kernel("strided_copy", dtype)(y.ptr, xt.ptr, ffi.new("int64_t[]", shape),
                                      ffi.new("int64_t[]", [strides[p] for p in perm]), 4)
    np.testing.assert_array_equal(_np(y), x.transpose(perm))
    flat = x.reshape(6, 20)
    blk = CTensor((6, 7), dtype, dev)
    dev.kernel("take_block", dtype)(blk.ptr, xt.ptr, 6, 7, 20, 4)
    np.testing.assert_array_equal(_np(blk), flat[:, 4:11])


@pytest.mark.parametrize("dtype", FLOATS)
def test_random_numbers_match_the_cpu(dev, dtype):
    """Same seed and offset: uniform and Bernoulli bit-identical to the C
    kernels, Gaussian to a few units in the last place (log/cos differ)."""
    n = 3000 if isinstance(dev, gpu.EmulatedGPU) else 1 << 20
    seed, offset = 2**40 + 7, 12345
    cpu = device.get_default_device()
    for name, scalars in [("random_uniform", (-2.0, 3.0)), ("random_bernoulli", (0.3,)),
                          ("random_gaussian", (0.5, 2.0))]:
        a, b = CTensor((n,), dtype, dev), CTensor((n,), dtype, cpu)
        dev.kernel(name, dtype)(a.ptr, n, *scalars, seed, offset)
        cpu_kernel(name, dtype)(b.ptr, n, *scalars, seed, offset)
        got, want = _np(a), b.numpy()
        if name == "random_gaussian" and not dev.is_cpu():
            # NOTE: CUDA's log and cos may differ from glibc's in the last bits,
            # so z differs by a few of ITS ulps, and y = mean + std * z by a few
            # ulps of std * z: near y = 0 (z = -mean / std) that is a large
            # relative error of y.  Allow 8 ulps of |y| + std |z|.  (On the
            # emulated device, glibc on both sides: identical.)
            mean, std = scalars
            eps = np.finfo(got.dtype).eps
            g64, w64 = got.astype(np.float64), want.astype(np.float64)
            tol = 8 * eps * (np.abs(w64) + std * np.abs((w64 - mean) / std))
            worst = np.argmax(np.abs(g64 - w64) - tol)
            assert np.all(np.abs(g64 - w64) <= tol), \
                f"random_gaussian on {dev}: element {worst}: {g64[worst]!r} vs {w64[worst]!r}"
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"{name} on {dev}")


def test_dropout_mask_is_identical_on_device_and_cpu(dev):
    x = np.random.default_rng(5).uniform(-1, 1, (64, 33))
    outs = []
    for d in (dev, device.get_default_device()):
        d.set_rand_seed(99)
        autograd.training = True
        try:
            outs.append(autograd.dropout(Tensor(data=x, device=d), 0.4).to_numpy())
        finally:
            autograd.training = False
    np.testing.assert_array_equal(outs[0], outs[1])


# -------------------------------------------------------- the real GPU's plumbing

needs_gpu = pytest.mark.skipif(bool(NO_GPU), reason=f"no GPU: {NO_GPU}")


@needs_gpu
def test_tensor_round_trip_between_host_and_gpu():
    g = device.create_cuda_gpu()
    a = np.random.default_rng(6).standard_normal((5, 7)).astype(np.float32)
    t = tensor.from_numpy(a, g)
    assert t.device is g and t.device.id() == 0
    np.testing.assert_array_equal(tensor.to_numpy(t), a)
    with pytest.raises(ValueError, match="GPU"):
        t.data.numpy()
    t.to_host()
    assert t.device.is_cpu()
    np.testing.assert_array_equal(t.data.numpy(), a)
    t.to_device(g)
    u = t.clone()  # device -> device
    np.testing.assert_array_equal(tensor.to_numpy(u), a)
    assert tensor.to_numpy(Tensor((0, 3), device=g)).shape == (0, 3)


@needs_gpu
def test_copies_between_two_gpus():
    if device.get_num_gpus() < 2:
        pytest.skip("needs two GPUs")
    g0, g1 = device.create_cuda_gpus(2)
    a = np.arange(10, dtype=np.float32)
    t = tensor.from_numpy(a, g0).to_device(g1)
    assert t.device is g1
    np.testing.assert_array_equal(tensor.to_numpy(t), a)


@needs_gpu
def test_gpu_errors_are_clear():
    g = device.create_cuda_gpu()
    assert device.create_cuda_gpu_on(0) is g
    with pytest.raises(ValueError, match="ordinals"):
        device.create_cuda_gpu_on(device.get_num_gpus())
    with pytest.raises(RuntimeError, match="cudaMalloc failed"):
        CTensor((1 << 48,), tensor.float32, g)
    shape = [1] * 9
    with pytest.raises(ValueError, match="at most 8"):
        g.kernel("strided_copy", tensor.float32)(None, None, ffi.new("int64_t[]", shape),
                                                  ffi.new("int64_t[]", shape), 9)
    g.sync()


@needs_gpu
def test_training_step_on_gpu_matches_cpu():
    from minisinga import layer, opt
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((16, 20)), rng.integers(0, 4, 16)
    losses = []
    for d in (device.create_cuda_gpu(), device.get_default_device()):
        d.set_rand_seed(0)
        fc = layer.Linear(4)
        sgd = opt.SGD(lr=0.1)
        autograd.training = True
        try:
            run = []
            for _ in range(3):
                loss = autograd.softmax_cross_entropy(
                    fc(Tensor(data=x, device=d)), Tensor(data=t.astype(np.int32), device=d))
                for p, g in autograd.backward(loss):
                    sgd.update(p, g)
                run.append(loss.to_numpy()[0])
        finally:
            autograd.training = False
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


# ------------------------------------------------------------ no GPU / the module


def test_import_and_num_gpus_without_gpu():
    if not NO_GPU:
        pytest.skip("this machine has a GPU")
    assert device.get_num_gpus() == 0
    assert device.get_gpu_ids() == []
    with pytest.raises(RuntimeError, match="cannot create CUDA GPU 0"):
        device.create_cuda_gpu()
    with pytest.raises(RuntimeError, match="cannot create CUDA GPU"):
        device.create_cuda_gpus(1)


def test_bad_gpu_arguments():
    with pytest.raises(TypeError, match="ordinal"):
        device.create_cuda_gpu_on("0")
    with pytest.raises(ValueError, match="num"):
        device.create_cuda_gpus(-1)


needs_module = pytest.mark.skipif(
    not gpu.available(),
    reason="minisinga._cuda not built (no nvcc or no NVIDIA driver when installing)")


@needs_module
def test_cuda_module_declares_exactly_the_header():
    from minisinga._cuda import lib as cuda_lib
    declared = set(_build_cuda.bh.declared_functions(_build_cuda.preprocessed_header()))
    assert declared == {n for n in dir(cuda_lib) if not n.startswith("_")}


@needs_module
def test_every_mirrored_c_kernel_has_a_launcher_of_the_same_type():
    """Each C kernel of a file with a .cu twin has a CUDA launcher with the very
    same C function type.  (cffi shares number and pointer types between the two
    modules, but each module has its own struct types, such as the conv kernels'
    ms_conv_geom: so the types are compared by their C spelling.  Python passes
    that struct as a dict, which either module turns into its own.)"""
    from minisinga._cuda import ffi as cuda_ffi
    from minisinga._cuda import lib as cuda_lib
    c_names = [n for n in dir(c_lib) if n.endswith(("_f32", "_f64", "_i32"))]
    mirrored = [n for n in c_names if hasattr(cuda_lib, n)]
    assert len(mirrored) > 100
    for n in mirrored:
        assert cuda_ffi.typeof(getattr(cuda_lib, n)).cname == ffi.typeof(getattr(c_lib, n)).cname, n
    # every C kernel is mirrored, except those of files listed as missing twins
    missing = set(_build_cuda.missing_twins())
    unmirrored = set(c_names) - set(mirrored)
    assert not unmirrored or missing, f"C kernels without a CUDA launcher: {sorted(unmirrored)}"


@needs_module
def test_cuda_module_carries_its_runtime_and_machine_code():
    """The module loads where only the NVIDIA driver is installed: the CUDA
    runtime is linked in statically (no libcudart.so among its dependencies) and
    the fat binary holds machine code for each architecture of the build
    (sm_80, sm_90) plus PTX the driver can compile for newer GPUs."""
    from minisinga import _cuda
    data = open(_cuda.__file__, "rb").read()
    assert b"libcudart.so" not in data
    assert b".nv_fatbin" in data
    flags = _build_cuda.nvcc_flags()
    codes = [f.split("code=")[1] for f in flags if f.startswith("arch=")]
    assert any(c.startswith("compute_") for c in codes) and any(c.startswith("sm_") for c in codes)
    if "MINISINGA_CUDA_ARCHS" not in os.environ:   # the build used these defaults
        for code in codes:
            assert code.encode() in data, code


@needs_module
def test_cuda_errors_become_runtime_errors_naming_the_call():
    if not NO_GPU:
        pytest.skip("covered by test_gpu_errors_are_clear on a GPU")
    from minisinga._cuda import lib as cuda_lib
    assert cuda_lib.ms_cuda_malloc(64) == gpu.ffi.NULL
    with pytest.raises(RuntimeError, match=r"^cudaMalloc failed: "):
        gpu.check_error()
    gpu.check_error()  # taken: nothing left


@needs_module
def test_launchers_accept_pointers_of_the_c_module():
    """CTensor.ptr is made by minisinga._C's ffi; the CUDA launchers take it."""
    from minisinga._cuda import lib as cuda_lib
    x = CTensor((4,), tensor.float32)
    cuda_lib.relu_forward_f32(x.ptr, x.ptr, 0)  # n = 0: checks types, launches nothing
    shape = ffi.new("int64_t[]", [0])
    cuda_lib.strided_copy_f64(CTensor((1,), tensor.float64).ptr,
                              CTensor((1,), tensor.float64).ptr, shape, shape, 1)


def test_emulated_launcher_guards_ndim(emulated):
    """More than MS_MAX_NDIM dimensions: the device refuses them in Python (as
    a CudaGPU does), and the launcher itself keeps an error instead of
    launching."""
    shape = ffi.new("int64_t[]", [1] * 9)
    x, y = CTensor((1,), tensor.float32, emulated), CTensor((1,), tensor.float32, emulated)
    with pytest.raises(ValueError, match="at most 8"):
        emulated.kernel("strided_copy", tensor.float32)(y.ptr, x.ptr, shape, shape, 9)
    idx = CTensor((9, 1), tensor.int32, emulated)
    with pytest.raises(ValueError, match="at most 8"):
        emulated.kernel("nonzero_forward", tensor.float32)(idx.ptr, x.ptr, shape, 9, 1, 1)
    raw = emulated._lib
    for launch in (lambda: raw.strided_copy_f32(y.ptr, x.ptr, shape, shape, 9),
                   lambda: raw.nonzero_forward_f32(idx.ptr, x.ptr, shape, 9, 1, 1)):
        launch()
        assert raw.ms_cuda_error_pending()
        assert raw.ms_cuda_take_error(emulated._ffi.NULL, 0) != 0


def test_emulated_window_kernels_guard_ndim(emulated):
    """slice, pad and scatter_elements on a 9-D tensor: refused in Python by the
    device before any C runs (their kernels take per-axis host arrays too)."""
    from minisinga import autograd
    x = Tensor(data=np.ones((1,) * 9), device=emulated)
    with pytest.raises(ValueError, match="window_copy .* at most 8"):
        autograd.slice(x, [0], [1])
    with pytest.raises(ValueError, match="window_copy .* at most 8"):
        autograd.pad(x, "constant", [0] * 18)
    with pytest.raises(ValueError, match="scatter_targets .* at most 8"):
        autograd.scatter_elements(x, np.zeros((1,) * 9, np.int32),
                                  Tensor(data=np.ones((1,) * 9), device=emulated))
