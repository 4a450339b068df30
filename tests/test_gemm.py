"""The C GEMM kernels (minisinga/c/matmul.c) against a float64 NumPy reference.

The kernels are called directly through cffi, so these tests check the C code
alone: every transpose flag, alpha/beta (beta == 0 must not read C), sizes of
0 and 1, primes, and sizes past every cache block (KC, MC, NC), so that the
packing's zero padding and the ragged edge tiles are exercised; the small and
the blocked path; one and two threads; f32 and f64; batches with zero strides.

Tolerance: a dot product of length K in floating point is within
K * eps * sum_k |a_k b_k| of the exact value (the standard bound, with a
factor 2 to spare), so each element is checked against
    2 * K * eps * (|alpha| * (|op(A)| @ |op(B)|)  +  |beta * C|) + tiny.
"""
import numpy as np
import pytest

from minisinga import device
from minisinga._lib import ffi, lib

DTYPES = {np.float32: ("float *", "f32"), np.float64: ("double *", "f64")}
TRANS = [(0, 0), (0, 1), (1, 0), (1, 1)]

# (M, N, K).  The blocks are KC = 256 (f32) / 128 (f64), MC = 192, NC = 4096
# with AVX-512 (MC = 96 without); the product takes the small path below
# 64^3 multiply-adds and uses threads from 128^3.
SHAPES = [
    (0, 0, 0), (0, 5, 3), (4, 0, 3), (4, 5, 0),     # empty
    (1, 1, 1), (1, 7, 1), (7, 1, 13), (2, 3, 5),    # tiny
    (400, 3, 2),                                    # an MLP's first layer
    (13, 17, 19), (31, 37, 41),                     # primes, small path
    (64, 64, 64),                                   # first blocked size
    (67, 45, 259), (197, 33, 131),                  # past KC and MC, ragged tiles
    (5, 4099, 13),                                  # past NC, short and wide
    (1031, 3, 97), (3, 1, 100_003),                 # tall-skinny, very deep
    (33, 10, 1100),                                 # a classifier: B^T rows 4 KiB apart
    (130, 129, 257),                                # threaded, every edge ragged
]
ALPHA_BETA = [(1.0, 0.0), (0.5, 2.0), (-1.5, 1.0), (0.0, 0.5), (2.0, -0.25)]


def _ptr(arr: np.ndarray):
    assert arr.flags.c_contiguous
    return ffi.cast(DTYPES[arr.dtype.type][0], ffi.from_buffer(arr))


def _kernel(name: str, dtype):
    return getattr(lib, f"{name}_{DTYPES[dtype][1]}")


def _operands(rng, M, N, K, transA, transB, dtype):
    """A and B stored as the kernel expects for the flags, and C."""
    A = rng.standard_normal((K, M) if transA else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if transB else (K, N)).astype(dtype)
    C = rng.standard_normal((M, N)).astype(dtype)
    return A, B, C


def _reference(A, B, C, transA, transB, alpha, beta):
    """(expected C, elementwise error bound), in float64."""
    opA = (A.T if transA else A).astype(np.float64)
    opB = (B.T if transB else B).astype(np.float64)
    C0 = np.nan_to_num(C.astype(np.float64)) if beta == 0 else C.astype(np.float64)
    expected = alpha * (opA @ opB) + beta * C0
    K = opA.shape[1]
    eps = np.finfo(A.dtype).eps
    bound = 2 * max(K, 1) * eps * (abs(alpha) * (np.abs(opA) @ np.abs(opB)) + np.abs(beta * C0))
    return expected, bound + 10 * np.finfo(A.dtype).tiny


def _check(got, expected, bound, what):
    assert got.shape == expected.shape
    err = np.abs(got.astype(np.float64) - expected)
    bad = ~(err <= bound)  # NOTE: a NaN in got counts as bad
    if bad.any():
        i = tuple(int(x) for x in np.argwhere(bad)[0])
        pytest.fail(f"{what}: element {i}: got {got[i]!r}, expected {expected[i]!r} "
                    f"(error {err[i]:.3g} > bound {bound[i]:.3g}); {bad.sum()} bad elements")


def _gemm(C, A, B, M, N, K, transA, transB, alpha, beta):
    _kernel("gemm", C.dtype.type)(_ptr(C), _ptr(A), _ptr(B), M, N, K, transA, transB, alpha, beta)


@pytest.mark.parametrize("transA,transB", TRANS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gemm_matches_reference(dtype, transA, transB):
    rng = np.random.default_rng(1)
    for M, N, K in SHAPES:
        for alpha, beta in ALPHA_BETA:
            A, B, C = _operands(rng, M, N, K, transA, transB, dtype)
            if beta == 0:
                C[...] = np.nan  # beta == 0: C must be overwritten, never read
            expected, bound = _reference(A, B, C, transA, transB, alpha, beta)
            _gemm(C, A, B, M, N, K, transA, transB, alpha, beta)
            _check(C, expected, bound,
                   f"gemm {dtype.__name__} M,N,K={M},{N},{K} trans={transA}{transB} "
                   f"alpha={alpha} beta={beta}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("M,N,K", [(3, 4, 0), (3, 4, 5), (130, 129, 257)])
def test_gemm_beta_zero_ignores_nan_in_C_and_alpha_zero_ignores_A_B(dtype, M, N, K):
    rng = np.random.default_rng(2)
    A, B, C = _operands(rng, M, N, K, 0, 0, dtype)
    C[...] = np.nan
    _gemm(C, A, B, M, N, K, 0, 0, 1.0, 0.0)
    assert np.isfinite(C).all()
    # alpha == 0: C = beta * C, and (as in BLAS) A and B are not read
    A[...] = np.nan
    before = C.copy()
    _gemm(C, A, B, M, N, K, 0, 0, 0.0, 3.0)
    np.testing.assert_array_equal(C, 3 * before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_one_and_two_threads_agree(dtype):
    rng = np.random.default_rng(3)
    M, N, K = 300, 257, 301
    A, B, C0 = _operands(rng, M, N, K, 0, 1, dtype)
    expected, bound = _reference(A, B, C0, 0, 1, 1.0, 0.5)
    before = device.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            device.set_num_threads(threads)
            C = C0.copy()
            _gemm(C, A, B, M, N, K, 0, 1, 1.0, 0.5)
            _check(C, expected, bound, f"gemm with {threads} thread(s)")
            results.append(C)
    finally:
        device.set_num_threads(before)
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=bound.max())


@pytest.mark.parametrize("transA,transB", TRANS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gemm_batched_with_strides_and_broadcasting(dtype, transA, transB):
    rng = np.random.default_rng(4)
    batch = 3
    for M, N, K in [(0, 2, 3), (2, 3, 0), (5, 7, 3), (70, 65, 66)]:
        for bcastA, bcastB in [(False, False), (True, False), (False, True)]:
            A, B, _ = _operands(rng, M, N, K, transA, transB, dtype)
            As = np.stack([A] if bcastA else [A + i for i in range(batch)])
            Bs = np.stack([B] if bcastB else [B - i for i in range(batch)])
            Cs = rng.standard_normal((batch, M, N)).astype(dtype)
            alpha, beta = 1.5, -0.5
            refs = [_reference(As[0 if bcastA else b], Bs[0 if bcastB else b], Cs[b],
                               transA, transB, alpha, beta) for b in range(batch)]
            strideA = 0 if bcastA else A.size
            strideB = 0 if bcastB else B.size
            _kernel("gemm_batched", dtype)(_ptr(Cs), _ptr(As), _ptr(Bs), batch, M, N, K,
                                           transA, transB, alpha, beta, strideA, strideB, M * N)
            for b, (expected, bound) in enumerate(refs):
                _check(Cs[b], expected, bound,
                       f"gemm_batched {dtype.__name__} item {b} M,N,K={M},{N},{K} "
                       f"trans={transA}{transB} broadcast A={bcastA} B={bcastB}")


def test_gemm_batched_beta_zero_with_nan():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((2, 4, 3)).astype(np.float32)
    B = rng.standard_normal((3, 5)).astype(np.float32)
    C = np.full((2, 4, 5), np.nan, np.float32)
    lib.gemm_batched_f32(_ptr(C), _ptr(A), _ptr(B), 2, 4, 5, 3, 0, 0, 1.0, 0.0, 12, 0, 20)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5, atol=1e-6)
