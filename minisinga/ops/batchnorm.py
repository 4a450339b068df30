"""Batch normalisation over the batch and spatial axes.  Derivations: docs/ops/batchnorm.md.

``batchnorm_2d(x, scale, bias, running_mean, running_var, momentum=0.9, eps=1e-5)``
normalises each channel of x (N, C, H, W) (or (N, C)) over its m = N*H*W values.

* Training (``engine.training`` True, or ``training=True``): the batch mean and the
  biased batch variance normalise x, and the running statistics are updated IN PLACE,
  with SINGA's (cuDNN's) convention, in which momentum weights the NEW batch:

      running_mean = (1 - momentum) * running_mean + momentum * mean
      running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)

  (the running variance takes the unbiased batch variance).  PyTorch's momentum=0.1
  is this rule with momentum 0.1; SINGA's default 0.9 forgets the past quickly.
* Inference: the running statistics normalise x, which nothing changes.

The running statistics never influence a training-mode output, so evaluating the
operation repeatedly (as gradcheck does) changes them but not the result.
"""
from __future__ import annotations

from .. import backend, dtypes, engine
from .._tensor import Tensor
from ..ctensor import CTensor
from ._util import check_float

__all__ = ["_BatchNorm2d", "batchnorm_2d"]


def check_hyperparameters(where: str, momentum, eps) -> tuple[float, float]:
    """momentum in [0, 1] and eps > 0, as floats; else a clear error naming ``where``."""
    for name, v in (("momentum", momentum), ("eps", eps)):
        if not dtypes.is_number(v):
            raise TypeError(f"{where}: {name} must be a number, got {v!r}")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{where}: momentum must be in [0, 1], got {momentum!r}")
    if not eps > 0:
        raise ValueError(f"{where}: eps must be > 0, got {eps!r}")
    return float(momentum), float(eps)


class _BatchNorm2d(engine.Operation):
    r"""Batch normalisation per channel over (N, H, W), shaped like SINGA's operation:
    ``_BatchNorm2d(running_mean, running_var, momentum=0.9, eps=1e-5, training=None)(x, scale, bias)``;
    the function is ``batchnorm_2d(x, scale, bias, running_mean, running_var, ...)``.

    Forward: $y = \gamma \hat{x} + \beta$, $\hat{x} = (x - \mu)/\sqrt{\sigma^2 + \epsilon}$; training: $\mu, \sigma^2$ the batch mean and biased variance of the channel's $m = NHW$ values; inference: the running statistics
    Grad x: training: $\bar{x} = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}\big(\bar{y} - \frac{1}{m}\sum \bar{y} - \frac{\hat{x}}{m}\sum \bar{y}\hat{x}\big)$; inference: $\bar{x} = \gamma \bar{y}/\sqrt{\sigma^2+\epsilon}$
    Grad scale: $\bar{\gamma} = \sum_{n,h,w} \bar{y}\,\hat{x}$
    Grad bias: $\bar{\beta} = \sum_{n,h,w} \bar{y}$
    Convention: running_mean and running_var are states kept on the operation (not inputs: no gradient); training updates them in place, $r \leftarrow (1-\text{momentum})\,r + \text{momentum}\cdot$ (batch statistic), with the unbiased variance $\sigma^2 m/(m-1)$
    Derivation: ops/batchnorm.md#batchnorm_2d
    """

    def __init__(self, running_mean: Tensor, running_var: Tensor, momentum: float = 0.9,
                 eps: float = 1e-5, training: bool | None = None, where: str = "batchnorm_2d",
                 name: str | None = None):
        super().__init__(name)
        for argname, t in (("running_mean", running_mean), ("running_var", running_var)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{where}: {argname} must be a Tensor, got {type(t).__name__}")
        # where: how errors name the caller (a layer passes "BatchNorm2d 'bn1'")
        self.momentum, self.eps = check_hyperparameters(where, momentum, eps)
        self.where, self.training = where, training
        # NOTE: the Tensors, not their CTensors: states the kernel updates in place,
        # which backward never reads (so the in-place rule has nothing to check here)
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x, scale, bias):
        where = self.where
        running_mean, running_var = self.running_mean.data, self.running_var.data
        check_float(where, x, scale, bias, running_mean, running_var,
                    names=["x", "scale", "bias", "running_mean", "running_var"])
        if len(x.shape) not in (2, 4):
            raise ValueError(f"{where}: x must be 4-D (N, C, H, W) or 2-D (N, C), got shape "
                             f"{x.shape}")
        N, C = x.shape[:2]
        HW = x.size // (N * C) if N * C else 1
        for name, t in (("scale", scale), ("bias", bias), ("running_mean", running_mean),
                        ("running_var", running_var)):
            if t.shape != (C,):
                raise ValueError(f"{where}: {name} must have shape ({C},) (one per channel of "
                                 f"x {x.shape}), got {t.shape}")
        training = engine.training if self.training is None else bool(self.training)
        if training and N * HW < 2:
            raise ValueError(f"{where}: training needs more than one value per channel to "
                             f"compute a batch variance, got x {x.shape}")
        y = CTensor._new(x.shape, x.dtype, x.device)
        self.mean = CTensor((C,), x.dtype, x.device)
        self.invstd = CTensor((C,), x.dtype, x.device)
        if x.size:
            if training:
                backend.kernel("batchnorm2d_forward_training", x)(
                    y.ptr, self.mean.ptr, self.invstd.ptr, running_mean.ptr, running_var.ptr,
                    x.ptr, scale.ptr, bias.ptr, self.momentum, self.eps, N, C, HW)
            else:
                backend.kernel("batchnorm2d_forward_inference", x)(
                    y.ptr, self.mean.ptr, self.invstd.ptr, x.ptr, scale.ptr, bias.ptr,
                    running_mean.ptr, running_var.ptr, self.eps, N, C, HW)
        self.x, self.scale, self.used_batch_stats, self.dims = x, scale, training, (N, C, HW)
        return y

    def backward(self, dy):
        N, C, HW = self.dims
        dx = CTensor._new(dy.shape, dy.dtype, dy.device)
        dscale = CTensor((C,), dy.dtype, dy.device)
        dbias = CTensor((C,), dy.dtype, dy.device)
        if dy.size:
            backend.kernel("batchnorm2d_backward", dy)(
                dx.ptr, dscale.ptr, dbias.ptr, dy.ptr, self.x.ptr, self.scale.ptr,
                self.mean.ptr, self.invstd.ptr, int(self.used_batch_stats), N, C, HW)
        return dx, dscale, dbias


def batchnorm_2d(x: Tensor, scale: Tensor, bias: Tensor, running_mean: Tensor,
                 running_var: Tensor, momentum: float = 0.9, eps: float = 1e-5,
                 training: bool | None = None) -> Tensor:
    """Batch-normalise x (N, C, H, W) or (N, C) per channel (differentiable in x, scale, bias).

    ``scale``, ``bias``, ``running_mean`` and ``running_var`` are (C,) Tensors.
    ``training=None`` follows ``engine.training``: True uses the batch statistics and
    updates the running ones in place (momentum weights the new batch, SINGA's rule);
    False uses the running statistics.
    """
    op = _BatchNorm2d(running_mean, running_var, momentum, eps, training)
    return op(x, scale, bias)[0]
