"""MNIST handwritten digits for the example trainings, with no network needed.

``load_mnist()`` returns ``(x_train, y_train, x_test, y_test)`` from one of two sources,
chosen in this order:

1. the folder passed as ``data_dir``;
2. else the folder named by the environment variable ``MINISINGA_MNIST_DIR``;
3. else the subset shipped with minisinga (``mnist_subset.npz``: 8,000 training and
   2,000 test digits of MNIST; see ``README.md`` next to this file).

A folder must hold the full MNIST in its original IDX files, as published by Yann LeCun,
Corinna Cortes and Chris Burges, each optionally gzip-compressed::

    train-images-idx3-ubyte  train-labels-idx1-ubyte
    t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte

The IDX format is small enough to parse here by hand. Every number in it is a big-endian
unsigned 32-bit integer, and the pixels/labels that follow are unsigned bytes:

    images file: magic 2051 (0x00000803), count N, rows, cols, then N*rows*cols pixels
    labels file: magic 2049 (0x00000801), count N, then N labels

The magic's last two bytes say what follows: 0x08 = unsigned byte, then the number of
dimensions (3 for images, 1 for labels). Anything that does not match is refused with
an error naming the file, what was expected and what was found, because a training
that silently reads a wrong or half-downloaded file fails much later and much less clearly.

NumPy is used here: this module only moves data into the program; every computation on
it happens in minisinga's kernels.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

ENV_VAR = "MINISINGA_MNIST_DIR"
SUBSET_FILE = Path(__file__).resolve().with_name("mnist_subset.npz")

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
IMAGE_SIDE = 28

# (images file, labels file) of each split, without the optional ".gz"
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_mnist(data_dir: str | os.PathLike | None = None, normalize: bool = True) -> Arrays:
    """Load MNIST as ``(x_train, y_train, x_test, y_test)``, ready for a training loop.

    Images are float32 of shape (N, 1, 28, 28) (NCHW, one channel), labels int32 of
    shape (N,) with values 0..9. With ``normalize=True`` (the default) pixels are divided
    by 255, so they lie in [0, 1], as in SINGA's MNIST example; with ``normalize=False``
    they keep their byte values 0..255 (still float32). Standardising further, e.g.
    ``(x - 0.1307) / 0.3081`` with the full training set's mean and std, is left to the caller.

    ``data_dir`` (else the environment variable ``MINISINGA_MNIST_DIR``) names a folder
    holding the four original IDX files; without either, the shipped subset is loaded.
    ``describe_source(data_dir)`` says in words which one that is.

    Raises FileNotFoundError if the folder or one of its files is missing, and
    ValueError if a file is not what it should be (wrong magic number, truncated,
    image and label counts that disagree, labels outside 0..9, images not 28x28).
    """
    folder, _ = _resolve_folder(data_dir)
    if folder is None:
        x_train, y_train, x_test, y_test = _load_subset()
    else:
        x_train, y_train = _load_idx_split(folder, "train")
        x_test, y_test = _load_idx_split(folder, "test")
    return (_to_nchw_float32(x_train, normalize), y_train.astype(np.int32),
            _to_nchw_float32(x_test, normalize), y_test.astype(np.int32))


def describe_source(data_dir: str | os.PathLike | None = None) -> str:
    """Say in one line where ``load_mnist(data_dir)`` takes its digits from.

    Resolves the source exactly as ``load_mnist`` does (argument, then environment
    variable, then shipped subset) without reading any image or checking the folder, so
    an example can print it before loading: results on 10,000 digits and on 70,000 are
    not comparable.
    """
    folder, origin = _resolve_folder(data_dir)
    if folder is None:
        with np.load(SUBSET_FILE) as npz:  # only the small label arrays are read
            n_train, n_test = len(npz["y_train"]), len(npz["y_test"])
        return f"shipped MNIST subset {SUBSET_FILE} ({n_train:,} train / {n_test:,} test digits)"
    return f"full MNIST IDX files in {folder} ({origin})"


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX images file (plain or .gz) into a uint8 array of shape (N, rows, cols).

    The header is 4 big-endian uint32s: magic 2051, N, rows, cols; exactly N*rows*cols
    pixel bytes must follow.
    """
    path = Path(path)
    data = _read_bytes(path)
    _magic, n, rows, cols = _read_header(path, data, IMAGES_MAGIC, n_ints=4)
    _check_body_size(path, data, header_bytes=16, expected=n * rows * cols,
                     what=f"{n} images of {rows}x{cols} pixels")
    # NOTE: copy, because an array over a bytes object is read-only
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols).copy()


def read_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX labels file (plain or .gz) into a uint8 array of shape (N,), values 0..9.

    The header is 2 big-endian uint32s: magic 2049, N; exactly N label bytes must follow.
    """
    path = Path(path)
    data = _read_bytes(path)
    _magic, n = _read_header(path, data, LABELS_MAGIC, n_ints=2)
    _check_body_size(path, data, header_bytes=8, expected=n, what=f"{n} labels")
    labels = np.frombuffer(data, dtype=np.uint8, offset=8).copy()
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{path}: labels must be digits 0..9, but label #{i} is {labels[i]} "
                         f"({bad.size} labels out of range)")
    return labels


# ----------------------------------------------------------------------------- helpers

def _resolve_folder(data_dir: str | os.PathLike | None) -> tuple[Path | None, str]:
    """Return (folder or None for the shipped subset, why that folder: argument or env var)."""
    if data_dir is not None:
        return Path(data_dir), "given as data_dir"
    env = os.environ.get(ENV_VAR, "")
    if env:  # NOTE: an empty variable counts as unset, like most shells' tools do
        return Path(env), f"set by {ENV_VAR}"
    return None, "shipped subset"


def _load_subset() -> Arrays:
    """The shipped npz: uint8 images (N, 28, 28) and uint8 labels, split fixed at build time."""
    if not SUBSET_FILE.is_file():
        raise FileNotFoundError(
            f"the shipped MNIST subset {SUBSET_FILE} is missing; reinstall minisinga "
            f"(setup.py ships it as package data) or set {ENV_VAR} to a folder with the IDX files")
    with np.load(SUBSET_FILE) as npz:
        return npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"]


def _load_idx_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Find, read and cross-check the images and labels files of one split."""
    images_path = _find_idx_file(folder, IDX_FILES[split][0])
    labels_path = _find_idx_file(folder, IDX_FILES[split][1])
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"{images_path}: expected {IMAGE_SIDE}x{IMAGE_SIDE} images, "
                         f"found {images.shape[1]}x{images.shape[2]}")
    if len(images) != len(labels):
        raise ValueError(f"{split} split disagrees: {images_path} holds {len(images)} images "
                         f"but {labels_path} holds {len(labels)} labels")
    return images, labels


def _find_idx_file(folder: Path, name: str) -> Path:
    """``folder/name``, else ``folder/name.gz``; a clear FileNotFoundError if neither exists."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"MNIST folder {folder} {what}; expected a folder holding "
                                f"{_expected_files()}")
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    missing = [n for pair in IDX_FILES.values() for n in pair
               if not (folder / n).is_file() and not (folder / (n + ".gz")).is_file()]
    raise FileNotFoundError(f"MNIST folder {folder} lacks {', '.join(missing)} (each looked for "
                            f"plain and as .gz); expected {_expected_files()}")


def _expected_files() -> str:
    names = [n for pair in IDX_FILES.values() for n in pair]
    return "the four MNIST IDX files " + ", ".join(names) + " (each optionally .gz)"


def _read_bytes(path: Path) -> bytes:
    """Whole file, gunzipped if its name ends in .gz."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise ValueError(f"{path}: not a valid gzip file ({e})") from e


def _read_header(path: Path, data: bytes, magic_expected: int, n_ints: int) -> tuple[int, ...]:
    """The first ``n_ints`` big-endian uint32s; the first must be ``magic_expected``."""
    kind = "images" if magic_expected == IMAGES_MAGIC else "labels"
    truncated = ValueError(f"{path}: truncated IDX {kind} file: the header needs {4 * n_ints} bytes, "
                           f"the file has {len(data)}")
    if len(data) < 4:
        raise truncated
    # NOTE: the magic is checked before the rest of the header is required, so that a
    # (short) labels file given where an images file belongs is called by its name.
    magic = int(np.frombuffer(data, dtype=">u4", count=1)[0])
    if magic != magic_expected:
        hint = ""
        if data[:2] == b"\x1f\x8b":
            hint = " (the file is gzip-compressed: give it a .gz suffix)"
        elif magic in (IMAGES_MAGIC, LABELS_MAGIC):
            other = "images" if magic == IMAGES_MAGIC else "labels"
            hint = f" (that is the magic of an IDX {other} file: are the files swapped?)"
        raise ValueError(f"{path}: wrong magic number for an IDX {kind} file: expected "
                         f"{magic_expected} (0x{magic_expected:08x}), found {magic} "
                         f"(0x{magic:08x}){hint}")
    if len(data) < 4 * n_ints:
        raise truncated
    return tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=n_ints))


def _check_body_size(path: Path, data: bytes, header_bytes: int, expected: int, what: str) -> None:
    """The bytes after the header must be exactly what the header announced."""
    found = len(data) - header_bytes
    if found < expected:
        raise ValueError(f"{path}: truncated: the header announces {what} = {expected} bytes, "
                         f"but only {found} follow")
    if found > expected:
        raise ValueError(f"{path}: {found - expected} unexpected bytes after the {what} "
                         f"({expected} bytes) that the header announces")


def _to_nchw_float32(images: np.ndarray, normalize: bool) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), divided by 255 if ``normalize``."""
    x = images.astype(np.float32).reshape(len(images), 1, IMAGE_SIDE, IMAGE_SIDE)
    if normalize:
        x /= np.float32(255.0)
    return x
