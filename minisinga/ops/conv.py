"""2-D convolution, lowered onto GEMM through im2col.  Derivations: docs/ops/convolution.md.

``conv2d(x, W, b=None, stride=1, padding=0, dilation=1, group=1, pad_mode="NOTSET")``
is an NCHW cross-correlation with W of shape (out_channels, in_channels / group, kh, kw).

How it runs (minisinga/c/conv.c explains the kernels; minisinga/c/conv_fast.c has the
faster CPU code for stride 1, which conv.c chooses), image by image in C:

    col  = im2col(x[n])               (C*kh*kw, OH*OW): one column per output pixel
    y[n] = W @ col + b                one GEMM per image and group
    dx[n] = col2im(W^T @ dy[n])       one GEMM per image and group
    dW   = sum_n dy[n] @ col^T        col recomputed from x in backward; the images
                                      summed in a fixed order (deterministic)
    db   = sums of dy

Why lower onto GEMM rather than write a convolution loop: GEMM is the one kernel
made fast (blocked, packed, vectorised), and this way every convolution (stride,
dilation, groups, asymmetric padding) inherits that speed.  Why one image at a time:
one image's col (0.9 MiB for 32 channels of 28x28) stays in the L2 cache between
im2col and the GEMM, the threads share out the images without waiting for each other,
and only x is kept for backward, not a col matrix 9 times its size.

This module also holds the geometry shared with pooling: padding forms, ONNX's
SAME_UPPER / SAME_LOWER rule, and output sizes; and ``conv_geom``, the one struct in
which the kernels receive a convolution's geometry.  Every argument and shape is checked
here, in Python, before any C runs.
"""
from __future__ import annotations

from .. import backend, dtypes, engine
from .._tensor import Tensor
from ..ctensor import CTensor
from ._util import check_float

__all__ = ["_Conv2d", "conv2d", "conv_geom"]

PAD_MODES = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
IntPair = int | tuple[int, int]
Padding = int | tuple[int, int] | tuple[int, int, int, int]


# ---------------------------------------------------------------------- geometry
def int_pair(where: str, name: str, value, minimum: int) -> tuple[int, int]:
    """An int or a 2-sequence of ints (each >= minimum) as (h, w)."""
    vals = (value, value) if dtypes.is_int(value) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    if vals is None or len(vals) != 2 or not all(dtypes.is_int(v) for v in vals):
        raise TypeError(f"{where}: {name} must be an int or a pair of ints (h, w), "
                        f"got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
    return int(vals[0]), int(vals[1])


def padding4(where: str, padding) -> tuple[int, int, int, int]:
    """padding as (top, bottom, left, right): from an int p (all four), a pair
    (ph, pw) (top = bottom = ph, left = right = pw) or a 4-tuple (t, b, l, r)."""
    if dtypes.is_int(padding):
        vals = (padding,) * 4
    else:
        try:
            vals = tuple(padding)
        except TypeError:
            vals = ()
        if len(vals) == 2:
            vals = (vals[0], vals[0], vals[1], vals[1])
    if len(vals) != 4 or not all(dtypes.is_int(v) for v in vals):
        raise TypeError(f"{where}: padding must be an int, a pair (ph, pw) or a 4-tuple "
                        f"(top, bottom, left, right) of ints, got {padding!r}")
    if any(v < 0 for v in vals):
        raise ValueError(f"{where}: padding must be >= 0, got {padding!r}")
    return tuple(int(v) for v in vals)


def check_pad_mode(where: str, pad_mode, padding) -> str:
    """pad_mode is NOTSET (use ``padding``), SAME_UPPER, SAME_LOWER or VALID (no padding);
    the last three decide the padding themselves, so ``padding`` must be left at 0."""
    if not isinstance(pad_mode, str) or pad_mode.upper() not in PAD_MODES:
        raise ValueError(f"{where}: pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    pad_mode = pad_mode.upper()
    if pad_mode != "NOTSET" and any(padding4(where, padding)):
        raise ValueError(f"{where}: padding={padding!r} conflicts with pad_mode={pad_mode!r} "
                         "(which computes the padding itself); give one of them")
    return pad_mode


def same_padding(size: int, k: int, s: int, d: int, pad_mode: str) -> tuple[int, int]:
    """(begin, end) padding of one spatial axis for ONNX's SAME_* modes.

    The output has ceil(size / s) elements; the total padding is what that needs,
    split evenly, the odd one at the end (SAME_UPPER) or at the beginning (SAME_LOWER).
    """
    out = -(-size // s)
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
    small, large = total // 2, total - total // 2
    return (small, large) if pad_mode == "SAME_UPPER" else (large, small)


def conv_geom(*, N: int, C: int, H: int, W: int, KH: int, KW: int, SH: int, SW: int,
              PT: int, PL: int, DH: int, DW: int, OH: int, OW: int, O: int = 1,
              G: int = 1) -> dict[str, int]:
    """The geometry every conv kernel takes, ``ms_conv_geom`` (minisinga/c/minisinga.h),
    as a dict of its fields that cffi turns into the C struct at the call.

    x (N, C, H, W), W (O, C/G, KH, KW), y (N, O, OH, OW); stride (SH, SW), padding at
    the top and left (PT, PL), dilation (DH, DW).  Every field is a keyword and all
    are required (``im2col`` and ``col2im`` do not read O and G, which default to 1):
    cffi would leave a field missing from a hand-made dict uninitialised.  The values
    are not checked here; the callers (``_Conv2d.forward``) check them first.
    """
    return dict(N=N, C=C, H=H, W=W, O=O, G=G, KH=KH, KW=KW, SH=SH, SW=SW, PT=PT, PL=PL,
                DH=DH, DW=DW, OH=OH, OW=OW)


def spatial_geometry(where: str, x_shape, kernel, stride, pads, dilation, pad_mode):
    """Padding (t, b, l, r) and output size (OH, OW) for an (N, C, H, W) input.

    Raises ValueError when the (dilated) kernel does not fit in the padded input."""
    H, W = x_shape[2], x_shape[3]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    if pad_mode in ("SAME_UPPER", "SAME_LOWER"):
        pads = same_padding(H, kh, sh, dh, pad_mode) + same_padding(W, kw, sw, dw, pad_mode)
    elif pad_mode == "VALID":
        pads = (0, 0, 0, 0)
    t, b, l, r = pads
    ext_h, ext_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if ext_h > H + t + b or ext_w > W + l + r:
        raise ValueError(f"{where}: the kernel ({kh}, {kw}) (extent ({ext_h}, {ext_w}) with "
                         f"dilation {dilation}) is larger than the padded input "
                         f"({H + t + b}, {W + l + r}) (input {tuple(x_shape)}, padding "
                         f"(top, bottom, left, right) = {pads})")
    oh = (H + t + b - ext_h) // sh + 1
    ow = (W + l + r - ext_w) // sw + 1
    return pads, (oh, ow)


# ---------------------------------------------------------------------- the operation
class _Conv2d(engine.Operation):
    r"""2-D convolution (cross-correlation), NCHW, lowered onto GEMM:
    ``conv2d(x, W, b=None, stride=1, padding=0, dilation=1, group=1, pad_mode="NOTSET")``.

    Forward: $y_{n,o,p,q} = b_o + \sum_{c,i,j} W_{o,c,i,j}\, x_{n,\,c_0 + c,\; p s_h - t + i d_h,\; q s_w - l + j d_w}$ (0 in the padding; $c_0$ the first channel of $o$'s group), i.e. $Y = W\,\mathrm{im2col}(x) + b$ per group
    Grad x: $\bar{x} = \mathrm{col2im}(W^\top \bar{Y})$ per group
    Grad W: $\bar{W} = \bar{Y}\,\mathrm{im2col}(x)^\top$ per group
    Grad b: $\bar{b}_o = \sum_{n,p,q} \bar{y}_{n,o,p,q}$
    Derivation: ops/convolution.md#conv2d
    """

    def __init__(self, stride=1, padding=0, dilation=1, group=1, pad_mode="NOTSET",
                 where: str = "conv2d"):
        super().__init__()
        self.where = where  # how errors name the caller: a layer passes "Conv2d 'conv1'"
        self.stride = int_pair(where, "stride", stride, 1)
        self.dilation = int_pair(where, "dilation", dilation, 1)
        self.pads = padding4(where, padding)
        self.pad_mode = check_pad_mode(where, pad_mode, padding)
        if not dtypes.is_int(group) or group < 1:
            raise ValueError(f"{where}: group must be a positive int, got {group!r}")
        self.group = int(group)

    def _check(self, x: CTensor, W: CTensor, b: CTensor | None) -> None:
        where, G = self.where, self.group
        tensors, names = [x, W] + ([b] if b is not None else []), ["x", "W", "b"]
        check_float(where, *tensors, names=names[:len(tensors)])
        if len(x.shape) != 4:
            raise ValueError(f"{where}: x must be 4-D (N, C, H, W), got shape {x.shape} "
                             f"(W {W.shape})")
        if len(W.shape) != 4:
            raise ValueError(f"{where}: W must be 4-D (out_channels, in_channels/group, kh, kw), "
                             f"got shape {W.shape} (x {x.shape})")
        C, O = x.shape[1], W.shape[0]
        if C % G or O % G:
            raise ValueError(f"{where}: group={G} must divide both the input channels ({C}, "
                             f"x {x.shape}) and the output channels ({O}, W {W.shape})")
        if W.shape[1] * G != C:
            raise ValueError(f"{where}: x {x.shape} has {C} channels but W {W.shape} expects "
                             f"{W.shape[1] * G} (W.shape[1] = {W.shape[1]} per group x "
                             f"group {G})")
        if b is not None and b.shape != (O,):
            raise ValueError(f"{where}: b must have shape ({O},) (one per output channel of "
                             f"W {W.shape}), got {b.shape}")

    def forward(self, x, W, b=None):
        self._check(x, W, b)
        N, C, H, Wd = x.shape
        O, Cg, kh, kw = W.shape
        pads, (oh, ow) = spatial_geometry(self.where, x.shape, (kh, kw), self.stride,
                                          self.pads, self.dilation, self.pad_mode)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        self.geom = conv_geom(N=N, C=C, H=H, W=Wd, O=O, G=self.group, KH=kh, KW=kw, SH=sh,
                              SW=sw, PT=pads[0], PL=pads[2], DH=dh, DW=dw, OH=oh, OW=ow)
        y = CTensor((N, O, oh, ow), x.dtype, x.device)
        if y.size:
            # y[n] = W @ im2col(x[n]) + b, image by image (minisinga/c/conv.c)
            b_ptr = b.ptr if b is not None else backend.ffi.NULL
            _check_alloc(backend.kernel("conv2d_forward", x)(y.ptr, x.ptr, W.ptr, b_ptr,
                                                              self.geom))
        # NOTE: backward recomputes im2col(x) from x, so only x is kept, and only
        # when W's gradient will be asked for.
        self.x = x if self.requires_grad and self.needs_input_grad[1] else None
        self.W, self.has_b = W, b is not None
        return y

    def backward(self, dy):
        geom = self.geom
        N, C, H, Wd, O = geom["N"], geom["C"], geom["H"], geom["W"], geom["O"]
        need = self.needs_input_grad
        if need[1] and self.x is None:
            raise RuntimeError(
                f"conv2d ({self.name}): backward already ran through this graph and released "
                "the input x it kept for W's gradient, so it cannot run again. Run the "
                "forward pass again, or pass retain_graph=True to the first "
                "autograd.backward/gradients call to keep what the graph saved")
        dx = CTensor((N, C, H, Wd), dy.dtype, dy.device) if need[0] else None
        dW = CTensor(self.W.shape, dy.dtype, dy.device) if need[1] else None
        db = CTensor((O,), dy.dtype, dy.device) if self.has_b and need[2] else None
        if dy.size:
            # dx = col2im(W^T dY), dW = dY im2col(x)^T, db = sums of dY (minisinga/c/conv.c)
            null = backend.ffi.NULL
            x_ptr = self.x.ptr if self.x is not None else null
            _check_alloc(backend.kernel("conv2d_backward", dy)(
                dx.ptr if dx is not None else null, dW.ptr if dW is not None else null,
                db.ptr if db is not None else null, dy.ptr, x_ptr, self.W.ptr, self.geom))
        else:   # no output pixels: every gradient is 0
            for g in (dx, dW, db):
                if g is not None:
                    backend.fill(g, 0.0)
        if not self.retain_saved:   # free x now: the rest of the backward pass runs without it
            self.x = None
        return (dx, dW, db) if self.has_b else (dx, dW)


def _check_alloc(status: int) -> None:
    """The conv kernels return -1 when they could not allocate their col buffer."""
    if status != 0:
        raise MemoryError("conv2d: could not allocate the im2col buffer of one image")




def conv2d(x: Tensor, W: Tensor, b: Tensor | None = None, stride: IntPair = 1,
           padding: Padding = 0, dilation: IntPair = 1, group: int = 1,
           pad_mode: str = "NOTSET") -> Tensor:
    """2-D convolution of x (N, C, H, W) with W (O, C/group, kh, kw) and optional bias b (O,).

    Args:
        stride: an int or a pair (h, w), each >= 1.
        dilation: an int or a pair (h, w), each >= 1 (the spacing of the kernel's taps).
        padding: an int, a pair (ph, pw) or a 4-tuple (top, bottom, left, right), >= 0.
        group: split the channels into this many independent convolutions (it must
            divide C and O); ``group=C`` with W (C*k, 1, kh, kw) is a depthwise conv.
        pad_mode: "NOTSET" (use ``padding``), "SAME_UPPER" / "SAME_LOWER" (ONNX: the
            output has ceil(H / stride) rows; the odd padding goes at the end for
            SAME_UPPER, at the beginning for SAME_LOWER) or "VALID" (no padding).
    Returns the Tensor y (N, O, OH, OW), OH = (H + pad_t + pad_b - (kh-1)*dh - 1) // sh + 1.
    """
    op = _Conv2d(stride, padding, dilation, group, pad_mode)
    return (op(x, W, b) if b is not None else op(x, W))[0]

