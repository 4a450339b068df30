"""minisinga.dist: data-parallel training over MPI, SINGA's ``opt.DistOpt``.

Data parallelism in one paragraph.  Every process (a *rank*) holds a full copy
of the model and trains on its own slice of each batch.  After backward, the
ranks add up their gradients (an *all-reduce*), so every rank applies the same
update and the copies stay equal.  With the batch split evenly, n ranks with
batches of b compute what one process would compute with batches of n * b.

The communication is MPI's, through mpi4py (``pip install -e ".[dist]"``);
launch with ``mpiexec -n 2 python script.py``.  The C kernels of
minisinga/c/dist.c prepare what goes on the wire (float16 packing, sparse
selection) and fold in what arrives; MPI moves the bytes and adds dense
gradients.  Tensors on a CUDA GPU are summed by NCCL instead (minisinga/nccl.py,
``pip install -e ".[nccl]"``), one process per GPU, with NCCL's unique id sent
over MPI; the float16 and sparse steps have no CUDA kernels yet and refuse GPU
tensors.

The training steps (each ends with ``opt.step()``):

``backward_and_update(loss, threshold)``
    Gradients are all-reduced while backward is still producing the others:
    a gradient of more than ``threshold`` elements is sent alone at once, the
    smaller ones are copied into a fusion buffer that is sent when it holds
    ``threshold`` elements.  The sends are non-blocking (``Iallreduce``), so
    they overlap the rest of backward; the updates wait for all of them.
``backward_and_update_half(loss, threshold, clipping, clip_Value)``
    The same, with float16 on the wire (half the bytes).  MPI cannot add
    float16, so the ranks exchange their packed gradients (``Iallgather``, also
    overlapping backward) and each adds them up in float32, in rank order.
``backward_and_partial_update(loss, threshold)``
    Each rank updates with its own gradient; then one partition of the
    parameters (``buffSize`` elements at most) is averaged across ranks, the
    next partition on the next step.  Less traffic, copies that drift apart
    between averagings.
``backward_and_sparse_update(loss, threshold, spars, topK, corr)``
    Only the largest entries of each gradient are sent: the ``spars`` fraction
    with ``topK=True``, else every entry with ``|g| >= spars``.  With
    ``corr=True`` what was not sent is kept as a residual and added to the next
    step's gradient, so no gradient is lost, only delayed.  The (index, value)
    pairs are gathered without blocking (``Iallgather``); with a threshold the
    number each rank sends is exchanged first, blocking.

Graph mode: ``backward_and_update`` and the half variant work in graph mode;
their MPI calls are recorded as host steps of the graph and replayed with the
kernels.  The sparse and partial variants choose sizes on the host at every
step, so they refuse graph mode with a clear error.
"""
from __future__ import annotations

import sys

import numpy as np

from . import checks, dtypes, engine
from ._lib import cpu_kernel, ffi, kernel
from .ctensor import CTensor
from .tensor import Tensor

DEFAULT_THRESHOLD = 2097152   # elements: SINGA's default
DEFAULT_BUFFER = 4194304      # elements: SINGA's default fusion buffer


def _mpi():
    """mpi4py's MPI module, or an ImportError that says how to get it."""
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ImportError(
            "minisinga.dist needs mpi4py and an MPI library: pip install -e \".[dist]\" "
            "(brings mpi4py and Open MPI), then launch with mpiexec -n N python script.py"
        ) from err
    return MPI


def _bytes(ct, nbytes: int | None = None):
    """The memory of CTensor ``ct`` (or a cffi pointer) as a buffer MPI can use."""
    ptr = ct.ptr if hasattr(ct, "ptr") else ct
    return ffi.buffer(ptr, ct.nbytes() if nbytes is None else nbytes)


class Communicator:
    """The ranks of an MPI communicator and the collective calls DistOpt uses.

    Every call's failure becomes a RuntimeError naming the call."""

    def __init__(self, comm=None):
        self.MPI = MPI = _mpi()
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.world_size = self.comm.Get_size()
        self.global_rank = self.comm.Get_rank()
        # ranks on the same machine share memory: the local rank picks a GPU
        self.local_rank = self._call("Split_type", self.comm.Split_type,
                                     MPI.COMM_TYPE_SHARED).Get_rank()
        self.bytes_sent = 0   # what this rank put on the wire, for the measurements

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except self.MPI.Exception as err:
            raise RuntimeError(f"DistOpt: MPI {what} failed on rank {self.global_rank}: "
                               f"{err.Get_error_string()}") from None

    def _typed(self, ptr, count: int, dtype: int):
        mpi_type = {dtypes.float32: self.MPI.FLOAT, dtypes.float64: self.MPI.DOUBLE}[dtype]
        itemsize = 4 if dtype == dtypes.float32 else 8
        return [ffi.buffer(ptr, count * itemsize), mpi_type]

    def allreduce(self, ptr, count: int, dtype: int) -> None:
        """Sum the ``count`` elements at ``ptr`` over the ranks, in place (blocking)."""
        self.bytes_sent += count * (4 if dtype == dtypes.float32 else 8)
        self._call("Allreduce", self.comm.Allreduce, self.MPI.IN_PLACE,
                   self._typed(ptr, count, dtype), self.MPI.SUM)

    def iallreduce(self, ptr, count: int, dtype: int):
        """Start summing ``count`` elements at ``ptr`` in place; returns the request."""
        self.bytes_sent += count * (4 if dtype == dtypes.float32 else 8)
        return self._call("Iallreduce", self.comm.Iallreduce, self.MPI.IN_PLACE,
                          self._typed(ptr, count, dtype), self.MPI.SUM)

    def allgather_bytes(self, send: bytes | memoryview, nbytes: int) -> bytearray:
        """Every rank's ``nbytes`` bytes, concatenated in rank order."""
        out = bytearray(nbytes * self.world_size)
        self.bytes_sent += nbytes
        self._call("Allgather", self.comm.Allgather, [send, self.MPI.BYTE],
                   [out, self.MPI.BYTE])
        return out

    def iallgather_bytes(self, send, nbytes: int):
        """Start gathering every rank's ``nbytes`` bytes in rank order; returns
        (the request, the bytearray they arrive in once it is done)."""
        out = bytearray(nbytes * self.world_size)
        self.bytes_sent += nbytes
        return self._call("Iallgather", self.comm.Iallgather, [send, self.MPI.BYTE],
                          [out, self.MPI.BYTE]), out

    def allgather_object(self, value):
        return self._call("allgather", self.comm.allgather, value)

    def abort(self, code: int = 1) -> None:
        self.comm.Abort(code)


def _abort_on_uncaught_exception(comm: Communicator) -> None:
    """Make an exception on one rank end the whole job, never a hang.

    A rank that dies while the others wait in a collective call would leave them
    waiting forever.  After printing the traceback as usual, MPI_Abort ends
    every rank of the job (mpiexec reports which rank aborted)."""
    if comm.world_size == 1 or getattr(sys.excepthook, "_minisinga_dist", False):
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.write(f"minisinga.dist: rank {comm.global_rank} of {comm.world_size} "
                         f"failed ({kind.__name__}); aborting every rank\n")
        sys.stderr.flush()
        comm.abort(1)

    hook._minisinga_dist = True
    sys.excepthook = hook


def _host_step(device, name: str, fn, *args):
    """Run the communication ``fn(*args)``; while graph mode records a step on
    ``device``, record it too, so that every replay sends again.

    The graph treats a step it has no C declaration for as reading and writing
    every buffer among its arguments (minisinga/graph.py: kernel_access), which
    keeps it in its place in the order.  Replay hands ``fn`` the buffers'
    pointers of that moment (an intermediate may live elsewhere then), so ``fn``
    must use its arguments, never pointers captured when it was recorded, and
    must call the raw C functions (``cpu_kernel``), which are not recorded a
    second time."""
    recorder = device.recorder
    if recorder is not None:
        fn = recorder.wrap(name, fn)
    fn(*args)


def shard(n: int, rank: int, world_size: int, *, batch_size: int, seed: int = 0,
          epoch: int = 0) -> np.ndarray:
    """This rank's sample indices for one epoch, in order, batch after batch.

    One permutation of ``range(n)`` from ``(seed, epoch)``, the same on every
    rank, cut into global batches of ``batch_size * world_size``; rank r takes
    the r-th ``batch_size`` of each.  So together the ranks see exactly what
    one process with batches of ``batch_size * world_size`` would, and a
    partial last batch is dropped (graph mode needs fixed shapes)."""
    for name, value in (("n", n), ("rank", rank), ("world_size", world_size),
                        ("batch_size", batch_size), ("seed", seed), ("epoch", epoch)):
        if not dtypes.is_int(value) or value < 0:
            raise ValueError(f"shard: {name} must be an int >= 0, got {value!r}")
    if world_size < 1 or batch_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"shard: need world_size >= 1, batch_size >= 1 and 0 <= rank < "
                         f"world_size, got world_size={world_size}, batch_size={batch_size}, "
                         f"rank={rank}")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    per_step = batch_size * world_size
    steps = n // per_step
    batches = order[:steps * per_step].reshape(steps, world_size, batch_size)
    return batches[:, rank, :].reshape(-1)


DIST_OPTIONS = ("plain", "half", "partialUpdate", "sparseTopK", "sparseThreshold")


def train_step(optimizer, loss: Tensor, dist_option: str = "plain", spars=None) -> None:
    """One training step chosen by SINGA's ``dist_option``, as SINGA's examples
    write it in ``train_one_batch``: ``'plain'`` is ``optimizer(loss)``; the
    others are DistOpt's ``backward_and_update_half``,
    ``backward_and_partial_update`` and ``backward_and_sparse_update`` (top-K or
    threshold, with ``spars``)."""
    if dist_option not in DIST_OPTIONS:
        raise ValueError(f"train_one_batch: dist_option must be one of {list(DIST_OPTIONS)}, "
                         f"got {dist_option!r}")
    if dist_option == "plain":
        optimizer(loss)
        return
    if not isinstance(optimizer, DistOpt):
        raise TypeError(f"train_one_batch: dist_option {dist_option!r} needs a DistOpt "
                        f"(opt.DistOpt(optimizer)), but the optimizer is "
                        f"{type(optimizer).__name__}")
    if dist_option == "half":
        optimizer.backward_and_update_half(loss)
    elif dist_option == "partialUpdate":
        optimizer.backward_and_partial_update(loss)
    else:
        kwargs = {} if spars is None else {"spars": spars}
        optimizer.backward_and_sparse_update(loss, topK=dist_option == "sparseTopK", **kwargs)


def ring_allreduce_seconds(nbytes: float, n: int, alpha: float, beta: float) -> float:
    """The alpha-beta cost of a ring all-reduce of ``nbytes`` over ``n`` ranks.

    A ring all-reduce is a reduce-scatter then an all-gather, each ``n - 1``
    steps in which every rank sends one ``1/n`` chunk to its neighbour:
    ``2 (n - 1)`` messages of ``nbytes / n``, so
    ``T = 2 (n - 1) alpha + 2 (n - 1) / n * nbytes * beta``
    (``alpha``: seconds per message, ``beta``: seconds per byte).  The bytes
    term approaches ``2 * nbytes * beta`` however many ranks there are: the ring
    is bandwidth-optimal."""
    if n <= 1:
        return 0.0
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes * beta


def predict_step_seconds(compute_seconds: float, nbytes: float, n: int, alpha: float,
                         beta: float, overlap: float = 0.0) -> float:
    """Predicted time of one data-parallel step on ``n`` machines: the compute of
    one rank's share (weak scaling: the same batch per rank) plus the part of
    the gradient all-reduce that backward does not hide (``overlap`` is the
    fraction hidden, 0 to 1)."""
    comm = ring_allreduce_seconds(nbytes, n, alpha, beta)
    return compute_seconds + (1.0 - overlap) * comm


class DistOpt:
    """SINGA's ``opt.DistOpt``: wrap an optimizer for data-parallel training.

    Args:
        opt: the optimizer every rank applies (an ``opt.Optimizer``; SINGA's
            default, ``opt.SGD()``, is not assumed: name it).
        nccl_id: None (the usual way): the ranks are MPI's (launch with
            ``mpiexec -n N``); CPU tensors go over MPI, and GPU tensors over an
            NCCL communicator made at their first all-reduce, its unique id
            broadcast over MPI.  Or an ``nccl.UniqueId`` (SINGA's
            ``NcclIdHolder``) that a launcher gave every process, with
            ``local_rank`` and ``world_size``: NCCL on GPU ``local_rank``, no
            MPI (GPU tensors and the plain and partial steps only).
        local_rank, world_size: checked against MPI's when given (required
            with ``nccl_id``).
        buffSize: the fusion buffer's size in elements (SINGA's name), also the
            largest partition ``backward_and_partial_update`` averages.
        comm: an mpi4py communicator (default ``MPI.COMM_WORLD``).

    Attributes: ``opt``, ``communicator`` (MPI's; None with ``nccl_id``),
    ``nccl`` (the ``nccl.NcclCommunicator``, once GPU tensors were sent),
    ``world_size``, ``local_rank``, ``global_rank``.
    """

    def __init__(self, opt=None, nccl_id=None, local_rank=None, world_size=None,
                 buffSize: int = DEFAULT_BUFFER, comm=None):
        # NOTE: opt.py names this class (``opt.DistOpt``), so this module does not
        # import opt.py back: an optimizer is whatever has opt.Optimizer's methods.
        if opt is None:
            raise TypeError("DistOpt: opt is the optimizer to wrap, e.g. "
                            "opt.DistOpt(opt.SGD(lr=0.1))")
        if not all(callable(getattr(opt, m, None)) for m in ("apply", "step", "get_states")):
            raise TypeError(f"DistOpt: opt must be an opt.Optimizer, got {type(opt).__name__}")
        self.opt = opt
        if not dtypes.is_int(buffSize) or buffSize < 1:
            raise ValueError(f"DistOpt: buffSize must be an int >= 1 (elements), got "
                             f"{buffSize!r}")
        self.buffSize = int(buffSize)
        self._pending: list = []      # (MPI request, what to run after it)
        self._residuals: dict[str, Tensor] = {}
        self._partition = 0
        self.nccl = None              # made at the first GPU tensor (or here, with nccl_id)
        if nccl_id is not None:
            self._init_nccl_without_mpi(nccl_id, local_rank, world_size)
            return
        self.communicator = Communicator(comm)
        self.world_size = self.communicator.world_size
        self.global_rank = self.communicator.global_rank
        self.local_rank = self.communicator.local_rank
        for name, given, actual in (("world_size", world_size, self.world_size),
                                    ("local_rank", local_rank, self.local_rank)):
            if given is not None and given != actual:
                raise ValueError(f"DistOpt: {name}={given!r} but MPI says {actual} "
                                 f"(launch with mpiexec -n N, or leave {name} out)")
        _abort_on_uncaught_exception(self.communicator)

    def _init_nccl_without_mpi(self, nccl_id, local_rank, world_size) -> None:
        """SINGA's launch without MPI: every process got ``nccl_id`` from the
        launcher and drives GPU ``local_rank`` of one machine."""
        from . import device, nccl
        if not isinstance(nccl_id, nccl.UniqueId):
            raise TypeError(f"DistOpt: nccl_id must be an nccl.UniqueId (SINGA's "
                            f"NcclIdHolder), got {type(nccl_id).__name__}")
        if not (dtypes.is_int(world_size) and world_size >= 1 and dtypes.is_int(local_rank)
                and 0 <= local_rank < world_size):
            raise ValueError(f"DistOpt: with nccl_id, give world_size >= 1 and 0 <= "
                             f"local_rank < world_size; got local_rank={local_rank!r}, "
                             f"world_size={world_size!r}")
        self.communicator = None
        self.world_size, self.local_rank = int(world_size), int(local_rank)
        self.global_rank = self.local_rank   # one machine: SINGA's convention
        gpu = device.create_cuda_gpu_on(self.local_rank)
        self.nccl = nccl.NcclCommunicator(nccl_id, self.local_rank, self.world_size, gpu)

    # ------------------------------------------------------------ SINGA's calls
    def __call__(self, loss: Tensor) -> None:
        """``backward_and_update(loss)``."""
        self.backward_and_update(loss)

    def step(self) -> None:
        """Advance the wrapped optimizer's step counter and learning rate."""
        self.opt.step()

    def get_states(self) -> dict[str, Tensor]:
        """The wrapped optimizer's states (equal on every rank)."""
        return self.opt.get_states()

    def set_states(self, states: dict) -> None:
        """Restore states from ``get_states`` (a checkpoint of any world size)."""
        self.opt.set_states(states)

    def update(self, param: Tensor, grad: Tensor) -> None:
        """Apply the update from a summed gradient: ``grad /= world_size``, then
        the wrapped optimizer's rule (SINGA's order)."""
        if not isinstance(param, Tensor) or not isinstance(grad, Tensor):
            raise TypeError(f"DistOpt.update: param and grad must be Tensors, got "
                            f"{type(param).__name__} and {type(grad).__name__}")
        self.opt._check(param.name, param, grad)   # before the scaling kernel runs
        if self.world_size > 1:
            g = grad.data
            kernel("affine_forward", g)(g.ptr, g.ptr, 1.0 / self.world_size, 0.0, g.size)
        self.opt.apply(param.name, param, grad)

    def all_reduce(self, t) -> None:
        """Sum tensor (or CTensor) ``t`` over the ranks, in place.  In eager mode
        it returns at once; ``wait()`` finishes it."""
        ct = self._checked(t, "all_reduce")
        if self._on_gpu(ct):   # NCCL: queued on the stream, nothing to wait for
            nc = self._nccl_for(ct)
            _host_step(ct.device, "nccl_allreduce",
                       lambda ptr, n: nc.allreduce(ptr, n, ct.dtype), ct.ptr, ct.size)
            return
        comm = self.communicator
        if ct.device.recorder is not None:
            _host_step(ct.device, "dist_allreduce",
                       lambda ptr, n: comm.allreduce(ptr, n, ct.dtype), ct.ptr, ct.size)
        else:
            self._pending.append((comm.iallreduce(ct.ptr, ct.size, ct.dtype), None, ct))

    def fused_all_reduce(self, tensors: list, send: bool = True) -> None:
        """Sum several tensors over the ranks with one call: packed into a buffer,
        all-reduced, and copied back after ``wait()``.  ``send=False`` is
        accepted for SINGA's signature and sends all the same."""
        cts = [self._checked(t, "fused_all_reduce") for t in tensors]
        if not cts:
            return
        if cts[0].device.recorder is not None:
            # NOTE: a recorded graph knows buffers by their first byte, so it cannot
            # record copies into the middle of a fusion buffer: one call each.
            for ct in cts:
                self.all_reduce(ct)
            return
        buf = self._pack(cts)
        if self._on_gpu(buf):   # NCCL, then the copies back: in order on the stream
            self._nccl_for(buf).allreduce(buf.ptr, buf.size, buf.dtype)
            self._unpack(buf, cts)
            return
        self._pending.append((self.communicator.iallreduce(buf.ptr, buf.size, buf.dtype),
                              lambda: self._unpack(buf, cts), buf))

    def all_reduce_half(self, t, clip: float = 0.0) -> None:
        """Sum ``t`` over the ranks with float16 on the wire.  In eager mode it
        returns at once; ``wait()`` finishes it."""
        self.fused_all_reduce_half([t], clip=clip)

    def fused_all_reduce_half(self, tensors: list, send: bool = True,
                              clip: float = 0.0) -> None:
        """Sum several tensors with float16 on the wire: packed, converted to
        float16 (after clipping to ``[-clip, clip]`` when ``clip > 0``), exchanged,
        and added up in the tensors' own type in rank order.  In eager mode the
        exchange is started here (``Iallgather``) and ``wait()`` adds up and
        copies back; in graph mode it blocks."""
        clip = checks.finite_number("DistOpt.fused_all_reduce_half", "clip", clip)
        if clip < 0:
            raise ValueError(f"DistOpt.fused_all_reduce_half: clip must be >= 0 (0: no "
                             f"clipping), got {clip!r}")
        cts = [self._mpi_only(t, "fused_all_reduce_half") for t in tensors]
        if not cts:
            return
        if cts[0].device.recorder is not None:   # see fused_all_reduce
            for ct in cts:
                self._half_exchange(ct, clip)
            return
        buf = self._pack(cts)
        self._half_exchange(buf, clip, after=lambda: self._unpack(buf, cts))

    def _half_exchange(self, buf, clip: float, after=None) -> None:
        """buf = the sum over ranks of float16(buf), added in rank order: at once
        while graph mode records, else started now and finished by ``wait()``
        (which then runs ``after``)."""
        n, dtype, comm = buf.size, buf.dtype, self.communicator
        nbytes = 4 * ((n + 1) // 2)   # n float16 values, in whole int32 words
        # NOTE: buffers that a kernel overwrites entirely come unfilled (CTensor._new);
        # Tensor(shape) would zero them first, a pass over memory for nothing.
        half = CTensor._new(((n + 1) // 2,), dtypes.int32, buf.device)
        kernel("to_half", buf)(ffi.cast("uint16_t *", half.ptr), buf.ptr, float(clip), n)

        def add_up(y, got, n):   # every rank's float16 bits, added up in rank order
            cpu_kernel("fill", dtype)(y, 0.0, n)
            add = cpu_kernel("add_half", dtype)
            base = ffi.cast("uint16_t *", ffi.from_buffer(got))
            for r in range(comm.world_size):
                add(y, base + r * (nbytes // 2), n)

        if buf.device.recorder is not None:
            def exchange(y, h, n):
                add_up(y, comm.allgather_bytes(ffi.buffer(h, nbytes), nbytes), n)
            _host_step(buf.device, "dist_allgather_half", exchange, buf.ptr, half.ptr, n)
            return

        def finish():
            add_up(buf.ptr, got, n)
            if after is not None:
                after()

        send = ffi.buffer(half.ptr, nbytes)
        request, got = comm.iallgather_bytes(send, nbytes)
        # NOTE: the tuple keeps the send buffer alive until the request is done
        self._pending.append((request, finish, (half, send, got)))

    def wait(self) -> None:
        """Wait for every all-reduce started in eager mode, then copy the fused
        results back where they belong."""
        pending, self._pending = self._pending, []
        if pending:
            MPI = self.communicator.MPI
            self.communicator._call("Waitall", MPI.Request.Waitall, [p[0] for p in pending])
        for _, after, _ in pending:
            if after is not None:
                after()

    # ------------------------------------------------------------ training steps
    def backward_and_update(self, loss: Tensor, threshold: int = DEFAULT_THRESHOLD) -> None:
        """Backpropagate, all-reduce the gradients as they arrive (large ones
        alone, small ones fused), then update every parameter and step."""
        self._exchange_and_update(loss, threshold, half=False)

    def backward_and_update_half(self, loss: Tensor, threshold: int = DEFAULT_THRESHOLD,
                                 clipping: bool = False, clip_Value: float = 100) -> None:
        """``backward_and_update`` with float16 on the wire; with ``clipping``
        every gradient entry is clipped to ``[-clip_Value, clip_Value]`` first
        (float16 overflows past 65504)."""
        clip = float(clip_Value) if clipping else 0.0
        if clipping and not clip > 0:
            raise ValueError(f"backward_and_update_half: clip_Value must be > 0, got "
                             f"{clip_Value!r}")
        self._exchange_and_update(loss, threshold, half=True, clip=clip)

    def backward_and_partial_update(self, loss: Tensor,
                                    threshold: int = DEFAULT_THRESHOLD) -> None:
        """Update with this rank's own gradients, then average one partition of
        the parameters (at most ``buffSize`` elements) across the ranks; the next
        call averages the next partition."""
        self._refuse_graph(loss, "backward_and_partial_update")
        params = []
        for param, grad in engine.step_backward(loss):
            self.opt.apply(param.name, param, grad)
            params.append(param)
        self.opt.step()
        if self.world_size == 1 or not params:
            return
        parts = self._partitions(params)
        part = parts[self._partition % len(parts)]
        self._partition += 1
        for p in part:
            ct = self._checked(p, "backward_and_partial_update")
            if self._on_gpu(ct):
                self._nccl_for(ct).allreduce(ct.ptr, ct.size, ct.dtype)
            else:
                self.communicator.allreduce(ct.ptr, ct.size, ct.dtype)
            kernel("affine_forward", ct)(ct.ptr, ct.ptr, 1.0 / self.world_size, 0.0, ct.size)

    def backward_and_sparse_update(self, loss: Tensor, threshold: int = DEFAULT_THRESHOLD,
                                   spars: float = 0.05, topK: bool = False,
                                   corr: bool = True) -> None:
        """Send only the largest gradient entries: the ``spars`` fraction of each
        gradient (``topK=True``) or the entries with ``|g| >= spars``; with
        ``corr`` the rest is kept and added to the next step's gradient."""
        self._refuse_graph(loss, "backward_and_sparse_update")
        if not dtypes.is_number(spars) or not spars > 0 or (topK and spars > 1):
            raise ValueError(f"backward_and_sparse_update: spars must be a number > 0 "
                             f"(and <= 1 with topK), got {spars!r}")
        pairs = []
        for param, grad in engine.step_backward(loss):
            g = self._mpi_only(grad, "backward_and_sparse_update")
            if g.size >= 2 ** 31:
                raise ValueError(f"backward_and_sparse_update: {param.name} has {g.size} "
                                 "elements; sparse indices are int32")
            x = self._corrected(param, g) if corr else g.clone()
            n = x.size
            idx = CTensor._new((n,), dtypes.int32, x.device)   # written by the kernel
            val = CTensor._new((n,), x.dtype, x.device)
            k = max(1, int(spars * n)) if topK else 0
            scratch = CTensor._new((n if k else 1,), x.dtype, x.device)   # used by top-K only
            m = int(kernel("sparse_select", x)(idx.ptr, val.ptr, x.ptr, scratch.ptr,
                                               0.0 if topK else float(spars), k,
                                               int(bool(corr)), n))
            self._sparse_exchange(g, idx, val, m, k)
            pairs.append((param, grad))
        self.wait()   # every gradient summed: update
        for param, grad in pairs:
            self.update(param, grad)
        self.opt.step()

    def _sparse_exchange(self, g, idx, val, m: int, k: int) -> None:
        """Start gathering every rank's ``m`` (index, value) pairs; ``wait()``
        then sets ``g`` to their sum, added in rank order.

        With top-K every rank sends exactly ``k`` pairs, so both gathers start at
        once and overlap the rest of backward.  With a threshold the counts
        differ from rank to rank and must be known first: that small exchange
        blocks, then the pairs are gathered without blocking."""
        comm = self.communicator
        if k:
            if m != k:
                raise RuntimeError(f"sparse_select returned {m} entries for top-{k}")
            counts = [k] * comm.world_size
        else:
            counts = comm.allgather_object(m)
        most = max(counts)
        item = np.dtype(dtypes.to_numpy(g.dtype)).itemsize
        send_idx, send_val = _bytes(idx.ptr, 4 * most), _bytes(val.ptr, item * most)
        request_idx, got_idx = comm.iallgather_bytes(send_idx, 4 * most)
        request_val, got_val = comm.iallgather_bytes(send_val, item * most)

        def add_up():
            kernel("fill", g)(g.ptr, 0.0, g.size)
            add = kernel("sparse_add", g)
            ip = ffi.cast("int32_t *", ffi.from_buffer(got_idx))
            vp = ffi.cast(ffi.typeof(g.ptr), ffi.from_buffer(got_val))
            for r, count in enumerate(counts):   # in rank order: the same sum everywhere
                add(g.ptr, ip + r * most, vp + r * most, count)

        # NOTE: the tuples keep the send buffers alive until the requests are done
        self._pending.append((request_idx, None, (idx, send_idx)))
        self._pending.append((request_val, add_up, (val, send_val)))

    # ------------------------------------------------------------ helpers
    def _exchange_and_update(self, loss, threshold, *, half: bool, clip: float = 0.0):
        if not dtypes.is_int(threshold) or threshold < 1:
            raise ValueError(f"DistOpt: threshold must be an int >= 1 (elements), got "
                             f"{threshold!r}")
        pairs, small, small_size = [], [], 0

        def flush():
            nonlocal small, small_size
            if small:
                if half:
                    self.fused_all_reduce_half(small, clip=clip)
                else:
                    self.fused_all_reduce(small)
            small, small_size = [], 0

        for param, grad in engine.step_backward(loss):
            pairs.append((param, grad))
            if self.world_size == 1:
                continue
            if grad.size() > threshold:
                if half:
                    self.all_reduce_half(grad, clip=clip)
                else:
                    self.all_reduce(grad)
                continue
            if small and (small[0].dtype != grad.dtype
                          or small_size + grad.size() > min(threshold, self.buffSize)):
                flush()
            small.append(grad)
            small_size += grad.size()
        if self.world_size > 1:
            flush()
        self.wait()
        for param, grad in pairs:
            self.update(param, grad)
        self.opt.step()

    def _checked(self, t, what: str):
        """The CTensor of ``t``, a float tensor that this DistOpt can send: on a
        CUDA GPU (NCCL), or in host memory with MPI."""
        ct = t.data if isinstance(t, Tensor) else t
        if getattr(ct, "device", None) is None or not hasattr(ct, "ptr"):
            raise TypeError(f"DistOpt.{what}: expected Tensors, got {type(t).__name__}")
        if ct.dtype not in dtypes.FLOAT_TYPES:
            raise TypeError(f"DistOpt.{what}: expected float32 or float64 tensors, got "
                            f"{dtypes.name(ct.dtype)}")
        if not self._on_gpu(ct) and self.communicator is None:
            raise TypeError(f"DistOpt.{what}: the tensor is on {ct.device}, but this DistOpt "
                            "was made with nccl_id (NCCL: CUDA GPU tensors only); for CPU "
                            "tensors launch with mpiexec and leave nccl_id=None")
        return ct

    def _mpi_only(self, t, what: str):
        """``_checked``, refusing GPU tensors: the float16 and sparse exchanges
        pack and select with C kernels that have no CUDA twins yet."""
        ct = self._checked(t, what)
        if self._on_gpu(ct):
            raise NotImplementedError(
                f"DistOpt.{what}: the tensor is on {ct.device}; float16 and sparse "
                "exchanges need the kernels to_half, add_half, sparse_select and sparse_add, "
                "which have no CUDA twins yet; use backward_and_update (NCCL) or "
                "backward_and_partial_update on GPUs")
        return ct

    @staticmethod
    def _on_gpu(ct) -> bool:
        return ct.device.id() >= 0   # a CUDA ordinal (CPU: -1, emulated GPU: -2)

    def _nccl_for(self, ct):
        """The NCCL communicator of ``ct``'s GPU: made at the first GPU tensor,
        by every rank at once (their backward passes run alike), with rank 0's
        unique id broadcast over MPI."""
        if self.nccl is None:
            from . import nccl
            self.nccl = nccl.NcclCommunicator.over_mpi(self.communicator.comm, ct.device)
        if self.nccl.device is not ct.device:
            raise ValueError(f"DistOpt: the tensor is on {ct.device} but this rank's NCCL "
                             f"communicator is on {self.nccl.device} (one GPU per process: "
                             "create_cuda_gpu_on(dopt.local_rank))")
        return self.nccl

    def _pack(self, cts):
        """One buffer holding the CTensors one after another (copy kernels)."""
        total = sum(c.size for c in cts)
        buf = CTensor._new((total,), cts[0].dtype, cts[0].device)   # filled by the copies
        off = 0
        for c in cts:
            kernel("copy", c)(buf.ptr + off, c.ptr, c.size)
            off += c.size
        return buf

    def _unpack(self, buf, cts) -> None:
        off = 0
        for c in cts:
            kernel("copy", c)(c.ptr, buf.ptr + off, c.size)
            off += c.size

    def _corrected(self, param: Tensor, g):
        """residual += g, kept per parameter (zeros at first), and returned."""
        res = self._residuals.get(param.name)
        if res is None:
            res = Tensor(param.shape, g.device, g.dtype, requires_grad=False)   # zeros
            self._residuals[param.name] = res
        r = res.data
        kernel("add_forward", r)(r.ptr, r.ptr, g.ptr, r.size)
        return r

    def _partitions(self, params):
        parts, cur, size = [], [], 0
        for p in params:
            if cur and size + p.size() > self.buffSize:
                parts.append(cur)
                cur, size = [], 0
            cur.append(p)
            size += p.size()
        parts.append(cur)
        return parts

    @staticmethod
    def _refuse_graph(loss: Tensor, what: str) -> None:
        if loss.device.recorder is not None:
            raise NotImplementedError(
                f"DistOpt.{what} decides on the host, at every step, how much to send, "
                "which a replayed graph cannot do; compile the model with use_graph=False "
                "for it (backward_and_update and backward_and_update_half work in graph "
                "mode)")
