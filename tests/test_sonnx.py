"""minisinga.sonnx: export checked by onnxruntime, import checked by ONNX's own
conformance cases (tests/sonnx_conformance.py, exclusions in
tests/sonnx_exclusions.py), and fine-tuning an imported model.

Skipped, with the reason, where onnx or onnxruntime is not installed; .ci/run
installs ".[onnx]" and runs this file explicitly.  Cost on the 2-core dev box:
about 1.5 minutes, most of it collecting the 1,884 node cases and running the
nine light networks (see docs/onnx.md#conformance).
"""
import functools
import os
import re
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="sonnx needs the optional onnx package "
                                          "(pip install -e \".[onnx]\")")
ort = pytest.importorskip("onnxruntime", reason="the round trips need onnxruntime "
                                                "(pip install -e \".[onnx]\")")

from minisinga import autograd, layer, model, opt, sonnx, tensor  # noqa: E402
from minisinga.testing import REGISTRY  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import sonnx_conformance as conf  # noqa: E402
from sonnx_exclusions import EXCLUDED, REASONS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))
from models import CNN, MLP  # noqa: E402


def _ort(onnx_model, arrays):
    sess = ort.InferenceSession(onnx_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, arrays)))


# ---------------------------------------------------------------------- round trips
class LSTMNet(model.Model):
    """A two-layer bidirectional LSTM and a linear head over every step."""

    def __init__(self):
        super().__init__()
        self.lstm = layer.LSTM(5, 7, num_layers=2, bidirectional=True)
        self.fc = layer.Linear(3)

    def forward(self, x):
        y, _ = self.lstm(x)
        seq, batch, width = y.shape
        return self.fc(autograd.reshape(y, (seq * batch, width)))


class AttentionNet(model.Model):
    """Masked multi-head attention followed by layer norm."""

    def __init__(self):
        super().__init__()
        self.mha = layer.MultiHeadAttention(8, 2)
        self.norm = layer.LayerNorm(8)

    def forward(self, q, kv):
        mask = np.triu(np.ones((q.shape[1], kv.shape[1])), 1) > 0
        return self.norm(self.mha(q, kv, kv, mask=mask))


class BNNet(model.Model):
    """conv - batch norm - relu - avg pool - dropout - linear (evaluation form)."""

    def __init__(self):
        super().__init__()
        self.conv = layer.Conv2d(4, 3, padding=1)
        self.bn = layer.BatchNorm2d()
        self.pool = layer.AvgPool2d(2, 2)
        self.drop = layer.Dropout(0.3)
        self.fc = layer.Linear(5)

    def forward(self, x):
        y = self.pool(autograd.relu(self.bn(self.conv(x))))
        return self.fc(self.drop(autograd.flatten(y)))


ROUND_TRIPS = {
    "mlp": (MLP, [(4, 1, 28, 28)]),
    "cnn": (CNN, [(4, 1, 28, 28)]),
    "lstm": (LSTMNet, [(6, 3, 5)]),
    "attention": (AttentionNet, [(2, 4, 8), (2, 6, 8)]),
    "batchnorm": (BNNet, [(3, 2, 8, 8)]),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_round_trip_through_onnxruntime(name):
    cls, shapes = ROUND_TRIPS[name]
    rng = np.random.default_rng(1)
    xs = [tensor.from_numpy(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    net = cls()
    net.compile(xs, is_train=False)
    if name == "batchnorm":  # running statistics that are not 0 / 1
        net.bn.running_mean.copy_from_numpy(rng.standard_normal(4).astype(np.float32))
        net.bn.running_var.copy_from_numpy(rng.uniform(0.5, 2, 4).astype(np.float32))
    expected = net.forward(*xs).to_numpy()
    onnx_model = sonnx.export(net, xs)
    onnx.checker.check_model(onnx_model)
    assert onnx_model.opset_import[0].version == sonnx.OPSET
    (got,) = _ort(onnx_model, [x.to_numpy() for x in xs])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # and back: minisinga runs its own export
    (back,) = sonnx.prepare(onnx_model).run([x.to_numpy() for x in xs])
    np.testing.assert_allclose(back, expected, rtol=0, atol=1e-5)


def test_export_records_in_evaluation_form():
    # export must not move batch norm's running statistics nor apply dropout
    net = BNNet()
    x = tensor.from_numpy(np.random.default_rng(0).standard_normal((3, 2, 8, 8)).astype(
        np.float32))
    net.compile([x], is_train=True)
    before = net.bn.running_mean.to_numpy().copy()
    sonnx.export(net, [x])
    np.testing.assert_array_equal(net.bn.running_mean.to_numpy(), before)
    assert autograd.training is True and autograd.recording is False  # restored


def test_to_onnx_of_a_graph_recorded_by_hand():
    # SINGA's way: record with autograd.training, then to_onnx(inputs, outputs)
    x = tensor.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    w = tensor.Tensor(data=np.ones((3, 2), np.float32), stores_grad=True, name="w")
    old = autograd.training
    autograd.training = True
    try:
        y = autograd.relu(autograd.matmul(x, w) - 4.0)
    finally:
        autograd.training = old
    m = sonnx.to_onnx([x], [y])
    assert [n.op_type for n in m.graph.node] == ["MatMul", "Sub", "Relu"]
    assert "w" in {i.name for i in m.graph.initializer}
    (got,) = _ort(m, [x.to_numpy()])
    np.testing.assert_allclose(got, y.to_numpy())


def test_to_onnx_refuses_an_unrecorded_output():
    x = tensor.from_numpy(np.ones((2, 2), np.float32))
    y = autograd.relu(x)  # autograd.training is False: nothing recorded
    with pytest.raises(ValueError, match="no recorded creator"):
        sonnx.to_onnx([x], [y])


def test_an_operation_without_onnx_equivalent_is_named():
    x = tensor.from_numpy(np.ones((2, 3), np.float32))
    t = tensor.from_numpy(np.array([0, 2], np.int32))
    old = autograd.training
    autograd.training = True
    try:
        loss = autograd.softmax_cross_entropy(autograd.relu(x), t)
    finally:
        autograd.training = old
    with pytest.raises(sonnx.NotExportableError, match=r"SoftMaxCrossEntropy#\d+.*a loss"):
        sonnx.to_onnx([x], [loss])


# ---------------------------------------------------------------------- every registered op
EXPORT_CASES = [(name, i) for name, info in sorted(REGISTRY.items())
                for i in range(len(info.samples(np.random.default_rng(0))))]
# Operations with no ONNX equivalent: export must refuse them by name.
NOT_EXPORTABLE = {"softmax_cross_entropy", "cross_entropy", "binary_cross_entropy",
                  "mse_loss", "cossim", "ranking_loss"}
# Samples outside what ONNX defines: export must refuse them by name too.
NOT_EXPORTABLE_SAMPLES = {("pad", 3): "reflect padding wider than the axis (ONNX: undefined)"}


def _as_f32(a):
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype.kind == "f" else a


@pytest.mark.parametrize("name, i", EXPORT_CASES)
def test_every_registered_operation_exports_and_onnxruntime_agrees(name, i):
    info = REGISTRY[name]
    sample = info.samples(np.random.default_rng(0))[i]
    arrays = [_as_f32(a) for a in sample.args]
    xs = [tensor.Tensor(data=a, requires_grad=a.dtype.kind == "f") for a in arrays]
    fn = functools.partial(info.fn, **sample.kwargs)
    old = autograd.training, autograd.recording
    autograd.training, autograd.recording = False, True
    try:
        out = fn(*xs)
    finally:
        autograd.training, autograd.recording = old
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if name in NOT_EXPORTABLE or (name, i) in NOT_EXPORTABLE_SAMPLES:
        with pytest.raises(sonnx.NotExportableError, match="cannot be exported"):
            sonnx.to_onnx(xs, outs)
        return
    m = sonnx.to_onnx(xs, outs)
    got = _ort(m, arrays)
    for g, y in zip(got, outs):
        want = y.to_numpy()
        assert g.shape == want.shape, f"{name}: {g.shape} vs {want.shape}"
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_every_operation_class_has_an_exporter_or_a_reason():
    from minisinga.sonnx.export import EXPORTERS, NO_ONNX_EQUIVALENT
    classes = {cls for info in REGISTRY.values() for cls in info.ops}
    missing = sorted(c.__name__ for c in classes
                     if c not in EXPORTERS and c not in NO_ONNX_EQUIVALENT)
    assert not missing, f"Operations with neither an exporter nor a stated reason: {missing}"


# ---------------------------------------------------------------------- import
def test_unsupported_operator_is_named_with_its_node():
    node = onnx.helper.make_node("Hardmax", ["x"], ["y"], name="hm1")
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    with pytest.raises(NotImplementedError, match="Hardmax node 'hm1'"):
        sonnx.prepare(onnx.helper.make_model(graph))


def test_unsupported_attribute_is_named_before_a_wrong_result():
    node = onnx.helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2],
                                 ceil_mode=1)
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT,
                                                         [1, 1, 5, 5])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 1, 2, 2])])
    rep = sonnx.prepare(onnx.helper.make_model(graph))
    with pytest.raises(NotImplementedError, match="MaxPool node 'p': ceil_mode=1"):
        rep.run([np.zeros((1, 1, 5, 5), np.float32)])


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_follows_the_models_opset(opset):
    # before 13, Softmax(axis=1) of (2, 3, 4) normalises over the 12 values of each row
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    node = onnx.helper.make_node("Softmax", ["x"], ["y"], axis=1)
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, x.shape)])
    m = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)])
    (got,) = sonnx.prepare(m).run([x])
    e = np.exp(x - x.max())
    want = e / e.sum(axis=1, keepdims=True) if opset >= 13 else \
        e / e.reshape(2, -1).sum(axis=1).reshape(2, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_singa_backend_plugs_into_onnx_backend_test():
    import unittest

    import onnx.backend.test
    pattern = r"^test_(relu|softmax_axis_0|conv_with_strides_padding)_cpu$"
    suite_maker = onnx.backend.test.BackendTest(sonnx.SingaBackend, "sonnx_bt").include(pattern)
    cls = suite_maker.tests  # (the others are marked skipped; run only the included three)
    names = [n for n in unittest.defaultTestLoader.getTestCaseNames(cls) if re.search(pattern, n)]
    suite = unittest.TestSuite([cls(n) for n in names])
    result = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(suite)
    assert result.testsRun == 3 and result.wasSuccessful() and not result.skipped, \
        (result.failures, result.errors)


def test_sonnx_model_trains_its_imported_parameters():
    rng = np.random.default_rng(0)
    net = MLP(hidden=16)
    x = tensor.from_numpy(rng.standard_normal((8, 1, 28, 28)).astype(np.float32))
    net.compile([x], is_train=False)
    imported = sonnx.SONNXModel(sonnx.export(net, [x]))
    params = imported.get_params()
    assert len(params) == 4 and all(p.stores_grad for p in params.values())
    np.testing.assert_allclose(imported.forward(x).to_numpy(), net.forward(x).to_numpy(),
                               atol=1e-6)
    y = tensor.from_numpy(rng.integers(0, 10, 8).astype(np.int32))
    sgd = opt.SGD(lr=0.1)
    imported.train()
    losses = []
    for _ in range(5):
        loss = autograd.softmax_cross_entropy(imported.forward(x), y)
        sgd(loss)
        losses.append(float(loss.to_numpy().reshape(-1)[0]))
    imported.eval()
    assert losses[-1] < losses[0] - 0.1, losses


# ---------------------------------------------------------------------- conformance
CASES = {c.name: c for c in conf.all_cases()}


def test_the_exclusion_list_names_real_cases_with_a_reason():
    stale = sorted(set(EXCLUDED) - set(CASES))
    assert not stale, f"exclusions naming no case: {stale}"
    assert set(EXCLUDED.values()) <= set(REASONS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnx_conformance(name):
    case = CASES[name]
    if name in EXCLUDED:
        # An exclusion must be an explicit refusal, never a wrong answer.
        with pytest.raises(NotImplementedError):
            conf.run_case(case)
        return
    conf.run_case(case)


def test_every_light_network_is_run():
    assert {n for n, c in CASES.items() if c.kind == "light"} == \
        {f"test_{net}" for net in conf.LIGHT}
    assert not {f"test_{net}" for net in conf.LIGHT} & set(EXCLUDED)


@pytest.mark.parametrize("net", conf.LIGHT)
def test_light_network_logits_match_onnxruntime(net):
    # The light networks' weights are all 0.02, so most end in a uniform softmax
    # (every class 0.001): the expected output checks the plumbing more than the
    # numbers.  The logits feeding the softmax (up to 1e31 in VGG-19) check the
    # numbers: minisinga and onnxruntime agree to 1e-4 of their largest value.
    (case,) = [c for c in conf.light_cases() if c.name == f"test_{net}"]
    model, [(feeds, _)] = case.load()
    last = model.graph.node[-1]
    name = last.input[0] if last.op_type == "Softmax" else last.output[0]
    ours = sonnx.prepare(model).run(feeds, aux_output=(name,))[-1]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    if name not in {o.name for o in probe.graph.output}:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(
            name, onnx.TensorProto.FLOAT, None))
    inits = {i.name for i in probe.graph.initializer}
    inputs = [i.name for i in probe.graph.input if i.name not in inits]
    options = ort.SessionOptions()
    options.log_severity_level = 3  # (onnxruntime warns about unused initializers)
    sess = ort.InferenceSession(probe.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    (theirs,) = sess.run([name], dict(zip(inputs, feeds)))
    assert ours.shape == theirs.shape
    scale = float(np.abs(theirs).max())
    assert scale > 0 and np.isfinite(scale)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * scale)


# ---------------------------------------------------------------------- the example
def test_finetune_example_runs(tmp_path):
    script = os.path.join(ROOT, "examples", "onnx_finetune.py")
    out = subprocess.run([sys.executable, script, "--epochs", "1", "--steps", "3",
                          "--train-limit", "256", "--out", str(tmp_path / "cnn.onnx")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "onnxruntime agrees" in out.stdout
    assert os.path.exists(tmp_path / "cnn.onnx")
    accs = [float(line.rsplit(" ", 1)[1]) for line in out.stdout.splitlines()
            if line.startswith("accuracy")]
    assert len(accs) == 3 and all(0.0 <= a <= 1.0 for a in accs), out.stdout


# ---------------------------------------------------------------------- optional dependency
def test_import_minisinga_never_imports_onnx():
    code = "import sys, minisinga; assert 'onnx' not in sys.modules, 'onnx was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_sonnx_without_onnx_says_what_to_install():
    code = ("import sys; sys.modules['onnx'] = None\n"
            "try:\n    import minisinga.sonnx\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert "pip install" in out.stdout and "onnx" in out.stdout, out.stdout


def test_run_returns_named_intermediate_values():
    net = MLP(hidden=4)
    x = tensor.from_numpy(np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(
        np.float32))
    net.compile([x], is_train=False)
    m = sonnx.export(net, [x])
    relu = next(n for n in m.graph.node if n.op_type == "Relu")
    out, hidden = sonnx.prepare(m).run([x.to_numpy()], aux_output=(relu.output[0],))
    assert hidden.shape == (2, 4) and (hidden >= 0).all()
    np.testing.assert_allclose(out, net.forward(x).to_numpy(), atol=1e-6)
    with pytest.raises(KeyError, match="no value named"):
        sonnx.prepare(m).run([x.to_numpy()], aux_output=("nowhere",))
