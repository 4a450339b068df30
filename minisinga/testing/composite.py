"""The functions of SINGA's ``tensor`` module that compute: each is built from
other operations, so it has no Operation (and no backward) of its own; the
gradient comes through the operations it is made of.  Here: their registry
entries, so that each is gradient-checked and compared with NumPy like every
operation (the meta-test asks for none: they have no Operation).  The functions
live in minisinga/tensor.py; docs: docs/ops/tensor.md.

- ``einsum(ops, A, B)`` and ``tensordot(A, B, axes)``: transposes and reshapes
  around one (batched) ``matmul``;
- ``repeat(t, repeats, axis)`` and ``t[key]`` (``Tensor.__getitem__``): a
  ``gather`` through the positions they take;
- ``square(t)``: ``mul(t, t)``; ``sum(t, axis)``: ``reduce_sum`` without kept
  axes; ``mult(A, B)``: ``matmul`` (a vector B as a column).
"""
from __future__ import annotations

import numpy as np

from .. import tensor
from .registry import OpInfo, Sample, register


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


register(OpInfo("einsum", (), lambda a, b, ops: tensor.einsum(ops, a, b),
                lambda a, b, ops: np.einsum(ops, a, b),
                lambda rng: [Sample([_u(rng, 3, 4), _u(rng, 4, 2)], {"ops": "ij,jk->ik"}),
                             Sample([_u(rng, 2, 3, 4), _u(rng, 2, 4, 5)],
                                    {"ops": "bij,bjk->bik"}),
                             Sample([_u(rng, 4, 3), _u(rng, 4, 2)], {"ops": "ki,kj->kij"}),
                             Sample([_u(rng, 3, 4), _u(rng, 3, 4)], {"ops": "ij,ij->i"}),
                             Sample([_u(rng, 2, 3, 4), _u(rng, 3, 5)],
                                    {"ops": "ijk,jl->lki"}),
                             Sample([_u(rng, 3, 4), _u(rng, 4, 2)], {"ops": "ij,jk->i"}),
                             Sample([_u(rng, 3, 4), _u(rng, 3, 4)], {"ops": "ij,ij->"})]))
register(OpInfo("tensordot", (), lambda a, b, axes=2: tensor.tensordot(a, b, axes),
                lambda a, b, axes=2: np.tensordot(a, b, axes),
                lambda rng: [Sample([_u(rng, 2, 3, 4), _u(rng, 3, 4, 2)]),
                             Sample([_u(rng, 3, 4), _u(rng, 4, 5)], {"axes": 1}),
                             Sample([_u(rng, 3, 2, 4), _u(rng, 4, 2, 5)],
                                    {"axes": ([1, 2], [1, 0])}),
                             Sample([_u(rng, 2, 3), _u(rng, 4)], {"axes": 0})]))
register(OpInfo("repeat", (), lambda x, repeats, axis=None: tensor.repeat(x, repeats, axis),
                lambda x, repeats, axis=None: np.repeat(x, repeats, axis),
                lambda rng: [Sample([_u(rng, 2, 3)], {"repeats": 2}),
                             Sample([_u(rng, 2, 3)], {"repeats": 2, "axis": 1}),
                             Sample([_u(rng, 3, 2)], {"repeats": [1, 0, 3], "axis": 0})]))
register(OpInfo("getitem", (), lambda x, key: x[key], lambda x, key: x[key],
                lambda rng: [Sample([_u(rng, 4, 3)], {"key": 1}),
                             Sample([_u(rng, 4, 3)], {"key": -1}),
                             Sample([_u(rng, 4, 3)], {"key": slice(1, 3)}),
                             Sample([_u(rng, 5, 3)], {"key": slice(None, None, -2)}),
                             Sample([_u(rng, 4, 3, 2)], {"key": (slice(0, 3), 1)}),
                             Sample([_u(rng, 4, 3)], {"key": (2, 0)})]))
register(OpInfo("square", (), tensor.square, np.square,
                lambda rng: [Sample([_u(rng, 3, 4)]), Sample([_u(rng, 5)])]))
register(OpInfo("tensor_sum", (), lambda x, axis=None: tensor.sum(x, axis),
                lambda x, axis=None: np.sum(x, axis),
                lambda rng: [Sample([_u(rng, 3, 4)]), Sample([_u(rng, 3, 4)], {"axis": 1}),
                             Sample([_u(rng, 2, 3, 4)], {"axis": (0, 2)})]))
register(OpInfo("mult", (), lambda a, b: tensor.mult(a, b), lambda a, b: a @ b,
                lambda rng: [Sample([_u(rng, 3, 4), _u(rng, 4, 2)]),
                             Sample([_u(rng, 3, 4), _u(rng, 4)]),
                             Sample([_u(rng, 2, 3, 4), _u(rng, 2, 4, 5)])]))
