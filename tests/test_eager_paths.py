"""The shortcuts of the eager path keep their promises: the device's books keyed by
pointer, the per-device kernel cache under graph recording, the engine handing out
each stored gradient once and as soon as it is final, data inputs left without a
creator, and the overhead benchmark script running."""
import gc
import importlib.util
import pathlib

import numpy as np
import pytest

from minisinga import _lib, autograd, device, dtypes, gpu, opt, tensor
from minisinga.ctensor import CTensor
from minisinga.device import address_of
from minisinga.graph import Graph
from minisinga.tensor import Tensor

ROOT = pathlib.Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("training_mode")


def param(values):
    return Tensor(data=np.asarray(values, dtype=np.float64), dtype=tensor.float64,
                  requires_grad=True, stores_grad=True)


# ---------------------------------------------------------------- the device's books
@pytest.mark.parametrize("make_device", [device.get_default_device, gpu.emulated_gpu],
                         ids=["cpu", "emulated-gpu"])
def test_books_find_a_block_by_int_address_and_forget_it_when_freed(make_device):
    dev = make_device()
    gc.collect()
    start = dev.memory_stats()
    t = CTensor((5, 4), dtypes.float64, dev)        # 160 bytes
    address = address_of(t.ptr)
    serial, nbytes, ref = dev.block_at(address)
    assert nbytes == 160 and ref() is t._mem
    assert dev.block_at(address_of(t._view((20,)).ptr))[0] == serial   # a view: same block
    assert dev.memory_stats()["bytes_in_use"] == start["bytes_in_use"] + 160
    del t, ref
    gc.collect()
    assert dev.block_at(address) is None
    assert dev.memory_stats()["bytes_in_use"] == start["bytes_in_use"]


def test_books_balance_after_training_steps():
    dev = device.get_default_device()
    gc.collect()
    before = dev.memory_stats()["bytes_in_use"]
    w = Tensor(data=np.full((3, 2), 0.5, np.float32), requires_grad=True, stores_grad=True)
    x = Tensor(data=np.ones((4, 3), np.float32), requires_grad=False)
    sgd = opt.SGD(lr=0.1, momentum=0.9)
    held = dev.memory_stats()["bytes_in_use"]
    for _ in range(3):
        sgd(autograd.mse_loss(autograd.matmul(x, w), Tensor(data=np.zeros((4, 2), np.float32))))
    gc.collect()
    # What stays: the momentum buffer (24 bytes); every temporary went back.
    assert dev.memory_stats()["bytes_in_use"] == held + 24
    del w, x, sgd
    gc.collect()
    assert dev.memory_stats()["bytes_in_use"] == before


# ---------------------------------------------------------------- kernel cache
def test_cached_kernels_are_still_recorded_by_graph_mode():
    dev = device.get_default_device()
    x = CTensor.from_numpy(np.array([-1.0, 2.0], np.float32))
    plain = _lib.kernel("relu_forward", x)       # fills the cache
    assert _lib.kernel("relu_forward", x) is plain
    graph = Graph(dev)
    with graph.recording():
        wrapped = _lib.kernel("relu_forward", x)
        assert wrapped is not plain
        y = CTensor._new(x.shape, x.dtype, dev)
        wrapped(y.ptr, x.ptr, x.size)
    assert [node.name for node in graph.nodes] == ["relu_forward"]
    assert _lib.kernel("relu_forward", x) is plain
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])


# ---------------------------------------------------------------- the engine
def test_a_parameter_used_twice_is_yielded_once_with_the_sum():
    w = param([3.0])
    pairs = list(autograd.backward(w * w + w))   # d/dw (w^2 + w) = 2w + 1
    assert [p for p, _ in pairs] == [w]
    np.testing.assert_array_equal(pairs[0][1].to_numpy(), [7.0])


def test_a_gradient_is_yielded_before_the_rest_of_backward_runs():
    seen = []

    class Spy(autograd.Operation):
        def forward(self, x):
            return x.clone()

        def backward(self, dy):
            seen.append("spy backward")
            return dy

    a, b = param([1.0]), param([2.0])
    y = Spy()(a)[0] * b                          # b's gradient is final after mul's backward
    for p, _ in autograd.backward(y):
        seen.append("a" if p is a else "b")
    assert seen == ["b", "spy backward", "a"]


def test_two_outputs_of_one_op_as_roots_and_an_intermediate_that_stores_its_gradient():
    x = param([1.0, 2.0])
    parts = autograd.split(x * 3.0, 0, [1, 1])
    pairs = list(autograd._backward_many(list(parts), [None, None]))
    assert [p for p, _ in pairs] == [x]
    np.testing.assert_array_equal(pairs[0][1].to_numpy(), [3.0, 3.0])
    y = x * 2.0
    y.stores_grad = True
    got = dict(autograd.backward(y * y))         # d/dy y^2 = 2y; d/dx = 2y * 2
    np.testing.assert_array_equal(got[y].to_numpy(), [4.0, 8.0])
    np.testing.assert_array_equal(got[x].to_numpy(), [8.0, 16.0])
    assert got[x].name.endswith("_g") and not got[x].requires_grad


def test_data_inputs_get_no_dummy_creator_but_parameters_do():
    w = param([1.0, 2.0])
    data = Tensor(data=np.array([3.0, 4.0]), dtype=tensor.float64, requires_grad=False)
    y = w * data
    assert data.creator is None
    assert isinstance(w.creator, autograd.Dummy)
    assert y.creator.src[1][0] is None and y.creator.src[1][3] is False
    np.testing.assert_array_equal(autograd.gradients(y)[w].to_numpy(), [3.0, 4.0])


def test_bad_backward_shape_still_names_the_input():
    class Wrong(autograd.Operation):
        def forward(self, a, b):
            return a.clone()

        def backward(self, dy):
            return dy, dy._view((1, 2))

    a, b = param([1.0, 2.0]), param([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"for input 1 of shape \(2,\)"):
        list(autograd.backward(Wrong()(a, b)[0]))


# ---------------------------------------------------------------- the benchmark script
def test_bench_overhead_prints_every_row(capsys):
    spec = importlib.util.spec_from_file_location("bench_overhead",
                                                  ROOT / "bench" / "bench_overhead.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--number", "20", "--repeat", "1"])
    out = capsys.readouterr().out
    for row in ("add forward", "add forward + backward", "CTensor._new",
                "_lib.kernel lookup", "bare cffi call"):
        assert row in out
    assert autograd.training is True   # restored (the fixture set it)
