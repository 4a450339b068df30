"""The operations, one module per family (SINGA keeps them in one 5,770-line
file; minisinga keeps the names and splits the files).  This package gathers
them under one name, ``ops.relu``, ``ops.ReLU``; ``minisinga.autograd``
re-exports everything here under SINGA's names."""
from . import (
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

# Every module's names, listed, so that ``from .ops import *`` also passes on SINGA's
# names that start with an underscore (_and, _not, _BatchNorm2d...).  (Made before the
# imports below, where the function ``shape`` hides the module of that name.)
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

from .activation import *  # noqa: E402,F401,F403
from .batchnorm import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .elementwise import *  # noqa: E402,F401,F403
from .indexing import *  # noqa: E402,F401,F403
from .linalg import *  # noqa: E402,F401,F403
from .logic import *  # noqa: E402,F401,F403
from .loss import *  # noqa: E402,F401,F403
from .mathfn import *  # noqa: E402,F401,F403
from .pooling import *  # noqa: E402,F401,F403
from .reduce import *  # noqa: E402,F401,F403
from .shape import *  # noqa: E402,F401,F403
from .trig import *  # noqa: E402,F401,F403
