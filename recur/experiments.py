"""What the notebooks do with configs and run records, so that they only call and show.

    configs = sweep.grid("mazes", families=["maze"], depths=[8, 20], seeds=[0, 1])
    runs = run_all(configs)          # one row per run; finished runs are read back
    results.comparison(runs)         # feed-forward vs recurrent, mean ± s.e. over seeds

Tables are pandas DataFrames; figures are in :mod:`recur.plots`.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import torch

from recur import batched, mazes, paper, results, storage, sweep
from recur.config import TrainConfig
from recur.data import make_data, maze_batches
from recur.devices import use_bf16
from recur.evaluation import build_net, evaluate, score
from recur.forms import FORMS
from recur.models import count_parameters, estimate_statistics, head_parameters, iterates
from recur.progress import interactive
from recur import train as trainer  # trainer.train looked up per call: tests may replace it


def describe(record: dict) -> str:
    """One line for a finished run: family, depth, form, seed, accuracies and time."""
    c, m = record["config"], record["metrics"]
    shared = " (one shared BatchNorm)" if c.get("shared_norm") else ""  # else two alike lines
    return (f"{c['family']:9s} depth {c['depth']:2d} {FORMS[c['recurrent']]:12s}{shared} "
            f"seed {c['seed']}: test {m['test_acc']:5.1f}%  "
            f"train {m['train_acc']:5.1f}%  ({m['seconds']:.1f} s)")


def run_all(configs, *, progress: str = "auto", log=print, results_dir=None) -> pd.DataFrame:
    """Train every config (a run that already finished is read back from its record, not
    trained again): the seeds of one config as one batched net where that measured faster
    on this kind of device (:func:`recur.batched.train_all`), else one by one
    (``recur.train.train``); ``log`` one line per run as it ends (``log=None``: silent),
    and return the tidy table: one row per run, in the order given, the record's fields as
    columns (``recur.results.COLUMNS`` first).  ``progress``: as for ``train``, except
    ``auto``: a bar per model when a person watches (JupyterLab, a terminal), none when
    papermill, nbval or CI run the notebook."""
    if progress == "auto":
        progress = "bar" if interactive() else "none"
    configs = list(configs)
    for config in configs:
        if not isinstance(config, TrainConfig):
            raise ValueError(f"run_all takes TrainConfigs (recur.sweep.grid makes them), "
                             f"got {type(config).__name__}")
    shown = None if log is None else (lambda record: log(describe(record)))
    records = batched.train_all(configs, results_dir=results_dir, progress=progress,
                                on_record=shown)
    return results.records_frame(records)


def parameter_counts(configs) -> pd.DataFrame:
    """Trainable parameters of both forms of every model among ``configs`` (one row per
    family, dataset, width, dilation and depth), built as each config builds its model."""
    rows, seen = [], set()
    for c in configs:
        key = (c.family, c.dataset, c.width, c.dilation, c.depth)
        if key in seen:
            continue
        seen.add(key)
        counts = {f"{FORMS[r]} params": count_parameters(build_net(c.replace(recurrent=r)))
                  for r in (False, True)}
        rows.append({"family": c.family, "width": c.width, "effective depth": c.depth,
                     "n (modules or iterations)": c.iterations, **counts})
    return pd.DataFrame(rows)


def accuracy_on_test_set(config: TrainConfig, net) -> float:
    """Test accuracy (%) of ``net`` on ``config``'s test set, at its trained iterations,
    on the device the net is on (e.g. after editing a trained net's weights), in the
    precision the trainer scored it in: the untouched net gives its record's test_acc."""
    return _test_score(config, net)["curve"][-1]


def test_correct(config: TrainConfig, net) -> np.ndarray:
    """Which of ``config``'s test examples ``net`` gets right (bools, in the test set's
    order), scored as :func:`accuracy_on_test_set` scores: two scorings of one net pair
    image by image (:func:`recur.findings.one_net`)."""
    return _test_score(config, net)["correct"]


def _test_score(config: TrainConfig, net) -> dict:
    """:func:`recur.evaluation.score` of ``net`` on ``config``'s test set, on the net's
    device, in the precision the trainer scored it in."""
    device = next(net.parameters()).device
    _, test = make_data(config, device)
    return score(net, test, config.experiment, bf16=use_bf16(config.precision, device))


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


#: :func:`think_longer`'s columns, the forms spelled through FORMS
AT_TRAINED, BEST, BEST_AT, FEED_FORWARD = (f"{FORMS[True]} % at trained", f"best {FORMS[True]} %",
                                           "best at", f"{FORMS[False]} %")


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
                     AT_TRAINED: float(c.loc[c.iteration == n, "mean"].iloc[0]),
                     BEST: float(best["mean"]), BEST_AT: int(best.iteration),
                     FEED_FORWARD: ff.loc[ff.depth == depth, column].str[0].mean()})
    return pd.DataFrame(rows).set_index("depth")


@dataclasses.dataclass(frozen=True)
class VarianceGrowth:
    """How the BatchNorms' mean running variance changes over a net's iterations."""

    table: pd.DataFrame  # one row per iteration, one column per BatchNorm of the module
    factors: pd.Series  # last iteration's over the first's, per BatchNorm
    largest: float  # the largest factor
    iterations: int


def variance_growth(stats: pd.DataFrame) -> VarianceGrowth:
    """From :func:`recur.models.norm_statistics`' rows (one per iteration and BatchNorm)."""
    table = stats.pivot(index="iteration", columns="layer", values="mean running var")
    factors = table.iloc[-1] / table.iloc[0]
    return VarianceGrowth(table, factors, float(factors.max()), int(table.index[-1]))


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
            acc = evaluate(net, larger, "mazes", iterations=iterations,
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
        net = build_net(c)
        at_paper = count_parameters(build_net(c.replace(width=None)))
        head = head_parameters(net) if hasattr(net, "coda") else float("nan")  # DepthNets
        rows[f"{c.family} {FORMS[c.recurrent]} depth {c.depth}"] = {
            "paper width": at_paper, "trained width": count_parameters(net),
            "head %": round(100 * head / count_parameters(net), 1)}
    return pd.DataFrame(rows).T.astype({"paper width": int, "trained width": int})


def width_for_ratio(config, reference, ratio: float) -> int:
    """The width at which ``config``'s model has the parameter count closest to ``ratio``
    times that of ``reference``'s model (at ``reference``'s own width); the smaller width
    on a tie.  Parameters grow with width: doubling, then bisection, finds it."""
    target = ratio * count_parameters(build_net(reference))

    def miss(width):
        return count_parameters(build_net(config.replace(width=width))) - target

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
    name, (ours_mean, ours_se, r18_mean, r18_se) = paper.table1_for(dataset)
    rows = [(f"this run ({dataset})", model, s.loc[family, "mean"], s.loc[family, "se"])
            for family, model in (("resnet_bn", "ours"), ("resnet18", "ResNet-18"))]
    rows += [(f"paper ({name})", "ours", ours_mean, ours_se),
             (f"paper ({name})", "ResNet-18", r18_mean, r18_se)]
    table = pd.DataFrame(rows, columns=["source", "model", "mean", "se"])
    return table.assign(text=[f"{m:.2f} ± {se:.2f}" for m, se in zip(table["mean"], table.se)])


# --------------------------------------------------------------------------- notebook 02
def shallowest_identical(runs: pd.DataFrame) -> bool:
    """At each family's shallowest depth the two forms are one net: do they score exactly
    the same test accuracy for every family and seed?"""
    first = runs[runs.depth == runs.groupby("family").depth.transform("min")]
    same = first.pivot_table(index=["family", "seed"], columns="recurrent", values="test_acc")
    return bool((same[True] == same[False]).all())


def largest_spread(runs: pd.DataFrame) -> dict | None:
    """The (family, form, depth) whose test accuracy spreads most over seeds (the largest
    standard error), with its runs' test and training accuracies in seed order; None when
    no configuration has two seeds (nothing spreads)."""
    keys = ["family", "recurrent", "depth"]
    spread = results.summarise(runs, by=keys)
    spread = spread[spread.n >= 2]  # one seed has no spread (summarise gives it se 0)
    if spread.empty:
        return None
    worst = spread.sort_values("se").iloc[-1]
    its = runs[np.logical_and.reduce([runs[k] == worst[k] for k in keys])].sort_values("seed")
    return {**{k: worst[k] for k in keys}, "test_acc": list(its.test_acc),
            "train_acc": list(its.train_acc)}


def spread_text(runs: pd.DataFrame) -> str:
    """:func:`largest_spread` as the line a notebook prints."""
    worst = largest_spread(runs)
    if worst is None:
        return "largest spread over seeds: none (one seed per configuration)"
    return (f"largest spread over seeds: {worst['family']} {FORMS[worst['recurrent']]} depth "
            f"{worst['depth']}: test {', '.join(f'{a:.1f}%' for a in worst['test_acc'])}, "
            f"train {', '.join(f'{a:.1f}%' for a in worst['train_acc'])}")


# --------------------------------------------------------------------------- notebook 04
def batchnorm_recipe(*, dataset: str, seeds, n_train: int, epochs: int, profile: str,
                     device: str) -> dict:
    """:func:`recur.sweep.grid` keywords of notebook 04's runs: ``n_train`` training images
    (0: all) and ``epochs`` with the lr divided by 10 after three quarters (0: the
    profile's own)."""
    recipe = dict(n_train=n_train or None) | (dict(epochs=epochs, milestones=(3 * epochs // 4,))
                                              if epochs else {})
    return dict(seeds=seeds, datasets=[dataset], profile=profile, device=device, **recipe)


def batchnorm_sweep(*, depth: int, width: int, **recipe) -> tuple[list, list, list]:
    """Notebook 04's configs: ours (the recurrent BatchNorm ResNet of ``depth``, one
    BatchNorm set per iteration, at ``width``, or 0: the width giving the paper's parameter
    ratio to ResNet-18), the same nets with one shared BatchNorm set (none at one
    iteration, where it is the same net) and ResNet-18; ``recipe``: :func:`batchnorm_recipe`'s
    keywords.  Returns (ours, shared, reference)."""
    common = batchnorm_recipe(**recipe)
    reference = sweep.grid("classification", families=["resnet18"], depths=[18],
                           forms=(False,), **common)
    ours = sweep.grid("classification", families=["resnet_bn"], depths=[depth], forms=(True,),
                      **common)
    ratio = paper.TABLE1_PARAMETERS["ours"] / paper.TABLE1_PARAMETERS["resnet18"]
    chosen = width or width_for_ratio(ours[0], reference[0], ratio)
    ours = [o.replace(width=chosen) for o in ours]
    shared = [o.replace(shared_norm=True) for o in ours] if ours[0].iterations > 1 else []
    return ours, shared, reference


@dataclasses.dataclass(frozen=True)
class SizeReport:
    """Parameter counts of ours against ResNet-18 (:func:`size_report`)."""
    sizes: pd.DataFrame  # model_sizes of (ours, ResNet-18)
    ratio: pd.Series  # ours / ResNet-18 at the paper's widths and at the trained ones
    ours: int  # ours' parameters at its trained width
    head_at_reference: float  # % of ours' parameters in its head at ResNet-18's width
    at_reference: int  # ours' parameters at ResNet-18's width
    ratio_at_reference: float  # ours at ResNet-18's width / ResNet-18
    per_iteration: int  # BatchNorm parameters each extra iteration adds
    shared: int  # ours' parameters with one shared BatchNorm set


def size_report(ours: TrainConfig, reference: TrainConfig) -> SizeReport:
    """Notebook 04's parameter arithmetic: ``ours`` (the recurrent BatchNorm ResNet) and
    ``reference`` (ResNet-18) at the paper's and the trained widths, ours at the
    reference's width, with one more iteration, and with one shared BatchNorm."""
    sizes = model_sizes([ours, reference])
    counts = sizes[["paper width", "trained width"]]
    n_ours = int(counts["trained width"].iloc[0])
    at_reference = model_sizes([ours.replace(width=reference.width)])
    deeper = int(model_sizes([ours.replace(depth=ours.depth + 4)])["trained width"].iloc[0])
    n_shared = int(model_sizes([ours.replace(shared_norm=True)])["trained width"].iloc[0])
    return SizeReport(
        sizes=sizes, ratio=counts.iloc[0] / counts.iloc[1], ours=n_ours,
        head_at_reference=at_reference["head %"].iloc[0],
        at_reference=int(at_reference["trained width"].iloc[0]),
        ratio_at_reference=at_reference["trained width"].iloc[0] / counts["trained width"].iloc[1],
        per_iteration=deeper - n_ours, shared=n_shared)


NORMS = {False: "per iteration", True: "one shared"}  # shared_norm -> BatchNorm sets
FITS = ["fit_acc", "train_acc", "test_acc"]  # last epoch (batch statistics), after, test


def shared_norm_table(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The recurrent BatchNorm ResNets with one BatchNorm per iteration beside those trained
    with one shared: per seed (columns ``<accuracy> (<BatchNorm sets>)``) and the means
    over seeds (index shared_norm).  ``fit_acc``: the last epoch's training accuracy as it
    trained (each batch normalised by its own statistics)."""
    ours = runs[runs.family == "resnet_bn"].assign(
        fit_acc=lambda r: r.history.map(lambda h: h[-1]["train_acc"]))
    side = ours.pivot_table(index="seed", columns="shared_norm", values=FITS)[FITS]
    side.columns = [f"{value} ({NORMS[one]})" for value, one in side.columns]
    return side, ours.groupby("shared_norm")[FITS].mean()


def statistics_three_ways(shared) -> dict | None:
    """Which test images the first of ``shared`` (configs of nets trained with one shared
    BatchNorm) gets right (:func:`test_correct`) as trained, and with its statistics
    estimated afresh as one set and one set per iteration
    (:func:`with_estimated_statistics`); None when ``shared`` is empty."""
    if not shared:
        return None
    config = shared[0]
    net = trainer.load_trained(config)
    return {"as trained": test_correct(config, net)} | {
        name: test_correct(config, with_estimated_statistics(config, net, per_iteration=apart))
        for name, apart in (("one set", False), ("per iteration", True))}


def shared_norm_text(means: pd.DataFrame, n_seeds: int, depth: int) -> str:
    """One line for :func:`shared_norm_table`'s means: both BatchNorm settings side by side,
    or why there is no net with one shared BatchNorm (``depth`` is one iteration)."""
    if True not in means.index:
        return f"depth {depth} is one iteration: one shared BatchNorm is the same net; none trained"
    return (f"means over {n_seeds} seeds, one BatchNorm per iteration against one shared: "
            + "; ".join(f"{what} {means.loc[False, col]:.2f}% against {means.loc[True, col]:.2f}%"
                        for col, what in (("fit_acc", "last epoch's training accuracy"),
                                          ("train_acc", "training accuracy after training"),
                                          ("test_acc", "test accuracy"))))


def statistics_text(statistics: dict | None, *, seed: int, per_iteration,
                    depth: int) -> str:
    """One line for :func:`statistics_three_ways` beside ours (``per_iteration``: which test
    images it gets right, the same seed), or why there is nothing to separate."""
    if statistics is None:
        return f"depth {depth} is one iteration: nothing to separate"
    return (f"seed {seed}, the net trained with one shared BatchNorm, test accuracy: "
            + ", ".join(f"{100 * np.mean(v):.1f}% {k}" for k, v in statistics.items())
            + f" (statistics estimated afresh, as one set or per iteration); ours, one "
              f"BatchNorm per iteration, the same seed: {100 * np.mean(per_iteration):.1f}%")
