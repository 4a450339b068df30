"""The example networks, written with minisinga's Model API (SINGA's style).

``MLP``: 784 -> 256 -> 10 with ReLU.  ``CNN``: SINGA's LeNet-like example
(two 5x5 convolutions with max pooling, then two fully connected layers).
Both take NCHW float32 images and int32 class indices.  ``train_one_batch`` takes
SINGA's ``dist_option`` and ``spars`` too (minisinga/dist.py: ``train_step``), as
SINGA's examples do; with a plain optimizer only ``'plain'`` applies.
"""
from minisinga import dist, layer, model


class MLP(model.Model):
    """A two-layer perceptron; ``layer.Linear`` flattens the (N, 1, 28, 28) images."""

    def __init__(self, hidden: int = 256, num_classes: int = 10):
        super().__init__()
        self.linear1 = layer.Linear(hidden)
        self.relu = layer.ReLU()
        self.linear2 = layer.Linear(num_classes)
        self.softmax_cross_entropy = layer.SoftMaxCrossEntropy()

    def forward(self, x):
        return self.linear2(self.relu(self.linear1(x)))

    def train_one_batch(self, x, y, dist_option="plain", spars=None):
        out = self.forward(x)
        loss = self.softmax_cross_entropy(out, y)
        dist.train_step(self.optimizer, loss, dist_option, spars)
        return out, loss

    def set_optimizer(self, optimizer):
        self.optimizer = optimizer


class CNN(model.Model):
    """conv(20, 5) - relu - maxpool(2) - conv(50, 5) - relu - maxpool(2) - fc(500) - relu - fc(10)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = layer.Conv2d(20, 5)
        self.relu1 = layer.ReLU()
        self.pool1 = layer.MaxPool2d(2, 2)
        self.conv2 = layer.Conv2d(50, 5)
        self.relu2 = layer.ReLU()
        self.pool2 = layer.MaxPool2d(2, 2)
        self.flatten = layer.Flatten()
        self.linear1 = layer.Linear(500)
        self.relu3 = layer.ReLU()
        self.linear2 = layer.Linear(num_classes)
        self.softmax_cross_entropy = layer.SoftMaxCrossEntropy()

    def forward(self, x):
        y = self.pool1(self.relu1(self.conv1(x)))
        y = self.pool2(self.relu2(self.conv2(y)))
        y = self.relu3(self.linear1(self.flatten(y)))
        return self.linear2(y)

    def train_one_batch(self, x, y, dist_option="plain", spars=None):
        out = self.forward(x)
        loss = self.softmax_cross_entropy(out, y)
        dist.train_step(self.optimizer, loss, dist_option, spars)
        return out, loss

    def set_optimizer(self, optimizer):
        self.optimizer = optimizer


MODELS = {"mlp": MLP, "cnn": CNN}
