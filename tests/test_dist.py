"""Data-parallel training (minisinga/dist.py, SINGA's DistOpt) over MPI.

The multi-process tests launch ``mpiexec -n 2`` on tests/dist_worker.py; they
skip, with the reason, where mpi4py or mpiexec is absent (``pip install -e
".[dist]"`` brings both; .ci/run installs them and runs this file).
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minisinga import dist, dtypes, opt, tensor
from minisinga._lib import ffi, lib

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "dist_worker.py"


def _mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


try:
    import mpi4py  # noqa: F401
    NO_MPI = "" if _mpiexec() else "no mpiexec on the PATH"
except ImportError:
    NO_MPI = "mpi4py is not installed (pip install -e \".[dist]\")"
needs_mpi = pytest.mark.skipif(bool(NO_MPI), reason=NO_MPI)


def run_ranks(n, tmp_path, args, *, worker_args=(), timeout=300):
    """mpiexec -n n the worker; returns (CompletedProcess, seconds, [rank results])."""
    out = tmp_path / f"n{n}-{time.monotonic_ns()}"
    out.mkdir()
    cmd = [_mpiexec(), "--oversubscribe", "-n", str(n)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if os.geteuid() == 0:   # Open MPI refuses root unless told
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd += [sys.executable, str(WORKER), str(out), *worker_args, "--", "--quiet",
            "--checkpoint", "", *args]
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=tmp_path)
    seconds = time.monotonic() - start
    results = [dict(np.load(out / f"rank{r}.npz")) for r in range(n)
               if (out / f"rank{r}.npz").exists()]
    return done, seconds, results


def params(result):
    return {k: v for k, v in result.items() if k.startswith("p:")}


# ---------------------------------------------------------------- kernels, no MPI
@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
def test_float16_packing_is_ieee_half_and_adds_back():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=200).astype(np.float32),  # and overflow to inf:
                        np.float32([0, -0.0, 1e-8, 7e4, -7e4, 65504, 1 / 3])])
    h = np.zeros(x.size, np.uint16)
    hp = ffi.cast("uint16_t *", ffi.from_buffer(h))
    lib.to_half_f32(hp, ffi.cast("float *", ffi.from_buffer(x)), 0.0, x.size)
    np.testing.assert_array_equal(h, x.astype(np.float16).view(np.uint16))
    y = np.ones(x.size, np.float32)
    lib.add_half_f32(ffi.cast("float *", ffi.from_buffer(y)), hp, x.size)
    np.testing.assert_array_equal(y, np.float32(1) + x.astype(np.float16).astype(np.float32))
    # clipping first keeps large values finite
    lib.to_half_f32(hp, ffi.cast("float *", ffi.from_buffer(x)), 100.0, x.size)
    assert np.isfinite(h.view(np.float16)).all() and h.view(np.float16).max() == 100


@pytest.mark.parametrize("k,threshold", [(5, 0.0), (1, 0.0), (12, 0.0), (0, 0.5)])
def test_sparse_select_keeps_the_largest_and_the_residual(k, threshold):
    x = np.float64([0.1, -2.0, 0.5, 0.5, -0.5, 3.0, 0.0, -0.05, 0.7, 0.5, 1e-3, -1.5])
    n = x.size
    work = x.copy()
    idx = np.zeros(n, np.int32)
    val = np.zeros(n, np.float64)
    scratch = np.zeros(n, np.float64)
    dp = lambda a: ffi.cast("double *", ffi.from_buffer(a))  # noqa: E731
    m = lib.sparse_select_f64(ffi.cast("int32_t *", ffi.from_buffer(idx)), dp(val), dp(work),
                              dp(scratch), threshold, k, 1, n)
    if k:   # the k largest magnitudes, ties to the lowest index
        expect = sorted(sorted(range(n), key=lambda i: (-abs(x[i]), i))[:k])
    else:
        expect = [i for i in range(n) if abs(x[i]) >= threshold]
    assert m == len(expect)
    np.testing.assert_array_equal(idx[:m], expect)
    np.testing.assert_array_equal(val[:m], x[expect])
    rest = x.copy()
    rest[expect] = 0
    np.testing.assert_array_equal(work, rest)        # corr: what was not sent stays
    y = np.zeros(n)
    lib.sparse_add_f64(dp(y), ffi.cast("int32_t *", ffi.from_buffer(idx)), dp(val), m)
    np.testing.assert_array_equal(y + work, x)       # sent + kept = the gradient


def test_shard_splits_every_global_batch_between_the_ranks():
    parts = [dist.shard(100, r, 2, batch_size=8, seed=3, epoch=1) for r in range(2)]
    one = dist.shard(100, 0, 1, batch_size=16, seed=3, epoch=1)
    assert all(p.size == 48 for p in parts)   # 6 global batches of 16: 8 each
    for b in range(6):   # each global batch is rank 0's 8 then rank 1's 8
        np.testing.assert_array_equal(one[b * 16:(b + 1) * 16],
                                      np.concatenate([p[b * 8:(b + 1) * 8] for p in parts]))
    assert not np.array_equal(dist.shard(100, 0, 2, batch_size=8, seed=3, epoch=2), parts[0])
    with pytest.raises(ValueError, match="rank"):
        dist.shard(100, 2, 2, batch_size=8)


def test_train_step_explains_a_dist_option_without_distopt():
    loss = tensor.Tensor((1,), dtype=dtypes.float32)
    with pytest.raises(TypeError, match="needs a DistOpt"):
        dist.train_step(opt.SGD(), loss, "half")
    with pytest.raises(ValueError, match="dist_option must be one of"):
        dist.train_step(opt.SGD(), loss, "fast")


def test_opt_distopt_is_loaded_on_use_and_import_minisinga_needs_no_mpi():
    code = ("import sys, minisinga, minisinga.opt as o; assert 'mpi4py' not in sys.modules; "
            "assert o.DistOpt.__module__ == 'minisinga.dist'; assert 'mpi4py' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---------------------------------------------------------------- over MPI
COMMON = ["--model", "mlp", "--limit", "640", "--max-steps", "20", "--epochs", "1",
          "--seed", "5"]


@needs_mpi
@pytest.mark.parametrize("mode", [[], ["--no-graph"]], ids=["graph", "eager"])
def test_two_ranks_with_half_batches_equal_one_process(mode, tmp_path):
    one, _, (single,) = run_ranks(1, tmp_path, COMMON + mode + ["--batch-size", "32"])
    assert one.returncode == 0, one.stderr
    two, _, ranks = run_ranks(2, tmp_path, COMMON + mode + ["--batch-size", "16"])
    assert two.returncode == 0, two.stderr
    assert len(ranks) == 2
    for key, value in params(ranks[0]).items():
        np.testing.assert_array_equal(value, ranks[1][key])   # the copies stay equal
        np.testing.assert_allclose(value, single[key], rtol=1e-5, atol=1e-6, err_msg=key)
    again, _, ranks2 = run_ranks(2, tmp_path, COMMON + mode + ["--batch-size", "16"])
    assert again.returncode == 0, again.stderr
    for key, value in params(ranks[0]).items():   # a fixed reduction order: same bits
        np.testing.assert_array_equal(value, ranks2[0][key])


@needs_mpi
def test_every_dist_option_trains_within_two_points_of_plain(tmp_path):
    base = ["--model", "mlp", "--epochs", "1", "--seed", "1", "--batch-size", "16",
            "--no-graph"]
    accuracy = {}
    for option, extra in [("plain", []), ("half", []), ("partialUpdate", []),
                          ("sparseTopK", ["--spars", "0.1"]),
                          ("sparseThreshold", ["--spars", "0.001"])]:
        done, _, ranks = run_ranks(2, tmp_path, base + ["--dist-option", option, *extra])
        assert done.returncode == 0, (option, done.stderr)
        accuracy[option] = float(ranks[0]["accuracy"][-1])
    assert accuracy["plain"] > 0.85, accuracy
    for option, acc in accuracy.items():
        assert acc >= accuracy["plain"] - 0.02, accuracy


@needs_mpi
def test_half_gives_the_same_bits_overlapped_or_blocking(tmp_path):
    """Eager mode overlaps the float16 exchange with backward (a fused buffer,
    Iallgather, added up in wait()); graph mode blocks, one tensor at a time.
    The packing is elementwise and the sum in rank order, so the bits agree."""
    runs = {}
    for mode, flags in (("graph", []), ("eager", ["--no-graph"])):
        done, _, ranks = run_ranks(2, tmp_path, COMMON + flags + ["--batch-size", "16",
                                                                  "--dist-option", "half"])
        assert done.returncode == 0, done.stderr
        runs[mode] = ranks[0]
    for key, value in params(runs["graph"]).items():
        np.testing.assert_array_equal(value, runs["eager"][key], err_msg=key)


@needs_mpi
def test_a_failing_rank_stops_every_rank_with_a_clear_error(tmp_path):
    done, seconds, _ = run_ranks(2, tmp_path, COMMON + ["--no-graph", "--batch-size", "16"],
                                 worker_args=["--fail-at", "3", "--fail-rank", "1"],
                                 timeout=180)
    assert done.returncode != 0
    assert "planted failure on rank 1 at step 3" in done.stderr
    assert "rank 1 of 2 failed (RuntimeError); aborting every rank" in done.stderr
    assert seconds < 120


@needs_mpi
def test_world_size_is_checked_and_a_bad_nccl_id_is_refused(tmp_path):
    code = """
import pytest
from minisinga import opt, tensor, device, autograd
from minisinga.dist import DistOpt
with pytest.raises(TypeError, match="nccl_id must be an nccl.UniqueId"):
    DistOpt(opt.SGD(), nccl_id=1, local_rank=0, world_size=1)
with pytest.raises(ValueError, match="world_size=3 but MPI says 1"):
    DistOpt(opt.SGD(), world_size=3)
d = DistOpt(opt.SGD())
assert (d.world_size, d.global_rank, d.local_rank) == (1, 0, 0)
print("ok")
"""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run([_mpiexec(), "-n", "1", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


@needs_mpi
def test_every_distopt_step_frees_the_saved_activations_as_an_optimizer_step_does():
    """DistOpt's steps back-propagate as ``opt(loss)`` does (engine.step_backward):
    what each operation saved is released as soon as its backward has run, so a
    second backward through the same graph is refused."""
    code = """
import numpy as np, pytest
from minisinga import autograd, opt
from minisinga.tensor import Tensor
from minisinga.dist import DistOpt
d = DistOpt(opt.SGD(lr=0.1))
rng = np.random.default_rng(0)
autograd.training = True
steps = {"backward_and_update": {}, "backward_and_update_half": {},
         "backward_and_partial_update": {}, "backward_and_sparse_update": {"spars": 0.5}}
for step, kwargs in steps.items():
    w = Tensor(data=rng.standard_normal((8, 4)).astype(np.float32), stores_grad=True)
    x = Tensor(data=rng.standard_normal((2, 8)).astype(np.float32), requires_grad=False)
    t = Tensor(data=np.array([1, 3], np.int32), requires_grad=False)
    loss = autograd.softmax_cross_entropy(autograd.relu(autograd.matmul(x, w)), t)
    before = w.to_numpy().copy()
    getattr(d, step)(loss, **kwargs)
    assert not np.array_equal(w.to_numpy(), before), step      # it did update w
    with pytest.raises(RuntimeError, match="already back-propagated"):
        autograd.gradients(loss)
print("ok")
"""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run([_mpiexec(), "-n", "1", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


def states(result):
    return {k: v for k, v in result.items() if k.startswith("s:")}


@needs_mpi
def test_a_checkpoint_resumes_at_another_world_size(tmp_path):
    """Train 10 steps on one world size, save (rank 0 writes the one file), go
    on to step 20 on the other; compare with 20 steps straight on 2 ranks.

    "The same" here: the resumed run trains the same global batches in the same
    order, from the same parameters, momentum buffers and step counter, so it
    must end where going on would: every parameter and momentum buffer equal to
    float32 rounding (1 rank adds a batch of 32, 2 ranks add two means of 16: a
    different order of the same sum) and the step counter exactly 20.  The
    first leg's copies are bitwise equal on both ranks, so it does not matter
    which rank writes the checkpoint."""
    common = ["--model", "mlp", "--limit", "640", "--epochs", "1", "--seed", "5"]
    batch = {1: ["--batch-size", "32"], 2: ["--batch-size", "16"]}
    done, _, straight = run_ranks(2, tmp_path, common + batch[2] + ["--max-steps", "20"])
    assert done.returncode == 0, done.stderr
    for first, then in ((2, 1), (1, 2)):
        ck = tmp_path / f"from{first}.zip"
        done, _, ranks = run_ranks(first, tmp_path, common + batch[first] + [
            "--max-steps", "10", "--checkpoint", str(ck)])
        assert done.returncode == 0, done.stderr
        assert float(ranks[0]["s:step_counter"][0]) == 10
        for key, value in {**params(ranks[0]), **states(ranks[0])}.items():
            np.testing.assert_array_equal(value, ranks[-1][key])   # one checkpoint serves all
        done, _, resumed = run_ranks(then, tmp_path, common + batch[then] + [
            "--max-steps", "20", "--resume", str(ck)])
        assert done.returncode == 0, done.stderr
        assert len(resumed[0]["losses"]) == 10     # steps 10 to 19 only
        assert float(resumed[0]["s:step_counter"][0]) == 20
        expect = {**params(straight[0]), **states(straight[0])}
        assert sorted({**params(resumed[0]), **states(resumed[0])}) == sorted(expect)
        for key, value in expect.items():
            np.testing.assert_allclose(resumed[0][key], value, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{first} -> {then} ranks: {key}")
