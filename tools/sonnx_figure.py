"""Draw the ONNX graph that sonnx.export writes for the examples' CNN, for
docs/onnx.md: nodes as boxes (op type and the minisinga Operation they came
from), initializers as notes, edges labelled with their shapes.

    python tools/sonnx_figure.py        # needs onnx and graphviz's dot
    # writes docs/images/onnx_cnn.svg
"""
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
from models import CNN  # noqa: E402

from minisinga import device, sonnx, tensor  # noqa: E402


def to_dot(model: onnx.ModelProto) -> str:
    g = onnx.shape_inference.infer_shapes(model).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    inits = {i.name: list(i.dims) for i in g.initializer}
    out = ["digraph onnx {", "  rankdir=TB; node [fontname=Helvetica, fontsize=10];",
           "  edge [fontname=Helvetica, fontsize=9];"]
    for v in g.input:
        out.append(f'  "{v.name}" [shape=oval, label="{v.name}\\n{shapes[v.name]}"];')
    for v in g.output:
        out.append(f'  "{v.name}" [shape=oval, label="{v.name}\\n{shapes[v.name]}"];')
    for k, n in enumerate(g.node):
        nid = f"node{k}"
        out.append(f'  {nid} [shape=box, style="rounded,filled", fillcolor="#e8eaf6", '
                   f'label="{n.op_type}\\n({n.name})"];')
        for name in n.input:
            if name in inits:
                out.append(f'  "{name}" [shape=note, fontsize=9, label="{name}\\n{inits[name]}"];')
                out.append(f'  "{name}" -> {nid} [style=dashed];')
            else:
                out.append(f'  "{name}" -> {nid} [label=" {shapes.get(name, "")}"];')
        for name in n.output:
            if name in {v.name for v in g.output}:
                out.append(f'  {nid} -> "{name}";')
            else:
                out.append(f'  "{name}" [shape=point, width=0.05];')
                out.append(f"  {nid} -> \"{name}\" [arrowhead=none];")
    out.append("}")
    return "\n".join(out)


def main():
    device.get_default_device().set_rand_seed(0)
    net = CNN()
    x = tensor.from_numpy(np.zeros((1, 1, 28, 28), np.float32))
    net.compile([x], is_train=False)
    dot = to_dot(sonnx.export(net, [x]))
    svg = os.path.join(HERE, "..", "docs", "images", "onnx_cnn.svg")
    subprocess.run(["dot", "-Tsvg", "-o", svg], input=dot, text=True, check=True)
    print(f"written {os.path.normpath(svg)}")


if __name__ == "__main__":
    main()
