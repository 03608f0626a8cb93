"""Maze figures: mazes beside their solutions and the nets' predictions (paper Fig. 3),
and the distribution of optimal path lengths (paper Fig. 4)."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch

from recur.plots.theme import FAILED, PALETTE, _axes, _image_axes, _integer_ticks, _styled

# Maze panels: every pixel is one of these (RGB hex).
MAZE_COLOURS = {
    "wall": "#262626",
    "free": "#ffffff",
    "path": "#029e73",     # on the solution path (and, in a prediction, predicted there)
    "missed": "#cc78bc",   # on the solution path, not predicted
    "wrong": "#d55e00",    # predicted, not on the solution path
}
MAZE_LEGEND = {"wall": "wall", "path": "path", "missed": "missed path pixel",
               "wrong": "wrongly predicted on the path"}


def maze_pixels(inputs, targets, predictions=None) -> dict:
    """Per pixel of each maze, its class as ``maze_grid`` colours it: boolean masks
    ``wall``, ``path``, ``missed`` and ``wrong`` (n, H, W).  Without predictions, ``path``
    is the solution and nothing is missed or wrong.  A prediction counts as path where it
    is above 0.5 (0/1 labels or probabilities)."""
    inputs, targets = np.asarray(inputs), np.asarray(targets) > 0.5
    wall = inputs.max(axis=1) <= 0  # walls and padding are black
    if predictions is None:
        none = np.zeros_like(targets)
        return {"wall": wall & ~targets, "path": targets, "missed": none, "wrong": none}
    predicted = np.asarray(predictions) > 0.5
    return {"wall": wall & ~targets & ~predicted, "path": targets & predicted,
            "missed": targets & ~predicted, "wrong": predicted & ~targets}


def _maze_image(masks: dict, i: int) -> np.ndarray:
    """RGB (H, W, 3) of maze i: free space, then each class painted in its colour."""
    shape = masks["path"][i].shape
    image = np.broadcast_to(to_rgb(MAZE_COLOURS["free"]), shape + (3,)).copy()
    for name in ("wall", "path", "missed", "wrong"):
        image[masks[name][i]] = to_rgb(MAZE_COLOURS[name])
    return image


def _verdicts(predictions: Mapping, solved, n: int) -> dict:
    """``solved`` checked against the prediction sets: label -> n bools."""
    if not isinstance(predictions, Mapping):
        raise TypeError("predictions: give a dict label -> array (n, H, W)")
    if solved is not None and not isinstance(solved, Mapping):
        raise TypeError("solved: give a dict label -> list of bools, one per maze")
    verdicts = {str(k): [bool(s) for s in v] for k, v in (solved or {}).items()}
    for label, flags in verdicts.items():
        if label not in predictions or len(flags) != n:
            raise ValueError(f"solved[{label!r}]: need one flag per maze for a prediction set")
    return verdicts


def _maze_layout(fig, n: int, width: int, columns: int):
    """A grid of ``columns`` mazes per row, ``width`` panels each, a narrow gap between."""
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    gap = 0.25
    ratios = ([1] * width + [gap]) * columns
    if fig is None:
        fig = plt.figure(figsize=(1.9 * sum(ratios[:-1]), 2.1 * rows + 0.5),
                         layout="constrained")
    return fig, fig.add_gridspec(rows, len(ratios) - 1, width_ratios=ratios[:-1]), columns


def _maze_panel(ax, image, title: str, solved: bool | None) -> None:
    """One image panel; a prediction's verdict on a second title line, failures in red."""
    ax.imshow(image, vmin=0, vmax=1, interpolation="nearest")
    _image_axes(ax)
    if solved is not None:
        title = f"{title}\n{'solved' if solved else 'failed'}"  # two lines: no overlap
    ax.set_title(title, fontsize="small" if "\n" in title else "medium", fontweight="normal")
    if solved is False:
        ax.title.set_color(FAILED)
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color(FAILED)
            spine.set_linewidth(3)


@_styled
def maze_grid(inputs, targets, predictions=None, *, solved=None, titles=None,
              columns: int = 4, fig=None):
    """Mazes (n, 3, H, W) beside their solutions (n, H, W), as in paper Fig. 3, and
    optionally the nets' predictions.

    The solution and prediction panels share one colour code (legend once per figure):
    walls dark, the solution path green; in a prediction, path pixels not predicted
    (missed) pink-purple and pixels predicted off the path (wrong) vermillion.

    ``predictions``: a dict label -> array (n, H, W) (0/1 or probabilities), one panel per
    label.  ``solved``: a dict label -> n bools: that label's panels are titled "solved" or
    "failed", failed ones framed in red.  ``titles``: one per maze, prefixed to its first
    panel's title.  ``columns``: mazes per row.  ``fig``: a Figure or SubFigure to draw
    into (None: a new figure).  Returns the (root) Figure."""
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    sets = {} if predictions is None else predictions
    verdicts = _verdicts(sets, solved, len(inputs))
    masks = {str(label): maze_pixels(inputs, targets, p) for label, p in sets.items()}
    truth = maze_pixels(inputs, targets)
    fig, grid, columns = _maze_layout(fig, len(inputs), 2 + len(masks), columns)
    for i in range(len(inputs)):
        r, c = divmod(i, columns)
        panels = [("maze", inputs[i].transpose(1, 2, 0).clip(0, 1)),
                  ("solution", _maze_image(truth, i))]
        panels += [(label, _maze_image(m, i)) for label, m in masks.items()]
        for j, (label, image) in enumerate(panels):
            title = label if titles is None or j else f"{titles[i]}: {label}"
            verdict = verdicts[label][i] if label in verdicts else None
            _maze_panel(fig.add_subplot(grid[r, c * (3 + len(masks)) + j]), image, title,
                        verdict)
    names = ["wall", "path"] + (["missed", "wrong"] if masks else [])
    fig.legend(handles=[Patch(facecolor=MAZE_COLOURS[k], edgecolor="0.5", label=MAZE_LEGEND[k])
                        for k in names],
               loc="outside lower center", ncol=len(names), fontsize="small")
    return fig.get_figure(root=True)


@_styled
def path_length_histograms(lengths: dict, *, title: str = "optimal path lengths", ax=None):
    """Distribution of optimal path lengths per dataset (paper Fig. 4): a step histogram
    (fraction of mazes per length) per label.

    ``lengths``: a dict label (e.g. ``small (5x5)``) -> array of path lengths.  ``ax``: the
    Axes to draw into (None: a new figure).  Returns the Figure."""
    fig, (ax,), _ = _axes(ax, 1, (7, 4))
    top = max(int(np.max(v)) for v in lengths.values())
    bins = np.arange(0, top + 2) - 0.5
    for k, (label, values) in enumerate(lengths.items()):
        ax.hist(values, bins=bins, histtype="step", density=True, linewidth=2, label=label,
                color=PALETTE[(k + 2) % len(PALETTE)])
    ax.set(xlabel="optimal path length (cell-to-cell moves)", ylabel="fraction of mazes",
           title=title)
    _integer_ticks(ax.xaxis)
    ax.legend()
    return fig
