"""Notebook 03's studies of the maze solvers, each one call: the receptive field against
depth, what the solvers predict, thinking longer, and the one-seed size and dilation
studies (each an empty table when skipped), with the table or figure each one shows.

The runs themselves are :func:`recur.experiments.run_all`'s; the verdicts are
:func:`recur.claims.mazes`'.
"""
from __future__ import annotations

import time

import pandas as pd
import torch

from recur import experiments, losses, mazes, paper, plots, results, sweep
from recur.config import TrainConfig
from recur.data import maze_batches
from recur.forms import FORMS
from recur.models import build_model, convs_to_span, receptive_field
from recur import train as trainer

#: The main sweep's default depths (notebook 03's, the quick profile's), with which
#: ``studies="auto"`` runs the size and dilation studies.
DEFAULT_DEPTHS = (8, 20)
SIZES_SKIPPED = "size study skipped (see the parameters cell)"
DILATION_SKIPPED = "dilation study skipped (see the parameters cell)"


def studies_wanted(studies: str, depths) -> bool:
    """Run the size and dilation studies?  ``studies``: yes, no, or auto (with the main
    sweep's default depths only, so that a sweep at other depths stays short)."""
    return studies == "yes" or (studies == "auto" and list(depths) == list(DEFAULT_DEPTHS))


def describe(configs, *, studies: bool) -> str:
    """What the main sweep trains: depths, forms, seeds and the recipe of ``configs``."""
    c = configs[0]
    depths = sorted({k.depth for k in configs})
    seeds = list(dict.fromkeys(k.seed for k in configs))
    skip = "" if studies else ("\nsize and dilation studies (sections 6, 7) skipped: "
                               "-p studies yes (or --profile extended) runs them")
    return (f"{len(configs)} runs: depths {depths} x {{feed-forward, recurrent}} x seeds {seeds}\n"
            f"profile {c.profile}: width {c.width}, {c.n_train:,} training mazes of "
            f"{c.maze_size} size at {c.maze_scale} px/square, {c.epochs} epochs of "
            f"{c.optimizer} (lr {c.lr})" + skip)


def receptive_fields(config: TrainConfig, depths) -> tuple[int, dict]:
    """The number of undilated 3x3 convolutions whose field spans ``config``'s mazes (4.3),
    and the receptive field (px) of a recurrent solver with ``config``'s dilation at each
    of ``depths`` (width 8: the field does not depend on it)."""
    span = convs_to_span(mazes.cells_for(config.maze_size), config.maze_scale)
    fields = {d: receptive_field(build_model("maze", recurrent=True, depth=d, dataset="mazes",
                                             width=8, dilation=config.dilation))
              for d in depths}
    return span, fields


@torch.no_grad()
def predictions(configs, n: int = 6):
    """The first ``n`` test mazes of ``configs[0]`` (inputs, targets) and each config's
    trained net's predicted path (walls and padding set to 0) and which mazes it solves,
    keyed "<form> <depth>".  Returns (x, y, predictions, solved)."""
    xb, yb = next(maze_batches(configs[0], "test", "cpu").batches(n))
    free = losses.free_pixels(xb)  # walls and padding are ignored in scoring
    preds, solved = {}, {}
    for c in configs:
        label = f"{FORMS[c.recurrent]} {c.depth}"
        logits = trainer.load_trained(c)(xb)
        preds[label] = torch.where(free, logits.argmax(1), 0).numpy()
        solved[label] = losses.maze_correct(logits, yb, xb).tolist()
    return xb, yb, preds, solved


def think_longer_text(row: pd.Series, n_seeds: int) -> str:
    """One line for a depth's row of :func:`recur.experiments.think_longer`: does the
    recurrent nets' mean rise with more iterations than they were trained for?"""
    rises = ("rises" if row[experiments.BEST_AT] > row["trained iterations"] else
             "does not rise")
    return (f"deepest {FORMS[True]} nets: {row[experiments.AT_TRAINED]}% at "
            f"{row['trained iterations']:.0f} trained iterations, best "
            f"{row[experiments.BEST]}% at {row[experiments.BEST_AT]:.0f}; {FORMS[False]} "
            f"{row[experiments.FEED_FORWARD]}%: the mean {rises} with more iterations (mean "
            f"over {n_seeds} seeds, no interval: not a finding)")


def deepest(configs, seed: int) -> list[TrainConfig]:
    """The configs of the deepest depth at ``seed``: both forms, feed-forward first."""
    top = max(c.depth for c in configs)
    return sorted((c for c in configs if c.depth == top and c.seed == seed),
                  key=lambda c: c.recurrent)


def beyond_trained_text(curves: pd.DataFrame) -> str:
    """One line from :func:`recur.experiments.iteration_table`: each depth's mean accuracy
    at its trained number of iterations n and at n + 2, where both were scored."""
    at = curves.set_index(["depth", "iteration"])["mean"]
    trained = curves.groupby("depth").iterations.first()
    return ("two iterations beyond the trained n: " + "; ".join(
        f"depth {d}: {at[d, n]:.1f}% at n = {n}, {at[d, n + 2]:.1f}% at {n + 2}"
        for d, n in trained.items() if (d, n + 2) in at))


def size_study(sizes, depths, *, run: bool, **grid) -> pd.DataFrame:
    """Fig. 5's panels: solvers trained and tested on each of ``sizes`` at ``depths``
    (``grid``: more :func:`recur.sweep.grid` keywords, e.g. one seed); finished runs are
    read back.  An empty table when not ``run``."""
    configs = [c for s in sizes for c in sweep.grid("mazes", maze_size=s, depths=depths, **grid)]
    return experiments.run_all(configs if run else [])


def dilation_study(depths, *, run: bool, **grid) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2: small-maze solvers at ``depths``, undilated and with every module
    convolution dilated by 2 (in that order); two empty tables when not ``run``."""
    common = dict(maze_size="small", depths=depths, **grid)
    plain = experiments.run_all(sweep.grid("mazes", **common) if run else [])
    dilated = experiments.run_all(sweep.grid("mazes", dilation=2, **common) if run else [])
    return plain, dilated


def size_text(by_size: pd.DataFrame) -> str:
    """The size study's comparison per maze size and depth, or that it was skipped."""
    if not len(by_size):
        return SIZES_SKIPPED
    return results.comparison(by_size.assign(family=by_size.maze_size)).to_string()


def size_figure(by_size: pd.DataFrame):
    """Accuracy against depth per maze size, or bars per size at a single depth (mean ±
    standard error over seeds); None when the study was skipped."""
    if not len(by_size):
        return None
    depths = sorted(set(by_size.depth))
    if len(depths) > 1:
        return plots.depth_curves(by_size, by="maze_size", title="{maze_size} mazes")
    order = {m: k for k, m in enumerate(("small", "medium", "large"))}
    means = results.summarise(by_size, by=("maze_size", "recurrent")).sort_values(
        "maze_size", key=lambda col: col.map(order), kind="stable")
    seeds = by_size.seed.nunique()
    return plots.bar_comparison(means, value="mean", error="se", group="maze_size",
                                hue="recurrent", ylabel="test accuracy (%)", xlabel="maze size",
                                title=f"depth {depths[0]}, mean ± s.e. over {seeds} "
                                      f"seed{'s' * (seeds > 1)}")


def _filters(plain: pd.DataFrame, dilated: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([plain.assign(filters="undilated"), dilated.assign(filters="dilated by 2")])


def dilation_text(plain: pd.DataFrame, dilated: pd.DataFrame) -> str:
    """Test accuracy per filter kind, form and depth beside the paper's Table 2, or that
    the dilation study was skipped."""
    both = _filters(plain, dilated)
    if not len(both):
        return DILATION_SKIPPED
    ours = both.pivot_table(index=["filters", "recurrent"], columns="depth", values="test_acc")
    reported = paper.table2().pivot(index="recurrent", columns="depth", values="test_acc")
    return (ours.rename(index=FORMS).round(1).to_string() + "\n\npaper (small mazes, dilated, "
            "50,000 training mazes):\n" + reported.rename(index=FORMS).to_string())


def dilation_figure(plain: pd.DataFrame, dilated: pd.DataFrame):
    """Accuracy against depth, undilated and dilated (mean ± standard error over seeds);
    None with fewer than two depths."""
    both = _filters(plain, dilated)
    if len(set(both.depth)) < 2:
        return None
    seeds = both.seed.nunique()
    return plots.depth_curves(both.assign(family=both.filters), sharey=True,
                              title="small mazes, {family}, " + f"{seeds} seed"
                                    + "s" * (seeds > 1))


def at_paper_scale(runs: pd.DataFrame) -> str:
    """The maze runs among ``runs`` (e.g. results/paper/'s) by setting, beside Table 2, or
    how to make them."""
    runs = runs[runs.experiment == "mazes"] if len(runs) else runs
    if not len(runs):
        return ("results/paper/ holds no maze runs yet: on a GPU, `python -m recur reproduce "
                "--profile paper` makes them (README, section 'On a GPU'), and this cell then "
                "shows them.")
    setting = runs.maze_size + runs.dilation.map({1: "", 2: ", dilated"})
    return (results.comparison(runs.assign(family=setting)).to_string()
            + "\n\npaper, Table 2 (small, dilated):\n" + paper.table2().pivot(
                index="recurrent", columns="depth", values="test_acc").to_string())


def generation_speed(n: int, cells: int, seed: int, scale: int = 2) -> tuple[float, float]:
    """Mazes per second: ``n`` mazes of ``cells`` x ``cells`` generated with their solutions,
    and generated and drawn at ``scale`` batch by batch (256), as a data loader makes them."""
    t0 = time.perf_counter()
    batch = mazes.generate(n, cells, seed)
    t1 = time.perf_counter()
    for i in range(0, n, 256):
        mazes.render(batch[i: i + 256], scale=scale)
    t2 = time.perf_counter()
    return n / (t1 - t0), n / (t2 - t0)


def shallow_scores(configs, runs: pd.DataFrame) -> str:
    """The shallowest feed-forward nets' scores on their own seeds' test mazes, and the
    second seed's net on the first seed's mazes: equal scores of two seeds mean equal nets
    only if the cross score is the same too."""
    shallow = [c for c in configs if c.depth == min(k.depth for k in configs) and not c.recurrent]
    own = runs.set_index("name").test_acc
    text = (", ".join(f"seed {c.seed}: {own[c.name()]:.1f}%" for c in shallow)
            + " of its own test mazes\n")
    if len(shallow) < 2:
        return text
    cross = experiments.accuracy_on_test_set(shallow[0], trainer.load_trained(shallow[1]))
    same = cross == own[shallow[0].name()]
    return text + (f"seed {shallow[1].seed}'s net on seed {shallow[0].seed}'s test mazes: "
                   f"{cross:.1f}% ("
                   + ("the same score" if same else "a different score: the nets differ") + ")\n")
