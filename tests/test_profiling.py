"""The time profile of training steps (SINGA's SetVerbosity / PrintTimeProfiling)."""
import numpy as np
import pytest

from minisinga import device, layer, model, opt, tensor


class MLP(model.Model):
    def __init__(self):
        super().__init__()
        self.linear1 = layer.Linear(16)
        self.relu = layer.ReLU()
        self.linear2 = layer.Linear(3)
        self.loss = layer.SoftMaxCrossEntropy()

    def forward(self, x):
        return self.linear2(self.relu(self.linear1(x)))

    def train_one_batch(self, x, y):
        out = self.forward(x)
        loss = self.loss(out, y)
        self.optimizer(loss)
        return out, loss


@pytest.fixture
def dev():
    d = device.get_default_device()
    yield d
    d.set_verbosity(0)


def train(steps, use_graph, verbosity=2, skip=2, sequential=False):
    """A small MLP trained for ``steps`` steps with the profile on; its device."""
    dev = device.get_default_device()
    rng = np.random.default_rng(0)
    x = tensor.Tensor(data=rng.standard_normal((8, 5)).astype(np.float32))
    y = tensor.Tensor(data=rng.integers(0, 3, 8).astype(np.int32))
    m = MLP()
    m.optimizer = opt.SGD(lr=0.1, momentum=0.9)
    m.compile([x], is_train=True, use_graph=use_graph, sequential=sequential)
    dev.set_verbosity(verbosity)
    dev.set_skip_iteration(skip)
    for _ in range(steps):
        m(x, y)
    return dev, m, x


@pytest.mark.parametrize("use_graph", [False, True], ids=["eager", "graph"])
def test_profile_times_each_launch_of_the_steps_after_the_skipped_ones(dev, use_graph):
    # (a graph replayed in recorded order, so that the launches come as eagerly)
    dev, _, _ = train(6, use_graph, sequential=True)
    r = dev.time_profile()
    assert r["steps"] == 4                      # 6 steps, the first 2 skipped
    names = [name for _, name, _, _ in r["launches"]]
    phases = [phase for _, _, phase, _ in r["launches"]]
    # the forward pass runs first, then the backward pass with the optimizer's updates
    assert phases == sorted(phases, key=lambda p: p != "forward")
    forward = [n for n, p in zip(names, phases) if p == "forward"]
    backward = [n for n, p in zip(names, phases) if p == "backward"]
    assert "gemm" in forward and "relu_forward" in forward
    assert "relu_backward" in backward and names.count("sgd_update") == 4   # 2 W, 2 b
    assert all(s >= 0 for _, _, _, s in r["launches"]) and r["forward"] > 0
    assert r["forward"] + r["backward"] == pytest.approx(
        sum(s for _, s in r["kernels"].values()))
    assert r["kernels"]["gemm"][0] == names.count("gemm")


def test_eager_and_graph_profiles_launch_the_same_kernels(dev):
    eager = sorted(name for _, name, _, _ in train(4, False)[0].time_profile()["launches"])
    graph = sorted(name for _, name, _, _ in train(4, True)[0].time_profile()["launches"])
    eager.remove("count_out_of_range")   # the label check runs only while recording
    assert eager == graph


def test_launches_outside_a_training_step_are_not_timed(dev):
    dev, m, x = train(3, False, skip=0)
    before = dev.time_profile()
    m.eval()
    m(x)                                        # evaluation: no step
    after = dev.time_profile()
    assert after["steps"] == before["steps"] == 3
    assert after["launches"] == before["launches"]


def test_print_time_profiling_in_singas_format(dev, capsys):
    train(3, False, verbosity=1, skip=1)
    dev.print_time_profiling()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Time Profiling (mean of 2 steps):"
    assert out[1].startswith("Forward Propagation Time : ") and out[1].endswith(" sec")
    assert out[2].startswith("Backward Propagation Time : ")
    assert len(out) == 3                        # verbosity 1: no line per launch
    dev.SetVerbosity(2)                         # a new profile, nothing timed yet
    dev.PrintTimeProfiling()
    assert "no step timed yet" in capsys.readouterr().out


def test_verbosity_2_lists_every_launch_and_the_kernels(dev, capsys):
    dev, _, _ = train(3, False, skip=0)
    n = len(dev.time_profile()["launches"])
    dev.PrintTimeProfiling()
    out = capsys.readouterr().out.splitlines()
    ops = [line for line in out if line.startswith("OP_ID")]
    assert len(ops) == n and ops[0].startswith("OP_ID0. ") and ops[-1].endswith(" sec")
    assert any(line.startswith("gemm ") for line in out)


def test_bad_settings_are_refused(dev):
    dev.set_verbosity(0)
    with pytest.raises(ValueError, match="verbosity: expected 0, 1 or 2, got 3"):
        dev.set_verbosity(3)
    with pytest.raises(RuntimeError, match="call set_verbosity"):
        dev.set_skip_iteration(2)
    with pytest.raises(RuntimeError, match="call set_verbosity"):
        dev.time_profile()
    dev.set_verbosity(1)
    with pytest.raises(ValueError, match="n: expected a number of steps >= 0, got -1"):
        dev.set_skip_iteration(-1)
    dev.set_verbosity(0)
    assert dev._profile is None
