"""minisinga.operations: every operation under one name.

The operations live in ``minisinga/ops/``, one module per family (SINGA keeps
them in one 5,770-line file; minisinga keeps the names and splits the files).
This module gathers them, so that minisinga's own modules can write
``ops.relu(x)`` after ``from . import operations as ops``; ``minisinga.autograd``
re-exports everything here under SINGA's names.  (A module of its own, not the
``ops`` package itself: there the function ``shape`` would hide the module
``ops/shape.py``.)
"""
from .ops import (
    activation,
    batchnorm,
    conv,
    elementwise,
    indexing,
    linalg,
    logic,
    loss,
    mathfn,
    pooling,
    reduce,
    shape,
    trig,
)

# Every module's names, listed, so that ``from .operations import *`` also passes on
# SINGA's names that start with an underscore (_and, _not, _BatchNorm2d...).  (Made
# before the imports below, after which the name ``shape`` is the function.)
__all__ = [
    *activation.__all__,
    *batchnorm.__all__,
    *conv.__all__,
    *elementwise.__all__,
    *indexing.__all__,
    *linalg.__all__,
    *logic.__all__,
    *loss.__all__,
    *mathfn.__all__,
    *pooling.__all__,
    *reduce.__all__,
    *shape.__all__,
    *trig.__all__,
]

from .ops.activation import *  # noqa: E402,F401,F403
from .ops.batchnorm import *  # noqa: E402,F401,F403
from .ops.conv import *  # noqa: E402,F401,F403
from .ops.elementwise import *  # noqa: E402,F401,F403
from .ops.indexing import *  # noqa: E402,F401,F403
from .ops.linalg import *  # noqa: E402,F401,F403
from .ops.logic import *  # noqa: E402,F401,F403
from .ops.loss import *  # noqa: E402,F401,F403
from .ops.mathfn import *  # noqa: E402,F401,F403
from .ops.pooling import *  # noqa: E402,F401,F403
from .ops.reduce import *  # noqa: E402,F401,F403
from .ops.shape import *  # noqa: E402,F401,F403
from .ops.trig import *  # noqa: E402,F401,F403
