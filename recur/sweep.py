"""Sweeps: a grid of runs (families × depths × seeds × datasets, both forms), submitted
through submitit as one job array: SLURM on a cluster, or local processes.

Results come back through the run records, so a rerun of the same sweep submits only the
configs that have no record yet.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from recur import results
from recur.config import TrainConfig
from recur.depths import valid_depths
from recur.params import SPLIT_POLICIES
from recur.profiles import make_config
from recur.train import train


def per_seed_split(split: str, dataset: str) -> bool:
    """Does ``split`` give each seed its own train/test split of ``dataset``?  Only for
    ``split="per-seed"`` and the digits: the other datasets have official splits."""
    if split not in SPLIT_POLICIES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_POLICIES)}, got {split!r}")
    return split == "per-seed" and dataset == "digits"


def grid(experiment: str, *, families, depths=None, seeds=(0,), datasets=None,
         forms=(False, True), profile: str = "quick", split: str = "fixed",
         **overrides) -> list[TrainConfig]:
    """Every (dataset, family, depth, form, seed) combination as a config.  ``depths``:
    a list for every family, or a dict family → list; by default the first four valid
    depths of each family.  ``seeds``: a list for every family, or a dict family → list.
    ``split``: ``per-seed`` gives every seed its own train/test split (``split_seed`` =
    seed, both forms of a seed sharing it) where the dataset has no official one
    (:func:`per_seed_split`); ``fixed``: one split for all."""
    datasets = datasets or (["mazes"] if experiment == "mazes" else ["digits"])
    configs = []
    for dataset, family in itertools.product(datasets, families):
        ds = depths.get(family) if isinstance(depths, dict) else depths
        ss = seeds[family] if isinstance(seeds, dict) else seeds
        own = per_seed_split(split, dataset)
        for depth, recurrent, seed in itertools.product(ds or valid_depths(family)[:4],
                                                        forms, ss):
            c = make_config(profile, experiment, family=family, recurrent=recurrent,
                            depth=depth, dataset=dataset, seed=seed, **overrides)
            configs.append(c.replace(split_seed=c.seed) if own else c)
    return configs


def describe(configs, *, per_seed: bool) -> str:
    """One line for a classification sweep: how many runs on which dataset and split, the
    profile, and the seeds and depths of every family (in the order the configs give)."""
    c = configs[0]
    families = dict.fromkeys(k.family for k in configs)
    seeds = {f: list(dict.fromkeys(k.seed for k in configs if k.family == f)) for f in families}
    depths = {f: list(dict.fromkeys(k.depth for k in configs if k.family == f))
              for f in families}
    how = "a train/test split per seed" if per_seed else "one train/test split"
    return (f"{len(configs)} runs on {c.dataset} ({how}), {c.profile} profile; seeds "
            f"{seeds} depths {depths}")


def pending(configs, results_dir=None) -> list[TrainConfig]:
    """The configs that have no run record yet."""
    runs = results.results_dir(results_dir) / "runs"
    return [c for c in configs if not (runs / f"{c.name()}.json").exists()]


def run_config(config: dict, results_dir: str | None = None) -> dict:
    """One array task: train one config (resuming from its checkpoint after a requeue).
    A requeued task may find the lock of its predecessor on another node, which stops
    refreshing it: waiting past the lock's staleness (5 min) lets the task take it over."""
    record = train(TrainConfig.from_dict(config), results_dir=results_dir, progress="lines",
                   wait=600)
    return {k: record.get(k) for k in ("name", "test_acc", "seconds")}


def submit(configs, *, launcher: str = "local", folder="results/sweeps", results_dir=None,
           timeout_min: int = 60, array_parallelism: int = 16, partition: str | None = None,
           gpus_per_node: int = 0, cpus_per_task: int = 2, slurm_args: dict | None = None):
    """Submit every config that has no record as one job array; returns the jobs (empty
    when nothing is left to run).  ``launcher``: ``slurm`` or ``local``."""
    import submitit

    if launcher not in ("local", "slurm"):
        raise ValueError(f"launcher must be 'local' or 'slurm', got {launcher!r}")
    todo = pending(configs, results_dir)
    if not todo:
        return []
    folder = Path(folder)
    if launcher == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=timeout_min)
    else:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
        params = dict(timeout_min=timeout_min, slurm_array_parallelism=array_parallelism,
                      cpus_per_task=cpus_per_task, gpus_per_node=gpus_per_node,
                      slurm_additional_parameters=slurm_args or {})
        if partition:
            params["slurm_partition"] = partition
        executor.update_parameters(**params)
    rd = str(results.results_dir(results_dir))
    return executor.map_array(run_config, [c.to_dict() for c in todo], [rd] * len(todo))
