"""Import: an ONNX model run by minisinga's operations.

``prepare(model, device)`` checks every node against ``HANDLERS`` (an unknown
operator, or an attribute value minisinga cannot honour, raises
NotImplementedError naming it and the node, before anything runs) and returns a
``SingaRep``; ``rep.run(inputs)`` walks the nodes in their (topological) order,
calling one handler per node on minisinga Tensors, so the computation is done by
minisinga's kernels.

Element types.  minisinga has float32, float64 and int32.  ONNX int64 (and the
smaller ints) are carried as int32 (a value outside int32 is an error), bool as
0.0 / 1.0 in float32 (what minisinga's comparisons give); graph outputs are
given back in their declared ONNX type.  Integer and bool tensors are *data*
here: shapes, axes, indices, conditions, read by the handlers.  A node that
would compute on them (Add of two int64 tensors, say) raises NotImplementedError.

Opsets.  Where an operator changed between opsets in a way that matters, the
handler reads the model's opset: Softmax (< 13 flattens from ``axis`` on),
Slice / Pad / Clip / Split / Squeeze / Unsqueeze / ReduceX / Dropout (attributes
in old opsets, inputs in new ones), Upsample (scales attribute, then input).
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx.backend.base import Backend, BackendRep

from .. import device as device_mod
from .. import dtypes, engine
from .. import model as model_mod
from .. import operations as ops
from ..tensor import Tensor

_FLOATS = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64}
_INTS = {TensorProto.INT32, TensorProto.INT64, TensorProto.INT8, TensorProto.INT16,
         TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32}


def _unsupported(node, what: str) -> NotImplementedError:
    return NotImplementedError(f"sonnx: {node.op_type} node {node.name or node.output[0]!r}: "
                               f"{what}")


# ---------------------------------------------------------------------- values in and out
def to_tensor(arr, dev, what: str = "a tensor") -> Tensor:
    """A NumPy array as a minisinga constant Tensor, in the types minisinga has."""
    arr = np.asarray(arr)
    if arr.dtype in (np.float32, np.float64):
        return Tensor(data=arr, device=dev, dtype=arr.dtype, requires_grad=False)
    if arr.dtype == np.bool_:
        return Tensor(data=arr.astype(np.float32), device=dev, requires_grad=False)
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < -2**31 or arr.max() >= 2**31):
            raise NotImplementedError(f"sonnx: {what} holds integers outside the int32 range "
                                      "(minisinga's only integer type)")
        return Tensor(data=arr.astype(np.int32), device=dev, dtype=dtypes.int32,
                      requires_grad=False)
    raise NotImplementedError(f"sonnx: {what} has element type {arr.dtype}; minisinga has "
                              "float32, float64 and int32 (int64 and bool are carried as "
                              "int32 and 0/1 floats)")


def _host(t: Tensor) -> np.ndarray:
    """A data input (shape, axes, indices) read back from the device."""
    return t.to_numpy()


def _ints(t: Tensor) -> list[int]:
    return [int(v) for v in _host(t).reshape(-1)]


def _floats(t: Tensor) -> list[float]:
    return [float(v) for v in _host(t).reshape(-1)]


def _as_onnx_type(arr: np.ndarray, elem_type: int) -> np.ndarray:
    """A result back in its declared ONNX element type."""
    if elem_type == TensorProto.BOOL:
        return arr != 0
    np_type = onnx.helper.tensor_dtype_to_np_dtype(elem_type) if elem_type else arr.dtype
    return arr.astype(np_type)


# ---------------------------------------------------------------------- handlers
# handler(node, ins, attrs, ctx) -> list of output Tensors.  ins: the input
# Tensors (None for an omitted optional input); attrs: a dict of the node's
# attributes; ctx: the opset version and device.

class _Ctx:
    def __init__(self, opset: int, dev):
        self.opset, self.dev = opset, dev


def _float_in(node, *ts):
    for t in ts:
        if t is not None and t.dtype not in dtypes.FLOAT_TYPES:
            raise _unsupported(node, f"input of type {dtypes.name(t.dtype)} (from ONNX int or "
                               "bool); minisinga computes on float32 and float64 only")


def _unary(fn):
    def handle(node, ins, attrs, ctx):
        _float_in(node, ins[0])
        return [fn(ins[0])]
    return handle


def _binary(fn):
    def handle(node, ins, attrs, ctx):
        _float_in(node, *ins)
        return [fn(ins[0], ins[1])]
    return handle


def _variadic(fn):
    def handle(node, ins, attrs, ctx):
        _float_in(node, *ins)
        return [fn(*ins)]
    return handle


def _compare(fn):
    def handle(node, ins, attrs, ctx):
        _float_in(node, *ins)
        return [fn(ins[0], ins[1])]
    return handle


def _logic(fn):
    """And / Or / Xor on 0/1 floats (how bool is carried)."""
    def handle(node, ins, attrs, ctx):
        return [fn(*ins)]
    return handle


def _leakyrelu(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.leakyrelu(ins[0], attrs.get("alpha", 0.01))]


def _elu(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.elu(ins[0], attrs.get("alpha", 1.0))]


def _selu(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.selu(ins[0], attrs.get("alpha", 1.67326319217681884765625),
                          attrs.get("gamma", 1.05070102214813232421875))]


def _hardsigmoid(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.hardsigmoid(ins[0], attrs.get("alpha", 0.2), attrs.get("beta", 0.5))]


def _softmax(node, ins, attrs, ctx):
    x = ins[0]
    _float_in(node, x)
    if ctx.opset >= 13:
        return [ops.softmax(x, attrs.get("axis", -1))]
    # Before opset 13: x is flattened to 2-D at axis, softmax over the second part.
    axis = attrs.get("axis", 1) % max(x.ndim(), 1)
    rows = math.prod(x.shape[:axis])
    y = ops.softmax(ops.reshape(x, (rows, math.prod(x.shape[axis:]))), 1)
    return [ops.reshape(y, x.shape)]


def _log_softmax(node, ins, attrs, ctx):
    """log(softmax(x)), composed (minisinga has no fused log-softmax kernel)."""
    (y,) = _softmax(node, ins, attrs, ctx)
    return [ops.log(y)]


def _prelu(node, ins, attrs, ctx):
    x, slope = ins
    _float_in(node, x, slope)
    # Before opset 7 a (C,) slope is per channel (axis 1), not NumPy-broadcast.
    if slope.ndim() == 1 and x.ndim() > 2 and slope.shape[0] == x.shape[1] != x.shape[-1]:
        slope = ops.reshape(slope, (x.shape[1],) + (1,) * (x.ndim() - 2))
    return [ops.prelu(x, slope)]


def _clip(node, ins, attrs, ctx):
    x = ins[0]
    _float_in(node, x)
    if ctx.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
    else:
        lo = _floats(ins[1])[0] if len(ins) > 1 and ins[1] is not None else None
        hi = _floats(ins[2])[0] if len(ins) > 2 and ins[2] is not None else None
    if lo is not None and hi is not None and lo > hi:  # ONNX: min(max(x, lo), hi) = hi
        lo = hi
    return [ops.clip(x, lo, hi)]


def _dropout(node, ins, attrs, ctx):
    training = len(ins) > 2 and ins[2] is not None and _ints(ins[2])[0]
    if training or ("is_test" in attrs and not attrs["is_test"]):
        raise _unsupported(node, "training_mode=True (an imported model runs Dropout in "
                           "inference, as the identity)")
    y = ops.identity(ins[0]) if ins[0].dtype in dtypes.FLOAT_TYPES else ins[0]
    if len(node.output) > 1 and node.output[1]:
        mask = Tensor(data=np.ones(ins[0].shape, np.float32), device=ctx.dev,
                      requires_grad=False)
        return [y, mask]
    return [y]


def _batchnorm(node, ins, attrs, ctx):
    if attrs.get("training_mode", 0):
        raise _unsupported(node, "training_mode=1 (batch statistics at inference)")
    if len(node.output) > 1 and any(node.output[1:]):
        raise _unsupported(node, "the running-statistics outputs (training form)")
    x, scale, bias, mean, var = ins
    _float_in(node, *ins)
    momentum = 1.0 - attrs.get("momentum", 0.9)  # ONNX weights the old value, minisinga the new
    if x.ndim() not in (2, 4):
        raise _unsupported(node, f"a {x.ndim()}-D input (minisinga's batch norm takes 2-D or 4-D)")
    # NOTE: running statistics are states: never trained, batch statistics
    # only when the imported model trains (autograd.training).
    return [ops.batchnorm_2d(x, scale, bias, mean, var, momentum, attrs.get("epsilon", 1e-5))]


def _spatial(node, attrs, x, kernel):
    """(stride, padding (t, b, l, r), pad_mode) of a 2-D Conv / Pool node."""
    if x.ndim() != 4:
        raise _unsupported(node, f"a {x.ndim() - 2}-D convolution or pooling (minisinga has 2-D)")
    strides = attrs.get("strides", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    auto = attrs.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise _unsupported(node, f"auto_pad={auto!r}")
    if auto != "NOTSET":
        pads = [0, 0, 0, 0]
    return tuple(strides), (pads[0], pads[2], pads[1], pads[3]), auto


def _conv(node, ins, attrs, ctx):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    _float_in(node, x, w, b)
    stride, pads, auto = _spatial(node, attrs, x, w.shape[2:])
    dil = attrs.get("dilations", [1, 1])
    return [ops.conv2d(x, w, b, stride, pads, tuple(dil), attrs.get("group", 1), auto)]


def _pool(is_max: bool):
    def handle(node, ins, attrs, ctx):
        x = ins[0]
        _float_in(node, x)
        if attrs.get("ceil_mode", 0):
            raise _unsupported(node, "ceil_mode=1 (minisinga's pooling rounds the output size "
                               "down)")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise _unsupported(node, f"dilations={attrs['dilations']} (pooling has none)")
        if attrs.get("storage_order", 0):
            raise _unsupported(node, "storage_order=1")
        if len(node.output) > 1 and node.output[1]:
            raise _unsupported(node, "the Indices output of MaxPool")
        kernel = tuple(attrs["kernel_shape"])
        stride, pads, auto = _spatial(node, attrs, x, kernel)
        if not is_max and attrs.get("count_include_pad", 0) and any(pads):
            raise _unsupported(node, "count_include_pad=1 with padding (minisinga's average "
                               "leaves the padding out)")
        fn = ops.max_pool2d if is_max else ops.avg_pool2d
        return [fn(x, kernel, stride, pads, auto)]
    return handle


def _global_pool(reduce_fn):
    def handle(node, ins, attrs, ctx):
        x = ins[0]
        _float_in(node, x)
        return [reduce_fn(x, list(range(2, x.ndim())), 1)]
    return handle


def _gemm(node, ins, attrs, ctx):
    _float_in(node, *ins)
    c = ins[2] if len(ins) > 2 else None
    return [ops.gemm(ins[0], ins[1], c, attrs.get("alpha", 1.0), attrs.get("beta", 1.0),
                          attrs.get("transA", 0), attrs.get("transB", 0))]


def _slice(node, ins, attrs, ctx):
    x = ins[0]
    if ctx.opset < 10:
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes"), None
    else:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else None
        steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else None
    _float_in(node, x)
    return [ops.slice(x, starts, ends, axes, steps)]


def _gather(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.gather(ins[0], attrs.get("axis", 0), _host(ins[1]).astype(np.int64))]


def _pad(node, ins, attrs, ctx):
    x = ins[0]
    _float_in(node, x)
    mode = attrs.get("mode", "constant")
    if ctx.opset < 11:
        pads, value = attrs.get("pads", attrs.get("paddings")), attrs.get("value", 0.0)
    else:
        pads = _ints(ins[1])
        value = _floats(ins[2])[0] if len(ins) > 2 and ins[2] is not None else 0.0
        if len(ins) > 3 and ins[3] is not None:  # opset 18: pads for these axes only
            axes = [a % x.ndim() for a in _ints(ins[3])]
            full = [0] * (2 * x.ndim())
            for k, a in enumerate(axes):
                full[a], full[x.ndim() + a] = pads[k], pads[len(axes) + k]
            pads = full
    if mode not in ("constant", "reflect", "edge"):
        raise _unsupported(node, f"mode={mode!r}")
    if any(p < 0 for p in pads):
        raise _unsupported(node, f"negative pads {pads} (cropping)")
    return [ops.pad(x, mode, pads, value)]


def _tile(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.tile(ins[0], _ints(ins[1]))]


def _expand(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.expand(ins[0], _ints(ins[1]))]


def _nearest_scales(node, x, scales):
    if any(s != int(s) or s < 1 for s in scales):
        raise _unsupported(node, f"scales {scales} (minisinga upsamples by whole numbers >= 1)")
    return ops.upsample(x, "nearest", scales)


def _upsample(node, ins, attrs, ctx):
    x = ins[0]
    _float_in(node, x)
    mode = attrs.get("mode", "nearest")
    if mode != "nearest":
        raise _unsupported(node, f"mode={mode!r} (only nearest)")
    scales = attrs["scales"] if ctx.opset < 9 else _floats(ins[1])
    return [_nearest_scales(node, x, scales)]


def _resize(node, ins, attrs, ctx):
    x = ins[0]
    _float_in(node, x)
    if attrs.get("mode", "nearest") != "nearest":
        raise _unsupported(node, f"mode={attrs['mode']!r} (only nearest)")
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    near = attrs.get("nearest_mode", "round_prefer_floor")
    if ctx.opset >= 11 and (ctm != "asymmetric" or near != "floor"):
        raise _unsupported(node, f"coordinate_transformation_mode={ctm!r}, nearest_mode="
                           f"{near!r} (only asymmetric + floor, which is Upsample)")
    for a in ("antialias", "axes", "keep_aspect_ratio_policy"):
        if attrs.get(a):
            raise _unsupported(node, f"attribute {a}")
    scales_in = ins[2] if ctx.opset >= 11 and len(ins) > 2 else (ins[1] if len(ins) > 1 else None)
    sizes = ins[3] if len(ins) > 3 else None
    if scales_in is not None and scales_in.size():
        scales = _floats(scales_in)
    elif sizes is not None:
        out = _ints(sizes)
        scales = [o / d for o, d in zip(out, x.shape)]
    else:
        raise _unsupported(node, "neither scales nor sizes")
    return [_nearest_scales(node, x, scales)]


def _depth_to_space(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.depth_to_space(ins[0], attrs["blocksize"], attrs.get("mode", "DCR"))]


def _space_to_depth(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.space_to_depth(ins[0], attrs["blocksize"], attrs.get("mode", "DCR"))]


def _scatter_elements(node, ins, attrs, ctx):
    if attrs.get("reduction", "none") != "none":
        raise _unsupported(node, f"reduction={attrs['reduction']!r}")
    _float_in(node, ins[0], ins[2])
    return [ops.scatter_elements(ins[0], _host(ins[1]).astype(np.int64), ins[2],
                                      attrs.get("axis", 0))]


def _onehot(node, ins, attrs, ctx):
    depth = _floats(ins[1])[0]
    ind = _host(ins[0])
    if ind.size and (ind.min() < -depth or ind.max() >= depth):
        raise _unsupported(node, "an index outside [-depth, depth) (ONNX gives an all-off row; "
                           "minisinga's onehot refuses it)")
    values = _host(ins[2])
    if values.dtype not in (np.float32, np.float64) and ins[2].dtype != dtypes.int32:
        raise _unsupported(node, "values of a non-float type")
    y = ops.onehot(attrs.get("axis", -1), ins[0], depth, values)
    if ins[2].dtype != y.dtype:
        y = ops.cast(y, ins[2].dtype)
    return [y]


_CAST_TO = {TensorProto.FLOAT: dtypes.float32, TensorProto.DOUBLE: dtypes.float64,
            TensorProto.INT32: dtypes.int32, TensorProto.INT64: dtypes.int32}


def _cast(node, ins, attrs, ctx):
    to = attrs["to"]
    if to == TensorProto.BOOL:  # carried as 0/1 floats: x != 0
        x = ins[0]
        if x.dtype == dtypes.int32:
            x = ops.cast(x, dtypes.float32)
        return [ops._not(ops.equal(x, Tensor(data=np.zeros((), dtypes.to_numpy(
            x.dtype)), device=ctx.dev, dtype=x.dtype, requires_grad=False)))]
    if to not in _CAST_TO:
        raise _unsupported(node, f"to={TensorProto.DataType.Name(to)} (minisinga has float32, "
                           "float64 and int32)")
    return [ops.cast(ins[0], _CAST_TO[to])]


def _shape(node, ins, attrs, ctx):
    s = ops.shape(ins[0])
    start, end = attrs.get("start", 0), attrs.get("end")
    if start != 0 or end is not None:
        n = ins[0].ndim()
        s = ops.slice(ops.cast(s, dtypes.float32), [start], [n if end is None else end])
        s = ops.cast(s, dtypes.int32)
    return [s]


def _constant_of_shape(node, ins, attrs, ctx):
    value = attrs.get("value")
    v = 0.0 if value is None else numpy_helper.to_array(value).reshape(-1)[0]
    dims = ins[0]
    y = ops.constant_of_shape(dims, float(v))
    want = np.float32 if value is None else numpy_helper.to_array(value).dtype
    if want == np.float64:
        y = ops.cast(y, dtypes.float64)
    elif want.kind in "iu":
        y = ops.cast(y, dtypes.int32)
    elif want == np.bool_:
        pass  # carried as 0/1 floats
    elif want != np.float32:
        raise _unsupported(node, f"a value of type {want}")
    return [y]


def _nonzero(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.nonzero(ins[0])]


def _where(node, ins, attrs, ctx):
    cond, x, y = ins
    _float_in(node, x, y)
    return [ops.where(x, y, cond)]


def _reduce(fn, name):
    def handle(node, ins, attrs, ctx):
        x = ins[0]
        _float_in(node, x)
        axes_in_input = (name == "ReduceSum" and ctx.opset >= 13) or ctx.opset >= 18
        if axes_in_input:
            axes = _ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None
        else:
            axes = attrs.get("axes")
        if axes is not None and not len(axes):
            axes = None
        if axes is None and attrs.get("noop_with_empty_axes", 0):
            return [ops.identity(x)]
        if x.ndim() == 0:
            raise _unsupported(node, "a scalar input")
        if 0 in x.shape and name != "ReduceSum":
            raise _unsupported(node, f"an input with an empty axis {x.shape} (minisinga refuses "
                               "to reduce an empty set)")
        return [fn(x, axes, attrs.get("keepdims", 1))]
    return handle


def _reshape(node, ins, attrs, ctx):
    x = ins[0]
    shape = attrs["shape"] if ctx.opset < 5 else _ints(ins[1])
    if attrs.get("allowzero", 0) and 0 in shape:
        raise _unsupported(node, "allowzero=1 with a 0 in the shape")
    if x.dtype not in dtypes.FLOAT_TYPES:  # a view: int data can pass through
        return [Tensor(data=x.data.reshape(_resolve(x.shape, shape)), requires_grad=False)]
    return [ops.reshape(x, shape)]


def _resolve(in_shape, shape):
    out = [in_shape[i] if d == 0 else d for i, d in enumerate(shape)]
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        out[out.index(-1)] = math.prod(in_shape) // known if known else 0
    return tuple(out)


def _flatten(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.flatten(ins[0], attrs.get("axis", 1))]


def _squeeze(node, ins, attrs, ctx):
    x = ins[0]
    axes = attrs.get("axes") if ctx.opset < 13 else (
        _ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None)
    if x.dtype not in dtypes.FLOAT_TYPES:
        raise _unsupported(node, "an int input")
    return [ops.squeeze(x, axes)]


def _unsqueeze(node, ins, attrs, ctx):
    x = ins[0]
    axes = attrs["axes"] if ctx.opset < 13 else _ints(ins[1])
    if x.dtype not in dtypes.FLOAT_TYPES:
        raise _unsupported(node, "an int input")
    return [ops.unsqueeze(x, axes)]


def _transpose(node, ins, attrs, ctx):
    _float_in(node, ins[0])
    return [ops.transpose(ins[0], attrs.get("perm"))]


def _concat(node, ins, attrs, ctx):
    _float_in(node, *ins)
    return [ops.cat(list(ins), attrs["axis"])]


def _split(node, ins, attrs, ctx):
    x = ins[0]
    _float_in(node, x)
    axis = attrs.get("axis", 0)
    if ctx.opset < 13:
        parts = attrs.get("split")
    else:
        parts = _ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None
    n = len(node.output)
    if parts is None:
        size = x.shape[axis % x.ndim()]
        if "num_outputs" in attrs and size % n:  # opset 18: the last part is smaller
            first = -(-size // n)
            parts = [first] * (n - 1) + [size - first * (n - 1)]
        else:
            parts = [size // n] * n
    return list(ops.split(x, axis, list(parts)))


def _identity(node, ins, attrs, ctx):
    x = ins[0]
    return [ops.identity(x) if x.dtype in dtypes.FLOAT_TYPES else x]


def _constant(node, ins, attrs, ctx):
    forms = {"value": lambda v: numpy_helper.to_array(v),
             "value_float": lambda v: np.array(v, np.float32),
             "value_floats": lambda v: np.array(v, np.float32),
             "value_int": lambda v: np.array(v, np.int64),
             "value_ints": lambda v: np.array(v, np.int64)}
    for name, form in forms.items():
        if name in attrs:
            return [to_tensor(form(attrs[name]), ctx.dev, f"Constant's {name}")]
    raise _unsupported(node, f"attribute {sorted(attrs)} (sparse and string constants)")


def _matmul(node, ins, attrs, ctx):
    """MatMul with NumPy's rules for 1-D operands: a (k,) is (1, k) on the left and
    (k, 1) on the right, and that axis is removed from the result."""
    a, b = ins
    _float_in(node, a, b)
    a2 = ops.unsqueeze(a, [0]) if a.ndim() == 1 else a
    b2 = ops.unsqueeze(b, [1]) if b.ndim() == 1 else b
    y = ops.matmul(a2, b2)
    if b.ndim() == 1:
        y = ops.squeeze(y, [y.ndim() - 1])
    if a.ndim() == 1:
        y = ops.squeeze(y, [y.ndim() - 2 if b.ndim() > 1 else y.ndim() - 1])
    return [y]


def _lrn(node, ins, attrs, ctx):
    """Local response normalisation across channels, composed from operations:
    y = x / (bias + alpha / size * sum over a window of size channels of x^2)^beta."""
    x = ins[0]
    _float_in(node, x)
    size = attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    C = x.shape[1]
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2   # window [c - lo, c + hi]
    pads = [0] * (2 * x.ndim())
    pads[1], pads[x.ndim() + 1] = lo, hi
    sq = ops.pad(ops.mul(x, x), "constant", pads)
    window = ops.sum(*[ops.slice(sq, [k], [k + C], [1]) for k in range(size)])
    d = ops.add(ops.mul(window, _scalar(alpha / size, x)), _scalar(bias, x))
    return [ops.div(x, ops.pow(d, _scalar(beta, x)))]


def _scalar(v: float, like: Tensor) -> Tensor:
    return Tensor(data=np.array(v, dtypes.to_numpy(like.dtype)), device=like.device,
                  dtype=like.dtype, requires_grad=False)


def _pow(node, ins, attrs, ctx):
    a, b = ins
    _float_in(node, a)
    if b.dtype != a.dtype:  # Pow allows an exponent of another type
        b = ops.cast(b, a.dtype)
    return [ops.pow(a, b)]


#: ONNX op_type -> handler.  Everything else raises NotImplementedError.
HANDLERS = {
    "Relu": _unary(ops.relu), "LeakyRelu": _leakyrelu, "Elu": _elu, "Selu": _selu,
    "Sigmoid": _unary(ops.sigmoid), "HardSigmoid": _hardsigmoid,
    "Tanh": _unary(ops.tanh), "Softplus": _unary(ops.softplus),
    "Softsign": _unary(ops.softsign), "Softmax": _softmax,
    "BatchNormalization": _batchnorm, "Conv": _conv, "MaxPool": _pool(True),
    "AveragePool": _pool(False), "GlobalAveragePool": _global_pool(ops.reduce_mean),
    "GlobalMaxPool": _global_pool(ops.reduce_max),
    "Add": _binary(ops.add), "Sub": _binary(ops.sub), "Mul": _binary(ops.mul),
    "Div": _binary(ops.div), "Pow": _pow, "Neg": _unary(ops.negative),
    "Reciprocal": _unary(ops.reciprocal), "Abs": _unary(ops.abs),
    "Exp": _unary(ops.exp), "Log": _unary(ops.log), "Sqrt": _unary(ops.sqrt),
    "Clip": _clip, "Identity": _identity, "Sum": _variadic(ops.sum),
    "Mean": _variadic(ops.mean), "Dropout": _dropout, "Slice": _slice,
    "Gather": _gather, "Pad": _pad, "Tile": _tile, "Expand": _expand,
    "Upsample": _upsample, "Resize": _resize, "DepthToSpace": _depth_to_space,
    "SpaceToDepth": _space_to_depth, "ScatterElements": _scatter_elements,
    "OneHot": _onehot, "Cast": _cast, "Shape": _shape, "ConstantOfShape": _constant_of_shape,
    "NonZero": _nonzero, "MatMul": _matmul, "Gemm": _gemm,
    "Less": _compare(ops.less), "Greater": _compare(ops.greater),
    "Equal": _compare(ops.equal), "And": _logic(ops._and),
    "Or": _logic(ops._or), "Xor": _logic(ops._xor), "Not": _logic(ops._not),
    "Where": _where, "Sign": _unary(ops.sign), "Ceil": _unary(ops.ceil),
    "Floor": _unary(ops.floor), "Round": _unary(ops.rounde),
    "Erf": _unary(ops.erf), "Max": _variadic(ops.max),
    "Min": _variadic(ops.min), "PRelu": _prelu, "LogSoftmax": _log_softmax,
    "ReduceSum": _reduce(ops.reduce_sum, "ReduceSum"),
    "ReduceMean": _reduce(ops.reduce_mean, "ReduceMean"),
    "ReduceMax": _reduce(ops.reduce_max, "ReduceMax"),
    "ReduceMin": _reduce(ops.reduce_min, "ReduceMin"),
    "Reshape": _reshape, "Flatten": _flatten, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Transpose": _transpose, "Concat": _concat, "Split": _split, "Constant": _constant,
    "LRN": _lrn,
    **{name: _unary(getattr(ops, name.lower())) for name in (
        "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh")},
}


# ---------------------------------------------------------------------- the runner
def _opset(model: onnx.ModelProto) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


def check_supported(model: onnx.ModelProto) -> None:
    """Raise NotImplementedError for the first node minisinga cannot run."""
    g = model.graph
    for v in list(g.input) + list(g.output):
        if not v.type.HasField("tensor_type"):
            raise NotImplementedError(f"sonnx: graph input or output {v.name!r} is a "
                                      f"{v.type.WhichOneof('value')}; minisinga has tensors only")
    for node in g.node:
        if node.domain not in ("", "ai.onnx"):
            raise _unsupported(node, f"the operator domain {node.domain!r}")
        if node.op_type not in HANDLERS:
            raise _unsupported(node, "this operator is not supported by minisinga's importer")


class _Program:
    """A checked ONNX graph: its nodes with parsed attributes, and its constants."""

    def __init__(self, model: onnx.ModelProto, dev):
        check_supported(model)
        self.model, self.dev, self.opset = model, dev, _opset(model)
        g = model.graph
        self.initializers = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.inputs = [i for i in g.input if i.name not in self.initializers]
        self.outputs = list(g.output)
        self.nodes = [(n, {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
                      for n in g.node]
        for _, attrs in self.nodes:  # attributes stored as bytes are read as str
            for k, v in attrs.items():
                if isinstance(v, bytes):
                    attrs[k] = v.decode()

    def run(self, feeds: dict[str, Tensor], consts: dict[str, Tensor],
            aux_output=()) -> list[Tensor]:
        """Execute the nodes in order (ONNX stores them topologically sorted);
        returns the graph outputs, then the values named in ``aux_output``."""
        env = dict(consts)
        env.update(feeds)
        ctx = _Ctx(self.opset, self.dev)
        for node, attrs in self.nodes:
            ins = [env[name] if name else None for name in node.input]
            outs = HANDLERS[node.op_type](node, ins, attrs, ctx)
            for name, t in zip(node.output, outs):
                if name:
                    env[name] = t
        unknown = [name for name in aux_output if name not in env]
        if unknown:
            raise KeyError(f"aux_output: no value named {unknown} in the graph")
        return [env[o.name] for o in self.outputs] + [env[name] for name in aux_output]


def _device(dev):
    if dev is None or isinstance(dev, str):
        if dev not in (None, "CPU", "cpu"):
            raise NotImplementedError(f"sonnx: device {dev!r}; pass 'CPU' or a minisinga Device")
        return device_mod.get_default_device()
    return dev


class SingaRep(BackendRep):
    """A prepared ONNX model: ``run(inputs)`` returns its outputs as NumPy arrays."""

    def __init__(self, model: onnx.ModelProto, dev=None):
        """Check ``model`` and move its initializers to ``dev`` ("CPU", None or a Device)."""
        self.dev = _device(dev)
        self.program = _Program(model, self.dev)
        self.consts = {name: to_tensor(arr, self.dev, f"initializer {name!r}")
                       for name, arr in self.program.initializers.items()}

    def run(self, inputs, aux_output=(), **kwargs) -> list[np.ndarray]:
        """Run the graph.

        Args:
            inputs: the graph inputs in order (NumPy arrays or Tensors), or a dict
                name -> array.
            aux_output: names of intermediate values to return after the
                outputs (SINGA's), as minisinga computed them (float32 for a bool).

        Returns:
            the outputs (then the aux outputs), NumPy arrays in their ONNX types.
        """
        prog = self.program
        if isinstance(inputs, dict):
            inputs = [inputs[i.name] for i in prog.inputs]
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(prog.inputs):
            raise ValueError(f"SingaRep.run: the model takes {len(prog.inputs)} inputs "
                             f"{[i.name for i in prog.inputs]}, got {len(inputs)}")
        feeds = {}
        for info, x in zip(prog.inputs, inputs):
            feeds[info.name] = x if isinstance(x, Tensor) else \
                to_tensor(x, self.dev, f"input {info.name!r}")
        old = engine.training
        engine.training = False
        try:
            outs = prog.run(feeds, self.consts, aux_output)
        finally:
            engine.training = old
        types = [o.type.tensor_type.elem_type for o in prog.outputs] + [0] * len(aux_output)
        return [_as_onnx_type(t.to_numpy(), elem) for t, elem in zip(outs, types)]


class SingaBackend(Backend):
    """minisinga as an ``onnx.backend`` (for ``onnx.backend.test.BackendTest``)."""

    @classmethod
    def is_compatible(cls, model, device="CPU", **kwargs) -> bool:
        """Whether every node of ``model`` has a handler (attributes are checked at run)."""
        try:
            check_supported(model)
        except NotImplementedError:
            return False
        return True

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs) -> SingaRep:
        """Check ``model`` (onnx.checker, then the handlers) and return its ``SingaRep``.

        Args:
            model: an ``onnx.ModelProto``.
            device: "CPU" or a minisinga Device (where its tensors live).
        """
        super().prepare(model, device, **kwargs)
        return SingaRep(model, device)

    @classmethod
    def run_node(cls, node, inputs, device="CPU", outputs_info=None, **kwargs):
        """Run one node on float NumPy inputs, as a one-node model of opset 13."""
        graph = onnx.helper.make_graph(
            [node], "node",
            [onnx.helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
             for n in node.input if n],
            [onnx.helper.make_tensor_value_info(n, 0, None) for n in node.output if n])
        model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)])
        return SingaRep(model, device).run([x for x, n in zip(inputs, node.input) if n])

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """minisinga's ONNX backend answers for "CPU" (pass a Device object to prepare for
        a GPU)."""
        return device in ("CPU", "cpu")


prepare = SingaBackend.prepare
run_model = SingaBackend.run_model
run_node = SingaBackend.run_node


# ---------------------------------------------------------------------- trainable import
class SONNXModel(model_mod.Model):
    """An imported ONNX model as a minisinga Model: its float initializers are
    parameters (``stores_grad=True``) an optimizer can train, except batch
    norm's running statistics, which are states.

    ``forward(*inputs)`` runs the graph on Tensors and returns its outputs as
    Tensors (one, or a tuple); subclass it and write ``train_one_batch`` to
    fine-tune, as in SINGA's examples/onnx/training.
    """

    def __init__(self, onnx_model: onnx.ModelProto, dev=None):
        """Import ``onnx_model`` onto ``dev`` ("CPU", None or a Device)."""
        super().__init__()
        self.dev = _device(dev)
        self.program = _Program(onnx_model, self.dev)
        states = {n.input[k] for n, _ in self.program.nodes
                  if n.op_type == "BatchNormalization" for k in (3, 4) if len(n.input) > k}
        self.consts = {}
        for name, arr in self.program.initializers.items():
            t = to_tensor(arr, self.dev, f"initializer {name!r}")
            if t.dtype in dtypes.FLOAT_TYPES and t.size() and name not in states:
                t.requires_grad, t.stores_grad = True, True
            self.consts[name] = t
            if t.dtype in dtypes.FLOAT_TYPES:
                # registered under its ONNX name, so that get_params, set_params
                # and save_states see it (Layer skips names starting with "_")
                setattr(self, name if not name.startswith("_") else "w" + name, t)

    def forward(self, *inputs):
        """The graph's outputs for ``inputs`` (Tensors, in the graph's input order)."""
        prog = self.program
        if len(inputs) != len(prog.inputs):
            raise ValueError(f"SONNXModel.forward: the model takes {len(prog.inputs)} inputs "
                             f"{[i.name for i in prog.inputs]}, got {len(inputs)}")
        feeds = {info.name: x for info, x in zip(prog.inputs, inputs)}
        outs = prog.run(feeds, self.consts)
        return outs[0] if len(outs) == 1 else tuple(outs)

