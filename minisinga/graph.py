"""minisinga.graph: record the kernel launches of one training step, replay them.

Why.  An eager training step runs a lot of Python: layers, operations, the
autograd engine, the optimizer, and one allocation per intermediate tensor.
The numbers are all computed by a few dozen kernel launches.  Graph mode
(SINGA's ``model.compile(..., use_graph=True)``) runs the Python once, records
those launches, and from then on replays them: the same kernels on the same
buffers, in a loop.  Because nothing but kernels is replayed, everything that
changes from step to step must live in device memory and be changed by a
kernel: the input batch (copied into the same placeholder tensors), the
parameters, the optimizer's buffers, even its learning rate and step counter.

Recording (``Graph.recording()``).
    1. Every kernel launch in minisinga goes through ``_lib.kernel(name, like)``.
       While a Graph records on a device (``device.recorder``, which is per
       thread: only the recording thread's launches are noted, and another
       thread may record a step of its own), that function
       hands out the kernel wrapped by ``Graph.wrap``: the wrapper notes the
       launch (a ``Node``: the kernel, its arguments, the buffers it reads and
       writes) and then runs it.  So the recorded step is also computed, eagerly.
    2. Which arguments are buffers, and are they read or written?  A CTensor
       reaches a kernel as a typed pointer (``ct.ptr``).  The device keeps a
       table of its live blocks by address (``Device.block_at``), so a pointer
       names a block, and the block's allocation serial number names it as a
       ``Buffer`` here.  Whether a kernel reads or writes it comes from the
       kernel's declaration in minisinga/c/minisinga.h (read at build time into
       the table minisinga/_kernel_params.py): a ``const T *`` argument is
       read, a ``T *`` argument written, and the few kernels that update a
       buffer in place (``READS_TOO``) also read theirs.
    3. After the step, the Model drops the autograd graph hanging off the
       results and collects garbage; then ``finish()`` sorts the buffers.  A
       buffer allocated during the step that is now dead (nothing outside the
       step holds it) is an *intermediate*.  Every other buffer is *fixed*:
       parameters, optimizer state, inputs, results.  The graph keeps a
       reference to each fixed buffer, so its memory stays where the recorded
       pointers point.

Replaying (``Graph.run(sequential)``).
    Order.  ``sequential=True`` replays in the recorded order.  Otherwise the
        order is derived from the buffers alone (``dependency_order``): node B
        must run after node A if B reads what A wrote (read after write), writes
        what A wrote (write after write) or writes what A read (write after
        read).  Any topological order of that graph computes the same numbers,
        bit for bit, because every kernel sees the same inputs; we take the
        breadth-first one (Kahn's algorithm), as SINGA does, and run it on one
        thread (a parallel scheduler could run each wave of ready nodes at once).
    Memory.  The intermediates' memory went back to the device at the end of the
        recorded step.  For replay, ``plan_memory`` walks the order and gives
        each intermediate a *slot*: at its first use it takes a free slot (the
        smallest that is big enough; if none is, the largest free one, grown; if
        none is free, a new one), and after its last use the slot is free again.
        The slots are allocated once; each recorded pointer to an intermediate is
        replaced by a pointer to its slot.  So a replayed step allocates nothing
        and needs less memory than an eager one, which keeps every saved
        activation alive until the step ends.
    Randomness.  A random kernel (its last two arguments are ``seed, offset``)
        draws Philox counter blocks from the device.  Replay reserves, from the
        device's counter at that moment, as many blocks as the recorded step
        used, and gives each random launch the same offset relative to the start
        as when recorded.  So every replay draws fresh numbers (dropout masks
        differ from step to step), and exactly the numbers the eager step would.

What is frozen.  Only kernel launches are replayed.  Python values computed
while recording are baked into the recorded arguments:
    - Python control flow and every number passed to a kernel (shapes, scalar
      hyperparameters such as momentum or weight decay; not the learning rate,
      which the optimizer keeps in a device tensor).
    - Checks of values.  The checks that count bad values on the device
      (``ops/_util.py: count``: softmax_cross_entropy's labels, gather's and
      embedding's indices, cast's range) run only while recording: they are not
      recorded, so a replay never waits for a count.  (The losses read their
      upstream gradient dy on the device, so a replayed ``backward(loss, dy)``
      uses the dy of that step.)
    - The step's tensors: replay reads the placeholder tensors it was recorded
      with and writes the same result tensors.  The Model refuses other tensors.
    - Tensors created from NumPy during the step (constants) keep the values
      they had when recorded.
"""
from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import profiling
from ._device import address_of
from ._kernel_params import PARAMS
from ._lib import ffi

__all__ = ["Graph", "Node", "Buffer", "paused", "kernel_access", "dependency_order",
           "plan_memory"]

#: Kernels that read a non-const (``T *``) argument as well as write it: they
#: update it in place.  (gemm reads C only when beta != 0; see kernel_access.)
READS_TOO = {
    "axpy": {"y"},
    "sgd_update": {"p", "buf"},
    "adam_update": {"p", "m", "v"},
    "rmsprop_update": {"p", "r"},
    "adagrad_update": {"p", "h"},
}


def kernel_access(name: str, args: tuple) -> list[str]:
    """For each argument of a launch of kernel ``name``: 'r', 'w', 'rw' or ''.

    The parameters come from ``PARAMS``, the kernels' declarations in minisinga.h
    read at build time (build_helpers.py writes minisinga/_kernel_params.py).  A
    kernel missing from it (a backend's own) gets 'rw' for every argument: always
    safe for the order, it only forgoes memory reuse."""
    params = PARAMS.get(name)
    if params is None or len(params) != len(args):
        return ["rw"] * len(args)
    names = [pname for _, pname in params]
    reads_too = READS_TOO.get(name, set())
    if name in ("gemm", "gemm_batched") and args[names.index("beta")] != 0:
        reads_too = {"C"}  # C = alpha * A B + beta * C
    return [access + ("r" if pname in reads_too else "") for access, pname in params]


def _is_pointer(arg) -> bool:
    return isinstance(arg, ffi.CData) and ffi.typeof(arg).kind == "pointer"


# ---------------------------------------------------------------- the recorded step
@dataclass
class Buffer:
    """One block of device memory the step touches, named by its allocation serial."""

    serial: int
    nbytes: int
    in_step: bool                 # allocated while the step was recorded
    ref: object = None            # a weak reference to the memory, while recording
    owner: object = None          # a strong one for a fixed buffer; None for an intermediate
    first_access: str = ""        # 'r', 'w' or 'rw' at the first launch that touched it


@dataclass
class Node:
    """One recorded kernel launch."""

    name: str                     # the kernel's name, e.g. "relu_forward"
    fn: object                    # the function that was called
    args: tuple                   # its arguments as recorded
    pointers: tuple               # (argument index, buffer serial) of every buffer argument
    reads: tuple = ()             # serials of the buffers it reads
    writes: tuple = ()            # ... and writes
    rng_offset: int | None = None  # random kernels: offset relative to the step's first draw
    backward: bool = False        # launched by the backward pass (for the time profile)


@dataclass
class _Schedule:
    sequential: bool
    order: list
    calls: list                   # (fn, args, rng_offset, node) in replay order
    slots: list = field(default_factory=list)  # the intermediates' memory
    slot_sizes: list = field(default_factory=list)


class Graph:
    """The kernel launches of one training step on one device, and their replay."""

    def __init__(self, device):
        self.device = device
        self.nodes: list[Node] = []
        self.buffers: dict[int, Buffer] = {}
        self.rng_blocks = 0       # Philox counter blocks one step draws
        self._backward_started = False   # (recording: the step's backward pass has begun)
        self.finished = False
        self._schedule: _Schedule | None = None

    # ------------------------------------------------------------ recording
    @contextmanager
    def recording(self) -> Iterator[Graph]:
        """Record every kernel that this thread launches on the device inside the
        ``with`` block.  (The recorder is per thread: kernels that other threads
        launch meanwhile are not recorded, and they may record steps of their own.)"""
        dev = self.device
        if dev.recorder is not None:
            raise RuntimeError(f"graph: this thread is already recording a step on {dev}")
        if self.nodes or self.finished:
            raise RuntimeError("graph: this Graph has recorded its step already")
        self._first_serial = dev.last_serial() + 1
        self._seed, self._rng_start = dev.next_random_block(0)
        dev.recorder = self
        try:
            yield self
        finally:
            dev.recorder = None
        self.rng_blocks = dev.next_random_block(0)[1] - self._rng_start

    def wrap(self, name: str, fn: Callable) -> Callable:
        """``fn`` (the kernel ``name``) wrapped to record each launch, then run it."""
        def launch(*args):
            self._record(name, fn, args)
            return fn(*args)
        return launch

    def _buffer(self, address: int, name: str, index: int) -> Buffer:
        block = self.device.block_at(address)
        if block is None:
            raise RuntimeError(
                f"graph: argument {index} of kernel {name} points to memory that "
                f"{self.device} did not allocate (or already freed); graph mode can "
                "only record kernels on tensors of the device")
        serial, nbytes, ref = block
        buf = self.buffers.get(serial)
        if buf is None:
            buf = Buffer(serial, nbytes, in_step=serial >= self._first_serial, ref=ref)
            if not buf.in_step:   # made before the step: keep it where it is
                buf.owner = ref()
            self.buffers[serial] = buf
        return buf

    def _record(self, name: str, fn, args: tuple) -> None:
        access = kernel_access(name, args)
        pointers, modes = [], {}
        for i, arg in enumerate(args):
            if not _is_pointer(arg):
                continue          # a number, or a host array (shapes, strides)
            address = address_of(arg)
            if address == 0:
                continue          # NULL: an optional buffer left out
            buf = self._buffer(address, name, i)
            pointers.append((i, buf.serial))
            modes[buf.serial] = modes.get(buf.serial, "") + access[i]
        for serial, mode in modes.items():
            buf = self.buffers[serial]
            if not buf.first_access:
                buf.first_access = mode
                if buf.in_step and "r" in mode:
                    # Its first launch reads it, so its content was made outside
                    # any kernel (copied from NumPy): a constant to keep.
                    buf.owner = buf.ref()
        node = Node(name, fn, args, tuple(pointers),
                    reads=tuple(s for s, m in modes.items() if "r" in m),
                    writes=tuple(s for s, m in modes.items() if "w" in m),
                    backward=self._backward_started or profiling.backpropagating())
        self._backward_started = node.backward
        params = PARAMS.get(name, ())
        if len(params) >= 2 and [p for _, p in params[-2:]] == ["seed", "offset"]:
            if args[-2] != self._seed:
                raise RuntimeError(f"graph: kernel {name} was given seed {args[-2]}, not "
                                   f"the device's seed {self._seed}")
            node.rng_offset = args[-1] - self._rng_start
        self.nodes.append(node)

    def finish(self) -> None:
        """Sort the buffers once the step is over: an intermediate is one allocated
        during the step that nothing holds any more.  Call it after the caller has
        dropped its own references (the autograd graph) and collected garbage."""
        for buf in self.buffers.values():
            if buf.owner is None:
                buf.owner = buf.ref()     # alive: held outside the step (a result)
            buf.ref = None
        self.finished = True

    # ------------------------------------------------------------ replaying
    def intermediates(self) -> set[int]:
        """Serials of the buffers whose memory the planner may reuse."""
        return {s for s, b in self.buffers.items() if b.owner is None}

    def order(self, sequential: bool) -> list[int]:
        """The replay order: recorded, or derived from the dependencies."""
        if sequential:
            return list(range(len(self.nodes)))
        return dependency_order(self.nodes)

    def _build(self, sequential: bool) -> _Schedule:
        order = self.order(sequential)
        slot_of, sizes = plan_memory(self.nodes, order, self.intermediates(),
                                     {s: b.nbytes for s, b in self.buffers.items()})
        slots = [self.device.alloc(n) for n in sizes]
        calls = []
        for i in order:
            node = self.nodes[i]
            args = list(node.args)
            for k, serial in node.pointers:
                if serial in slot_of:   # an intermediate: point into its slot
                    args[k] = ffi.cast(ffi.typeof(node.args[k]), slots[slot_of[serial]])
            calls.append((node.fn, tuple(args), node.rng_offset, node))
        return _Schedule(sequential, order, calls, slots, sizes)

    def run(self, sequential: bool = False) -> None:
        """Replay the recorded step."""
        if not self.finished:
            raise RuntimeError("graph: finish() the recording before running it")
        if self._schedule is None or self._schedule.sequential != sequential:
            self._schedule = None   # free the old slots before making new ones
            self._schedule = self._build(sequential)
        seed, base = self.device.next_random_block(self.rng_blocks)
        profile = self.device._profile
        timed = profile is not None and profile.timing   # (minisinga/profiling.py)
        for fn, args, rng_offset, node in self._schedule.calls:
            if rng_offset is not None:   # fresh random numbers on every replay
                args = args[:-2] + (seed, base + rng_offset)
            if timed:
                profile.launch(node.name, fn, args, node.backward)
            else:
                fn(*args)

    def summary(self) -> dict[str, int]:
        """Counts and bytes: launches, buffers, intermediates, and the memory the
        planner gave the intermediates (``slot_bytes``, once the graph has run)."""
        inter = self.intermediates()
        return {
            "nodes": len(self.nodes),
            "buffers": len(self.buffers),
            "intermediates": len(inter),
            "intermediate_bytes": sum(self.buffers[s].nbytes for s in inter),
            "fixed_bytes": sum(b.nbytes for b in self.buffers.values() if b.owner is not None),
            "slot_bytes": sum(self._schedule.slot_sizes) if self._schedule else 0,
        }


# ---------------------------------------------------------------- scheduling
def dependency_order(nodes: list[Node]) -> list[int]:
    """A topological order of the launches' read/write dependencies, breadth first.

    B depends on an earlier A when B reads a buffer A wrote (RAW), writes a
    buffer A wrote (WAW) or writes a buffer A read (WAR).  Kahn's algorithm: start
    from the launches that depend on nothing, in recorded order; each launch
    whose last dependency has run joins the back of the queue."""
    n = len(nodes)
    succ: list[set[int]] = [set() for _ in range(n)]
    last_writer: dict[int, int] = {}
    readers: dict[int, list[int]] = defaultdict(list)   # readers since the last write
    for i, node in enumerate(nodes):
        deps = {last_writer[b] for b in node.reads + node.writes if b in last_writer}
        for b in node.writes:
            deps.update(readers[b])
        deps.discard(i)
        for d in deps:
            succ[d].add(i)
        for b in node.reads:
            readers[b].append(i)
        for b in node.writes:
            last_writer[b] = i
            readers[b] = []
    indegree = [0] * n
    for s in succ:
        for j in s:
            indegree[j] += 1
    queue = deque(i for i in range(n) if indegree[i] == 0)
    order = []
    while queue:
        i = queue.popleft()
        order.append(i)
        for j in sorted(succ[i]):
            indegree[j] -= 1
            if indegree[j] == 0:
                queue.append(j)
    assert len(order) == n, "the dependencies of a recorded step cannot have a cycle"
    return order


def plan_memory(nodes: list[Node], order: list[int], intermediates: set[int],
                nbytes: dict[int, int]) -> tuple[dict[int, int], list[int]]:
    """Give each intermediate buffer a slot of memory, reusing freed slots.

    Walk the launches in ``order``.  Before a launch, each intermediate it uses
    for the first time takes a free slot: the smallest that is big enough; else
    the largest free one, grown to fit; else a new one.  After the launch, each
    intermediate it uses for the last time frees its slot.  Two buffers share a
    slot only if their lifetimes do not overlap.  Returns (slot of each
    intermediate, the slot sizes in bytes)."""
    first, last = {}, {}
    for pos, i in enumerate(order):
        for _, s in nodes[i].pointers:
            if s in intermediates:
                first.setdefault(s, pos)
                last[s] = pos
    starts, ends = defaultdict(list), defaultdict(list)
    for s, pos in first.items():
        starts[pos].append(s)
    for s, pos in last.items():
        ends[pos].append(s)

    slot_of: dict[int, int] = {}
    sizes: list[int] = []
    free: list[int] = []
    for pos in range(len(order)):
        for s in starts[pos]:
            need = nbytes[s]
            fits = [k for k in free if sizes[k] >= need]
            if fits:
                k = min(fits, key=lambda k: sizes[k])
            elif free:
                k = max(free, key=lambda k: sizes[k])
                sizes[k] = need
            else:
                k = len(sizes)
                sizes.append(need)
            if k in free:
                free.remove(k)
            slot_of[s] = k
        for s in ends[pos]:
            free.append(slot_of[s])
    return slot_of, sizes


@contextmanager
def paused(device) -> Iterator[None]:
    """Launch kernels on ``device`` eagerly and unrecorded inside the ``with``
    block, even while a step is being recorded: for work done once, such as
    creating an optimizer's state buffers (zeros) at its first update."""
    recorder = device.recorder
    device.recorder = None
    try:
        yield
    finally:
        device.recorder = recorder

