"""Thread counts do not change results: every threaded kernel is bitwise
deterministic across 1, 2 and 3 OpenMP threads.

What minisinga promises (and these tests pin): for a given input, build and
element type, every operation's forward result and gradients are the same
bits whatever ``device.set_num_threads`` says.  The kernels get there by
giving each output element (or each row) to exactly one thread, which computes
it in a fixed order; the two sums that cross rows (the softmax cross-entropy
losses) add fixed-size chunks of rows and then the chunk sums in order, instead
of OpenMP's ``reduction(+)``, whose combining order depends on the threads (it
gave float64 losses that differed in the last bits between 1 and 2 threads).
Random fills depend only on (seed, counter, position), never on threads.

Every case below is big enough to pass its kernel's threading threshold
(``#pragma omp parallel for if (n > ...)``), so the threaded path really runs.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

from minisinga import autograd, device, tensor
from minisinga.tensor import Tensor

THREADS = (1, 2, 3)
F32, F64 = tensor.float32, tensor.float64


@pytest.fixture(autouse=True)
def restore_threads():
    n = device.get_num_threads()
    yield
    device.set_num_threads(n)


@contextlib.contextmanager
def training():
    old = autograd.training
    autograd.training = True
    try:
        yield
    finally:
        autograd.training = old


def _u(shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def _labels(n, c):
    return Tensor(data=np.random.default_rng(1).integers(0, c, n).astype(np.int32))


BIG = (300, 400)  # 120,000 elements: past every elementwise threshold
# name -> (fn, input arrays)
CASES = {
    "add": (autograd.add, [_u(BIG), _u((400,), seed=1)]),
    "mul": (autograd.mul, [_u(BIG), _u(BIG, seed=1)]),
    "div": (autograd.div, [_u(BIG), _u(BIG, 0.5, 2, seed=1)]),
    "pow": (autograd.pow, [_u(BIG, 0.5, 2), _u(BIG, seed=1)]),
    "exp": (autograd.exp, [_u(BIG)]),
    "log": (autograd.log, [_u(BIG, 0.1, 3)]),
    "relu": (autograd.relu, [_u(BIG)]),
    "sigmoid": (autograd.sigmoid, [_u(BIG, -5, 5)]),
    "tanh": (autograd.tanh, [_u(BIG, -3, 3)]),
    "softmax_axis1": (lambda x: autograd.softmax(x, 1), [_u(BIG, -5, 5)]),
    "softmax_axis0": (lambda x: autograd.softmax(x, 0), [_u(BIG, -5, 5)]),
    "reduce_sum_rows": (lambda x: autograd.reduce_sum(x, [1]), [_u(BIG)]),
    "reduce_sum_cols": (lambda x: autograd.reduce_sum(x, [0]), [_u(BIG)]),
    "reduce_mean_all": (lambda x: autograd.reduce_mean(x), [_u(BIG)]),
    "reduce_sum_mid": (lambda x: autograd.reduce_sum(x, [1]), [_u((40, 50, 60))]),
    "matmul": (autograd.matmul, [_u((96, 80)), _u((80, 72), seed=1)]),
    "matmul_batched": (autograd.matmul, [_u((3, 64, 48)), _u((48, 40), seed=1)]),
    "gemm": (lambda a, b, c: autograd.gemm(a, b, c, 0.5, 1.5, 1, 0),
             [_u((80, 96)), _u((80, 72), seed=1), _u((72,), seed=2)]),
    "add_bias": (autograd.add_bias, [_u(BIG), _u((400,), seed=1)]),
    "transpose": (lambda x: autograd.transpose(x, (2, 0, 1)), [_u((40, 50, 60))]),
    "cat": (lambda a, b: autograd.cat([a, b], 1), [_u(BIG), _u((300, 200), seed=1)]),
    "split": (lambda x: autograd.split(x, 1, [100, 300]), [_u(BIG)]),
    "softmax_cross_entropy_index": (
        lambda x: autograd.softmax_cross_entropy(x, _labels(3000, 37)), [_u((3000, 37), -8, 8)]),
    "softmax_cross_entropy_dense": (
        lambda x: autograd.softmax_cross_entropy(x, Tensor(data=_u((3000, 37), 0, 1, seed=2))),
        [_u((3000, 37), -8, 8)]),
    "mse_loss": (lambda x: autograd.mse_loss(x, Tensor(data=_u(BIG, seed=3))), [_u(BIG)]),
    "cross_entropy": (lambda x: autograd.cross_entropy(x, Tensor(data=_u(BIG, 0, 1, seed=3))),
                      [_u(BIG, 0.1, 1)]),
    "binary_cross_entropy": (
        lambda x: autograd.binary_cross_entropy(x, Tensor(data=_u(BIG, 0, 1, seed=3))),
        [_u(BIG, 0.05, 0.95)]),
    # the convolution's every code path, at LeNet's sizes and the benchmark's: dW
    # sums the images in fixed chunks, shared by the threads (conv.c, conv_fast.c)
    "conv2d_one_channel": (autograd.conv2d, [_u((16, 1, 28, 28)), _u((20, 1, 5, 5), seed=1),
                                             _u((20,), seed=2)]),
    "conv2d_lenet_second_layer": (autograd.conv2d, [_u((16, 20, 12, 12)),
                                                    _u((50, 20, 5, 5), seed=1)]),
    "conv2d_stride1_padded": (lambda x, W: autograd.conv2d(x, W, padding=1),   # dW: segments
                              [_u((16, 32, 14, 14)), _u((16, 32, 3, 3), seed=1)]),
    "conv2d_stride2": (lambda x, W: autograd.conv2d(x, W, stride=2, padding=1),
                       [_u((16, 16, 14, 14)), _u((16, 16, 3, 3), seed=1)]),
    "max_pool2d": (lambda x: autograd.max_pool2d(x, 2, 2), [_u((16, 20, 24, 24))]),
    "avg_pool2d": (lambda x: autograd.avg_pool2d(x, 3, 1, 1), [_u((16, 20, 24, 24))]),
}


def _run(fn, arrays, dtype, threads):
    device.set_num_threads(threads)
    with training():
        ts = [Tensor(data=a, dtype=dtype, stores_grad=True) for a in arrays]
        out = fn(*ts)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        dys = [Tensor(data=_u(o.shape, seed=9), dtype=o.dtype, requires_grad=False) for o in outs]
        grads = dict(autograd._backward_many(outs, dys))
    return [o.to_numpy() for o in outs] + [grads[t].to_numpy() for t in ts]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bitwise_identical_across_thread_counts(name, dtype):
    fn, arrays = CASES[name]
    runs = {n: _run(fn, arrays, dtype, n) for n in THREADS}
    for n in THREADS[1:]:
        for k, (a, b) in enumerate(zip(runs[1], runs[n])):
            assert a.tobytes() == b.tobytes(), \
                f"{name}: result {k} differs between 1 and {n} threads " \
                f"(max |diff| {np.abs(a.astype(np.float64) - b).max():.3g})"


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_random_fills_do_not_depend_on_threads(dtype):
    runs = []
    for n in THREADS:
        device.set_num_threads(n)
        device.set_rand_seed(42)
        t = Tensor((70_000,), dtype=dtype)
        runs.append([t.gaussian(0.0, 1.0).to_numpy().copy(), t.uniform(-1, 1).to_numpy().copy(),
                     t.bernoulli(0.3).to_numpy().copy()])
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert a.tobytes() == b.tobytes()


def test_threading_is_really_on():
    """The cases above would prove nothing with a single-threaded build."""
    from minisinga._lib import lib
    assert lib.ms_has_openmp() == 1
    device.set_num_threads(2)
    assert device.get_num_threads() == 2


# ------------------------------------------------ a busy machine (core.c, "Threads on a busy machine")
def test_a_loop_whose_threads_waited_sends_the_next_loops_to_one_thread():
    """The rule of core.c: a loop in which a thread waited over a quarter of the
    time for the others makes the next loops run on one thread for a while; the
    user's thread count stays what it was, and setting it starts afresh."""
    import time

    from minisinga._lib import lib
    device.set_num_threads(2)
    assert lib.ms_par_threads() == 2
    lib.ms_par_note(10e-3, 2e-3)         # waited a fifth of the loop: fine
    assert lib.ms_par_threads() == 2
    lib.ms_par_note(0.4e-3, 0.15e-3)     # a third of a short loop, but under 0.2 ms:
    assert lib.ms_par_threads() == 2      # a thread being woken, not a busy core
    backoffs = device.busy_backoffs()
    lib.ms_par_note(1.2e-3, 1.1e-3)      # nearly all of it
    assert lib.ms_par_threads() == 1
    assert device.get_num_threads() == 2
    assert device.busy_backoffs() == backoffs + 1   # counted, for the benchmarks
    time.sleep(0.013)                     # one thread for 10 ms, or 10 x the loop: 12 ms
    assert lib.ms_par_threads() == 2
    lib.ms_par_note(1.2e-3, 1.1e-3)      # the try with 2 threads waited again
    assert lib.ms_par_threads() == 1
    lib.ms_par_note(1.2e-3, 1.1e-3)      # two more: 40 then 80 ms on one thread,
    lib.ms_par_note(1.2e-3, 1.1e-3)      # and 160 the next time
    time.sleep(0.1)
    assert lib.ms_par_threads() == 2      # the next try; its loop keeps up, but one
    lib.ms_par_note(1e-3, 0)              # loop that kept up does not halve the wait
    lib.ms_par_note(1.2e-3, 1.1e-3)       # (only as long a good run as the last
    time.sleep(0.12)                      # wait does): still 160 ms, not 80
    assert lib.ms_par_threads() == 1
    device.set_num_threads(2)
    assert lib.ms_par_threads() == 2


def test_after_a_back_off_a_program_of_convolutions_alone_gets_its_threads_back():
    """The convolution's and pooling's own `omp parallel` regions take OpenMP's thread
    count, which a back-off sets to 1; they ask the rule first (ms_team_start), so
    once the back-off is over they use all threads again even when nothing else
    runs in between.  Seen from outside: the other thread does part of the work
    (its CPU time is the process's minus the calling thread's)."""
    import time

    from minisinga._lib import lib
    rng = np.random.default_rng(0)
    x = Tensor(data=rng.standard_normal((32, 16, 28, 28)).astype(np.float32))
    W = Tensor(data=rng.standard_normal((16, 16, 3, 3)).astype(np.float32))
    shares = []
    for _ in range(5):                      # a busy machine may starve the other thread
        device.set_num_threads(2)           # (and starts the back-offs afresh)
        lib.ms_par_note(1.2e-3, 1.1e-3)     # a back-off: 10 ms on one thread
        assert lib.ms_par_threads() == 1
        time.sleep(0.05)                    # over; and only convolutions run now
        t0, p0 = time.thread_time(), time.process_time()
        for _ in range(10):
            autograd.conv2d(x, W, padding=1)
        mine = time.thread_time() - t0
        shares.append((time.process_time() - p0 - mine) / mine)
        if shares[-1] > 0.2:
            break
    assert max(shares) > 0.2, f"the other thread's CPU time over the caller's: {shares}"


def test_idle_openmp_threads_stop_spinning_soon():
    """After a parallel kernel, OpenMP's idle threads spin waiting for the next
    one; libgomp's default (300,000 pauses) is 10-40 ms of a core each time, taken
    from whatever else runs.  minisinga bounds it when it loads (_lib.OMP_SPIN_COUNT):
    a process asleep after a 2-thread GEMM uses under 3 ms of CPU time."""
    import os
    import subprocess
    import sys
    code = ("import time\n"
            "from minisinga import bench, device\n"
            "device.set_num_threads(2)\n"
            "step = bench.gemm_steps(512, 'minisinga')\n"
            "step()\n"
            "t0 = time.process_time()\n"
            "time.sleep(0.3)\n"
            "print(time.process_time() - t0)\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 3e-3   # 7.5-8 ms with libgomp's default, under load


# ------------------------------------------------ Python threads: one model each
# autograd.training and the graph recorder are per thread: two threads may each
# record and train their own Model in graph mode at the same time, and get what
# each would get alone.  The threads meet at barriers inside the recorded step
# (after forward, after the loss, after the update) and at every replayed step,
# so both recordings are open at once and the launches interleave on purpose;
# a third thread launches eager kernels on the same device all along.
class _Meeting:
    """A model mixin whose step waits at ``self.meet`` (a barrier, or nothing)."""
    meet = staticmethod(lambda: None)


def _two_models(meet=None):
    from test_model import MLP

    from minisinga import model, opt

    class Meeting(MLP, _Meeting):
        def train_one_batch(self, x, y):
            out = self.forward(x)
            self.meet()
            loss = self.softmax_cross_entropy(out, y)
            self.meet()
            self.optimizer(loss)
            self.meet()
            return out, loss

    assert issubclass(Meeting, model.Model)
    models = []
    for seed in (1, 2):
        device.set_rand_seed(seed)   # (built one after the other: the same initial weights)
        m = Meeting(perceptron_size=16)
        m.set_optimizer(opt.SGD(lr=0.05, momentum=0.9))
        tx, ty = Tensor((8, 1, 28, 28)), Tensor((8, 10), dtype=tensor.int32)
        m.compile([tx], is_train=True, use_graph=True, sequential=False)
        if meet is not None:
            m.meet = meet
        models.append((m, tx, ty))
    autograd.training = False    # the threads must set their own
    return models


def _train(m, tx, ty, first, steps, between=lambda: None):
    from test_model import mnist_batch
    losses = []
    for b in range(first, first + steps):
        x, y = mnist_batch(b, batch_size=8)
        tx.copy_from_numpy(x)
        ty.copy_from_numpy(y)
        between()
        losses.append(m(tx, ty)[1].to_numpy()[0])
    return losses, {k: v.to_numpy() for k, v in m.get_states().items()}


def test_two_threads_record_and_train_their_own_models_in_graph_mode():
    import threading
    steps = 4
    alone_models = _two_models()
    alone = [_train(*trio, first=100 * k, steps=steps) for k, trio in enumerate(alone_models)]
    barrier = threading.Barrier(2, timeout=60)
    models = _two_models(meet=barrier.wait)
    results, errors = [None, None], []
    stop = threading.Event()

    def run(k):
        try:
            results[k] = _train(*models[k], first=100 * k, steps=steps, between=barrier.wait)
        except BaseException as exc:   # (raised again below, in the test's thread)
            errors.append(exc)
            barrier.abort()

    def noise():   # eager kernels on the same device, unrecorded, all along
        a = Tensor(data=np.ones((16, 16), np.float32))
        while not stop.is_set():
            autograd.matmul(a, a)

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    noisy = threading.Thread(target=noise)
    noisy.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    noisy.join(10)
    if errors:
        raise errors[0]
    for k in (0, 1):
        losses, params = results[k]
        np.testing.assert_array_equal(losses, alone[k][0])
        for name, p in params.items():
            np.testing.assert_array_equal(p, alone[k][1][name], err_msg=name)
        # Each graph holds its own step only: the launches it recorded alone.
        assert len(models[k][0]._graph.nodes) == len(alone_models[k][0]._graph.nodes)
    assert autograd.training is False   # the main thread's flag: the threads set their own


def test_training_flag_is_per_thread_and_reads_as_a_module_attribute():
    import threading
    seen = []
    autograd.training = True
    t = threading.Thread(target=lambda: seen.append(autograd.training))
    t.start()
    t.join()
    assert seen == [False] and autograd.training is True
    from minisinga.autograd import training  # SINGA's other way to read it
    assert training is True
    autograd.training = False
