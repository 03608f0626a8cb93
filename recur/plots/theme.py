"""The figures' one seaborn theme, palette and the helpers every figure shares.

No figure changes the global matplotlib state: each draws inside ``matplotlib.rc_context``
(``_styled``); ``style(apply=True)`` sets the theme globally, for a notebook's own figures."""
from __future__ import annotations

import functools

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from cycler import cycler
from matplotlib.ticker import MaxNLocator

from recur.forms import FORMS

# seaborn's "colorblind" palette; tests check they match sns.color_palette("colorblind").
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
           "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9")
FEED_FORWARD = PALETTE[0]
RECURRENT = PALETTE[1]
COLOURS = {False: FEED_FORWARD, True: RECURRENT}  # keyed by ``recurrent``, like FORMS
OTHERS = PALETTE[2:7] + PALETTE[8:]  # series that are not a form (no blue, orange, grey)
PAPER_LABEL = "paper"
FAILED = "#d62728"  # the frame around a maze the net failed

THEME = {"context": "notebook", "style": "whitegrid", "palette": "colorblind",
         "font_scale": 1.15}
_EXTRA_RC = {"legend.frameon": True,
             "legend.framealpha": 0.85, "figure.dpi": 100, "savefig.dpi": 200,
             "savefig.bbox": "tight", "image.interpolation": "nearest"}


def style(apply: bool = False) -> dict:
    """The rc settings of the figures' seaborn theme (whitegrid, notebook context at a
    font scale of 1.15, the colour-blind palette).

    ``apply=True`` also sets it globally (``sns.set_theme``) for figures a notebook draws
    itself; otherwise nothing changes: use it as ``with plt.rc_context(plots.style()):``."""
    rc = {}
    rc.update(sns.axes_style(THEME["style"]))
    rc.update(sns.plotting_context(THEME["context"], font_scale=THEME["font_scale"]))
    rc["axes.prop_cycle"] = cycler(color=list(PALETTE))
    rc.update(_EXTRA_RC)
    if apply:
        sns.set_theme(**THEME, rc=_EXTRA_RC)
    return rc


def _styled(function):
    """Draw under the theme; the caller's rcParams are restored afterwards."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(style()):
            return function(*args, **kwargs)
    return wrapper


def _series_colour(key, k: int):
    """A form's colour when ``key`` is a ``recurrent`` boolean, else the k-th other colour."""
    if isinstance(key, (bool, np.bool_)):
        return COLOURS[bool(key)]
    return OTHERS[k % len(OTHERS)]


def _series_label(key) -> str:
    """A form's name when ``key`` is a ``recurrent`` boolean, else the key as text."""
    return FORMS[bool(key)] if isinstance(key, (bool, np.bool_)) else str(key)


def _axes(ax, n: int, figsize, **kwargs):
    """The Axes to draw n panels into: the caller's (one Axes, or a sequence of n) or, when
    ``ax`` is None, a new constrained-layout figure's.  Returns (root Figure, axes, new)."""
    if ax is None:
        fig, axes = plt.subplots(1, n, figsize=figsize, squeeze=False, layout="constrained",
                                 **kwargs)
        return fig, list(axes[0]), True
    axes = list(np.ravel(ax))
    if len(axes) != n:
        raise ValueError(f"ax: {len(axes)} Axes given for {n} panels")
    return axes[0].get_figure(root=True), axes, False


def _check_columns(df, columns, who: str) -> None:
    missing = [c for c in columns if c not in df]
    if missing:
        raise ValueError(f"{who}: the table has no column {', '.join(map(repr, missing))}")


def _mean_with_error(ax, x, mean, se, colour, label, **line):
    """A mean curve (in the legend) and its ± ``se`` error bars (not in the legend)."""
    x, mean = np.asarray(x, float), np.asarray(mean, float)
    ax.errorbar(x, mean, yerr=np.asarray(se, float), fmt="none", ecolor=colour,
                capsize=line.pop("capsize", 4), elinewidth=1.5)
    ax.plot(x, mean, color=colour, label=label, **{"marker": "o", "linewidth": 2, **line})


def _outside_legend(ax, handles=None, labels=None, **kwargs):
    """A legend to the right of ``ax``, off the data (constrained layout makes room)."""
    args = () if handles is None else (list(handles), list(labels))
    return ax.legend(*args, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                     fontsize="small", **kwargs)


def _integer_ticks(axis) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))


def _image_axes(ax) -> None:
    """An image panel: no ticks, grid or spines, but labels stay visible."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
