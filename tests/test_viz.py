"""minisinga.viz: the graph it draws is the graph autograd recorded."""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from minisinga import autograd, layer, model, tensor, viz

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _training():
    old = autograd.training
    autograd.training = True
    yield
    autograd.training = old


def _param(a, name):
    t = tensor.Tensor(data=np.asarray(a, np.float32), requires_grad=True, stores_grad=True)
    t.name = name
    return t


def _nodes(dot):
    """{node id: (attributes text, label)} from DOT text."""
    out = {}
    for m in re.finditer(r'^\s*(\w+) \[(.*), label="((?:[^"\\]|\\.)*)"\];$', dot, re.M):
        out[m.group(1)] = (m.group(2), m.group(3).replace("\\n", "\n"))
    return out


def _edges(dot):
    return re.findall(r"^\s*(\w+) -> (\w+);$", dot, re.M)


def _small_graph():
    """y = relu(x @ W + b) with x data (4, 3), W (3, 2), b (2,)."""
    x = tensor.Tensor(data=np.ones((4, 3), np.float32), requires_grad=False)
    x.name = "x"
    w = _param(np.full((3, 2), 0.5), "W")
    b = _param(np.zeros(2), "b")
    y = autograd.relu(autograd.add_bias(autograd.matmul(x, w), b))
    return x, w, b, y


def test_to_dot_has_every_op_tensor_and_edge():
    _, w, b, y = _small_graph()
    dot = viz.to_dot(y)
    nodes = _nodes(dot)
    ops = {k: lab for k, (attrs, lab) in nodes.items() if "ellipse" in attrs}
    tensors = {k: lab for k, (attrs, lab) in nodes.items() if "shape=box" in attrs}
    assert sorted(ops.values()) == ["AddBias", "Matmul", "ReLU"]
    # x, W, b, and the outputs of the three operations
    assert len(tensors) == 6
    labels = sorted(tensors.values())
    assert "x\n(4, 3) float32" in labels
    assert "W\n(3, 2) float32\nparameter" in labels
    assert "b\n(2,) float32\nparameter" in labels
    assert labels.count("(4, 2) float32") == 3
    edges = _edges(dot)
    assert len(edges) == 3 + 2 + 2 + 1        # outputs, matmul's and add_bias's inputs, relu's
    by_label = {lab: k for k, lab in ops.items()}
    into = {op: sorted(tensors[a].split("\n")[0] for a, b_ in edges if b_ == k)
            for op, k in by_label.items()}
    assert into["Matmul"] == ["W", "x"]
    assert into["AddBias"] == ["(4, 2) float32", "b"]
    assert into["ReLU"] == ["(4, 2) float32"]
    # every operation has exactly one output edge, to a tensor
    for k in ops:
        outs = [b_ for a, b_ in edges if a == k]
        assert len(outs) == 1 and outs[0] in tensors


def test_parameters_are_marked_and_data_is_not():
    _, _, _, y = _small_graph()
    nodes = _nodes(viz.to_dot(y))
    params = [lab.split("\n")[0] for attrs, lab in nodes.values() if "peripheries=2" in attrs]
    assert sorted(params) == ["W", "b"]


def test_gradient_norms_after_backward():
    x = _param([3.0], "a")
    c = (x + x) + (x + x)
    dot = viz.to_dot(c, show_grad=True)           # runs autograd.gradients itself
    assert "|grad| = 4" in dot
    # the dict of a backward pass already run
    _, w, b, y = _small_graph()
    grads = autograd.gradients(y)
    norm_w = float(np.linalg.norm(grads[w].to_numpy()))
    dot = viz.to_dot(y, show_grad=grads)
    assert f"|grad| = {norm_w:.4g}" in dot
    assert norm_w == pytest.approx(np.sqrt(6 * 4.0 ** 2))   # dW = x^T 1: every entry 4
    with pytest.raises(TypeError, match="show_grad"):
        viz.to_dot(y, show_grad=[1])


def test_a_plus_a_keeps_both_edges():
    a = _param([3.0], "a")
    b = a + a
    edges = _edges(viz.to_dot(b))
    leaf = [k for k, (_, lab) in _nodes(viz.to_dot(b)).items() if lab.startswith("a\n")][0]
    assert sum(1 for e in edges if e[0] == leaf) == 2


def test_svg_is_valid_and_has_the_labels(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)   # no Graphviz
    _, _, _, y = _small_graph()
    path = viz.draw(y, tmp_path / "g.svg")
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    groups = root.findall(f"{SVG}g")
    kinds = [g.get("class") for g in groups]
    assert kinds.count("node op") == 3 and kinds.count("node param") == 2
    assert kinds.count("node tensor") == 4
    texts = [t.text for t in root.iter(SVG + "text")]
    assert {"Matmul", "AddBias", "ReLU", "W", "x", "parameter"} <= set(texts)
    assert len(root.findall(f"{SVG}polyline")) == 8
    width = float(root.get("width"))
    for el in root.iter():          # everything is drawn inside the picture
        for attr in ("x", "cx"):
            if el.get(attr) is not None:
                assert 0 <= float(el.get(attr)) <= width


def test_layout_puts_inputs_above_their_operation():
    _, _, _, y = _small_graph()
    g = viz._build(y)
    boxes, _, _, _ = viz._layout(g)
    for a, b in g.edges:
        assert boxes[a][1] < boxes[b][1], (a, b)


def test_png_without_dot_or_matplotlib_writes_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import fails
    _, _, _, y = _small_graph()
    with pytest.raises(RuntimeError, match=r"dot -Tpng .*g\.dot -o .*g\.png"):
        viz.draw(y, tmp_path / "g.png")
    assert (tmp_path / "g.dot").read_text().startswith("digraph minisinga {")
    assert not (tmp_path / "g.png").exists()


def test_png_with_matplotlib_and_no_dot(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="matplotlib (the examples extra) draws the PNG")
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    _, _, _, y = _small_graph()
    path = viz.draw(y, tmp_path / "g.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_dot_binary_is_used_when_present(tmp_path):
    if viz.shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    _, _, _, y = _small_graph()
    root = ET.parse(viz.draw(y, tmp_path / "g.svg")).getroot()
    assert "Matmul" in [t.text for t in root.iter(SVG + "text")]
    with pytest.raises(RuntimeError, match="not on PATH"):
        import unittest.mock
        with unittest.mock.patch.object(viz.shutil, "which", lambda name: None):
            viz.draw(y, tmp_path / "h.svg", engine="dot")


def test_bad_arguments_are_refused(tmp_path):
    _, _, _, y = _small_graph()
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot"):
        viz.draw(y, tmp_path / "g.pdf")
    with pytest.raises(ValueError, match="engine"):
        viz.draw(y, tmp_path / "g.svg", engine="neato")
    with pytest.raises(TypeError, match="must be a Tensor"):
        viz.to_dot(np.ones(3))
    autograd.training = False
    z = autograd.relu(tensor.Tensor(data=np.ones(3, np.float32)))
    with pytest.raises(ValueError, match="autograd.training = True"):
        viz.to_dot(z)


class _Net(model.Model):
    def __init__(self):
        super().__init__()
        self.fc1 = layer.Linear(4)
        self.act = layer.ReLU()
        self.fc2 = layer.Linear(2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_draw_model_groups_the_operations_by_layer():
    net = _Net()
    tx = tensor.Tensor((5, 3), requires_grad=False).set_value(1.0)
    with pytest.raises(ValueError, match="not compiled"):
        viz.draw_model(net)
    net.compile([tx], is_train=True)
    before = {k: v.to_numpy().copy() for k, v in net.get_states().items()}
    dot = viz.model_to_dot(net)
    clusters = re.findall(r'subgraph cluster_\d+ \{\n\s*label="(\w+)";[^\n]*\n((?:\s+\w+ \[.*\n)+)',
                          dot)
    members = {name: re.findall(r'label="([^"\\]*)', body) for name, body in clusters}
    assert sorted(members) == ["act", "fc1", "fc2"]
    assert sorted(members["fc1"]) == ["AddBias", "Matmul"]
    assert members["act"] == ["ReLU"]
    assert sorted(members["fc2"]) == ["AddBias", "Matmul"]
    assert "fc1.W\\n(3, 4) float32\\nparameter" in dot
    svg = viz.draw_model(net)
    root = ET.fromstring(svg)
    assert {"fc1", "act", "fc2"} <= {t.text for t in root.iter(SVG + "text")}
    # the model is as it was: its states, and Layer.forward is the class's again
    after = {k: v.to_numpy() for k, v in net.get_states().items()}
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert "forward" not in net.fc1.__dict__
    with pytest.raises(TypeError, match="Model"):
        viz.draw_model(layer.ReLU())


def test_import_minisinga_needs_neither_graphviz_nor_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None; sys.modules['graphviz'] = None\n"
            "import minisinga, minisinga.viz\n"
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
