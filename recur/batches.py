"""Device-resident batch sources (SPEC 3, 4): the pipelines the trainer reads.

:class:`TensorLoader` serves an in-memory image split with the authors' augmentation;
:class:`MazeDataset` and :class:`MazeBatches` serve a maze split with the paper's
pad-to-32 placement (:func:`place`); :class:`BatchSource` is what the trainer expects of
them.  Which files a dataset comes from is :mod:`recur.data`.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from recur import checks, mazes
from recur.datasets import SPLITS


# --------------------------------------------------------------------------- windows
def _windows(b: int, c: int, top: torch.Tensor, left: torch.Tensor, size: int, device):
    """The index of one size×size window per sample, its top-left corner at (top[i],
    left[i]): a (B, C, H, W) tensor indexed with it reads (or writes) (B, C, size, size)."""
    ar = torch.arange(size, device=device)
    rows = (top[:, None] + ar)[:, None, :, None]  # (B, 1, size, 1)
    cols = (left[:, None] + ar)[:, None, None, :]  # (B, 1, 1, size)
    return (torch.arange(b, device=device)[:, None, None, None],
            torch.arange(c, device=device)[None, :, None, None], rows, cols)


def random_crop(x: torch.Tensor, size: int, padding: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's ``RandomCrop(size, padding)`` on a whole batch (B, C, H, W): zero-pad
    every side by ``padding``, then cut a size×size window at an independent, uniformly
    random offset per sample."""
    b, c, h, w = x.shape
    room_h, room_w = h + 2 * padding - size + 1, w + 2 * padding - size + 1
    if room_h < 1 or room_w < 1:
        raise ValueError(f"cannot crop {size}x{size} from {h}x{w} padded by {padding}")
    padded = F.pad(x, (padding,) * 4)
    dev = generator.device if generator is not None else x.device
    top = torch.randint(room_h, (b,), generator=generator, device=dev).to(x.device)
    left = torch.randint(room_w, (b,), generator=generator, device=dev).to(x.device)
    return padded[_windows(b, c, top, left, size, x.device)]


def place(images: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """Put each image (B, C, S, S) into a black size×size canvas with its top-left corner
    at ``offsets[b] = (row, col)``: the paper's pad-to-32 placement of mazes, used for
    training (fresh random offsets), test (fixed per maze) and scoring (centred) alike."""
    b, c, s = images.shape[0], images.shape[1], images.shape[-1]
    canvas = images.new_zeros((b, c, size, size))
    offsets = offsets.to(images.device)
    canvas[_windows(b, c, offsets[:, 0], offsets[:, 1], s, images.device)] = images
    return canvas


# --------------------------------------------------------------------------- images
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
        checks.integer("batch_size", batch_size, 1)
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

    def plain(self) -> TensorLoader:
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
            order = torch.randperm(n, generator=g, device=g.device if g else self.device)
            order = order.to(self.device)
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


# --------------------------------------------------------------------------- batch sources
@runtime_checkable
class BatchSource(Protocol):
    """What the trainer reads (:mod:`recur.train`): one split of ``len(source)`` samples.

    ``batches(batch_size, generator)`` yields (x, y) on the device for one epoch; the
    generator (CPU; None: torch's default one) drives the order and augmentation.
    ``eval_view()`` is the same split in order without augmentation, for scoring a
    training set (None where that is unaffordable: ImageNet).  Maze sources also carry
    ``dataset``, their :class:`MazeDataset` (``.mazes``, ``.cells``).
    """

    def __len__(self) -> int: ...

    def batches(self, batch_size: int, generator: torch.Generator | None = None
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def eval_view(self) -> BatchSource | None: ...


class ImageBatches:
    """An in-memory image split (a :class:`TensorLoader`)."""

    def __init__(self, loader: TensorLoader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader.images)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        return iter(self.loader.with_batches(batch_size, generator))

    def eval_view(self) -> ImageBatches:
        return ImageBatches(self.loader.plain())


# --------------------------------------------------------------------------- mazes
class MazeDataset(torch.utils.data.Dataset):
    """Train or test split of a maze dataset as the paper's loader serves it (SPEC 3).

    ``size``: ``small``/``medium``/``large`` (5/6/7 cells) or a number of cells.  Items are
    ``(x, y)``: x float32 (3, crop, crop), y int64 (crop, crop).  Images smaller than
    ``crop`` are zero-padded (black, i.e. wall) and placed at a random offset: fresh
    offsets from torch's generator for ``train``, fixed per maze for ``test``.
    ``crop=None`` serves the rendered images as they are.  ``duplicates`` counts mazes
    that repeat within the split; train and test share none.
    """

    def __init__(self, split: str = "train", size="small", *, n_train: int = 50_000,
                 n_test: int = 10_000, seed: int = 0, scale: int = 2, crop: int | None = 32,
                 cache_dir=None):
        checks.one_of("split", split, SPLITS)
        self.cells = mazes.cells_for(size)
        self.image_size = mazes.image_size(self.cells, scale)
        self.scale = int(scale)
        checks.integer("crop", crop, 1, optional=True)
        if crop is not None and crop < self.image_size:
            raise checks.bad("crop", crop, f"None or an integer >= the image size "
                             f"{self.image_size} ({self.cells}x{self.cells} cells at scale "
                             f"{self.scale})")
        self.split, self.seed = split, seed
        self.crop = None if crop is None else int(crop)
        train, test = mazes.load_or_generate(self.cells, n_train, n_test, seed, cache_dir)
        self.mazes = train if split == "train" else test
        self.duplicates = mazes.count_duplicates(self.mazes)

    def __len__(self) -> int:
        return len(self.mazes)

    def offsets(self, index, generator: torch.Generator | None = None) -> torch.Tensor:
        """(len(index), 2) int64 top-left offsets of each image inside its crop: fixed per
        maze for ``test`` (a hash of seed and index), fresh from ``generator`` for ``train``."""
        room = (self.crop or self.image_size) - self.image_size + 1
        if self.split == "test":
            return torch.from_numpy(mazes.fixed_offsets(self.seed, index, room))
        return torch.randint(room, (len(index), 2), generator=generator)

    def centred(self, n: int) -> torch.Tensor:
        """(n, 2) offsets that put every image in the middle of its crop (for scoring)."""
        pad = ((self.crop or self.image_size) - self.image_size) // 2
        return torch.full((n, 2), pad, dtype=torch.int64)

    def batch(self, index, generator: torch.Generator | None = None):
        """Render a batch at once: x (b, 3, crop, crop) float32, y (b, crop, crop) int64."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        inputs, targets = mazes.render(self.mazes[index], self.scale)
        x, y = torch.from_numpy(inputs), torch.from_numpy(targets).long()
        if self.crop is None:
            return x, y
        xy = place(torch.cat([x, y[:, None].float()], 1), self.offsets(index, generator),
                   self.crop)
        return xy[:, :3], xy[:, 3].long()

    def __getitem__(self, i: int):
        x, y = self.batch([i])
        return x[0], y[0]


def index_batches(n: int, batch_size: int, shuffle: bool, generator, device):
    """The indices of one epoch's batches of an in-memory split of ``n`` samples, on the
    device: a fresh random order drawn from ``generator`` (CPU) when ``shuffle``, else in
    order."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(device)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


class MazeBatches:
    """A maze split as the trainer reads it: images and labels kept on the device as
    uint8 (B, 3, S, S) and (B, S, S).  Training batches come in a fresh random order with
    each maze at a fresh random offset in its crop (the paper's loader); test batches in
    order, at the dataset's fixed offsets (placed once, here)."""

    def __init__(self, dataset: MazeDataset, device=None, train: bool | None = None):
        self.dataset, self.device = dataset, torch.device(device or "cpu")
        self.train = dataset.split == "train" if train is None else train
        x, y = mazes.render(dataset.mazes, dataset.scale)
        x, y = torch.from_numpy(x).to(torch.uint8), torch.from_numpy(y)
        self.crop = dataset.crop
        if self.crop is not None and not self.train:  # fixed placement: once, here
            offsets = dataset.offsets(np.arange(len(dataset)))
            x, y = place(x, offsets, self.crop), place(y[:, None], offsets, self.crop)[:, 0]
        self.x, self.y = x.to(self.device), y.to(self.device)

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        """(x float32, y int64) batches; ``generator`` (CPU) drives order and offsets."""
        for idx in index_batches(len(self.x), batch_size, self.train, generator, self.device):
            x, y = self.x[idx], self.y[idx]
            if self.train and self.crop is not None:
                offsets = self.dataset.offsets(idx.cpu().numpy(), generator)
                xy = place(torch.cat([x, y[:, None]], 1), offsets, self.crop)
                x, y = xy[:, :3], xy[:, 3]
            yield x.float(), y.long()

    def eval_view(self) -> MazeBatches:
        """The same mazes in order, each centred in its crop: for scoring a training set."""
        view = copy.copy(self)  # shares the tensors
        view.train = False
        if self.train and self.crop is not None:
            offsets = self.dataset.centred(len(self.x))
            view.x = place(self.x, offsets, self.crop)
            view.y = place(self.y[:, None], offsets, self.crop)[:, 0]
        return view


# --------------------------------------------------------------------------- tokens
class TokenBatches:
    """A split of token sequences and their answers (the p-hop task, :mod:`recur.phop`),
    int64 (N, T) and (N,) on the device: training batches in a fresh random order drawn
    from the generator, test batches in order.  Tokens stay integers (an embedding reads
    them); there is nothing to augment."""

    def __init__(self, tokens, answers, device=None, train: bool = True):
        self.device, self.train = torch.device(device or "cpu"), train
        self.x = torch.as_tensor(np.asarray(tokens), dtype=torch.int64).to(self.device)
        self.y = torch.as_tensor(np.asarray(answers), dtype=torch.int64).to(self.device)

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        for idx in index_batches(len(self.x), batch_size, self.train, generator, self.device):
            yield self.x[idx], self.y[idx]

    def eval_view(self) -> TokenBatches:
        view = copy.copy(self)  # shares the tensors
        view.train = False
        return view

