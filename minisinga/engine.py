"""minisinga.engine: reverse-mode automatic differentiation, the whole of it.

Two halves, each a page:

- **Recording** (``Operation.__call__``).  While ``training`` is True, an
  operation called on Tensors becomes the ``creator`` of its outputs and keeps a
  list of edges to the operations that made its inputs (``src``).
- **Back-propagation** (``backward``).  Walk those edges back from the loss:
  1. *count* each operation's consumers (how many gradients will flow into it);
  2. *run* an operation's ``backward`` as soon as all its gradients have arrived,
     adding each gradient it returns into its input's creator;
  3. *stream*: hand out ``(param, grad)`` for every tensor with ``stores_grad``
     the moment its gradient is complete, so an optimizer can update it while
     the rest of the pass still runs.

``minisinga.autograd`` re-exports this module under SINGA's names, with the
operations (``minisinga/ops/``).  docs/autograd.md derives the algorithm.
"""
from __future__ import annotations

import sys
import threading
import types
from collections import deque

import numpy as np

from . import backend, checks, dtypes, profiling
from ._tensor import EPOCH, Tensor, changed_since
from .ctensor import CTensor

__all__ = ["Operation", "Operator", "Dummy", "backward", "gradients", "Gradients"]


# -- the flags: training (one per thread) and recording -------------------------------
class _ThreadState(threading.local):
    """What each thread has of its own: whether operations record a graph."""
    training = False   # every thread starts out of training mode (as PyTorch's grad mode)


_state = _ThreadState()
_recording = False   # one for the process: see ``recording`` below


class FlagModule(types.ModuleType):
    """The type of this module and of ``minisinga.autograd``, for two attributes.

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

    @property
    def recording(self) -> bool:
        """When True, operations record the graph although ``training`` is False,
        so they behave as in evaluation (dropout off, batch norm on its running
        statistics): how ``minisinga.sonnx`` records a forward pass to export it."""
        return _recording

    @recording.setter
    def recording(self, value) -> None:
        global _recording
        _recording = value


# NOTE: giving a module a subclass of ModuleType as its type is the documented way
# to put a property on a module (Python 3.5+); nothing else about the module changes.
sys.modules[__name__].__class__ = FlagModule

_op_counter = 0   # numbers the operations, for their default names ("ReLU#12")


# -- recording ------------------------------------------------------------------------
class Operation:
    """Base class of every operation.

    A subclass writes ``forward(*xs)`` and ``backward(*dys)``, both on
    CTensors.  ``forward`` returns one CTensor or a tuple; ``backward``
    returns one gradient per forward input, in order (a CTensor, or ``None``
    for an input that gets no gradient).  An instance is used once: call it,
    and (through ``backward``) run its backward once.

    An operation without a gradient (a comparison, a cast to int32) sets
    ``differentiable = False`` (on the class, or on the instance in ``forward``):
    its outputs are then constants, which back-propagation never enters.

    Attributes set by ``__call__`` while recording: ``src``, one edge per input,
    a 7-tuple ``(creator, index, stored, needed, shape, dtype, device)``: the
    input's creator, the index of the input among that creator's outputs, the
    input itself when it stores its gradient or gets none (data: labels, running
    statistics, which the ONNX export reads), whether it needs a gradient, and
    its shape, dtype and device; ``output_shapes`` and ``output_dtypes``
    (minisinga.viz draws the graph from these).  Always: ``requires_grad`` and
    ``needs_input_grad`` (one boolean per input, which ``forward`` may consult
    to skip saving what no gradient needs).

    ``retain_saved`` is True while the engine runs a backward called with
    ``retain_graph=True``: an operation that frees what it saved at the end of
    its backward (conv2d frees x) keeps it then, so that backward can run again.

    What ``forward`` saved for backward is its CTensor attributes (``self.x``,
    ``self.mean``).  In an optimizer's step the engine releases them as soon as
    the backward has run (``_release_saved``).
    """

    differentiable = True
    retain_saved = False
    _released = ()   # the attributes an optimizer step's backward released
    _epoch = 0   # the count of in-place changes (``EPOCH``) when the forward was recorded

    def __init__(self, name: str | None = None):
        global _op_counter
        _op_counter += 1
        # NOTE: the default name "ReLU#12" is made when first asked for (formatting
        # it for every call is a measurable cost, and it is rarely read).
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

    def forward(self, *xs: CTensor):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, *dys: CTensor):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *xs: Tensor) -> tuple[Tensor, ...]:
        """Run ``forward`` on the inputs' CTensors; returns a tuple of Tensors.
        While training, record the edges back to the inputs' creators."""
        record = _state.training or _recording
        needs, datas, src = [], [], []
        for x in xs:
            if not isinstance(x, Tensor):
                raise TypeError(f"{type(self).__name__}: input {len(needs)} must be a Tensor, "
                                f"got {type(x).__name__}")
            data = x.data
            # Integer tensors (labels, indices) are data: they never get a gradient.
            need = x.requires_grad and data.dtype != dtypes.int32
            needs.append(need)
            datas.append(data)
            if record:
                src.append(_edge(x, data, need))
        self.needs_input_grad = tuple(needs)
        self.requires_grad = record and True in needs

        ys = self.forward(*datas)

        if not isinstance(ys, tuple):
            ys = (ys,)
        if not self.differentiable:   # (may have been decided by forward)
            self.requires_grad = False
        creator = self if record else None
        outs = tuple([Tensor._output(y, self.requires_grad, creator, i)
                      for i, y in enumerate(ys)])
        if record:
            self.src = src
            self._epoch = EPOCH[0]
            self.y_id2idx = {id(y): i for i, y in enumerate(outs)}
            self.output_shapes = tuple([y.shape for y in ys])
            self.output_dtypes = tuple([y.dtype for y in ys])
        return outs

    def output_name(self, idx: int) -> str:
        return f"{self.name}:{idx}"

    def grad_name(self, idx: int) -> str:
        return f"{self.output_name(idx)}_g"

    def get_params(self) -> list:
        return []


Operator = Operation  # SINGA's other name for it


def _edge(x: Tensor, data: CTensor, needed: bool) -> tuple:
    """The edge from an operation back to its input ``x`` (``Operation.src``)."""
    if not needed:   # data: the backward pass never follows this edge (kept for viz and export)
        return (x.creator, None, x, False, data.shape, data.dtype, data.device)
    creator = x.creator
    if creator is None:   # a leaf on the gradient path: give it its Dummy creator
        creator = x.creator = Dummy(x)
    return (creator, creator.y_id2idx[id(x)], x if x.stores_grad else None, True,
            data.shape, data.dtype, data.device)


class Dummy(Operation):
    """The creator of a leaf tensor: no inputs, no backward.  It only marks
    where the graph starts (and the edges of a parameter lead to it)."""

    def __init__(self, tensor: Tensor, name: str | None = None):
        super().__init__(name if name is not None else tensor.name)
        self.src = []
        self.requires_grad = False
        self.y_id2idx = {id(tensor): 0}
        self.output_shapes = (tensor.shape,)
        self.output_dtypes = (tensor.dtype,)


# -- back-propagation -------------------------------------------------------------------
def _backward_many(ys, dys, retain_graph: bool = False, release: bool = False):
    """Back-propagate from the tensors ``ys`` with upstream gradients ``dys``;
    yields ``(tensor, grad)`` for every tensor that stores its gradient, as soon
    as that gradient is complete.  ``release``: release what each operation saved
    as soon as its backward has run (an optimizer's step: ``Optimizer.call``)."""
    with profiling.backward_pass():   # (the time profile tells forward from backward)
        yield from _back_propagate(ys, dys, retain_graph, release)


def _back_propagate(ys, dys, retain_graph: bool, release: bool):
    """The body of ``_backward_many``."""
    roots = _roots(ys, dys, retain_graph)
    consumers = _count_consumers([op for op, _, _ in roots])
    grads: dict[Operation, list] = {}             # op -> the gradient of each output so far
    stored: dict[Operation, dict[int, Tensor]] = {}   # op -> {output index: tensor to hand out}
    for (op, idx, dy), y in zip(roots, ys):
        _add_grad(grads, op, idx, dy)
        if y.stores_grad:
            stored.setdefault(op, {})[idx] = y

    ready: deque[Operation] = deque()
    for op in dict.fromkeys(op for op, _, _ in roots):   # (each root op once, in order)
        if op not in consumers:   # nothing on the path uses it: its gradient is complete
            yield from _hand_out(op, grads, stored)
            if op.requires_grad:
                ready.append(op)

    while ready:
        op = ready.popleft()
        dys = grads.pop(op, None)
        if dys is None:   # every consumer returned None for it: no gradient goes through
            dxs = (None,) * len(op.src)
        else:
            dxs = _run_backward(op, dys, retain_graph)
            if release:
                _release_saved(op)
        # NOTE: drop the upstream gradients now, not at the next turn of the loop: a
        # step's largest tensors are its activations' gradients, and the optimizer
        # runs inside the yields below.
        dys = None
        for (src_op, idx, x_stored, needed, shape, dtype, device), dx in zip(op.src, dxs):
            if not needed:
                continue
            if dx is not None:
                if not isinstance(dx, CTensor) or dx.shape != shape or dx.dtype != dtype \
                        or dx.device is not device:
                    raise _wrong_grad(op, dxs)
                _add_grad(grads, src_op, idx, dx)
            if x_stored is not None:
                stored.setdefault(src_op, {})[idx] = x_stored
            consumers[src_op] -= 1
            if consumers[src_op] == 0:   # every consumer has reported: the gradient is final
                yield from _hand_out(src_op, grads, stored)
                if src_op.requires_grad:
                    ready.append(src_op)
                else:   # a leaf's Dummy: nothing to run
                    grads.pop(src_op, None)
        dxs = None   # (once added in, a gradient summed with another is garbage)


def _roots(ys, dys, retain_graph) -> list[tuple[Operation, int, CTensor]]:
    """(creator, output index, upstream gradient) of each tensor in ``ys``."""
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
    return roots


def _count_consumers(ops: list[Operation]) -> dict[Operation, int]:
    """For every operation behind ``ops`` on the gradient path: how many gradients
    will flow into it (one per use of one of its outputs).  A stack, not recursion:
    a chain of 10,000 operations is no problem."""
    consumers: dict[Operation, int] = {}
    seen = set(ops)
    to_visit = [op for op in seen if op.requires_grad]
    while to_visit:
        op = to_visit.pop()
        for src_op, _, _, needed, _, _, _ in op.src:
            if not needed:
                continue
            consumers[src_op] = consumers.get(src_op, 0) + 1
            if src_op not in seen:
                seen.add(src_op)
                if src_op.requires_grad:   # (a leaf's Dummy has nothing to visit)
                    to_visit.append(src_op)
    return consumers


def _add_grad(grads: dict, op: Operation, idx: int, dx: CTensor) -> None:
    """Add ``dx`` into the gradient of output ``idx`` of ``op`` (the only place where
    gradients are summed: the kernels write theirs)."""
    slot = grads.get(op)
    if slot is None:
        slot = grads[op] = [None] * len(op.output_shapes)
    old = slot[idx]
    slot[idx] = dx if old is None else backend.add(old, dx)


def _hand_out(op: Operation, grads: dict, stored: dict):
    """Yield (tensor, grad Tensor) for the outputs of ``op`` that store their
    gradient; called once the gradients of ``op`` are final."""
    tensors = stored.pop(op, None)
    if tensors is None:
        return
    slot = grads.get(op)
    for j, t in tensors.items():
        if slot is not None and slot[j] is not None:
            yield t, Tensor._output(slot[j], False, None, j, name=op.grad_name(j))


def _run_backward(op: Operation, dys: list, retain_graph: bool) -> tuple:
    """``op.backward`` on the gradients of its outputs (zeros for an output nobody
    used); its answer as a tuple of one gradient per input."""
    if op._released:
        raise RuntimeError(
            f"{op.name}: an optimizer step already back-propagated through this graph and "
            f"released what the operation saved for its backward (op."
            f"{', op.'.join(op._released)}), so it cannot run again. Run the forward pass "
            "again; or take the gradients you need first, with autograd.gradients(loss, "
            "retain_graph=True), before the optimizer's step")
    if EPOCH[0] != op._epoch:   # something changed in place since the forward pass
        _check_saved(op)
    if None in dys:
        like = next(g for g in dys if g is not None)
        dys = [g if g is not None else backend.full(shape, 0.0, like.dtype, like.device)
               for g, shape in zip(dys, op.output_shapes)]
    op.retain_saved = retain_graph
    dxs = op.backward(*dys)
    if not isinstance(dxs, tuple):
        dxs = (dxs,)
    if len(dxs) != len(op.src):
        raise RuntimeError(f"{op.name}: backward returned {len(dxs)} gradients "
                           f"for {len(op.src)} inputs")
    return dxs


def _release_saved(op: Operation) -> None:
    """Drop what ``op`` saved for its backward, which has run: every CTensor
    attribute becomes None.  An activation saved for backward is then freed as
    soon as the last operation that saved it has run its backward, instead of
    when the whole graph goes away: the backward peak of the benchmarks' CNN
    step falls from 23.0 to 19.3 MiB (docs/performance/benchmarks.md#memory).
    PyTorch frees saved tensors after every backward; here only an optimizer's
    step does, so that ``gradients(y)[x]`` and ``gradients(y)[b]`` can still be
    asked of one graph (SINGA keeps everything).  A second backward through
    ``op`` is refused (``_run_backward``).  (A CTensor kept in a list is not
    looked for: no minisinga operation saves one, and this runs for every
    operation of every step.)"""
    saved = op.__dict__
    released = [attr for attr, value in saved.items() if type(value) is CTensor]
    if released:
        for attr in released:
            saved[attr] = None
        op._released = released


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


def _check_saved(op: Operation) -> None:
    """Refuse to run ``op``'s backward if memory it saved in forward (a CTensor
    attribute, or one in a tuple or list attribute) was changed in place since."""
    for attr, value in vars(op).items():
        for saved in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(saved, CTensor) and changed_since(saved, op._epoch):
                raise RuntimeError(
                    f"{op.name}: a tensor it saved for the backward pass (op.{attr}, shape "
                    f"{saved.shape}) was changed in place (by +=, -=, *=, /=, set_value, "
                    f"copy_data or another in-place call) after the forward pass, so its "
                    f"gradient would be wrong. Make the change before the operation runs, "
                    f"or write `y = y + 1` (a new tensor) instead of `y += 1`")


def _wrong_grad(op: Operation, dxs: tuple) -> Exception:
    """The error for a gradient that is not a CTensor of its input's shape,
    dtype and device."""
    where = f"{op.name}: backward returned"
    for i, (dx, (_, _, _, needed, shape, dtype, device)) in enumerate(zip(dxs, op.src)):
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


# -- the public functions -----------------------------------------------------------------
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
    everything saved, so that backward can run through the graph again.  (An
    optimizer's step, ``opt(loss)``, releases what every operation saved as soon
    as its backward has run.)
    """
    return _backward_many([y], [dy], retain_graph)


def step_backward(loss: Tensor):
    """The backward of an optimizer's step (``Optimizer.call``, ``DistOpt``'s steps):
    ``backward(loss)``'s ``(param, grad)`` pairs, releasing what each operation
    saved as soon as its backward has run, so that a step's activations are freed
    as it goes (and a second backward through the graph is refused)."""
    return _backward_many([loss], [None], release=True)


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
