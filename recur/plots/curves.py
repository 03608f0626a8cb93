"""Accuracy figures from run tables: feed-forward vs recurrent against depth (paper Figs. 2
and 5), a recurrent net against its test-time iterations, grouped bars (Table 1) and the
BatchNorm statistics per iteration (3.1)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from recur.forms import FORMS
from recur.plots.theme import (
    COLOURS,
    PALETTE,
    PAPER_LABEL,
    RECURRENT,
    _axes,
    _check_columns,
    _integer_ticks,
    _mean_with_error,
    _outside_legend,
    _series_colour,
    _series_label,
    _styled,
)
from recur.results import summarise

_SIZE_ORDER = ("small", "medium", "large")  # maze sizes, the default order of their panels


def paper_table(paper: pd.DataFrame, by: str = "family", value: str = "test_acc"):
    """The paper's numbers as ``depth_curves`` draws them: columns ``by`` (None: every
    panel), recurrent, depth, paper.

    ``paper``: a tidy DataFrame, one row per point, with columns recurrent (bool), depth,
    ``value`` and optionally ``by``, e.g. ``recur.paper.table2()``."""
    _check_columns(paper, ("recurrent", "depth", value), "paper")
    if not pd.api.types.is_bool_dtype(paper["recurrent"]):
        raise ValueError("paper: the column recurrent must be boolean")
    return pd.DataFrame({by: paper.get(by), "recurrent": paper.recurrent,
                         "depth": paper.depth, "paper": paper[value].astype(float)}
                        ).reset_index(drop=True)


def _panel_order(values: pd.Series, order) -> list:
    if order is not None:
        return list(order)
    panels = list(dict.fromkeys(values))
    if set(map(str, panels)) <= set(_SIZE_ORDER):
        panels.sort(key=lambda p: _SIZE_ORDER.index(str(p)))
    return panels


def _depth_panel(ax, summary: pd.DataFrame, reference: pd.DataFrame | None, marks) -> None:
    """Ours (mean ± s.e.), the paper's (hollow markers, dashed) and the marks, in one panel."""
    depths = set(summary.depth)
    for recurrent, label in FORMS.items():
        f = summary[summary.recurrent == recurrent].sort_values("depth")
        _mean_with_error(ax, f.depth, f["mean"], f.se, COLOURS[recurrent], label, markersize=7)
    for recurrent, label in FORMS.items() if reference is not None else ():
        f = reference[reference.recurrent == recurrent].sort_values("depth")
        if len(f):
            ax.plot(f.depth, f.paper, linestyle="--", marker="o", markersize=8,
                    markerfacecolor="none", markeredgewidth=1.6, linewidth=1.4,
                    color=COLOURS[recurrent], label=f"{PAPER_LABEL}, {label}")
            depths |= set(f.depth)
    for label, depth in (marks or {}).items():
        ax.axvline(depth, color="0.35", linestyle="-.", linewidth=1.4, label=label)
    ax.set_xticks(sorted(depths))


def _shared_legend(fig, axes, new: bool, ncol: int) -> None:
    """One legend for all panels: below them in a figure of our own, else in the last."""
    entries = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        entries.update({label: h for h, label in zip(handles, labels) if label not in entries})
    if new:
        fig.legend(entries.values(), entries.keys(), loc="outside lower center",
                   fontsize="small", ncol=min(len(entries), ncol))
    else:
        axes[-1].legend(entries.values(), entries.keys(), fontsize="small")


@_styled
def depth_curves(runs: pd.DataFrame, *, value: str = "test_acc", title: str = "{family}",
                 ylabel: str = "test accuracy (%)", paper: pd.DataFrame | None = None,
                 marks: dict | None = None, by: str = "family", sharey: bool | None = None,
                 order=None, ax=None):
    """Feed-forward (blue) vs recurrent (orange) ``value`` against effective depth, mean
    ± standard error over seeds, one panel per value of ``by`` (paper Figs. 2 and 5).

    ``runs``: one row per run (columns ``by``, recurrent (bool), depth, ``value``), as
    ``recur.experiments.run_all`` returns it.  ``title``: a panel's title, ``{family}`` (or
    ``{<by>}``, ``{panel}``) standing for its panel's value.  ``paper``: the paper's
    numbers (see ``paper_table``), hollow markers on dashed lines.  ``marks``: label ->
    depth, a labelled vertical line each.  ``sharey`` (a new figure only; default: for any
    ``by`` but family) shares the y axis; ``order``: the panels' order (default: small,
    medium, large for maze sizes, else as in ``runs``).  ``ax``: an Axes, or one per panel,
    to draw into (None: a new figure).  Returns the Figure."""
    _check_columns(runs, (by, "recurrent", "depth", value), "depth_curves")
    summary = summarise(runs.astype({"recurrent": bool}), by=(by, "recurrent", "depth"),
                        value=value)
    panels = _panel_order(runs[by], order)
    sharey = by != "family" if sharey is None else sharey
    reference = None if paper is None else paper_table(paper, by, value)
    height = 4.6 + 0.4 * (paper is not None or bool(marks))  # room for a longer legend
    fig, axes, new = _axes(ax, len(panels), (max(6.0, 5.2 * len(panels)), height),
                           sharey=sharey)
    for panel_ax, panel in zip(axes, panels):
        mine = None if reference is None else reference[reference[by].isna()
                                                        | (reference[by] == panel)]
        _depth_panel(panel_ax, summary[summary[by] == panel], mine, marks)
        panel_ax.set(title=title.format(**{"family": panel, "panel": panel, by: panel}),
                     xlabel="effective depth", ylabel=ylabel)
        panel_ax.yaxis.set_tick_params(labelleft=True)
    _shared_legend(fig, axes, new, ncol=2 if len(panels) == 1 else 5)
    return fig


@_styled
def iteration_curves(table: pd.DataFrame, *, ylabel: str = "test accuracy (%)",
                     feed_forward=None, title: str | None = None, ax=None):
    """A recurrent net's accuracy against the iterations run at test time, one curve per
    depth (mean ± standard error over seeds), a dashed line at the iterations it was
    trained for and, given ``feed_forward`` (depth -> accuracy), a dotted line at the
    feed-forward net of that depth; both kinds of line are named in the legend.

    ``table``: one row per point, ``recur.experiments.iteration_table`` (depth,
    iterations, iteration, mean, se).  ``title``: default "accuracy after each
    iteration".  ``ax``: the Axes to draw into (None: a new figure).  Returns the Figure."""
    _check_columns(table, ("depth", "iterations", "iteration", "mean", "se"),
                   "iteration_curves")
    groups = list(table.groupby("depth"))
    colours = ([RECURRENT] if len(groups) == 1 else
               sns.color_palette("flare", n_colors=len(groups)))
    fig, (ax,), _ = _axes(ax, 1, (10, 4.6))
    for (depth, c), colour in zip(groups, colours):
        n = int(c.iterations.iloc[0])
        c = c.sort_values("iteration")
        _mean_with_error(ax, c.iteration, c["mean"], c.se, colour, f"depth {depth} (n = {n})",
                         markersize=5, capsize=3)
        ax.axvline(n, color=colour, linestyle="--", linewidth=1.2)
        if feed_forward is not None:
            ax.axhline(feed_forward[depth], color=colour, linestyle=":", linewidth=1.8)
    ax.set(xlabel="iterations at test time", ylabel=ylabel,
           title=title or "accuracy after each iteration")
    iterations = sorted(set(table.iteration))
    if len(iterations) <= 16:
        ax.set_xticks(iterations)
    else:
        _integer_ticks(ax.xaxis)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.4", linestyle="--", linewidth=1.2))
    labels.append("n: iterations trained for")
    if feed_forward is not None:
        handles.append(Line2D([], [], color="0.4", linestyle=":", linewidth=1.8))
        labels.append("feed-forward net, same depth")
    _outside_legend(ax, handles, labels, title="recurrent nets", title_fontsize="small")
    return fig


@_styled
def bar_comparison(df: pd.DataFrame, *, value: str, group: str, hue: str,
                   error: str | None = None, ylabel: str, title: str,
                   xlabel: str | None = None, fmt: str = "{:.1f}", ylim=None, ax=None):
    """A grouped bar chart with error bars (e.g. paper Table 1: accuracy per model, ours
    vs the paper's): one group of bars per value of ``group`` (x axis), one bar per value
    of ``hue`` (colour, legend), height ``value``, error bar ``error`` (e.g. a standard
    error; missing or NaN: none), each bar labelled with its value.

    ``df``: one row per bar.  A boolean ``hue`` (e.g. ``"recurrent"``) colours the bars by
    form, named as in ``FORMS``.  ``ylim``: the y range (the default starts at 0).  ``ax``:
    the Axes to draw into (None: a new figure).  Returns the Figure."""
    _check_columns(df, [value, group, hue] + ([error] if error else []), "bar_comparison")
    groups = list(dict.fromkeys(df[group]))
    hues = list(dict.fromkeys(df[hue]))
    width = 0.8 / len(hues)
    width_in = max(6.0, 1.3 * len(groups) * max(1, len(hues) / 2) + 2) + 1.5  # + legend
    fig, (ax,), _ = _axes(ax, 1, (width_in, 4.4))
    x = np.arange(len(groups))
    for k, h in enumerate(hues):
        rows = df[df[hue] == h].set_index(group)
        heights = rows[value].reindex(groups).to_numpy(float)
        errors = None if error is None else rows[error].reindex(groups).to_numpy(float)
        if errors is not None and not np.isfinite(errors).any():
            errors = None
        bars = ax.bar(x + (k - (len(hues) - 1) / 2) * width, heights, width * 0.95, yerr=errors,
                      capsize=4, color=_series_colour(h, k), edgecolor="white",
                      label=_series_label(h), error_kw={"elinewidth": 1.5, "ecolor": "0.2"})
        ax.bar_label(bars, labels=["" if not np.isfinite(v) else fmt.format(v) for v in heights],
                     padding=2, fontsize="x-small")
    ax.set_xticks(x, [str(g) for g in groups])
    ax.set(xlabel=xlabel or group, ylabel=ylabel, title=title)
    if ylim is not None:  # accuracies close to each other: the differences, not the 0 baseline
        ax.set_ylim(*ylim)
    ax.grid(axis="x", visible=False)
    if len(hues) > 1:
        legend_title = None if pd.api.types.is_bool_dtype(df[hue]) else hue
        _outside_legend(ax, title=legend_title, title_fontsize="small")
    return fig


@_styled
def batchnorm_statistics(stats: pd.DataFrame, *, ax=None):
    """A recurrent BatchNorm net's running statistics against the iteration, one line per
    BatchNorm of the module (paper 3.1): left the mean |running mean|, right the mean
    running variance, each averaged over the layer's channels.

    ``stats``: one row per iteration and layer, ``recur.models.norm_statistics`` as a
    DataFrame (iteration, layer, "mean |running mean|", "mean running var").  ``ax``: two
    Axes to draw into (None: a new figure).  Returns the Figure."""
    columns = (("mean |running mean|", "|running mean|, mean over channels"),
               ("mean running var", "running variance, mean over channels"))
    _check_columns(stats, ["iteration", "layer"] + [c for c, _ in columns],
                   "batchnorm_statistics")
    fig, axes, _ = _axes(ax, 2, (10, 3.8))
    for panel_ax, (column, label) in zip(axes, columns):
        for k, (layer, s) in enumerate(stats.groupby("layer")):
            s = s.sort_values("iteration")
            panel_ax.plot(s.iteration, s[column], marker="o", color=PALETTE[2:][k % 8],
                          label=f"BatchNorm {layer} of the module")
        panel_ax.set(xlabel="iteration", ylabel=label,
                     title=label.split(",")[0] + " per iteration")
        _integer_ticks(panel_ax.xaxis)
    _outside_legend(axes[1])
    return fig


@_styled
def update_curves(table: pd.DataFrame, *, title: str = "{task}", ax=None):
    """How far each iteration (recurrent) or module (feed-forward) moves the features,
    ‖h_k − h_{k−1}‖ / ‖h_{k−1}‖, against the step k, mean ± standard error over seeds on a
    log scale: one panel per task, sharing the y axis, with a dashed line at the
    iterations the recurrent nets were trained for.

    ``table``: one row per net and step, ``recur.looped_study.update_table`` (task,
    recurrent, depth, seed, iterations, iteration, size).  ``title``: a panel's title,
    ``{task}`` standing for its task.  ``ax``: one Axes per task (None: a new figure).
    Returns the Figure."""
    _check_columns(table, ("task", "recurrent", "depth", "iterations", "iteration", "size"),
                   "update_curves")
    tasks = list(dict.fromkeys(table.task))
    fig, axes, new = _axes(ax, len(tasks), (max(6.0, 5.2 * len(tasks)), 4.6), sharey=True)
    for panel, task in zip(axes, tasks):
        mine = table[table.task == task].astype({"recurrent": bool})
        summary = summarise(mine, by=("recurrent", "depth", "iterations", "iteration"),
                            value="size")
        for (recurrent, depth, n), s in summary.groupby(["recurrent", "depth", "iterations"]):
            _mean_with_error(panel, s.iteration, s["mean"], s.se, COLOURS[recurrent],
                             f"{FORMS[recurrent]}, depth {depth}", markersize=5, capsize=3)
            if recurrent:
                panel.axvline(n, color=COLOURS[True], linestyle="--", linewidth=1.2)
        panel.set(yscale="log", title=title.format(task=task),
                  xlabel="step k (iteration, or module)",
                  ylabel=r"update size $\|h_k - h_{k-1}\| \,/\, \|h_{k-1}\|$")
        _integer_ticks(panel.xaxis)
        panel.yaxis.set_tick_params(labelleft=True)
        handles, labels = panel.get_legend_handles_labels()
        handles.append(Line2D([], [], color=COLOURS[True], linestyle="--", linewidth=1.2))
        panel.legend(handles, labels + ["iterations trained for"], fontsize="small")
    return fig
