"""minisinga.initializer: SINGA's parameter initialisers.

Every function fills a Tensor **in place** and returns it, so calls chain::

    from minisinga import initializer, tensor
    W = initializer.he_normal(tensor.Tensor((256, 128)))

Random numbers come from the tensor's device generator (``Tensor.gaussian`` /
``Tensor.uniform``, computed by the C kernels), so ``device.set_rand_seed(s)``
reproduces an initialisation exactly.

Fans (``fan_in``, ``fan_out``) are read from the shape, as SINGA does:

=====================  ==========================  ===========================
weight shape           fan_in                      fan_out
=====================  ==========================  ===========================
2-D ``(in, out)``      ``in``                      ``out``
3/4/5-D conv           ``in * kh * kw (* ...)``    ``out * kh * kw (* ...)``
``(out, in, kh, kw)``
any other              ``sqrt(size)``              ``sqrt(size)``
=====================  ==========================  ===========================

The variance-scaling family (SINGA's, adapted by SINGA from Keras):

=================  ===============================  =====================
function           distribution                     n
=================  ===============================  =====================
lecun_uniform      U(-sqrt(3/n), sqrt(3/n))         fan_in
lecun_normal       N(0, 1/n)                        fan_in
glorot_uniform     U(-sqrt(3/n), sqrt(3/n))         (fan_in + fan_out)/2
glorot_normal      N(0, 1/n)                        (fan_in + fan_out)/2
he_uniform         U(-sqrt(6/n), sqrt(6/n))         fan_in
he_normal          N(0, 2/n)                        fan_in
=================  ===============================  =====================

(So ``glorot_uniform``'s bound is ``sqrt(6 / (fan_in + fan_out))``.)  Like SINGA,
the "normal" ones draw from an untruncated Gaussian with exactly that standard
deviation (SINGA's docstrings say "truncated", its code does not truncate).

Differences from SINGA, on purpose:

* SINGA's ``eye`` and ``orthogonal`` raise for every 2-D tensor (their shape
  test is inverted), so they never work; here they work on 2-D tensors, and
  ``orthogonal`` also on N-D ones (viewed as ``(shape[0], rest)``).
* ``orthogonal`` draws its Gaussian matrix from the device generator (SINGA
  uses ``np.random``, which ``set_rand_seed`` does not reach).  Its QR
  factorisation runs in NumPy on the host: this is a one-off initialisation
  utility, not an operation, and no kernel here factorises matrices.
* SINGA's ``glorot`` fills N(0, 1) and then rebinds ``t *= scale`` to a new
  tensor; here the values are scaled in place (N(0, 2/(rows+cols))).
"""
from __future__ import annotations

import math

import numpy as np

from . import dtypes
from .tensor import Tensor

__all__ = ["eye", "orthogonal", "lecun_uniform", "lecun_normal", "glorot_uniform",
           "glorot_normal", "he_uniform", "he_normal", "gaussian", "uniform", "xavier",
           "glorot", "msra"]


def _check_tensor(fn: str, t, need_float: bool = True, min_ndim: int = 0) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"initializer.{fn}: t must be a Tensor, got {type(t).__name__}")
    if need_float and t.dtype not in dtypes.FLOAT_TYPES:
        raise TypeError(f"initializer.{fn}: t must be float32 or float64, got "
                        f"{dtypes.name(t.dtype)}")
    if t.ndim() < min_ndim:
        raise ValueError(f"initializer.{fn}: t must have at least {min_ndim} dimensions, "
                         f"got shape {t.shape}")
    return t


def _compute_fans(shape) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight of this shape (the table in the module docstring)."""
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    if len(shape) in (3, 4, 5):  # conv weights, channels first: (out, in, k1, k2, ...)
        receptive = math.prod(shape[2:])
        return float(shape[1] * receptive), float(shape[0] * receptive)
    root = math.sqrt(math.prod(shape))  # no structure to read: SINGA's fallback
    return root, root


def _variance_scaling(fn: str, t, scale: float, mode: str, distribution: str) -> Tensor:
    """Fill t with variance ``scale / n`` (n from ``mode``), Gaussian or uniform."""
    _check_tensor(fn, t)
    fan_in, fan_out = _compute_fans(t.shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, n)  # NOTE: max(1, n) keeps empty tensors finite
    if distribution == "normal":
        return t.gaussian(0.0, math.sqrt(variance))
    limit = math.sqrt(3.0 * variance)  # U(-a, a) has variance a^2 / 3
    return t.uniform(-limit, limit)


def eye(t: Tensor) -> Tensor:
    """Ones on the diagonal, zeros elsewhere (a 2-D, possibly rectangular tensor)."""
    _check_tensor("eye", t, need_float=False)
    if t.ndim() != 2:
        raise ValueError(f"initializer.eye: t must be 2-D, got shape {t.shape}")
    rows, cols = t.shape
    return t.copy_from_numpy(np.eye(rows, cols, dtype=dtypes.to_numpy(t.dtype)))


def orthogonal(t: Tensor, gain: float = 1.0) -> Tensor:
    """A random orthogonal matrix times ``gain`` (Saxe et al. 2013).

    t is viewed as (shape[0], prod(shape[1:])).  With more rows than columns
    the columns are orthonormal (Q^T Q = I); otherwise the rows are (Q Q^T = I).
    Q comes from the QR factorisation of a Gaussian matrix drawn from t's device
    generator, with the signs of R's diagonal folded in so that Q is uniformly
    distributed (Haar).  The QR runs in NumPy on the host (see module docstring).
    """
    _check_tensor("orthogonal", t, min_ndim=2)
    if not dtypes.is_number(gain):
        raise TypeError(f"initializer.orthogonal: gain must be a number, got {gain!r}")
    rows = t.shape[0]
    cols = math.prod(t.shape[1:])
    if rows * cols == 0:
        return t
    # The random numbers: the device generator, so a seed reproduces them.
    a = Tensor((max(rows, cols), min(rows, cols)), t.device, t.dtype).gaussian(0.0, 1.0)
    q, r = np.linalg.qr(a.to_numpy().astype(np.float64))  # q: (max, min), orthonormal columns
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)           # NOTE: makes Q Haar-distributed
    if rows < cols:
        q = q.T
    q = (gain * q).reshape(t.shape)
    return t.copy_from_numpy(np.ascontiguousarray(q.astype(dtypes.to_numpy(t.dtype))))


def lecun_uniform(t: Tensor) -> Tensor:
    """U(-sqrt(3 / fan_in), sqrt(3 / fan_in)) (LeCun et al. 1998, Efficient BackProp)."""
    return _variance_scaling("lecun_uniform", t, 1.0, "fan_in", "uniform")


def lecun_normal(t: Tensor) -> Tensor:
    """N(0, 1 / fan_in) (Klambauer et al. 2017, self-normalising networks)."""
    return _variance_scaling("lecun_normal", t, 1.0, "fan_in", "normal")


def glorot_uniform(t: Tensor) -> Tensor:
    """U(-sqrt(6 / (fan_in + fan_out)), +sqrt(...)) (Glorot and Bengio 2010), a.k.a. Xavier."""
    return _variance_scaling("glorot_uniform", t, 1.0, "fan_avg", "uniform")


def glorot_normal(t: Tensor) -> Tensor:
    """N(0, 2 / (fan_in + fan_out)) (Glorot and Bengio 2010)."""
    return _variance_scaling("glorot_normal", t, 1.0, "fan_avg", "normal")


def he_uniform(t: Tensor) -> Tensor:
    """U(-sqrt(6 / fan_in), sqrt(6 / fan_in)) (He et al. 2015), for ReLU networks."""
    return _variance_scaling("he_uniform", t, 2.0, "fan_in", "uniform")


def he_normal(t: Tensor) -> Tensor:
    """N(0, 2 / fan_in) (He et al. 2015), for ReLU networks."""
    return _variance_scaling("he_normal", t, 2.0, "fan_in", "normal")


def _explicit_fans(fn: str, fan_in, fan_out) -> float:
    """SINGA's older rule: the average of the fans given, or the one given alone."""
    for name, v in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer)) or \
                not 0 <= v < math.inf:   # (NaN fails both comparisons)
            raise ValueError(f"initializer.{fn}: {name} must be a number >= 0, got {v!r}")
    if fan_in <= 0 and fan_out <= 0:
        raise ValueError(f"initializer.{fn}: fan_in and fan_out cannot both be 0")
    both = fan_in > 0 and fan_out > 0
    return (fan_in + fan_out) / 2.0 if both else float(fan_in + fan_out)


def gaussian(t: Tensor, fan_in: float = 0, fan_out: float = 0) -> Tensor:
    """N(0, 2 / n) with n the average of the fans given (or the one given alone).

    SINGA's (deprecated) He/Glorot-style initialiser with explicit fans:
    std = sqrt(4 / (fan_in + fan_out)) with both, sqrt(2 / fan) with one.
    """
    _check_tensor("gaussian", t)
    n = _explicit_fans("gaussian", fan_in, fan_out)
    return t.gaussian(0.0, math.sqrt(2.0 / n))


def uniform(t: Tensor, fan_in: float = 0, fan_out: float = 0) -> Tensor:
    """U(-sqrt(3 / n), sqrt(3 / n)) with n the average of the fans given (or the one alone).

    SINGA 1.x/2.x's uniform initialiser (variance 1 / n).
    """
    _check_tensor("uniform", t)
    n = _explicit_fans("uniform", fan_in, fan_out)
    limit = math.sqrt(3.0 / n)
    return t.uniform(-limit, limit)


def _rows_cols(fn: str, t) -> tuple[int, int]:
    _check_tensor(fn, t, min_ndim=2)
    if t.shape[0] + t.shape[1] == 0:
        raise ValueError(f"initializer.{fn}: t has shape {t.shape}; needs rows + cols > 0")
    return t.shape[0], t.shape[1]


def xavier(t: Tensor) -> Tensor:
    """U(-sqrt(6 / (rows + cols)), +sqrt(...)) on a matrix (SINGA's deprecated name)."""
    rows, cols = _rows_cols("xavier", t)
    limit = math.sqrt(6.0 / (rows + cols))
    return t.uniform(-limit, limit)


def glorot(t: Tensor) -> Tensor:
    """N(0, 2 / (rows + cols)) on a matrix (SINGA's deprecated name)."""
    rows, cols = _rows_cols("glorot", t)
    return t.gaussian(0.0, math.sqrt(2.0 / (rows + cols)))


def msra(t: Tensor) -> Tensor:
    """N(0, 2 / rows) on a matrix (He et al. 2015; SINGA's deprecated name)."""
    _check_tensor("msra", t, min_ndim=2)
    if t.shape[0] == 0:
        raise ValueError(f"initializer.msra: t has shape {t.shape}; needs rows > 0")
    return t.gaussian(0.0, math.sqrt(2.0 / t.shape[0]))
