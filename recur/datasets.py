"""The datasets as facts (SPEC 4): shapes, normalisation and augmentation per dataset, where
their files live and how those files are read, in numpy.  Nothing here imports torch, so
configs and the model factory can look a dataset up cheaply; :mod:`recur.data` turns the
arrays into device-resident batches.

Files are read in the layouts torchvision downloads them to, under ``root`` (default
``$RECUR_DATA``, else ``~/.cache/recur/data``):

    cifar10   cifar-10-batches-py/{data_batch_1..5, test_batch}     (python pickles)
    svhn      {train,test}_32x32.mat                                  (MATLAB)
    emnist    EMNIST/raw/emnist-balanced-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]
    imagenet  {train,val}/<class>/<image>                              (ImageFolder)

``digits`` (scikit-learn's 1,797 8×8 handwritten digits, shipped inside scikit-learn) needs
no download and carries every classification notebook offline.
"""
from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
from pathlib import Path

from typing import NamedTuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    channels: int
    classes: int
    size: int  # image side as the models see it
    mean: tuple  # per-channel normalisation, on pixel values scaled to [0, 1]
    std: tuple
    crop_padding: int  # training augmentation: random crop with zero padding …
    flip: bool  # … and random horizontal flips


#: Shapes, normalisation and augmentation per dataset (SPEC 4: the authors' values).
#: ``digits`` is ours: statistics of its training split (a test recomputes them); crops
#: but no flips, since a mirrored digit is another symbol.
INFO = {
    "cifar10": DatasetInfo(3, 10, 32, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010), 4,
                           True),
    "svhn": DatasetInfo(3, 10, 32, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), 4, True),
    "emnist": DatasetInfo(1, 47, 28, (0.1307,), (0.3081,), 4, True),
    "imagenet": DatasetInfo(3, 1000, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 0,
                            True),
    "digits": DatasetInfo(1, 10, 32, (0.3054,), (0.3760,), 2, False),
    "mazes": DatasetInfo(3, 2, 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 0, False),
    # p-hop induction (recur.phop; beyond the paper): tokens, not images.  The Shape reads
    # channels = vocabulary size (the embedding's input), classes = vocabulary size (the
    # answer is a token), size = sequence length; no normalisation, no augmentation.
    "phop": DatasetInfo(4, 4, 32, (), (), 0, False),
}


class Shape(NamedTuple):
    """What a model needs to know of its data: input channels, classes, image side (for
    token sequences: vocabulary size, classes, sequence length)."""

    channels: int
    classes: int
    size: int


def shape_of(dataset: str) -> Shape:
    """The :class:`Shape` of ``dataset``'s inputs and labels (``ValueError`` if unknown)."""
    if dataset not in INFO:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(INFO)}")
    info = INFO[dataset]
    return Shape(info.channels, info.classes, info.size)


#: Maze sizes by name: cells per side (paper 4.1: small, medium and large mazes).
MAZE_SIZES = {"small": 5, "medium": 6, "large": 7}
IMAGE_DATASETS = ("digits", "cifar10", "svhn", "emnist")
SPLITS = ("train", "test")

HOW_TO_GET = {
    "cifar10": "CIFAR-10 (about 170 MB): pass download=True (notebooks: -p download True), "
               "or unpack cifar-10-python.tar.gz from the CIFAR-10 site into {root}",
    "svhn": "SVHN (about 600 MB): pass download=True (notebooks: -p download True), or put "
            "train_32x32.mat and test_32x32.mat from the SVHN site into {root}",
    "emnist": "EMNIST (about 560 MB): pass download=True (notebooks: -p download True), or "
              "unzip the EMNIST gzip.zip from NIST and put its emnist-balanced-* files in "
              "{root}/EMNIST/raw",
    "imagenet": "ImageNet cannot be downloaded automatically: get ILSVRC-2012 from "
                "image-net.org and arrange it as {root}/train/<class>/*.JPEG and "
                "{root}/val/<class>/*.JPEG",
}


def default_data_dir() -> Path:
    """``$RECUR_DATA`` if set, else ``~/.cache/recur/data``."""
    return Path(os.environ.get("RECUR_DATA") or Path.home() / ".cache" / "recur" / "data")


def files(dataset: str, split: str, root: Path) -> list[Path]:
    """The files (ImageNet: the folder) that hold ``dataset``'s ``split`` under ``root``."""
    if dataset == "cifar10":
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        return [root / "cifar-10-batches-py" / n for n in names]
    if dataset == "svhn":
        return [root / f"{split}_32x32.mat"]
    if dataset == "emnist":
        raw = root / "EMNIST" / "raw"
        return [raw / f"emnist-balanced-{split}-{kind}-ubyte"
                for kind in ("images-idx3", "labels-idx1")]
    if dataset == "imagenet":
        return [root / ("train" if split == "train" else "val")]
    return []


def missing(dataset: str, split: str, root: Path) -> list[Path]:
    """The files of :func:`files` that are absent (a gzipped copy counts as present)."""
    return [f for f in files(dataset, split, root)
            if not (f.exists() or f.with_name(f.name + ".gz").exists())]


# --------------------------------------------------------------------------- readers
class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a CIFAR batch needs nothing else,
    and a crafted file cannot run code."""

    _ALLOWED = frozenset({("numpy.core.multiarray", "_reconstruct"),
                          ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
                          ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                          ("numpy._core.multiarray", "scalar")})

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _read_cifar_batch(path: Path):
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data, np.asarray(batch[b"labels"], dtype=np.int64)


def _read_svhn(path: Path):
    from scipy.io import loadmat

    mat = loadmat(path)
    x = np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1))  # (32, 32, 3, N) → (N, 3, 32, 32)
    return x.astype(np.uint8), (mat["y"].ravel().astype(np.int64) % 10)  # label 10 means 0


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (plain or .gz): magic 0x00 0x00 0x08 <ndim>, big-endian sizes, bytes."""
    raw = path.read_bytes() if path.exists() else gzip.decompress(
        path.with_name(path.name + ".gz").read_bytes())
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {data.size} bytes for shape {shape}")
    return data.reshape(shape).copy()


def load_digits(split: str, split_seed: int | None = None):
    """scikit-learn's digits, 8×8 in 0..16, upscaled ×4 (nearest) to 32×32 uint8; a
    stratified split of 1,437 training and 360 test images, drawn with ``split_seed``
    (None: the fixed split, random_state 0, which seed 0 draws too)."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    digits = sk_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    images = images.repeat(4, axis=1).repeat(4, axis=2)[:, None]  # (1797, 1, 32, 32)
    train, test = train_test_split(np.arange(len(images)), test_size=360,
                                   random_state=0 if split_seed is None else split_seed,
                                   stratify=digits.target)
    idx = train if split == "train" else test
    return images[idx], digits.target[idx].astype(np.int64)


def read(dataset: str, split: str, root: Path):
    """``(images, labels)`` of a split from its files under ``root`` (checked present):
    uint8 (N, C, H, W) and int64 (N,) numpy arrays."""
    paths = files(dataset, split, root)
    if dataset == "cifar10":
        parts = [_read_cifar_batch(f) for f in paths]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if dataset == "svhn":
        return _read_svhn(paths[0])
    if dataset == "emnist":
        return _read_idx(paths[0])[:, None], _read_idx(paths[1]).astype(np.int64)
    raise ValueError(f"no reader for {dataset!r}: the readers take "
                     + ", ".join(d for d in IMAGE_DATASETS if d != "digits"))


def info_table(datasets=IMAGE_DATASETS):
    """The image datasets' facts (:data:`INFO`) as a pandas DataFrame, one row each."""
    import pandas as pd  # pandas only where a table is asked for: this module stays light

    return pd.DataFrame([{"dataset": name, "channels": i.channels, "classes": i.classes,
                          "image px": i.size, "crop padding": i.crop_padding, "flip": i.flip,
                          "mean": ", ".join(map(str, i.mean)), "std": ", ".join(map(str, i.std))}
                         for name, i in INFO.items() if name in datasets]).set_index("dataset")
