"""The image datasets with the authors' transforms, the maze splits, and the batch sources a
run reads (:func:`make_data`, SPEC 3, 4).

What each dataset is, where its files live and how they are read (numpy) is
:mod:`recur.datasets`; the mazes themselves (numpy) are :mod:`recur.mazes`; the
device-resident batch pipelines are :mod:`recur.batches`.  Nothing is downloaded unless
``download=True``; without the files, a ``FileNotFoundError`` says how to get them, before
any other work.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from recur import checks, datasets
from recur.batches import (BatchSource, ImageBatches, MazeBatches, MazeDataset, TensorLoader,
                           TokenBatches)
from recur.datasets import IMAGE_DATASETS, INFO, SPLITS, default_data_dir, load_digits

__all__ = ["FolderBatches", "check_available", "imagenet_folder", "imagenet_loader", "load",
           "loader", "make_data", "maze_batches", "tensors"]


def check_available(dataset: str, split: str = "train", root=None, download: bool = False):
    """Validate the names and make sure the files are there (downloading them only when
    ``download``); returns the data folder.  Cheap: call it before any heavy work."""
    if dataset not in INFO or dataset == "mazes":
        raise ValueError(f"unknown image dataset {dataset!r}; choose from "
                         f"{', '.join(IMAGE_DATASETS)} or imagenet (mazes live in recur.mazes)")
    checks.one_of("split", split, SPLITS)
    root = Path(root) if root is not None else default_data_dir()
    missing = datasets.missing(dataset, split, root)
    if missing and download and dataset != "imagenet":
        _download(dataset, root)
        missing = datasets.missing(dataset, split, root)
    if missing:
        raise FileNotFoundError(f"{dataset} {split} data not found at {missing[0]}. To get "
                                + datasets.HOW_TO_GET[dataset].format(root=root) + ".")
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


def load(dataset: str, split: str = "train", root=None, download: bool = False,
         split_seed: int | None = None):
    """``(images, labels)``: uint8 tensor (N, C, H, W) and int64 tensor (N,).  ``split_seed``
    (digits only, which has no official split): draw the train/test split with it."""
    if split_seed is not None and dataset != "digits":
        raise checks.bad("split_seed", split_seed, f"None for {dataset}: its split is official")
    if dataset == "digits":
        checks.one_of("split", split, SPLITS)
        x, y = load_digits(split, split_seed)
    elif dataset == "imagenet":
        raise ValueError("ImageNet does not fit in memory: use imagenet_loader(root, split)")
    else:
        x, y = datasets.read(dataset, split, check_available(dataset, split, root, download))
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def loader(dataset: str, split: str, batch_size: int, *, root=None, download: bool = False,
           device=None, generator: torch.Generator | None = None, drop_last: bool = False,
           augment: bool | None = None, split_seed: int | None = None):
    """A :class:`TensorLoader` over ``dataset``'s ``split`` with the authors' transforms.

    ``augment`` (default: for ``train`` only) turns on the random crops, flips and
    shuffling of training; ``augment=False`` serves a split as it is, in order.
    ``split_seed``: as for :func:`load`."""
    info = INFO.get(dataset)
    images, labels = load(dataset, split, root, download, split_seed)
    augment = split == "train" if augment is None else augment
    return TensorLoader(images, labels, batch_size, mean=info.mean, std=info.std,
                        train=augment, crop_padding=info.crop_padding, flip=info.flip,
                        drop_last=drop_last and augment, device=device, generator=generator)


def tensors(dataset: str, split: str, n: int | None = None, *, root=None,
            download: bool = False, device=None, split_seed: int | None = None):
    """The first ``n`` images of a split (all by default), normalised and never augmented,
    with their labels: ``(x, y)``, x float32 (n, C, H, W).  What analyses such as linear
    probes must see (a probe fitted on randomly cropped images measures something else)."""
    plain = loader(dataset, split, 1, root=root, download=download, device=device,
                   augment=False, split_seed=split_seed)
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
    return ImageFolder(datasets.files("imagenet", split, root)[0], transform=tf)


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


# --------------------------------------------------------------------------- per config
def _subset(loader: TensorLoader, n: int | None, seed: int) -> TensorLoader:
    """The first n of a seeded permutation (all when n is None)."""
    if n is not None:
        keep = torch.randperm(len(loader.images), generator=torch.Generator().manual_seed(seed))
        keep = keep[:n].to(loader.images.device)
        loader.images, loader.labels = loader.images[keep], loader.labels[keep]
    return loader


def make_data(config, device, *, root=None,
              download: bool = False) -> tuple[BatchSource, BatchSource]:
    """(train, test) batch sources for a :class:`recur.config.TrainConfig`; cheap checks
    (files present) first, then the loading."""
    if config.dataset == "imagenet":
        root = check_available("imagenet", "train", root)
        check_available("imagenet", "test", root)
        return FolderBatches(root, "train", device), FolderBatches(root, "test", device)
    if config.experiment == "mazes":
        return tuple(maze_batches(config, split, device) for split in SPLITS)
    if config.dataset == "phop":
        return token_batches(config, device)
    if config.dataset != "digits":  # fail before any loading if the files are missing
        check_available(config.dataset, "train", root, download)
    return tuple(ImageBatches(_subset(
        loader(config.dataset, split, config.batch_size, root=root, download=download,
               device=device, split_seed=config.split_seed),
        config.n_train if split == "train" else config.n_test, config.seed)) for split in SPLITS)


def phop_splits(config):
    """A p-hop config's (train, test) splits as numpy arrays (:func:`recur.phop.splits`:
    seeded by the config's seed, disjoint)."""
    from recur import phop

    return phop.splits(config.n_train or 20_000, config.n_test or 2_000, hops=config.hops,
                       seed=config.seed)


def token_batches(config, device) -> tuple[TokenBatches, TokenBatches]:
    """A p-hop config's (train, test) splits (:func:`phop_splits`) as batch sources on the
    device."""
    train, test = phop_splits(config)
    return (TokenBatches(train.tokens, train.answers, device, train=True),
            TokenBatches(test.tokens, test.answers, device, train=False))


def maze_batches(config, split: str, device, *, cells=None, n: int | None = None) -> MazeBatches:
    """A config's maze split as batches; ``cells`` and ``n`` ask for other mazes (larger
    than trained: then rendered as they are, since the nets are fully convolutional)."""
    n_train, n_test = config.n_train or 50_000, config.n_test or 10_000
    if cells is not None:
        n_train = n_test = n or 1_000
    dataset = MazeDataset(split, config.maze_size if cells is None else cells,
                          n_train=n_train, n_test=n_test, seed=config.seed,
                          scale=config.maze_scale,
                          crop=config.maze_crop if cells is None else None)
    return MazeBatches(dataset, device)
