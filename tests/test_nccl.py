"""NCCL for DistOpt on CUDA GPUs (minisinga/nccl.py).

Here (no GPU) the library is loaded and asked its version, its declarations
are compiled against the wheel's nccl.h, a unique id is made
(that needs no GPU), and the errors are checked: a real failing NCCL call, a
CPU device, no GPU, no library.  DistOpt's GPU path runs in Python with the
CPU and a stand-in communicator in place of a GPU and NCCL.  The tests that
move data between GPUs skip with the reason "no CUDA GPU" and run wherever one
is: a world of one GPU without MPI and through ``mpiexec -n 1``, and two GPUs
training like one process.  What needs NCCL's library skips, with the reason,
where its wheel is absent (``pip install -e ".[nccl]"``; .ci/run installs it).
"""
import importlib.metadata
import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from test_dist import COMMON, NO_MPI, _mpiexec, params, run_ranks

from minisinga import device, dtypes, gpu, nccl, opt, tensor
from minisinga.dist import DistOpt

NO_NCCL = "" if nccl.available() else (
    "NCCL's library is not installed (pip install -e \".[nccl]\" brings nvidia-nccl-cu13)")
needs_nccl = pytest.mark.skipif(bool(NO_NCCL), reason=NO_NCCL)
NO_GPU = NO_NCCL or ("" if gpu.num_gpus() > 0 else "no CUDA GPU")
needs_gpu = pytest.mark.skipif(bool(NO_GPU), reason=NO_GPU)
no_gpu_here = pytest.mark.skipif(gpu.num_gpus() > 0,
                                 reason="checks the errors of a machine without a GPU")


def _wheel_version():
    for name in ("nvidia-nccl-cu13", "nvidia-nccl-cu12"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


# ---------------------------------------------------------------- here, without a GPU
@needs_nccl
def test_nccl_loads_and_reports_the_version_of_its_wheel():
    major, minor, patch = nccl.version()
    wheel = _wheel_version()
    if wheel is None:   # a system NCCL: only its major version is known here
        assert major == 2
    else:   # the wheel's version is NCCL's: nvidia-nccl-cu13 2.32.6 is NCCL 2.32.6
        assert (major, minor, patch) == tuple(int(v) for v in wheel.split(".")[:3])
        assert nccl.wheel_library().endswith(os.path.join("nvidia", "nccl", "lib",
                                                          "libnccl.so.2"))


# What minisinga.nccl.CDEF declares, checked by a C++ compiler against the wheel's
# nccl.h: the sizes, the enum values it passes as ints, and each function's exact
# type (a pointer to it must take the header's function).
NCCL_H_CHECK = """
#include <nccl.h>
static_assert(sizeof(ncclUniqueId) == 128, "ncclUniqueId is 128 bytes");
static_assert(sizeof(ncclResult_t) == sizeof(int) && sizeof(ncclDataType_t) == sizeof(int)
              && sizeof(ncclRedOp_t) == sizeof(int), "the enums are passed as ints");
static_assert(sizeof(cudaStream_t) == sizeof(void *), "a stream is passed as a pointer");
static_assert(ncclSum == 0 && ncclInt32 == 2 && ncclFloat32 == 7 && ncclFloat64 == 8,
              "the values of nccl.NCCL_SUM and nccl.NCCL_TYPES");
ncclResult_t (*f1)(int *) = ncclGetVersion;
ncclResult_t (*f2)(ncclUniqueId *) = ncclGetUniqueId;
ncclResult_t (*f3)(ncclComm_t *, int, ncclUniqueId, int) = ncclCommInitRank;
ncclResult_t (*f4)(ncclComm_t) = ncclCommDestroy;
ncclResult_t (*f5)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                   cudaStream_t) = ncclAllReduce;
ncclResult_t (*f6)(const void *, void *, size_t, ncclDataType_t, int, ncclComm_t,
                   cudaStream_t) = ncclBroadcast;
ncclResult_t (*f7)(void) = ncclGroupStart;
ncclResult_t (*f8)(void) = ncclGroupEnd;
const char *(*f9)(ncclResult_t) = ncclGetErrorString;
const char *(*f10)(ncclComm_t) = ncclGetLastError;
"""


@needs_nccl
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc (for CUDA's headers)")
@pytest.mark.skipif(nccl.wheel_library() is None, reason="NCCL is not from its wheel here")
def test_the_declarations_match_the_wheels_nccl_h(tmp_path):
    declared = set(re.findall(r"\b(nccl\w+)\(", nccl.CDEF))
    checked = set(re.findall(r"= (nccl\w+);", NCCL_H_CHECK))
    assert declared == checked   # a new declaration needs its line above
    assert nccl.NCCL_SUM == 0 and nccl.NCCL_TYPES == {dtypes.int32: 2, dtypes.float32: 7,
                                                      dtypes.float64: 8}
    include = os.path.join(os.path.dirname(os.path.dirname(nccl.wheel_library())), "include")
    src = tmp_path / "check.cpp"
    src.write_text(NCCL_H_CHECK)
    done = subprocess.run(["nvcc", "-x", "c++", "-std=c++17", "-c", str(src), "-o",
                           str(tmp_path / "check.o"), "-I", include],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_nccl
def test_a_unique_id_is_made_without_a_gpu_and_travels_as_bytes():
    a, b = nccl.UniqueId(), nccl.UniqueId()
    assert len(a.data) == nccl.UNIQUE_ID_BYTES and a.data != bytes(nccl.UNIQUE_ID_BYTES)
    assert a != b                                  # each names its own socket
    assert pickle.loads(pickle.dumps(a)) == a      # a launcher can hand it on
    assert nccl.UniqueId(a.data) == a
    assert nccl.NcclIdHolder is nccl.UniqueId      # SINGA's name
    with pytest.raises(ValueError, match="expected 128 bytes"):
        nccl.UniqueId(b"too short")


@needs_nccl
@no_gpu_here
def test_a_failing_nccl_call_names_the_call_and_nccls_reason():
    # ncclCommInitRank needs a GPU: here it fails, and the status becomes an error
    with pytest.raises(nccl.NcclError,
                       match=r"NCCL ncclCommInitRank failed with status 1: unhandled cuda "
                             r"error.*NCCL says: .*[Cc]uda"):
        nccl._comm_init_rank(nccl.UniqueId(), 1, 0)
    assert nccl.check(0, "ncclAllReduce") is None   # ncclSuccess
    with pytest.raises(nccl.NcclError, match="ncclAllReduce failed with status 4: "
                                             "invalid argument"):
        nccl.check(4, "ncclAllReduce")


@needs_nccl
def test_a_communicator_wants_a_cuda_gpu_and_a_rank_in_the_world():
    uid = nccl.UniqueId()
    with pytest.raises(TypeError, match="device must be a CudaGPU"):
        nccl.NcclCommunicator(uid, 0, 1, device.get_default_device())
    with pytest.raises(ValueError, match="0 <= rank < world_size, got rank=2"):
        nccl.NcclCommunicator(uid, 2, 2, device.get_default_device())
    with pytest.raises(TypeError, match="unique_id must be an nccl.UniqueId"):
        nccl.NcclCommunicator(uid.data, 0, 1, device.get_default_device())


@needs_nccl
@no_gpu_here
def test_distopt_with_an_nccl_id_says_there_is_no_gpu():
    # SINGA's launch without MPI: the id from the launcher, GPU local_rank
    with pytest.raises(RuntimeError, match="cannot create CUDA GPU 0"):
        DistOpt(opt.SGD(), nccl_id=nccl.UniqueId(), local_rank=0, world_size=1)
    with pytest.raises(ValueError, match="with nccl_id, give world_size"):
        DistOpt(opt.SGD(), nccl_id=nccl.UniqueId())


def test_without_the_library_the_error_says_how_to_install_it():
    # in a fresh process: once loaded, dlopen finds libnccl.so.2 by its name
    code = """
from minisinga import nccl
nccl.wheel_library = lambda: None   # as if the wheel were not installed
try:
    nccl._load()
    print("system NCCL")
except ImportError as err:
    assert not nccl.available()
    print(err)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    if done.stdout.strip() == "system NCCL":
        pytest.skip("a system NCCL (libnccl.so.2) is on the loader's path here")
    assert "minisinga.nccl: cannot load NCCL (tried libnccl.so.2 on the loader's path)" \
        in done.stdout
    assert 'install it with pip install -e ".[nccl]"' in done.stdout


def test_import_minisinga_and_distopt_never_load_nccl():
    code = ("import sys, minisinga, minisinga.opt, minisinga.dist; "
            "assert 'minisinga.nccl' not in sys.modules, 'nccl loaded'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


class _TwoEqualRanks:
    """Stands in for NcclCommunicator in the test below: its all-reduce doubles the
    buffer in place, the sum of two ranks holding the same values."""

    def __init__(self, unique_id, rank, world_size, device):
        self.device, self.world_size, self.calls = device, world_size, []

    def allreduce(self, ptr, count, dtype):
        self.calls.append(count)
        k = self.device.kernel("affine_forward", dtype)
        k(ptr, ptr, 2.0, 0.0, count)   # y = 2 x + 0


@pytest.mark.parametrize("use_graph", [False, True], ids=["eager", "graph"])
def test_distopt_hands_gpu_tensors_to_its_nccl_communicator(use_graph, monkeypatch):
    """DistOpt's GPU path in Python, run here without a GPU (the real NCCL is
    owed a GPU run, below): the CPU stands in for the GPU, and a communicator
    that doubles stands in for NCCL between two ranks with the same batch.
    Training must then equal plain SGD bit for bit (x 2 then / 2 is exact), and
    every gradient must have gone through the communicator."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    from models import MLP
    cpu = device.get_default_device()
    monkeypatch.setattr(device, "create_cuda_gpu_on", lambda ordinal: cpu)
    monkeypatch.setattr(nccl, "NcclCommunicator", _TwoEqualRanks)
    monkeypatch.setattr(DistOpt, "_on_gpu", staticmethod(lambda ct: True))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=8).astype(np.int32)
    results = []
    for wrap in (False, True):
        cpu.set_rand_seed(3)
        net = MLP(hidden=16)
        sgd = opt.SGD(lr=0.1, momentum=0.9)
        dopt = DistOpt(sgd, nccl_id=nccl.UniqueId(bytes(128)), local_rank=0, world_size=2)
        net.set_optimizer(dopt if wrap else sgd)
        tx = tensor.Tensor(data=x, requires_grad=False)
        ty = tensor.Tensor(data=y, requires_grad=False)
        net.compile([tx], is_train=True, use_graph=use_graph, sequential=False)
        for _ in range(3):
            net(tx, ty, "plain", None)
        results.append({k: tensor.to_numpy(v) for k, v in net.get_params().items()})
    for key, value in results[0].items():
        np.testing.assert_array_equal(results[1][key], value, err_msg=key)
    sizes = sorted(v.size for v in results[0].values())   # 784*16, 16, 16*10, 10
    calls = dopt.nccl.calls
    if use_graph:   # one all-reduce per gradient, replayed at every step
        assert sorted(calls[:4]) == sizes and len(calls) == 12
    else:           # small gradients fused: one all-reduce of them all per step
        assert calls == [sum(sizes)] * 3
    loss = net.softmax_cross_entropy(net.forward(tx), ty) if not use_graph else None
    if loss is not None:
        with pytest.raises(NotImplementedError, match="no CUDA twins"):
            dopt.backward_and_update_half(loss)


# ---------------------------------------------------------------- on GPUs (owed here)
@needs_gpu
def test_a_world_of_one_gpu_without_mpi_sums_in_place():
    dopt = DistOpt(opt.SGD(), nccl_id=nccl.UniqueId(), local_rank=0, world_size=1)
    dev = dopt.nccl.device
    assert dev is device.create_cuda_gpu_on(0) and dopt.communicator is None
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 5)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    c = rng.normal(size=6)   # float64
    ta, tb, tc = (tensor.Tensor(data=v, device=dev, requires_grad=False,
                                dtype=tensor.float64 if v is c else tensor.float32)
                  for v in (a, b, c))
    dopt.all_reduce(ta)           # the sum over one rank is the tensor itself
    dopt.all_reduce(tc)
    dopt.fused_all_reduce([ta, tb])
    dopt.wait()
    for t, v in ((ta, a), (tb, b), (tc, c)):
        np.testing.assert_array_equal(tensor.to_numpy(t), v)
    assert dopt.nccl.bytes_sent == 15 * 4 + 6 * 8 + 19 * 4
    dopt.nccl.broadcast(tc.data.ptr, 6, tc.dtype, root=0)
    np.testing.assert_array_equal(tensor.to_numpy(tc), c)
    with pytest.raises(NotImplementedError, match="no CUDA twins"):
        dopt.fused_all_reduce_half([ta])
    with pytest.raises(TypeError, match="made with nccl_id"):   # CPU tensors need MPI
        dopt.all_reduce(tensor.Tensor(data=a, requires_grad=False))
    dopt.nccl.close()


@needs_gpu
@pytest.mark.skipif(bool(NO_MPI), reason=NO_MPI or "-")
def test_a_world_of_one_gpu_over_mpi_makes_its_communicator_on_first_use():
    code = """
import numpy as np
from minisinga import device, opt, tensor
from minisinga.dist import DistOpt
d = DistOpt(opt.SGD())
dev = device.create_cuda_gpu_on(d.local_rank)
x = np.arange(6, dtype=np.float32)
t = tensor.Tensor(data=x, device=dev, requires_grad=False)
assert d.nccl is None
d.all_reduce(t)
d.wait()
assert d.nccl is not None and d.nccl.world_size == 1 and d.nccl.device is dev
assert (tensor.to_numpy(t) == x).all()
print("ok")
"""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run([_mpiexec(), "-n", "1", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


@pytest.mark.skipif(bool(NO_GPU) or gpu.num_gpus() < 2,
                    reason=NO_GPU or "needs 2 CUDA GPUs (one per rank)")
@pytest.mark.skipif(bool(NO_MPI), reason=NO_MPI or "-")
@pytest.mark.parametrize("mode", [[], ["--no-graph"]], ids=["graph", "eager"])
def test_two_gpus_with_half_batches_equal_one_gpu(mode, tmp_path):
    one, _, (single,) = run_ranks(1, tmp_path, COMMON + mode + ["--gpu", "--batch-size", "32"])
    assert one.returncode == 0, one.stderr
    two, _, ranks = run_ranks(2, tmp_path, COMMON + mode + ["--gpu", "--batch-size", "16"])
    assert two.returncode == 0, two.stderr
    for key, value in params(ranks[0]).items():
        np.testing.assert_array_equal(value, ranks[1][key])   # a + b == b + a: equal copies
        np.testing.assert_allclose(value, single[key], rtol=1e-5, atol=1e-6, err_msg=key)
