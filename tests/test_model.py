"""Model API: compile, modes, calling; the user's MLP example on real digits."""
import numpy as np
import pytest

from minisinga import autograd, device, layer, model, opt, tensor
from minisinga.datasets import load_mnist
from minisinga.tensor import Tensor


# The user's example, unchanged but for the import.
class MLP(model.Model):
    def __init__(self, data_size=10, perceptron_size=100, num_classes=10):
        super(MLP, self).__init__()  # noqa: UP008  (the example as the user wrote it)
        self.relu = layer.ReLU()
        self.linear1 = layer.Linear(perceptron_size)
        self.linear2 = layer.Linear(num_classes)
        self.softmax_cross_entropy = layer.SoftMaxCrossEntropy()

    def forward(self, inputs):
        y = self.linear1(inputs)
        y = self.relu(y)
        y = self.linear2(y)
        return y

    def train_one_batch(self, x, y):
        out = self.forward(x)
        loss = self.softmax_cross_entropy(out, y)
        self.optimizer(loss)
        return out, loss

    def set_optimizer(self, optimizer):
        self.optimizer = optimizer


BATCH = 32
_MNIST = None


def mnist():
    global _MNIST
    if _MNIST is None:
        _MNIST = load_mnist()
    return _MNIST


def mnist_batch(b, batch_size=BATCH, one_hot=True):
    x_train, y_train, _, _ = mnist()
    n = len(x_train) // batch_size
    sl = slice((b % n) * batch_size, (b % n + 1) * batch_size)
    y = y_train[sl]
    if one_hot:
        y = np.eye(10, dtype=np.int32)[y]
    return x_train[sl], y


def train_mlp(steps, use_graph=False, sequential=False, seed=0, make_opt=None, first_batch=0,
              model_and_opt=None, save_to=None, load_from=None, dev=None,
              perceptron_size=100, batch=BATCH):
    """The user's loop on ``dev`` (None: the default CPU device): returns (model,
    optimizer, losses).  tests/test_cuda_model.py runs it on GPU devices with a
    smaller MLP and batch (the emulated GPU is slow)."""
    dev = dev or device.get_default_device()
    if model_and_opt is None:
        dev.set_rand_seed(seed)
        m = MLP(perceptron_size=perceptron_size)
        sgd = make_opt() if make_opt else opt.SGD(lr=0.005, momentum=0.9, weight_decay=1e-5)
        m.set_optimizer(sgd)
    else:
        m, sgd = model_and_opt
    tx = tensor.Tensor((batch, 1, 28, 28), dev, tensor.float32)
    ty = tensor.Tensor((batch, 10), dev, tensor.int32)
    m.compile([tx], is_train=True, use_graph=use_graph, sequential=sequential)
    if load_from is not None:
        aux = m.load_states(fpath=load_from)
        sgd.set_states(aux)
    losses = []
    for b in range(first_batch, first_batch + steps):
        x, y = mnist_batch(b, batch_size=batch)
        tx.copy_from_numpy(x)
        ty.copy_from_numpy(y)
        out, loss = m(tx, ty)
        losses.append(float(loss.to_numpy()[0]))
    if save_to is not None:
        m.save_states(fpath=save_to, aux_states=sgd.get_states())
    return m, sgd, losses


def params_of(m):
    return {k: v.to_numpy() for k, v in m.get_states().items()}


@pytest.fixture(autouse=True)
def _restore_training_flag():
    was = autograd.training
    yield
    autograd.training = was


# ---------------------------------------------------------------------- compile and modes
def test_compile_creates_parameters_and_sets_modes():
    m = MLP()
    assert m.get_params() == {}
    tx = Tensor((4, 1, 28, 28))
    m.compile([tx], is_train=True, use_graph=True, sequential=True)
    params = m.get_params()
    assert sorted(params) == ["linear1.W", "linear1.b", "linear2.W", "linear2.b"]
    assert params["linear1.W"].shape == (784, 100)    # Linear flattened the 4-D input
    assert m.training and autograd.training
    assert m.graph_mode and m.sequential
    m.compile([tx], is_train=False)
    assert not m.training and not autograd.training and not m.graph_mode


@pytest.mark.parametrize("inputs, match", [
    ([], "non-empty list"),
    (Tensor((2, 3)), "non-empty list"),
    (None, "non-empty list"),
    ([np.zeros((2, 3))], r"inputs\[0\] must be a Tensor"),
])
def test_compile_refuses_bad_inputs(inputs, match):
    with pytest.raises(TypeError, match=match):
        MLP().compile(inputs)


def test_compile_refuses_non_bool_flags():
    with pytest.raises(TypeError, match="use_graph"):
        MLP().compile([Tensor((2, 5))], use_graph="yes")


def test_compile_runs_forward_outside_training_and_records_nothing():
    seen = []

    class Probe(MLP):
        def forward(self, inputs):
            seen.append(autograd.training)
            return super().forward(inputs)

    autograd.training = True
    m = Probe()
    m.compile([Tensor((2, 5))], is_train=True, use_graph=True)
    assert seen == [False]
    assert m._graph is None


def test_call_dispatches_on_training_mode():
    m = MLP()
    m.set_optimizer(opt.SGD(lr=0.1))
    x, y = mnist_batch(0, batch_size=4)
    tx, ty = Tensor(data=x), Tensor(data=y)
    m.compile([tx], is_train=True)
    out, loss = m(tx, ty)                    # train_one_batch
    assert out.shape == (4, 10) and loss.shape == (1,)
    m.eval()
    assert not m.training and not autograd.training
    out = m(tx)                              # forward
    assert isinstance(out, Tensor) and out.shape == (4, 10) and out.creator is None
    m.train()
    assert m.training and autograd.training


def test_graph_sets_mode_and_order():
    m = MLP()
    m.graph(True, sequential=True)
    assert m.graph_mode and m.sequential
    m.graph(False)
    assert not m.graph_mode and not m.sequential
    with pytest.raises(TypeError):
        m.graph("on")


def test_model_without_train_one_batch():
    class OnlyForward(model.Model):
        def __init__(self):
            super().__init__()
            self.l = layer.Linear(2)

        def forward(self, x):
            return self.l(x)

    m = OnlyForward()
    m.compile([Tensor((3, 4))])
    with pytest.raises(NotImplementedError, match="train_one_batch"):
        m(Tensor((3, 4)))


def test_params_and_states_are_layer_api():
    m = MLP()
    m.compile([Tensor((2, 1, 28, 28))])
    states = m.get_states()
    assert set(states) == set(m.get_params())
    new = {k: np.full(v.shape, 0.5, np.float32) for k, v in states.items()}
    m.set_states(new)
    for k, v in m.get_states().items():
        np.testing.assert_array_equal(v.to_numpy(), new[k])


# ---------------------------------------------------------------------- the user's example
def test_user_example_learns_on_mnist_in_eager_and_graph_mode_alike(tmp_path):
    steps = 60
    m_e, _, loss_e = train_mlp(steps, use_graph=False)
    m_g, _, loss_g = train_mlp(steps, use_graph=True, sequential=False)
    # the same numbers, step by step, and the same parameters at the end
    np.testing.assert_allclose(loss_g, loss_e, rtol=1e-6)
    pe, pg = params_of(m_e), params_of(m_g)
    for k in pe:
        np.testing.assert_allclose(pg[k], pe[k], rtol=1e-6, atol=1e-7, err_msg=k)
    # the loss falls: the last ten batches average well below the first ten
    assert np.mean(loss_g[-10:]) < 0.6 * np.mean(loss_g[:10]), loss_g
    # and the trained model classifies held-out digits far above chance (10 %)
    _, _, x_test, y_test = mnist()
    m_g.eval()
    pred = m_g(Tensor(data=x_test[:500])).to_numpy().argmax(1)
    assert (pred == y_test[:500]).mean() > 0.6

    # the example's checkpoint lines
    path = tmp_path / "checkpoint.zip"
    m_g.save_states(fpath=str(path))
    assert path.exists()
    m_g.load_states(fpath=str(path))
    for k, v in params_of(m_g).items():
        np.testing.assert_array_equal(v, pg[k])
