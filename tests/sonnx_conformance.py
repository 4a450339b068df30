"""ONNX's own conformance cases, as data for tests/test_sonnx.py (needs onnx).

Three sources, all inside the onnx wheel (nothing is downloaded):

* node cases: ``onnx.backend.test.case.node.collect_testcases()``, one small
  model per case; we take every case whose operators all have an import
  handler (``minisinga.sonnx.backend.HANDLERS``);
* model cases: ``onnx/backend/test/data/{pytorch-converted, pytorch-operator,
  simple}/<case>/model.onnx`` with ``test_data_set_*/{input,output}_*.pb``;
* the nine ``light`` networks: ``onnx/backend/test/data/light/light_<net>.onnx``
  and the expected ``light_<net>_output_0.pb``; the input is what onnx's own
  runner feeds them, ``arange(n) / n`` in the input's shape.

``run_case(case)`` runs one case through ``sonnx.prepare`` and compares every
output with the expected one (dtype equal, values within the case's rtol/atol).
"""
from __future__ import annotations

import glob
import os
import warnings
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from minisinga import sonnx
from minisinga.sonnx.backend import HANDLERS

DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
LIGHT = ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
         "shufflenet", "squeezenet", "vgg19", "zfnet512")
# onnx's own tolerances for the light networks (onnx/backend/test/case/model)
LIGHT_RTOL = {"densenet121": 2e-3}


@dataclass
class Case:
    name: str
    kind: str            # "node", "pytorch-converted", "pytorch-operator", "simple", "light"
    load: object         # () -> (model, [(inputs, outputs), ...])
    rtol: float = 1e-3
    atol: float = 1e-7


def _arr(v):
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    return np.asarray(v) if isinstance(v, np.generic) else v  # a 0-d result of NumPy


def node_cases() -> list[Case]:
    """The node cases whose every operator minisinga's importer handles."""
    from onnx.backend.test.case import node
    with warnings.catch_warnings():  # onnx's generators divide by zero on purpose
        warnings.simplefilter("ignore")
        collected = node.collect_testcases()
    out = []
    for c in collected:
        if {n.op_type for n in c.model.graph.node} <= set(HANDLERS):
            data = [([_arr(i) for i in ins], [_arr(o) for o in outs]) for ins, outs in c.data_sets]
            out.append(Case(c.name, "node", lambda m=c.model, d=data: (m, d), c.rtol, c.atol))
    return out


def _pb_list(folder: str, prefix: str) -> list:
    files = glob.glob(os.path.join(folder, f"{prefix}_*.pb"))
    files.sort(key=lambda f: int(f.rsplit("_", 1)[1][:-3]))
    return [numpy_helper.to_array(onnx.load_tensor(f)) for f in files]


def model_cases() -> list[Case]:
    out = []
    for kind in ("pytorch-converted", "pytorch-operator", "simple"):
        for d in sorted(glob.glob(os.path.join(DATA, kind, "test_*"))):
            def load(d=d):
                sets = [(_pb_list(s, "input"), _pb_list(s, "output"))
                        for s in sorted(glob.glob(os.path.join(d, "test_data_set_*")))]
                return onnx.load(os.path.join(d, "model.onnx")), sets
            out.append(Case(os.path.basename(d), kind, load))
    return out


def light_cases() -> list[Case]:
    out = []
    for net in LIGHT:
        def load(net=net):
            model = onnx.load(os.path.join(DATA, "light", f"light_{net}.onnx"))
            inits = {i.name for i in model.graph.initializer}
            feeds = []
            for x in model.graph.input:
                if x.name not in inits:
                    shape = tuple(d.dim_value or 1 for d in x.type.tensor_type.shape.dim)
                    n = int(np.prod(shape))
                    feeds.append((np.arange(n).reshape(shape) / n).astype(np.float32))
            expected = numpy_helper.to_array(onnx.load_tensor(
                os.path.join(DATA, "light", f"light_{net}_output_0.pb")))
            return model, [(feeds, [expected])]
        out.append(Case(f"test_{net}", "light", load, rtol=LIGHT_RTOL.get(net, 1e-3)))
    return out


def all_cases() -> list[Case]:
    return node_cases() + model_cases() + light_cases()


def run_case(case: Case) -> None:
    """Import and run the case; AssertionError on a wrong output."""
    model, sets = case.load()
    rep = sonnx.prepare(model)
    for inputs, expected in sets:
        got = rep.run(inputs)
        assert len(got) == len(expected), f"{case.name}: {len(got)} outputs, expected " \
                                          f"{len(expected)}"
        for k, (g, e) in enumerate(zip(got, expected)):
            assert isinstance(e, np.ndarray), f"{case.name}: output {k} is not a tensor"
            assert g.dtype == e.dtype, f"{case.name}: output {k} is {g.dtype}, expected {e.dtype}"
            np.testing.assert_allclose(g, e, rtol=case.rtol, atol=case.atol,
                                       err_msg=f"{case.name}: output {k}")
