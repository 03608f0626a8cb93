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
