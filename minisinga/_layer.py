"""minisinga._layer: ``Layer``, the base class of every layer, and the helpers
the layer modules share.  ``minisinga.layer`` (SINGA's module, the one to
import) re-exports it with every layer; layers_conv.py and layers_seq.py build on
it from here, so that no layer module imports another in a circle.
"""
from __future__ import annotations

import functools

import numpy as np

from . import dtypes
from .tensor import Tensor


def _lazy(forward):
    """Wrap a subclass's forward: initialise the layer from the first inputs."""
    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        if not self._initialized:
            self._initialized = True  # set first: initialize may call sublayers
            try:
                self.initialize(*args, **kwargs)
            except BaseException:
                self._initialized = False
                raise
        return forward(self, *args, **kwargs)
    wrapper._lazy_wrapped = True
    return wrapper


class Layer:
    """Base class of layers: lazy initialisation, dotted names, params and states."""

    sep = "."

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fwd = cls.__dict__.get("forward")
        if fwd is not None and not getattr(fwd, "_lazy_wrapped", False):
            cls.forward = _lazy(fwd)

    def __init__(self):
        object.__setattr__(self, "_layers", {})
        object.__setattr__(self, "_tensors", {})
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_attr", None)
        self.name = None
        self._initialized = False

    # ---------------------------------------------------------------- registration
    def __setattr__(self, attr, value):
        if isinstance(value, Layer):
            self._layers[attr] = value
            object.__setattr__(value, "_parent", self)
            object.__setattr__(value, "_attr", attr)
            value.name = value._path()
            value._rename_children()
        elif isinstance(value, Tensor) and not attr.startswith("_"):
            self._tensors[attr] = value
            value.name = self._full_name(attr)
        else:  # a plain value replaces any layer or tensor registered under this name
            self.__dict__["_layers"].pop(attr, None)
            self.__dict__["_tensors"].pop(attr, None)
        object.__setattr__(self, attr, value)

    def __delattr__(self, attr):
        self._layers.pop(attr, None)
        self._tensors.pop(attr, None)
        object.__delattr__(self, attr)

    def _path(self) -> str:
        """This layer's dotted path from the outermost layer ('' for the root)."""
        parts, layer = [], self
        while layer._parent is not None:
            parts.append(layer._attr)
            layer = layer._parent
        return self.sep.join(reversed(parts))

    def _full_name(self, attr: str) -> str:
        path = self._path()
        return f"{path}{self.sep}{attr}" if path else attr

    def _rename_children(self) -> None:
        for attr, t in self._tensors.items():
            t.name = self._full_name(attr)
        for sub in self._layers.values():
            sub.name = sub._path()
            sub._rename_children()

    def register_layers(self, *layers) -> None:
        """Register a list of sublayers named ``<ClassName>_<index>``."""
        for i, layer in enumerate(layers):
            setattr(self, f"{type(layer).__name__}_{i}", layer)

    # ---------------------------------------------------------------- calling
    def initialize(self, *inputs) -> None:
        """Create parameters from the first inputs (override in subclasses)."""

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------------- params and states
    def _collect(self, include_states: bool) -> dict[str, Tensor]:
        out = {}
        for attr, t in self._tensors.items():
            if t.stores_grad or include_states:
                t.name = self._full_name(attr)
                out[t.name] = t
        for sub in self._layers.values():
            out.update(sub._collect(include_states))
        return out

    def get_params(self) -> dict[str, Tensor]:
        """{dotted name: Tensor} of every parameter (stores_grad=True), sublayers included."""
        return self._collect(False)

    def get_states(self) -> dict[str, Tensor]:
        """Parameters plus auxiliary states (such as running statistics)."""
        return self._collect(True)

    def _assign(self, values: dict, include_states: bool, what: str) -> None:
        if not isinstance(values, dict):
            raise TypeError(f"{what}: expected a dict of name -> Tensor or ndarray, "
                            f"got {type(values).__name__}")
        own = self._collect(include_states)
        unknown = sorted(set(values) - set(own))
        if unknown:
            raise KeyError(f"{what}: unknown name(s) {unknown}; this layer has {sorted(own)}"
                           + ("" if own else " (it is not initialised yet: call it once first)"))
        # Check everything before copying anything, so a bad dict changes nothing.
        arrays = {}
        for name, value in values.items():
            target = own[name]
            arr = value.to_numpy() if isinstance(value, Tensor) else np.asarray(value)
            if tuple(arr.shape) != target.shape:
                raise ValueError(f"{what}: {name} has shape {target.shape} but the value has "
                                 f"shape {tuple(arr.shape)}")
            if arr.dtype.kind not in "fiu":
                raise TypeError(f"{what}: {name}: cannot copy a {arr.dtype} array")
            arrays[name] = arr
        for name, arr in arrays.items():
            own[name].copy_from_numpy(arr.astype(dtypes.to_numpy(own[name].dtype), copy=False))

    def set_params(self, parameters: dict) -> None:
        """Copy values (Tensors or NumPy arrays) into the named parameters."""
        self._assign(parameters, False, "set_params")

    def set_states(self, states: dict) -> None:
        """Copy values into the named parameters and states."""
        self._assign(states, True, "set_states")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _make_param(shape, like: Tensor) -> Tensor:
    return Tensor(shape, like.device, like.dtype, requires_grad=True, stores_grad=True)


def _check_input(layer: Layer, x, ndim: int | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{type(layer).__name__} {layer.name or ''}: input must be a Tensor, "
                        f"got {type(x).__name__}")
    if ndim is not None and x.ndim() != ndim:
        raise ValueError(f"{type(layer).__name__} {layer.name or ''}: expected a {ndim}-D "
                         f"input, got shape {x.shape}")
    return x


def _positive_int(layer: str, name: str, v) -> int:
    if not dtypes.is_int(v) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")
    return int(v)
