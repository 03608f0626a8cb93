"""Figures of what the nets compute (paper section 5): CKA heatmaps, feature
visualisations, activation reuse (Fig. 6) and linear probes (Tables 3, 6)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from recur.forms import FORMS
from recur.plots.theme import (
    COLOURS,
    FAILED,
    OTHERS,
    PAPER_LABEL,
    _axes,
    _check_columns,
    _image_axes,
    _integer_ticks,
    _mean_with_error,
    _outside_legend,
    _styled,
)


def _per_panel(value, n: int, name: str, nested: bool = False) -> list:
    """One value per panel: ``value`` repeated, or its items when given per panel."""
    if nested:
        per_panel = (isinstance(value, Sequence) and not isinstance(value, str) and len(value)
                     and not isinstance(value[0], str)
                     and isinstance(value[0], (Sequence, np.ndarray)))
    else:
        per_panel = isinstance(value, Sequence) and not isinstance(value, str)
    if not per_panel:
        return [value] * n
    if len(value) != n:
        raise ValueError(f"{name}: {len(value)} given for {n} panels")
    return list(value)


@_styled
def heatmap(matrix, *, xlabels, ylabels, xlabel, ylabel, title, vmin=None, vmax=None,
            fmt: str = ".2f", cbar_label: str = "CKA", cmap: str = "rocket",
            suptitle: str | None = None, ax=None):
    """A matrix (e.g. CKA, module vs module) with its value annotated in every cell, row 0
    at the bottom (origin bottom-left).  The colour scale spans the data (``vmin`` /
    ``vmax`` default to its minimum and maximum, not 0..1), so differences show.

    ``matrix``: one 2-D array, or a list of them drawn side by side sharing one colour
    scale and colour bar; then ``xlabels``, ``ylabels``, ``xlabel``, ``ylabel`` and
    ``title`` may each be one per panel (a list) or shared.  ``xlabels`` / ``ylabels``:
    the tick labels of columns / rows.  ``ax``: an Axes, or one per matrix, to draw into
    (None: a new figure).  Returns the Figure."""
    single = not (isinstance(matrix, (list, tuple)) and len(matrix)
                  and all(np.ndim(m) == 2 for m in matrix))
    matrices = [np.asarray(matrix, float)] if single else [np.asarray(m, float) for m in matrix]
    n = len(matrices)
    xlabels = _per_panel(xlabels, n, "xlabels", nested=True) if n > 1 else [xlabels]
    ylabels = _per_panel(ylabels, n, "ylabels", nested=True) if n > 1 else [ylabels]
    xlabel, ylabel, title = (_per_panel(v, n, k) for k, v in
                             (("xlabel", xlabel), ("ylabel", ylabel), ("title", title)))
    finite = np.concatenate([m[np.isfinite(m)] for m in matrices])
    vmin = float(finite.min()) if vmin is None else vmin
    vmax = float(finite.max()) if vmax is None else vmax
    vmax = max(vmax, vmin + 1e-9)
    rows = max(m.shape[0] for m in matrices)
    widths = [m.shape[1] for m in matrices]
    fig, axes, _ = _axes(ax, n, (0.9 * sum(widths) + 2.2 * n + 1.2, 0.75 * rows + 2.2),
                         gridspec_kw={"width_ratios": widths})
    for k, (panel_ax, m) in enumerate(zip(axes, matrices)):
        sns.heatmap(m, ax=panel_ax, annot=True, fmt=fmt, vmin=vmin, vmax=vmax, cmap=cmap,
                    cbar=False, square=True, linewidths=0.5, linecolor="white",
                    xticklabels=list(map(str, xlabels[k])),
                    yticklabels=list(map(str, ylabels[k])), annot_kws={"fontsize": "small"})
        panel_ax.invert_yaxis()  # row 0 at the bottom
        panel_ax.tick_params(axis="y", labelrotation=0)
        panel_ax.set(xlabel=xlabel[k], ylabel=ylabel[k], title=title[k])
    fig.colorbar(axes[0].collections[0], ax=axes, label=cbar_label, shrink=0.9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


@_styled
def feature_grid(images, *, row_labels, col_labels, title=None, marked=None,
                 mark_label="silent", fig=None):
    """Images in a grid (e.g. a filter's visualisation per recurrent iteration, top, and
    per feed-forward module, bottom): row labels on the left, column labels on top.

    ``images``: a list of rows, each a list of arrays (C, H, W) or (H, W) in [0, 1];
    grayscale when one channel, RGB when three.  ``marked``: rows of booleans like
    ``images``; a marked image gets a red frame and ``mark_label`` under it (e.g. a silent
    filter, whose image shows nothing it prefers).  ``fig``: a Figure or SubFigure to draw
    into (None: a new figure).  Returns the (root) Figure."""
    rows = len(images)
    cols = max(len(r) for r in images)
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(f"feature_grid: {rows} rows x {cols} columns need as many labels")
    if fig is None:
        fig = plt.figure(figsize=(1.9 * cols + 0.8, 1.9 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, row in enumerate(images):
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(row):
                ax.remove()
                continue
            image = np.asarray(row[c], float)
            if image.ndim == 3:
                image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
            ax.imshow(image.clip(0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0,
                      vmax=1, interpolation="nearest")
            _image_axes(ax)
            if marked is not None and marked[r][c]:
                _mark(ax, mark_label)
            if c == 0:
                ax.set_ylabel(row_labels[r])
            if r == 0:
                ax.set_title(col_labels[c], fontweight="normal")
    if title:
        fig.suptitle(title)
    return fig.get_figure(root=True)


def _mark(ax, label: str) -> None:
    """A red frame around the image in ``ax`` and ``label`` under it."""
    for spine in ax.spines.values():
        spine.set(visible=True, color=FAILED, linewidth=2.5)
    ax.set_xlabel(label, color=FAILED)


@_styled
def reuse_histogram(reuse: dict, *, bins: int = 20,
                    title: str = "activation reuse across iterations", ax=None):
    """The activation-reuse distribution (paper Fig. 6): per label, a density histogram
    (step) over [0, 1] of the ratios of positive activations at an iteration to those at
    the same image-filter pair's most active iteration.

    ``reuse``: a dict label -> ``recur.analysis.activation_reuse`` result (a dict with key
    ``ratios``; ``mean_ratio``, when present, is shown in the legend).  ``ax``: the Axes to
    draw into (None: a new figure).  Returns the Figure."""
    edges = np.linspace(0, 1, bins + 1)
    fig, (ax,), _ = _axes(ax, 1, (7, 4.2))
    for k, (label, r) in enumerate(reuse.items()):
        density, _ = np.histogram(np.asarray(r["ratios"], float), bins=edges, density=True)
        text = str(label)
        if r.get("mean_ratio") is not None:
            text += f" (mean {r['mean_ratio']:.2f})"
        ax.stairs(density, edges, linewidth=2.2, label=text, color=OTHERS[k % len(OTHERS)])
    ax.set(xlabel="positive activations / those at the most active iteration",
           ylabel="density", title=title, xlim=(0, 1))
    ax.set_ylim(bottom=0)
    ax.legend()
    return fig


_SPLITS = (("train", "train_acc", "paper_train", "-"), ("test", "test_acc", "paper_test", "--"))


def _probe_panel(ax, t: pd.DataFrame) -> None:
    """One kind of features: per form and split, mean ± s.e. over seeds per module, and
    the paper's values as hollow squares."""
    for recurrent, net in FORMS.items():
        g = t[t.recurrent == recurrent].groupby("module")
        for split, column, paper, linestyle in _SPLITS:
            stats = g[column].agg(["mean", "std", "count"])
            se = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0)
            _mean_with_error(ax, stats.index, stats["mean"], se, COLOURS[recurrent],
                             f"{net}, {split}", linestyle=linestyle, capsize=3)
            if paper in t:
                p = g[paper].mean().dropna()
                ax.plot(p.index.to_numpy(float), p.to_numpy(float), linestyle="none",
                        marker="s", markersize=9, markerfacecolor="none", markeredgewidth=1.6,
                        color=COLOURS[recurrent], label=f"{PAPER_LABEL}, {net}, {split}")


@_styled
def probe_curves(table: pd.DataFrame, *, ylabel: str = "linear-probe accuracy (%)",
                 title: str = "{features} features", ax=None):
    """Linear-probe accuracy per module (recurrent: per iteration), feed-forward vs
    recurrent, one panel per kind of features; train solid, test dashed; the paper's
    values hollow squares; mean ± standard error when a module has several rows (seeds).

    ``table``: one row per probe, columns recurrent (bool), features ("full"/"pooled"),
    module, train_acc, test_acc, optionally paper_train / paper_test.  ``ax``: an Axes per
    kind of features to draw into (None: a new figure).  Returns the Figure."""
    _check_columns(table, ("recurrent", "features", "module", "train_acc", "test_acc"),
                   "probe_curves")
    table = table.astype({"recurrent": bool})
    kinds = list(dict.fromkeys(table.features))
    fig, axes, _ = _axes(ax, len(kinds), (5.6 * len(kinds) + 2.2, 4.4), sharey=True)
    for panel_ax, kind in zip(axes, kinds):
        _probe_panel(panel_ax, table[table.features == kind])
        panel_ax.set(title=title.format(features=kind), xlabel="module (recurrent: iteration)",
                     ylabel=ylabel)
        _integer_ticks(panel_ax.xaxis)
        panel_ax.yaxis.set_tick_params(labelleft=True)
    handles = [Line2D([], [], color=COLOURS[r], linewidth=2.5) for r in FORMS]
    handles += [Line2D([], [], color="0.3", linestyle=s, linewidth=2) for *_, s in _SPLITS]
    labels = list(FORMS.values()) + [split for split, *_ in _SPLITS]
    if any(paper in table for _, _, paper, _ in _SPLITS):
        handles.append(Line2D([], [], color="0.3", linestyle="none", marker="s", markersize=9,
                              markerfacecolor="none", markeredgewidth=1.6))
        labels.append(PAPER_LABEL)
    _outside_legend(axes[-1], handles, labels)
    return fig


@_styled
def image_grid(images, titles: Sequence[str], *, rows: int = 2, title: str | None = None,
               cmap: str = "gray_r", vmin: float = 0, vmax: float = 255):
    """Images in a grid of ``rows`` rows, one per panel with its title (e.g. the dataset's
    first images and their labels); an image of shape (1, H, W) is shown as (H, W)."""
    columns = -(-len(images) // rows)
    fig, axes = plt.subplots(rows, columns, figsize=(9 * columns / 8, 1.4 * rows),
                             layout="constrained", squeeze=False)
    for ax, image, label in zip(axes.ravel(), images, titles):
        image = np.asarray(image)
        ax.imshow(image[0] if image.ndim == 3 else image, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(label, fontsize="small")
    for ax in axes.ravel():
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig
