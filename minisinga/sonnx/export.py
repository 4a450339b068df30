"""Export: minisinga's recorded graph -> an ONNX model (opset 13).

How it works, in three steps (docs/onnx.md#export draws them):

1. **Record.**  While ``autograd.training`` (or ``autograd.recording``) is True,
   every Operation keeps ``src``: for each input, its creator and output index,
   and, for inputs without a gradient (constants, running statistics), the
   tensor itself.  ``export(model, inputs)`` records with ``autograd.recording``,
   so dropout and batch norm behave as in evaluation.
2. **Walk.**  ``to_onnx`` starts from the outputs' creators and visits the
   creators of their inputs, depth first, emitting an operation only after every
   operation it reads from (a post-order, iterative: no recursion limit).  An
   input edge ends at a ``Dummy`` (a leaf): one of ``inputs`` becomes a graph
   input, a parameter (``stores_grad``) or a constant becomes an initializer.
3. **Translate.**  ``EXPORTERS`` maps each Operation class to a function that
   appends the ONNX node(s) for it.  Attributes an ONNX op takes as inputs in
   opset 13 (Slice's starts, Reshape's shape, ...) become int64 initializers.

Shapes are static: the model is exported for the shapes it was recorded with.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import dtypes, engine
from ..ops import (
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
from ..tensor import Tensor

#: The ONNX opset every exported model declares.
OPSET = 13

_ONNX_TYPE = {dtypes.float32: TensorProto.FLOAT, dtypes.float64: TensorProto.DOUBLE,
              dtypes.int32: TensorProto.INT32}


class NotExportableError(NotImplementedError):
    """An Operation with no ONNX equivalent (a loss, cossim, ...) is in the graph."""


# ---------------------------------------------------------------------- the graph being built
class _Graph:
    """The nodes, initializers and names of the ONNX graph being written."""

    def __init__(self):
        self.nodes: list = []
        self.initializers: list = []
        self.names: set[str] = set()
        self.dtype: dict[str, int] = {}      # edge name -> minisinga dtype
        self.shape: dict[str, tuple] = {}    # edge name -> shape

    def fresh(self, hint: str) -> str:
        """A name not used yet, made from ``hint``."""
        name, k = hint, 1
        while name in self.names:
            k += 1
            name = f"{hint}_{k}"
        self.names.add(name)
        return name

    def node(self, op_type: str, ins, outs, name: str | None = None, **attrs) -> None:
        self.nodes.append(helper.make_node(op_type, list(ins), list(outs),
                                           name=name or self.fresh(op_type), **attrs))

    def const(self, value, hint: str, dtype=None) -> str:
        """A new initializer holding ``value``; returns its name."""
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values, hint: str) -> str:
        """An int64 1-D initializer (the form of shapes, axes, pads in opset 13)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), hint)


# ---------------------------------------------------------------------- the exporters
# Each takes (op, ins, outs, g): the Operation, the names of its input edges and
# output edges, and the graph; it appends the node(s) that compute outs from ins.

def _simple(op_type: str):
    def export(op, ins, outs, g):
        g.node(op_type, ins, outs, name=op.name)
    return export


def _bool_op(op_type: str):
    """Logic ops: minisinga computes 1.0 / 0.0 in the float type; ONNX in bool."""
    def export(op, ins, outs, g):
        if op_type in ("And", "Or", "Xor", "Not"):  # ONNX wants bool inputs
            cast = []
            for name in ins:
                b = g.fresh(name + "_bool")
                g.node("Cast", [name], [b], to=TensorProto.BOOL)
                cast.append(b)
            ins = cast
        b = g.fresh(outs[0] + "_bool")
        g.node(op_type, ins, [b], name=op.name)
        g.node("Cast", [b], outs, to=_ONNX_TYPE[g.dtype[outs[0]]])
    return export


def _leakyrelu(op, ins, outs, g):
    g.node("LeakyRelu", ins, outs, name=op.name, alpha=op.a)


def _elu(op, ins, outs, g):
    g.node("Elu", ins, outs, name=op.name, alpha=op.alpha)


def _selu(op, ins, outs, g):
    g.node("Selu", ins, outs, name=op.name, alpha=op.alpha, gamma=op.gamma)


def _hardsigmoid(op, ins, outs, g):
    g.node("HardSigmoid", ins, outs, name=op.name, alpha=op.alpha, beta=op.gamma)


def _softmax(op, ins, outs, g):
    # NOTE: opset 13's Softmax normalises along one axis, as minisinga's does;
    # before 13 it flattened everything from ``axis`` on (see docs/onnx.md).
    g.node("Softmax", ins, outs, name=op.name, axis=int(op.axis))


def _clip(op, ins, outs, g):
    np_dtype = dtypes.to_numpy(g.dtype[ins[0]])
    lo = "" if op.lo == -np.inf else g.const(np.array(op.lo, np_dtype), op.name + "_min")
    hi = "" if op.hi == np.inf else g.const(np.array(op.hi, np_dtype), op.name + "_max")
    g.node("Clip", [ins[0], lo, hi], outs, name=op.name)


def _dropout(op, ins, outs, g):
    # An exported model is for inference, where Dropout is the identity.
    ratio = g.const(np.array(op.ratio, np.float32), op.name + "_ratio")
    g.node("Dropout", [ins[0], ratio], outs, name=op.name)


def _round_half_away(op, ins, outs, g):
    # ONNX Round rounds half to even (minisinga's rounde); round's half away from
    # zero is sign(x) * floor(|x| + 0.5).
    x = ins[0]
    half = g.const(np.array(0.5, dtypes.to_numpy(g.dtype[x])), op.name + "_half")
    a, s, f, fl = (g.fresh(op.name + t) for t in ("_abs", "_sign", "_shift", "_floor"))
    g.node("Abs", [x], [a])
    g.node("Sign", [x], [s])
    g.node("Add", [a, half], [f])
    g.node("Floor", [f], [fl])
    g.node("Mul", [s, fl], outs, name=op.name)


def _batchnorm(op, ins, outs, g):
    if op.used_batch_stats:  # recorded in training: normalise by the batch's own statistics
        _batchnorm_batch_stats(op, ins, outs, g)
        return
    if len(ins) == 3:   # SINGA's form: the running statistics live on the operation
        ins = ins + [g.const(t.to_numpy(), t.name or op.name + hint)
                     for t, hint in ((op.running_mean, "_mean"), (op.running_var, "_var"))]
    # ONNX's momentum weights the OLD running value; minisinga's the new batch.
    g.node("BatchNormalization", ins, outs, name=op.name, epsilon=op.eps,
           momentum=1.0 - op.momentum)


def _batchnorm_batch_stats(op, ins, outs, g):
    """y = scale (x - mean) / sqrt(var + eps) + bias with the batch's mean and biased
    variance per channel, composed (opset 13's BatchNormalization has no training form)."""
    x, scale, bias = ins[:3]
    n = op.name
    ndim = len(g.shape[x])
    axes = [0] + list(range(2, ndim))
    col = [g.shape[x][1]] + [1] * (ndim - 2)     # (C, 1, 1): broadcasts over N, H, W
    eps = g.const(np.array(op.eps, dtypes.to_numpy(g.dtype[x])), n + "_eps")
    mean, xc, sq, var, ve, std, xh, s, b, ys = (g.fresh(n + t) for t in (
        "_mean", "_xc", "_sq", "_var", "_var_eps", "_std", "_xhat", "_scale", "_bias", "_ys"))
    g.node("ReduceMean", [x], [mean], axes=axes, keepdims=1)
    g.node("Sub", [x, mean], [xc])
    g.node("Mul", [xc, xc], [sq])
    g.node("ReduceMean", [sq], [var], axes=axes, keepdims=1)
    g.node("Add", [var, eps], [ve])
    g.node("Sqrt", [ve], [std])
    g.node("Div", [xc, std], [xh])
    g.node("Reshape", [scale, g.ints(col, n + "_col")], [s])
    g.node("Reshape", [bias, g.ints(col, n + "_col")], [b])
    g.node("Mul", [xh, s], [ys])
    g.node("Add", [ys, b], outs, name=n)


def _auto_pad(pad_mode: str) -> dict:
    return {} if pad_mode == "NOTSET" else {"auto_pad": pad_mode}


def _onnx_pads(pads) -> list[int]:
    top, bottom, left, right = pads  # minisinga's order; ONNX: begins, then ends
    return [top, left, bottom, right]


def _conv(op, ins, outs, g):
    kh, kw = g.shape[ins[1]][2:]
    extra = _auto_pad(op.pad_mode) or {"pads": _onnx_pads(op.pads)}
    g.node("Conv", ins, outs, name=op.name, kernel_shape=[kh, kw], strides=list(op.stride),
           dilations=list(op.dilation), group=op.group, **extra)




def _pool(op, ins, outs, g):
    extra = _auto_pad(op.pad_mode) or {"pads": _onnx_pads(op.pads)}
    if op.is_max:
        g.node("MaxPool", ins, outs, name=op.name, kernel_shape=list(op.kernel),
               strides=list(op.stride), **extra)
    else:  # minisinga's average does not count the padding: count_include_pad=0
        g.node("AveragePool", ins, outs, name=op.name, kernel_shape=list(op.kernel),
               strides=list(op.stride), count_include_pad=0, **extra)


def _gemm(op, ins, outs, g):
    g.node("Gemm", ins, outs, name=op.name, alpha=op.alpha, beta=op.beta, transA=op.ta,
           transB=op.tb)


def _add_bias(op, ins, outs, g):
    x, b = ins
    if op.axis == 1 and len(g.shape[b]) == 1:  # a bias per row: (M,) -> (M, 1)
        col = g.fresh(b + "_col")
        g.node("Reshape", [b, g.ints([g.shape[b][0], 1], op.name + "_shape")], [col])
        b = col
    g.node("Add", [x, b], outs, name=op.name)


def _slice(op, ins, outs, g):
    n = op.name
    g.node("Slice", [ins[0], g.ints(op.starts, n + "_starts"), g.ints(op.ends, n + "_ends"),
                     g.ints(op.axes, n + "_axes"), g.ints(op.steps, n + "_steps")],
           outs, name=n)


def _gather(op, ins, outs, g):
    idx = g.const(op.indices.astype(np.int64), op.name + "_indices")
    g.node("Gather", [ins[0], idx], outs, name=op.name, axis=int(op.axis))


def _pad(op, ins, outs, g):
    if op.mode == "reflect":
        shp = g.shape[ins[0]]
        nd = len(shp)
        if any(max(op.pads[a], op.pads[nd + a]) > shp[a] - 1 for a in range(nd)):
            raise NotExportableError(f"to_onnx: {op.name} (Pad) cannot be exported to ONNX: "
                                     f"reflect padding {op.pads} is wider than an axis of x "
                                     f"{shp} minus one, which ONNX leaves undefined")
    value = g.const(np.array(op.constant, dtypes.to_numpy(g.dtype[ins[0]])), op.name + "_value")
    g.node("Pad", [ins[0], g.ints(op.pads, op.name + "_pads"), value], outs, name=op.name,
           mode=op.mode)


def _tile(op, ins, outs, g):
    x, ndim, reps = ins[0], len(g.shape[ins[0]]), list(op.repeats)
    if len(reps) > ndim:  # np.tile adds leading axes; ONNX Tile wants one repeat per axis
        new = (1,) * (len(reps) - ndim) + tuple(g.shape[x])
        y = g.fresh(x + "_lifted")
        g.node("Reshape", [x, g.ints(new, op.name + "_shape")], [y])
        x, ndim = y, len(new)
    reps = [1] * (ndim - len(reps)) + reps
    g.node("Tile", [x, g.ints(reps, op.name + "_repeats")], outs, name=op.name)


def _expand(op, ins, outs, g):
    g.node("Expand", [ins[0], g.ints(op.shape, op.name + "_shape")], outs, name=op.name)


def _upsample(op, ins, outs, g):
    scales = g.const(np.asarray(op.scales, np.float32), op.name + "_scales")
    g.node("Resize", [ins[0], "", scales], outs, name=op.name, mode="nearest",
           coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def _depth_to_space(op, ins, outs, g):
    g.node("DepthToSpace", ins, outs, name=op.name, blocksize=op.b, mode=op.mode)


def _space_to_depth(op, ins, outs, g):
    if op.mode == "DCR":
        g.node("SpaceToDepth", ins, outs, name=op.name, blocksize=op.b)
        return
    # opset 13's SpaceToDepth has only DCR: write CRD as reshape, transpose, reshape
    split, perm, out = op.plan(*g.shape[ins[0]])
    a, t = g.fresh(op.name + "_split"), g.fresh(op.name + "_perm")
    g.node("Reshape", [ins[0], g.ints(split, op.name + "_shape")], [a])
    g.node("Transpose", [a], [t], perm=list(perm))
    g.node("Reshape", [t, g.ints(out, op.name + "_out")], outs, name=op.name)


def _scatter_elements(op, ins, outs, g):
    idx = g.const(op.indices.astype(np.int64), op.name + "_indices")
    g.node("ScatterElements", [ins[0], idx, ins[1]], outs, name=op.name, axis=int(op.axis))


def _embedding(op, ins, outs, g):
    x, w = ins
    g.node("Gather", [w, x], outs, name=op.name, axis=0)


def _onehot(op, ins, outs, g):
    # onnxruntime has OneHot for (int32 indices, int32 depth) and (float, float)
    depth_type = np.int32 if g.dtype[ins[0]] == dtypes.int32 else np.float32
    depth = g.const(np.array(op.depth, depth_type), op.name + "_depth")
    values = g.const(np.array([op.off, op.on], dtypes.to_numpy(g.dtype[outs[0]])),
                     op.name + "_values")
    g.node("OneHot", [ins[0], depth, values], outs, name=op.name, axis=int(op.axis))


def _cast(op, ins, outs, g):
    g.node("Cast", ins, outs, name=op.name, to=_ONNX_TYPE[op.to])


def _int64_then_int32(op_type: str):
    """Shape and NonZero give int64 in ONNX, int32 in minisinga."""
    def export(op, ins, outs, g):
        y = g.fresh(outs[0] + "_int64")
        g.node(op_type, ins, [y], name=op.name)
        g.node("Cast", [y], outs, to=TensorProto.INT32)
    return export


def _constant_of_shape(op, ins, outs, g):
    dims = g.fresh(ins[0] + "_int64")
    g.node("Cast", ins, [dims], to=TensorProto.INT64)
    g.node("ConstantOfShape", [dims], outs, name=op.name,
           value=numpy_helper.from_array(np.array([op.value], np.float32)))


def _where(op, ins, outs, g):
    cond = op.condition.to_numpy() if isinstance(op.condition, Tensor) else op.condition
    c = g.const(np.asarray(cond) != 0, op.name + "_condition")
    g.node("Where", [c, ins[0], ins[1]], outs, name=op.name)


def _reduce(op_type: str):
    def export(op, ins, outs, g):
        ndim = len(g.shape[ins[0]])
        axes = None if op.axes is None else [a % ndim for a in
                                             ([op.axes] if dtypes.is_int(op.axes) else op.axes)]
        keep = int(op.keepdims)
        if op_type == "ReduceSum":  # opset 13: axes is an input for ReduceSum only
            extra = [] if axes is None else [g.ints(axes, op.name + "_axes")]
            g.node(op_type, ins + extra, outs, name=op.name, keepdims=keep)
        elif axes is None:
            g.node(op_type, ins, outs, name=op.name, keepdims=keep)
        else:
            g.node(op_type, ins, outs, name=op.name, keepdims=keep, axes=axes)
    return export


def _reshape(op, ins, outs, g):
    g.node("Reshape", [ins[0], g.ints(g.shape[outs[0]], op.name + "_shape")], outs, name=op.name)


def _flatten(op, ins, outs, g):
    g.node("Flatten", ins, outs, name=op.name, axis=int(op.axis))


def _squeeze(op, ins, outs, g):
    x_shape, y_shape = g.shape[ins[0]], g.shape[outs[0]]
    if op.axis is None or (isinstance(op.axis, (list, tuple)) and not op.axis):
        axes = [i for i, d in enumerate(x_shape) if d == 1]
    else:
        ax = [op.axis] if dtypes.is_int(op.axis) else list(op.axis)
        axes = sorted(a % len(x_shape) for a in ax)
    if not axes:  # nothing to squeeze: ONNX Squeeze with no axes would squeeze all 1s
        g.node("Identity", ins, outs, name=op.name)
        return
    assert len(y_shape) == len(x_shape) - len(axes)
    g.node("Squeeze", [ins[0], g.ints(axes, op.name + "_axes")], outs, name=op.name)


def _unsqueeze(op, ins, outs, g):
    out_ndim = len(g.shape[outs[0]])
    ax = [op.axis] if dtypes.is_int(op.axis) else list(op.axis)
    axes = sorted(a % out_ndim for a in ax)
    g.node("Unsqueeze", [ins[0], g.ints(axes, op.name + "_axes")], outs, name=op.name)


def _transpose(op, ins, outs, g):
    g.node("Transpose", ins, outs, name=op.name, perm=list(op.p))


def _concat(op, ins, outs, g):
    g.node("Concat", ins, outs, name=op.name, axis=int(op.axis))


def _split(op, ins, outs, g):
    axis = int(op.axis) % len(g.shape[ins[0]])
    parts = [g.shape[o][axis] for o in outs]
    g.node("Split", [ins[0], g.ints(parts, op.name + "_split")], outs, name=op.name, axis=axis)


#: Operation class -> the function that writes its ONNX node(s).  A class not
#: listed here (the losses, cossim, ranking_loss) raises NotExportableError.
EXPORTERS = {
    activation.ReLU: _simple("Relu"),
    activation.LeakyRelu: _leakyrelu,
    activation.Elu: _elu,
    activation.SeLU: _selu,
    activation.Sigmoid: _simple("Sigmoid"),
    activation.HardSigmoid: _hardsigmoid,
    activation.Tanh: _simple("Tanh"),
    activation.SoftPlus: _simple("Softplus"),
    activation.SoftSign: _simple("Softsign"),
    activation.SoftMax: _softmax,
    batchnorm._BatchNorm2d: _batchnorm,
    conv._Conv2d: _conv,
    pooling._Pooling2d: _pool,
    elementwise.Add: _simple("Add"),
    elementwise.Sub: _simple("Sub"),
    elementwise.Mul: _simple("Mul"),
    elementwise.Div: _simple("Div"),
    elementwise.Pow: _simple("Pow"),
    elementwise.Negative: _simple("Neg"),
    elementwise.Reciprocal: _simple("Reciprocal"),
    elementwise.Abs: _simple("Abs"),
    elementwise.Exp: _simple("Exp"),
    elementwise.Log: _simple("Log"),
    elementwise.Sqrt: _simple("Sqrt"),
    elementwise.Clip: _clip,
    elementwise.Identity: _simple("Identity"),
    elementwise.Sum: _simple("Sum"),
    elementwise.Mean: _simple("Mean"),
    elementwise.Dropout: _dropout,
    indexing.Slice: _slice,
    indexing.Gather: _gather,
    indexing.Pad: _pad,
    indexing.Tile: _tile,
    indexing.Expand: _expand,
    indexing.UpSample: _upsample,
    indexing.DepthToSpace: _depth_to_space,
    indexing.SpaceToDepth: _space_to_depth,
    indexing.ScatterElements: _scatter_elements,
    indexing.Embedding: _embedding,
    indexing.OneHot: _onehot,
    indexing.Cast: _cast,
    indexing.Shape: _int64_then_int32("Shape"),
    indexing.ConstantOfShape: _constant_of_shape,
    indexing.NonZero: _int64_then_int32("NonZero"),
    linalg.Matmul: _simple("MatMul"),
    linalg.Gemm: _gemm,
    linalg.AddBias: _add_bias,
    logic.Less: _bool_op("Less"),
    logic.Greater: _bool_op("Greater"),
    logic.Equal: _bool_op("Equal"),
    logic.And: _bool_op("And"),
    logic.Or: _bool_op("Or"),
    logic.Xor: _bool_op("Xor"),
    logic.Not: _bool_op("Not"),
    logic.Where: _where,
    mathfn.Sign: _simple("Sign"),
    mathfn.Ceil: _simple("Ceil"),
    mathfn.Floor: _simple("Floor"),
    mathfn.Round: _round_half_away,
    mathfn.Rounde: _simple("Round"),
    mathfn.Erf: _simple("Erf"),
    mathfn.Max: _simple("Max"),
    mathfn.Min: _simple("Min"),
    mathfn.PRelu: _simple("PRelu"),
    reduce.ReduceSum: _reduce("ReduceSum"),
    reduce.ReduceMean: _reduce("ReduceMean"),
    reduce.ReduceMax: _reduce("ReduceMax"),
    reduce.ReduceMin: _reduce("ReduceMin"),
    shape.Reshape: _reshape,
    shape.Flatten: _flatten,
    shape.Squeeze: _squeeze,
    shape.Unsqueeze: _unsqueeze,
    shape.Transpose: _transpose,
    shape.Concat: _concat,
    shape.Split: _split,
    **{cls: _simple(cls.__name__) for cls in (trig.Sin, trig.Cos, trig.Tan, trig.Asin,
                                               trig.Acos, trig.Atan, trig.Sinh, trig.Cosh,
                                               trig.Asinh, trig.Acosh, trig.Atanh)},
}

#: Why the rest have no export (named in the error).
NO_ONNX_EQUIVALENT = {
    loss.SoftMaxCrossEntropy: "a loss: export the network that computes its input",
    loss.CrossEntropy: "a loss: export the network that computes its input",
    loss.BinaryCrossEntropy: "a loss: export the network that computes its input",
    loss.MeanSquareError: "a loss: export the network that computes its input",
    mathfn.CosSim: "ONNX has no cosine-similarity operator",
    mathfn.RankingLoss: "a loss: export the network that computes its input",
}


def _out_dtype(op, in_dtypes: list[int]) -> int:
    """The element type of op's outputs (minisinga keeps the inputs' float type,
    except for these)."""
    if isinstance(op, indexing.Cast):
        return op.to
    if isinstance(op, (indexing.Shape, indexing.NonZero)):
        return dtypes.int32
    if isinstance(op, indexing.ConstantOfShape):
        return dtypes.float32
    if isinstance(op, indexing.OneHot):
        return in_dtypes[0] if in_dtypes[0] in dtypes.FLOAT_TYPES else dtypes.float32
    if isinstance(op, indexing.Embedding):
        return in_dtypes[1]
    floats = [d for d in in_dtypes if d in dtypes.FLOAT_TYPES]
    return floats[0] if floats else in_dtypes[0]


# ---------------------------------------------------------------------- the walk
def _check_tensors(what: str, ts) -> list[Tensor]:
    if isinstance(ts, Tensor):
        ts = [ts]
    if not isinstance(ts, (list, tuple)) or not ts:
        raise TypeError(f"to_onnx: {what} must be a Tensor or a non-empty list of Tensors, "
                        f"got {type(ts).__name__}")
    for i, t in enumerate(ts):
        if not isinstance(t, Tensor):
            raise TypeError(f"to_onnx: {what}[{i}] must be a Tensor, got {type(t).__name__}")
    return list(ts)


def _value_info(name: str, t_dtype: int, t_shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, _ONNX_TYPE[t_dtype], list(t_shape))


def to_onnx(inputs, outputs, model_name: str = "sonnx") -> onnx.ModelProto:
    """The ONNX model (opset ``OPSET``) of the graph recorded from ``inputs`` to
    ``outputs``.

    The forward pass that made ``outputs`` must have been recorded
    (``autograd.training = True``, or ``autograd.recording = True`` for
    evaluation behaviour; ``export(model, inputs)`` does it for a Model).
    Parameters and other constant tensors the graph reads become initializers.

    Args:
        inputs: the input Tensor(s) the forward pass was called with; they become
            the graph inputs ``input_0``, ``input_1``, ...
        outputs: the output Tensor(s); they become ``output_0``, ...
        model_name: the graph's name.

    Returns:
        an ``onnx.ModelProto`` that ``onnx.checker.check_model`` accepts.

    Raises:
        NotExportableError: an Operation on the way has no ONNX equivalent
            (its name and why are in the message).
        ValueError: an output was not recorded, or the graph reads a tensor that
            is neither an input, a parameter nor a constant.
    """
    inputs = _check_tensors("inputs", inputs)
    outputs = _check_tensors("outputs", outputs)
    g = _Graph()
    input_ids = {id(t): i for i, t in enumerate(inputs)}
    edge: dict[tuple, str] = {}          # (op, output index) -> name
    leaf: dict[int, str] = {}            # id(tensor) -> name, for inputs and constants
    for i, t in enumerate(inputs):
        leaf[id(t)] = g.fresh(f"input_{i}")
        g.dtype[leaf[id(t)]], g.shape[leaf[id(t)]] = t.dtype, t.shape

    def constant(t: Tensor) -> str:
        if id(t) not in leaf:
            name = g.fresh(t.name or "constant")
            g.initializers.append(numpy_helper.from_array(t.to_numpy(), name))
            leaf[id(t)] = name
            g.dtype[name], g.shape[name] = t.dtype, t.shape
        return leaf[id(t)]

    def input_name(op, k: int) -> str | None:
        """The name of op's k-th input, or None while its creator is not emitted yet."""
        creator, idx, x, _, x_shape = op.src[k][:5]
        if x is not None and (creator is None or isinstance(creator, engine.Dummy)):
            return leaf[id(x)] if id(x) in input_ids else constant(x)
        if isinstance(creator, engine.Dummy):  # a leaf on the gradient path
            (tid,) = creator.y_id2idx
            if tid in input_ids:
                return leaf[tid]
            raise ValueError(f"to_onnx: {op.name} reads a tensor of shape {x_shape} that is "
                             "neither in inputs nor a parameter (stores_grad); pass it in "
                             "inputs, or make it a constant with requires_grad=False")
        if creator is None:
            raise ValueError(f"to_onnx: {op.name} reads a tensor that was not recorded")
        if idx is None:  # a data edge from an operation: find which output it is
            idx = creator.y_id2idx[id(x)]
        return edge.get((creator, idx))

    def creators(op):
        for creator, *_ in op.src:
            if creator is not None and not isinstance(creator, engine.Dummy):
                yield creator

    # Name the outputs first, so that the ops that make them write those names.
    roots = []
    for i, y in enumerate(outputs):
        if id(y) in input_ids:
            raise ValueError(f"to_onnx: outputs[{i}] is one of the inputs")
        op = y.creator
        if op is None or isinstance(op, engine.Dummy):
            raise ValueError(f"to_onnx: outputs[{i}] (shape {y.shape}) has no recorded creator; "
                             "run the forward pass with autograd.training = True or "
                             "autograd.recording = True, or use sonnx.export(model, inputs)")
        name = g.fresh(f"output_{i}")
        edge[(op, op.y_id2idx[id(y)])] = name
        roots.append(op)

    # Post-order walk, iterative: an op is emitted once all its creators are.
    done: set = set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if op in done:
                continue
            if not expanded:
                stack.append((op, True))
                stack.extend((c, False) for c in creators(op) if c not in done)
                continue
            _emit(op, [input_name(op, k) for k in range(len(op.src))], edge, g)
            done.add(op)

    graph = helper.make_graph(
        g.nodes, model_name,
        [_value_info(leaf[id(t)], t.dtype, t.shape) for t in inputs],
        [_value_info(edge[(y.creator, y.creator.y_id2idx[id(y)])], y.dtype, y.shape)
         for y in outputs],
        initializer=g.initializers)
    model = helper.make_model(graph, producer_name="minisinga",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def _emit(op, ins: list[str], edge: dict, g: _Graph) -> None:
    """Write op's node(s), naming its outputs (unless they are graph outputs)."""
    exporter = EXPORTERS.get(type(op))
    if exporter is None:
        why = NO_ONNX_EQUIVALENT.get(type(op), "no ONNX mapping is written for it")
        raise NotExportableError(f"to_onnx: {op.name} ({type(op).__name__}) cannot be exported "
                                 f"to ONNX: {why}")
    out_dtype = _out_dtype(op, [g.dtype[n] for n in ins])
    outs = []
    for i, shp in enumerate(op.output_shapes):
        name = edge.get((op, i))
        if name is None:
            name = edge[(op, i)] = g.fresh(op.output_name(i))
        g.dtype[name], g.shape[name] = out_dtype, tuple(shp)
        outs.append(name)
    exporter(op, ins, outs, g)


def export(model, inputs, path=None) -> onnx.ModelProto:
    """Record ``model.forward(*inputs)`` in evaluation behaviour and export it.

    Args:
        model: a minisinga ``Model`` (or any Layer); compiled, or its forward
            creates the parameters now.
        inputs: a Tensor or a list of Tensors shaped like one batch.
        path: where to save the model (``.onnx``), or None.

    Returns:
        the ``onnx.ModelProto`` (the model's outputs are ``output_0``, ...).
    """
    inputs = _check_tensors("inputs", inputs)
    old = engine.training, engine.recording
    engine.training, engine.recording = False, True
    try:
        ys = model.forward(*inputs)
    finally:
        engine.training, engine.recording = old
    outputs = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    onnx_model = to_onnx(inputs, outputs, model_name=type(model).__name__)
    if path is not None:
        onnx.save(onnx_model, path)
    return onnx_model
