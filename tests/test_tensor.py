"""Foundation tests: Tensor creation, NumPy round trips, RNG, flags, bad input, memory."""
import gc
import os

import numpy as np
import pytest

from minisinga import device, tensor
from minisinga.tensor import Tensor

ALL_DTYPES = [tensor.float32, tensor.float64, tensor.int32]
NP = {tensor.float32: np.float32, tensor.float64: np.float64, tensor.int32: np.int32}


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_creation_in_every_dtype(dtype):
    t = Tensor((2, 3), dtype=dtype).set_value(7)
    assert t.shape == (2, 3) and t.dtype == dtype
    assert t.size() == 6 and t.ndim() == 2
    assert t.memsize() == 6 * np.dtype(NP[dtype]).itemsize
    np.testing.assert_array_equal(tensor.to_numpy(t), np.full((2, 3), 7, NP[dtype]))
    assert tensor.to_numpy(t).dtype == NP[dtype]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_zeros_ones(dtype):
    np.testing.assert_array_equal(tensor.to_numpy(tensor.zeros((3,), dtype=dtype)), np.zeros(3))
    o = tensor.ones((2, 2), dtype=dtype)
    np.testing.assert_array_equal(tensor.to_numpy(tensor.ones_like(o)), np.ones((2, 2)))
    assert tensor.zeros_like(o).dtype == dtype


def test_numpy_round_trip_values_and_dtypes():
    a32 = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    assert tensor.to_numpy(tensor.from_numpy(a32)).dtype == np.float32
    np.testing.assert_array_equal(tensor.to_numpy(tensor.from_numpy(a32)), a32)
    # float64 becomes float32 unless asked for (SINGA's rule)
    a64 = np.linspace(0, 1, 5)
    assert tensor.from_numpy(a64).dtype == tensor.float32
    t64 = Tensor(data=a64, dtype=tensor.float64)
    np.testing.assert_array_equal(tensor.to_numpy(t64), a64)
    # integers become int32
    ai = np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int64)
    ti = tensor.from_numpy(ai)
    assert ti.dtype == tensor.int32
    np.testing.assert_array_equal(tensor.to_numpy(ti), ai)
    # __array__ interop
    np.testing.assert_array_equal(np.asarray(ti), ai)


def test_zero_copy_view_shares_memory():
    t = tensor.zeros((2, 3))
    view = t.data.numpy()
    view[1, 2] = 5.0
    assert tensor.to_numpy(t)[1, 2] == 5.0
    t.set_value(2.0)  # written by C, seen through the view
    assert view[0, 0] == 2.0
    # the view keeps the memory alive after the tensor is gone
    del t
    gc.collect()
    assert view.sum() == 12.0


def test_copy_from_numpy_and_copy_data():
    t = Tensor((2, 2))
    t.copy_from_numpy(np.array([[1, 2], [3, 4]], dtype=np.float64))
    np.testing.assert_array_equal(tensor.to_numpy(t), [[1, 2], [3, 4]])
    u = Tensor((4,), dtype=tensor.float64).copy_data(t)
    np.testing.assert_array_equal(tensor.to_numpy(u), [1, 2, 3, 4])
    c = t.clone()
    t.set_value(0)
    np.testing.assert_array_equal(tensor.to_numpy(c), [[1, 2], [3, 4]])


def test_reshape_and_transpose():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = tensor.from_numpy(a)
    np.testing.assert_array_equal(tensor.to_numpy(t.reshape((6, 4))), a.reshape(6, 4))
    np.testing.assert_array_equal(tensor.to_numpy(t.transpose()), a.transpose())
    np.testing.assert_array_equal(tensor.to_numpy(t.transpose((1, 0, 2))), a.transpose(1, 0, 2))
    np.testing.assert_array_equal(tensor.to_numpy(t.transpose((-1, 0, 1))), a.transpose(2, 0, 1))


def test_repr_shows_values_dtype_device():
    r = repr(tensor.from_numpy(np.array([1.5, 2.5], dtype=np.float32)))
    assert "1.5" in r and "float32" in r and "CppCPU" in r


def test_size_zero_tensor():
    t = Tensor((0, 3)).set_value(1.0)
    assert t.size() == 0 and tensor.to_numpy(t).shape == (0, 3)


def test_device_singleton_and_id():
    assert device.get_default_device() is device.create_cpu_device()
    assert device.get_default_device().id() == -1
    assert Tensor((1,)).device is device.get_default_device()
    assert device.get_num_gpus() >= 0


def test_rng_statistics():
    device.set_rand_seed(123)
    g = tensor.to_numpy(Tensor((200_000,)).gaussian(1.5, 2.0))
    assert abs(g.mean() - 1.5) < 0.03 and abs(g.std() - 2.0) < 0.03
    u = tensor.to_numpy(Tensor((200_000,), dtype=tensor.float64).uniform(-1.0, 3.0))
    assert u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.02 and abs(u.std() - 4 / np.sqrt(12)) < 0.02
    b = tensor.to_numpy(Tensor((200_000,)).bernoulli(0.3))
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    r = tensor.to_numpy(tensor.random((1000,)))
    assert r.min() >= 0 and r.max() < 1


def test_rng_reproducible_by_seed_and_thread_count():
    device.set_rand_seed(42)
    a = tensor.to_numpy(Tensor((100_000,)).gaussian(0, 1))
    b = tensor.to_numpy(Tensor((10,)).uniform(0, 1))
    device.set_rand_seed(42)
    old = device.get_num_threads()
    device.set_num_threads(1)
    try:
        a2 = tensor.to_numpy(Tensor((100_000,)).gaussian(0, 1))
    finally:
        device.set_num_threads(old)
    b2 = tensor.to_numpy(Tensor((10,)).uniform(0, 1))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    device.set_rand_seed(43)
    assert not np.array_equal(a, tensor.to_numpy(Tensor((100_000,)).gaussian(0, 1)))
    # float32 and float64 draws of the same stream agree to float32 rounding
    device.set_rand_seed(7)
    f32 = tensor.to_numpy(Tensor((1000,)).uniform(0, 1))
    device.set_rand_seed(7)
    f64 = tensor.to_numpy(Tensor((1000,), dtype=tensor.float64).uniform(0, 1))
    np.testing.assert_allclose(f32, f64, atol=1e-6)


def test_stores_grad_rule():
    p = Tensor((2,), requires_grad=True, stores_grad=True)
    assert p.requires_grad and p.stores_grad
    x = Tensor((2,), requires_grad=True, stores_grad=False)
    assert not x.stores_grad
    with pytest.raises(ValueError, match="stores_grad=True requires requires_grad=True"):
        Tensor((2,), requires_grad=False, stores_grad=True)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: Tensor((2, -1)), ValueError, "shape"),
    (lambda: Tensor((2, 1.5)), TypeError, "shape"),
    (lambda: Tensor((2,), dtype="complex64"), TypeError, "dtype"),
    (lambda: Tensor((2,), dtype=7), TypeError, "dtype"),
    (lambda: Tensor((2, 2)).copy_from_numpy(np.zeros(3)), ValueError, "3 elements"),
    (lambda: Tensor((2,)).copy_from_numpy([1, 2]), TypeError, "np_array"),
    (lambda: Tensor((2,), dtype=tensor.int32).copy_from_numpy(np.array([1.5, 2])), TypeError, "truncate"),
    (lambda: tensor.from_numpy(np.array([2**40])), ValueError, "int32 range"),
    (lambda: tensor.from_numpy(np.array(["a"])), TypeError, "data"),
    (lambda: device.set_rand_seed(-1), ValueError, "seed"),
    (lambda: device.set_rand_seed(1.5), TypeError, "seed"),
    (lambda: device.set_rand_seed(2**64), ValueError, "seed"),
    (lambda: Tensor((2,)).gaussian(0, -1), ValueError, "std"),
    (lambda: Tensor((2,)).bernoulli(1.5), ValueError, "p"),
    (lambda: Tensor((2,)).uniform(1, 0), ValueError, "high"),
    (lambda: Tensor((2,), dtype=tensor.int32).gaussian(0, 1), TypeError, "int32"),
    (lambda: Tensor((2,)).copy_data(Tensor((3,))), ValueError, "sizes differ"),
    (lambda: Tensor((6,)).reshape((4, 2)), ValueError, "reshape"),
    (lambda: Tensor((2, 3)).transpose((0, 0)), ValueError, "permutation"),
    (lambda: Tensor((2,), device="gpu"), TypeError, "device"),
    (lambda: device.set_num_threads(0), ValueError, "n"),
])
def test_bad_input_raises_clear_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.rss
def test_memory_flat_after_10000_tensors():
    def churn():
        for _ in range(10_000):
            t = Tensor((64, 64)).set_value(1.0)  # 16 KiB each
            del t
    churn()  # warm up allocator and caches
    gc.collect()
    before = _rss_bytes()
    churn()
    gc.collect()
    grown = _rss_bytes() - before
    # 10,000 leaked tensors would be 160 MiB; allow 8 MiB of allocator noise.
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"


@pytest.mark.rss
def test_big_tensor_memory_returned_on_delete():
    gc.collect()
    before = _rss_bytes()
    t = Tensor((64, 2**20)).set_value(1.0)  # 256 MiB, touched by the fill
    during = _rss_bytes()
    view = t.data.reshape((2**26,))  # a view keeps the block alive ...
    del t
    gc.collect()
    assert _rss_bytes() - before > 200 * 2**20
    del view  # ... and the last reference frees it
    gc.collect()
    after = _rss_bytes()
    assert during - before > 200 * 2**20
    assert after - before < 32 * 2**20


# ---------------------------------------------------------------------- NumPy integers
def test_numpy_integers_work_wherever_an_int_is_asked():
    """Axes, sizes and counts often come out of NumPy (``x.ndim - 1``, ``np.argmax``):
    an ``np.int64`` must act like the ``int`` it holds; a bool or a float is refused."""
    from minisinga import autograd
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = tensor.from_numpy(a)
    i64, i32 = np.int64, np.int32
    checks = [
        (autograd.reduce_sum(t, i64(1)), a.sum(1, keepdims=True)),
        (autograd.reduce_sum(t, [i64(0), i32(2)]), a.sum((0, 2), keepdims=True)),
        (autograd.cat((t, t), i64(-1)), np.concatenate((a, a), -1)),
        (autograd.flatten(t, i32(2)), a.reshape(6, 4)),
        (autograd.unsqueeze(t, i64(0)), a[None]),
        (autograd.transpose(t, (i64(2), 0, 1)), a.transpose(2, 0, 1)),
        (autograd.reshape(t, (i64(6), i32(4))), a.reshape(6, 4)),
    ]
    for got, want in checks:
        np.testing.assert_array_equal(tensor.to_numpy(got), want)
    sm = tensor.to_numpy(autograd.softmax(t, axis=i64(2)))
    np.testing.assert_allclose(sm.sum(2), np.ones((2, 3)), rtol=1e-6)
    for bad in (True, 1.0, np.float64(1.0), np.bool_(True)):
        with pytest.raises(TypeError, match="axis must be an int"):
            autograd.softmax(t, axis=bad)


def test_a_number_too_large_for_the_dtype_says_so():
    t = tensor.from_numpy(np.ones(3, np.float32))
    with pytest.raises(OverflowError, match="does not fit in the tensor's dtype float32"):
        t + 10**400
    ti = tensor.from_numpy(np.ones(3, np.int32))
    with pytest.raises(OverflowError, match="does not fit in the tensor's dtype int32"):
        ti * 2**40
