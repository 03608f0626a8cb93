"""One trainer for classification and mazes, with the authors' recipe (SPEC 4).

    record = train(make_config("quick", "mazes", family="maze", recurrent=True, depth=20))

:func:`train` reads in three steps: :func:`setup_run` (data, net, optimizer, resume from
the last good checkpoint), :func:`_train_epoch` (no host synchronisation inside it), and
:func:`_finish` (final evaluation and the run record, written under ``<results>/runs/``).
bfloat16 autocast where it pays, channels_last, optional ``torch.compile``, DDP under
``torchrun``.  Data sources: :mod:`recur.data`, :mod:`recur.batches`; the net and its
scores: :mod:`recur.evaluation`; losses: :mod:`recur.losses`; optimiser and schedule:
:mod:`recur.optim`; checkpoints, the per-run lock and the files a run finds:
:mod:`recur.checkpoints`; devices: :mod:`recur.devices`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from recur import losses, mazes, results
from recur.checkpoints import RunLock, finished_record, kept, load_latest, resume_state
from recur.checkpoints import rng_state, save_checkpoint, set_rng_state
from recur.config import TrainConfig
from recur.data import make_data
from recur.devices import init_distributed, resolve_device, shard, use_bf16
from recur.evaluation import build_net, evaluate, score
from recur.models import count_parameters, iterates
from recur.optim import lr_factor, make_optimizer
from recur.progress import Progress, interactive
from recur.provenance import git_commit, versions
from recur.storage import StorageError, ensure_writable

PROGRESS = ("auto", "bar", "lines", "none")


@dataclasses.dataclass
class Run:
    """What one training run holds between its steps."""
    config: TrainConfig
    device: torch.device
    rank: int
    world: int
    bf16: bool
    net: torch.nn.Module
    step_fn: torch.nn.Module  # the net, wrapped by DDP and/or compiled
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # data order and augmentation, the same on every rank
    train_src: object
    test_src: object
    ckpt_path: Path
    history: list
    seconds: float = 0.0
    saved_epoch: int = 0  # the newest checkpoint on disk
    samples: int = 0  # trained on in this call
    epochs_run: int = 0  # in this call


def setup_run(config, device, rank, world, ckpt_path, *, resume, data_root, download, log,
              info) -> Run:
    """A run ready for its first epoch: seeded, its data, net and optimizer built as the
    config says, resumed from the last good checkpoint when ``resume`` (also the step
    :mod:`recur.batched` sets every seed up with)."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    train_src, test_src = make_data(config, device, root=data_root, download=download)
    net = build_net(config).to(device)
    if config.precision == "fp64":
        net = net.to(torch.float64)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    step_fn = net
    if world > 1:
        # Each rank takes every world-th sample of the config's global batch and DDP
        # averages the gradients, so a step equals one process's on the whole batch.
        if device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        step_fn = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(config, net)
    generator = torch.Generator(device="cpu").manual_seed(config.seed + 1)
    run = Run(config, device, rank, world, use_bf16(config.precision, device), net,
              torch.compile(step_fn) if config.compile else step_fn, optimizer, generator,
              train_src, test_src, ckpt_path, history=[])
    state = resume_state(ckpt_path, config, log) if resume else None
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"], generator)
        run.history, run.seconds = state["history"], state["seconds"]
        run.saved_epoch = state["epoch"]
        info(f"[recur] resuming {config.name()} after epoch {state['epoch']}")
    return run


def _train_epoch(run: Run, epoch: int) -> dict:
    """One pass over the training set; returns the epoch's history entry."""
    c, net, opt = run.config, run.net, run.optimizer
    loss_fn, correct_fn = losses.OBJECTIVES[c.experiment]
    steps = -(-len(run.train_src) // c.batch_size)
    net.train()
    t0 = time.perf_counter()
    loss_sum = torch.zeros((), device=run.device)  # summed on the device: no sync per step
    hits = torch.zeros((), device=run.device, dtype=torch.long)
    for step, (x, y) in enumerate(run.train_src.batches(c.batch_size, run.generator)):
        n_global, count = len(y), None
        if run.world > 1:  # divide by the global batch's count / world (exact DDP mean)
            count = losses.global_count(c.experiment, x, y) / run.world
            x, y = shard(x, run.rank, run.world), shard(y, run.rank, run.world)
        x = as_input(x, c)
        set_lr(opt, c, epoch, step, steps)
        with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.bf16):
            out = run.step_fn(x)
            loss = loss_fn(out, y, x, count)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach() * (n_global / run.world)
        hits += correct_fn(out.detach(), y, x).sum()
        run.samples += n_global
    if run.world > 1:  # the ranks' sums make the global epoch loss and accuracy
        totals = torch.stack([loss_sum.double(), hits.double()])
        dist.all_reduce(totals)
        loss_sum, hits = totals[0], totals[1]
    seconds = time.perf_counter() - t0
    run.seconds += seconds
    return history_entry(epoch, loss_sum, hits, len(run.train_src), opt.param_groups[0]["lr"],
                         seconds)


def as_input(x: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """A batch as the net takes it: float64 for an fp64 run (tokens stay integers),
    channels_last images."""
    if config.precision == "fp64" and x.is_floating_point():
        x = x.to(torch.float64)
    if config.channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def set_lr(opt: torch.optim.Optimizer, config: TrainConfig, epoch: int, step: int,
           steps: int) -> None:
    """This step's lr from the schedule (:func:`recur.optim.lr_factor`), in every group."""
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] * lr_factor(config, epoch, step, steps)


def history_entry(epoch: int, loss_sum, hits, n: int, lr: float, seconds: float) -> dict:
    """An epoch's line of a run's history, from its summed loss and hits over ``n``
    samples (read from the device once per epoch)."""
    return {"epoch": epoch + 1, "loss": round(float(loss_sum) / n, 6),
            "train_acc": round(100.0 * float(hits) / n, 3), "lr": lr,
            "seconds": round(seconds, 3)}


def save_epoch(run: Run, epoch: int) -> None:
    """Checkpoint after ``epoch``; a failed write says what is kept to resume from."""
    if run.rank == 0:  # only rank 0 writes
        try:
            save_checkpoint(run.ckpt_path, {
                "config": run.config.to_dict(), "epoch": epoch, "model": run.net.state_dict(),
                "optimizer": run.optimizer.state_dict(), "rng": rng_state(run.generator),
                "history": run.history, "seconds": run.seconds})
        except StorageError as err:
            then = ("rerun: training resumes from there" if run.saved_epoch else
                    "rerun to train it from the start")
            raise StorageError(f"{err}. Kept: {kept(run.ckpt_path, run.saved_epoch)}; free the "
                               f"space or fix the folder, then {then}") from None
    run.saved_epoch = epoch


def _finish(run: Run) -> dict:
    """Final evaluation (train and test; every iteration count for a recurrent net) and the
    run record."""
    c, net = run.config, run.net
    stepwise = iterates(net)
    iters = net.iterations + c.extra_iterations if stepwise else None
    trained = net.iterations - 1 if stepwise else 0
    test = score(net, run.test_src, c.experiment, iterations=iters, bf16=run.bf16, keep=trained)
    test_curve = test["curve"]
    plain_train = run.train_src.eval_view()
    train_acc = (evaluate(net, plain_train, c.experiment, bf16=run.bf16)[-1]
                 if plain_train is not None else run.history[-1]["train_acc"])
    train_seconds = sum(h["seconds"] for h in run.history[len(run.history) - run.epochs_run:])
    metrics = {
        "parameters": count_parameters(net), "iterations": net.iterations,
        "train_acc": train_acc,
        "test_acc": test_curve[net.iterations - 1] if stepwise else test_curve[0],
        "test_acc_per_iteration": test_curve if stepwise else None,
        # which test examples it got right (one bit each), and which examples those were:
        # two runs with the same test_set pair example by example (recur.findings)
        "test_correct": results.pack(test["correct"]), "test_images": len(test["correct"]),
        "test_set": test["test_set"],
        "seconds": round(run.seconds, 2),
        "samples_per_s": round(run.samples / train_seconds, 1) if train_seconds else None,
        "history": run.history}
    provenance = {"device": str(run.device), "bf16": run.bf16, "git_commit": git_commit(),
                  **versions()}
    return make_record(c, True, metrics, provenance)


def make_record(config: TrainConfig, finished: bool, metrics: dict, provenance: dict) -> dict:
    """A run record (:data:`recur.results.RECORD_KEYS`)."""
    return {"name": config.name(), "finished": finished, "config": config.to_dict(),
            "metrics": metrics, "provenance": provenance}


def train(config: TrainConfig, *, results_dir=None, checkpoint_dir=None, resume: bool = True,
          progress: str = "auto", stop_after: int | None = None, data_root=None,
          download: bool = False, wait: float = 0.0, log=print) -> dict:
    """Train one config to the end and return its run record (also written to disk).

    Every call returns a record of the same shape (:func:`recur.results.read_record`), on
    every DDP rank.  ``resume``:
    continue from this config's checkpoint if there is one (the run record, if it already
    finished).  ``stop_after``: stop after that many epochs of this call, as if killed:
    the record then has ``finished=False`` and, as metrics, only ``epochs_done`` and
    ``history``, and nothing is written but the
    checkpoint.  ``wait``: seconds to wait for another process training the same config
    (else :class:`recur.checkpoints.RunLocked` at once).  ``progress``: ``bar`` (a tqdm bar
    over the epochs), ``lines`` (one line per epoch), ``none``, or ``auto`` (a bar when
    :func:`interactive`, else lines).
    """
    mode = progress_mode(config, progress)
    quiet = (lambda *a, **k: None) if mode == "none" else log
    rank, world, device = _placement(config)
    results_dir = results.results_dir(results_dir)
    record_path = results_dir / "runs" / f"{config.name()}.json"
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else results_dir / "checkpoints"
    ckpt_path = ckpt_dir / f"{config.name()}.pt"
    if resume and (record := finished_record(record_path, ckpt_path)):
        return record
    if rank == 0:
        check_folders(config, results_dir, ckpt_dir, checkpoint_dir is not None)
    lock = RunLock(ckpt_path.with_suffix(".lock"), wait=wait, log=log) if rank == 0 else None
    with lock or contextlib.nullcontext():  # ranks other than 0 share rank 0's lock
        if resume and (record := finished_record(record_path, ckpt_path)):
            return record  # finished by the process we waited for
        run = setup_run(config, device, rank, world, ckpt_path,
                        resume=resume, data_root=data_root, download=download, log=log,
                        info=quiet)  # warnings (a corrupt checkpoint) are never silenced
        shown = Progress(config, mode, log, done=len(run.history), show=rank == 0)
        stopped = _epochs(run, shown, stop_after)
        shown.close()
        return stopped or share_record(run, record_path)


def progress_mode(config: TrainConfig, progress: str) -> str:
    """The progress display :func:`train` uses, after checking its arguments."""
    if not isinstance(config, TrainConfig):
        raise ValueError("train takes a recur.config.TrainConfig (see recur.profiles.make_config)")
    if progress not in PROGRESS:
        raise ValueError(f"progress must be one of {', '.join(PROGRESS)}, got {progress!r}")
    return ("bar" if interactive() else "lines") if progress == "auto" else progress


def _placement(config: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process; under DDP on GPUs, its local GPU."""
    rank, world, local_rank = init_distributed()
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", local_rank)
    return rank, world, device


def _epochs(run: Run, shown: Progress, stop_after: int | None) -> dict | None:
    """The remaining epochs, each checkpointed; None when the run trained to the end, else
    (stopped after ``stop_after`` epochs of this call) its unfinished record."""
    config = run.config
    for epoch in range(len(run.history), config.epochs):
        if stop_after is not None and run.epochs_run >= stop_after:
            return make_record(config, False, {"epochs_done": epoch, "history": run.history},
                           {"device": str(run.device), "bf16": run.bf16})
        with torch.enable_grad():  # also when called under no_grad (load_trained)
            run.history.append(_train_epoch(run, epoch))
        run.epochs_run += 1
        if not math.isfinite(run.history[-1]["loss"]):
            raise FloatingPointError(
                f"the training loss of {config.name()} became {run.history[-1]['loss']} "
                f"in epoch {epoch + 1}; stopped. Last good checkpoint: "
                f"{kept(run.ckpt_path, run.saved_epoch)}. Try a lower lr.")
        save_epoch(run, epoch + 1)
        shown.epoch(run.history[-1])
    return None


def check_folders(config: TrainConfig, results_dir: Path, ckpt_dir: Path,
                   own_checkpoints: bool) -> None:
    """Every folder the run writes can be written, checked before any work."""
    ensure_writable(results_dir / "runs", "set RECUR_RESULTS or pass --results to write "
                                          "elsewhere")
    ensure_writable(ckpt_dir, "pass another checkpoint_dir" if own_checkpoints else
                    "set RECUR_RESULTS or pass --results to write elsewhere")
    if config.experiment == "mazes":
        ensure_writable(mazes.default_cache_dir(), "set RECUR_CACHE to cache mazes elsewhere")


def share_record(run: Run, record_path: Path) -> dict:
    """Rank 0 evaluates and writes the record; under DDP every rank gets it back."""
    record = _finish(run) if run.rank == 0 else None
    if record is not None:
        try:
            results.write_record(record_path, record)
        except StorageError as err:
            left = kept(run.ckpt_path, run.saved_epoch)
            raise StorageError(f"{err}. Training finished and {left} is kept: rerun to "
                               f"evaluate it and write the record, without training "
                               f"again") from None
    if run.world > 1:
        box = [record]
        dist.broadcast_object_list(box, src=0)
        record = box[0]
    return record


def load_trained(config: TrainConfig, *, results_dir=None, checkpoint_dir=None,
                 device: str = "cpu"):
    """The model of a trained config, with its weights from the run's last checkpoint."""
    results_dir = results.results_dir(results_dir)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else results_dir / "checkpoints"
    state = load_latest(checkpoint_dir / f"{config.name()}.pt")
    record_path = results_dir / "runs" / f"{config.name()}.json"
    if state is None and record_path.is_file():  # records kept (e.g. committed), weights not
        state = _weights_again(config, results.read_record(record_path), checkpoint_dir)
    if state is None:
        raise FileNotFoundError(f"no readable checkpoint of {config.name()} in "
                                f"{checkpoint_dir}: train it first (recur.train.train)")
    net = build_net(config)
    net.load_state_dict(state["model"])
    return net.to(device).eval()


def _weights_again(config: TrainConfig, record: dict, checkpoint_dir: Path) -> dict | None:
    """Train a run whose record is kept but whose checkpoint is not, for its weights only:
    the record stays as it is, and a retrained net that scores differently is reported
    (another machine or precision can change the last digits of a run)."""
    print(f"[recur] {config.name()} has a run record but no checkpoint: training it again "
          f"for its weights (its record is kept)", flush=True)
    with tempfile.TemporaryDirectory(prefix="recur-weights-") as scratch:
        again = train(config, results_dir=scratch, checkpoint_dir=checkpoint_dir,
                      progress="none")
    ours, theirs = again["metrics"]["test_acc"], record["metrics"]["test_acc"]
    if ours != theirs:
        print(f"[recur] note: retrained here, {config.name()} scores {ours}% on its test set; "
              f"its record says {theirs}%", flush=True)
    return load_latest(checkpoint_dir / f"{config.name()}.pt")
