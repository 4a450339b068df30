"""Layer API: lazy initialisation, dotted names, get/set of params and states."""
import numpy as np
import pytest

from minisinga import autograd, device, layer, tensor
from minisinga.tensor import Tensor


class Double(layer.Layer):
    def __init__(self):
        super().__init__()
        self.l1 = layer.Linear(4)
        self.l2 = layer.Linear(3)

    def forward(self, x):
        return self.l2(autograd.relu(self.l1(x)))


class Net(layer.Layer):
    def __init__(self):
        super().__init__()
        self.block = Double()
        self.linear1 = layer.Linear(2, bias=False)

    def forward(self, x):
        return self.linear1(self.block(x))


def x_of(shape, seed=0):
    return tensor.from_numpy(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_lazy_initialisation_from_first_input():
    lin = layer.Linear(5)
    assert lin.get_params() == {}
    y = lin(x_of((3, 7)))
    assert y.shape == (3, 5)
    params = lin.get_params()
    assert set(params) == {"W", "b"}
    assert params["W"].shape == (7, 5) and params["b"].shape == (5,)
    assert params["W"].stores_grad and params["W"].requires_grad
    np.testing.assert_array_equal(tensor.to_numpy(params["b"]), np.zeros(5))


def test_nested_dotted_names():
    net = Net()
    net(x_of((2, 6)))
    assert sorted(net.get_params()) == ["block.l1.W", "block.l1.b", "block.l2.W", "block.l2.b",
                                        "linear1.W"]
    assert net.block.l1.name == "block.l1"
    assert net.get_params()["block.l2.W"].name == "block.l2.W"


def test_initialisation_statistics_and_seed_reproducibility():
    device.set_rand_seed(5)
    a = layer.Linear(300)
    a(x_of((2, 500)))
    w = tensor.to_numpy(a.W)
    assert abs(w.std() - np.sqrt(2 / 800)) < 0.003 and abs(w.mean()) < 0.003
    device.set_rand_seed(5)
    b = layer.Linear(300)
    b(x_of((2, 500)))
    np.testing.assert_array_equal(w, tensor.to_numpy(b.W))


def test_set_params_and_states_round_trip():
    net = Net()
    net(x_of((2, 6)))
    new = {k: np.full(v.shape, 0.5, np.float32) for k, v in net.get_params().items()}
    net.set_params(new)
    for k, v in net.get_params().items():
        np.testing.assert_array_equal(tensor.to_numpy(v), new[k])
    net.set_states({"block.l1.b": tensor.from_numpy(np.arange(4, dtype=np.float32))})
    np.testing.assert_array_equal(tensor.to_numpy(net.block.l1.b), np.arange(4))


def test_set_params_errors_leave_the_layer_unchanged():
    net = Net()
    net(x_of((2, 6)))
    before = {k: tensor.to_numpy(v) for k, v in net.get_params().items()}
    with pytest.raises(KeyError, match="block.l9.W"):
        net.set_params({"block.l1.W": np.zeros((6, 4)), "block.l9.W": np.zeros(1)})
    with pytest.raises(ValueError, match=r"block.l1.b has shape \(4,\)"):
        net.set_params({"block.l1.W": np.zeros((6, 4)), "block.l1.b": np.zeros(5)})
    for k, v in net.get_params().items():
        np.testing.assert_array_equal(tensor.to_numpy(v), before[k])


def test_linear_old_form_checks_input_size():
    lin = layer.Linear(7, 3)
    assert lin(x_of((2, 7))).shape == (2, 3)
    bad = autograd.Linear(5, 3)
    with pytest.raises(ValueError, match="in_features=5"):
        bad(x_of((2, 7)))


def test_linear_flattens_images():
    lin = layer.Linear(10)
    assert lin(x_of((4, 1, 28, 28))).shape == (4, 10)
    assert lin.W.shape == (784, 10)


def test_stateless_layers():
    x = x_of((2, 3))
    np.testing.assert_array_equal(tensor.to_numpy(layer.ReLU()(x)),
                                  np.maximum(tensor.to_numpy(x), 0))
    assert layer.Cat(1)([x, x]).shape == (2, 6)
    assert layer.Flatten()(x_of((2, 3, 4))).shape == (2, 12)
    assert layer.Reshape()(x, (3, 2)).shape == (3, 2)
    t = Tensor(data=np.array([0, 2], dtype=np.int32))
    assert layer.SoftMaxCrossEntropy()(x, t).shape == (1,)
    with pytest.raises(ValueError, match="ratio"):
        layer.Dropout(1.5)
