"""minisinga.model: SINGA's Model, a Layer that trains itself.

A model subclasses ``Model``, builds its layers in ``__init__``, and writes
``forward(*inputs)`` and ``train_one_batch(*inputs)``; calling the model runs
``train_one_batch`` in training mode and ``forward`` otherwise::

    model = MLP()
    model.set_optimizer(opt.SGD(lr=0.05, momentum=0.9))
    tx = tensor.Tensor((64, 1, 28, 28), dev, tensor.float32)   # placeholders
    ty = tensor.Tensor((64,), dev, tensor.int32)
    model.compile([tx], is_train=True, use_graph=True)
    for x, y in batches:
        tx.copy_from_numpy(x)
        ty.copy_from_numpy(y)
        out, loss = model(tx, ty)

Graph mode (``compile(..., use_graph=True)``) records the kernel launches of
the first ``train_one_batch`` call and replays them from then on, without
running the Python again; minisinga/graph.py explains how, and what that
freezes.  Batches must be copied into the same placeholder tensors.

Checkpoints (``save_states`` / ``load_states``) use SINGA's format: a zip
holding ``tensor_dict.npz`` (every state by name) and ``states_attr.json``
(each state's kind, shape and dtype code).  Unlike SINGA, minisinga replaces
an existing file atomically instead of refusing to overwrite it, never
unpickles, and checks a checkpoint completely before changing the model.
"""
from __future__ import annotations

import functools
import gc
import io
import json
import math
import os
import tempfile
import zipfile
import zlib

import numpy as np

from . import dtypes, engine
from .graph import Graph
from .layer import Layer
from .tensor import Tensor

__all__ = ["Model", "TENSOR_DICT_FILENAME", "STATES_ATTR_FILENAME", "MODEL_STATE_TYPE",
           "AUX_STATE_TYPE"]

TENSOR_DICT_FILENAME = "tensor_dict.npz"
STATES_ATTR_FILENAME = "states_attr.json"
MODEL_STATE_TYPE = 0
AUX_STATE_TYPE = 1


def _graph_step(train_one_batch):
    """Wrap a subclass's ``train_one_batch`` so that, in graph mode, the first call
    records the step and later calls replay it (SINGA's ModelMeta does this)."""
    @functools.wraps(train_one_batch)
    def wrapper(self, *args, **kwargs):
        if self._recording:   # (inside the recording step: a subclass calling super())
            return train_one_batch(self, *args, **kwargs)
        profile = _step_profile(args, kwargs)   # the device's time profile, if on
        if profile is None:
            return _one_step(self, train_one_batch, args, kwargs)
        profile.begin_step()
        try:
            return _one_step(self, train_one_batch, args, kwargs)
        finally:
            profile.end_step()
    wrapper._graph_wrapped = True
    return wrapper


def _one_step(model, train_one_batch, args, kwargs):
    """One training step: run eagerly, record the graph, or replay it."""
    if not (model.graph_mode and model.training):
        return train_one_batch(model, *args, **kwargs)
    if model._graph is None:
        return model._record_step(train_one_batch, args, kwargs)
    model._check_same_inputs(args, kwargs)
    model._graph.run(model.sequential)
    return model._results


def _step_profile(args, kwargs):
    """The time profile (minisinga/profiling.py) of the device of the step's first
    Tensor argument, or None when it is off."""
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            return a.device._profile
    return None


class Model(Layer):
    """A layer with a training step, graph mode and checkpoints (SINGA's ``Model``).

    Attributes: ``training`` (train_one_batch or forward on call),
    ``graph_mode`` and ``sequential`` (set by ``compile`` and ``graph``).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("train_one_batch")
        if step is not None and not getattr(step, "_graph_wrapped", False):
            cls.train_one_batch = _graph_step(step)

    def __init__(self):
        super().__init__()
        self.training = True
        # NOTE: SINGA starts with graph_mode=True; here graph mode starts only
        # from compile(use_graph=True), after compile has created the parameters.
        self.graph_mode = False
        self.sequential = False
        self._recording = False
        self._graph: Graph | None = None
        self._results = None
        self._recorded_inputs = None
        self._recorded_data = {}
        self._compiled_inputs = None

    # ------------------------------------------------------------------ user code
    def forward(self, *inputs) -> Tensor:
        """The model's computation; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def train_one_batch(self, *inputs, **kwargs) -> object:
        """One training step (forward, loss, optimizer); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement train_one_batch")

    def __call__(self, *inputs, **kwargs):
        """``train_one_batch`` in training mode, ``forward`` otherwise.

        In training mode the calling thread's ``autograd.training`` is set too (it
        is per thread, so a model compiled in one thread trains in another)."""
        if self.training:
            engine.training = True
            return self.train_one_batch(*inputs, **kwargs)
        return self.forward(*inputs, **kwargs)

    # ------------------------------------------------------------------ modes
    def compile(self, inputs: list, is_train: bool = True, use_graph: bool = False,
                sequential: bool = False) -> None:
        """Get the model ready to train or evaluate.

        ``inputs`` is a non-empty list of placeholder Tensors shaped like a batch.
        ``forward(*inputs)`` runs once, outside training (nothing is recorded and
        batch norm statistics do not move), to create every lazily initialised
        parameter.  Then training mode, graph mode and the replay order are set,
        and any previously recorded graph is discarded.
        """
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise TypeError("compile: inputs must be a non-empty list of placeholder Tensors "
                            f"shaped like one batch, got {inputs!r}")
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"compile: inputs[{i}] must be a Tensor, got {type(t).__name__}")
        for name, flag in (("is_train", is_train), ("use_graph", use_graph),
                           ("sequential", sequential)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"compile: {name} must be a bool, got {flag!r}")
        was_training = engine.training
        engine.training = False
        try:
            self.forward(*inputs)
        finally:
            engine.training = was_training
        self._discard_graph()
        self._compiled_inputs = list(inputs)   # (what minisinga.viz.draw_model runs)
        self.train(bool(is_train))
        self.graph(bool(use_graph), bool(sequential))

    def train(self, mode: bool = True) -> None:
        """Training mode (``mode=True``) or evaluation mode; sets ``autograd.training`` too."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train: mode must be a bool, got {mode!r}")
        self.training = bool(mode)
        engine.training = bool(mode)

    def eval(self) -> None:
        """Evaluation mode: calling the model runs ``forward``."""
        self.train(False)

    def graph(self, mode: bool = True, sequential: bool = False) -> None:
        """Turn graph mode on or off, and choose the replay order: recorded
        (``sequential=True``) or derived from the buffer dependencies.  A step
        already recorded is kept (compile() discards it)."""
        if not isinstance(mode, (bool, np.bool_)) or not isinstance(sequential, (bool, np.bool_)):
            raise TypeError(f"graph: mode and sequential must be bools, got {mode!r}, "
                            f"{sequential!r}")
        self.graph_mode = bool(mode)
        self.sequential = bool(sequential)

    # ------------------------------------------------------------------ graph mode
    def _discard_graph(self) -> None:
        self._graph = None
        self._results = None
        self._recorded_inputs = None

    def _record_step(self, train_one_batch, args, kwargs):
        """Run ``train_one_batch`` once, recording its kernel launches."""
        tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        if not tensors:
            raise TypeError("graph mode: train_one_batch needs at least one Tensor argument "
                            "(the placeholders the step reads)")
        before = {id(t) for t in self.get_states().values()}
        graph = Graph(tensors[0].device)
        self._recording = True
        try:
            with graph.recording():
                results = train_one_batch(self, *args, **kwargs)
        finally:
            self._recording = False
        _drop_creators(results)   # free the autograd graph of the step ...
        gc.collect()              # ... so that its tensors count as intermediates
        new = sorted(name for name, t in self.get_states().items() if id(t) not in before)
        if new:
            raise RuntimeError(
                f"graph mode: the states {new} were created inside the recorded step, so "
                "their initialisation would be replayed every step. Call "
                "model.compile(inputs) first (its forward creates the parameters), or create "
                "them in __init__")
        graph.finish()
        self._graph = graph
        self._results = results
        self._recorded_inputs = (args, dict(kwargs))
        self._recorded_data = {id(t): t.data for t in tensors}
        return results

    def _check_same_inputs(self, args, kwargs) -> None:
        """Replay reads the tensors it was recorded with: refuse any others."""
        rec_args, rec_kwargs = self._recorded_inputs
        hint = ("Graph mode replays the step recorded with the same placeholder tensors: "
                "copy each batch into them (tx.copy_from_numpy(x)). For another batch shape, "
                "call model.compile() again with placeholders of that shape, or use eager "
                "mode (model.graph(False)).")
        if len(args) != len(rec_args) or set(kwargs) != set(rec_kwargs):
            raise ValueError(f"graph mode: train_one_batch was recorded with {len(rec_args)} "
                             f"positional and keyword arguments {sorted(rec_kwargs)}, got "
                             f"{len(args)} and {sorted(kwargs)}. {hint}")
        pairs = [(f"argument {i}", a, r) for i, (a, r) in enumerate(zip(args, rec_args))]
        pairs += [(f"argument {k!r}", kwargs[k], rec_kwargs[k]) for k in rec_kwargs]
        for what, got, recorded in pairs:
            if isinstance(recorded, Tensor):
                if got is not recorded:
                    shape = got.shape if isinstance(got, Tensor) else type(got).__name__
                    raise ValueError(f"graph mode: {what} is not the tensor the step was "
                                     f"recorded with (got {shape}, recorded "
                                     f"{recorded.shape}). {hint}")
                # A tensor's CTensor cannot change shape in place, but .data can be
                # replaced (to_device does): then it is no longer the recorded memory.
                if got.data is not self._recorded_data[id(got)]:
                    raise ValueError(f"graph mode: {what} has new memory (shape {got.shape}) "
                                     "since the step was recorded (to_device or an assigned "
                                     f".data). {hint}")
            elif got is not recorded and not _equal(got, recorded):
                raise ValueError(f"graph mode: {what} is {got!r} but the step was recorded "
                                 f"with {recorded!r}; graph mode freezes non-tensor "
                                 f"arguments. {hint}")

    # ------------------------------------------------------------------ checkpoints
    def save_states(self, fpath, aux_states: dict | None = None) -> None:
        """Save every state (parameters and running statistics) and ``aux_states``
        (a dict of name -> Tensor, such as ``optimizer.get_states()``) to the zip
        ``fpath``, in SINGA's format.

        The file is written next to its destination under a temporary name,
        flushed to disk, and renamed over ``fpath`` in one step (``os.replace``),
        so a crash or error mid-save leaves the previous checkpoint as it was.
        (SINGA refuses to overwrite an existing path; minisinga replaces it.)
        """
        fpath = os.fspath(fpath)
        aux_states = {} if aux_states is None else aux_states
        if not isinstance(aux_states, dict):
            raise TypeError(f"save_states: aux_states must be a dict of name -> Tensor, got "
                            f"{type(aux_states).__name__}")
        states = self.get_states()
        arrays, attrs = {}, {}
        for kind, group in ((MODEL_STATE_TYPE, states), (AUX_STATE_TYPE, aux_states)):
            for name, t in group.items():
                if not isinstance(name, str) or not name:
                    raise TypeError(f"save_states: state names must be non-empty str, got {name!r}")
                if not isinstance(t, Tensor):
                    raise TypeError(f"save_states: state {name} must be a Tensor, got "
                                    f"{type(t).__name__}")
                if name in attrs:
                    raise ValueError(f"save_states: aux state {name!r} has the name of a model "
                                     "state; rename it")
                arrays[name] = t.to_numpy()
                attrs[name] = {"state_type": kind, "shape": list(t.shape), "dtype": t.dtype}
        npz = io.BytesIO()
        np.savez(npz, **arrays)
        _atomic_write_zip(fpath, {TENSOR_DICT_FILENAME: npz.getvalue(),
                                  STATES_ATTR_FILENAME: json.dumps(attrs, indent=1).encode()})

    def load_states(self, fpath) -> dict[str, Tensor]:
        """Load a checkpoint written by ``save_states``: copy the model states into
        the existing parameters (they keep their device) and return the aux states
        as a dict of Tensors.  The file is checked completely first (every state
        present, no extra ones, shapes and dtypes as the model's); on any error
        the model is left unchanged.  Arrays are read with pickling disabled."""
        fpath = os.fspath(fpath)
        own = self.get_states()
        if not own:
            raise RuntimeError("load_states: the model has no states yet; call "
                               "model.compile(inputs) (or run it once) first")
        # What the file may hold: the model's states, aux states up to AUX_FACTOR - 1
        # times that, and AUX_SLACK; read_checkpoint refuses more before reading it.
        need = sum(t.size() * dtypes.itemsize(t.dtype) for t in own.values())
        model_arrays, aux_arrays = read_checkpoint(fpath, AUX_FACTOR * need + AUX_SLACK)
        missing = sorted(set(own) - set(model_arrays))
        extra = sorted(set(model_arrays) - set(own))
        if missing:
            raise KeyError(f"load_states: {fpath} lacks the model state(s) {missing}")
        if extra:
            raise KeyError(f"load_states: {fpath} holds state(s) {extra} that this model "
                           f"does not have (it has {sorted(own)})")
        for name, arr in model_arrays.items():
            target = own[name]
            if tuple(arr.shape) != target.shape:
                raise ValueError(f"load_states: state {name} has shape {tuple(arr.shape)} in "
                                 f"{fpath} but {target.shape} in the model")
            if arr.dtype != dtypes.to_numpy(target.dtype):
                raise TypeError(f"load_states: state {name} is {arr.dtype} in {fpath} but "
                                f"{dtypes.name(target.dtype)} in the model")
        self.set_states(model_arrays)
        return {name: Tensor(data=arr, dtype=_DTYPE_CODES[arr.dtype], requires_grad=False)
                for name, arr in aux_arrays.items()}

    def __get_name__(self) -> str:
        """The class name (SINGA's)."""
        return type(self).__name__


def _equal(a, b) -> bool:
    """a == b for any two Python values (arrays compare element by element)."""
    try:
        return bool(np.all(a == b))
    except (TypeError, ValueError):
        return False


def _drop_creators(obj) -> None:
    """Set creator=None on every Tensor in ``obj`` (nested lists, tuples, dicts)."""
    if isinstance(obj, Tensor):
        obj.creator = None
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _drop_creators(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            _drop_creators(item)


# ====================================================================== checkpoint files
def _atomic_write_zip(fpath: str, members: dict[str, bytes]) -> None:
    """Write a zip of ``members`` to ``fpath`` so that ``fpath`` is, at every
    moment, either the old file or the complete new one.

    1. write everything to a temporary file in the same folder (same file system,
       so the rename below is atomic);
    2. flush Python's buffer and fsync, so the bytes are on disk before the name is;
    3. ``os.replace`` the temporary file onto ``fpath`` (atomic on POSIX and Windows);
    4. fsync the folder, so the rename itself survives a power cut.
    On any error the temporary file is removed and ``fpath`` is untouched.  The
    temporary file's name holds the process id; the temporary files of an earlier
    save to ``fpath`` whose process no longer runs (it was killed mid-write) are
    removed first."""
    folder = os.path.dirname(os.path.abspath(fpath))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save_states: the folder {folder} does not exist")
    prefix = f".{os.path.basename(fpath)}."
    _remove_stale_temporaries(folder, prefix)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{prefix}{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, data in members.items():
                    zf.writestr(name, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fpath)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:   # a platform that cannot open folders (Windows): rename is enough
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove_stale_temporaries(folder: str, prefix: str) -> None:
    """Remove ``<prefix><pid>.<random>.tmp`` files left in ``folder`` by saves whose
    process ``pid`` is gone (a save killed mid-write cannot clean up after itself)."""
    for entry in os.listdir(folder):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _process_runs(int(pid)):
            continue   # not ours, or a save still running in another process
        try:
            os.unlink(os.path.join(folder, entry))
        except OSError:   # removed meanwhile, or not ours to remove: leave it
            pass


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)    # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):   # another user's process, or no way to ask
        return True
    return True


#: The most bytes of JSON a checkpoint's states_attr.json may hold (about 100
#: bytes per state: a model of 10,000 states fits many times over).
JSON_LIMIT = 1 << 20
#: What a checkpoint may hold besides the model's own states: aux states
#: (an optimizer's buffers, up to 3 per parameter: Adam keeps 2) and the zip's
#: and .npy headers' overhead.  ``load_states`` reads at most
#: ``AUX_FACTOR * (the model's bytes) + AUX_SLACK`` bytes of array data.
AUX_FACTOR, AUX_SLACK = 4, 1 << 20


#: What zipfile and zlib raise for damaged data: a bad CRC or header, a broken
#: deflate stream, data cut short, a member flagged as encrypted (RuntimeError) or
#: compressed by an unsupported method or zip version (NotImplementedError).
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
               NotImplementedError)


def _refuse(fpath: str, problem: str) -> ValueError:
    return ValueError(f"load_states: {fpath}: {problem}")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, fpath: str,
                 where: str) -> bytes:
    """The bytes of one zip member, refusing one that declares or inflates to
    more than ``limit`` bytes (a zip bomb) before reading more than that."""
    if info.file_size > limit:
        raise _refuse(fpath, f"{where} declares {info.file_size} bytes, more than the "
                             f"{limit} this model's states can need")
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except _UNREADABLE as exc:
        raise _refuse(fpath, f"{where} is corrupt ({type(exc).__name__}: {exc})") from exc
    if len(data) != info.file_size:
        raise _refuse(fpath, f"{where} holds {len(data)} bytes but declares {info.file_size}")
    return data


def _unique_members(zf: zipfile.ZipFile, fpath: str, where: str) -> dict[str, zipfile.ZipInfo]:
    """name -> member of a zip, refusing a zip that holds two members of one name
    (zipfile would silently read the last)."""
    members = {}
    for info in zf.infolist():
        if info.filename in members:
            raise _refuse(fpath, f"{where} holds two members named {info.filename!r}")
        members[info.filename] = info
    return members


def _read_npz(npz_bytes: bytes, budget: int, fpath: str) -> dict[str, np.ndarray]:
    """Every array of the .npz (an uncompressed zip of .npy files), each .npy
    header checked (plain float32/float64/int32 data, its size within what is
    left of ``budget``, the member exactly header + data) before its data is read."""
    where = TENSOR_DICT_FILENAME
    try:
        zf = zipfile.ZipFile(io.BytesIO(npz_bytes))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _refuse(fpath, f"{where} is corrupt ({exc})") from exc
    arrays = {}
    with zf:
        for member, info in _unique_members(zf, fpath, where).items():
            name = member[:-4] if member.endswith(".npy") else member
            what = f"state {name} ({where}/{member})"
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = read_header(f)
                    header = f.tell()
                    if dtype not in _DTYPE_CODES:
                        raise _refuse(fpath, f"{what} holds {dtype} data; a checkpoint holds "
                                             "float32, float64 or int32 arrays only")
                    nbytes = math.prod(shape) * dtype.itemsize
                    if nbytes > budget:
                        raise _refuse(fpath, f"{what} declares shape {shape} ({nbytes} bytes), "
                                             f"more than the {budget} bytes this model's "
                                             "states can still need")
                    if info.file_size != header + nbytes:
                        raise _refuse(fpath, f"{what} is {info.file_size} bytes but its header "
                                             f"says {header + nbytes}")
                    data = bytearray(nbytes)
                    if f.readinto(data) != nbytes:
                        raise _refuse(fpath, f"{what} is truncated")
            except (*_UNREADABLE, ValueError) as exc:
                if isinstance(exc, ValueError) and str(exc).startswith("load_states:"):
                    raise
                raise _refuse(fpath, f"{what} cannot be read ({type(exc).__name__}: "
                                     f"{exc})") from exc
            budget -= nbytes
            arrays[name] = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran
                                                              else "C")
    return arrays


def read_checkpoint(fpath: str, budget: int | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read and check a checkpoint: (model states, aux states), each name -> array.

    ``budget`` bounds the bytes of array data read (``load_states`` gives what
    the model's states need, times ``AUX_FACTOR``, plus ``AUX_SLACK``): every
    member's declared size and every .npy header is checked against it before
    anything is inflated, so a zip bomb or a header declaring terabytes costs
    nothing.  Raises FileNotFoundError for a missing file and one ValueError
    (naming the file, the member or state, and the problem) for anything that
    is not a complete, consistent checkpoint: corrupt or truncated data, two
    members of one name, sizes past the budget.  Never unpickles."""
    if not os.path.exists(fpath):
        raise FileNotFoundError(f"load_states: no checkpoint at {fpath}")
    if budget is None:
        budget = os.path.getsize(fpath) * 2000 + AUX_SLACK   # (deflate's best ratio ~1000:1)
    try:
        with zipfile.ZipFile(fpath) as zf:
            members = _unique_members(zf, fpath, "the zip")
            for member in (TENSOR_DICT_FILENAME, STATES_ATTR_FILENAME):
                if member not in members and "/" + member not in members:
                    raise ValueError(f"load_states: {fpath} is a zip without {member}, not a "
                                     "checkpoint written by save_states")
            attr_bytes = _read_member(zf, members[_member(members, STATES_ATTR_FILENAME)],
                                      JSON_LIMIT, fpath, STATES_ATTR_FILENAME)
            npz_bytes = _read_member(zf, members[_member(members, TENSOR_DICT_FILENAME)],
                                     budget + AUX_SLACK, fpath, TENSOR_DICT_FILENAME)
    except _UNREADABLE as exc:
        raise ValueError(f"load_states: {fpath} is not a valid checkpoint zip (corrupt or "
                         f"truncated): {exc}") from exc
    try:
        attrs = json.loads(attr_bytes)
    except (ValueError, RecursionError) as exc:   # (RecursionError: "[[[[..." nested deep)
        raise ValueError(f"load_states: {STATES_ATTR_FILENAME} in {fpath} is not valid "
                         f"JSON: {exc}") from exc
    if not isinstance(attrs, dict):
        raise ValueError(f"load_states: {STATES_ATTR_FILENAME} in {fpath} must hold an object")
    arrays = _read_npz(npz_bytes, budget, fpath)
    del npz_bytes
    only_attr = sorted(set(attrs) - set(arrays))
    if only_attr:
        raise ValueError(f"load_states: {fpath} is inconsistent: state(s) {only_attr} are "
                         f"described in {STATES_ATTR_FILENAME} but have no data")
    only_npz = sorted(set(arrays) - set(attrs))
    if only_npz:
        raise ValueError(f"load_states: {fpath} is inconsistent: state(s) {only_npz} have "
                         f"data but no description in {STATES_ATTR_FILENAME}")
    model_arrays, aux_arrays = {}, {}
    for name, arr in arrays.items():
        attr = attrs[name]
        if not isinstance(attr, dict) or attr.get("state_type") not in (MODEL_STATE_TYPE,
                                                                        AUX_STATE_TYPE):
            raise ValueError(f"load_states: state {name} in {fpath} has no valid state_type")
        if list(arr.shape) != attr.get("shape"):
            raise ValueError(f"load_states: state {name} in {fpath} has shape "
                             f"{list(arr.shape)} but its description says {attr.get('shape')}")
        code = _DTYPE_CODES.get(arr.dtype)
        if code is None or code != attr.get("dtype"):
            raise ValueError(f"load_states: state {name} in {fpath} holds {arr.dtype} data but "
                             f"its description says dtype code {attr.get('dtype')}")
        group = model_arrays if attr["state_type"] == MODEL_STATE_TYPE else aux_arrays
        group[name] = arr
    return model_arrays, aux_arrays


_DTYPE_CODES = {dtypes.to_numpy(code): code for code in (dtypes.float32, dtypes.float64,
                                                          dtypes.int32)}


def _member(names: set, member: str) -> str:
    # SINGA wrote its members as "/tensor_dict.npz"; accept both spellings.
    return member if member in names else "/" + member
