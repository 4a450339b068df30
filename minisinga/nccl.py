"""minisinga.nccl: NVIDIA's NCCL, the all-reduce between GPUs, for DistOpt.

MPI (minisinga/dist.py) moves bytes between processes through host memory.
Between GPUs that would mean a copy to the host and back at every step; NCCL
(the NVIDIA Collective Communications Library) runs the all-reduce itself as
CUDA kernels that read and write GPU memory, over NVLink, PCIe or the network.
SINGA's DistOpt uses it; so does minisinga's, for tensors on a CUDA GPU.

The library comes from PyPI (``pip install -e ".[nccl]"`` brings the wheel
``nvidia-nccl-cu13``, whose ``nvidia/nccl/lib/libnccl.so.2`` is NCCL's runtime)
and is loaded through cffi in ABI mode: no compiler, only the few declarations
of ``CDEF`` below, copied from the wheel's ``nccl.h``.  A system NCCL
(``libnccl.so.2`` on the loader's path, as on many clusters) is used where the
wheel is absent.  ``import minisinga`` never loads this module.

How the ranks meet.  One process drives one GPU.  Rank 0 asks NCCL for a
``ncclUniqueId`` (128 bytes naming a socket on rank 0's machine), every rank
receives it (over MPI: ``NcclCommunicator.over_mpi``; or from the launcher,
SINGA's ``NcclIdHolder``), and each calls ``ncclCommInitRank(comm, world_size,
id, rank)`` with its own GPU current.  After that, ``ncclAllReduce`` sums a
device buffer across the GPUs, in place.

The stream.  minisinga's CUDA device has no stream of its own: every kernel is
launched on the default stream (minisinga/cuda/ms_cuda.h), in order.  NCCL's
calls are queued on that same stream (``stream = NULL``), so an all-reduce runs
after the backward kernels that wrote its buffer and before the update kernels
that read it, with no extra synchronisation.

Every NCCL call returns a status; ``check`` turns a failure into an
``NcclError`` that names the call and gives ``ncclGetErrorString``'s text and
NCCL's last message.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import weakref

from . import dtypes

#: The declarations minisinga uses, as in nccl.h (NCCL 2.x).  The enums are
#: passed as ints; their values are the header's (ncclSum = 0, ncclFloat32 = 7).
CDEF = """
typedef struct { char internal[128]; } ncclUniqueId;
typedef struct ncclComm* ncclComm_t;
typedef int ncclResult_t;
typedef int ncclDataType_t;
typedef int ncclRedOp_t;
typedef void* cudaStream_t;

ncclResult_t ncclGetVersion(int *version);
ncclResult_t ncclGetUniqueId(ncclUniqueId *uniqueId);
ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream);
ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream);
ncclResult_t ncclGroupStart(void);
ncclResult_t ncclGroupEnd(void);
const char *ncclGetErrorString(ncclResult_t result);
const char *ncclGetLastError(ncclComm_t comm);
"""

UNIQUE_ID_BYTES = 128
NCCL_SUM = 0
#: minisinga's element types -> NCCL's ncclDataType_t (nccl.h).
NCCL_TYPES = {dtypes.int32: 2, dtypes.float32: 7, dtypes.float64: 8}
INSTALL_HINT = 'pip install -e ".[nccl]" (the PyPI wheel nvidia-nccl-cu13)'


class NcclError(RuntimeError):
    """An NCCL call that did not return ncclSuccess."""


def wheel_library() -> str | None:
    """The path of ``libnccl.so.2`` in the ``nvidia-nccl-cu13`` (or cu12) wheel,
    or None when no such wheel is installed."""
    try:
        spec = importlib.util.find_spec("nvidia.nccl")
    except ModuleNotFoundError:   # no "nvidia" package at all
        return None
    if spec is None:
        return None
    for folder in spec.submodule_search_locations or ():
        path = os.path.join(folder, "lib", "libnccl.so.2")
        if os.path.exists(path):
            return path
    return None


@functools.lru_cache(maxsize=1)
def _load():
    """(ffi, lib) of NCCL, loaded once; an ImportError that says how to get it."""
    import cffi
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    path = wheel_library()
    tried = [path] if path else []
    try:
        # NOTE: ABI mode: dlopen the shared library and call it through the
        # declarations above; nothing is compiled.
        return ffi, ffi.dlopen(path or "libnccl.so.2")
    except OSError as err:
        tried.append("libnccl.so.2 on the loader's path")
        raise ImportError(f"minisinga.nccl: cannot load NCCL (tried {', '.join(tried)}): "
                          f"{err}; install it with {INSTALL_HINT}") from None


def available() -> bool:
    """True when NCCL's library can be loaded here (a GPU is another matter)."""
    try:
        _load()
    except ImportError:
        return False
    return True


def check(status: int, call: str, comm=None) -> None:
    """Raise NcclError when ``status`` (what NCCL's ``call`` returned) is not
    ncclSuccess (0): the call's name, ``ncclGetErrorString(status)``, and NCCL's
    last message (``ncclGetLastError``), which usually says what went wrong."""
    if status == 0:
        return
    ffi, lib = _load()
    text = ffi.string(lib.ncclGetErrorString(status)).decode(errors="replace")
    last = ffi.string(lib.ncclGetLastError(ffi.NULL if comm is None else comm))
    last = last.decode(errors="replace").strip()
    detail = f"; NCCL says: {last}" if last else ""
    raise NcclError(f"NCCL {call} failed with status {status}: {text}{detail}")


def version() -> tuple[int, int, int]:
    """NCCL's version as (major, minor, patch), from ``ncclGetVersion``."""
    ffi, lib = _load()
    code = ffi.new("int *")
    check(lib.ncclGetVersion(code), "ncclGetVersion")
    # nccl.h: NCCL_VERSION(X, Y, Z) = X * 10000 + Y * 100 + Z since 2.9
    return code[0] // 10000, code[0] // 100 % 100, code[0] % 100


class UniqueId:
    """An ``ncclUniqueId``: the 128 bytes by which the ranks of one communicator
    find each other.  ``UniqueId()`` asks NCCL for a new one (this needs no
    GPU: it opens a listening socket on this machine); ``UniqueId(data)`` wraps
    bytes received from the rank that made it.  It pickles as its bytes, so a
    launcher can hand it to the processes it starts (SINGA's ``NcclIdHolder``)."""

    def __init__(self, data: bytes | None = None):
        if data is None:
            ffi, lib = _load()
            uid = ffi.new("ncclUniqueId *")
            check(lib.ncclGetUniqueId(uid), "ncclGetUniqueId")
            data = bytes(ffi.buffer(uid))
        if not isinstance(data, (bytes, bytearray)) or len(data) != UNIQUE_ID_BYTES:
            raise ValueError(f"UniqueId: expected {UNIQUE_ID_BYTES} bytes (an ncclUniqueId), "
                             f"got {type(data).__name__} of length "
                             f"{len(data) if hasattr(data, '__len__') else '?'}")
        self.data = bytes(data)

    def __reduce__(self):
        return (UniqueId, (self.data,))

    def __eq__(self, other) -> bool:
        return isinstance(other, UniqueId) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"UniqueId({self.data[:8].hex()}...)"


#: SINGA's name (``singa_wrap.NcclIdHolder()``): a new unique id.
NcclIdHolder = UniqueId


def _comm_init_rank(unique_id: UniqueId, world_size: int, rank: int):
    """``ncclCommInitRank`` on the current CUDA device; returns the ncclComm_t."""
    ffi, lib = _load()
    uid = ffi.new("ncclUniqueId *")
    ffi.memmove(uid, unique_id.data, UNIQUE_ID_BYTES)
    comm = ffi.new("ncclComm_t *")
    check(lib.ncclCommInitRank(comm, world_size, uid[0], rank), "ncclCommInitRank")
    return comm[0]


class NcclCommunicator:
    """One rank of an NCCL communicator: this process's GPU among ``world_size``.

    Args:
        unique_id: the ``UniqueId`` every rank was given (made by one of them).
        rank: this process's rank, 0 to ``world_size - 1``.
        world_size: the number of processes (one GPU each).
        device: this process's ``CudaGPU`` (``device.create_cuda_gpu_on(local_rank)``).

    Every rank must construct it at the same time: ``ncclCommInitRank`` waits
    until all ``world_size`` ranks have joined.  The calls queue work on the
    default stream, where minisinga's kernels run, and return at once.
    """

    def __init__(self, unique_id: UniqueId, rank: int, world_size: int, device):
        from .gpu import CudaGPU
        if not isinstance(unique_id, UniqueId):
            raise TypeError(f"NcclCommunicator: unique_id must be an nccl.UniqueId, got "
                            f"{type(unique_id).__name__}")
        if not (dtypes.is_int(world_size) and world_size >= 1
                and dtypes.is_int(rank) and 0 <= rank < world_size):
            raise ValueError(f"NcclCommunicator: need world_size >= 1 and 0 <= rank < "
                             f"world_size, got rank={rank!r}, world_size={world_size!r}")
        if not isinstance(device, CudaGPU):
            raise TypeError(f"NcclCommunicator: NCCL works on CUDA GPUs; device must be a "
                            f"CudaGPU (device.create_cuda_gpu_on(local_rank)), got {device!r}")
        self.ffi, self.lib = _load()
        self.device, self.rank, self.world_size = device, int(rank), int(world_size)
        self.bytes_sent = 0
        device.activate()   # NCCL binds the communicator to the current GPU
        self.comm = _comm_init_rank(unique_id, self.world_size, self.rank)
        # ncclCommDestroy when this object goes (or at exit), once
        self._finalizer = weakref.finalize(self, self.lib.ncclCommDestroy, self.comm)

    @classmethod
    def over_mpi(cls, mpi_comm, device) -> NcclCommunicator:
        """Every rank of the mpi4py communicator ``mpi_comm`` joins one NCCL
        communicator: rank 0 makes the unique id and broadcasts it over MPI."""
        rank = mpi_comm.Get_rank()
        data = UniqueId().data if rank == 0 else None
        data = mpi_comm.bcast(data, root=0)
        return cls(UniqueId(data), rank, mpi_comm.Get_size(), device)

    def _type(self, dtype: int) -> int:
        code = NCCL_TYPES.get(dtype)
        if code is None:
            raise TypeError(f"NcclCommunicator: no NCCL type for {dtypes.name(dtype)} "
                            f"(float32, float64 and int32 are mapped)")
        return code

    def _ptr(self, ptr):
        # NOTE: the pointer comes from another cffi FFI (minisinga._cuda's); a cast
        # to void * carries the address over.
        return self.ffi.cast("void *", ptr)

    def allreduce(self, ptr, count: int, dtype: int) -> None:
        """Sum the ``count`` elements at device address ``ptr`` over the ranks,
        in place (queued on the default stream)."""
        self.device.activate()
        self.bytes_sent += count * dtypes.itemsize(dtype)
        p = self._ptr(ptr)
        check(self.lib.ncclAllReduce(p, p, count, self._type(dtype), NCCL_SUM, self.comm,
                                     self.ffi.NULL), "ncclAllReduce", self.comm)

    def broadcast(self, ptr, count: int, dtype: int, root: int = 0) -> None:
        """Copy rank ``root``'s ``count`` elements at ``ptr`` to every rank's ``ptr``."""
        self.device.activate()
        p = self._ptr(ptr)
        check(self.lib.ncclBroadcast(p, p, count, self._type(dtype), root, self.comm,
                                     self.ffi.NULL), "ncclBroadcast", self.comm)

    def group_start(self) -> None:
        """``ncclGroupStart``: the calls until ``group_end`` are launched as one."""
        check(self.lib.ncclGroupStart(), "ncclGroupStart")

    def group_end(self) -> None:
        """``ncclGroupEnd``: launch the calls made since ``group_start``."""
        check(self.lib.ncclGroupEnd(), "ncclGroupEnd", self.comm)

    def close(self) -> None:
        """``ncclCommDestroy`` now (it also runs when the object goes, or at exit)."""
        self._finalizer()
