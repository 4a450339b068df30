"""minisinga.sonnx: ONNX export and import (SINGA's ``sonnx``).

Needs the optional ``onnx`` package (``pip install -e ".[onnx]"``);
``import minisinga`` never imports it, ``import minisinga.sonnx`` does.

Export (``export.py``): ``to_onnx(inputs, outputs)`` walks the graph that
autograd recorded, from the outputs' creators back to the inputs, and writes
one ONNX node (or a few) per Operation; parameters become initializers.
``export(model, inputs)`` records a Model's forward and exports it in one call.

Import (``backend.py``): ``prepare(onnx_model, device)`` returns a ``SingaRep``
whose ``run(inputs)`` executes the graph node by node on minisinga's kernels;
``SingaBackend`` is the same for ``onnx.backend.test``; ``SONNXModel`` is a
``Model`` whose float initializers are trainable parameters.

Both sides speak opset ``OPSET`` (13); import also reads models of opsets
6 to 22 where the operators it knows changed form (see docs/onnx.md).
"""
from __future__ import annotations

try:
    import onnx
except ImportError as e:  # pragma: no cover - exercised only without onnx
    raise ImportError("minisinga.sonnx needs the onnx package: pip install onnx "
                      "(or pip install -e \".[onnx]\" in a minisinga checkout)") from e

from .backend import SingaBackend, SingaRep, SONNXModel, prepare, run_model, run_node
from .export import OPSET, NotExportableError, export, to_onnx

save = onnx.save
load = onnx.load

__all__ = ["OPSET", "NotExportableError", "to_onnx", "export", "prepare", "run_model",
           "run_node", "SingaBackend", "SingaRep", "SONNXModel", "save", "load"]
