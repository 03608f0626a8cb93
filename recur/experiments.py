"""What the notebooks do with configs and run records, so that they only call and show.

    configs = sweep.grid("mazes", families=["maze"], depths=[8, 20], seeds=[0, 1])
    runs = run_all(configs)          # one row per run; finished runs are read back
    comparison(runs)                 # feed-forward vs recurrent, mean ± s.e. over seeds

Tables are pandas DataFrames; figures are in :mod:`recur.plots`.
"""
from __future__ import annotations

import pandas as pd

from recur import results
from recur.config import TrainConfig
from recur.models import count_parameters


def _form(recurrent: bool) -> str:
    return "recurrent" if recurrent else "feed-forward"


def describe(record: dict) -> str:
    """One line for a finished run: family, depth, form, seed, accuracies and time."""
    return (f"{record['family']:9s} depth {record['depth']:2d} {_form(record['recurrent']):12s} "
            f"seed {record['seed']}: test {record['test_acc']:5.1f}%  "
            f"train {record['train_acc']:5.1f}%  ({record['seconds']:.1f} s)")


def run_all(configs, *, progress: str = "auto", log=print, results_dir=None) -> pd.DataFrame:
    """Train every config in turn (``recur.train.train``; a run that already finished is
    read back from its record, not trained again), ``log`` one line per run as it ends
    (``log=None``: silent), and return the tidy table: one row per run, the record's
    fields as columns (``recur.results.COLUMNS`` first).  ``progress``: as for ``train``,
    except ``auto``: a bar per model when a person watches (JupyterLab, a terminal), none
    when papermill, nbval or CI run the notebook."""
    from recur import train as trainer  # looked up per call: tests may replace it
    from recur.progress import interactive

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
    if not records:
        return pd.DataFrame(columns=results.COLUMNS)
    df = pd.DataFrame(records)
    return df[[c for c in results.COLUMNS if c in df] + [c for c in df if c not in results.COLUMNS]]


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
    from recur.train import build_net

    rows, seen = [], set()
    for c in configs:
        key = (c.family, c.dataset, c.width, c.dilation, c.depth)
        if key in seen:
            continue
        seen.add(key)
        counts = {f"{_form(r)} params": count_parameters(build_net(c.replace(recurrent=r)))
                  for r in (False, True)}
        rows.append({"family": c.family, "width": c.width, "effective depth": c.depth,
                     "n (modules or iterations)": c.iterations, **counts})
    return pd.DataFrame(rows)


def accuracy_on_test_set(config: TrainConfig, net) -> float:
    """Test accuracy (%) of ``net`` on ``config``'s test set, at its trained iterations,
    on the device the net is on (e.g. after editing a trained net's weights), in the
    precision the trainer scored it in: the untouched net gives its record's test_acc."""
    from recur.data import make_data
    from recur.devices import use_bf16
    from recur.train import evaluate

    device = next(net.parameters()).device
    _, test = make_data(config, device)
    return evaluate(net, test, config.experiment, bf16=use_bf16(config.precision, device))[-1]


# --------------------------------------------------------------------------- per iteration
def iteration_table(runs: pd.DataFrame, column: str = "test_acc_per_iteration") -> pd.DataFrame:
    """The recurrent runs' per-iteration accuracies (``column`` holds one list per run):
    mean, standard error and count over seeds per depth and test-time iteration, with the
    iterations the nets were trained for."""
    rec = runs.loc[runs.recurrent.astype(bool), ["depth", "iterations", "seed", column]].reset_index(drop=True)
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
