"""Graph mode on a CNN (convolution, batch norm, pooling): graph == eager.

Needs layer.Conv2d, layer.BatchNorm2d and layer.MaxPool2d (the conv branch).
Batch norm's running statistics are model states updated inside the step, so
they must be updated by kernels for a replay to update them too.
"""
import numpy as np
import pytest
from test_model import mnist_batch

from minisinga import autograd, device, layer, model, opt, tensor
from minisinga.tensor import Tensor


class CNN(model.Model):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = layer.Conv2d(4, 3, padding=1)
        self.bn1 = layer.BatchNorm2d()
        self.relu = layer.ReLU()
        self.pool = layer.MaxPool2d(2)
        self.conv2 = layer.Conv2d(6, 3)
        self.linear = layer.Linear(num_classes)
        self.loss = layer.SoftMaxCrossEntropy()

    def forward(self, x):
        y = self.pool(self.relu(self.bn1(self.conv1(x))))
        y = self.relu(self.conv2(y))
        return self.linear(y)

    def train_one_batch(self, x, y):
        out = self.forward(x)
        loss = self.loss(out, y)
        self.optimizer(loss)
        return out, loss


@pytest.fixture(autouse=True)
def _restore_training_flag():
    was = autograd.training
    yield
    autograd.training = was


def train_cnn(steps, use_graph, sequential=False, batch=8):
    dev = device.get_default_device()
    dev.set_rand_seed(0)
    m = CNN()
    m.optimizer = opt.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4)
    tx = tensor.Tensor((batch, 1, 28, 28), dev, tensor.float32)
    ty = tensor.Tensor((batch,), dev, tensor.int32)
    m.compile([tx], is_train=True, use_graph=use_graph, sequential=sequential)
    losses = []
    for b in range(steps):
        x, y = mnist_batch(b, batch_size=batch, one_hot=False)
        tx.copy_from_numpy(x)
        ty.copy_from_numpy(y)
        _, loss = m(tx, ty)
        losses.append(float(loss.to_numpy()[0]))
    return m, losses


@pytest.mark.parametrize("sequential", [True, False])
def test_cnn_graph_and_eager_training_give_the_same_states(sequential):
    m_e, loss_e = train_cnn(5, use_graph=False)
    m_g, loss_g = train_cnn(5, use_graph=True, sequential=sequential)
    np.testing.assert_allclose(loss_g, loss_e, rtol=1e-5)
    se = {k: v.to_numpy() for k, v in m_e.get_states().items()}
    sg = {k: v.to_numpy() for k, v in m_g.get_states().items()}
    assert se.keys() == sg.keys()
    assert {"bn1.running_mean", "bn1.running_var"} <= set(sg)
    for k in se:   # running statistics included: they move in the replayed step too
        np.testing.assert_allclose(sg[k], se[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_cnn_eval_after_graph_training_uses_the_trained_states():
    m, _ = train_cnn(3, use_graph=True)
    m.eval()
    x, _ = mnist_batch(0, batch_size=4, one_hot=False)
    out = m(Tensor(data=x))
    assert out.shape == (4, 10) and np.isfinite(out.to_numpy()).all()
