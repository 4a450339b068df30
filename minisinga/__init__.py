"""minisinga: Apache SINGA's Python training API, small enough to read in a
weekend, computed by handwritten C (and CUDA) kernels.

Modules: ``tensor``, ``device``, ``autograd``, ``opt``, ``layer``,
``initializer``, ``model`` (with graph mode, in ``graph``).
``minisinga.gradcheck(fn, inputs)`` checks the gradients of any function built
from operations, your own included.  ``minisinga.viz`` (imported on its own)
draws the graph that autograd recorded.
"""
from . import autograd, device, graph, initializer, layer, model, opt, tensor, testing
from .tensor import Tensor
from .testing import GradcheckError, gradcheck

__version__ = "0.1.0"
__all__ = ["Tensor", "autograd", "device", "graph", "initializer", "layer", "model", "opt",
           "tensor", "testing", "gradcheck", "GradcheckError", "__version__"]
