"""Dataset tests: the shipped MNIST subset, the hand-written IDX reader, and every bad input.

The IDX tests write tiny synthetic MNIST folders into tmp_path (plain and gzip) with
``write_idx`` below, an independent few-line writer of the format, so they run in
milliseconds and need no download.
"""
import gzip
import hashlib
import struct

import numpy as np
import pytest

from minisinga.datasets import describe_source, load_mnist, read_idx_images, read_idx_labels
from minisinga.datasets import mnist as mnist_mod

N_TRAIN, N_TEST = 8000, 2000
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture(autouse=True)
def no_env_dir(monkeypatch):
    """Every test starts from the shipped subset, whatever the developer's shell sets."""
    monkeypatch.delenv(mnist_mod.ENV_VAR, raising=False)


# ----------------------------------------------------------------------------- shipped subset

@pytest.fixture(scope="module")
def subset():
    return load_mnist()


def test_subset_shapes_dtypes_ranges(subset):
    x_train, y_train, x_test, y_test = subset
    assert x_train.shape == (N_TRAIN, 1, 28, 28) and x_test.shape == (N_TEST, 1, 28, 28)
    assert y_train.shape == (N_TRAIN,) and y_test.shape == (N_TEST,)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int32
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        assert x.flags.c_contiguous
        # real digits: mostly background, on average about 19% of pixels lit
        assert 0.10 < (x > 0).mean() < 0.30


def test_subset_normalize_false_gives_bytes_and_true_divides_by_255(subset):
    raw = load_mnist(normalize=False)
    for r, x in zip(raw[::2], subset[::2], strict=True):
        assert r.dtype == np.float32 and r.max() == 255.0
        np.testing.assert_array_equal(r, np.rint(r))          # whole numbers 0..255
        np.testing.assert_array_equal(x, r / np.float32(255))  # exactly the division
    np.testing.assert_array_equal(raw[1], subset[1])
    np.testing.assert_array_equal(raw[3], subset[3])


def test_subset_labels_every_class_test_set_balanced(subset):
    _, y_train, _, y_test = subset
    train_counts = np.bincount(y_train, minlength=10)
    assert len(train_counts) == 10 and train_counts.min() >= 600
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), np.full(10, 200))
    # stored shuffled, not sorted by class: neighbours share a label about 1 time in 10
    for y in (y_train, y_test):
        assert (np.diff(y) == 0).mean() < 0.15


def test_subset_has_no_identical_images_within_or_across_splits():
    x_train, _, x_test, _ = load_mnist(normalize=False)
    train = {img.tobytes() for img in x_train.astype(np.uint8)}
    test = {img.tobytes() for img in x_test.astype(np.uint8)}
    assert len(train) == N_TRAIN and len(test) == N_TEST
    assert not train & test


def test_subset_is_deterministic_and_pinned(subset):
    again = load_mnist()
    for a, b in zip(subset, again, strict=True):
        np.testing.assert_array_equal(a, b)
    # the same digest tools/make_mnist_subset.py prints and datasets/README.md records
    digest = hashlib.sha256()
    with np.load(mnist_mod.SUBSET_FILE) as npz:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            digest.update(npz[name].tobytes())
    assert digest.hexdigest() == "c0b17873a16c760b7d389b259eb503cc0e238c115c60188aa8589eed9e5c9b3d"


def test_describe_source_names_the_subset():
    text = describe_source()
    assert "shipped MNIST subset" in text and "8,000 train / 2,000 test" in text


# ----------------------------------------------------------------------------- IDX files

def write_idx(path, magic, dims, payload: bytes, gz=False):
    """Write an IDX file: big-endian uint32 magic and dims, then the payload bytes."""
    blob = struct.pack(f">{1 + len(dims)}I", magic, *dims) + payload
    if gz:
        blob = gzip.compress(blob)
        path = path.with_name(path.name + ".gz")
    path.write_bytes(blob)
    return path


def make_mnist_dir(folder, n_train=7, n_test=3, gz=False, seed=0):
    """A tiny MNIST folder of random digits; returns the uint8 arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", 2051, (n, 28, 28), x.tobytes(), gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", 2049, (n,), y.tobytes(), gz)
        arrays[prefix] = (x, y)
    return arrays


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_folder_round_trips_exactly(tmp_path, gz):
    written = make_mnist_dir(tmp_path, gz=gz)
    x_train, y_train, x_test, y_test = load_mnist(tmp_path, normalize=False)
    for (x, y), (x_ref, y_ref) in zip([(x_train, y_train), (x_test, y_test)],
                                      [written["train"], written["t10k"]], strict=True):
        assert x.shape == (len(x_ref), 1, 28, 28) and x.dtype == np.float32
        assert y.dtype == np.int32
        np.testing.assert_array_equal(x[:, 0], x_ref)
        np.testing.assert_array_equal(y, y_ref)
    x_norm = load_mnist(str(tmp_path))[0]   # a str works as well as a Path
    np.testing.assert_array_equal(x_norm, x_train / np.float32(255))


def test_idx_readers_on_non_square_images_and_mixed_compression(tmp_path):
    x = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    p = write_idx(tmp_path / "imgs", 2051, (2, 3, 5), x.tobytes(), gz=True)
    got = read_idx_images(p)
    np.testing.assert_array_equal(got, x)
    assert got.dtype == np.uint8 and got.flags.writeable
    q = write_idx(tmp_path / "labs", 2049, (4,), bytes([0, 9, 3, 0]))
    np.testing.assert_array_equal(read_idx_labels(q), [0, 9, 3, 0])
    # a folder may mix plain and .gz files
    make_mnist_dir(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    y = np.array([1, 2, 3], dtype=np.uint8)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, (3,), y.tobytes())
    np.testing.assert_array_equal(load_mnist(tmp_path)[3], y)


def test_describe_source_names_folder_and_origin(tmp_path, monkeypatch):
    assert describe_source(tmp_path) == f"full MNIST IDX files in {tmp_path} (given as data_dir)"
    monkeypatch.setenv("MINISINGA_MNIST_DIR", str(tmp_path))
    assert describe_source() == f"full MNIST IDX files in {tmp_path} (set by MINISINGA_MNIST_DIR)"


# ----------------------------------------------------------------------------- environment variable

def test_env_var_selects_folder_and_argument_wins(tmp_path, monkeypatch):
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    env_dir.mkdir()
    arg_dir.mkdir()
    from_env = make_mnist_dir(env_dir, n_train=5, seed=1)
    from_arg = make_mnist_dir(arg_dir, n_train=4, seed=2)
    monkeypatch.setenv("MINISINGA_MNIST_DIR", str(env_dir))
    np.testing.assert_array_equal(load_mnist()[1], from_env["train"][1])
    np.testing.assert_array_equal(load_mnist(arg_dir)[1], from_arg["train"][1])


def test_empty_env_var_means_shipped_subset(monkeypatch):
    monkeypatch.setenv("MINISINGA_MNIST_DIR", "")
    assert load_mnist()[0].shape == (N_TRAIN, 1, 28, 28)
    assert describe_source().startswith("shipped MNIST subset")


def test_env_var_to_missing_folder_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("MINISINGA_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"nowhere does not exist.*train-images-idx3-ubyte"):
        load_mnist()


# ----------------------------------------------------------------------------- bad input

def test_missing_folder_lists_the_files_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path / "no-such-dir")
    msg = str(e.value)
    assert "no-such-dir does not exist" in msg
    for name in FILES:
        assert name in msg
    assert ".gz" in msg


def test_folder_that_is_a_file(tmp_path):
    f = tmp_path / "a-file"
    f.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="a-file is not a folder"):
        load_mnist(f)


def test_missing_files_are_named(tmp_path):
    make_mnist_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-labels-idx1-ubyte \(each looked for plain"):
        load_mnist(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(empty)
    assert all(name in str(e.value).split("expected")[0] for name in FILES)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_wrong_magic_numbers(tmp_path, gz):
    make_mnist_dir(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    # a labels file where the training images should be
    write_idx(tmp_path / "train-images-idx3-ubyte", 2049, (7,), bytes(7), gz)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte" + suffix + r": wrong magic number "
                       r"for an IDX images file: expected 2051 \(0x00000803\), found 2049 "
                       r"\(0x00000801\) \(that is the magic of an IDX labels file"):
        load_mnist(tmp_path)
    make_mnist_dir(tmp_path, gz=gz)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", 1234, (3,), bytes(3), gz)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*expected 2049.*found 1234"):
        load_mnist(tmp_path)


def test_gzip_content_without_gz_suffix_gets_a_hint(tmp_path):
    make_mnist_dir(tmp_path)
    p = tmp_path / "train-labels-idx1-ubyte"
    p.write_bytes(gzip.compress(p.read_bytes()))
    with pytest.raises(ValueError, match="wrong magic.*gzip-compressed: give it a .gz suffix"):
        load_mnist(tmp_path)


def test_corrupt_gzip(tmp_path):
    make_mnist_dir(tmp_path, gz=True)
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:40])  # cut the compressed stream short
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: not a valid gzip file"):
        load_mnist(tmp_path)
    p.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("name, keep, pattern", [
    ("train-images-idx3-ubyte", 10, r"truncated IDX images file: the header needs 16 bytes, the file has 10"),
    ("train-images-idx3-ubyte", 2, r"truncated IDX images file: the header needs 16 bytes, the file has 2"),
    ("train-labels-idx1-ubyte", 3, r"truncated IDX labels file: the header needs 8 bytes, the file has 3"),
    ("train-images-idx3-ubyte", 16 + 784 * 7 - 1,
     r"truncated: the header announces 7 images of 28x28 pixels = 5488 bytes, but only 5487 follow"),
    ("t10k-labels-idx1-ubyte", 8 + 2,
     r"truncated: the header announces 3 labels = 3 bytes, but only 2 follow"),
])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_truncated_files(tmp_path, name, keep, pattern, gz):
    make_mnist_dir(tmp_path)
    p = tmp_path / name
    blob = p.read_bytes()[:keep]
    if gz:
        p.unlink()
        p = p.with_name(name + ".gz")
        blob = gzip.compress(blob)
    p.write_bytes(blob)
    with pytest.raises(ValueError, match=name + r"(\.gz)?: " + pattern):
        load_mnist(tmp_path)


def test_trailing_bytes(tmp_path):
    make_mnist_dir(tmp_path)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes() + b"\0\0")
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: 2 unexpected bytes after the "
                       r"3 images of 28x28 pixels \(2352 bytes\)"):
        load_mnist(tmp_path)


def test_image_and_label_counts_disagree(tmp_path):
    make_mnist_dir(tmp_path, n_train=7)
    write_idx(tmp_path / "train-labels-idx1-ubyte", 2049, (6,), bytes(6))
    with pytest.raises(ValueError, match=r"train split disagrees: .*train-images-idx3-ubyte holds 7 "
                       r"images but .*train-labels-idx1-ubyte holds 6 labels"):
        load_mnist(tmp_path)


def test_labels_outside_0_to_9(tmp_path):
    make_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, (3,), bytes([4, 10, 255]))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: labels must be digits 0..9, but "
                       r"label #1 is 10 \(2 labels out of range\)"):
        load_mnist(tmp_path)


def test_images_not_28x28(tmp_path):
    make_mnist_dir(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, (7, 32, 32), bytes(7 * 32 * 32))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: expected 28x28 images, found 32x32"):
        load_mnist(tmp_path)


def test_missing_shipped_subset_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist_mod, "SUBSET_FILE", tmp_path / "mnist_subset.npz")
    with pytest.raises(FileNotFoundError, match=r"mnist_subset.npz is missing.*MINISINGA_MNIST_DIR"):
        load_mnist()
