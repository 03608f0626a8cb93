"""What the notebooks do with configs and run records, so that they only call and show.

    configs = sweep.grid("mazes", families=["maze"], depths=[8, 20], seeds=[0, 1])
    runs = run_all(configs)          # one row per run; finished runs are read back
    comparison(runs)                 # feed-forward vs recurrent, mean ± s.e. over seeds

Tables are pandas DataFrames; figures are in :mod:`recur.plots`.
"""
from __future__ import annotations

import json

import pandas as pd
import torch

from recur import mazes, paper, results, storage
from recur.config import TrainConfig
from recur.data import make_data, maze_batches
from recur.devices import use_bf16
from recur.forms import FORMS
from recur.models import count_parameters, estimate_statistics, head_parameters, iterates
from recur.progress import interactive
from recur import train as trainer  # trainer.train looked up per call: tests may replace it


def describe(record: dict) -> str:
    """One line for a finished run: family, depth, form, seed, accuracies and time."""
    c, m = record["config"], record["metrics"]
    return (f"{c['family']:9s} depth {c['depth']:2d} {FORMS[c['recurrent']]:12s} "
            f"seed {c['seed']}: test {m['test_acc']:5.1f}%  "
            f"train {m['train_acc']:5.1f}%  ({m['seconds']:.1f} s)")


def run_all(configs, *, progress: str = "auto", log=print, results_dir=None) -> pd.DataFrame:
    """Train every config in turn (``recur.train.train``; a run that already finished is
    read back from its record, not trained again), ``log`` one line per run as it ends
    (``log=None``: silent), and return the tidy table: one row per run, the record's
    fields as columns (``recur.results.COLUMNS`` first).  ``progress``: as for ``train``,
    except ``auto``: a bar per model when a person watches (JupyterLab, a terminal), none
    when papermill, nbval or CI run the notebook."""
    if progress == "auto":
        progress = "bar" if interactive() else "none"

    records = []
    for config in configs:
        if not isinstance(config, TrainConfig):
            raise ValueError(f"run_all takes TrainConfigs (recur.sweep.grid makes them), "
                             f"got {type(config).__name__}")
        record = trainer.train(config, results_dir=results_dir, progress=progress)
        records.append(record)
        if log is not None:
            log(describe(record))
    return results.records_frame(records)


def comparison(runs: pd.DataFrame) -> pd.DataFrame:
    """``recur.results.comparison`` (feed-forward vs recurrent, mean ± s.e. over seeds and
    their gap), without the key columns that have one value only, indexed by the rest."""
    table = results.comparison(runs)
    keys = ["experiment", "dataset", "family", *results.SETTINGS, "depth"]
    constant = [k for k in keys[:-1] if table[k].nunique() == 1]
    return table.drop(columns=constant).set_index([k for k in keys if k not in constant])


def parameter_counts(configs) -> pd.DataFrame:
    """Trainable parameters of both forms of every model among ``configs`` (one row per
    family, dataset, width, dilation and depth), built as each config builds its model."""
    rows, seen = [], set()
    for c in configs:
        key = (c.family, c.dataset, c.width, c.dilation, c.depth)
        if key in seen:
            continue
        seen.add(key)
        counts = {f"{FORMS[r]} params": count_parameters(trainer.build_net(c.replace(recurrent=r)))
                  for r in (False, True)}
        rows.append({"family": c.family, "width": c.width, "effective depth": c.depth,
                     "n (modules or iterations)": c.iterations, **counts})
    return pd.DataFrame(rows)


def accuracy_on_test_set(config: TrainConfig, net) -> float:
    """Test accuracy (%) of ``net`` on ``config``'s test set, at its trained iterations,
    on the device the net is on (e.g. after editing a trained net's weights), in the
    precision the trainer scored it in: the untouched net gives its record's test_acc."""
    device = next(net.parameters()).device
    _, test = make_data(config, device)
    bf16 = use_bf16(config.precision, device)
    return trainer.evaluate(net, test, config.experiment, bf16=bf16)[-1]


def with_estimated_statistics(config: TrainConfig, net, *, per_iteration: bool = True):
    """``net`` (trained for ``config``) with its BatchNorm statistics estimated afresh from
    the config's training images, in order and without augmentation, one training batch at
    a time; ``per_iteration``: one set per iteration (:func:`recur.models.estimate_statistics`)."""
    train, _ = make_data(config, next(net.parameters()).device)
    images = train.eval_view() or train
    return estimate_statistics(net, (x for x, _ in images.batches(config.batch_size)),
                               per_iteration=per_iteration)


# --------------------------------------------------------------------------- per iteration
def iteration_table(runs: pd.DataFrame, column: str = "test_acc_per_iteration") -> pd.DataFrame:
    """The recurrent runs' per-iteration accuracies (``column`` holds one list per run):
    mean, standard error and count over seeds per depth and test-time iteration, with the
    iterations the nets were trained for."""
    columns = ["depth", "iterations", "seed", column]
    rec = runs.loc[runs.recurrent.astype(bool), columns].reset_index(drop=True)
    long = rec.explode(column)
    long["iteration"] = long.groupby(level=0).cumcount() + 1
    long = long.astype({column: float, "iterations": int})
    return results.summarise(long, by=("depth", "iterations", "iteration"), value=column)


def think_longer(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per depth: the recurrent nets' accuracy (mean over seeds) at their trained
    iterations and at their best test-time iteration count, beside the feed-forward nets'
    (the first value of ``column``, which holds one list of accuracies per run)."""
    curves = iteration_table(runs, column)
    ff = runs.loc[~runs.recurrent.astype(bool)]
    rows = []
    for depth, c in curves.groupby("depth"):
        n = int(c.iterations.iloc[0])
        best = c.loc[c["mean"].idxmax()]
        rows.append({"depth": depth, "trained iterations": n,
                     "recurrent % at trained": float(c.loc[c.iteration == n, "mean"].iloc[0]),
                     "best recurrent %": float(best["mean"]), "best at": int(best.iteration),
                     "feed-forward %": ff.loc[ff.depth == depth, column].str[0].mean()})
    return pd.DataFrame(rows).set_index("depth")


# --------------------------------------------------------------------------- larger mazes
LARGER_MAZES = "larger-mazes"  # the study's folder under <results>/studies/


def larger_mazes(configs, *, extra_cells: int = 2, n: int = 1000, results_dir=None,
                 device: str = "cpu") -> pd.DataFrame:
    """Can a maze solver think longer on mazes larger than it was trained on?  Each trained
    config's net scored on ``n`` test mazes ``extra_cells`` cells wider than its own (at most
    its own test-set size), after 1, 2, … iterations up to its trained count plus its
    ``extra_iterations`` (one value for a feed-forward net).  One row per run: its config
    fields, ``cells`` and ``acc_per_iteration`` (a list).  Each run's result is kept under
    ``<results>/studies/larger-mazes/``; runs without one are scored from their weights."""
    folder = results.results_dir(results_dir) / "studies" / LARGER_MAZES
    rows = []
    for c in configs:
        cells = mazes.cells_for(c.maze_size) + extra_cells
        size = min(c.n_test or n, n)
        path = folder / f"{c.name()}-cells{cells}-n{size}.json"
        if path.is_file():
            found = storage.read_json(path, "study result", keys=("acc_per_iteration",))
        else:
            net = trainer.load_trained(c, results_dir=results_dir, device=device)
            larger = maze_batches(c, "test", device, cells=cells, n=size)
            iterations = net.iterations + c.extra_iterations if iterates(net) else None
            acc = trainer.evaluate(net, larger, "mazes", iterations=iterations,
                           bf16=use_bf16(c.precision, torch.device(device)))
            found = {"name": c.name(), "cells": cells, "n_mazes": size, "acc_per_iteration": acc}
            storage.atomic_write(path, json.dumps(found, indent=1))
        rows.append({**c.to_dict(), "name": c.name(), "iterations": c.iterations if
                     c.recurrent else None, "cells": cells,
                     "acc_per_iteration": found["acc_per_iteration"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- notebook 04
def model_sizes(configs) -> pd.DataFrame:
    """Trainable parameters of each config's model at the paper's width (``width=None``)
    and at the width it trains at, and the share of its head (the layers run once, after
    the last module) at that width; one row per config, indexed by a short description."""
    rows = {}
    for c in configs:
        net = trainer.build_net(c)
        at_paper = count_parameters(trainer.build_net(c.replace(width=None)))
        head = head_parameters(net) if hasattr(net, "coda") else float("nan")  # DepthNets
        rows[f"{c.family} {FORMS[c.recurrent]} depth {c.depth}"] = {
            "paper width": at_paper, "trained width": count_parameters(net),
            "head %": round(100 * head / count_parameters(net), 1)}
    return pd.DataFrame(rows).T.astype({"paper width": int, "trained width": int})


def width_for_ratio(config, reference, ratio: float) -> int:
    """The width at which ``config``'s model has the parameter count closest to ``ratio``
    times that of ``reference``'s model (at ``reference``'s own width); the smaller width
    on a tie.  Parameters grow with width: doubling, then bisection, finds it."""
    target = ratio * count_parameters(trainer.build_net(reference))

    def miss(width):
        return count_parameters(trainer.build_net(config.replace(width=width))) - target

    low, high = 2, 4
    if miss(low) >= 0:
        return low
    while miss(high) < 0:  # invariant from here on: miss(low) < 0 <= miss(high)
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if miss(mid) < 0 else (low, mid)
    return low if -miss(low) <= miss(high) else high


def table1(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Paper Table 1 beside this run: ours (the recurrent BatchNorm ResNet, family
    ``resnet_bn``, one BatchNorm set per iteration) and ResNet-18, mean ± standard error
    over seeds; the paper's row is for ``dataset``, or CIFAR-10 where the paper has none.
    Columns source, model, mean, se, text."""
    if "shared_norm" in runs:  # the shared-BatchNorm variant is not the paper's model
        runs = runs[~runs["shared_norm"].astype(bool)]
    s = results.summarise(runs, by=("family",)).set_index("family")
    name = dataset if dataset in paper.TABLE1 else "cifar10"
    ours_mean, ours_se, r18_mean, r18_se = paper.TABLE1[name]
    rows = [(f"this run ({dataset})", model, s.loc[family, "mean"], s.loc[family, "se"])
            for family, model in (("resnet_bn", "ours"), ("resnet18", "ResNet-18"))]
    rows += [(f"paper ({name})", "ours", ours_mean, ours_se),
             (f"paper ({name})", "ResNet-18", r18_mean, r18_se)]
    table = pd.DataFrame(rows, columns=["source", "model", "mean", "se"])
    return table.assign(text=[f"{m:.2f} ± {se:.2f}" for m, se in zip(table["mean"], table.se)])
