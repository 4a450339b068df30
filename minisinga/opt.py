"""minisinga.opt: SINGA's optimizers (SGD, Adam, RMSProp, AdaGrad) and
learning-rate schedules (Constant, ExponentialDecay).

Using one::

    sgd = opt.SGD(lr=0.05, momentum=0.9, weight_decay=1e-5)
    loss = model_loss(...)          # recorded with autograd.training = True
    sgd(loss)                       # backward, one update per parameter, step()

``optimizer(loss)`` runs ``autograd.backward(loss)`` and updates each parameter
as soon as its gradient is complete (``apply``), then advances the step
counter (``step()``).

Where the numbers live.  Every update is ONE C kernel per parameter
(minisinga/c/optim.c), in place.  The learning rate of the current step
(``lr_value``) and the number of finished steps (``step_counter``) are
one-element float64 tensors on the device (SINGA uses float32), read by the kernels and advanced by
kernels, never by Python arithmetic.  That is what lets graph mode
(minisinga/graph.py) replay a recorded step: the replayed launches read this
step's learning rate from memory.  (SINGA does the same.)  The other
hyperparameters (momentum, betas, epsilon, weight decay) are plain numbers
here; SINGA also accepts schedules for them.

State.  An optimizer's per-parameter buffers (SGD's momentum, Adam's m and v,
RMSProp's running average, AdaGrad's history) are created, as zeros, at the
parameter's first update and keyed by the parameter's name.  ``get_states()``
returns one flat dict of copies, ``{"step_counter": Tensor, "<buffer>:<param
name>": Tensor, ...}`` (for example ``"momentum:linear1.W"``), which can be
passed to ``Model.save_states(path, aux_states=...)``;  ``set_states`` takes
it back (Tensors or arrays) and copies the values in place.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend, checks, dtypes, engine
from ._lib import ffi
from .graph import paused
from .tensor import Tensor

__all__ = ["DecayScheduler", "Constant", "ExponentialDecay", "Optimizer", "SGD", "Adam",
           "RMSProp", "AdaGrad"]

STEP_COUNTER = "step_counter"


def _number(where, argname: str, value, *, low: float | None = None,
            low_open: bool = False, high: float | None = None,
            high_open: bool = False) -> float:
    """A finite real number within the given bounds, or a ValueError/TypeError naming
    ``where`` (a name, or the object being built: its class name), the argument,
    what was expected and what came."""
    if not isinstance(where, str):
        where = type(where).__name__
    value = checks.finite_number(where, argname, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{where}: {argname} must be {'>' if low_open else '>='} {low}, "
                         f"got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{where}: {argname} must be {'<' if high_open else '<='} {high}, "
                         f"got {value}")
    return value


# ====================================================================== schedules
class DecayScheduler:
    """A hyperparameter that depends on the step: ``scheduler(step)`` takes the
    step counter (a one-element tensor) and returns the value as a new
    one-element tensor, computed on the device by kernels (so a replayed graph
    recomputes it).  Subclasses implement ``call(step)``."""

    def __init__(self, init_value: float):
        self.init_value = _number(self, "init_value", init_value, low=0.0)

    def __call__(self, step: Tensor) -> Tensor:
        if not isinstance(step, Tensor) or step.size() != 1:
            raise TypeError(f"{type(self).__name__}: step must be a one-element Tensor, "
                            f"got {step!r}")
        value = self.call(step)
        if not isinstance(value, Tensor) or value.size() != 1:
            raise TypeError(f"{type(self).__name__}.call must return a one-element Tensor, "
                            f"got {value!r}")
        return value

    def call(self, step: Tensor) -> Tensor:
        """The value at ``step`` as a new one-element tensor (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement call(step)")

    def _store(self, step: Tensor, out: Tensor) -> None:
        """Write the value at ``step`` into the one-element tensor ``out`` (the
        optimizer's ``lr_value``, once per step).  A subclass may write ``out``
        directly instead of through a new tensor."""
        out.copy_data(self(step))


class Constant(DecayScheduler):
    """The same value at every step."""

    def call(self, step: Tensor) -> Tensor:
        """``init_value`` in a new tensor (a fill kernel)."""
        return Tensor(data=backend.full((1,), self.init_value, step.dtype, step.device),
                      requires_grad=False)

    def _store(self, step: Tensor, out: Tensor) -> None:
        """Fill ``out`` with ``init_value`` (one kernel; no temporary tensor)."""
        backend.fill(out.data, self.init_value)


class ExponentialDecay(DecayScheduler):
    """``init_value * decay_rate ** (step / decay_steps)``; with ``staircase=True``
    the exponent is rounded down, so the value drops every ``decay_steps`` steps.
    Computed by the ``exponential_decay`` kernel."""

    def __init__(self, init_value: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False):
        super().__init__(init_value)
        self.decay_steps = _number(self, "decay_steps", decay_steps, low=0.0, low_open=True)
        self.decay_rate = _number(self, "decay_rate", decay_rate, low=0.0, low_open=True)
        if not isinstance(staircase, (bool, np.bool_)):
            raise TypeError(f"staircase: expected a bool, got {staircase!r}")
        self.staircase = bool(staircase)

    def call(self, step: Tensor) -> Tensor:
        """``init_value * decay_rate ** (step / decay_steps)`` in a new tensor."""
        out = Tensor((1,), step.device, step.dtype, requires_grad=False)
        backend.kernel("exponential_decay", out.data)(
            out.data.ptr, step.data.ptr, self.init_value, self.decay_steps, self.decay_rate,
            int(self.staircase))
        return out


def _as_scheduler(lr) -> DecayScheduler:
    if isinstance(lr, DecayScheduler):
        return lr
    return Constant(_number("optimizer", "lr", lr, low=0.0))


# ====================================================================== optimizers
class Optimizer:
    """Base class: the learning-rate schedule, the step counter, the state buffers.

    Args:
        lr: the learning rate, a number >= 0 or a ``DecayScheduler``.

    Attributes: ``lr`` (the scheduler), ``step_counter`` (float64 tensor (1,),
    the number of finished steps), ``lr_value`` (float64 tensor (1,), the
    learning rate of the current step, ``lr(step_counter)``).
    A subclass lists its per-parameter buffers in ``buffer_names`` and
    implements ``apply``.
    """

    buffer_names: tuple[str, ...] = ()

    def __init__(self, lr=0.1):
        self.lr = _as_scheduler(lr)
        self.step_counter = Tensor((1,), dtype=dtypes.float64, requires_grad=False).set_value(0)
        self.lr_value = Tensor((1,), dtype=dtypes.float64, requires_grad=False)
        self.lr_value.copy_data(self.lr(self.step_counter))
        self._buffers: dict[str, Tensor] = {}   # "<buffer>:<param name>" -> Tensor

    # ------------------------------------------------------------------ training
    def __call__(self, loss: Tensor) -> None:
        """Backpropagate from ``loss``, update every parameter, then ``step()``."""
        self.call(loss)
        self.step()

    def call(self, loss: Tensor) -> None:
        """Backpropagate from ``loss`` and apply each update as its gradient arrives.

        What each operation saved for its backward is released as soon as that
        backward has run (the activations: most of a step's peak memory), so a
        second backward through this graph is refused."""
        for param, grad in engine.step_backward(loss):
            self.apply(param.name, param, grad)

    def step(self) -> None:
        """Advance the step counter and compute the next learning rate (kernels)."""
        sc = self.step_counter.data
        backend.kernel("affine_forward", sc)(sc.ptr, sc.ptr, 1.0, 1.0, 1)  # step += 1
        self.lr._store(self.step_counter, self.lr_value)     # lr_value = lr(step)

    def backward_and_update(self, loss: Tensor) -> None:
        """SINGA's deprecated name for ``optimizer(loss)``."""
        self(loss)

    def update(self, param: Tensor, grad: Tensor) -> None:
        """Apply one update to ``param`` given its gradient (SINGA marks it
        deprecated in favour of ``apply``; it still works and does not step)."""
        self.apply(param.name, param, grad)

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        """Update ``param`` in place from ``grad``; ``name`` keys its state buffers."""
        raise NotImplementedError(f"{type(self).__name__} does not implement apply")

    # ------------------------------------------------------------------ helpers
    def _check(self, name, param, grad) -> None:
        """Validate an update's arguments before any kernel runs."""
        # NOTE: the usual case (all fine) in one condition: this runs for every
        # parameter of every step; the checks below only run to say what is wrong.
        if type(name) is str and type(param) is Tensor and type(grad) is Tensor:
            p, g = param.data, grad.data
            if (p.dtype == g.dtype and p.dtype in dtypes.FLOAT_TYPES and p.shape == g.shape
                    and g.device is p.device and self.step_counter.data.device is p.device):
                return
        if not isinstance(name, str):
            raise TypeError(f"apply: name must be a str, got {name!r}")
        if not isinstance(param, Tensor) or not isinstance(grad, Tensor):
            raise TypeError(f"apply: param and grad must be Tensors, got "
                            f"{type(param).__name__} and {type(grad).__name__}")
        p, g = param.data, grad.data
        if p.dtype not in dtypes.FLOAT_TYPES:
            raise TypeError(f"apply: param {name} must be float32 or float64, got "
                            f"{dtypes.name(p.dtype)}")
        if p.shape != g.shape:
            raise ValueError(f"apply: param {name} has shape {p.shape} but its gradient "
                             f"has shape {g.shape}")
        if p.dtype != g.dtype:
            raise TypeError(f"apply: param {name} is {dtypes.name(p.dtype)} but its "
                            f"gradient is {dtypes.name(g.dtype)}")
        if g.device is not p.device:
            raise checks.device_mismatch("apply", f"param {name}", p.device,
                                         "its gradient", g.device)
        if self.step_counter.data.device is not p.device:
            with paused(param.device):   # once: keep the counters by the parameters
                self.step_counter.to_device(param.device)
                self.lr_value.to_device(param.device)

    def _buffer(self, kind: str, name: str, param: Tensor) -> Tensor:
        """The state buffer ``kind`` of parameter ``name``, made as zeros at first use."""
        key = f"{kind}:{name}"
        buf = self._buffers.get(key)
        if buf is None:
            with paused(param.device):   # made once, never part of a replayed step
                buf = Tensor(param.shape, param.device, param.dtype,
                             requires_grad=False).set_value(0)
            self._buffers[key] = buf
        elif buf.shape != param.shape or buf.dtype != param.dtype:
            raise ValueError(f"{type(self).__name__}: state {key} has shape {buf.shape} "
                             f"({dtypes.name(buf.dtype)}) but the parameter has shape "
                             f"{param.shape} ({dtypes.name(param.dtype)})")
        elif buf.device is not param.device:
            with paused(param.device):
                buf.to_device(param.device)
        return buf

    # ------------------------------------------------------------------ states
    def get_states(self) -> dict[str, Tensor]:
        """Copies of the step counter and of every state buffer, in one flat dict:
        ``{"step_counter": ..., "<buffer>:<param name>": ...}``."""
        states = {STEP_COUNTER: self.step_counter.clone()}
        for key, buf in self._buffers.items():
            states[key] = buf.clone()
        return states

    def set_states(self, states: dict) -> None:
        """Restore what ``get_states`` returned (Tensors or NumPy arrays), copying
        into the existing tensors.  Every key must be ``step_counter`` or
        ``<buffer>:<name>`` with a buffer this optimizer has; everything is
        checked before anything is copied."""
        if not isinstance(states, dict):
            raise TypeError(f"set_states: expected a dict, got {type(states).__name__}")
        arrays = {}
        for key, value in states.items():
            if not isinstance(key, str):
                raise TypeError(f"set_states: keys must be str, got {key!r}")
            kind = key.split(":", 1)[0]
            if key != STEP_COUNTER and (":" not in key or kind not in self.buffer_names):
                raise KeyError(f"set_states: unknown state {key!r} for {type(self).__name__} "
                               f"(expected {STEP_COUNTER!r} or '<buffer>:<param name>' with "
                               f"buffer in {list(self.buffer_names)})")
            if key == STEP_COUNTER and dtypes.is_number(value):
                # a plain number, as SINGA code passes it: {'step_counter': 5}
                if not (np.isfinite(value) and value >= 0):
                    raise ValueError(f"set_states: {key} must be a finite number >= 0, "
                                     f"got {value!r}")
                value = np.float64(value)
            arr = value.to_numpy() if isinstance(value, Tensor) else np.asarray(value)
            if arr.dtype not in (np.float32, np.float64):
                raise TypeError(f"set_states: {key} must be float32 or float64, got {arr.dtype}")
            if key == STEP_COUNTER and arr.size != 1:
                raise ValueError(f"set_states: {key} must have one element, got shape {arr.shape}")
            if key == STEP_COUNTER:
                steps = float(arr.reshape(-1)[0])
                if not (math.isfinite(steps) and steps >= 0 and steps == int(steps)):
                    raise ValueError(f"set_states: {key} must be a whole number >= 0 (the "
                                     f"steps taken), got {steps!r}")
            old = self._buffers.get(key)
            if old is not None and old.shape != arr.shape:
                raise ValueError(f"set_states: {key} has shape {old.shape} but the value has "
                                 f"shape {arr.shape}")
            arrays[key] = arr
        for key, arr in arrays.items():
            if key == STEP_COUNTER:
                self.step_counter.copy_from_numpy(arr.astype(np.float64).reshape(1))
            elif key in self._buffers:
                buf = self._buffers[key]
                buf.copy_from_numpy(arr.astype(dtypes.to_numpy(buf.dtype)))
            else:
                code = dtypes.float64 if arr.dtype == np.float64 else dtypes.float32
                self._buffers[key] = Tensor(data=arr, dtype=code,
                                            device=self.step_counter.device,
                                            requires_grad=False)
        self.lr_value.copy_data(self.lr(self.step_counter))


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov and weight
    decay, SINGA's rule (kernel ``sgd_update``)::

        g'  = g + weight_decay * p
        buf = momentum * buf + (1 - dampening) * g'     (when momentum != 0)
        d   = g' + momentum * buf  if nesterov  else  buf   (d = g' without momentum)
        p  -= lr * d

    ``buf`` starts at zeros, so the first step moves p by lr * (1 - dampening) * g'.
    This is SINGA's rule and differs from PyTorch, which starts ``buf`` at g'
    (so PyTorch's first step with dampening moves by lr * g').  Nesterov needs
    momentum > 0 and dampening = 0.  State buffer: ``momentum``.
    """

    def __init__(self, lr=0.1, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):
        super().__init__(lr)
        self.momentum = _number(self, "momentum", momentum, low=0.0)
        self.dampening = _number(self, "dampening", dampening, low=0.0, high=1.0)
        self.weight_decay = _number(self, "weight_decay", weight_decay, low=0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected a bool, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov: Nesterov momentum requires momentum > 0 and "
                             f"dampening = 0, got momentum={self.momentum}, "
                             f"dampening={self.dampening}")
        self.buffer_names = ("momentum",) if self.momentum != 0 else ()

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        """Update ``param`` in place (one kernel launch); ``name`` keys its state."""
        self._check(name, param, grad)
        p, g = param.data, grad.data
        buf = ffi.NULL   # no momentum: the kernel does not touch buf
        if self.momentum != 0:
            buf = self._buffer("momentum", name, param).data.ptr
        backend.kernel("sgd_update", p)(
            p.ptr, buf, g.ptr, self.lr_value.data.ptr, self.momentum, self.dampening,
            self.weight_decay, int(self.nesterov), p.size)


class Adam(Optimizer):
    """Adam with L2 weight decay (not AdamW's decoupled decay), SINGA's rule
    (kernel ``adam_update``), with t = step_counter + 1::

        g' = g + weight_decay * p
        m  = beta_1 m + (1 - beta_1) g'
        v  = beta_2 v + (1 - beta_2) g'^2
        p -= lr * (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon)

    State buffers: ``m`` and ``v``.
    """

    buffer_names = ("m", "v")

    def __init__(self, lr=0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0):
        super().__init__(lr)
        self.beta_1 = _number(self, "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = _number(self, "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = _number(self, "epsilon", epsilon, low=0.0, low_open=True)
        self.weight_decay = _number(self, "weight_decay", weight_decay, low=0.0)

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        """Update ``param`` in place (one kernel launch); ``name`` keys its state."""
        self._check(name, param, grad)
        p, g = param.data, grad.data
        m = self._buffer("m", name, param).data
        v = self._buffer("v", name, param).data
        backend.kernel("adam_update", p)(
            p.ptr, m.ptr, v.ptr, g.ptr, self.lr_value.data.ptr, self.step_counter.data.ptr,
            self.beta_1, self.beta_2, self.epsilon, self.weight_decay, p.size)


class RMSProp(Optimizer):
    """RMSProp, SINGA's rule (kernel ``rmsprop_update``)::

        g' = g + weight_decay * p
        r  = rho * r + (1 - rho) * g'^2
        p -= lr * g' / sqrt(r + epsilon)

    State buffer: ``running_average`` (r).
    """

    buffer_names = ("running_average",)

    def __init__(self, lr=0.1, rho: float = 0.9, epsilon: float = 1e-8,
                 weight_decay: float = 0):
        super().__init__(lr)
        self.rho = _number(self, "rho", rho, low=0.0, high=1.0, high_open=True)
        self.epsilon = _number(self, "epsilon", epsilon, low=0.0, low_open=True)
        self.weight_decay = _number(self, "weight_decay", weight_decay, low=0.0)

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        """Update ``param`` in place (one kernel launch); ``name`` keys its state."""
        self._check(name, param, grad)
        p, g = param.data, grad.data
        r = self._buffer("running_average", name, param).data
        backend.kernel("rmsprop_update", p)(
            p.ptr, r.ptr, g.ptr, self.lr_value.data.ptr, self.rho, self.epsilon,
            self.weight_decay, p.size)


class AdaGrad(Optimizer):
    """AdaGrad, SINGA's rule (kernel ``adagrad_update``)::

        g' = g + weight_decay * p
        h += g'^2
        p -= lr * g' / sqrt(h + epsilon)

    State buffer: ``history`` (h).
    """

    buffer_names = ("history",)

    def __init__(self, lr=0.1, epsilon: float = 1e-8, weight_decay: float = 0):
        super().__init__(lr)
        self.epsilon = _number(self, "epsilon", epsilon, low=0.0, low_open=True)
        self.weight_decay = _number(self, "weight_decay", weight_decay, low=0.0)

    def apply(self, name: str, param: Tensor, grad: Tensor) -> None:
        """Update ``param`` in place (one kernel launch); ``name`` keys its state."""
        self._check(name, param, grad)
        p, g = param.data, grad.data
        h = self._buffer("history", name, param).data
        backend.kernel("adagrad_update", p)(
            p.ptr, h.ptr, g.ptr, self.lr_value.data.ptr, self.epsilon, self.weight_decay,
            p.size)


def __getattr__(name: str):
    """``opt.DistOpt`` (SINGA's name) lives in minisinga/dist.py, loaded on first
    use, so that ``import minisinga`` never needs MPI."""
    if name == "DistOpt":
        from .dist import DistOpt
        return DistOpt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
