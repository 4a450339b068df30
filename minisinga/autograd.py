"""minisinga.autograd: SINGA's define-by-run automatic differentiation.

While ``autograd.training`` is True, every Operation called on Tensors records
itself as the ``creator`` of its outputs, with the list of operations that
produced its inputs (``src``).  ``backward(y)`` walks that graph from ``y``
back to the parameters, calling each operation's ``backward`` once every
gradient flowing into it is complete, and yields ``(param, grad)`` pairs for
the tensors with ``stores_grad=True`` as soon as each is final.

Adding an operation (the one documented way)::

    class Square(autograd.Operation):
        def forward(self, x):            # x: a CTensor
            self.x = x                   # keep what backward needs
            return backend.mul(x, x)     # one CTensor (or a tuple of them)
        def backward(self, dy):          # dy: a CTensor
            return backend.mul(backend.scale(self.x, 2.0), dy)  # one per input

    def square(x):
        return Square()(x)[0]

The operations themselves live in ``minisinga/ops/`` (one module per family)
and are re-exported here, so ``autograd.relu`` and ``autograd.ReLU`` work as in
SINGA.  See docs/autograd.md for the derivation of the engine.
"""
from __future__ import annotations

import sys
import threading
import types
from collections import deque

import numpy as np

from . import backend, checks, dtypes
from . import tensor as _tensor
from .ctensor import CTensor
from .tensor import Tensor


class _ThreadState(threading.local):
    """What each thread has of its own: whether operations record a graph."""
    training = False   # every thread starts out of training mode (as PyTorch's grad mode)


_state = _ThreadState()


class _AutogradModule(types.ModuleType):
    """This module's own type, for one attribute: ``autograd.training``.

    SINGA code reads and assigns ``autograd.training`` as a module attribute.
    Here each thread has its own value, so that two threads may train two
    models at once: reading or setting it goes through this property to
    ``_state``, a ``threading.local``."""

    @property
    def training(self) -> bool:
        """When True, operations record the graph (and keep what backward needs);
        per thread."""
        return _state.training

    @training.setter
    def training(self, value) -> None:
        _state.training = value


# NOTE: giving a module a subclass of ModuleType as its type is the documented way
# to put a property on a module (Python 3.5+); nothing else about the module changes.
sys.modules[__name__].__class__ = _AutogradModule

#: When True, operations record the graph although ``training`` is False, so
#: they behave as in evaluation (dropout off, batch norm on its running
#: statistics): how ``minisinga.sonnx`` records a forward pass to export it.
recording = False

_INT32 = dtypes.int32

_op_counter = 0


class Operation:
    """Base class of every differentiable operation.

    A subclass writes ``forward(*xs)`` and ``backward(*dys)``, both on
    CTensors.  ``forward`` returns one CTensor or a tuple; ``backward``
    returns one gradient per forward input, in order (a CTensor, or ``None``
    for an input that gets no gradient).  An instance is used once: call it,
    and (through ``autograd.backward``) run its backward once.

    Attributes set by ``__call__``: ``src`` (for each input: its creator, the
    index of the input among that creator's outputs, the input itself when it
    stores its gradient or gets none (data: labels, running statistics, which
    the ONNX export reads), whether it requires grad, and its shape, dtype and
    device), ``output_shapes`` and ``output_dtypes`` (minisinga.viz draws the
    graph from these),
    ``requires_grad`` and ``needs_input_grad`` (a tuple of booleans, one per
    input, that ``backward`` may consult to skip work).

    ``retain_saved`` is True while the engine runs a backward called with
    ``retain_graph=True``: an operation that frees what it saved at the end of
    its backward (conv2d frees x) keeps it then, so that backward can run again.
    An operation that has freed what it needs raises a RuntimeError on a second
    backward; it never hands a kernel a NULL or freed pointer.
    """

    #: The count of in-place changes (``tensor.EPOCH``) when the forward was recorded.
    _epoch = 0
    retain_saved = False

    def __init__(self, name: str | None = None):
        global _op_counter
        _op_counter += 1
        # NOTE: the default name "ReLU#12" is made when first asked for (it is
        # rarely read, and formatting it for every call is a measurable cost).
        self._number = _op_counter
        self._name = name

    @property
    def name(self) -> str:
        """The operation's label: the given name, or "<class>#<number>"."""
        if self._name is None:
            self._name = f"{type(self).__name__}#{self._number}"
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    # ---------------------------------------------------------------------------
    def __call__(self, *xs):
        """Run forward on the inputs' CTensors; returns a tuple of Tensors."""
        return self._do_forward(*xs)

    def _do_forward(self, *xs) -> tuple[Tensor, ...]:
        # NOTE: this runs for every operation, so it is one loop over the inputs
        # and no comprehensions (each of those costs a function call).
        record = _state.training or recording
        needs, datas, src = [], [], []
        for x in xs:
            if not isinstance(x, Tensor):
                raise TypeError(f"{type(self).__name__}: input {len(needs)} must be a Tensor, "
                                f"got {type(x).__name__}")
            data = x.data
            # Integer tensors (labels, indices) are data: they never get a gradient.
            need = x.requires_grad and data.dtype != _INT32
            needs.append(need)
            datas.append(data)
            if not record:
                continue
            if need:
                creator = x.creator
                if creator is None:  # a leaf on the gradient path: give it its Dummy creator
                    creator = x.creator = Dummy(x)
                src.append((creator, creator.y_id2idx[id(x)],
                            x if x.stores_grad else None, True, data.shape, data.dtype,
                            data.device))
            else:  # data: the backward pass never follows this edge (kept for viz and export)
                src.append((x.creator, None, x, False, data.shape, data.dtype, data.device))
        self.needs_input_grad = needs = tuple(needs)
        self.requires_grad = requires_grad = record and True in needs
        ys = self.forward(*datas)
        creator = self if record else None
        if isinstance(ys, tuple):
            outs = tuple([Tensor._output(y, requires_grad, creator, i) for i, y in enumerate(ys)])
        else:  # one output, the usual case
            outs = (Tensor._output(ys, requires_grad, creator, 0),)
        if record:
            self.src = src
            self._epoch = _tensor.EPOCH[0]
            if len(outs) == 1:  # the usual case, without the loop
                y = outs[0]
                self.y_id2idx = {id(y): 0}
                self.output_shapes = (y.data.shape,)
                self.output_dtypes = (y.data.dtype,)
                return outs
            self.y_id2idx = index = {}
            shapes, kinds = [], []
            for i, y in enumerate(outs):
                index[id(y)] = i
                shapes.append(y.data.shape)
                kinds.append(y.data.dtype)
            self.output_shapes = tuple(shapes)
            self.output_dtypes = tuple(kinds)
        return outs

    def forward(self, *xs: CTensor):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, *dys: CTensor):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def _do_backward(self, *dys: CTensor) -> tuple:
        """``backward``, its answer as a tuple of one gradient per input.  (The
        engine checks each needed gradient's shape as it adds it up.)"""
        if _tensor.EPOCH[0] != self._epoch:  # something changed in place since forward
            _check_saved(self)
        dxs = self.backward(*dys)
        if not isinstance(dxs, tuple):
            dxs = (dxs,)
        if len(dxs) != len(self.src):
            raise RuntimeError(f"{self.name}: backward returned {len(dxs)} gradients "
                               f"for {len(self.src)} inputs")
        return dxs

    def _wrong_grad(self, dxs: tuple) -> Exception:
        """The error for a gradient that is not a CTensor of its input's shape,
        dtype and device."""
        where = f"{self.name}: backward returned"
        for i, (dx, (_, _, _, needed, shape, dtype, device)) in enumerate(zip(dxs, self.src)):
            if not needed or dx is None:
                continue
            if not isinstance(dx, CTensor):
                kind = f"{type(dx).__module__}.{type(dx).__name__}".replace("builtins.", "")
                return TypeError(f"{where} a {kind} as the gradient of input {i}; a backward "
                                 "returns CTensors (or None), one per input: compute it with "
                                 "minisinga's backend functions, or wrap an array with "
                                 "CTensor.from_numpy(array, dtype, device)")
            if dx.shape != shape:
                return RuntimeError(f"{where} a gradient of shape {dx.shape} for input {i} "
                                    f"of shape {shape}")
            if dx.dtype != dtype:
                return TypeError(f"{where} a {dtypes.name(dx.dtype)} gradient for input {i}, "
                                 f"which is {dtypes.name(dtype)}; the gradient must have its "
                                 "input's dtype")
            if dx.device is not device:
                return checks.device_mismatch(where.replace(": backward returned", " backward"),
                                              f"the gradient of input {i}", dx.device,
                                              f"input {i}", device)
        return RuntimeError(f"{where} a gradient that does not fit its input")

    def output_name(self, idx: int) -> str:
        return f"{self.name}:{idx}"

    def grad_name(self, idx: int) -> str:
        return f"{self.output_name(idx)}_g"

    def get_params(self) -> list:
        return []


Operator = Operation  # SINGA's other name for it


def _check_saved(op: Operation) -> None:
    """Refuse to run ``op``'s backward if memory it saved in forward (a CTensor
    attribute, or one in a tuple or list attribute) was changed in place since."""
    for attr, value in vars(op).items():
        for saved in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(saved, CTensor) and _tensor.changed_since(saved, op._epoch):
                raise RuntimeError(
                    f"{op.name}: a tensor it saved for the backward pass (op.{attr}, shape "
                    f"{saved.shape}) was changed in place (by +=, -=, *=, /=, set_value, "
                    f"copy_data or another in-place call) after the forward pass, so its "
                    f"gradient would be wrong. Make the change before the operation runs, "
                    f"or write `y = y + 1` (a new tensor) instead of `y += 1`")


class Dummy(Operation):
    """The creator of a leaf tensor: no inputs, no backward.

    Not an operation: it only marks where the graph starts.
    """

    def __init__(self, tensor: Tensor, name: str | None = None):
        super().__init__(name if name is not None else tensor.name)
        self.src = []
        self.requires_grad = False
        self.y_id2idx = {id(tensor): 0}
        self.output_shapes = (tensor.shape,)
        self.output_dtypes = (tensor.dtype,)


def _as_dy(y: Tensor, dy) -> CTensor:
    """The upstream gradient for ``y``: None means ones, a number fills."""
    if dy is None:
        return backend.full(y.shape, 1.0, y.dtype, y.device)
    if dtypes.is_number(dy):   # (not a bool: True is not a gradient)
        return backend.full(y.shape, float(dy), y.dtype, y.device)
    data = dy.data if isinstance(dy, Tensor) else dy
    if not isinstance(data, CTensor):
        raise TypeError(f"backward: dy must be None, a number or a Tensor, got {type(dy).__name__}")
    if data.shape != y.shape:
        raise ValueError(f"backward: dy has shape {data.shape} but y has shape {y.shape}")
    if data.dtype != y.dtype:
        raise TypeError(f"backward: dy is {dtypes.name(data.dtype)} but y is "
                        f"{dtypes.name(y.dtype)}; give dy y's dtype (dy.as_type(y.dtype))")
    if data.device is not y.device:
        raise checks.device_mismatch("backward", "dy", data.device, "y", y.device)
    return data


def _accumulate(old: CTensor | None, new: CTensor) -> CTensor:
    """old + new into a fresh buffer (either may be shared with someone else)."""
    if old is None:
        return new
    return backend.add(old, new)


def _backward_many(ys, dys, retain_graph: bool = False):
    """The engine.  Yields (tensor, grad Tensor) for every tensor that stores
    its gradient, as soon as that gradient is complete.  ``retain_graph``: the
    operations keep what they saved (``Operation.retain_saved``)."""
    if not isinstance(retain_graph, (bool, np.bool_)):
        raise TypeError(f"backward: retain_graph must be a bool, got {retain_graph!r}")
    roots = []
    for y, dy in zip(ys, dys):
        if not isinstance(y, Tensor):
            raise TypeError(f"backward: y must be a Tensor, got {type(y).__name__}")
        if y.creator is None:
            raise ValueError("backward: y has no creator, so no graph was recorded; set "
                             "autograd.training = True before the forward pass")
        roots.append((y.creator, y.creator.y_id2idx[id(y)], _as_dy(y, dy)))

    # 1. Count, for every operation, how many gradient edges will flow into it
    #    (one per use of one of its outputs by an operation on the path).
    #    Iterative (a stack of operations to visit): no recursion limit on long chains.
    deps: dict[Operation, int] = {}
    seen = {op for op, _, _ in roots}
    to_visit = [op for op in seen if op.requires_grad]
    while to_visit:
        op = to_visit.pop()
        for src_op, _, _, needed, _, _, _ in op.src:
            if not needed:
                continue
            deps[src_op] = deps.get(src_op, 0) + 1
            if src_op not in seen:
                seen.add(src_op)
                if src_op.requires_grad:  # (a leaf's Dummy has nothing to visit)
                    to_visit.append(src_op)

    # 2. Gradients waiting for their op to be complete: op -> [grad per output].
    pending: dict[Operation, list] = {}
    # Tensors that asked for their gradient: op -> {output index: tensor}.
    stored: dict[Operation, dict[int, Tensor]] = {}
    ready: deque[Operation] = deque()
    for (op, idx, dy), y in zip(roots, ys):
        grads = pending.setdefault(op, [None] * len(op.output_shapes))
        grads[idx] = _accumulate(grads[idx], dy)
        if y.stores_grad:
            stored.setdefault(op, {})[idx] = y
    for op, _, _ in roots:
        if deps.get(op, 0) == 0 and op not in ready:  # complete already
            if op in stored:
                yield from _hand_out(op, pending, stored)
            if op.requires_grad:
                ready.append(op)

    # 3. Run each op's backward once all gradients into it have arrived.
    while ready:
        op = ready.popleft()
        grads = pending.pop(op)
        if None in grads:  # an output nobody used: its gradient is zero
            grads = [g if g is not None else
                     backend.full(shape, 0.0, _dtype_of(grads), _device_of(grads))
                     for g, shape in zip(grads, op.output_shapes)]
        op.retain_saved = retain_graph
        dxs = op._do_backward(*grads)
        for (src_op, idx, x_stored, needed, shape, dtype, device), dx in zip(op.src, dxs):
            if not needed:
                continue
            slot = pending.get(src_op)
            if slot is None:
                slot = pending[src_op] = [None] * len(src_op.output_shapes)
            if dx is not None:  # (``_accumulate``, written out: it runs once per edge)
                if not isinstance(dx, CTensor) or dx.shape != shape or dx.dtype != dtype \
                        or dx.device is not device:
                    raise op._wrong_grad(dxs)
                old = slot[idx]
                slot[idx] = dx if old is None else backend.add(old, dx)
            if x_stored is not None:
                stored.setdefault(src_op, {})[idx] = x_stored
            left = deps[src_op] - 1
            deps[src_op] = left
            if left == 0:  # every consumer has reported: src_op's gradients are final
                if src_op.requires_grad:
                    if src_op in stored:
                        yield from _hand_out(src_op, pending, stored)
                    ready.append(src_op)
                    continue
                # A leaf (a parameter's Dummy): nothing more to run, only its gradient
                # to hand out (``_hand_out`` written out: no generator per parameter).
                leaf_grads = pending.pop(src_op)
                for j, t in stored.pop(src_op, _NOTHING).items():
                    if leaf_grads[j] is not None:
                        yield t, Tensor._output(leaf_grads[j], False, None, j,
                                                name=src_op.grad_name(j))


_NOTHING: dict = {}   # (never written to) ``stored.pop``'s answer for an op with nothing stored


def _hand_out(op: Operation, pending: dict, stored: dict):
    """Yield (tensor, grad Tensor) for the outputs of ``op`` that store their
    gradient; called once the gradients of ``op`` are final."""
    grads = pending[op]
    for j, t in stored.pop(op, {}).items():
        if grads[j] is not None:
            yield t, Tensor._output(grads[j], False, None, j, name=op.grad_name(j))


def _dtype_of(grads):
    return next(g.dtype for g in grads if g is not None)


def _device_of(grads):
    return next(g.device for g in grads if g is not None)


def backward(y: Tensor, dy=None, retain_graph: bool = False):
    """Back-propagate from ``y``; a generator of ``(param, grad)`` pairs.

    Yields every tensor with ``stores_grad=True`` that ``y`` depends on,
    together with dL/dparam as a Tensor, as soon as that gradient is complete
    (so an optimizer can update a parameter while backward still runs).
    ``dy`` is dL/dy: None means 1 (ones of y's shape), a number fills, or a
    Tensor of y's shape.

    A graph can be back-propagated once: an operation may free what it saved
    (conv2d frees its input), and a second backward through it raises a
    RuntimeError.  ``retain_graph=True`` (not in SINGA; PyTorch's name) keeps
    everything saved, so that backward can run through the graph again.
    """
    return _backward_many([y], [dy], retain_graph)


class Gradients(dict):
    """The answer of ``gradients``: ``{id(param): grad}``, as SINGA keys it.

    Indexing with the tensor itself also works (``grads[w]`` is
    ``grads[id(w)]``), as do ``w in grads`` and ``grads.get(w)``;
    ``params()`` lists the tensors, in the order of the keys.
    """

    def __init__(self, pairs=()):
        super().__init__()
        self._params = {}   # id -> tensor: keeps each key's tensor alive (ids are reused)
        for param, grad in pairs:
            self[id(param)] = grad
            self._params[id(param)] = param

    @staticmethod
    def _key(key):
        return id(key) if isinstance(key, Tensor) else key

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __contains__(self, key) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key, default=None):
        return super().get(self._key(key), default)

    def params(self) -> list:
        """The tensors whose gradients these are, in the order of the keys."""
        return [self._params[k] for k in self]


def gradients(y: Tensor, dy=None, retain_graph: bool = False) -> Gradients:
    """All of ``backward(y, dy, retain_graph)`` as a dict ``{id(param): grad}`` (SINGA's keys).

    ``grads[w]`` (the tensor) finds the gradient of ``w`` too; see ``Gradients``.
    """
    return Gradients(backward(y, dy, retain_graph))


# The operations, one module per family, re-exported under SINGA's names, and
# SINGA's old-style layer names, aliases into minisinga.layer (imported at the
# bottom to break the import cycle, as SINGA does).
from .layer import (  # noqa: E402,F401
    LSTM,
    RNN,
    AvgPool1d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Linear,
    MaxPool1d,
    MaxPool2d,
    Pooling2d,
    RNN_Base,
    SeparableConv2d,
)
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
