"""Reference solutions: docs/ops/matmul.md."""
from __future__ import annotations


def matmul_backward(a, b, dy):
    return dy @ b.T, a.T @ dy


def gemm_backward(A, B, dy, alpha, transA, transB):
    opA = A.T if transA else A
    opB = B.T if transB else B
    dopA = alpha * dy @ opB.T
    dopB = alpha * opA.T @ dy
    return (dopA.T if transA else dopA), (dopB.T if transB else dopB)


def add_bias_backward(dy, axis):
    return dy.sum(axis=axis)
