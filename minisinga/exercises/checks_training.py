"""Checks of the training chapters: layers and optimizers."""
from __future__ import annotations

import numpy as np

from .. import autograd, layer, opt
from ._registry import ExerciseFailed, exercise
from ._util import close, equal, t64

LAYERS = "ch16_layers.py"
OPT = "ch17_optimizers.py"


def _layer(ws, name):
    cls = ws.get(LAYERS, name)
    if not (isinstance(cls, type) and issubclass(cls, layer.Layer)):
        raise ExerciseFailed(f"{name} must be a subclass of layer.Layer")
    return cls


@exercise("layers.2", "layers.md", "A layer with lazily made parameters: Scale", LAYERS,
          ["Scale"],
          hint="in initialize(x) make self.gamma (ones) and self.beta (zeros) of shape "
               "(x.shape[1],) as Tensors with requires_grad=True, stores_grad=True (then "
               "get_params finds them); forward returns x * gamma + beta (autograd ops)")
def _(ws):
    cls = _layer(ws, "Scale")
    rng = np.random.default_rng(30)
    x = rng.standard_normal((4, 3))
    lay = cls()
    old = autograd.training
    autograd.training = True
    try:
        y0 = lay(t64(x, grad=False)).to_numpy()
        close(y0, x, "Scale's output right after initialisation (gamma = 1, beta = 0)")
        equal(sorted(lay.get_params()), ["beta", "gamma"], "the names in get_params()")
        g, b = rng.standard_normal(3), rng.standard_normal(3)
        lay.set_params({"gamma": g, "beta": b})
        xt = t64(x, grad=False)
        y = lay(xt)
        close(y.to_numpy(), x * g + b, "Scale's output after set_params")
        dy = rng.standard_normal((4, 3))
        got = {p.name: gr.to_numpy() for p, gr in autograd.backward(y, t64(dy, grad=False))}
    finally:
        autograd.training = old
    if set(got) != {"gamma", "beta"}:
        raise ExerciseFailed(f"backward reached the parameters {sorted(got)}, expected "
                             "['beta', 'gamma']")
    close(got["gamma"], (dy * x).sum(axis=0), "dL/dgamma")
    close(got["beta"], dy.sum(axis=0), "dL/dbeta")


@exercise("layers.3", "layers.md", "Compose layers: a residual block", LAYERS, ["Residual"],
          hint="sublayers assigned as attributes get dotted names: self.fc1 = "
               "layer.Linear(hidden) in __init__, self.fc2 = layer.Linear(x.shape[1]) in "
               "initialize; forward returns x + fc2(relu(fc1(x))), the skip is the point")
def _(ws):
    cls = _layer(ws, "Residual")
    rng = np.random.default_rng(31)
    x = rng.standard_normal((5, 4))
    lay = cls(6)
    lay(t64(x, grad=False))
    params = lay.get_params()
    equal(sorted(params), ["fc1.W", "fc1.b", "fc2.W", "fc2.b"], "the names in get_params()")
    vals = {"fc1.W": rng.standard_normal((4, 6)), "fc1.b": rng.standard_normal(6),
            "fc2.W": rng.standard_normal((6, 4)), "fc2.b": rng.standard_normal(4)}
    lay.set_params(vals)
    want = x + np.maximum(x @ vals["fc1.W"] + vals["fc1.b"], 0) @ vals["fc2.W"] + vals["fc2.b"]
    close(lay(t64(x, grad=False)).to_numpy(), want, "Residual's output")


@exercise("layers.1", "layers.md", "Parameters and states: count what trains", LAYERS,
          ["count_parameters"],
          hint="sum t.size() over layer.get_params().values(): the parameters only; "
               "get_states() adds BatchNorm's running mean and variance, which do not train")
def _(ws):
    fn = ws.get(LAYERS, "count_parameters")
    rng = np.random.default_rng(34)

    class Net(layer.Layer):
        def __init__(self):
            super().__init__()
            self.conv = layer.Conv2d(4, 3, padding=1)
            self.bn = layer.BatchNorm2d(4)
            self.fc = layer.Linear(5)

        def forward(self, x):
            return self.fc(autograd.relu(self.bn(self.conv(x))))

    net = Net()
    old = autograd.training
    autograd.training = True
    try:
        net(t64(rng.standard_normal((2, 2, 6, 6)), grad=False))
    finally:
        autograd.training = old
    # conv: 4*2*3*3 + 4; bn: scale 4 + bias 4; fc: 4*6*6*5 + 5
    want = sum(t.size() for t in net.get_params().values())
    equal(int(fn(net)), want, "count_parameters(Conv2d(4, 3) -> BatchNorm2d -> Linear(5))")


def _run_rule(make, steps=3):
    """Three steps of a minisinga optimizer and of the student's rule, same gradients."""
    rng = np.random.default_rng(32)
    p0 = rng.standard_normal((3, 4))
    gs = [rng.standard_normal((3, 4)) for _ in range(steps)]
    optimizer = make()
    p = t64(p0)
    for g in gs:
        optimizer.apply("w", p, t64(g, grad=False))
        optimizer.step()
    return p0, gs, p.to_numpy()


@exercise("optimizers.1", "optimizers.md", "SGD with momentum, dampening and weight decay",
          OPT, ["sgd_step"],
          hint="g' = g + weight_decay p; buf = momentum buf + (1 - dampening) g'; "
               "p = p - lr buf (SINGA's buffer starts at zeros)")
def _(ws):
    fn = ws.get(OPT, "sgd_step")
    kw = dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)
    p0, gs, want = _run_rule(lambda: opt.SGD(**kw))
    p, buf = p0.copy(), np.zeros_like(p0)
    for i, g in enumerate(gs):
        p, buf = fn(p, g.copy(), buf, **kw)
        p, buf = np.asarray(p), np.asarray(buf)
        if i == 0:
            first = p.copy()
    p1 = _run_rule(lambda: opt.SGD(**kw), steps=1)[2]
    close(first, p1, f"p after the first step ({kw})")
    close(p, want, "p after three steps")


@exercise("optimizers.2", "optimizers.md", "Adam, with bias correction", OPT, ["adam_step"],
          hint="m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; with t the step number "
               "(1 for the first), p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)")
def _(ws):
    fn = ws.get(OPT, "adam_step")
    kw = dict(lr=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    p0, gs, want = _run_rule(lambda: opt.Adam(**kw))
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(gs, start=1):
        p, m, v = (np.asarray(a) for a in fn(p, g.copy(), m, v, t, **kw))
    close(p, want, "p after three Adam steps", rtol=1e-6, atol=1e-10)


@exercise("optimizers.3", "optimizers.md", "A new optimizer: signSGD", OPT, ["SignSGD"],
          hint="subclass opt.Optimizer and write apply(name, param, grad): "
               "p -= lr * sign(g), with kernels: s = backend.unary('sign_forward', g.data); "
               "backend.axpy(param.data, s, -lr), lr = float(self.lr_value.to_numpy()[0])")
def _(ws):
    cls = ws.get(OPT, "SignSGD")
    if not (isinstance(cls, type) and issubclass(cls, opt.Optimizer)):
        raise ExerciseFailed("SignSGD must be a subclass of opt.Optimizer")
    p0, gs, got = _run_rule(lambda: cls(lr=opt.ExponentialDecay(0.1, 1, 0.5)))
    p = p0.copy()
    for step, g in enumerate(gs):
        p = p - 0.1 * 0.5 ** step * np.sign(g)
    close(got, p, "p after three steps of SignSGD(lr=ExponentialDecay(0.1, 1, 0.5)): "
          "lr 0.1, 0.05, 0.025")
    # And it trains a model through autograd: optimizer(loss).
    rng = np.random.default_rng(33)
    x, w_true = rng.standard_normal((16, 3)), np.array([[1.0], [-2.0], [0.5]])
    w = t64(np.zeros((3, 1)))
    sgd = cls(lr=0.05)
    old = autograd.training
    autograd.training = True
    try:
        losses = []
        for _ in range(20):
            loss = autograd.mse_loss(autograd.matmul(t64(x, False), w), t64(x @ w_true, False))
            losses.append(float(loss.to_numpy()[0]))
            sgd(loss)
    finally:
        autograd.training = old
    if not losses[-1] < 0.5 * losses[0]:
        raise ExerciseFailed(f"optimizer(loss) did not train a linear model: loss "
                             f"{losses[0]:.3f} -> {losses[-1]:.3f} in 20 steps")
