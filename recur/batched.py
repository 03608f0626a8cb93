"""Many seeds of one config trained as one batched net (issue 31).

    records = train_batched([config.replace(seed=s) for s in range(8)])

Each seed's net, data, optimizer and generators are set up by the trainer's own code
(:func:`recur.train.setup_run`: the same seeding, ``build_net``, split, resume).  Their
weights then go into one wide net (:func:`widen`): the same modules and forward code, with
every convolution grouped by seed and every linear layer a batched matmul
(:class:`GroupedLinear`), so seed i's outputs depend on seed i's weights and inputs only.
One backward pass of the sum of the seeds' losses gives each seed its own gradient; one
optimizer step over the wide tensors is each seed's step (SGD and Adam are elementwise; the
seeds share the step count and lr schedule).  Each seed keeps its own split, data order and
augmentation.  After every epoch each seed's weights, optimizer and random state go back into
its own net and are written as its own checkpoint; at the end each seed is scored and
recorded by the trainer's code: records and checkpoints are those of
:func:`recur.train.train`, equal to float tolerance (grouped kernels sum in another order).

Not batched (:func:`why_not` says why; :func:`train_all` then trains one by one): nets with
buffers (BatchNorm: ``resnet_bn``, ``resnet18``, ``resnet50``), DDP and ``torch.compile``.
:func:`worth_batching` reads where batching measured faster from
``results/benchmarks/batched_<device>.json`` (``benchmarks/batched_training.py``).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import time
from pathlib import Path

import torch

from recur import losses, results
from recur import train as trainer
from recur.checkpoints import RunLock, finished_record, kept, rng_state, set_rng_state
from recur.config import TrainConfig
from recur.devices import resolve_device, use_bf16
from recur.optim import make_optimizer
from recur.progress import Progress
from recur.provenance import ROOT

#: Families whose nets hold parameters only (no buffers): their seeds stack exactly.
BATCHABLE = ("mlp", "convnet", "resnet", "maze")
#: Where :func:`worth_batching` reads the measurements.
BENCHMARKS = ROOT / "results" / "benchmarks"
#: Batching counts as faster when its total samples/s is at least this times one by one's.
MARGIN = 1.1


# --------------------------------------------------------------------------- which configs
def batch_key(config: TrainConfig) -> str:
    """What seeds trained as one batch share: the whole config but ``seed`` and
    ``split_seed`` (each seed keeps its own split)."""
    d = config.to_dict()
    d.pop("seed")
    d.pop("split_seed")
    return json.dumps(d, sort_keys=True)


def groups(configs) -> list[list[TrainConfig]]:
    """The configs in groups that can train as one batch (each run once), in the order of
    each group's first config."""
    out: dict[str, dict[str, TrainConfig]] = {}
    for c in configs:
        out.setdefault(batch_key(c), {}).setdefault(c.name(), c)
    return [list(group.values()) for group in out.values()]


def why_not(configs) -> str | None:
    """Why these configs cannot train as one batched net, or None when they can."""
    configs = list(configs)
    if not configs or not all(isinstance(c, TrainConfig) for c in configs):
        return "it takes a non-empty list of recur.config.TrainConfig"
    c = configs[0]
    if c.family not in BATCHABLE:
        return (f"family {c.family!r} keeps BatchNorm running statistics (buffers) that a "
                f"batched net cannot update per seed exactly; batched: {', '.join(BATCHABLE)}")
    if c.compile:
        return "torch.compile is not applied to a batched net (compile=True)"
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return "under torchrun (DDP) each run trains alone"
    if len({batch_key(k) for k in configs}) > 1:
        return "the configs differ in more than seed and split_seed"
    if len({k.name() for k in configs}) < len(configs):
        return "the same run is listed twice"
    return None


def check_batchable(configs) -> None:
    """A ``ValueError`` naming the reason when :func:`why_not` finds one."""
    reason = why_not(configs)
    if reason is not None:
        raise ValueError(f"cannot train these runs as one batched net: {reason}; train them "
                         f"one by one (recur.train.train)")


# --------------------------------------------------------------------------- the policy
def worth_batching(family: str, device_type: str, seeds: int = 4, *, bf16: bool | None = None,
                   table=None) -> bool:
    """Did batching ``seeds`` seeds of ``family`` measure faster (total samples/s at least
    :data:`MARGIN` times one by one's) on this kind of device?  Read from the benchmark
    record ``table`` (default ``results/benchmarks/batched_<device_type>.json``), at the
    largest number of seeds measured that is at most ``seeds``.  False where nothing was
    measured for that many seeds, or (``bf16`` given) in another precision than the run's:
    one by one is the default."""
    path = Path(table) if table is not None else BENCHMARKS / f"batched_{device_type}.json"
    try:
        record = json.loads(path.read_text())
        rows = record["rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if bf16 is not None and record.get("bf16") != bf16:  # measured in another precision
        return False
    rows = [r for r in rows if r.get("family") == family and r.get("seeds", 0) > 1]
    if family not in BATCHABLE or seeds < 2 or not rows:
        return False
    below = [r for r in rows if r["seeds"] <= seeds]
    if not below:  # fewer seeds than any measured: no gain was measured for them
        return False
    return max(below, key=lambda r: r["seeds"])["total_ratio"] >= MARGIN


# --------------------------------------------------------------------------- the wide net
class GroupedLinear(torch.nn.Module):
    """``n`` seeds' ``Linear(in, out)`` as one layer: (B, n·in) -> (B, n·out), seed i's
    features in the i-th block; weight (n, out, in), bias (n, out)."""

    def __init__(self, n: int, linear: torch.nn.Linear):
        super().__init__()
        self.n = n
        like = dict(dtype=linear.weight.dtype, device=linear.weight.device)
        self.weight = torch.nn.Parameter(torch.empty(n, *linear.weight.shape, **like))
        self.bias = (torch.nn.Parameter(torch.empty(n, 1, linear.out_features, **like))
                     if linear.bias is not None else None)

    def forward(self, h):
        h = h.reshape(h.shape[0], self.n, -1).transpose(0, 1)  # (n, B, in)
        w = self.weight.transpose(1, 2)  # (n, in, out)
        out = torch.bmm(h, w) if self.bias is None else torch.baddbmm(self.bias, h, w)
        return out.transpose(0, 1).reshape(out.shape[1], -1)  # (B, n·out)


def _grouped(n: int, layer: torch.nn.Module) -> torch.nn.Module | None:
    """The wide counterpart of one layer with parameters (None: a layer without any)."""
    if isinstance(layer, torch.nn.Linear):
        return GroupedLinear(n, layer)
    if isinstance(layer, torch.nn.Conv2d):  # n seeds' channels side by side, groups apart
        c = layer
        return torch.nn.Conv2d(n * c.in_channels, n * c.out_channels, c.kernel_size,
                               stride=c.stride, padding=c.padding, dilation=c.dilation,
                               groups=n * c.groups, bias=c.bias is not None,
                               padding_mode=c.padding_mode, dtype=c.weight.dtype,
                               device=c.weight.device)
    if any(True for _ in layer.parameters(recurse=False)):
        raise ValueError(f"cannot batch a {type(layer).__name__} layer")
    return None


def widen(net: torch.nn.Module, n: int) -> torch.nn.Module:
    """``n`` copies of ``net`` side by side as one net (parameters uninitialised): every
    convolution grouped by seed, every linear layer a :class:`GroupedLinear`; the net's
    own forward code runs on activations (B, n·C, H, W) or (B, n·F) whose i-th channel or
    feature block is seed i's.  Parameters keep their names; each is seed-major, so
    ``p.reshape(n, -1)[i]`` is seed i's."""
    wide = copy.deepcopy(net)
    for name, layer in list(wide.named_modules()):
        if name and (grouped := _grouped(n, layer)) is not None:
            parent, _, leaf = name.rpartition(".")
            setattr(wide.get_submodule(parent), leaf, grouped)
    return wide


# --------------------------------------------------------------------------- training
@dataclasses.dataclass
class _Batch:
    """The seeds' runs (each as :func:`recur.train.train` holds it) and their wide net."""
    config: TrainConfig  # the first seed's: everything but the seed is shared
    runs: list  # recur.train.Run, one per seed
    rngs: list  # each seed's global random state (torch, numpy, python) after its set-up
    wide: torch.nn.Module  # :func:`widen` of the seeds' nets, holding their weights
    optimizer: torch.optim.Optimizer  # over the wide net's parameters
    shapes: list  # the optimizer's parameters' shapes in one seed's net, in its order


def _stack(runs: list, rngs: list) -> _Batch:
    """The seeds' weights in one wide net, and one optimizer over it built by the
    trainer's recipe, with the seeds' optimizer states stacked in it."""
    config, n = runs[0].config, len(runs)
    wide = widen(runs[0].net, n)
    if config.channels_last:
        wide = wide.to(memory_format=torch.channels_last)
    with torch.no_grad():
        for name, p in wide.named_parameters():
            p.copy_(torch.stack([r.net.get_parameter(name) for r in runs]).reshape(p.shape))
    optimizer = make_optimizer(config, wide)
    shapes = [p.shape for g in runs[0].optimizer.param_groups for p in g["params"]]
    wide_shapes = [p.shape for g in optimizer.param_groups for p in g["params"]]
    optimizer.load_state_dict(_stacked_state([r.optimizer.state_dict() for r in runs],
                                             wide_shapes))
    return _Batch(config, runs, rngs, wide, optimizer, shapes)


def _stacked_state(states: list[dict], shapes: list) -> dict:
    """The seeds' optimizer ``state_dict``s as the wide net's: every per-parameter tensor
    stacked (``shapes``: the wide parameters'); the step count, the same for all, once."""
    first = states[0]
    per = {k: {name: torch.stack([s["state"][k][name] for s in states]).reshape(shapes[k])
               if torch.is_tensor(v) and v.ndim else v for name, v in entry.items()}
           for k, entry in first["state"].items()}
    return {"state": per, "param_groups": copy.deepcopy(first["param_groups"])}


def _seed_state(state: dict, i: int, shapes: list) -> dict:
    """Seed ``i``'s share of the wide optimizer's ``state_dict`` (copies, not views)."""
    per = {k: {name: (v.reshape(-1, shapes[k].numel())[i].reshape(shapes[k]) if v.ndim
                      else v).clone() if torch.is_tensor(v) else v
               for name, v in entry.items()} for k, entry in state["state"].items()}
    return {"state": per, "param_groups": copy.deepcopy(state["param_groups"])}


def _unstack(b: _Batch) -> None:
    """Every seed's weights and optimizer state back into its own net and optimizer."""
    state, n = b.optimizer.state_dict(), len(b.runs)
    with torch.no_grad():
        for name, p in b.wide.named_parameters():
            seeds = p.reshape(n, -1)
            for i, run in enumerate(b.runs):
                mine = run.net.get_parameter(name)
                mine.copy_(seeds[i].reshape(mine.shape))
        for i, run in enumerate(b.runs):
            run.optimizer.load_state_dict(_seed_state(state, i, b.shapes))


def _epoch(b: _Batch, epoch: int) -> tuple[list[dict], float]:
    """One pass of every seed over its own training set: (each seed's history entry, as
    :func:`recur.train.train` writes it; the epoch's seconds)."""
    c, opt, runs = b.config, b.optimizer, b.runs
    loss_fn, correct_fn = losses.OBJECTIVES[c.experiment]
    n = len(runs[0].train_src)
    steps = -(-n // c.batch_size)
    device = runs[0].device
    t0 = time.perf_counter()
    loss_sum = torch.zeros(len(runs), device=device)  # (seeds,): no sync per step
    hits = torch.zeros(len(runs), device=device, dtype=torch.long)
    streams = [r.train_src.batches(c.batch_size, r.generator) for r in runs]
    for step, pairs in enumerate(zip(*streams)):
        x = torch.stack([p[0] for p in pairs])  # (seeds, B, C, H, W): each seed's own
        y = torch.stack([p[1] for p in pairs])  # (seeds, B) or (seeds, B, H, W)
        wide_x = torch.cat([p[0] for p in pairs], 1)  # (B, seeds·C, H, W)
        x = x.to(torch.float64) if c.precision == "fp64" and x.is_floating_point() else x
        wide_x = trainer.as_input(wide_x, c)
        trainer.set_lr(opt, c, epoch, step, steps)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=runs[0].bf16):
            out = b.wide(wide_x)  # (B, seeds·K) or (B, seeds·2, H, W)
            out = out.reshape(out.shape[0], len(runs), -1, *out.shape[2:]).transpose(0, 1)
            loss = torch.func.vmap(loss_fn)(out, y, x)  # (seeds,)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # seed i's weights get seed i's gradient only
        opt.step()
        loss_sum += loss.detach() * float(y.shape[1])
        hits += torch.func.vmap(correct_fn)(out.detach(), y, x).sum(1)
        for r in runs:
            r.samples += y.shape[1]
    seconds = time.perf_counter() - t0
    lr = opt.param_groups[0]["lr"]
    return [trainer.history_entry(epoch, loss_sum[i], hits[i], n, lr, seconds)
            for i in range(len(runs))], seconds


def _train_group(b: _Batch, record_paths: dict, shown: list, stop_after) -> dict:
    """The remaining epochs of seeds that stand at the same epoch, each seed checkpointed
    after every epoch; name -> record (unfinished after ``stop_after`` epochs)."""
    runs = b.runs
    for epoch in range(len(runs[0].history), b.config.epochs):
        if stop_after is not None and runs[0].epochs_run >= stop_after:
            return {r.config.name(): trainer.make_record(
                r.config, False, {"epochs_done": epoch, "history": r.history},
                {"device": str(r.device), "bf16": r.bf16}) for r in runs}
        with torch.enable_grad():  # also when called under no_grad
            entries, seconds = _epoch(b, epoch)
        bad = [(r, h) for r, h in zip(runs, entries) if not math.isfinite(h["loss"])]
        if bad:
            r, h = bad[0]
            raise FloatingPointError(
                f"the training loss of {r.config.name()} became {h['loss']} in epoch "
                f"{epoch + 1} (batched, {len(bad)} of {len(runs)} seeds); stopped. Last good "
                f"checkpoint: {kept(r.ckpt_path, r.saved_epoch)}. Try a lower lr.")
        _unstack(b)
        for run, rng, h, show in zip(runs, b.rngs, entries, shown):
            run.history.append(h)
            run.epochs_run += 1
            run.seconds += seconds
            set_rng_state({**rng, "data": run.generator.get_state()}, run.generator)
            trainer.save_epoch(run, epoch + 1)  # its checkpoint, with its own random state
            show.epoch(h)
    return {r.config.name(): trainer.share_record(r, record_paths[r.config.name()])
            for r in runs}


def _setup_runs(configs, device, ckpt_paths: dict, *, resume, data_root, download, log,
                info) -> tuple[list, list]:
    """Every seed set up by the trainer's own ``setup_run`` (seeding, data, net, optimizer,
    generator, resume), one after the other, with its global random state after it."""
    runs, rngs = [], []
    for c in configs:
        run = trainer.setup_run(c, device, 0, 1, ckpt_paths[c.name()], resume=resume,
                             data_root=data_root, download=download, log=log, info=info)
        runs.append(run)
        rngs.append({k: v for k, v in rng_state(run.generator).items() if k != "data"})
    if len({len(r.train_src) for r in runs}) > 1:
        raise ValueError("the seeds' training sets differ in size: train them one by one")
    return runs, rngs


def _train_locked(configs, device, paths: dict, *, progress_mode, stop_after, log,
                  **setup) -> dict:
    """Set every seed up, then train the seeds at the same epoch as one batch (after an
    interruption they all are, unless one was trained on alone)."""
    runs, rngs = _setup_runs(configs, device, {n: p[1] for n, p in paths.items()}, log=log,
                             **setup)
    at: dict[int, list] = {}
    for i, run in enumerate(runs):
        at.setdefault(len(run.history), []).append(i)
    records = {}
    for members in at.values():
        b = _stack([runs[i] for i in members], [rngs[i] for i in members])
        shown = [Progress(b.runs[j].config, progress_mode, log, done=len(b.runs[j].history))
                 for j in range(len(members))]
        try:
            records.update(_train_group(b, {n: p[0] for n, p in paths.items()}, shown,
                                        stop_after))
        finally:
            for s in shown:
                s.close()
    return records


def train_batched(configs, *, results_dir=None, checkpoint_dir=None, resume: bool = True,
                  progress: str = "auto", stop_after: int | None = None, data_root=None,
                  download: bool = False, wait: float = 0.0, log=print) -> list[dict]:
    """Train the seeds of one config as one batched net; each seed's run record, in the
    order of ``configs``, as :func:`recur.train.train` returns and writes it.  The
    arguments are ``train``'s; runs that already finished are read back, not trained.
    A ``ValueError`` (:func:`why_not`) for configs that cannot be batched exactly."""
    configs = list(configs)
    check_batchable(configs)
    mode = trainer.progress_mode(configs[0], progress)
    quiet = (lambda *a, **k: None) if mode == "none" else log
    device = resolve_device(configs[0].device)
    results_dir = results.results_dir(results_dir)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else results_dir / "checkpoints"
    paths = {c.name(): (results_dir / "runs" / f"{c.name()}.json", ckpt_dir / f"{c.name()}.pt")
             for c in configs}
    done: dict[str, dict] = {}

    def read_finished(todo):
        for c in todo:
            if resume and (record := finished_record(*paths[c.name()])):
                done[c.name()] = record
        return [c for c in todo if c.name() not in done]

    todo = read_finished(configs)
    if todo:
        trainer.check_folders(todo[0], results_dir, ckpt_dir, checkpoint_dir is not None)
        with contextlib.ExitStack() as locks:
            for c in todo:
                locks.enter_context(RunLock(paths[c.name()][1].with_suffix(".lock"),
                                            wait=wait, log=log))
            todo = read_finished(todo)  # finished by a process we waited for
            done.update(_train_locked(todo, device, paths, progress_mode=mode,
                                      stop_after=stop_after, log=log, resume=resume,
                                      data_root=data_root, download=download, info=quiet))
    return [done[c.name()] for c in configs]


def train_all(configs, *, on_record=None, **options) -> list[dict]:
    """Train every config, in order: a config's seeds as one batched net where
    :func:`worth_batching` says it measured faster, else one by one (``train``, whose
    keyword ``options`` these are); ``on_record(record)`` for every run as it ends."""
    records = {}
    for group in groups(configs):
        c = group[0]
        device = resolve_device(c.device)
        fast = (len(group) > 1 and why_not(group) is None and worth_batching(
            c.family, device.type, len(group), bf16=use_bf16(c.precision, device)))
        done = (train_batched(group, **options) if fast else
                [trainer.train(k, **options) for k in group])
        for k, record in zip(group, done):
            records[k.name()] = record
            if on_record is not None:
                on_record(record)
    return [records[c.name()] for c in configs]
