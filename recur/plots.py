"""Figures shared by the notebooks.  Each function draws and returns a matplotlib Figure;
the notebook decides whether to show or save it.  Colours follow the paper: feed-forward
blue, recurrent orange."""
from __future__ import annotations

import numpy as np

FEED_FORWARD = "tab:blue"
RECURRENT = "tab:orange"


def maze_grid(inputs, targets, predictions=None, titles=None, columns: int = 4):
    """Inputs (n, 3, H, W) beside their targets (n, H, W) (and predictions), as in paper
    Fig. 3: each maze is drawn with its solution path in a panel to its right."""
    import matplotlib.pyplot as plt

    inputs, targets = np.asarray(inputs), np.asarray(targets)
    panels = [("maze", lambda i: inputs[i].transpose(1, 2, 0)),
              ("solution", lambda i: targets[i])]
    if predictions is not None:
        predictions = np.asarray(predictions)
        panels.append(("prediction", lambda i: predictions[i]))
    n = len(inputs)
    columns = min(columns, n)
    rows = -(-n // columns)
    width = len(panels)
    fig, axes = plt.subplots(rows, columns * width,
                             figsize=(1.6 * columns * width, 1.7 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = divmod(i, columns)
        for j, (label, image) in enumerate(panels):
            ax = axes[r, c * width + j]
            ax.imshow(image(i), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{titles[i]}: {label}" if titles is not None and j == 0 else label,
                         fontsize=8)
    fig.tight_layout()
    return fig


def path_length_histograms(lengths: dict):
    """Distribution of optimal path lengths per dataset (paper Fig. 4).

    ``lengths`` maps a label (e.g. ``small (5x5)``) to an array of path lengths."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = max(int(np.max(v)) for v in lengths.values())
    bins = np.arange(0, top + 2) - 0.5
    for label, values in lengths.items():
        ax.hist(values, bins=bins, histtype="step", density=True, linewidth=1.5, label=label)
    ax.set_xlabel("optimal path length (cell-to-cell moves)")
    ax.set_ylabel("fraction of mazes")
    ax.legend()
    fig.tight_layout()
    return fig


def _forms():
    return ((False, FEED_FORWARD, "feed-forward"), (True, RECURRENT, "recurrent"))


def depth_curves(runs, *, value: str = "test_acc", title: str = "{family}",
                 ylabel: str = "test accuracy (%)"):
    """Feed-forward (blue) vs recurrent (orange) ``value`` against effective depth, mean
    ± standard error over seeds, one panel per family (paper Figs. 2 and 5).

    ``runs``: the tidy table, one row per run (columns family, recurrent, depth, seed and
    ``value``), as ``recur.experiments.run_all`` returns it.  ``title``: a panel's title,
    ``{family}`` standing for its family."""
    import matplotlib.pyplot as plt

    from recur.results import summarise

    summary = summarise(runs, by=("family", "recurrent", "depth"), value=value)
    families = list(dict.fromkeys(runs.family))  # in the order they were run
    fig, axes = plt.subplots(1, len(families), figsize=(4.4 * len(families), 3.4),
                             squeeze=False)
    for ax, family in zip(axes[0], families):
        s = summary[summary.family == family]
        for recurrent, colour, label in _forms():
            f = s[s.recurrent == recurrent]
            ax.errorbar(f.depth, f["mean"], yerr=f.se, color=colour, marker="o", capsize=3,
                        label=label)
        ax.set(title=title.format(family=family), xlabel="effective depth", ylabel=ylabel,
               xticks=sorted(s.depth.unique()))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def iteration_curves(table, *, ylabel: str = "test accuracy (%)", feed_forward=None,
                     title: str | None = None):
    """A recurrent net's accuracy against the iterations run at test time, one curve per
    depth (mean ± standard error over seeds), a dashed line at the iterations it was
    trained for and, given ``feed_forward`` (depth -> accuracy), a dotted line at the
    feed-forward net of that depth.

    ``table``: ``recur.experiments.iteration_table`` (depth, iterations, iteration, mean, se)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for depth, c in table.groupby("depth"):
        n = int(c.iterations.iloc[0])
        bars = ax.errorbar(c.iteration, c["mean"], yerr=c.se, marker=".", capsize=2,
                           label=f"depth {depth} (n = {n})")
        colour = bars.lines[0].get_color()
        ax.axvline(n, color=colour, linestyle="--", linewidth=0.8)
        if feed_forward is not None:
            ax.axhline(feed_forward[depth], color=colour, linestyle=":", linewidth=1)
    ax.set(xlabel="iterations at test time", ylabel=ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
