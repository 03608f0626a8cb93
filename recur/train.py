"""One trainer for classification and mazes, with the authors' recipe (SPEC 4).

    record = train(make_config("quick", "mazes", family="maze", recurrent=True, depth=20))

SGD (momentum 0.9, weight decay 2e-4) or Adam; an exponential warm-up; MultiStepLR; for
mazes the recurrent module learns at lr / iterations.  Maze loss: per-pixel cross-entropy
over non-wall pixels; maze accuracy: the whole maze right, walls ignored.  bfloat16
autocast where it pays (GPU; CPUs with bf16 units), channels_last, optional
``torch.compile``, and no host synchronisation inside an epoch.  A checkpoint is written
atomically after every epoch; ``resume`` continues a killed run exactly.  A finished run
writes one JSON record under ``<results>/runs/``.
"""
from __future__ import annotations

import math
import os
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recur import data as image_data
from recur import mazes, results
from recur.atomic import atomic_write
from recur.config import TrainConfig
from recur.models import DepthNet, build_model, count_parameters
from recur.provenance import git_commit, versions

CHECKPOINT_FORMAT = 1


# --------------------------------------------------------------------------- devices
def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: cuda, then mps, then cpu.  A named device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but no CUDA GPU is available; "
                         f"use device='auto' or 'cpu'")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None)
                                     and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r} asked for, but MPS is not available")
    return device


def init_distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank).  Under ``torchrun`` (WORLD_SIZE > 1) this joins the
    process group: NCCL on CUDA GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), local


def shard(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's share of a global batch: every world-th sample from ``rank`` on."""
    return batch[rank::world]


def use_bf16(precision: str, device: torch.device) -> bool:
    """Autocast to bfloat16?  ``auto``: on CUDA GPUs that support it, and on CPUs with
    bf16 units (AVX-512 BF16 or AMX), where it measured 2.2–2.4× faster than float32."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    return False


# --------------------------------------------------------------------------- data
class MazeBatches:
    """Maze images and labels kept on the device as uint8; a training epoch places every
    maze at a fresh random offset inside the crop (paper's loader), a test set at fixed
    per-maze offsets (placed once, here)."""

    def __init__(self, dataset: mazes.MazeDataset, device: torch.device, train: bool):
        self.train, self.device = train, device
        if train or dataset.crop is None:
            x, y = mazes.render(dataset.mazes, dataset.scale)
            x, y = torch.from_numpy(x), torch.from_numpy(y)
            self.crop = dataset.crop  # placed per batch
        else:
            x, y = dataset.batch(np.arange(len(dataset)))  # the test set's fixed offsets
            self.crop = None
        self.x = x.to(torch.uint8).to(device)  # (N, 3, S, S) of 0/1
        self.y = y.to(torch.uint8).to(device)  # (N, S, S)

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        n = len(self.x)
        order = (torch.randperm(n, generator=generator, device=generator.device).to(self.device)
                 if self.train else torch.arange(n, device=self.device))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            x, y = self.x[idx], self.y[idx]
            if self.crop is not None:
                xy = image_data.random_crop(torch.cat([x, y[:, None]], 1), self.crop,
                                            self.crop - x.shape[-1], generator)
                x, y = xy[:, :3], xy[:, 3]
            yield x.float(), y.long()


class ImageBatches:
    def __init__(self, loader: image_data.TensorLoader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader.images)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        self.loader.batch_size, self.loader.generator = batch_size, generator
        yield from self.loader


class FolderBatches:
    """ImageNet: torchvision's ImageFolder pipeline, batches moved to the device."""

    def __init__(self, root, split: str, device: torch.device, workers: int | None = None):
        from torchvision.datasets import ImageFolder

        self.root, self.split, self.device = root, split, device
        self.workers = min(8, os.cpu_count() or 1) if workers is None else workers
        self.size = len(ImageFolder(image_data._files("imagenet", split, Path(root))[0]))

    def __len__(self) -> int:
        return self.size

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        loader = image_data.imagenet_loader(self.root, self.split, batch_size,
                                            workers=self.workers, generator=generator)
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def make_data(config: TrainConfig, device: torch.device, *, root=None, download=False):
    """(train, test) batch sources for a config; cheap checks first, then the loading."""
    if config.dataset == "imagenet":
        root = image_data.check_available("imagenet", "train", root)
        image_data.check_available("imagenet", "test", root)
        return FolderBatches(root, "train", device), FolderBatches(root, "test", device)
    if config.experiment == "mazes":
        n_train, n_test = config.n_train or 50_000, config.n_test or 10_000
        kw = dict(n_train=n_train, n_test=n_test, seed=config.seed, scale=config.maze_scale,
                  crop=config.maze_crop)
        train = mazes.MazeDataset("train", config.maze_size, **kw)
        test = mazes.MazeDataset("test", config.maze_size, **kw)
        return MazeBatches(train, device, True), MazeBatches(test, device, False)
    if config.dataset != "digits":  # fail before any loading if the files are missing
        image_data.check_available(config.dataset, "train", root, download)
    out = []
    for split in ("train", "test"):
        loader = image_data.loader(config.dataset, split, config.batch_size, root=root,
                                   download=download, device=device)
        n = config.n_train if split == "train" else config.n_test
        if n is not None:  # a fixed subset: the first n of a seeded permutation
            keep = torch.randperm(len(loader.images),
                                  generator=torch.Generator().manual_seed(config.seed))[:n]
            loader.images, loader.labels = loader.images[keep.to(device)], loader.labels[keep.to(device)]
        out.append(ImageBatches(loader))
    return tuple(out)


def build_net(config: TrainConfig):
    """The untrained model a config describes."""
    options = {"dilation": config.dilation} if config.family == "maze" else {}
    return build_model(config.family, recurrent=config.recurrent, depth=config.depth,
                       dataset=config.dataset, width=config.width, **options)


def larger_maze_test(config: TrainConfig, device: torch.device, cells: int, n: int = 1_000):
    """Test mazes larger than trained, as rendered (fully convolutional nets take any size)."""
    ds = mazes.MazeDataset("test", cells, n_train=n, n_test=n, seed=config.seed,
                           scale=config.maze_scale, crop=None)
    return MazeBatches(ds, device, False)


# --------------------------------------------------------------------------- loss, scores
def free_pixels(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool: the maze pixels that are not wall or padding (which are black)."""
    return x.amax(dim=1) > 0


def maze_loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor,
              free: torch.Tensor | float | None = None) -> torch.Tensor:
    """Mean per-pixel cross-entropy over non-wall pixels (walls and padding are black).

    ``free``: the count to divide the summed loss by; default: the non-wall pixels of this
    batch.  A DDP rank passes the global batch's count / world size, so that the average
    of the ranks' gradients is the gradient of the global batch's mean.  (Every maze of a
    size has the same number of free pixels, so this matters only for uneven shards.)"""
    mask = free_pixels(x)
    per_pixel = F.cross_entropy(logits.float(), y, reduction="none")
    if free is None:
        free = mask.sum()
    return (per_pixel * mask).sum() / (free.clamp_min(1) if torch.is_tensor(free)
                                       else max(free, 1))


def class_loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor = None,
               count: torch.Tensor | float | None = None) -> torch.Tensor:
    """Cross-entropy, summed and divided by ``count`` (default: mean over this batch)."""
    if count is None:
        return F.cross_entropy(logits.float(), y)
    return F.cross_entropy(logits.float(), y, reduction="sum") / count


def maze_correct(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per maze: is every non-wall pixel predicted right?  (B,) bool."""
    wrong = (logits.argmax(1) != y) & free_pixels(x)
    return ~wrong.flatten(1).any(1)


def class_correct(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor = None) -> torch.Tensor:
    return logits.argmax(1) == y


# --------------------------------------------------------------------------- schedule
def lr_factor(config: TrainConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """MultiStepLR (×gamma at each milestone epoch reached) times the exponential warm-up
    1 − exp(−t/τ), t in steps, τ = warmup_epochs epochs (the authors' warm-up)."""
    decay = config.gamma ** sum(epoch >= m for m in config.milestones)
    tau = config.warmup_epochs * steps_per_epoch
    t = epoch * steps_per_epoch + step + 1
    return decay * (1.0 - math.exp(-t / tau) if tau > 0 else 1.0)


def make_optimizer(config: TrainConfig, net) -> torch.optim.Optimizer:
    """SGD or Adam; the recurrent module's parameters at lr / iterations for mazes."""
    groups = [{"params": list(net.parameters()), "lr": config.lr}]
    if config.recurrent_lr_scale and config.recurrent and hasattr(net, "blocks"):
        shared = {id(p) for p in net.blocks.parameters()}
        groups = [{"params": [p for p in net.parameters() if id(p) not in shared],
                   "lr": config.lr},
                  {"params": list(net.blocks.parameters()), "lr": config.lr / net.iterations}]
    for g in groups:
        g["initial_lr"] = g["lr"]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)


# --------------------------------------------------------------------------- checkpoints
def _rng_state(generator: torch.Generator) -> dict:
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                      int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": random.getstate(), "data": generator.get_state()}


def _set_rng_state(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])
    generator.set_state(state["data"])


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temporary file in the same folder, then rename: a crash leaves the
    previous checkpoint whole."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.  Only tensors and plain
    containers are accepted (``weights_only=True``): a file that would run code when
    unpickled is refused with a ``ValueError``, never executed."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"refusing to load {path}: it is not a plain-tensor recur "
                         f"checkpoint ({str(err).splitlines()[0]})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a recur checkpoint (format {CHECKPOINT_FORMAT})")
    return state


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(net, source, experiment: str, *, iterations: int | None = None,
             batch_size: int = 500, bf16: bool = False) -> list[float]:
    """Accuracy (%) after 1, 2, …, ``iterations`` iterations for a recurrent net, all from
    one forward pass per batch; for a feed-forward net a one-element list."""
    net.eval()
    correct_fn = maze_correct if experiment == "mazes" else class_correct
    device = next(net.parameters()).device
    dtype = next(net.parameters()).dtype
    totals, n = None, 0
    for x, y in source.batches(batch_size):
        x = x.to(dtype)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if isinstance(net, DepthNet) and net.recurrent:
                outs = net.trace(x, iterations=iterations)["outputs"]
            else:
                outs = [net(x)]
        hits = torch.stack([correct_fn(o, y, x).sum() for o in outs])
        totals = hits if totals is None else totals + hits
        n += len(y)
    return [round(100.0 * float(c) / n, 3) for c in totals.cpu()]


# --------------------------------------------------------------------------- training
def _progress(mode: str):
    if mode == "auto":
        return "bar" if sys.stderr.isatty() else "lines"
    return mode


def train(config: TrainConfig, *, results_dir=None, checkpoint_dir=None, resume: bool = True,
          progress: str = "auto", stop_after: int | None = None, data_root=None,
          download: bool = False, log=print) -> dict:
    """Train one config to the end and return its run record (also written to disk).

    ``resume``: continue from this config's checkpoint if there is one (and return the
    existing record if the run already finished).  ``stop_after``: stop after that many
    epochs of this call, as if killed (for tests).  ``progress``: ``bar`` (tqdm per
    epoch), ``lines`` (one line per epoch), ``none``, or ``auto`` (bar when interactive).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError("train takes a recur.config.TrainConfig (see recur.profiles.make_config)")
    if progress not in ("auto", "bar", "lines", "none"):
        raise ValueError(f"progress must be auto, bar, lines or none, got {progress!r}")
    rank, world, local_rank = init_distributed()
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", local_rank)
    results_dir = results.results_dir(results_dir)
    record_path = results_dir / "runs" / f"{config.name()}.json"
    if resume and record_path.exists():
        return results.read_record(record_path)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else results_dir / "checkpoints"
    ckpt_path = checkpoint_dir / f"{config.name()}.pt"
    bf16 = use_bf16(config.precision, device)
    mode = _progress(progress)

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    train_src, test_src = make_data(config, device, root=data_root, download=download)
    net = build_net(config)
    net = net.to(device)
    dtype = torch.float64 if config.precision == "fp64" else None
    if dtype is not None:
        net = net.to(dtype)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    step_fn = net
    if world > 1:
        # The global batch is the config's: each rank takes every world-th sample of it,
        # and DDP averages the gradients, so the step equals one process's on the batch.
        if device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        step_fn = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(config, net)
    # Same seed on every rank: identical permutations and augmentations of the global
    # batch, of which each rank keeps its share (DistributedSampler's split, per batch).
    generator = torch.Generator(device="cpu").manual_seed(config.seed + 1)
    step_fn = torch.compile(step_fn) if config.compile else step_fn
    loss_fn = maze_loss if config.experiment == "mazes" else class_loss
    correct_fn = maze_correct if config.experiment == "mazes" else class_correct

    start_epoch, history, seconds = 0, [], 0.0
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        if state["config"] != config.to_dict():
            raise ValueError(f"{ckpt_path} belongs to another config; delete it or pass "
                             f"resume=False")
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"], generator)
        start_epoch, history, seconds = state["epoch"], state["history"], state["seconds"]
        if mode != "none":
            log(f"[recur] resuming {config.name()} after epoch {start_epoch}")

    steps_per_epoch = -(-len(train_src) // config.batch_size)
    samples_seen = 0
    epochs_run = 0
    for epoch in range(start_epoch, config.epochs):
        if stop_after is not None and epochs_run >= stop_after:
            return {"stopped_after_epoch": epoch}
        net.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        hits = torch.zeros((), device=device, dtype=torch.long)
        batches = train_src.batches(config.batch_size, generator)
        if mode == "bar":
            from tqdm.auto import tqdm
            batches = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                           leave=False)
        for step, (x, y) in enumerate(batches):
            global_n, count = len(y), None
            if world > 1:
                # Each rank divides its summed loss by the global batch's count (samples, or
                # non-wall pixels) / world, so that DDP's average of the ranks' gradients is
                # the global mean's gradient even when the batch splits unevenly.
                count = (free_pixels(x).sum() if config.experiment == "mazes"
                         else torch.tensor(float(global_n), device=device)) / world
                x, y = shard(x, rank, world), shard(y, rank, world)
            if dtype is not None:
                x = x.to(dtype)
            factor = lr_factor(config, epoch, step, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor
            if config.channels_last and x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out = step_fn(x)
                loss = loss_fn(out, y, x) if count is None else loss_fn(out, y, x, count)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * (global_n / world)  # on the device: no sync per step
            hits += correct_fn(out.detach(), y, x).sum()
            samples_seen += global_n
        n = len(train_src)
        if world > 1:  # the ranks' sums make the global epoch loss and accuracy
            import torch.distributed as dist
            totals = torch.stack([loss_sum.double(), hits.double()])
            dist.all_reduce(totals)
            loss_sum, hits = totals[0], totals[1]
        epoch_loss = float(loss_sum) / n  # one host sync per epoch
        seconds += time.perf_counter() - t0
        if not math.isfinite(epoch_loss):
            kept = f"{ckpt_path} (after epoch {epoch})" if ckpt_path.exists() else "none yet"
            raise FloatingPointError(f"the training loss of {config.name()} became "
                                     f"{epoch_loss} in epoch {epoch + 1}; stopped. Last good "
                                     f"checkpoint: {kept}. Try a lower lr.")
        history.append({"epoch": epoch + 1, "loss": round(epoch_loss, 6),
                        "train_acc": round(100.0 * float(hits) / n, 3),
                        "lr": optimizer.param_groups[0]["lr"],
                        "seconds": round(time.perf_counter() - t0, 3)})
        if rank == 0:  # only rank 0 writes
            save_checkpoint(ckpt_path, {"format": CHECKPOINT_FORMAT, "config": config.to_dict(),
                                        "epoch": epoch + 1, "model": net.state_dict(),
                                        "optimizer": optimizer.state_dict(),
                                        "rng": _rng_state(generator), "history": history,
                                        "seconds": seconds})
        epochs_run += 1
        if mode != "none" and rank == 0:
            h = history[-1]
            line = (f"[recur] {config.name()} epoch {h['epoch']}/{config.epochs} "
                    f"loss {h['loss']:.4f} train acc {h['train_acc']:.2f}% ({h['seconds']:.1f} s)")
            if mode == "bar":
                from tqdm.auto import tqdm
                tqdm.write(line)
            else:
                log(line)

    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        if rank != 0:  # rank 0 evaluates and writes the record
            return {"rank": rank, "name": config.name()}
    train_seconds = sum(h["seconds"] for h in history[len(history) - epochs_run:])
    # Final evaluation: train and test sets; every iteration count for recurrent nets.
    # Per-iteration scores for nets with one recurrent module (not the staged ResNet-50).
    stepwise = config.recurrent and isinstance(net, DepthNet)
    iters = net.iterations + config.extra_iterations if stepwise else None
    test_curve = evaluate(net, test_src, config.experiment, iterations=iters, bf16=bf16)
    if isinstance(train_src, FolderBatches):  # ImageNet: the last epoch's running accuracy
        train_acc = history[-1]["train_acc"] if history else None
    else:
        train_acc = evaluate(net, _eval_view(train_src), config.experiment, bf16=bf16)[-1]
    test_acc = test_curve[net.iterations - 1] if stepwise else test_curve[0]
    record = {
        "name": config.name(), "experiment": config.experiment, "family": config.family,
        "dataset": config.dataset, "recurrent": config.recurrent, "depth": config.depth,
        "iterations": net.iterations if config.recurrent else None,
        "width": config.width, "seed": config.seed, "profile": config.profile,
        "parameters": count_parameters(net), "train_acc": train_acc, "test_acc": test_acc,
        "test_acc_per_iteration": test_curve if stepwise else None,
        "epochs": config.epochs, "seconds": round(seconds, 2),
        "samples_per_s": round(samples_seen / train_seconds, 1) if train_seconds else None,
        "device": str(device), "bf16": bf16, "history": history, "config": config.to_dict(),
        "git_commit": git_commit(), **versions(),
    }
    if config.experiment == "mazes":
        record["larger_mazes"] = _think_longer(net, config, device, bf16)
    results.write_record(record_path, record)
    return record


def _eval_view(source):
    """The training set without augmentation, in order (for the final train accuracy)."""
    if isinstance(source, MazeBatches):
        view = MazeBatches.__new__(MazeBatches)
        view.__dict__ = dict(source.__dict__, train=False)
        if view.crop is not None:  # score at the centre of the canvas
            pad = (view.crop - view.x.shape[-1]) // 2
            extra = view.crop - view.x.shape[-1] - pad
            view.x = F.pad(view.x, (pad, extra, pad, extra))
            view.y = F.pad(view.y, (pad, extra, pad, extra))
            view.crop = None
        return view
    loader = source.loader
    plain = image_data.TensorLoader(loader.images, loader.labels, loader.batch_size,
                                    mean=tuple(loader.mean.flatten().tolist()),
                                    std=tuple(loader.std.flatten().tolist()), train=False)
    return ImageBatches(plain)


def _think_longer(net, config: TrainConfig, device, bf16: bool) -> dict:
    """Accuracy on mazes two cells wider than trained, after every iteration count up to
    n + extra (recurrent) or at the fixed depth (feed-forward): can the net think longer?"""
    cells = mazes.cells_for(config.maze_size) + 2
    source = larger_maze_test(config, device, cells, n=min(config.n_test or 1000, 1000))
    iters = net.iterations + config.extra_iterations if config.recurrent else None
    return {"cells": cells, "acc_per_iteration": evaluate(net, source, "mazes",
                                                          iterations=iters, bf16=bf16)}


def load_trained(config: TrainConfig, *, results_dir=None, checkpoint_dir=None,
                 device: str = "cpu"):
    """The model of a trained config, with its weights from the run's last checkpoint."""
    results_dir = results.results_dir(results_dir)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else results_dir / "checkpoints"
    state = load_checkpoint(checkpoint_dir / f"{config.name()}.pt")
    net = build_net(config)
    net.load_state_dict(state["model"])
    return net.to(device).eval()
