"""minisinga: Apache SINGA's Python training API, small enough to read in a
weekend, computed by handwritten C (and CUDA) kernels.

Modules: ``tensor``, ``device``, ``autograd``, ``layer``, ``model``, ``opt``.
"""
from . import device, tensor
from .tensor import Tensor

__version__ = "0.1.0"
__all__ = ["Tensor", "device", "tensor", "__version__"]
