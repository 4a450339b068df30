"""mkdocs hook: the figures of every chapter, drawn from the real code at build time.

Each function below makes one SVG figure, ``figures/<name>.svg`` in the built
site, and is registered with ``@figure``.  They compute with minisinga itself
(its kernels, its autograd, ``minisinga.viz``) or read the numbers that the
chapters already print (the ladder's and the benchmarks' tables are parsed from
their Markdown), so a figure cannot drift from the code or from the text.
Nothing is committed as a binary, nothing is fetched, nothing is trained for
more than a second.  Charts and pictures use matplotlib (the ``docs`` extra);
graphs use ``minisinga.viz``'s own SVG renderer, so the figures are the same on
machines with and without Graphviz.

A chapter shows a figure with::

    <figure markdown>
    ![alt text](figures/name.svg)
    <figcaption>What to look at.</figcaption>
    </figure>

``python docs/hooks/figures.py OUT_DIR`` writes them all to a folder and prints
the time each took.
"""
from __future__ import annotations

import io
import re
import shlex
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES: dict[str, object] = {}     # name -> function returning SVG text


def figure(fn):
    """Register ``fn`` as the maker of ``figures/<fn name with - for _>.svg``."""
    FIGURES[fn.__name__.replace("_", "-")] = fn
    return fn


# ----------------------------------------------------------------------------- helpers
def _plt():
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("docs/hooks/figures.py: the figures need matplotlib; install the "
                           'docs extra: pip install -e ".[docs]"') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "minisinga",
                         "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def _svg(fig) -> str:
    """The figure as SVG text (no date, so builds are reproducible)."""
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def _grid(ax, a, title, fmt="{:g}", cmap="Blues", highlight=None):
    """A matrix as coloured cells with their numbers (a (H, W) array)."""
    import numpy as np
    a = np.asarray(a, dtype=float)
    ax.imshow(a, cmap=cmap, vmin=min(a.min(), 0), vmax=max(a.max(), 1e-9) * 1.6)
    for (i, j), v in np.ndenumerate(a):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8)
    if highlight is not None:
        for i, j in highlight:
            ax.add_patch(_plt().Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2,
                                          ec="#d84315"))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _panels(arrays, width=2.2, height=2.4, cmap="Blues"):
    """One row of ``_grid`` panels: arrays is a list of (array, title[, fmt])."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(arrays), figsize=(width * len(arrays), height))
    for ax, item in zip(axes, arrays):
        _grid(ax, *item, cmap=cmap)
    return fig


def _table(md_path: str, header_start: str) -> list[list[str]]:
    """The rows of the first Markdown table whose header starts with ``header_start``."""
    lines = (ROOT / "docs" / md_path).read_text().splitlines()
    for k, line in enumerate(lines):
        if line.startswith(header_start):
            rows = []
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise RuntimeError(f"figures: no table starting {header_start!r} in docs/{md_path}")


def _t(a, dtype=None, grad=False):
    import numpy as np

    from minisinga import tensor
    a = np.asarray(a)
    if dtype is None and a.dtype == np.float64:   # (Tensor would make it float32)
        dtype = tensor.float64
    return tensor.Tensor(data=a, dtype=dtype, requires_grad=grad, stores_grad=grad)


def _example_models():
    """examples/models.py, the networks of the examples (MLP, CNN)."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import models
    finally:
        sys.path.pop(0)
    return models


def _viz_svg(y, show_grad=False) -> str:
    from minisinga import viz
    return viz._svg_text(viz._build(y, show_grad))


# ----------------------------------------------------------------------------- graphs (viz)
@figure
def autograd_toy():
    """a = 3, b = a + a, c = b + b, with dc/da = 4 from minisinga's engine."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    a = _t(np.array([3.0], np.float32), grad=True)
    a.name = "a"
    b = a + a
    c = b + b
    return _viz_svg(c, show_grad=True)


def _seed_mlp_loss():
    """One step of examples/mlp_ops.py's network, on its own data."""
    import numpy as np

    from minisinga import autograd, device
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import mlp_ops
    finally:
        sys.path.pop(0)
    data, label = mlp_ops.two_class_points(n=400, seed=0)
    device.set_rand_seed(0)
    params = {}
    for name, shape in (("w0", (2, 3)), ("b0", (1, 3)), ("w1", (3, 2)), ("b1", (1, 2))):
        p = _t(np.zeros(shape, np.float32), grad=True)
        if name.startswith("w"):
            p.gaussian(0.0, 0.1)
        p.name = name
        params[name] = p
    x, t = _t(data), _t(label)
    x.name, t.name = "inputs", "target"
    autograd.training = True
    h = autograd.relu(autograd.add_bias(autograd.matmul(x, params["w0"]), params["b0"]))
    y = autograd.add_bias(autograd.matmul(h, params["w1"]), params["b1"])
    return autograd.softmax_cross_entropy(y, t)


@figure
def seed_mlp_graph():
    """examples/mlp_ops.py's graph, with each parameter's gradient norm."""
    return _viz_svg(_seed_mlp_loss(), show_grad=True)


@figure
def mlp_model_graph():
    """examples/models.py's MLP, compiled, drawn by viz.draw_model."""
    from minisinga import tensor, viz
    net = _example_models().MLP(hidden=32)
    tx = tensor.Tensor((8, 1, 28, 28), requires_grad=False).set_value(0.5)
    net.compile([tx], is_train=True, use_graph=False)
    return viz.draw_model(net)


@figure
def onnx_export_walk():
    """The graph that sonnx.to_onnx walks: the digits CNN's forward, recorded."""
    from minisinga import autograd, tensor, viz
    net = _example_models().CNN()
    tx = tensor.Tensor((2, 1, 28, 28), requires_grad=False).set_value(0.5)
    net.compile([tx], is_train=False, use_graph=False)
    was = autograd.recording
    autograd.recording = True   # record, in evaluation form, as the export does
    try:
        y = net.forward(tx)
    finally:
        autograd.recording = was
    return viz._svg_text(viz._build(y))


@figure
def batchnorm_graph():
    """Batch norm (training) written with primitive operations, drawn by viz."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((4, 3)).astype(np.float32), grad=True)
    g = _t(np.ones((1, 3), np.float32), grad=True)
    b = _t(np.zeros((1, 3), np.float32), grad=True)
    x.name, g.name, b.name = "x", "scale", "bias"
    mu = autograd.reduce_mean(x, axes=[0], keepdims=1)
    xc = x - mu
    var = autograd.reduce_mean(xc * xc, axes=[0], keepdims=1)
    xhat = xc / autograd.sqrt(var + 1e-5)
    y = xhat * g + b
    return _viz_svg(y)


# ----------------------------------------------------------------------------- kernels
def _im2col(x, k):
    """minisinga's im2col kernel on one (H, W) image, stride 1, no padding."""
    import numpy as np

    from minisinga import backend, tensor
    from minisinga.ctensor import CTensor
    from minisinga.ops.conv import conv_geom
    h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    xc = tensor.Tensor(data=x.reshape(1, 1, h, w), dtype=tensor.float64).data
    col = CTensor((k * k, oh * ow), xc.dtype, xc.device)
    geom = conv_geom(N=1, C=1, H=h, W=w, KH=k, KW=k, SH=1, SW=1, PT=0, PL=0, DH=1, DW=1,
                     OH=oh, OW=ow)
    backend.kernel("im2col", xc)(col.ptr, xc.ptr, geom)
    return np.array(col.numpy())


def _col2im(col, h, w, k):
    """minisinga's col2im kernel (im2col's adjoint) back onto an (H, W) image."""
    import numpy as np

    from minisinga import backend, tensor
    from minisinga.ctensor import CTensor
    from minisinga.ops.conv import conv_geom
    oh, ow = h - k + 1, w - k + 1
    cc = tensor.Tensor(data=col, dtype=tensor.float64).data
    dx = CTensor((1, 1, h, w), cc.dtype, cc.device)
    geom = conv_geom(N=1, C=1, H=h, W=w, KH=k, KW=k, SH=1, SW=1, PT=0, PL=0, DH=1, DW=1,
                     OH=oh, OW=ow)
    backend.kernel("col2im", cc)(dx.ptr, cc.ptr, geom)
    return np.array(dx.numpy()).reshape(h, w)


@figure
def conv_im2col():
    """im2col of a 4x4 image for a 2x2 kernel: 9 columns, one per output pixel."""
    import numpy as np
    x = np.arange(16.0).reshape(4, 4)
    col = _im2col(x, 2)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 2.6), gridspec_kw={"width_ratios": [1, 2.2]})
    _grid(axes[0], x, "x: 4x4 image (pixel values)", highlight=[(1, 1), (1, 2), (2, 1), (2, 2)])
    _grid(axes[1], col, "im2col(x): 4 taps x 9 output pixels", highlight=[(r, 4) for r in range(4)])
    axes[1].set_yticks(range(4), ["tap (0,0)", "(0,1)", "(1,0)", "(1,1)"], fontsize=8)
    axes[1].set_xticks(range(9), [f"({p},{q})" for p in range(3) for q in range(3)], fontsize=7)
    return _svg(fig)


@figure
def conv_col2im():
    """col2im of all-ones columns: how many windows cover each pixel."""
    import numpy as np
    count = _col2im(np.ones((4, 9)), 4, 4, 2)
    col = _im2col(np.arange(16.0).reshape(4, 4), 2)
    back = _col2im(col, 4, 4, 2)
    fig = _panels([(np.ones((4, 9)), "dcol = ones (4 x 9)"),
                   (count, "col2im(ones): windows per pixel"),
                   (back, "col2im(im2col(x)) = count * x")], width=2.9, height=2.4)
    return _svg(fig)


@figure
def pooling_max_routing():
    """2x2 max pooling: the output, and the gradient routed to each window's max."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 6, 7], [9, 1, 3, 3]], np.float64)
    xt = _t(x.reshape(1, 1, 4, 4), grad=True)
    y = autograd.max_pool2d(xt, 2, 2)
    dy = _t(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2), dtype=None)
    dx = autograd.gradients(y, dy)[xt].to_numpy().reshape(4, 4)
    win = [(0, 1), (1, 2), (3, 0), (2, 3)]
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.4))
    _grid(axes[0], x, "x (4x4), 2x2 windows", highlight=win)
    _grid(axes[1], y.to_numpy().reshape(2, 2), "y = max_pool2d(x)")
    _grid(axes[2], dy.to_numpy().reshape(2, 2), "dy")
    _grid(axes[3], dx, "dx: dy lands on each max", highlight=win, cmap="Oranges")
    for ax in (axes[0], axes[3]):
        for c in (1.5,):
            ax.axhline(c, color="k", lw=1)
            ax.axvline(c, color="k", lw=1)
    return _svg(fig)


@figure
def dropout_mask():
    """Dropout in training: kept entries scaled by 1/(1-p), the rest zero."""
    import numpy as np

    from minisinga import autograd, device
    device.set_rand_seed(0)
    autograd.training = True
    x = _t(np.ones((6, 8), np.float32), grad=True)
    y = autograd.dropout(x, 0.5)
    dx = autograd.gradients(y, 1.0)[x].to_numpy()
    fig = _panels([(np.ones((6, 8)), "x = ones (6 x 8)"),
                   (y.to_numpy(), "dropout(x, 0.5), training"),
                   (dx, "dx for dy = ones: the same mask")], width=3.2, height=2.6)
    return _svg(fig)


@figure
def broadcast_grad():
    """x (3,1) + y (1,4) -> (3,4); the gradients sum dy over the broadcast axes."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    x = _t(np.array([[0.0], [10.0], [20.0]]), grad=True)
    y = _t(np.array([[1.0, 2.0, 3.0, 4.0]]), grad=True)
    z = x + y
    dz = np.arange(12.0).reshape(3, 4)
    g = autograd.gradients(z, _t(dz))
    fig = _panels([(x.to_numpy(), "x (3, 1)"), (y.to_numpy(), "y (1, 4)"),
                   (z.to_numpy(), "z = x + y (3, 4)"), (dz, "dz (3, 4)"),
                   (g[x].to_numpy(), "dx = dz summed over axis 1"),
                   (g[y].to_numpy(), "dy = dz summed over axis 0")], width=1.9, height=2.3)
    return _svg(fig)


@figure
def reduce_sum_grad():
    """reduce_sum over axis 1 and its gradient: dy copied back along the summed axis."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    x = _t(np.arange(12.0).reshape(3, 4), grad=True)
    y = autograd.reduce_sum(x, axes=[1], keepdims=1)
    dy = np.array([[1.0], [2.0], [3.0]])
    dx = autograd.gradients(y, _t(dy))[x].to_numpy()
    fig = _panels([(x.to_numpy(), "x (3, 4)"), (y.to_numpy(), "y = reduce_sum(x, [1])"),
                   (dy, "dy (3, 1)"), (dx, "dx: dy repeated along axis 1")], width=2.2)
    return _svg(fig)


@figure
def pad_grad():
    """pad by one (constant 0) and its gradient: the interior of dy."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    x = _t(np.arange(1.0, 10.0).reshape(3, 3), grad=True)
    y = autograd.pad(x, "constant", [1, 1, 1, 1])
    dy = np.arange(25.0).reshape(5, 5)
    dx = autograd.gradients(y, _t(dy))[x].to_numpy()
    fig = _panels([(x.to_numpy(), "x (3, 3)"), (y.to_numpy(), "pad(x, 1): (5, 5)"),
                   (dy, "dy (5, 5)"), (dx, "dx = dy[1:4, 1:4]")], width=2.4, height=2.5)
    return _svg(fig)


@figure
def getitem_grad():
    """x[1:3, ::2] and its gradient: dy scattered back where the slice read."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    x = _t(np.arange(1.0, 21.0).reshape(4, 5), grad=True)
    y = x[1:3, ::2]
    dy = np.arange(1.0, 7.0).reshape(2, 3)
    dx = autograd.gradients(y, _t(dy))[x].to_numpy()
    fig = _panels([(x.to_numpy(), "x (4, 5)"), (y.to_numpy(), "y = x[1:3, ::2]: (2, 3)"),
                   (dy, "dy (2, 3)"), (dx, "dx: dy where y read x, 0 elsewhere")],
                  width=2.4, height=2.5)
    return _svg(fig)


@figure
def where_grad():
    """where(a, b, cond): dy goes to a where cond holds, to b elsewhere."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    cond = np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 0]], np.float32)
    a = _t(np.full((3, 4), 2.0, np.float32), grad=True)
    b = _t(np.full((3, 4), -1.0, np.float32), grad=True)
    y = autograd.where(a, b, _t(cond.astype(bool)))
    dy = np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4)
    g = autograd.gradients(y, _t(dy))
    fig = _panels([(cond, "condition"), (y.to_numpy(), "where(a=2, b=-1, cond)"),
                   (dy, "dy"), (g[a].to_numpy(), "da = dy * cond"),
                   (g[b].to_numpy(), "db = dy * (1 - cond)")], width=2.1)
    return _svg(fig)


def _curves(fns, lo, hi, title):
    """f and its derivative (minisinga's backward) for each name in fns."""
    import numpy as np

    from minisinga import autograd
    plt = _plt()
    autograd.training = True
    xs = np.linspace(lo, hi, 401)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name in fns:
        x = _t(xs, grad=True)
        y = getattr(autograd, name)(x)
        dx = autograd.gradients(y, 1.0)[x].to_numpy()
        line, = axes[0].plot(xs, y.to_numpy(), label=name)
        axes[1].plot(xs, dx, color=line.get_color(), label=name)
    axes[0].set_title(f"{title}: f(x), forward kernels")
    axes[1].set_title("f'(x), from the backward kernels")
    for ax in axes:
        ax.axhline(0, color="#999", lw=0.6)
        ax.axvline(0, color="#999", lw=0.6)
        ax.set_xlabel("x")
    axes[0].legend(fontsize=8, frameon=False)
    return _svg(fig)


@figure
def activation_curves():
    """relu, sigmoid, tanh, softplus, elu and their derivatives by backward."""
    return _curves(["relu", "sigmoid", "tanh", "softplus", "elu"], -4, 4, "activations")


@figure
def trig_curves():
    """sin, cos, atan, asinh and their derivatives by backward."""
    return _curves(["sin", "cos", "atan", "asinh"], -3, 3, "trigonometric")


# ----------------------------------------------------------------------------- Jacobians
def _jacobian(fn, x):
    from minisinga import testing
    t = _t(x, grad=True)
    out = fn(t)
    return testing.analytical_jacobian(fn, [t], 0, [out.shape])


@figure
def softmax_ce_jacobian():
    """softmax's Jacobian on a (3, 4) batch: one diag(p) - p p^T block per row."""
    import numpy as np

    from minisinga import autograd
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    autograd.training = True
    J = _jacobian(lambda t: autograd.softmax(t, 1), x)
    labels = np.array([2, 0, 3], np.int32)
    xt = _t(x, grad=True)
    loss = autograd.softmax_cross_entropy(xt, _t(labels))
    dx = autograd.gradients(loss)[xt].to_numpy()
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1.4, 1]})
    m = np.abs(J).max()
    im = axes[0].imshow(J, cmap="RdBu_r", vmin=-m, vmax=m)
    for k in range(1, 3):
        axes[0].axhline(4 * k - 0.5, color="k", lw=0.6)
        axes[0].axvline(4 * k - 0.5, color="k", lw=0.6)
    axes[0].set_title("d softmax(x) / dx: 12 x 12, block diagonal")
    axes[0].set_xlabel("input element (row-major over N=3, C=4)")
    axes[0].set_ylabel("output element")
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    _grid(axes[1], dx, "dL/dx of softmax_cross_entropy\n= (p - onehot(t)) / N", fmt="{:.2f}",
          cmap="RdBu_r", highlight=[(0, 2), (1, 0), (2, 3)])
    axes[1].images[0].set_clim(-0.34, 0.34)
    return _svg(fig)


@figure
def jacobian_gallery():
    """Jacobian sparsity of a few operations, each by minisinga's backward."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, (2, 3))
    w = rng.standard_normal((3, 2))
    cases = [("tanh (elementwise)", lambda t: autograd.tanh(t)),
             ("transpose", lambda t: autograd.transpose(t, (1, 0))),
             ("reduce_sum axis 1", lambda t: autograd.reduce_sum(t, axes=[1], keepdims=1)),
             ("matmul x @ W", lambda t: autograd.matmul(t, _t(w))),
             ("softmax axis 1", lambda t: autograd.softmax(t, 1))]
    plt = _plt()
    fig, axes = plt.subplots(1, len(cases), figsize=(11, 2.6))
    for ax, (title, fn) in zip(axes, cases):
        J = _jacobian(fn, x)
        m = np.abs(J).max()
        ax.imshow(J, cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set_title(f"{title}\n{J.shape[0]} x {J.shape[1]}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return _svg(fig)


@figure
def gradcheck_eps():
    """Central-difference error against eps: truncation, then rounding, error."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    x0 = 0.7
    xt = _t(np.array([x0]), grad=True)
    exact = float(autograd.gradients(autograd.sin(xt))[xt].to_numpy()[0])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    epss = np.logspace(-13, -1, 49)
    for dtype, label in ((np.float64, "float64"), (np.float32, "float32")):
        errs = []
        for eps in epss:
            vals = [float(autograd.sin(_t(np.array([x0 + s * eps], dtype))).to_numpy()[0])
                    for s in (1, -1)]
            errs.append(abs((vals[0] - vals[1]) / (2 * eps) - exact) + 1e-18)
        ax.loglog(epss, errs, "o-", ms=3, label=label)
    ax.axvline(1e-6, color="#d84315", ls="--", lw=1)
    ax.text(1.3e-6, 1e-1, "gradcheck's eps = 1e-6", color="#d84315", fontsize=8)
    ax.set_xlabel("eps")
    ax.set_ylabel("|central difference - backward|")
    ax.set_title("d sin(x)/dx at x = 0.7: the error of (f(x+eps) - f(x-eps)) / 2eps")
    ax.legend(frameon=False)
    return _svg(fig)


# ----------------------------------------------------------------------------- diagrams
@figure
def tensor_layout():
    """A (2, 3, 4) tensor: its row-major buffer and the strides that index it."""
    import numpy as np

    from minisinga import backend
    shape = (2, 3, 4)
    strides = backend.contiguous_strides(shape)
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(9, 3.6), gridspec_kw={"height_ratios": [1.6, 1]})
    a = np.arange(24).reshape(shape)
    ax = axes[0]
    for i in range(2):
        for j in range(3):
            for k in range(4):
                x0 = i * 5.2 + k
                ax.add_patch(plt.Rectangle((x0, 2 - j), 1, 1, fc=["#e8f0fe", "#fff3c4"][i],
                                           ec="#333"))
                ax.text(x0 + 0.5, 2.5 - j, str(a[i, j, k]), ha="center", va="center", fontsize=8)
        ax.text(i * 5.2 + 2, 3.3, f"x[{i}, :, :]", ha="center", fontsize=9)
    ax.set_xlim(-0.3, 10.5)
    ax.set_ylim(-0.2, 3.8)
    ax.axis("off")
    ax = axes[1]
    for n in range(24):
        ax.add_patch(plt.Rectangle((n, 0), 1, 1, fc=["#e8f0fe", "#fff3c4"][n // 12], ec="#333"))
        ax.text(n + 0.5, 0.5, str(n), ha="center", va="center", fontsize=7)
    ax.annotate("", xy=(12, 1.25), xytext=(0, 1.25), arrowprops={"arrowstyle": "<->"})
    ax.text(6, 1.4, f"stride[0] = {strides[0]}", ha="center", fontsize=8)
    ax.annotate("", xy=(16, 1.25), xytext=(12, 1.25), arrowprops={"arrowstyle": "<->"})
    ax.text(14, 1.4, f"stride[1] = {strides[1]}", ha="center", fontsize=8)
    ax.text(20, 1.4, f"stride[2] = {strides[2]}", ha="center", fontsize=8)
    ax.text(12, -0.6, "the C buffer: offset of x[i, j, k] = "
            f"{strides[0]}i + {strides[1]}j + {strides[2]}k", ha="center", fontsize=9)
    ax.set_xlim(-0.3, 24.3)
    ax.set_ylim(-1, 2)
    ax.axis("off")
    return _svg(fig)


def _gemm_consts():
    """The CPU GEMM's block sizes for float32 on AVX-512 (the development machine),
    read from minisinga/c/matmul.c (its first ``#if`` branch is AVX-512's)."""
    text = (ROOT / "minisinga/c/matmul.c").read_text()

    def first(pattern):
        return int(re.search(pattern, text).group(1))
    vec = first(r"#define MS_VEC_BYTES (\d+)")
    return {"MR": first(r"#define MS_MR (\d+)"), "NR": 2 * vec // 4,
            "KC": first(r"KC = (\d+) / sizeof") // 4, "MC": first(r"MC = (\d+)"),
            "NC": first(r"NC = (\d+)"), "lanes": vec // 4}


@figure
def gemm_blocking():
    """The five loops around the micro-kernel: C, A and B cut into blocks, packed."""
    plt = _plt()
    c = _gemm_consts()
    mc, kc, nc = c["MC"], c["KC"], c["NC"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.1]})
    R = plt.Rectangle
    # C += A B, with the current blocks shaded
    ax = axes[0]
    ax.add_patch(R((0, 0), 4, 6, fc="#e8f0fe", ec="#333"))          # A: M x K
    ax.add_patch(R((1.4, 0), 1.2, 6, fc="#90caf9", ec="#333"))       # pc block of K
    ax.add_patch(R((1.4, 3.6), 1.2, 1.4, fc="#1e88e5", ec="#333"))   # ic block
    ax.text(2, 6.3, "A (M x K)", ha="center")
    ax.text(2, -0.6, f"block M_C x K_C = {mc} x {kc}", ha="center", fontsize=8)
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(-1, 7)
    ax.axis("off")
    ax = axes[1]
    ax.add_patch(R((0, 0), 6, 4, fc="#fff3c4", ec="#333"))           # B: K x N
    ax.add_patch(R((0, 1.6), 6, 1.2, fc="#ffe082", ec="#333"))       # pc block of K
    ax.add_patch(R((1, 1.6), 3.5, 1.2, fc="#ffb300", ec="#333"))     # jc block
    ax.text(3, 4.3, "B (K x N)", ha="center")
    ax.text(3, 1.0, f"block K_C x N_C = {kc} x {nc}", ha="center", fontsize=8)
    ax.set_xlim(-0.5, 6.5)
    ax.set_ylim(-1, 7)
    ax.axis("off")
    # packing: the A block into M_R-row panels, the B block into N_R-column panels
    ax = axes[2]
    mr, nr = c["MR"], c["NR"]
    for p in range(4):
        ax.add_patch(R((0, 5 - p * 1.2), 3.2, 1.0, fc="#1e88e5", ec="#fff", alpha=0.6 + 0.1 * p))
        ax.annotate("", xy=(3.1, 5.5 - p * 1.2), xytext=(0.1, 5.5 - p * 1.2),
                    arrowprops={"arrowstyle": "->", "color": "white"})
    ax.text(1.6, 6.3, f"packed A: panels of M_R = {mr} rows", ha="center", fontsize=8)
    for p in range(4):
        ax.add_patch(R((4 + p * 0.8, 0.2), 0.7, 4.6, fc="#ffb300", ec="#fff", alpha=0.6 + 0.1 * p))
        ax.annotate("", xy=(4.35 + p * 0.8, 0.4), xytext=(4.35 + p * 0.8, 4.6),
                    arrowprops={"arrowstyle": "->", "color": "white"})
    ax.text(5.4, -0.25, f"packed B: panels of\nN_R = {nr} columns", ha="center", va="top",
            fontsize=8)
    ax.text(1.6, 0.2, "each panel is one\ncontiguous stream,\nread in order", ha="center",
            fontsize=8)
    ax.set_xlim(-0.3, 7.6)
    ax.set_ylim(-1.3, 7)
    ax.axis("off")
    return _svg(fig)


@figure
def gemm_register_tile():
    """The micro-kernel: an M_R x N_R tile of C in registers, K_C rank-1 updates."""
    plt = _plt()
    c = _gemm_consts()
    mr, nr, lanes = c["MR"], c["NR"], c["lanes"]
    regs = nr // lanes
    cw = 6.0                                    # drawing width of one vector register
    fig, ax = plt.subplots(figsize=(8, 4.2))
    R = plt.Rectangle
    for i in range(mr):                         # the column of A, one value per row
        ax.add_patch(R((0, mr - 1 - i), 1, 1, fc="#1e88e5", ec="#fff"))
        ax.text(0.5, mr - 0.5 - i, f"a{i}", color="w", ha="center", va="center", fontsize=8)
    ax.text(0.5, mr + 0.2, "A[:, k]\nbroadcast", ha="center", fontsize=8)
    for r in range(regs):                       # the row of B, in vector registers
        ax.add_patch(R((2 + r * cw, mr + 0.4), cw, 0.9, fc="#ffb300", ec="#333"))
        ax.text(2 + (r + 0.5) * cw, mr + 0.85, f"b{r} = B[k, {r * lanes}:{(r + 1) * lanes}]",
                ha="center", va="center", fontsize=8)
    for i in range(mr):                         # the tile of C: mr * regs accumulators
        for r in range(regs):
            ax.add_patch(R((2 + r * cw, mr - 1 - i), cw, 1, fc="#c5e1a5", ec="#333"))
            ax.text(2 + (r + 0.5) * cw, mr - 0.5 - i, f"c{i}{r} += a{i} * b{r}",
                    ha="center", va="center", fontsize=8)
    ax.text(2 + regs * cw / 2, -0.8, f"C tile: {mr} x {nr} floats in {mr * regs} vector "
            f"registers of {lanes};\neach step of k: {regs} loads of B, {mr} broadcasts of A, "
            f"{mr * regs} FMAs", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, 2.5 + regs * cw)
    ax.set_ylim(-2.4, mr + 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return _svg(fig)


def _num(s: str):
    try:
        return float(s)
    except ValueError:
        return None


@figure
def ladder_gflops():
    """The ladder's measured GFLOP/s per step, from the chapter's own table."""
    import numpy as np
    rows = _table("performance/matmul-ladder.md", "| step | $n = 512$")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    sizes = ["512", "1024", "2048"]
    x = np.arange(len(rows))
    for k, n in enumerate(sizes):
        vals = [_num(r[k + 1]) for r in rows]
        ax.bar(x + (k - 1) * 0.27, [v or 0 for v in vals], 0.27, label=f"n = {n}")
    ax.set_xticks(x, [textwrap.fill(r[0], 12) for r in rows], fontsize=8)
    ax.set_ylabel("GFLOP/s (higher is better)")
    ax.axhline(95, color="#d84315", ls="--", lw=1)
    ax.text(-0.45, 99, "OpenBLAS, one core (about 90-100)", color="#d84315", fontsize=8)
    ax.legend(frameon=False, ncol=3, loc="upper left", bbox_to_anchor=(0.0, 0.97))
    ax.set_title("The matmul ladder, step by step (float32, one run of `make run`)")
    return _svg(fig)


def _ms(s: str):
    """'22.1 ms' / '235 µs' -> milliseconds (None for an empty cell)."""
    m = re.match(r"([\d.]+)\s*(ms|µs|s)", s)
    if not m:
        return None
    return float(m.group(1)) * {"ms": 1.0, "µs": 1e-3, "s": 1e3}[m.group(2)]


@figure
def exercises_map():
    """The exercises per chapter, from the exercises' own registry."""
    from minisinga.exercises import all_exercises
    chapters: dict[str, list[str]] = {}
    for ex in all_exercises().values():   # in docs order
        chapters.setdefault(ex.page.removesuffix(".md"), []).append(
            "C" if ex.file.endswith(".c") else "Python")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(chapters) + 1.2))
    names = list(chapters)[::-1]
    for row, name in enumerate(names):
        for k, kind in enumerate(chapters[name]):
            ax.barh(row, 1, left=k, color="#3f51b5" if kind == "Python" else "#ff9800",
                    edgecolor="white")
            ax.text(k + 0.5, row, str(k + 1), ha="center", va="center", color="white",
                    fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("exercises, in rising difficulty (blue: Python, orange: C through cffi)")
    ax.set_xticks([])
    ax.set_title(f"{sum(map(len, chapters.values()))} exercises, each checked by "
                 "python -m minisinga.exercises check")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return _svg(fig)


@figure
def ring_allreduce():
    """A ring all-reduce of 4 ranks, step by step: which chunk each rank holds."""
    import numpy as np
    n = 4
    # held[r][c]: the set of ranks whose chunk c rank r has summed so far
    held = [[{r} for _ in range(n)] for r in range(n)]
    frames = [("start: every rank has its own gradient, cut in 4 chunks",
               [[len(h) for h in row] for row in held], [])]
    for step in range(2 * (n - 1)):
        phase = "reduce-scatter" if step < n - 1 else "all-gather"
        k = step % (n - 1)
        sends = []
        new = [[set(h) for h in row] for row in held]
        for r in range(n):   # rank r sends chunk (r - k) (scatter) / (r + 1 - k) (gather)
            c = (r - k) % n if phase == "reduce-scatter" else (r + 1 - k) % n
            dst = (r + 1) % n
            sends.append((r, dst, c))
            if phase == "reduce-scatter":
                new[dst][c] = held[dst][c] | held[r][c]
            else:
                new[dst][c] = set(held[r][c])
        held = new
        frames.append((f"step {step + 1}, {phase}: each rank sends one chunk to the next",
                       [[len(h) for h in row] for row in held], sends))
    plt = _plt()
    # two rows: the start and the reduce-scatter, then the all-gather
    fig, grid = plt.subplots(2, n, figsize=(8.6, 5.6))
    axes = list(grid[0]) + list(grid[1][:n - 1])
    grid[1][n - 1].axis("off")
    for ax, (title, counts, sends) in zip(axes, frames):
        ax.imshow(np.array(counts), cmap="Blues", vmin=0, vmax=n)
        for r in range(n):
            for c in range(n):
                ax.text(c, r, str(counts[r][c]), ha="center", va="center", fontsize=8,
                        color="white" if counts[r][c] > 2 else "black")
        for r, _dst, c in sends:
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False,
                                       edgecolor="#d84315", lw=1.6))
        ax.set_xticks(range(n), [f"c{c}" for c in range(n)], fontsize=7)
        ax.set_yticks(range(n), [f"rank {r}" for r in range(n)], fontsize=7)
        ax.set_title("\n".join(textwrap.wrap(title, 26)), fontsize=8)
    fig.suptitle("Ring all-reduce, 4 ranks: each cell counts the ranks' gradients its chunk\n"
                 "holds (4 = the full sum); outlined: the chunk each rank sends", fontsize=10)
    fig.tight_layout()
    return _svg(fig)


@figure
def bench_times():
    """Time per step against NumPy and PyTorch, from the benchmarks' table."""
    import numpy as np
    rows = _table("performance/benchmarks.md", "| workload | thr | minisinga | graph")
    plt = _plt()
    rows1 = [r for r in rows if r[1] == "1"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    libs = [("minisinga", 2), ("graph", 3), ("NumPy", 4), ("PyTorch", 5)]
    x = np.arange(len(rows1))
    for k, (lib, col) in enumerate(libs):
        rel = []
        for r in rows1:
            t, ref = _ms(r[col]), _ms(r[5])
            rel.append(t / ref if t and ref else 0)
        ax.bar(x + (k - 1.5) * 0.2, rel, 0.2, label=lib)
    ax.axhline(1, color="#555", lw=0.8)
    ax.set_yscale("log")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xticks(x, [r[0] for r in rows1], fontsize=8)
    ax.set_ylabel("time / PyTorch's time (log)")
    ax.set_title("One thread, median time per step, relative to PyTorch (lower is faster)",
                 pad=24)
    ax.legend(frameon=False, ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _svg(fig)


@figure
def bench_profile():
    """Where a CNN step's time goes, minisinga's kernels beside PyTorch's operations,
    from the benchmarks' profile table."""
    import numpy as np
    rows = _table("performance/benchmarks.md", "| minisinga kernel | launches | ms/step")
    rows = [r for r in rows if not r[0].startswith("**")]   # not the totals
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    y = np.arange(len(rows))
    mini = [float(r[2]) for r in rows]
    torch = [float(r[6]) for r in rows]
    ax.barh(y - 0.2, mini, 0.4, label="minisinga (its kernel)", color="#1565c0")
    ax.barh(y + 0.2, torch, 0.4, label="PyTorch (its operation)", color="#bbbbbb")
    ax.set_yticks(y, [r[0].replace(" (the classifier)", "") for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms per training step (1 thread)")
    ax.set_title("One CNN training step, time inside each kernel", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _svg(fig)


@figure
def bench_memory():
    """Peak memory per workload, from the benchmarks' memory table."""
    import numpy as np
    rows = _table("performance/benchmarks.md", "| workload | minisinga | graph | NumPy")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = np.arange(len(rows))
    for k, (lib, col) in enumerate([("minisinga", 1), ("graph", 2), ("NumPy", 3),
                                    ("PyTorch", 4)]):
        vals = [_num(r[col].split(" ")[0]) if r[col] else None for r in rows]
        ax.bar(x + (k - 1.5) * 0.2, [v or 0 for v in vals], 0.2, label=lib)
    ax.set_xticks(x, [r[0] for r in rows], fontsize=8)
    ax.set_ylabel("resident memory rise, MiB")
    ax.set_title("Peak memory over a few steps (one thread; lower is better)")
    ax.legend(frameon=False, ncol=4, fontsize=8)
    return _svg(fig)


@figure
def bench_peak():
    """sgemm's GFLOP/s against the cores' peak, from the benchmarks' peak table."""
    import numpy as np
    rows = _table("performance/benchmarks.md", "| sgemm | thr | peak")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(rows))
    for k, (lib, col) in enumerate([("peak (register-only FMA loop)", 2), ("minisinga", 3),
                                    ("NumPy", 4), ("PyTorch", 5)]):
        vals = [_num(r[col].split(" ")[0]) or 0 for r in rows]
        ax.bar(x + (k - 1.5) * 0.2, vals, 0.2, label=lib,
               color="#9e9e9e" if k == 0 else None)
    for i, r in enumerate(rows):
        ax.text(i - 0.1, _num(r[3].split(" ")[0]) or 0, r[6].split(",")[0], ha="center",
                va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{r[0]}, {r[1]} thr" for r in rows], fontsize=8)
    ax.set_ylabel("GFLOP/s")
    ax.set_title("sgemm against the peak measured in the same run (labels: minisinga's "
                 "share of it)", fontsize=9, pad=24)
    ax.legend(frameon=False, ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _svg(fig)


SCALING_RECORD = ROOT / "docs" / "data" / "bench-scaling.json"


@figure
def bench_scaling():
    """Time per step against batch size and width, 1 and 2 threads, from the
    record that ``python -m minisinga.bench --scaling docs/data/bench-scaling.json``
    writes."""
    import json
    record = json.loads(SCALING_RECORD.read_text())
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    labels = {"cnn_batch": ("the CNN step", "batch size"),
              "mlp_width": ("the MNIST MLP step (batch 64)", "hidden layer's width")}
    for ax, (curve, (title, xlabel)) in zip(axes, labels.items()):
        sizes = record["sizes"][curve]
        for threads, secs in record["seconds"][curve].items():
            ax.plot(sizes, [v * 1e3 for v in secs], "o-", ms=3,
                    label=f"{threads} thread{'s' if threads != '1' else ''}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ms per step (log)")
        ax.set_title(title, fontsize=9)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{record['command']} (docs/data/bench-scaling.json)", fontsize=9)
    fig.tight_layout()
    return _svg(fig)


@figure
def bench_busy():
    """Default threads over 1 thread beside a busy process, before and after, from
    the benchmarks' busy-machine table."""
    import numpy as np
    rows = _table("performance/benchmarks.md", "| workload | machine | before")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.6, 3.8))
    x = np.arange(len(rows))
    for k, (label, col) in enumerate([("before (libgomp's defaults)", 2),
                                      ("after (this library)", 3)]):
        runs = [[float(v) for v in r[col].split(",")] for r in rows]
        mid = [float(np.median(v)) for v in runs]
        err = [[m - min(v) for m, v in zip(mid, runs)], [max(v) - m for m, v in zip(mid, runs)]]
        ax.bar(x + (k - 0.5) * 0.38, mid, 0.38, yerr=err, capsize=3, label=label)
    ax.axhline(1, color="#555", lw=0.8)
    ax.set_yscale("log")
    ticks = [0.5, 1, 2, 5, 10]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xticks(x, [r[0] + "\n" + "\n".join(textwrap.wrap(r[1].replace("--", "–"), 16))
                      for r in rows],
                  fontsize=7)
    ax.set_ylabel("default threads / 1 thread (log)")
    ax.set_title("Time with the default 2 threads over time with 1 thread: median of 3 runs, "
                 "bars from the lowest to the highest (above 1: slower)", fontsize=9, pad=24)
    ax.legend(frameon=False, ncol=2, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _svg(fig)


@figure
def cuda_gemm_tiles():
    """The CUDA GEMM: a grid of BM x BN blocks, each thread a TM x TN sub-tile."""
    text = (ROOT / "minisinga/cuda/matmul.cu").read_text()
    c = {k: int(re.search(rf"#define {k} (\d+)", text).group(1))
         for k in ("BM", "BN", "BK", "TM", "TN", "GEMM_THREADS")}
    plt = _plt()
    R = plt.Rectangle
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    ax = axes[0]
    for by in range(4):
        for bx in range(4):
            fc = "#1e88e5" if (by, bx) == (1, 2) else "#e3f2fd"
            ax.add_patch(R((bx, 3 - by), 1, 1, fc=fc, ec="#333"))
            ax.text(bx + 0.5, 3.5 - by, f"block\n({bx}, {by})", ha="center", va="center",
                    fontsize=7, color="w" if fc == "#1e88e5" else "k")
    ax.set_title(f"C (M x N): the grid, one block per {c['BM']} x {c['BN']} tile", fontsize=9)
    ax.text(2, -0.35, "blockIdx.x walks N, blockIdx.y walks M", ha="center", fontsize=8)
    ax.set_xlim(-0.1, 4.1)
    ax.set_ylim(-0.6, 4.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax = axes[1]
    per_row = c["BN"] // c["TN"]
    per_col = c["BM"] // c["TM"]
    for ty in range(per_col):
        for tx in range(per_row):
            ax.add_patch(R((tx, per_col - 1 - ty), 1, 1, fc="#bbdefb", ec="#fff", lw=0.5))
    ax.add_patch(R((5, per_col - 1 - 3), 1, 1, fc="#d84315", ec="#333"))
    ax.text(per_row / 2, -0.7, f"red: thread {3 * per_row + 5}, a {c['TM']} x {c['TN']} tile "
            f"of C in registers ({c['TM'] * c['TN']} accumulators)", ha="center", fontsize=8)
    ax.set_title(f"one block: {c['GEMM_THREADS']} threads = {per_col} x {per_row}, "
                 f"each {c['TM']} x {c['TN']} of C", fontsize=9)
    ax.text(per_row / 2, -1.7, f"per step: A's {c['BM']} x {c['BK']} and B's {c['BK']} x "
            f"{c['BN']} slabs staged in shared memory", ha="center", fontsize=8)
    ax.set_xlim(-0.2, per_row + 0.2)
    ax.set_ylim(-2.2, per_col + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return _svg(fig)


@figure
def matmul_shapes():
    """y = x W and its two gradients, drawn to scale as blocks."""
    import numpy as np

    from minisinga import autograd
    autograd.training = True
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((4, 3)), grad=True)
    w = _t(rng.standard_normal((3, 2)), grad=True)
    y = autograd.matmul(x, w)
    dy = rng.standard_normal((4, 2))
    g = autograd.gradients(y, _t(dy))
    fig = _panels([(x.to_numpy(), "x (4, 3)"), (w.to_numpy(), "W (3, 2)"),
                   (y.to_numpy(), "y = x W (4, 2)"), (dy, "dy (4, 2)"),
                   (g[x].to_numpy(), "dx = dy W^T (4, 3)"),
                   (g[w].to_numpy(), "dW = x^T dy (3, 2)")],
                  width=1.8, height=2.3, cmap="RdBu_r")
    for ax in fig.axes:
        for im in ax.images:
            im.set_clim(-4, 4)
        for t in ax.texts:
            t.set_text(f"{float(t.get_text()):.1f}")
    return _svg(fig)


@figure
def optimizer_paths():
    """SGD, momentum, Adam, RMSProp, AdaGrad on a stretched quadratic, by minisinga.opt."""
    import numpy as np

    from minisinga import autograd, opt
    plt = _plt()
    autograd.training = True
    scales = np.array([1.0, 10.0])          # f(p) = 0.5 * sum(scales * p^2)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    gx, gy = np.meshgrid(np.linspace(-3.5, 1, 100), np.linspace(-2.2, 2.2, 100))
    ax.contour(gx, gy, 0.5 * (gx ** 2 + 10 * gy ** 2), levels=12, colors="#bbb", linewidths=0.6)
    runs = [("SGD lr=0.09", opt.SGD(lr=0.09)),
            ("SGD + momentum 0.9, lr=0.02", opt.SGD(lr=0.02, momentum=0.9)),
            ("Adam lr=0.3", opt.Adam(lr=0.3)),
            ("RMSProp lr=0.1", opt.RMSProp(lr=0.1)),
            ("AdaGrad lr=1", opt.AdaGrad(lr=1.0))]
    for label, o in runs:
        p = _t(np.array([-3.0, 2.0]), grad=True)
        path = [p.to_numpy().copy()]
        for _ in range(40):
            loss = autograd.reduce_sum(autograd.mul(_t(0.5 * scales), p * p))
            for param, grad in autograd.backward(loss):
                o.update(param, grad)
            o.step()
            path.append(p.to_numpy().copy())
        path = np.array(path)
        ax.plot(path[:, 0], path[:, 1], "o-", ms=2.5, lw=1, label=label)
    ax.plot(0, 0, "k*", ms=10)
    ax.set_title("40 steps on f = (p0^2 + 10 p1^2) / 2 from (-3, 2)")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_xlabel("p0")
    ax.set_ylabel("p1")
    return _svg(fig)


TRAINING_RECORD = ROOT / "docs" / "data" / "training-curve.json"
TRAINING_ARGS = ["--seed", "0", "--quiet", "--plot", ""]   # otherwise the defaults


def record_training() -> dict:
    """Run examples/train.py with its defaults (the CNN, 2 epochs: about half a
    minute on two cores) and keep its losses in docs/data/training-curve.json.
    Run by hand (``python docs/hooks/figures.py --record-training``), never
    while the site builds."""
    import json
    import tempfile
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import train
    finally:
        sys.path.pop(0)
    with tempfile.TemporaryDirectory() as folder:
        args = TRAINING_ARGS + ["--checkpoint", str(Path(folder) / "c.zip")]
        result = train.main(args)
    record = {"command": "python examples/train.py " + shlex.join(TRAINING_ARGS),
              "losses": [round(float(v), 5) for v in result["losses"]],
              "accuracies": [round(float(v), 4) for v in result["accuracies"]]}
    TRAINING_RECORD.parent.mkdir(exist_ok=True)
    TRAINING_RECORD.write_text(json.dumps(record) + "\n")
    return record


@figure
def training_curve():
    """examples/train.py's main job (the CNN): the recorded loss of every step."""
    import json

    import numpy as np
    record = json.loads(TRAINING_RECORD.read_text())
    losses = np.array(record["losses"])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(losses, lw=0.6, color="#90caf9", label="loss of each step")
    k = 20
    smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
    ax.plot(np.arange(k - 1, len(losses)), smooth, color="#1565c0", label=f"mean of {k} steps")
    per_epoch = len(losses) // len(record["accuracies"])
    for e, acc in enumerate(record["accuracies"]):
        ax.axvline((e + 1) * per_epoch, color="#999", lw=0.6, ls="--")
        ax.text((e + 1) * per_epoch - 4, losses.max() * 0.9, f"epoch {e + 1}\ntest accuracy "
                f"{acc:.3f}", ha="right", fontsize=8)
    ax.set_xlabel("step (batch of 32)")
    ax.set_ylabel("softmax cross-entropy")
    ax.set_title(f"{record['command']} (recorded in docs/data/training-curve.json)",
                 fontsize=9)
    ax.legend(frameon=False, fontsize=8, loc="center right")
    return _svg(fig)


@figure
def module_sizes():
    """Lines of each minisinga module: SINGA's one autograd.py, split by family."""
    plt = _plt()
    files = sorted((ROOT / "minisinga").glob("*.py")) + sorted((ROOT / "minisinga/ops").glob("*.py"))
    files = [f for f in files if f.name not in ("__init__.py", "_build.py", "_build_cuda.py")]
    sizes = [(str(f.relative_to(ROOT / "minisinga")), len(f.read_text().splitlines()))
             for f in files]
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(sizes) + 1))
    names = [s[0] for s in sizes]
    colors = ["#ffb300" if n.startswith("ops/") or n in ("autograd.py", "engine.py") else "#90caf9"
              for n in names]
    ax.barh(range(len(sizes)), [s[1] for s in sizes], color=colors)
    ax.set_yticks(range(len(sizes)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("lines (counted from the source as the site builds)")
    ax.set_title("minisinga's Python modules; yellow: what SINGA keeps in one 5,770-line "
                 "autograd.py", fontsize=9)
    return _svg(fig)


# ----------------------------------------------------------------------------- the hook
def generate() -> dict[str, str]:
    """Run every figure function: {name: SVG text}.  Restores autograd.training."""
    from minisinga import autograd
    out = {}
    was = autograd.training
    try:
        for name, fn in FIGURES.items():
            try:
                out[name] = fn()
            except Exception as e:
                raise RuntimeError(f"docs/hooks/figures.py: figure {name!r} failed: {e}") from e
            finally:
                autograd.training = was
    finally:
        autograd.training = was
    return out


# The files a figure reads besides the imported code: a rebuild by `mkdocs serve`
# draws again only when one of them changed (the imported code cannot change
# within one process).
_READS = ["docs/performance/matmul-ladder.md", "docs/performance/benchmarks.md",
          "docs/data/training-curve.json", "docs/data/bench-scaling.json",
          "minisinga/c/matmul.c", "minisinga/cuda/matmul.cu"]
_cache: dict = {}


def on_files(files, config):
    """mkdocs: add figures/<name>.svg for every figure to the site's files."""
    from mkdocs.structure.files import File
    _plt()    # fail here, clearly, where matplotlib is missing
    key = tuple((ROOT / f).stat().st_mtime_ns for f in _READS)
    if _cache.get("key") != key:
        start = time.perf_counter()
        _cache.update(key=key, svgs=generate())
        print(f"INFO    -  figures: {len(FIGURES)} drawn in {time.perf_counter() - start:.1f} s")
    for name, svg in _cache["svgs"].items():
        files.append(File.generated(config, f"figures/{name}.svg", content=svg.encode()))
    return files


if __name__ == "__main__":
    if sys.argv[1:] == ["--record-training"]:
        rec = record_training()
        print(f"wrote {TRAINING_RECORD}: {len(rec['losses'])} losses, accuracies "
              f"{rec['accuracies']}")
        sys.exit(0)
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "figures-out")
    out_dir.mkdir(parents=True, exist_ok=True)
    from minisinga import autograd
    total = time.perf_counter()
    for name, fn in FIGURES.items():
        t = time.perf_counter()
        svg = fn()
        autograd.training = False
        (out_dir / f"{name}.svg").write_text(svg)
        print(f"{name:24s} {time.perf_counter() - t:6.2f} s  {len(svg) // 1024:5d} KiB")
    print(f"{len(FIGURES)} figures in {time.perf_counter() - total:.1f} s")
