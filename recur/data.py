"""Image datasets (SPEC 4): CIFAR-10, SVHN, EMNIST-balanced, ImageNet and the embedded
``digits``, with the authors' transforms and a device-resident batch pipeline.

Files are read in the layouts torchvision downloads them to, under ``root`` (default
``$RECUR_DATA``, else ``~/.cache/recur/data``):

    cifar10   cifar-10-batches-py/{data_batch_1..5, test_batch}     (python pickles)
    svhn      {train,test}_32x32.mat                                  (MATLAB)
    emnist    EMNIST/raw/emnist-balanced-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]
    imagenet  {train,val}/<class>/<image>                              (ImageFolder)

Nothing is downloaded unless ``download=True``; without the files, a ``FileNotFoundError``
says how to get them, before any other work.  ``digits`` (scikit-learn's 1,797 8×8
handwritten digits, shipped inside scikit-learn) needs no download and carries every
classification notebook offline.
"""
from __future__ import annotations

import copy
import dataclasses
import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


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
    "cifar10": DatasetInfo(3, 10, 32, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010), 4, True),
    "svhn": DatasetInfo(3, 10, 32, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), 4, True),
    "emnist": DatasetInfo(1, 47, 28, (0.1307,), (0.3081,), 4, True),
    "imagenet": DatasetInfo(3, 1000, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 0, True),
    "digits": DatasetInfo(1, 10, 32, (0.3054,), (0.3760,), 2, False),
    "mazes": DatasetInfo(3, 2, 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 0, False),
}
IMAGE_DATASETS = ("digits", "cifar10", "svhn", "emnist")
SPLITS = ("train", "test")

_HOW_TO_GET = {
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


def _files(dataset: str, split: str, root: Path) -> list[Path]:
    if dataset == "cifar10":
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        return [root / "cifar-10-batches-py" / n for n in names]
    if dataset == "svhn":
        return [root / f"{split}_32x32.mat"]
    if dataset == "emnist":
        raw = root / "EMNIST" / "raw"
        return [raw / f"emnist-balanced-{split}-{kind}-ubyte" for kind in ("images-idx3", "labels-idx1")]
    if dataset == "imagenet":
        return [root / ("train" if split == "train" else "val")]
    return []


def _exists(path: Path) -> bool:
    return path.exists() or path.with_name(path.name + ".gz").exists()


def check_available(dataset: str, split: str = "train", root=None, download: bool = False) -> Path:
    """Validate the names and make sure the files are there (downloading them only when
    ``download``); returns the data folder.  Cheap: call it before any heavy work."""
    if dataset not in INFO or dataset == "mazes":
        raise ValueError(f"unknown image dataset {dataset!r}; choose from "
                         f"{', '.join(IMAGE_DATASETS)} or imagenet (mazes live in recur.mazes)")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    root = Path(root) if root is not None else default_data_dir()
    missing = [f for f in _files(dataset, split, root) if not _exists(f)]
    if missing and download and dataset != "imagenet":
        _download(dataset, root)
        missing = [f for f in _files(dataset, split, root) if not _exists(f)]
    if missing:
        raise FileNotFoundError(f"{dataset} {split} data not found at {missing[0]}. To get "
                                + _HOW_TO_GET[dataset].format(root=root) + ".")
    return root


def _download(dataset: str, root: Path) -> None:
    import torchvision

    root.mkdir(parents=True, exist_ok=True)
    if dataset == "cifar10":
        torchvision.datasets.CIFAR10(root, train=True, download=True)
    elif dataset == "svhn":
        for split in SPLITS:
            torchvision.datasets.SVHN(root, split=split, download=True)
    elif dataset == "emnist":
        torchvision.datasets.EMNIST(root, split="balanced", download=True)


# --------------------------------------------------------------------------- readers
class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a CIFAR batch needs nothing else,
    and a crafted file cannot run code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

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


def load_digits(split: str):
    """scikit-learn's digits, 8×8 in 0..16, upscaled ×4 (nearest) to 32×32 uint8; a fixed
    stratified split of 1,437 training and 360 test images (random_state 0)."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    digits = sk_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    images = images.repeat(4, axis=1).repeat(4, axis=2)[:, None]  # (1797, 1, 32, 32)
    train, test = train_test_split(np.arange(len(images)), test_size=360, random_state=0,
                                   stratify=digits.target)
    idx = train if split == "train" else test
    return images[idx], digits.target[idx].astype(np.int64)


def load(dataset: str, split: str = "train", root=None, download: bool = False):
    """``(images, labels)``: uint8 tensor (N, C, H, W) and int64 tensor (N,)."""
    if dataset == "digits":
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        x, y = load_digits(split)
    else:
        if dataset == "imagenet":
            raise ValueError("ImageNet does not fit in memory: use imagenet_loader(root, split)")
        root = check_available(dataset, split, root, download)
        files = _files(dataset, split, root)
        if dataset == "cifar10":
            parts = [_read_cifar_batch(f) for f in files]
            x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        elif dataset == "svhn":
            x, y = _read_svhn(files[0])
        else:  # emnist
            x, y = _read_idx(files[0])[:, None], _read_idx(files[1]).astype(np.int64)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


# --------------------------------------------------------------------------- batches
def random_crop(x: torch.Tensor, size: int, padding: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's ``RandomCrop(size, padding)`` on a whole batch (B, C, H, W): zero-pad
    every side by ``padding``, then cut a size×size window at an independent, uniformly
    random offset per sample.  With size > H this places each image at a random offset
    inside a larger black canvas (the maze loader's pad-and-crop)."""
    b, c, h, w = x.shape
    room_h, room_w = h + 2 * padding - size + 1, w + 2 * padding - size + 1
    if room_h < 1 or room_w < 1:
        raise ValueError(f"cannot crop {size}x{size} from {h}x{w} padded by {padding}")
    padded = F.pad(x, (padding,) * 4)
    dev = generator.device if generator is not None else x.device
    top = torch.randint(room_h, (b,), generator=generator, device=dev).to(x.device)
    left = torch.randint(room_w, (b,), generator=generator, device=dev).to(x.device)
    ar = torch.arange(size, device=x.device)
    rows = (top[:, None] + ar)[:, None, :, None]  # (B, 1, size, 1)
    cols = (left[:, None] + ar)[:, None, None, :]  # (B, 1, 1, size)
    return padded[torch.arange(b, device=x.device)[:, None, None, None],
                  torch.arange(c, device=x.device)[None, :, None, None], rows, cols]


class TensorLoader:
    """Batches from a uint8 tensor kept on the device (datasets that fit in memory).

    Training batches get the torchvision augmentation ``RandomCrop(size, padding=p)``
    (zero padding) and ``RandomHorizontalFlip()``, per sample and without a Python loop
    over samples; every batch is then scaled to [0, 1] and normalised per channel.
    Iterating once is one epoch (a fresh permutation when ``shuffle``).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                 mean, std, train: bool, crop_padding: int = 0, flip: bool = False,
                 shuffle: bool | None = None, drop_last: bool = False, device=None,
                 generator: torch.Generator | None = None):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be a uint8 tensor (N, C, H, W)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        device = torch.device(device or images.device)
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch_size, self.train, self.drop_last = batch_size, train, drop_last
        self.shuffle = train if shuffle is None else shuffle
        self.padding = crop_padding if train else 0
        self.flip = flip and train
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.generator = generator
        self.device = device

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def with_batches(self, batch_size: int, generator: torch.Generator | None = None):
        """The same data (shared, not copied) in batches of ``batch_size`` drawn with
        ``generator``; this loader is left as it is."""
        view = copy.copy(self)
        view.batch_size, view.generator = batch_size, generator
        return view

    def plain(self) -> "TensorLoader":
        """The same data in order and without augmentation (for scoring a training set)."""
        view = copy.copy(self)
        view.train = view.shuffle = view.flip = view.drop_last = False
        view.padding = 0
        return view

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """Random crop with zero padding, then random horizontal flip; uint8 in, uint8 out."""
        if self.padding:
            x = random_crop(x, x.shape[-1], self.padding, self.generator)
        if self.flip:
            g = self.generator
            mirror = torch.rand(len(x), generator=g, device=g.device if g else x.device)
            x = torch.where((mirror < 0.5).to(x.device)[:, None, None, None], x.flip(-1), x)
        return x

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255 - self.mean) / self.std

    def __iter__(self):
        n = len(self.images)
        if self.shuffle:
            g = self.generator
            order = torch.randperm(n, generator=g, device=g.device if g else self.device).to(self.device)
        else:
            order = torch.arange(n, device=self.device)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                break
            x = self.images[idx]
            if self.padding or self.flip:
                x = self.augment(x)
            yield self.normalise(x), self.labels[idx]


def loader(dataset: str, split: str, batch_size: int, *, root=None, download: bool = False,
           device=None, generator: torch.Generator | None = None, drop_last: bool = False,
           augment: bool | None = None):
    """A :class:`TensorLoader` over ``dataset``'s ``split`` with the authors' transforms.

    ``augment`` (default: for ``train`` only) turns on the random crops, flips and
    shuffling of training; ``augment=False`` serves a split as it is, in order."""
    info = INFO.get(dataset)
    images, labels = load(dataset, split, root, download)
    augment = split == "train" if augment is None else augment
    return TensorLoader(images, labels, batch_size, mean=info.mean, std=info.std,
                        train=augment, crop_padding=info.crop_padding, flip=info.flip,
                        drop_last=drop_last and augment, device=device, generator=generator)


def tensors(dataset: str, split: str, n: int | None = None, *, root=None,
            download: bool = False, device=None):
    """The first ``n`` images of a split (all by default), normalised and never augmented,
    with their labels: ``(x, y)``, x float32 (n, C, H, W).  What analyses such as linear
    probes must see (a probe fitted on randomly cropped images measures something else)."""
    plain = loader(dataset, split, 1, root=root, download=download, device=device,
                   augment=False)
    keep = slice(None) if n is None else slice(0, n)
    return plain.normalise(plain.images[keep]), plain.labels[keep]


def imagenet_folder(root, split: str):
    """torchvision's ImageFolder for ImageNet with the usual transforms: RandomResizedCrop(224)
    + flip for training, Resize(256) + CenterCrop(224) for validation, then normalisation."""
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder

    split = {"val": "test"}.get(split, split)  # ImageNet calls its test split "val"
    root = check_available("imagenet", split, root)
    info = INFO["imagenet"]
    if split == "train":
        tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                        T.Normalize(info.mean, info.std)])
    else:
        tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                        T.Normalize(info.mean, info.std)])
    return ImageFolder(_files("imagenet", split, root)[0], transform=tf)


def imagenet_loader(root, split: str, batch_size: int, *, workers: int = 8, shuffle=None,
                    sampler=None, generator: torch.Generator | None = None, folder=None):
    """A DataLoader over :func:`imagenet_folder` (or the ``folder`` given, built once)."""
    split = {"val": "test"}.get(split, split)
    folder = imagenet_folder(root, split) if folder is None else folder
    if shuffle is None:
        shuffle = split == "train" and sampler is None  # a sampler does its own shuffling
    return torch.utils.data.DataLoader(
        folder, batch_size=batch_size, shuffle=shuffle, sampler=sampler, num_workers=workers,
        pin_memory=torch.cuda.is_available(), drop_last=split == "train",
        persistent_workers=workers > 0, generator=generator)


# --------------------------------------------------------------------------- batch sources
# What the trainer reads: ``len(source)`` samples; ``source.batches(batch_size, generator)``
# yields (x, y) on the device for one epoch; ``source.eval_view()`` is the same split in
# order without augmentation (None where that is unaffordable: ImageNet).
class ImageBatches:
    """An in-memory image split (a :class:`TensorLoader`)."""

    def __init__(self, loader: TensorLoader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader.images)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        return iter(self.loader.with_batches(batch_size, generator))

    def eval_view(self) -> "ImageBatches":
        return ImageBatches(self.loader.plain())


class FolderBatches:
    """ImageNet: torchvision's ImageFolder pipeline (the folder indexed once), batches
    moved to the device."""

    def __init__(self, root, split: str, device, workers: int | None = None):
        self.split, self.device = split, device
        self.workers = min(8, os.cpu_count() or 1) if workers is None else workers
        self.folder = imagenet_folder(root, split)

    def __len__(self) -> int:
        return len(self.folder)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        loader = imagenet_loader(None, self.split, batch_size, workers=self.workers,
                                 generator=generator, folder=self.folder)
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def eval_view(self) -> None:
        return None  # a second pass over ImageNet's training set: the trainer reports the
        #              last epoch's running accuracy instead


def _subset(loader: TensorLoader, n: int | None, seed: int) -> TensorLoader:
    """The first n of a seeded permutation (all when n is None)."""
    if n is not None:
        keep = torch.randperm(len(loader.images), generator=torch.Generator().manual_seed(seed))[:n]
        keep = keep.to(loader.images.device)
        loader.images, loader.labels = loader.images[keep], loader.labels[keep]
    return loader


def make_data(config, device, *, root=None, download: bool = False):
    """(train, test) batch sources for a :class:`recur.config.TrainConfig`; cheap checks
    (files present) first, then the loading."""
    if config.dataset == "imagenet":
        root = check_available("imagenet", "train", root)
        check_available("imagenet", "test", root)
        return FolderBatches(root, "train", device), FolderBatches(root, "test", device)
    if config.experiment == "mazes":
        return tuple(maze_batches(config, split, device) for split in SPLITS)
    if config.dataset != "digits":  # fail before any loading if the files are missing
        check_available(config.dataset, "train", root, download)
    return tuple(ImageBatches(_subset(
        loader(config.dataset, split, config.batch_size, root=root, download=download,
               device=device), config.n_train if split == "train" else config.n_test,
        config.seed)) for split in SPLITS)


def maze_batches(config, split: str, device, *, cells=None, n: int | None = None):
    """A config's maze split as batches; ``cells`` and ``n`` ask for other mazes (larger
    than trained: then rendered as they are, since the nets are fully convolutional)."""
    from recur import mazes

    n_train, n_test = config.n_train or 50_000, config.n_test or 10_000
    if cells is not None:
        n_train = n_test = n or 1_000
    dataset = mazes.MazeDataset(split, config.maze_size if cells is None else cells,
                                n_train=n_train, n_test=n_test, seed=config.seed,
                                scale=config.maze_scale,
                                crop=config.maze_crop if cells is None else None)
    return mazes.MazeBatches(dataset, device)
