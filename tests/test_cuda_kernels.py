"""The CUDA twins of conv, pooling, batchnorm, mathfn and indexing in the shapes
the operation registry does not reach.

tests/test_cuda.py runs every registered operation on the devices with small
samples.  These kernels have block reductions or split their outputs between
threads, so here they get rows longer than a block, many blocks, overlapping
windows, ties, NaN and repeated indices, and are compared with the C kernels
launched with the same arguments.  Where a twin adds in the C loop's order
(col2im, the pooling backwards, the scatter-adds, the first-maximum searches,
nonzero) the results must be the CPU's bit for bit; where it reduces in a
tree (batchnorm, cossim, the ranking loss) to rounding.

Devices: ``emulated`` and ``cuda`` (skipped with the reason where there is no
GPU), limited by ``MINISINGA_TEST_DEVICES`` as in tests/test_cuda.py.
"""
import os
import shutil

import numpy as np
import pytest

from minisinga import device, gpu, tensor
from minisinga._lib import cpu_kernel, ffi
from minisinga.ctensor import CTensor
from minisinga.ops.conv import conv_geom
from minisinga.tensor import Tensor

NO_GPU = gpu.why_unavailable()
NO_CXX = "" if shutil.which("g++") else "no g++ to build the emulated CUDA kernels"
_WANTED = os.environ.get("MINISINGA_TEST_DEVICES", "cpu,emulated,cuda").split(",")

DEVICES = [p for p in [
    pytest.param("emulated", id="emulated",
                 marks=pytest.mark.skipif(bool(NO_CXX), reason=NO_CXX or "-")),
    pytest.param("cuda", id="cuda",
                 marks=pytest.mark.skipif(bool(NO_GPU), reason=f"no GPU: {NO_GPU}")),
] if p.id in _WANTED]

FLOATS = [pytest.param(tensor.float32, id="f32"), pytest.param(tensor.float64, id="f64")]
CPU = device.get_default_device()


@pytest.fixture(params=DEVICES)
def dev(request):
    return gpu.emulated_gpu() if request.param == "emulated" else device.create_cuda_gpu()


def host(ct):
    return Tensor(data=ct, requires_grad=False).to_numpy()


def run_both(dev, name, dtype, outputs, inputs, scalars):
    """Launch kernel ``name`` on ``dev`` and on the CPU with the same arguments:
    ``outputs`` as (shape, dtype) (NaN-filled when float, so an element the
    kernel forgets shows), ``inputs`` as arrays (their own dtype, cast to
    ``dtype`` when float), then ``scalars``.  Returns (device outputs, CPU
    outputs) as NumPy arrays."""
    results = []
    for d in (dev, CPU):
        outs = []
        for shape, odt in outputs:
            odt = dtype if odt is None else odt
            fill = np.nan if odt != tensor.int32 else -7
            outs.append(CTensor.from_numpy(np.full(shape, fill), odt, d))
        ins = [CTensor.from_numpy(a, dtype if np.asarray(a).dtype.kind == "f" else tensor.int32, d)
               for a in inputs]
        fn = d.kernel(name, dtype) if d is dev else cpu_kernel(name, dtype)
        fn(*[o.ptr for o in outs], *[i.ptr for i in ins], *scalars)
        results.append([host(o) for o in outs])
    return results


def assert_bitwise(got, want, name):
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w, err_msg=name)


def conv_geometry(H, W, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW):
    OH = (H + PT + PB - DH * (KH - 1) - 1) // SH + 1
    OW = (W + PL + PR - DW * (KW - 1) - 1) // SW + 1
    return OH, OW


# ---------------------------------------------------------------------- conv
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("geom", [
    (7, 9, 3, 2, 2, 1, 1, 2, 0, 1, 2, 1),    # stride, dilation, asymmetric padding
    (5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    # overlapping windows
    (6, 4, 2, 3, 3, 2, 0, 0, 2, 2, 1, 2),    # stride > kernel: cells no tap reads
], ids=["strided-dilated", "overlapping", "gaps"])
def test_im2col_and_col2im_match_the_cpu_bitwise(dev, dtype, geom):
    H, W, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW = geom
    OH, OW = conv_geometry(*geom)
    N, C = 2, 3
    rng = np.random.default_rng(1)
    args = (conv_geom(N=N, C=C, H=H, W=W, KH=KH, KW=KW, SH=SH, SW=SW, PT=PT, PL=PL, DH=DH,
                      DW=DW, OH=OH, OW=OW),)
    x = rng.uniform(-1, 1, (N, C, H, W))
    got, want = run_both(dev, "im2col", dtype, [((C * KH * KW, N * OH * OW), None)], [x], args)
    assert_bitwise(got, want, "im2col")
    dcol = rng.uniform(-1, 1, (C * KH * KW, N * OH * OW))
    got, want = run_both(dev, "col2im", dtype, [((N, C, H, W), None)], [dcol], args)
    assert_bitwise(got, want, "col2im")


@pytest.mark.parametrize("dtype", FLOATS)
def test_whole_convolution_over_chunks_of_images_and_groups(dev, dtype):
    """conv2d_forward / conv2d_backward run a chunk of images per batched GEMM
    (on the emulator the chunks are a few images: 5 images span 2-3 chunks), per
    group; dw adds the images' products in order, db reduces in a block.  Against
    the C kernels, to rounding (the GEMMs add in another order)."""
    N, C, H, W, O, G, KH, KW = 5, 4, 10, 9, 6, 2, 3, 2
    SH, SW, PT, PL, DH, DW = 1, 2, 1, 0, 1, 1
    OH, OW = conv_geometry(H, W, KH, KW, SH, SW, PT, PT, PL, PL, DH, DW)
    geom = (conv_geom(N=N, C=C, H=H, W=W, O=O, G=G, KH=KH, KW=KW, SH=SH, SW=SW, PT=PT, PL=PL,
                      DH=DH, DW=DW, OH=OH, OW=OW),)
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (N, C, H, W))
    w = rng.uniform(-1, 1, (O, C // G, KH, KW))
    b = rng.uniform(-1, 1, O)
    dy = rng.uniform(-1, 1, (N, O, OH, OW))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == tensor.float64 else dict(rtol=2e-5, atol=2e-5)
    got, want = run_both(dev, "conv2d_forward", dtype, [((N, O, OH, OW), None)], [x, w, b], geom)
    np.testing.assert_allclose(got[0], want[0], **tol)
    got, want = run_both(dev, "conv2d_backward", dtype,
                         [((N, C, H, W), None), (w.shape, None), ((O,), None)], [dy, x, w], geom)
    for g, wnt, name in zip(got, want, ("dx", "dw", "db")):
        np.testing.assert_allclose(g, wnt, err_msg=name, **tol)


# ---------------------------------------------------------------------- pooling
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("K, S, P", [(3, 1, 1), (3, 2, 1), (2, 3, 0)])
def test_pooling_matches_the_cpu_bitwise(dev, dtype, K, S, P):
    """Overlapping windows, and whole numbers so that maxima tie: the first
    maximum wins, and backward sums shared cells in the C loop's order."""
    NC, H, W = 5, 9, 8
    OH, OW = (H + 2 * P - K) // S + 1, (W + 2 * P - K) // S + 1
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 3, (NC, H, W)).astype(np.float64)
    x[0, 0, 0] = np.nan   # NaN propagates
    geom = (NC, H, W, OH, OW, K, K, S, S, P, P)
    got, want = run_both(dev, "max_pool2d_forward", dtype,
                         [((NC, OH, OW), None), ((NC, OH, OW), tensor.int32)], [x], geom)
    assert_bitwise(got, want, "max_pool2d_forward")
    dy = rng.uniform(-1, 1, (NC, OH, OW))
    argmax = want[1]
    got, want = run_both(dev, "max_pool2d_backward", dtype, [((NC, H, W), None)],
                         [dy, argmax], (NC, H, W, OH, OW))
    assert_bitwise(got, want, "max_pool2d_backward")
    got, want = run_both(dev, "avg_pool2d_forward", dtype, [((NC, OH, OW), None)], [x], geom)
    assert_bitwise(got, want, "avg_pool2d_forward")
    # real values, whose double sums depend on the order: each window row, then the rows
    xr = rng.uniform(-1, 1, (NC, H, W)) * 10.0 ** rng.integers(-8, 8, (NC, H, W))
    got, want = run_both(dev, "avg_pool2d_forward", dtype, [((NC, OH, OW), None)], [xr], geom)
    assert_bitwise(got, want, "avg_pool2d_forward, real values")
    got, want = run_both(dev, "avg_pool2d_backward", dtype, [((NC, H, W), None)], [dy], geom)
    assert_bitwise(got, want, "avg_pool2d_backward")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("H, W", [(44, 46), (50, 45)], ids=["shared-memory", "global-memory"])
def test_max_pool_backward_on_planes_of_both_sizes(dev, dtype, H, W):
    """A plane of at most 2,048 cells is summed in shared memory by a block;
    a larger one (50 x 45) by one thread in global memory.  Both add in the C
    loop's order, ties included (every output of a 3 x 3 stride-1 window picks
    among few values, so cells collect several outputs)."""
    NC, K, S, P = 3, 3, 1, 1
    OH, OW = H, W
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 2, (NC, H, W)).astype(np.float64)
    geom = (NC, H, W, OH, OW, K, K, S, S, P, P)
    _, (_, argmax) = run_both(dev, "max_pool2d_forward", dtype,
                              [((NC, OH, OW), None), ((NC, OH, OW), tensor.int32)], [x], geom)
    assert len(np.unique(argmax)) < argmax.size / 2   # cells shared by many outputs
    dy = rng.uniform(-1, 1, (NC, OH, OW))
    got, want = run_both(dev, "max_pool2d_backward", dtype, [((NC, H, W), None)],
                         [dy, argmax], (NC, H, W, OH, OW))
    assert_bitwise(got, want, "max_pool2d_backward")


# ---------------------------------------------------------------------- batchnorm
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("N, C, HW", [(3, 4, 200), (2, 3, 1), (600, 2, 1)])
def test_batchnorm_channels_longer_than_a_block(dev, dtype, N, C, HW):
    rng = np.random.default_rng(3)
    x = rng.normal(1.5, 2.0, (N, C, HW))
    scale, bias = rng.uniform(0.5, 2, C), rng.uniform(-1, 1, C)
    rm, rv = rng.uniform(-1, 1, C), rng.uniform(0.5, 2, C)
    dy = rng.uniform(-1, 1, (N, C, HW))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == tensor.float64 else dict(rtol=2e-5, atol=2e-5)
    res = {}
    for d in (dev, CPU):
        k = d.kernel
        t = {name: CTensor.from_numpy(a, dtype, d) for name, a in
             dict(x=x, scale=scale, bias=bias, rm=rm, rv=rv, dy=dy).items()}
        y, mean, invstd = CTensor(x.shape, dtype, d), CTensor((C,), dtype, d), CTensor((C,), dtype, d)
        k("batchnorm2d_forward_training", dtype)(
            y.ptr, mean.ptr, invstd.ptr, t["rm"].ptr, t["rv"].ptr, t["x"].ptr, t["scale"].ptr,
            t["bias"].ptr, 0.1, 1e-5, N, C, HW)
        dx, dscale, dbias = CTensor(x.shape, dtype, d), CTensor((C,), dtype, d), CTensor((C,), dtype, d)
        k("batchnorm2d_backward", dtype)(dx.ptr, dscale.ptr, dbias.ptr, t["dy"].ptr, t["x"].ptr,
                                         t["scale"].ptr, mean.ptr, invstd.ptr, 1, N, C, HW)
        yi = CTensor(x.shape, dtype, d)
        k("batchnorm2d_forward_inference", dtype)(
            yi.ptr, mean.ptr, invstd.ptr, t["x"].ptr, t["scale"].ptr, t["bias"].ptr,
            t["rm"].ptr, t["rv"].ptr, 1e-5, N, C, HW)
        res[d is dev] = [host(a) for a in (y, mean, invstd, t["rm"], t["rv"], dx, dscale, dbias,
                                          yi)]
    names = "y mean invstd running_mean running_var dx dscale dbias y_inference".split()
    for name, g, w in zip(names, res[True], res[False]):
        np.testing.assert_allclose(g, w, **tol, err_msg=name)


# ---------------------------------------------------------------------- mathfn
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("outer, mid, inner", [(3, 1000, 1), (2, 5, 40), (4, 1, 1)])
def test_reduce_max_and_min_find_the_first_extreme(dev, dtype, outer, mid, inner):
    """Rows longer than a block, with the extreme repeated (ties), -0.0 next to
    0.0, and NaN: first at x[0] (nothing replaces it), elsewhere (never wins)."""
    rng = np.random.default_rng(4)
    x = rng.integers(-5, 6, (outer, mid, inner)).astype(np.float64)
    if mid > 1:
        x[0, 0, 0] = np.nan
        x[-1, mid // 2, 0] = np.nan
        x[1, :, :] = 0.0
        x[1, 3:, :] = -0.0 if mid > 3 else 0.0
    for name in ("reduce_max_forward", "reduce_min_forward"):
        got, want = run_both(dev, name, dtype,
                             [((outer, inner), None), ((outer, inner), tensor.int32)], [x],
                             (outer, mid, inner))
        assert_bitwise(got, want, name)
        assert_bitwise([np.signbit(got[0])], [np.signbit(want[0])], name + " sign of zero")


@pytest.mark.parametrize("dtype", FLOATS)
def test_cossim_and_ranking_loss_over_many_blocks(dev, dtype):
    rng = np.random.default_rng(5)
    N, D = 7, 700
    a, b = rng.uniform(-1, 1, (N, D)), rng.uniform(-1, 1, (N, D))
    b[2] = 0.0  # a zero row: y = 0 and no gradient, by convention
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == tensor.float64 else dict(rtol=1e-5, atol=1e-6)
    got, want = run_both(dev, "cossim_forward", dtype, [((N,), None)] * 3, [a, b], (N, D))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **tol)
    y, na, nb = want
    dy = rng.uniform(-1, 1, N)
    got, want = run_both(dev, "cossim_backward", dtype, [((N, D), None)] * 2,
                         [dy, y, na, nb, a, b], (N, D))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **tol)
    n = 5000
    pos, neg = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    got, want = run_both(dev, "ranking_loss_forward", dtype, [((1,), None)], [pos, neg],
                         (0.3, n, 50))
    np.testing.assert_allclose(got[0], want[0], **tol)
    np.testing.assert_allclose(got[0][0], np.maximum(0, 0.3 - pos + neg).sum() / 50, **tol)


# ---------------------------------------------------------------------- indexing
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vocab, dim", [(50, 7), (3, 40000)])
def test_embedding_backward_matches_the_cpu_bitwise(dev, dtype, vocab, dim):
    rng = np.random.default_rng(7)
    n = 300 if dim < 100 else 5
    x = rng.integers(0, vocab, n).astype(np.int32)
    x[:5] = 0   # a repeated row
    dy = rng.uniform(-1, 1, (n, dim))
    got, want = run_both(dev, "embedding_backward", dtype, [((vocab, dim), None)], [dy, x],
                         (n, vocab, dim))
    assert_bitwise(got, want, "embedding_backward")


@pytest.mark.parametrize("dtype", FLOATS)
def test_nonzero_counts_and_orders_like_the_cpu(dev, dtype):
    rng = np.random.default_rng(8)
    x = rng.integers(-1, 2, (7, 11, 13)).astype(np.float64)   # ~2/3 nonzero
    x[0, 0, :3] = np.nan    # NaN != 0: counted
    xd = CTensor.from_numpy(x, dtype, dev)
    count = dev.kernel("nonzero_count", dtype)(xd.ptr, x.size)
    assert count == np.count_nonzero(x)
    idx = CTensor.from_numpy(np.full((3, count), -7), tensor.int32, dev)
    shape = ffi.new("int64_t[]", list(x.shape))
    dev.kernel("nonzero_forward", dtype)(idx.ptr, xd.ptr, shape, 3, x.size, count)
    np.testing.assert_array_equal(host(idx), np.stack(np.nonzero(x)))


# ------------------------------------------- windows (slice, pad), gather, counts
def _i64(values):
    return ffi.new("int64_t[]", list(values) or [0])


def _strides(shape):
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return out[::-1]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode, code", [("constant", 0), ("edge", 1), ("reflect", 2)])
def test_window_copy_pads_like_numpy_and_the_cpu(dev, dtype, mode, code):
    """pad through window_copy: begins and ends wider than the axis (reflect past
    the width), an axis of one element, the constant 2.5."""
    rng = np.random.default_rng(9)
    x = rng.uniform(-1, 1, (5, 1, 3, 4))
    begin, end = [6, 2, 0, 1], [2, 3, 4, 9]
    shape = [b + d + e for b, d, e in zip(begin, x.shape, end)]
    got, want = run_both(dev, "window_copy", dtype, [(shape, None)], [x],
                         (_i64(shape), _i64(x.shape), _i64(_strides(x.shape)),
                          _i64([-b for b in begin]), _i64([1] * 4), code, 2.5, 4))
    assert_bitwise(got, want, f"window_copy ({mode})")
    kwargs = {"constant_values": 2.5} if mode == "constant" else {}
    ref = np.pad(x, list(zip(begin, end)), mode=mode, **kwargs)
    np.testing.assert_allclose(want[0], ref, rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
def test_window_copy_and_slice_backward_slice_like_numpy_and_the_cpu(dev, dtype):
    """A slice with negative and long steps; its backward writes dy back into zeros."""
    rng = np.random.default_rng(10)
    x = rng.uniform(-1, 1, (6, 300, 5))
    start, step = [5, 2, 0], [-2, 7, 1]
    shape = [3, 43, 5]              # rows 5, 3, 1; columns 2, 9, ..., 296
    args = (_i64(shape), _i64(x.shape), _i64(_strides(x.shape)), _i64(start), _i64(step), 0,
            0.0, 3)
    got, want = run_both(dev, "window_copy", dtype, [(shape, None)], [x], args)
    assert_bitwise(got, want, "window_copy (slice)")
    np.testing.assert_allclose(want[0], x[5::-2, 2::7, :], rtol=1e-6)
    dy = rng.uniform(-1, 1, shape)
    got, want = run_both(dev, "slice_backward", dtype, [(x.shape, None)], [dy],
                         (_i64(shape), _i64(_strides(x.shape)), _i64(start), _i64(step), 3,
                          x.size))
    assert_bitwise(got, want, "slice_backward")
    ref = np.zeros(x.shape)
    ref[5::-2, 2::7, :] = dy
    np.testing.assert_allclose(want[0], ref, rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode, code", [("constant", 0), ("edge", 1), ("reflect", 2)])
@pytest.mark.parametrize("dim, begin, end", [(4, 7, 5), (1, 2, 3), (3, 0, 1)])
def test_pad_backward_sums_the_copies_like_the_cpu(dev, dtype, mode, code, dim, begin, end):
    """One padded axis between two others: dx[i] is the sum of dy over the
    positions that read i (the adjoint of np.pad), in one order on both."""
    from minisinga.ops.indexing import pad_positions
    rng = np.random.default_rng(11)
    outer, inner, ydim = 3, 2, begin + dim + end
    dy = rng.uniform(-1, 1, (outer, ydim, inner))
    got, want = run_both(dev, "pad_backward", dtype, [((outer, dim, inner), None)], [dy],
                         (outer, dim, ydim, inner, begin, code))
    assert_bitwise(got, want, f"pad_backward ({mode})")
    ref = np.zeros((outer, dim, inner))
    for o, i in enumerate(pad_positions(mode, dim, begin, end)):
        if i >= 0:
            ref[:, i, :] += dy[:, o, :]
    np.testing.assert_allclose(want[0], ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gather_forward_and_backward_match_the_cpu(dev, dtype):
    """Negative and repeated indices, an outer and an inner axis."""
    rng = np.random.default_rng(12)
    outer, dim, inner = 4, 9, 3
    ind = np.array([0, -1, 3, 3, -9, 8, 3], np.int32)
    x = rng.uniform(-1, 1, (outer, dim, inner))
    got, want = run_both(dev, "gather_forward", dtype, [((outer, len(ind), inner), None)],
                         [x, ind], (outer, dim, len(ind), inner))
    assert_bitwise(got, want, "gather_forward")
    np.testing.assert_allclose(want[0], np.take(x, ind, axis=1), rtol=1e-6)
    dy = rng.uniform(-1, 1, (outer, len(ind), inner))
    got, want = run_both(dev, "gather_backward", dtype, [((outer, dim, inner), None)],
                         [dy, ind], (outer, dim, len(ind), inner))
    assert_bitwise(got, want, "gather_backward")
    ref = np.zeros(x.shape)
    np.add.at(ref, (slice(None), ind % dim), dy)
    np.testing.assert_allclose(want[0], ref, rtol=1e-5, atol=1e-6)


def test_count_kernels_count_like_the_cpu(dev):
    """count_out_of_range over more elements than blocks of partial counts,
    count_not_int32 on NaN, infinities and the int32 edges, count_repeats with
    more targets than owning threads."""
    rng = np.random.default_rng(13)
    idx = rng.integers(-5, 100, 300_000).astype(np.int32)
    for d in (dev, CPU):
        t = CTensor.from_numpy(idx, tensor.int32, d)
        assert d.kernel("count_out_of_range", tensor.int32)(t.ptr, t.size, 0, 90) == \
            np.count_nonzero((idx < 0) | (idx >= 90))
    v = np.array([np.nan, np.inf, -np.inf, 2.0**31, -2.0**31 - 1, 2.0**31 - 0.5,
                  -2.0**31 - 0.5, 1.5, -0.0, 3.0])
    for dtype, want in [(tensor.float64, (5, 8)), (tensor.float32, (5, 6))]:
        # (float32 rounds 2**31 - 0.5 up to 2**31, and -2**31 - 1 and -2**31 - 0.5
        # to -2**31, which fits)
        for d in (dev, CPU):
            t = CTensor.from_numpy(v, dtype, d)
            k = d.kernel("count_not_int32", dtype)
            assert (k(t.ptr, t.size, 0), k(t.ptr, t.size, 1)) == want, (d, dtype)
    targets = rng.integers(0, 100_000, 5000).astype(np.int32)
    for d in (dev, CPU):
        t = CTensor.from_numpy(targets, tensor.int32, d)
        seen = CTensor.from_numpy(np.zeros(100_000, np.int32), tensor.int32, d)
        assert d.kernel("count_repeats", tensor.int32)(t.ptr, t.size, seen.ptr, seen.size) == \
            targets.size - len(np.unique(targets))


def test_scatter_targets_match_the_cpu(dev):
    ind = np.array([[[2, -1], [0, 1]]], np.int32)       # (1, 2, 2) into x (2, 3, 2), axis 1
    got, want = run_both(dev, "scatter_targets", tensor.int32, [((1, 2, 2), tensor.int32)],
                         [ind], (_i64(ind.shape), _i64([6, 2, 1]), 1, 3, 3))
    assert_bitwise(got, want, "scatter_targets")
    np.testing.assert_array_equal(want[0], [[[4, 5], [0, 3]]])


@pytest.mark.parametrize("loss_name", ["softmax_cross_entropy", "cross_entropy",
                                       "binary_cross_entropy", "mse_loss"])
def test_loss_backward_reads_dy_on_the_device(dev, monkeypatch, loss_name):
    """A loss's backward copies nothing to the host (no wait for the GPU in a
    step), and it uses the dy it is given: dy = 2.5 doubles and a half the
    gradient of dy = 1."""
    from minisinga import autograd
    rng = np.random.default_rng(14)
    x_np = rng.uniform(0.1, 0.9, (4, 3))
    t_np = (rng.integers(0, 3, 4).astype(np.int32) if loss_name == "softmax_cross_entropy"
            else rng.uniform(0, 1, (4, 3)))
    grads = []
    for dy in (None, 2.5):
        x = Tensor(data=x_np, device=dev, dtype=tensor.float64, requires_grad=True,
                   stores_grad=True)
        t = Tensor(data=t_np, device=dev, requires_grad=False,
                   dtype=tensor.int32 if t_np.dtype == np.int32 else tensor.float64)
        old = autograd.training
        autograd.training = True
        try:
            loss = getattr(autograd, loss_name)(x, t)
        finally:
            autograd.training = old
        dy_t = None if dy is None else Tensor(data=np.array([dy]), device=dev,
                                              dtype=tensor.float64, requires_grad=False)
        copies = []
        monkeypatch.setattr(dev, "copy_to_host", lambda *a, c=copies: c.append(a), raising=False)
        got = dict(autograd.backward(loss, dy_t))
        monkeypatch.undo()
        assert copies == [], f"{loss_name} backward copied {len(copies)} buffers to the host"
        grads.append(host(got[x].data))
    np.testing.assert_allclose(grads[1], 2.5 * grads[0], rtol=1e-12)
