"""Checkpoints: SINGA's zip format, atomic saves, strict loads, exact resumption."""
import io
import json
import os
import zipfile

import numpy as np
import pytest
from test_model import BATCH, MLP, mnist_batch, params_of, train_mlp

from minisinga import device, model, opt, tensor
from minisinga.tensor import Tensor


def compiled_mlp(seed=0):
    device.set_rand_seed(seed)
    m = MLP()
    m.compile([Tensor((2, 1, 28, 28))], is_train=False)
    return m


def read_members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_checkpoint(path, arrays, attrs):
    """A checkpoint zip built by hand (for damaged or crafted files); np.savez
    pickles object arrays."""
    npz = io.BytesIO()
    np.savez(npz, **arrays)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(model.TENSOR_DICT_FILENAME, npz.getvalue())
        zf.writestr(model.STATES_ATTR_FILENAME, json.dumps(attrs))


def checkpoint_contents(m):
    arrays = {k: v.to_numpy() for k, v in m.get_states().items()}
    attrs = {k: {"state_type": 0, "shape": list(a.shape), "dtype": 0} for k, a in arrays.items()}
    return arrays, attrs


# ---------------------------------------------------------------------- format
def test_save_writes_singas_format(tmp_path):
    m = compiled_mlp()
    aux = {"step_counter": Tensor(data=np.array([3.0]), dtype=tensor.float64),
           "labels": Tensor(data=np.arange(4, dtype=np.int32))}
    path = tmp_path / "ckpt.zip"
    m.save_states(str(path), aux_states=aux)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["states_attr.json", "tensor_dict.npz"]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        attrs = json.loads(zf.read("states_attr.json"))
        npz = np.load(io.BytesIO(zf.read("tensor_dict.npz")), allow_pickle=False)
        assert sorted(npz.files) == sorted(attrs)
    states = m.get_states()
    for name, t in states.items():
        assert attrs[name] == {"state_type": 0, "shape": list(t.shape), "dtype": tensor.float32}
        np.testing.assert_array_equal(npz[name], t.to_numpy())
    assert attrs["step_counter"] == {"state_type": 1, "shape": [1], "dtype": tensor.float64}
    assert attrs["labels"] == {"state_type": 1, "shape": [4], "dtype": tensor.int32}


def test_load_restores_in_place_and_returns_aux(tmp_path):
    src = compiled_mlp(seed=1)
    path = tmp_path / "ckpt.zip"
    src.save_states(path, aux_states={"note": Tensor(data=np.array([1.5, 2.5], np.float32))})
    dst = compiled_mlp(seed=2)
    tensors_before = dict(dst.get_states())
    aux = dst.load_states(path)
    for k, v in params_of(src).items():
        np.testing.assert_array_equal(dst.get_states()[k].to_numpy(), v)
        assert dst.get_states()[k] is tensors_before[k]          # copied into, not replaced
        assert dst.get_states()[k].device is device.get_default_device()
    assert set(aux) == {"note"} and isinstance(aux["note"], Tensor)
    np.testing.assert_array_equal(aux["note"].to_numpy(), [1.5, 2.5])


def test_save_refuses_bad_aux_states(tmp_path):
    m = compiled_mlp()
    with pytest.raises(TypeError, match="lr must be a Tensor"):
        m.save_states(tmp_path / "a.zip", aux_states={"lr": 0.1})
    with pytest.raises(ValueError, match="linear1.W"):
        m.save_states(tmp_path / "a.zip", aux_states={"linear1.W": Tensor((1,))})
    with pytest.raises(TypeError, match="dict"):
        m.save_states(tmp_path / "a.zip", aux_states=[1])
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- never lose data
def test_save_overwrites_atomically_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "ckpt.zip"
    compiled_mlp(seed=1).save_states(path)
    m2 = compiled_mlp(seed=2)
    m2.save_states(path)    # SINGA refuses an existing path; minisinga replaces it
    assert os.listdir(tmp_path) == ["ckpt.zip"]
    check = compiled_mlp(seed=3)
    check.load_states(path)
    for k, v in params_of(m2).items():
        np.testing.assert_array_equal(params_of(check)[k], v)


@pytest.mark.parametrize("where", ["savez", "second zip member", "fsync", "replace"])
def test_a_save_failing_halfway_keeps_the_old_checkpoint(tmp_path, monkeypatch, where):
    path = tmp_path / "ckpt.zip"
    compiled_mlp(seed=1).save_states(path)
    old_bytes = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    if where == "savez":
        monkeypatch.setattr(np, "savez", boom)
    elif where == "second zip member":
        real = zipfile.ZipFile.writestr
        count = []

        def writestr(self, *args, **kwargs):
            count.append(1)
            if len(count) == 2:
                raise OSError("disk full (simulated)")
            return real(self, *args, **kwargs)
        monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    elif where == "fsync":
        monkeypatch.setattr(os, "fsync", boom)
    else:
        monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        compiled_mlp(seed=2).save_states(path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.zip"]     # no temporary file left behind


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        compiled_mlp().save_states(tmp_path / "nope" / "ckpt.zip")


# ---------------------------------------------------------------------- strict loads
def assert_load_fails_unchanged(m, path, exc, match):
    before = params_of(m)
    with pytest.raises(exc, match=match):
        m.load_states(path)
    for k, v in params_of(m).items():
        np.testing.assert_array_equal(v, before[k])


def test_load_missing_file(tmp_path):
    assert_load_fails_unchanged(compiled_mlp(), tmp_path / "none.zip", FileNotFoundError,
                                "no checkpoint")


def test_load_corrupt_and_truncated_files(tmp_path):
    m = compiled_mlp()
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file at all" * 10)
    assert_load_fails_unchanged(m, junk, ValueError, "not a valid checkpoint zip")
    good = tmp_path / "good.zip"
    compiled_mlp(seed=5).save_states(good)
    data = good.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    assert_load_fails_unchanged(m, cut, ValueError, "cut.zip")
    flipped = bytearray(data)          # damage the compressed tensor bytes: CRC fails
    flipped[len(data) // 3] ^= 0xFF
    bad = tmp_path / "flipped.zip"
    bad.write_bytes(bytes(flipped))
    assert_load_fails_unchanged(m, bad, ValueError, "flipped.zip")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert_load_fails_unchanged(m, other, ValueError, "without tensor_dict.npz")


def test_load_refuses_to_unpickle(tmp_path):
    m = compiled_mlp()
    arrays, attrs = checkpoint_contents(m)
    arrays["linear1.b"] = np.array([{"evil": 1}] * 100, dtype=object)
    path = tmp_path / "pickle.zip"
    write_checkpoint(path, arrays, attrs)
    assert_load_fails_unchanged(m, path, ValueError, "linear1.b")


def test_load_missing_extra_or_mismatched_states(tmp_path):
    m = compiled_mlp()
    base_arrays, base_attrs = checkpoint_contents(compiled_mlp(seed=9))

    arrays, attrs = dict(base_arrays), dict(base_attrs)
    del arrays["linear2.b"], attrs["linear2.b"]
    write_checkpoint(tmp_path / "missing.zip", arrays, attrs)
    assert_load_fails_unchanged(m, tmp_path / "missing.zip", KeyError, "linear2.b")

    arrays, attrs = dict(base_arrays), dict(base_attrs)
    arrays["linear3.W"] = np.zeros((2, 2), np.float32)
    attrs["linear3.W"] = {"state_type": 0, "shape": [2, 2], "dtype": 0}
    write_checkpoint(tmp_path / "extra.zip", arrays, attrs)
    assert_load_fails_unchanged(m, tmp_path / "extra.zip", KeyError, "linear3.W")

    arrays, attrs = dict(base_arrays), dict(base_attrs)
    arrays["linear2.W"] = np.zeros((10, 100), np.float32)
    attrs["linear2.W"] = {"state_type": 0, "shape": [10, 100], "dtype": 0}
    write_checkpoint(tmp_path / "shape.zip", arrays, attrs)
    assert_load_fails_unchanged(m, tmp_path / "shape.zip", ValueError, "linear2.W")

    arrays, attrs = dict(base_arrays), dict(base_attrs)
    arrays["linear1.b"] = arrays["linear1.b"].astype(np.float64)
    attrs["linear1.b"] = {"state_type": 0, "shape": [100], "dtype": 4}
    write_checkpoint(tmp_path / "dtype.zip", arrays, attrs)
    assert_load_fails_unchanged(m, tmp_path / "dtype.zip", TypeError, "linear1.b")

    arrays, attrs = dict(base_arrays), dict(base_attrs)
    attrs["linear1.b"] = {"state_type": 0, "shape": [100], "dtype": 4}   # says f64, holds f32
    write_checkpoint(tmp_path / "attr.zip", arrays, attrs)
    assert_load_fails_unchanged(m, tmp_path / "attr.zip", ValueError, "linear1.b")

    arrays, attrs = dict(base_arrays), dict(base_attrs)
    del attrs["linear1.W"]                                            # data, no description
    write_checkpoint(tmp_path / "inconsistent.zip", arrays, attrs)
    assert_load_fails_unchanged(m, tmp_path / "inconsistent.zip", ValueError, "linear1.W")


def test_load_into_an_uninitialised_model_says_compile(tmp_path):
    path = tmp_path / "c.zip"
    compiled_mlp().save_states(path)
    with pytest.raises(RuntimeError, match="compile"):
        MLP().load_states(path)


# ---------------------------------------------------------------------- resumption
@pytest.mark.parametrize("use_graph", [False, True], ids=["eager", "graph"])
@pytest.mark.parametrize("make_opt", [
    lambda: opt.SGD(lr=0.01, momentum=0.9, weight_decay=1e-5),
    lambda: opt.Adam(lr=opt.ExponentialDecay(0.002, decay_steps=3, decay_rate=0.8)),
], ids=["sgd-momentum", "adam-decay"])
def test_resuming_from_a_checkpoint_continues_exactly(tmp_path, use_graph, make_opt):
    n = 8
    straight, _, _ = train_mlp(n, use_graph=use_graph, make_opt=make_opt)
    path = str(tmp_path / "half.zip")
    train_mlp(n // 2, use_graph=use_graph, make_opt=make_opt, save_to=path)
    # a fresh model and optimizer, initialised from another seed, then loaded
    device.set_rand_seed(123)
    fresh, fresh_opt = MLP(), make_opt()
    fresh.set_optimizer(fresh_opt)
    resumed, _, _ = train_mlp(n // 2, use_graph=use_graph, model_and_opt=(fresh, fresh_opt),
                              first_batch=n // 2, load_from=path)
    for k, v in params_of(straight).items():
        np.testing.assert_array_equal(params_of(resumed)[k], v, err_msg=k)


def test_loading_into_a_recorded_graph_is_seen_by_the_next_replay(tmp_path):
    path = tmp_path / "p.zip"
    src, src_opt, _ = train_mlp(3, use_graph=False)
    src.save_states(path, aux_states=src_opt.get_states())
    # a step recorded with other parameters (another seed) ...
    device.set_rand_seed(5)
    g, g_opt = MLP(), opt.SGD(lr=0.005, momentum=0.9, weight_decay=1e-5)
    g.set_optimizer(g_opt)
    tx, ty = Tensor((BATCH, 1, 28, 28)), Tensor((BATCH, 10), dtype=tensor.int32)
    g.compile([tx], use_graph=True)

    def step(b):
        x, y = mnist_batch(b)
        tx.copy_from_numpy(x)
        ty.copy_from_numpy(y)
        return float(g(tx, ty)[1].to_numpy()[0])

    step(0)
    step(1)
    recorded = g._graph
    # ... then loaded: the replay reads the loaded parameters and optimizer state
    g_opt.set_states(g.load_states(path))
    loss_g = [step(3), step(4)]
    assert g._graph is recorded
    _, _, loss_e = train_mlp(2, use_graph=False, model_and_opt=(src, src_opt), first_batch=3)
    np.testing.assert_allclose(loss_g, loss_e, rtol=1e-6)
    for k, v in params_of(src).items():
        np.testing.assert_allclose(params_of(g)[k], v, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------- attacker's files
# Each crafted file must be refused with one ValueError naming the file and the
# problem, after reading no more than the model's states can need (measured
# with tracemalloc: NumPy and zipfile allocate through Python's allocator).
def _npy(shape, descr="<f4", data=b""):
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False,
                                             "shape": shape})
    return f.getvalue() + data


def _raw_checkpoint(path, npz_members, attrs, outer_extra=()):
    npz = io.BytesIO()
    with zipfile.ZipFile(npz, "w") as zf:
        for name, data in npz_members:
            zf.writestr(name, data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(model.TENSOR_DICT_FILENAME, npz.getvalue())
        zf.writestr(model.STATES_ATTR_FILENAME, json.dumps(attrs))
        for name, data in outer_extra:
            zf.writestr(name, data)


def _refused_within(m, path, match, limit=8 << 20):
    import tracemalloc
    tracemalloc.start()
    try:
        assert_load_fails_unchanged(m, path, ValueError, f"{path.name}.*{match}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"reading {path.name} took {peak} bytes before refusing it"


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    m = compiled_mlp()
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(model.STATES_ATTR_FILENAME, "{}")
        with zf.open(model.TENSOR_DICT_FILENAME, "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(64):                      # 64 MiB of zeros, ~64 KB on disk
                f.write(chunk)
    assert path.stat().st_size < 1 << 20
    _refused_within(m, path, "tensor_dict.npz declares 67108864 bytes")


def test_member_declaring_4_gib_is_refused(tmp_path):
    m = compiled_mlp()
    path = tmp_path / "declares4gib.zip"
    compiled_mlp(seed=1).save_states(path)
    data = bytearray(path.read_bytes())
    # The central directory's record of tensor_dict.npz: its uncompressed size at +24.
    at = data.index(b"PK\x01\x02")
    while data[at + 46: at + 46 + len(model.TENSOR_DICT_FILENAME)] != \
            model.TENSOR_DICT_FILENAME.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    data[at + 24: at + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    _refused_within(m, path, "declares 4294967280 bytes")


def test_npy_header_declaring_4_tib_is_refused(tmp_path):
    m = compiled_mlp()
    arrays, attrs = checkpoint_contents(m)
    members = [(f"{k}.npy", _npy(v.shape, data=v.tobytes())) for k, v in arrays.items()]
    members[0] = (members[0][0], _npy((1 << 40,), data=b"\0" * 64))
    path = tmp_path / "tib.zip"
    _raw_checkpoint(path, members, attrs)
    _refused_within(m, path, r"declares shape \(1099511627776,\)")


def test_npy_member_longer_or_shorter_than_its_header_is_refused(tmp_path):
    m = compiled_mlp()
    arrays, attrs = checkpoint_contents(m)
    for label, extra in (("long", b"\0" * 8), ("short", None)):
        members = [(f"{k}.npy", _npy(v.shape, data=v.tobytes())) for k, v in arrays.items()]
        name, data = members[1]
        members[1] = (name, data + extra if extra else data[:-4])
        path = tmp_path / f"{label}.zip"
        _raw_checkpoint(path, members, attrs)
        _refused_within(m, path, "but its header says")


def test_duplicate_member_names_are_refused(tmp_path):
    import warnings
    m = compiled_mlp()
    arrays, attrs = checkpoint_contents(m)
    members = [(f"{k}.npy", _npy(v.shape, data=v.tobytes())) for k, v in arrays.items()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # zipfile's "Duplicate name"
        inner = tmp_path / "inner.zip"
        _raw_checkpoint(inner, members + [members[0]], attrs)
        _refused_within(m, inner, "two members named 'linear1.W.npy'")
        outer = tmp_path / "outer.zip"
        _raw_checkpoint(outer, members, attrs,
                        outer_extra=[(model.STATES_ATTR_FILENAME, json.dumps({}))])
        _refused_within(m, outer, "two members named 'states_attr.json'")


def test_flipped_bytes_anywhere_give_one_value_error(tmp_path):
    m = compiled_mlp()
    good = tmp_path / "good.zip"
    compiled_mlp(seed=3).save_states(good)
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    for k, at in enumerate(sorted(rng.choice(len(data), 40, replace=False))):
        bad = bytearray(data)
        bad[at] ^= 1 << int(rng.integers(8))
        path = tmp_path / f"flip{k}.zip"
        path.write_bytes(bytes(bad))
        try:
            m.load_states(path)
        except (ValueError, KeyError, TypeError) as exc:
            # the zip's own bytes: a ValueError naming the file; a flip inside a state
            # name or a JSON field can also make a well-formed file of the wrong model
            assert path.name in str(exc), (at, exc)
        # (a flip in an unused byte, such as a timestamp, changes nothing: loading works)


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".ckpt.zip.{dead.pid}.x1y2z3.tmp"
    stale.write_bytes(b"\0" * 1000)                       # what a killed save leaves
    running = tmp_path / f".ckpt.zip.{os.getpid()}.abc.tmp"   # a save still in progress
    running.write_bytes(b"")
    other = tmp_path / f".other.zip.{dead.pid}.q.tmp"     # another checkpoint's: not ours
    other.write_bytes(b"")
    compiled_mlp().save_states(tmp_path / "ckpt.zip")
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.zip", running.name, other.name])


def test_deeply_nested_or_encrypted_members_are_value_errors(tmp_path):
    m = compiled_mlp()
    arrays, attrs = checkpoint_contents(m)
    deep = tmp_path / "deep.zip"
    write_checkpoint(deep, arrays, attrs)
    with zipfile.ZipFile(deep, "w", zipfile.ZIP_DEFLATED) as zf:    # JSON 100,000 deep
        zf.writestr(model.TENSOR_DICT_FILENAME, b"")
        zf.writestr(model.STATES_ATTR_FILENAME, "[" * 100_000 + "]" * 100_000)
    _refused_within(m, deep, "not valid JSON")
    locked = tmp_path / "locked.zip"
    compiled_mlp(seed=2).save_states(locked)
    data = bytearray(locked.read_bytes())
    at = data.index(b"PK\x01\x02")            # the central directory's first record:
    data[at + 8] |= 1                         # set its "encrypted" flag bit
    locked.write_bytes(bytes(data))
    _refused_within(m, locked, "corrupt")
