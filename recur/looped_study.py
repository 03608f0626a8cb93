"""Notebook 06's study of looped transformers on p-hop induction, each one call: the task
shown and checked against the independent solver, the nets' parameter counts, thinking
longer, and how far each iteration moves the features, for the transformers and for
notebook 03's recurrent maze solvers on one scale.

The runs themselves are :func:`recur.experiments.run_all`'s; the verdicts are
:func:`recur.claims.looped`'.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from recur import analysis, data, experiments, phop, sweep
from recur import train as trainer
from recur.config import TrainConfig
from recur.datasets import INFO
from recur.depths import iterations_for
from recur.forms import FORMS

#: How notebook 06 names its two tasks (the ``task`` column of :func:`update_table`).
TASKS = {"phop": "p-hop (transformer)", "mazes": "mazes (notebook 03's solver)"}
#: :func:`task_checks`' column of the best guess from the last symbol alone
LAST_SYMBOL = "last-symbol guess %"
#: Symbols the notebook draws the p-hop tokens with (token k is SYMBOLS[k]).
SYMBOLS = "abcdefghijklmnopqrstuvwxyz"


def grid(depths, seeds, *, hops: int, profile: str, device: str) -> list[TrainConfig]:
    """Both forms of the transformer at every depth and seed, on ``hops``-hop sequences."""
    return sweep.grid("classification", families=["transformer"], datasets=["phop"],
                      depths=depths, seeds=seeds, profile=profile, hops=hops, device=device)


def maze_solvers(depth: int, seeds, *, profile: str, device: str) -> list[TrainConfig]:
    """Notebook 03's recurrent maze solvers at ``depth`` (small mazes), one per seed: the
    runs notebook 03 made are read back, the others trained."""
    return sweep.grid("mazes", families=["maze"], depths=[depth], seeds=seeds, forms=(True,),
                      profile=profile, device=device)


def deepest(configs) -> list[TrainConfig]:
    """Both forms at the deepest depth of ``configs``, every seed."""
    top = max(c.depth for c in configs)
    return [c for c in configs if c.depth == top]


def describe(configs) -> str:
    """What the sweep trains: depths, forms, seeds and the recipe of ``configs``."""
    c = configs[0]
    depths = sorted({k.depth for k in configs})
    seeds = list(dict.fromkeys(k.seed for k in configs))
    info = INFO[c.dataset]
    return (f"{len(configs)} runs: depths {depths} x {{{', '.join(FORMS.values())}}} x seeds "
            f"{seeds}\n{c.profile} recipe: width {c.width}, {c.heads or 4} heads, "
            f"{c.n_train:,} training sequences of {info.size} tokens over {info.channels} "
            f"symbols, {c.hops} hop{'s' * (c.hops > 1)}, {c.epochs} epochs of {c.optimizer} "
            f"(lr {c.lr}), {c.precision}")


def show_sequence(tokens, hops: int) -> str:
    """One sequence as symbols with its hops marked: the last position (where the chain
    starts) in parentheses, each hop's earlier occurrence in brackets, the position it moves
    to in braces; the answer is the last braced symbol."""
    row = np.asarray(tokens).tolist()
    hopped = phop.chain(row, hops)
    marks = ({len(row) - 1: "({})"} | {j: "[{}]" for j, _ in hopped}
             | {after: "{{{}}}" for _, after in hopped})
    symbols = [marks.get(i, " {} ").format(SYMBOLS[t]) for i, t in enumerate(row)]
    steps = "\n".join(f"hop {k}: the last '{SYMBOLS[row[i]]}' before position {i} is at "
                      f"{j}, so move to {after}"
                      for k, ((j, after), i) in enumerate(
                          zip(hopped, [len(row) - 1] + [a for _, a in hopped]), 1))
    return (f"positions 0-{len(row) - 1}: " + "".join(symbols)
            + f"\n{steps}\nanswer: '{SYMBOLS[row[hopped[-1][1]]]}'")


def last_symbol_guess(split) -> float:
    """The best a guess from the last symbol alone scores on ``split`` (%): for each last
    symbol, its most common answer.  A floor a net can reach without following any hop
    (one hop never answers the last symbol; two hops often do)."""
    last, answers = split.tokens[:, -1], split.answers
    hits = sum(np.bincount(answers[last == t]).max() for t in np.unique(last))
    return round(100 * hits / len(answers), 1)


def task_checks(configs) -> pd.DataFrame:
    """Per seed of ``configs``: the sizes of its train and test splits, how many answers
    the independent solver (:func:`recur.phop.solve`) gives differently, how many test
    sequences are also training ones, the most common test answer's share (what always
    guessing it would score) and the best guess from the last symbol
    (:func:`last_symbol_guess`)."""
    rows = []
    for c in {k.seed: k for k in configs}.values():
        train, test = data.phop_splits(c)
        wrong = sum(int((phop.solve(s.tokens, c.hops) != s.answers).sum())
                    for s in (train, test))
        rows.append({"seed": c.seed, "train": len(train.answers), "test": len(test.answers),
                     "answers unlike the solver's": wrong,
                     "train/test overlap": phop.overlap(train.tokens, test.tokens),
                     "most common answer %": round(
                         100 * np.bincount(test.answers).max() / len(test.answers), 1),
                     LAST_SYMBOL: last_symbol_guess(test)})
    return pd.DataFrame(rows).set_index("seed")


def think_longer(runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`recur.experiments.think_longer` of the test scores: per depth, the looped
    nets at their trained and their best iteration count, beside the deep nets."""
    column = "test_acc_per_iteration"
    filled = runs[column].where(runs.recurrent.astype(bool), runs.test_acc.map(lambda a: [a]))
    return experiments.think_longer(runs.assign(**{column: filled}), column)


def _test_inputs(config: TrainConfig, n: int) -> torch.Tensor:
    if config.dataset == "phop":
        return torch.as_tensor(data.phop_splits(config)[1].tokens[:n])
    return next(data.maze_batches(config, "test", "cpu").batches(n))[0]


def update_table(configs, *, longer: int = 3, n: int = 500) -> pd.DataFrame:
    """How far each module moves the features (:func:`recur.analysis.trajectory`) on the
    first ``n`` test inputs of each config's trained net: a recurrent net for ``longer``
    times its trained iterations, a feed-forward one through its modules.  One row per
    net and step: task (:data:`TASKS`), recurrent, depth, seed, iterations, iteration,
    size (relative update), step (the update's norm) and norm (the features')."""
    rows = []
    for c in configs:
        net, n_trained = trainer.load_trained(c), iterations_for(c.family, c.depth)
        steps = n_trained * longer if c.recurrent else None
        path = analysis.trajectory(net, _test_inputs(c, n), steps)
        for k, (size, step, norm) in enumerate(zip(path["size"], path["step"], path["norm"]), 1):
            rows.append({"task": TASKS[c.dataset], "recurrent": c.recurrent, "depth": c.depth,
                         "seed": c.seed, "iterations": n_trained, "iteration": k,
                         "size": size, "step": step, "norm": norm})
    return pd.DataFrame(rows)


def _reading(steps: float, norms: float) -> str:
    """What a run's steps and norms did from the trained count to the last (ratios)."""
    if steps < 0.5:
        return "the steps shrink: the iterations settle"
    if steps > 2:
        return "the steps grow"
    return ("the steps stay about the same size while the features grow: they drift, they "
            "do not settle" if norms > 1.5 else "the steps stay about the same size: the "
            "features keep moving")


def update_text(table: pd.DataFrame) -> str:
    """One line per task's recurrent nets (means over seeds): the relative update after
    the first iteration, at the trained count and at the last one run, and from the
    trained count to the last how the step itself and the features' norm changed."""
    rec = table[table.recurrent.astype(bool)]
    mean = rec.groupby(["task", "iterations", "iteration"])[["size", "step", "norm"]].mean()
    lines = []
    for (task, n), m in mean.groupby(level=[0, 1]):
        m = m.droplevel([0, 1])
        last = int(m.index.max())
        steps, norms = m.step[last] / m.step[n], m.norm[last] / m.norm[n]
        lines.append(f"{task}: relative update {m['size'][1]:.3f} after iteration 1, "
                     f"{m['size'][n]:.3f} at the trained {n}, {m['size'][last]:.3f} at {last}; "
                     f"from {n} to {last} the step changes x{steps:.2f} and the features' "
                     f"norm x{norms:.2f}: {_reading(steps, norms)}")
    return "\n".join(lines) + f" (means over {rec.seed.nunique()} seeds; a description, " \
                              "not a finding)"
