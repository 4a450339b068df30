"""The Model, optimizer and checkpoint API on a GPU device.

tests/test_cuda.py checks every kernel and operation on the CUDA backend; this
file checks the parts above them that keep state on the device: a graph-mode
training step (recorded launches replayed on the device's memory, which only
works when the device keeps books on its allocations), each optimizer's
update (its learning rate and step counter are device tensors read by the
kernels), and a checkpoint round trip (parameters stay on their device).

Devices: ``emulated`` (the CUDA kernels compiled for the CPU, see
minisinga/gpu.py: EmulatedGPU) and ``cuda`` (a real GPU, skipped with the
reason where there is none).  The reference is always the CPU.
``MINISINGA_TEST_DEVICES`` limits the devices, as in tests/test_cuda.py.
"""
import gc
import os
import shutil

import numpy as np
import pytest
from test_model import MLP, train_mlp
from test_opt import GRADS, P0, adagrad_ref, adam_ref, rmsprop_ref, sgd_ref

from minisinga import device, gpu, opt, tensor
from minisinga.device import address_of
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

BATCH, SIZE = 16, 32   # the MLP's batch and hidden layer on the devices


@pytest.fixture(params=DEVICES)
def dev(request):
    return gpu.emulated_gpu() if request.param == "emulated" else device.create_cuda_gpu()


def params_of(m):
    return {k: v.to_numpy() for k, v in m.get_states().items()}


def train(dev, steps, use_graph=False, make_opt=None, model_and_opt=None, first_batch=0,
          **kwargs):
    """The user's MLP loop (tests/test_model.py) on ``dev``, small enough for the
    emulated GPU: returns (model, optimizer, losses)."""
    make_opt = make_opt or (lambda: opt.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4))
    return train_mlp(steps, use_graph=use_graph, make_opt=make_opt, first_batch=first_batch,
                     model_and_opt=model_and_opt, dev=dev, perceptron_size=SIZE, batch=BATCH,
                     **kwargs)


# ---------------------------------------------------------------------- memory books
def test_device_memory_is_tracked(dev):
    """Every block is in the device's books from allocation until it is freed
    (graph mode finds buffers through them)."""
    gc.collect()
    start = dev.memory_stats()
    dev.reset_peak_memory()
    t = Tensor((100, 3), dev, tensor.float64)
    serial, nbytes, ref = dev.block_at(address_of(t.data.ptr))
    assert nbytes == 2400 and ref() is t.data._mem and serial == dev.last_serial()
    mid = dev.memory_stats()
    assert mid["bytes_in_use"] - start["bytes_in_use"] == 2400
    assert mid["num_allocs"] - start["num_allocs"] == 1
    address = address_of(t.data.ptr)
    del t, ref
    gc.collect()
    assert dev.block_at(address) is None
    end = dev.memory_stats()
    assert end["bytes_in_use"] == start["bytes_in_use"]
    assert end["peak_bytes"] == start["bytes_in_use"] + 2400


# ---------------------------------------------------------------------- graph mode
def test_graph_step_equals_eager_step_on_device(dev):
    """Three steps recorded once and replayed on the device give the eager
    steps' parameters, and both agree with the CPU's."""
    m_e, o_e, loss_e = train(dev, 3)
    m_g, o_g, loss_g = train(dev, 3, use_graph=True)
    assert m_g._graph is not None and m_g._graph.device is dev
    assert all(p.device is dev for p in m_g.get_params().values())
    np.testing.assert_allclose(loss_g, loss_e, rtol=1e-6)
    pe, pg = params_of(m_e), params_of(m_g)
    for k in pe:
        np.testing.assert_allclose(pg[k], pe[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert o_g.get_states()["step_counter"].to_numpy()[0] == 3
    m_c, _, loss_c = train(device.get_default_device(), 3)
    np.testing.assert_allclose(loss_e, loss_c, rtol=1e-5)
    for k, v in params_of(m_c).items():
        np.testing.assert_allclose(pe[k], v, rtol=1e-4, atol=1e-6, err_msg=k)


# ---------------------------------------------------------------------- optimizers
OPTIMIZERS = [
    ("sgd-dampening", lambda: opt.SGD(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01),
     lambda: sgd_ref(P0, GRADS, 0.1, momentum=0.8, dampening=0.3, wd=0.01)),
    ("sgd-nesterov", lambda: opt.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda: sgd_ref(P0, GRADS, 0.05, momentum=0.9, wd=0.01, nesterov=True)),
    ("adam", lambda: opt.Adam(lr=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.1),
     lambda: adam_ref(P0, GRADS, 0.02, 0.8, 0.99, 1e-6, wd=0.1)),
    ("rmsprop", lambda: opt.RMSProp(lr=0.01, rho=0.5, epsilon=1e-4, weight_decay=0.2),
     lambda: rmsprop_ref(P0, GRADS, 0.01, 0.5, 1e-4, wd=0.2)),
    ("adagrad", lambda: opt.AdaGrad(lr=0.1, epsilon=1e-3, weight_decay=0.3),
     lambda: adagrad_ref(P0, GRADS, 0.1, 1e-3, wd=0.3)),
]


def run_steps(optimizer, dev, dtype):
    p = Tensor(data=P0, dtype=dtype, device=dev, requires_grad=True, stores_grad=True, name="w")
    out = []
    for g in GRADS:
        optimizer.apply("w", p, Tensor(data=g, dtype=dtype, device=dev, requires_grad=False))
        optimizer.step()
        out.append(p.to_numpy())
    return p, out


@pytest.mark.parametrize("name, make, ref", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_optimizer_steps_on_device(dev, name, make, ref):
    """float64: the closed form in NumPy; float32: the CPU's updates.  The
    step counter and learning rate move to the parameter's device."""
    o = make()
    p, got = run_steps(o, dev, tensor.float64)
    for step, (g, w) in enumerate(zip(got, ref())):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {step}")
    assert o.step_counter.device is dev and o.lr_value.device is dev
    assert o.step_counter.to_numpy()[0] == len(GRADS)
    assert all(buf.device is dev for buf in o.get_states().values())
    _, got32 = run_steps(make(), dev, tensor.float32)
    _, cpu32 = run_steps(make(), device.get_default_device(), tensor.float32)
    np.testing.assert_allclose(got32[-1], cpu32[-1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_on_device(dev, staircase):
    o = opt.SGD(lr=opt.ExponentialDecay(0.5, decay_steps=2, decay_rate=0.7,
                                        staircase=staircase))
    p = Tensor(data=np.ones(3), dtype=tensor.float64, device=dev, requires_grad=True,
               stores_grad=True, name="w")
    lrs = []
    for _ in range(5):
        o.apply("w", p, Tensor(data=np.zeros(3), dtype=tensor.float64, device=dev))
        lrs.append(o.lr_value.to_numpy()[0])
        o.step()
    e = np.arange(5) / 2
    want = 0.5 * 0.7 ** (np.floor(e) if staircase else e)
    np.testing.assert_allclose(lrs, want, rtol=1e-12)


# ---------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_keeps_the_device(dev, tmp_path):
    """Save after two steps, load into a fresh model on the same device: the
    parameters and optimizer states come back on the device, and training goes
    on exactly as without the round trip."""
    path = str(tmp_path / "ckpt.zip")
    make = lambda: opt.Adam(lr=0.01)  # noqa: E731
    m, o, _ = train(dev, 2, make_opt=make)
    m.save_states(path, aux_states=o.get_states())
    saved = params_of(m)

    dev.set_rand_seed(123)   # another initialisation, overwritten by the load
    fresh, fresh_opt = MLP(perceptron_size=SIZE), make()
    fresh.set_optimizer(fresh_opt)
    fresh.compile([Tensor((BATCH, 1, 28, 28), dev, tensor.float32)], is_train=True)
    aux = fresh.load_states(path)
    fresh_opt.set_states(aux)
    assert all(p.device is dev for p in fresh.get_params().values())
    for k, v in saved.items():
        np.testing.assert_array_equal(params_of(fresh)[k], v, err_msg=k)
    assert fresh_opt.step_counter.to_numpy()[0] == 2

    _, _, loss_a = train(dev, 2, model_and_opt=(m, o), first_batch=2)
    _, _, loss_b = train(dev, 2, model_and_opt=(fresh, fresh_opt), first_batch=2)
    assert loss_a == loss_b
    assert all(s.device is dev for s in fresh_opt.get_states().values())
    for k, v in params_of(m).items():
        np.testing.assert_array_equal(params_of(fresh)[k], v, err_msg=k)


# ---------------------------------------------------------------------- across devices
def test_a_model_initialised_on_the_device_equals_the_cpus(dev):
    """The same seed gives the same parameters on every device (Philox; the
    Gaussian's log and cos may differ from glibc's in the last bits on a GPU)."""
    models = []
    for d in (device.get_default_device(), dev):
        d.set_rand_seed(7)
        m = MLP(perceptron_size=SIZE)
        m.compile([Tensor((BATCH, 1, 28, 28), d, tensor.float32)], is_train=False)
        assert all(p.device is d for p in m.get_params().values())
        models.append(params_of(m))
    cpu, on_dev = models
    assert set(cpu) == set(on_dev)
    for k, v in cpu.items():
        if k.endswith(".W"):
            assert np.abs(v).max() > 0, k   # drawn, not left at zero (biases start at 0)
        np.testing.assert_allclose(on_dev[k], v, rtol=2e-6, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("direction", ["device-to-cpu", "cpu-to-device"])
def test_a_checkpoint_moves_between_the_cpu_and_the_device(dev, tmp_path, direction):
    """Train on one device, save; load into a model on the other: the same
    parameters and optimizer state, there, and the next steps' losses agree."""
    cpu = device.get_default_device()
    src, dst = (dev, cpu) if direction == "device-to-cpu" else (cpu, dev)
    path = str(tmp_path / "moved.zip")
    make = lambda: opt.SGD(lr=0.05, momentum=0.9)  # noqa: E731
    m, o, _ = train(src, 2, make_opt=make, save_to=path)

    dst.set_rand_seed(99)   # another initialisation, overwritten by the load
    moved, moved_opt = MLP(perceptron_size=SIZE), make()
    moved.set_optimizer(moved_opt)
    _, _, loss_moved = train(dst, 2, model_and_opt=(moved, moved_opt), first_batch=2,
                             load_from=path)
    _, _, loss_src = train(src, 2, model_and_opt=(m, o), first_batch=2)
    assert all(p.device is dst for p in moved.get_params().values())
    assert all(s.device is dst for s in moved_opt.get_states().values())
    np.testing.assert_allclose(loss_moved, loss_src, rtol=1e-5)
    for k, v in params_of(m).items():
        np.testing.assert_allclose(params_of(moved)[k], v, rtol=1e-4, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("use_graph", [False, True], ids=["eager", "graph"])
def test_resuming_on_the_device_continues_exactly(dev, tmp_path, use_graph):
    """tests/test_checkpoint.py's exact-resumption check on the device: four
    steps, or two, a checkpoint, a fresh model and optimizer, and two more, end
    on the same bits (Adam's step counter and decayed rate included)."""
    make = lambda: opt.Adam(lr=opt.ExponentialDecay(0.002, decay_steps=3,  # noqa: E731
                                                    decay_rate=0.8))
    straight, _, _ = train(dev, 4, use_graph=use_graph, make_opt=make)
    path = str(tmp_path / "half.zip")
    train(dev, 2, use_graph=use_graph, make_opt=make, save_to=path)
    dev.set_rand_seed(123)
    fresh, fresh_opt = MLP(perceptron_size=SIZE), make()
    fresh.set_optimizer(fresh_opt)
    resumed, _, _ = train(dev, 2, use_graph=use_graph, model_and_opt=(fresh, fresh_opt),
                          first_batch=2, load_from=path)
    for k, v in params_of(straight).items():
        np.testing.assert_array_equal(params_of(resumed)[k], v, err_msg=k)


# ---------------------------------------------------------------------- the block cache
def test_block_cache_keeps_freed_blocks_by_size_up_to_its_limit():
    released = []
    cache = gpu.BlockCache(released.append, limit=2048)
    assert [cache.size_of(n) for n in (0, 1, 512, 513, 1024)] == [512, 512, 512, 1024, 1024]
    assert cache.take(512) is None
    cache.give("a", 512)
    cache.give("b", 1024)
    assert cache.bytes == 1536 and not released
    cache.give("c", 1024)               # would pass the limit: released at once
    assert released == ["c"] and cache.bytes == 1536
    assert cache.take(1024) == "b" and cache.take(1024) is None
    assert cache.bytes == 512
    cache.give("d", 512)
    cache.empty()
    assert sorted(released) == ["a", "c", "d"] and cache.bytes == 0
    assert cache.take(512) is None


def test_a_gpu_reuses_freed_blocks_and_keeps_its_books(dev):
    """A freed block goes to the device's cache, and the next tensor of that size
    gets it back; the books count only live tensors; empty_cache releases."""
    if dev._cache.limit == 0:
        pytest.skip("exact memory, no cache: the emulated GPU under tools/sanitize.sh")
    gc.collect()
    dev.empty_cache()
    start = dev.memory_stats()
    assert start["cached_bytes"] == 0
    t = Tensor((1000,), dev, tensor.float32)          # 4000 bytes: a 4096-byte block
    first = address_of(t.data.ptr)
    del t
    gc.collect()
    stats = dev.memory_stats()
    assert stats["cached_bytes"] == 4096
    assert stats["bytes_in_use"] == start["bytes_in_use"]
    u = Tensor((1010,), dev, tensor.float32)          # 4040 bytes: the same block size
    assert address_of(u.data.ptr) == first
    assert dev.memory_stats()["cached_bytes"] == 0
    assert dev.block_at(first)[1] == 4040              # the books hold the requested size
    u.copy_from_numpy(np.arange(1010, dtype=np.float32))
    np.testing.assert_array_equal(u.to_numpy(), np.arange(1010, dtype=np.float32))
    del u
    gc.collect()
    dev.empty_cache()
    assert dev.memory_stats()["cached_bytes"] == 0


def test_out_of_memory_frees_the_cache_and_collects_before_giving_up(monkeypatch):
    """The first failed allocation empties the cache (after a gc.collect, which
    may free more) and tries again; a second failure is a clear error."""
    if NO_CXX:
        pytest.skip(NO_CXX)
    dev = gpu.emulated_gpu()
    if dev._cache.limit == 0:
        pytest.skip("exact memory, no cache: the emulated GPU under tools/sanitize.sh")
    t = Tensor((300,), dev, tensor.float64)
    del t
    gc.collect()
    assert dev.memory_stats()["cached_bytes"] > 0
    real, calls = dev._raw_alloc, []

    def fail_first(size):
        calls.append(size)
        return None if len(calls) == 1 else real(size)

    monkeypatch.setattr(dev, "_raw_alloc", fail_first)
    big = Tensor((100_000,), dev, tensor.float32)     # no cached block of this size
    assert len(calls) == 2 and dev.memory_stats()["cached_bytes"] == 0
    del big
    monkeypatch.setattr(dev, "_raw_alloc", lambda size: None)
    with pytest.raises(MemoryError, match="could not allocate 8 bytes on EmulatedGPU"):
        Tensor((2,), dev, tensor.float32)
