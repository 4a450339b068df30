"""minisinga: Apache SINGA's Python training API, small enough to read in a
weekend, computed by handwritten C (and CUDA) kernels.

Modules: ``tensor``, ``device``, ``autograd``, ``opt``, ``layer``,
``initializer``, ``model`` (with graph mode, in ``graph``).
``minisinga.gradcheck(fn, inputs)`` checks the gradients of any function built
from operations, your own included.  ``minisinga.viz`` (imported on its own)
draws the graph that autograd recorded.
"""
import importlib

from . import autograd, device, graph, initializer, layer, model, opt, tensor
from .tensor import Tensor

__version__ = "0.1.0"
__all__ = ["Tensor", "autograd", "device", "graph", "initializer", "layer", "model", "opt",
           "tensor", "testing", "gradcheck", "GradcheckError", "__version__"]


def __getattr__(name: str):
    """``minisinga.testing``, ``minisinga.gradcheck`` and ``minisinga.GradcheckError``,
    imported on first use: the gradient checker and its registry of every
    operation are for the tests and for checking your own operations, so
    ``import minisinga`` does not load them (PEP 562)."""
    if name in ("testing", "gradcheck", "GradcheckError"):
        testing = importlib.import_module("minisinga.testing")
        return testing if name == "testing" else getattr(testing, name)
    raise AttributeError(f"module 'minisinga' has no attribute {name!r}")
