"""minisinga.viz: draw the graph that autograd recorded.

``to_dot(y)`` walks back from ``y`` through ``y.creator`` and each operation's
``src`` (exactly what ``autograd.backward`` walks) and returns Graphviz DOT
text: operations are ellipses, tensors are boxes labelled with their shape and
dtype, parameters (``stores_grad=True``) are yellow boxes with a double
border.  ``draw(y, "graph.svg")`` renders it; ``draw_model(model)`` draws a
compiled Model with one box around the operations of each layer::

    autograd.training = True
    loss = autograd.softmax_cross_entropy(model_out, labels)
    viz.draw(loss, "loss.svg", show_grad=True)   # with each parameter's |grad|

Rendering needs nothing beyond minisinga itself: a small layered layout
(longest-path layers, barycentre ordering, the idea behind Graphviz's ``dot``)
written here in plain Python draws the SVG.  Where Graphviz's ``dot`` program is
on PATH it is used instead (its edge routing is nicer).  PNG comes from ``dot``
or, without it, from matplotlib (the ``examples`` extra); with neither, ``draw``
writes the ``.dot`` file and raises an error that says how to render it.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from xml.sax.saxutils import escape

from . import dtypes, engine
from .tensor import Tensor

__all__ = ["to_dot", "draw", "draw_model", "model_to_dot"]

# Colours: tensors blue, parameters yellow, operations orange.
_FILL = {"tensor": "#e8f0fe", "param": "#fff3c4", "op": "#fde2c8"}
_FONT = 11          # px, for the built-in renderer
_CHAR_W = 6.6       # average glyph width at that size
_LINE_H = 14


# ----------------------------------------------------------------------------- the graph
class _Graph:
    """Nodes (id -> kind, label lines, cluster) and edges, in the order found."""

    def __init__(self):
        self.nodes: dict[str, dict] = {}
        self.edges: list[tuple[str, str]] = []

    def node(self, nid: str, kind: str, lines: list[str], cluster: str | None = None) -> str:
        if nid not in self.nodes:
            self.nodes[nid] = {"kind": kind, "lines": lines, "cluster": cluster}
        return nid


def _tensor_lines(name: str | None, shape, dtype: int, param: bool, grad_norm) -> list[str]:
    lines = []
    if name and not name.startswith("Dummy#"):   # skip the automatic names
        lines.append(name)
    lines.append(f"{tuple(shape)} {dtypes.name(dtype)}")
    if param:
        lines.append("parameter")
    if grad_norm is not None:
        lines.append(f"|grad| = {grad_norm:.4g}")
    return lines


def _grad_norms(y: Tensor, show_grad) -> dict[int, float]:
    """id(tensor) -> the 2-norm of its gradient, from a dict or a fresh backward."""
    if show_grad is False or show_grad is None:
        return {}
    grads = engine.gradients(y) if show_grad is True else show_grad
    if not isinstance(grads, dict):
        raise TypeError("show_grad must be False, True or a dict {parameter: gradient} "
                        f"(as autograd.gradients returns), got {type(show_grad).__name__}")
    # autograd.gradients keys by id(param), as SINGA does; a plain dict given by
    # the caller may key by the tensors themselves.
    pairs = (zip(grads.params(), grads.values()) if isinstance(grads, engine.Gradients)
             else grads.items())
    # NOTE: a display value, so NumPy may compute it (it is no operation's math).
    return {id(p): float(math.sqrt((g.to_numpy().astype("float64") ** 2).sum()))
            for p, g in pairs}


def _build(y: Tensor, show_grad=False, cluster_of=None) -> _Graph:
    """Walk the recorded graph back from ``y`` (iteratively, like the engine)."""
    if not isinstance(y, Tensor):
        raise TypeError(f"viz: y must be a Tensor, got {type(y).__name__}")
    if y.creator is None:
        raise ValueError("viz: y has no creator, so no graph was recorded; set "
                         "autograd.training = True before the forward pass")
    norms = _grad_norms(y, show_grad)
    cluster_of = cluster_of or {}
    g = _Graph()

    def tensor_node(creator, idx, t, shape, dtype) -> str:
        """One node per tensor: an op's output (creator, idx) or a leaf."""
        if creator is not None and not isinstance(creator, engine.Dummy) and idx is not None:
            nid = f"op{creator._number}_out{idx}"
            return g.node(nid, "tensor", _tensor_lines(None, shape, dtype, False, None))
        if t is None and isinstance(creator, engine.Dummy):
            nid, name = f"leaf{creator._number}", creator.name
        else:
            nid, name = f"t{id(t)}", t.name if t is not None else None
        param = t is not None and t.stores_grad
        lines = _tensor_lines(name, shape, dtype, param, norms.get(id(t)))
        return g.node(nid, "param" if param else "tensor", lines)

    def op_node(op) -> str:
        return g.node(f"op{op._number}", "op", [type(op).__name__], cluster_of.get(op._number))

    root = y.creator
    if isinstance(root, engine.Dummy):
        raise ValueError("viz: y is a leaf tensor; draw a tensor computed from it")
    idx = root.y_id2idx[id(y)]
    y_node = tensor_node(root, idx, y, y.shape, y.dtype)
    g.edges.append((op_node(root), y_node))
    produced = {(root, idx)}           # (op, output index) already joined to its op
    seen, stack = {root}, [root]
    while stack:
        op = stack.pop()
        me = op_node(op)
        for creator, idx, x, _needed, shape, _dtype, _device in op.src:
            if creator is not None and idx is None and x is not None:   # a data edge
                idx = creator.y_id2idx.get(id(x))
            if x is not None:
                dtype = x.dtype
            elif creator is not None and idx is not None:
                dtype = creator.output_dtypes[idx]
            else:
                raise RuntimeError(f"viz: {op.name} has an input that was not recorded")
            t = tensor_node(creator, idx, x, shape, dtype)
            g.edges.append((t, me))    # (twice for a + a: one edge per use)
            if creator is None or isinstance(creator, engine.Dummy) or idx is None:
                continue
            if (creator, idx) not in produced:
                produced.add((creator, idx))
                g.edges.append((op_node(creator), t))
            if creator not in seen:
                seen.add(creator)
                stack.append(creator)
    return g


# ----------------------------------------------------------------------------- DOT
def _dot_text(g: _Graph) -> str:
    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def node_line(nid: str, n: dict) -> str:
        label = quote("\n".join(n["lines"])).replace("\n", "\\n")
        if n["kind"] == "op":
            shape = 'shape=ellipse, style=filled'
        elif n["kind"] == "param":
            shape = 'shape=box, style="rounded,filled", peripheries=2'
        else:
            shape = 'shape=box, style="rounded,filled"'
        return f'{nid} [{shape}, fillcolor="{_FILL[n["kind"]]}", label={label}];'

    out = ["digraph minisinga {", "  rankdir=TB;",
           '  node [fontname="Helvetica", fontsize=10];', '  edge [color="#555555"];']
    clusters: dict[str, list[str]] = {}
    for nid, n in g.nodes.items():
        if n["cluster"]:
            clusters.setdefault(n["cluster"], []).append(nid)
        else:
            out.append("  " + node_line(nid, n))
    for i, (name, members) in enumerate(clusters.items()):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f'    label={quote(name)}; style="rounded,dashed"; color="#7986cb";')
        out.extend("    " + node_line(nid, g.nodes[nid]) for nid in members)
        out.append("  }")
    out.extend(f"  {a} -> {b};" for a, b in g.edges)
    out.append("}")
    return "\n".join(out) + "\n"


def to_dot(y: Tensor, show_grad=False) -> str:
    """Graphviz DOT text of the graph that produced ``y``.

    Args:
        y: a Tensor computed while ``autograd.training`` was True.
        show_grad: ``False``; ``True`` to run ``autograd.gradients(y)`` and label
            each parameter with the 2-norm of its gradient; or the dict
            ``{parameter: gradient}`` of a backward pass already run.

    Returns:
        The DOT source: one ellipse per operation, one box per tensor (shape and
        dtype; parameters double-bordered and yellow), edges in data-flow order.
    """
    return _dot_text(_build(y, show_grad))


# ----------------------------------------------------------------------------- layout
def _size(n: dict) -> tuple[float, float]:
    w = max(len(s) for s in n["lines"]) * _CHAR_W + 20
    h = len(n["lines"]) * _LINE_H + 12
    return (w + 16, h + 4) if n["kind"] == "op" else (w, h)


def _layout(g: _Graph) -> tuple[dict, list, float, float]:
    """Node centres and edge polylines: a small Sugiyama-style layered layout.

    1. Layers: each node one below its lowest input (longest path); a source
       (a parameter, an input) moves down to just above its first consumer.
    2. Edges spanning several layers get invisible waypoints, one per layer.
    3. Order within a layer: a few sweeps sorting by the barycentre (mean
       position) of the neighbours in the layer above, then below.
    4. x: each node at the mean x of its computed inputs (parameters and other
       sources only where there are none), pushed apart to avoid overlap.
    """
    preds = {n: [] for n in g.nodes}
    succs = {n: [] for n in g.nodes}
    for a, b in g.edges:
        preds[b].append(a)
        succs[a].append(b)
    layer: dict[str, int] = {}
    pending = {n: len(preds[n]) for n in g.nodes}
    ready = [n for n in g.nodes if pending[n] == 0]
    while ready:                                    # topological order
        n = ready.pop(0)
        layer[n] = max((layer[p] + 1 for p in preds[n]), default=0)
        for s in succs[n]:
            pending[s] -= 1
            if pending[s] == 0:
                ready.append(s)
    for n in g.nodes:
        if not preds[n] and succs[n]:
            layer[n] = min(layer[s] for s in succs[n]) - 1
    # waypoints for long edges
    up = {n: list(preds[n]) for n in g.nodes}
    chains = []
    for a, b in g.edges:
        chain, prev = [a], a
        for k in range(layer[a] + 1, layer[b]):
            w = f"_w{len(layer)}"
            layer[w], up[w] = k, [prev]
            chain.append(w)
            prev = w
        up[b] = [prev if p == a else p for p in up[b]] if prev != a else up[b]
        chains.append(chain + [b])
    down = {n: [] for n in layer}
    for n, ps in up.items():
        for p in ps:
            down[p].append(n)
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for n in layer:                                 # (dict order: the walk's order)
        rows[layer[n]].append(n)
    for _ in range(4):                              # barycentre sweeps
        for nbrs, order in ((up, range(1, len(rows))), (down, range(len(rows) - 2, -1, -1))):
            for i in order:
                pos = {n: j for j, n in enumerate(rows[i - 1 if nbrs is up else i + 1])}
                def bary(n, j, nbrs=nbrs, pos=pos):
                    ks = [pos[m] for m in nbrs[n] if m in pos]
                    return sum(ks) / len(ks) if ks else j
                rows[i] = [n for _, n in sorted(((bary(n, j), j), n)
                                                for j, n in enumerate(rows[i]))]
    size = {n: (_size(g.nodes[n]) if n in g.nodes else (8.0, 8.0)) for n in layer}
    x: dict[str, float] = {}
    y: dict[str, float] = {}
    top = 10.0
    for row in rows:
        height = max(size[n][1] for n in row)
        want = []
        for n in row:       # the mean x of the inputs (of the computed ones, if any:
            xs = [x[p] for p in up[n] if p in x]    # so a chain of operations stays straight)
            inner = [x[p] for p in up[n] if p in x and (p not in g.nodes or preds[p])]
            xs = inner or xs
            want.append(sum(xs) / len(xs) if xs else None)
        cur = -math.inf                             # right edge of the last node placed
        for n, w in zip(row, want):                 # left to right, no overlap
            half = size[n][0] / 2
            least = cur + half + 24
            x[n] = least if w is None else max(w, least)
            if x[n] == -math.inf:                   # the first node, with no inputs
                x[n] = 0.0
            cur = x[n] + half
            y[n] = top + height / 2
        moved = [x[n] - w for n, w in zip(row, want) if w is not None]
        if moved:                                   # centre the row on what it wanted
            shift = sum(moved) / len(moved)
            for n in row:
                x[n] -= shift
        top += height + 44
    left = min(x[n] - size[n][0] / 2 for n in layer)
    for n in x:
        x[n] += 20 - left
    width = max(x[n] + size[n][0] / 2 for n in layer) + 20
    boxes = {n: (x[n], y[n], *size[n]) for n in g.nodes}
    lines, copies, seen = [], {}, {}
    for chain in chains:
        copies[chain[0], chain[-1]] = copies.get((chain[0], chain[-1]), 0) + 1
    for chain in chains:
        a, b = chain[0], chain[-1]
        pts = [(x[a], y[a] + size[a][1] / 2)] + [(x[w], y[w]) for w in chain[1:-1]]
        pts.append((x[b], y[b] - size[b][1] / 2))
        k = seen[a, b] = seen.get((a, b), -1) + 1
        if copies[a, b] > 1:   # the same edge twice (b = a + a): bend them apart
            bend = 16 * (k - (copies[a, b] - 1) / 2)
            (x0, y0), (x1, y1) = pts[0], pts[1]
            pts.insert(1, ((x0 + x1) / 2 + bend, (y0 + y1) / 2))
        lines.append(pts)
    return boxes, lines, width, top - 34


def _cluster_boxes(g: _Graph, boxes: dict) -> dict[str, tuple]:
    out: dict[str, list[float]] = {}
    for nid, n in g.nodes.items():
        if n["cluster"]:
            cx, cy, w, h = boxes[nid]
            b = out.setdefault(n["cluster"], [math.inf, math.inf, -math.inf, -math.inf])
            b[:] = [min(b[0], cx - w / 2 - 10), min(b[1], cy - h / 2 - 20),
                    max(b[2], cx + w / 2 + 10), max(b[3], cy + h / 2 + 8)]
    return {k: tuple(v) for k, v in out.items()}


def _svg_text(g: _Graph) -> str:
    """The graph as a standalone SVG document (the built-in renderer)."""
    boxes, lines, width, height = _layout(g)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
           f'font-size="{_FONT}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
           '</defs>']
    for name, (x0, y0, x1, y1) in _cluster_boxes(g, boxes).items():
        out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
                   'rx="8" fill="#f3f4fb" stroke="#7986cb" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x0 + 6:.1f}" y="{y0 + 12:.1f}" fill="#3949ab">{escape(name)}</text>')
    for pts in lines:
        d = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="#555" marker-end="url(#arrow)"/>')
    for nid, n in g.nodes.items():
        cx, cy, w, h = boxes[nid]
        fill = _FILL[n["kind"]]
        out.append(f'<g class="node {n["kind"]}" id="{nid}">')
        if n["kind"] == "op":
            out.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                       f'fill="{fill}" stroke="#333"/>')
        else:
            out.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                       f'height="{h:.1f}" rx="5" fill="{fill}" stroke="#333"/>')
            if n["kind"] == "param":   # the double border of a parameter
                out.append(f'<rect x="{cx - w / 2 + 3:.1f}" y="{cy - h / 2 + 3:.1f}" '
                           f'width="{w - 6:.1f}" height="{h - 6:.1f}" rx="3" fill="none" '
                           'stroke="#333"/>')
        first = cy - (len(n["lines"]) - 1) * _LINE_H / 2 + 4
        for k, s in enumerate(n["lines"]):
            out.append(f'<text x="{cx:.1f}" y="{first + k * _LINE_H:.1f}" '
                       f'text-anchor="middle">{escape(s)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _png_matplotlib(g: _Graph, path: str) -> None:
    """The built-in layout drawn with matplotlib (for PNG without ``dot``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, FancyBboxPatch

    boxes, lines, width, height = _layout(g)
    fig = plt.figure(figsize=(width / 96, height / 96), dpi=96)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for pts in lines:
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops={"arrowstyle": "-|>", "color": "#555", "lw": 0.8})
    for nid, n in g.nodes.items():
        cx, cy, w, h = boxes[nid]
        if n["kind"] == "op":
            patch = Ellipse((cx, cy), w, h, facecolor=_FILL["op"], edgecolor="#333")
        else:
            patch = FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0,rounding_size=5",
                                   facecolor=_FILL[n["kind"]], edgecolor="#333",
                                   lw=2 if n["kind"] == "param" else 1)
        ax.add_patch(patch)
        ax.text(cx, cy, "\n".join(n["lines"]), ha="center", va="center", fontsize=8)
    fig.savefig(path, dpi=96)
    plt.close(fig)


# ----------------------------------------------------------------------------- rendering
def _render(g: _Graph, path, engine: str) -> str:
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in ("svg", "png", "dot"):
        raise ValueError(f"draw: path must end in .svg, .png or .dot, got {path!r}")
    if engine not in ("auto", "dot", "python"):
        raise ValueError(f"draw: engine must be 'auto', 'dot' or 'python', got {engine!r}")
    text = _dot_text(g)
    if fmt == "dot":
        with open(path, "w") as f:
            f.write(text)
        return path
    dot = shutil.which("dot") if engine != "python" else None
    if engine == "dot" and dot is None:
        raise RuntimeError("draw: engine='dot' but Graphviz's dot program is not on PATH "
                           "(apt install graphviz), or use engine='auto'")
    if dot is not None:
        subprocess.run([dot, f"-T{fmt}", "-o", path], input=text.encode(), check=True)
    elif fmt == "svg":
        with open(path, "w") as f:
            f.write(_svg_text(g))
    else:
        try:
            _png_matplotlib(g, path)
        except ImportError:
            dot_path = os.path.splitext(path)[0] + ".dot"
            with open(dot_path, "w") as f:
                f.write(text)
            raise RuntimeError(
                f"draw: a PNG needs Graphviz's dot or matplotlib, and neither is installed; "
                f"wrote {dot_path}: render it with `dot -Tpng {dot_path} -o {path}`, "
                "or pip install matplotlib, or draw to an .svg") from None
    return path


def draw(y: Tensor, path, show_grad=False, engine: str = "auto") -> str:
    """Render the graph that produced ``y`` to ``path`` (.svg, .png or .dot).

    Args:
        y: a Tensor computed while ``autograd.training`` was True.
        path: the file to write; its suffix picks the format.
        show_grad: as in ``to_dot``.
        engine: ``"auto"`` (Graphviz's ``dot`` when on PATH, else the built-in
            layout), ``"dot"`` or ``"python"`` (always the built-in layout).

    Returns:
        ``path``.

    Raises:
        RuntimeError: for a PNG with neither ``dot`` nor matplotlib installed
            (after writing the ``.dot`` file beside ``path``).
    """
    return _render(_build(y, show_grad), path, engine)


# ----------------------------------------------------------------------------- models
def _trace_model(model, inputs):
    """Run ``model.forward(*inputs)`` recording the graph, and note which
    operations each sublayer created: {op number: layer name} (the innermost)."""
    from .layer import Layer
    from .model import Model

    if not isinstance(model, Model):
        raise TypeError(f"draw_model: model must be a minisinga Model, got {type(model).__name__}")
    if inputs is None:
        inputs = getattr(model, "_compiled_inputs", None)
        if inputs is None:
            raise ValueError("draw_model: the model is not compiled; call "
                             "model.compile([placeholders]) first, or pass inputs=[...]")
    spans = []                     # (first op number, last op number, depth, name)

    def traced(layer: Layer, depth: int):
        forward = layer.forward

        def run(*args, **kwargs):
            start = engine._op_counter
            out = forward(*args, **kwargs)
            spans.append((start + 1, engine._op_counter, depth, layer.name))
            return out
        return run

    layers, todo = [], [(sub, 1) for sub in model._layers.values()]
    while todo:
        layer, depth = todo.pop()
        layers.append((layer, depth))
        todo.extend((sub, depth + 1) for sub in layer._layers.values())
    saved = {k: t.to_numpy() for k, t in model.get_states().items()}
    was_training = engine.training
    # NOTE: an instance attribute shadows the class's forward for this one call
    # (and is deleted after), so no class is changed.
    for layer, depth in layers:
        object.__setattr__(layer, "forward", traced(layer, depth))
    try:
        engine.training = True
        y = model.forward(*inputs)
    finally:
        engine.training = was_training
        for layer, _ in layers:
            object.__delattr__(layer, "forward")
        model.set_states(saved)     # (batch norm's running statistics moved)
    owner: dict[int, tuple[int, str]] = {}
    for first, last, depth, name in spans:
        for k in range(first, last + 1):
            if k not in owner or owner[k][0] < depth:
                owner[k] = (depth, name)
    return y, {k: name for k, (_, name) in owner.items()}


def model_to_dot(model, inputs=None) -> str:
    """DOT text of a compiled Model's forward pass, one cluster per layer.

    Args:
        model: a ``minisinga.model.Model`` that ``compile`` has seen.
        inputs: the input Tensors; by default the placeholders given to
            ``compile``.  The forward pass runs once (its values are not used;
            batch norm's running statistics are restored after it).
    """
    y, owner = _trace_model(model, inputs)
    if isinstance(y, (tuple, list)):
        y = y[0]
    return _dot_text(_build(y, cluster_of=owner))


def draw_model(model, path=None, inputs=None, engine: str = "auto"):
    """Draw a compiled Model: its layers as boxes, the operations inside each.

    Args:
        model: a ``minisinga.model.Model`` that ``compile`` has seen.
        path: the file to write (.svg, .png or .dot); ``None`` returns the SVG
            text from the built-in layout instead.
        inputs: as in ``model_to_dot``.
        engine: as in ``draw``.

    Returns:
        ``path``, or the SVG text when ``path`` is None.
    """
    y, owner = _trace_model(model, inputs)
    if isinstance(y, (tuple, list)):
        y = y[0]
    g = _build(y, cluster_of=owner)
    if path is None:
        return _svg_text(g)
    return _render(g, path, engine)
