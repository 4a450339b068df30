"""Registry entries of matmul, gemm and add_bias
(minisinga/ops/linalg.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.linalg import AddBias, Gemm, Matmul, add_bias, gemm, matmul
from .registry import OpInfo, Sample, register


def _np_gemm(A, B, C=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = alpha * ((A.T if transA else A) @ (B.T if transB else B))
    return y + beta * C if C is not None else y


def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


register(OpInfo("matmul", (Matmul,), matmul, np.matmul,
                lambda rng: [Sample([_u(rng, 3, 4), _u(rng, 4, 2)]),
                             Sample([_u(rng, 2, 3, 4), _u(rng, 2, 4, 2)], note="batched"),
                             Sample([_u(rng, 2, 3, 4), _u(rng, 4, 2)], note="b broadcast"),
                             Sample([_u(rng, 3, 4), _u(rng, 2, 1, 4, 2)], note="a broadcast"),
                             Sample([_u(rng, 2, 1, 2, 3), _u(rng, 3, 3, 2)], note="both")]))
register(OpInfo("gemm", (Gemm,), gemm, _np_gemm,
                lambda rng: [Sample([_u(rng, 3, 4), _u(rng, 4, 2), _u(rng, 3, 2)],
                                    {"alpha": 0.5, "beta": 2.0}),
                             Sample([_u(rng, 4, 3), _u(rng, 2, 4), _u(rng, 2)],
                                    {"transA": 1, "transB": 1}),
                             Sample([_u(rng, 4, 3), _u(rng, 4, 2)], {"transA": 1}),
                             Sample([_u(rng, 3, 4), _u(rng, 2, 4), _u(rng, 3, 1)],
                                    {"transB": 1, "beta": -1.5})]))
register(OpInfo("add_bias", (AddBias,), add_bias,
                lambda x, b, axis=0: x + (b.reshape(1, -1) if axis == 0 else b.reshape(-1, 1)),
                lambda rng: [Sample([_u(rng, 3, 4), _u(rng, 4)]),
                             Sample([_u(rng, 3, 4), _u(rng, 1, 4)]),
                             Sample([_u(rng, 3, 4), _u(rng, 3)], {"axis": 1})]))
