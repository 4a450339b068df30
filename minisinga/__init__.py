"""minisinga: Apache SINGA's Python training API, small enough to read in a
weekend, computed by handwritten C (and CUDA) kernels.

Modules: ``tensor``, ``device``, ``autograd``, ``opt``, ``layer``,
``initializer`` (and, as it lands, ``model``).  ``minisinga.gradcheck(fn,
inputs)`` checks the gradients of any function built from operations, your own
included.
"""
from . import autograd, device, initializer, layer, opt, tensor, testing
from .tensor import Tensor
from .testing import GradcheckError, gradcheck

__version__ = "0.1.0"
__all__ = ["Tensor", "autograd", "device", "initializer", "layer", "opt", "tensor", "testing",
           "gradcheck", "GradcheckError", "__version__"]
