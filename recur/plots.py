"""Figures shared by the notebooks, in one seaborn style readable when projected.

Each function draws and returns a matplotlib Figure; the notebook decides whether to show
or save it.  No function changes the global matplotlib state: the style (``style()``) is
applied inside each function through ``matplotlib.rc_context`` only.  ``style(apply=True)``
sets it globally, for figures a notebook draws itself.

Colours: feed-forward and recurrent are the first two colours of seaborn's colour-blind
safe palette (``FEED_FORWARD`` blue, ``RECURRENT`` orange), throughout."""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np

# seaborn's "colorblind" palette; tests check they match sns.color_palette("colorblind").
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
           "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9")
FEED_FORWARD = PALETTE[0]
RECURRENT = PALETTE[1]
PAPER_LABEL = "paper"
FAILED = "#d62728"  # the frame around a maze the net failed
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
    import seaborn as sns
    from cycler import cycler

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
        import matplotlib

        with matplotlib.rc_context(style()):
            return function(*args, **kwargs)
    return wrapper


def _form_colour(label, k: int = 0):
    """The colour of a series: FEED_FORWARD / RECURRENT for those forms, else the k-th
    further colour of the palette."""
    text = str(label).lower()
    if "feed-forward" in text or "feed forward" in text or text.startswith("ff"):
        return FEED_FORWARD
    if "recurrent" in text or text.startswith("rec"):
        return RECURRENT
    if PAPER_LABEL in text:
        return PALETTE[7]  # grey
    others = PALETTE[2:7] + PALETTE[8:]
    return others[k % len(others)]


def _forms():
    return ((False, FEED_FORWARD, "feed-forward"), (True, RECURRENT, "recurrent"))


def _outside_legend(ax, handles=None, labels=None, **kwargs):
    """A legend to the right of ``ax``, off the data (constrained layout makes room)."""
    args = () if handles is None else (list(handles), list(labels))
    return ax.legend(*args, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                     fontsize="small", **kwargs)


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


# --------------------------------------------------------------------------- mazes
def _rgb(hex_colour: str) -> np.ndarray:
    from matplotlib.colors import to_rgb

    return np.asarray(to_rgb(hex_colour), dtype=float)


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
    image = np.broadcast_to(_rgb(MAZE_COLOURS["free"]), shape + (3,)).copy()
    for name in ("wall", "path", "missed", "wrong"):
        image[masks[name][i]] = _rgb(MAZE_COLOURS[name])
    return image


def _image_axes(ax) -> None:
    """An image panel: no ticks, grid or spines, but labels stay visible."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


@_styled
def maze_grid(inputs, targets, predictions=None, titles=None, columns: int = 4, solved=None):
    """Mazes (n, 3, H, W) beside their solutions (n, H, W), as in paper Fig. 3, and
    optionally the nets' predictions.

    The solution and prediction panels share one colour code (legend once per figure):
    walls dark, the solution path green; in a prediction, path pixels not predicted
    (missed) pink-purple and pixels predicted off the path (wrong) vermillion, so a
    failure shows at a glance.

    ``predictions``: an array (n, H, W) (0/1 or probabilities) or a dict label -> array,
    one prediction panel per label (e.g. ``{"feed-forward": ..., "recurrent": ...}``).
    ``solved``: a list of bools (one prediction set) or a dict label -> list of bools:
    each prediction panel is titled "solved" or "failed", failed ones framed in red.
    ``titles``: one per maze, prefixed to its first panel's title.  ``columns``: mazes per
    row."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    inputs, targets = np.asarray(inputs), np.asarray(targets)
    n = len(inputs)
    if predictions is None:
        sets = {}
    elif isinstance(predictions, Mapping):
        sets = {str(k): np.asarray(v) for k, v in predictions.items()}
    else:
        sets = {"prediction": np.asarray(predictions)}
    if solved is not None and not isinstance(solved, Mapping):
        if len(sets) != 1:
            raise ValueError("solved: give a dict label -> list of bools, one per prediction set")
        solved = {next(iter(sets)): solved}
    solved = {str(k): [bool(s) for s in v] for k, v in (solved or {}).items()}
    for label, flags in solved.items():
        if label not in sets or len(flags) != n:
            raise ValueError(f"solved[{label!r}]: need one flag per maze for a prediction set")

    truth = maze_pixels(inputs, targets)
    masks = {label: maze_pixels(inputs, targets, p) for label, p in sets.items()}
    width = 2 + len(sets)  # panels per maze
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    gap = 0.25  # a narrow empty column between two mazes
    ratios = []
    for c in range(columns):
        ratios += [1] * width + ([gap] if c < columns - 1 else [])
    fig = plt.figure(figsize=(1.9 * (columns * width + gap * (columns - 1)), 2.1 * rows + 0.5),
                     layout="constrained")
    grid = fig.add_gridspec(rows, len(ratios), width_ratios=ratios)
    for i in range(n):
        r, c = divmod(i, columns)
        start = c * (width + 1)
        panels = [("maze", inputs[i].transpose(1, 2, 0).clip(0, 1)),
                  ("solution", _maze_image(truth, i))]
        panels += [(label, _maze_image(m, i)) for label, m in masks.items()]
        for j, (label, image) in enumerate(panels):
            ax = fig.add_subplot(grid[r, start + j])
            ax.imshow(image, vmin=0, vmax=1, interpolation="nearest")
            _image_axes(ax)
            title = label
            if label in solved:
                verdict = "solved" if solved[label][i] else "failed"
                title = verdict if label == "prediction" else f"{label}\n{verdict}"  # two lines: no overlap
                if not solved[label][i]:
                    for spine in ax.spines.values():
                        spine.set_visible(True)
                        spine.set_color(FAILED)
                        spine.set_linewidth(3)
            if titles is not None and j == 0:
                title = f"{titles[i]}: {title}"
            ax.set_title(title, fontsize="small" if "\n" in title else "medium", fontweight="normal")
            if title.endswith("failed"):
                ax.title.set_color(FAILED)
    names = ["wall", "path"] + (["missed", "wrong"] if sets else [])
    fig.legend(handles=[Patch(facecolor=MAZE_COLOURS[k], edgecolor="0.5", label=MAZE_LEGEND[k])
                        for k in names],
               loc="outside lower center", ncol=len(names), fontsize="small")
    return fig


@_styled
def path_length_histograms(lengths: dict, *, title: str = "optimal path lengths"):
    """Distribution of optimal path lengths per dataset (paper Fig. 4).

    ``lengths`` maps a label (e.g. ``small (5x5)``) to an array of path lengths."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
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


# --------------------------------------------------------------------------- depth
_FORM_NAMES = {"feed-forward": False, "feed_forward": False, "ff": False, "false": False,
               "recurrent": True, "rec": True, "true": True}
_SIZE_ORDER = ("small", "medium", "large")


def _form(key):
    if isinstance(key, (bool, np.bool_)):
        return bool(key)
    name = str(key).lower()
    if name in _FORM_NAMES:
        return _FORM_NAMES[name]
    raise KeyError(key)


def _is_form(key) -> bool:
    try:
        _form(key)
    except KeyError:
        return False
    return True


def paper_table(paper, by: str = "family", value: str = "test_acc"):
    """The paper's numbers as a DataFrame (columns ``by`` (None: every panel), recurrent,
    depth, paper).

    ``paper``: a DataFrame with columns recurrent, depth, one of ``paper`` / ``value`` /
    ``mean`` and optionally ``by``; or a dict: form -> {depth: value} (form: True/False,
    "feed-forward"/"recurrent"), (recurrent, depth) -> value, (panel, recurrent, depth) ->
    value, or panel -> one of those."""
    import pandas as pd

    if isinstance(paper, pd.DataFrame):
        column = next((c for c in ("paper", value, "mean") if c in paper), None)
        if column is None or not {"recurrent", "depth"} <= set(paper):
            raise ValueError(f"paper: need columns recurrent, depth and paper (or {value})")
        out = pd.DataFrame({by: paper[by] if by in paper else None,
                            "recurrent": [_form(r) for r in paper.recurrent],
                            "depth": paper.depth, "paper": paper[column].astype(float)})
        return out.reset_index(drop=True)
    rows = []

    def walk(mapping, panel):
        for key, v in mapping.items():
            if isinstance(key, tuple):
                *head, rec, depth = key
                rows.append((head[0] if head else panel, _form(rec), depth, float(v)))
            elif _is_form(key) and isinstance(v, (Mapping, pd.Series)):
                for depth, x in dict(v).items():
                    rows.append((panel, _form(key), depth, float(x)))
            elif isinstance(v, Mapping) and panel is None:
                walk(v, key)
            else:
                raise ValueError(f"paper: cannot read the entry {key!r}: {v!r}")

    walk(dict(paper), None)
    return pd.DataFrame(rows, columns=[by, "recurrent", "depth", "paper"])


@_styled
def depth_curves(runs, *, value: str = "test_acc", title: str = "{family}",
                 ylabel: str = "test accuracy (%)", paper=None, marks=None,
                 by: str = "family", sharey: bool | None = None, order=None):
    """Feed-forward (blue) vs recurrent (orange) ``value`` against effective depth, mean
    ± standard error over seeds, one panel per value of ``by`` (paper Figs. 2 and 5).

    ``runs``: the tidy table, one row per run (columns ``by``, recurrent, depth, seed and
    ``value``), as ``recur.experiments.run_all`` returns it.  ``title``: a panel's title,
    ``{family}`` (or ``{<by>}``, ``{panel}``) standing for its panel's value.
    ``paper``: the paper's numbers (see ``paper_table``), drawn as hollow markers on
    dashed lines, "paper, feed-forward" / "paper, recurrent".  ``marks``: label -> depth,
    a labelled vertical line each (e.g. where the receptive field covers the maze).
    ``by``: the panel column, e.g. "maze_size" for paper Fig. 5 (small, medium, large);
    ``sharey`` (default: for any ``by`` but family) shares the y axis; ``order``: the
    panels' order (default: small, medium, large for maze sizes, else as in ``runs``)."""
    import matplotlib.pyplot as plt

    from recur.results import summarise

    if by not in runs:
        raise ValueError(f"depth_curves: runs has no column {by!r}")
    summary = summarise(runs, by=(by, "recurrent", "depth"), value=value)
    summary["recurrent"] = summary.recurrent.astype(bool)
    panels = list(order) if order is not None else list(dict.fromkeys(runs[by]))
    if order is None and set(map(str, panels)) <= set(_SIZE_ORDER):
        panels.sort(key=lambda p: _SIZE_ORDER.index(str(p)))
    if sharey is None:
        sharey = by != "family"
    reference = None if paper is None else paper_table(paper, by, value)
    height = 4.6 + 0.4 * (paper is not None or bool(marks))  # room for a longer legend
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 5.2 * len(panels)), height),
                             squeeze=False, sharey=sharey, layout="constrained")
    for ax, panel in zip(axes[0], panels):
        s = summary[summary[by] == panel]
        depths = set(s.depth)
        for recurrent, colour, label in _forms():
            f = s[s.recurrent == recurrent].sort_values("depth")
            ax.errorbar(f.depth, f["mean"], yerr=f.se, color=colour, marker="o", capsize=4,
                        linewidth=2, markersize=7, label=label)
        if reference is not None:
            p = reference[reference[by].isna() | (reference[by] == panel)]
            for recurrent, colour, label in _forms():
                f = p[p.recurrent == recurrent].sort_values("depth")
                if len(f):
                    ax.plot(f.depth, f.paper, linestyle="--", marker="o", markersize=8,
                            markerfacecolor="none", markeredgewidth=1.6, linewidth=1.4,
                            color=colour, label=f"{PAPER_LABEL}, {label}")
                    depths |= set(f.depth)
        for label, depth in (marks or {}).items():
            ax.axvline(depth, color="0.35", linestyle="-.", linewidth=1.4, label=label)
        ax.set(title=title.format(**{"family": panel, "panel": panel, by: panel}),
               xlabel="effective depth", ylabel=ylabel, xticks=sorted(depths))
        if sharey:
            ax.yaxis.set_tick_params(labelleft=True)
    # one legend, below the panels: ours, then the paper's, then the marks
    handles, labels = axes[0, -1].get_legend_handles_labels()
    first = [f for _, _, f in _forms()]
    rank = {label: k for k, label in enumerate(first + [f"{PAPER_LABEL}, {f}" for f in first])}
    handles, labels = zip(*sorted(zip(handles, labels), key=lambda hl: rank.get(hl[1], len(rank))))
    fig.legend(handles, labels, loc="outside lower center", fontsize="small",
               ncol=min(len(labels), 2 if len(panels) == 1 else 5))
    return fig


@_styled
def iteration_curves(table, *, ylabel: str = "test accuracy (%)", feed_forward=None,
                     title: str | None = None):
    """A recurrent net's accuracy against the iterations run at test time, one curve per
    depth (mean ± standard error over seeds), a dashed line at the iterations it was
    trained for and, given ``feed_forward`` (depth -> accuracy), a dotted line at the
    feed-forward net of that depth; both kinds of line are named in the legend.

    ``table``: ``recur.experiments.iteration_table`` (depth, iterations, iteration, mean, se).
    ``title``: default "accuracy after each iteration"."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.lines import Line2D

    groups = list(table.groupby("depth"))
    colours = sns.color_palette("flare", n_colors=max(len(groups), 2))
    if len(groups) == 1:
        colours = [RECURRENT]
    fig, ax = plt.subplots(figsize=(10, 4.6), layout="constrained")
    for (depth, c), colour in zip(groups, colours):
        n = int(c.iterations.iloc[0])
        ax.errorbar(c.iteration, c["mean"], yerr=c.se, marker="o", markersize=5, capsize=3,
                    linewidth=2, color=colour, label=f"depth {depth} (n = {n})")
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


# --------------------------------------------------------------------------- features
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
            suptitle: str | None = None):
    """A matrix (e.g. CKA, layer vs layer) with its value annotated in every cell, row 0
    at the bottom (origin bottom-left).  The colour scale spans the data (``vmin`` /
    ``vmax`` default to its minimum and maximum, not 0..1), so differences show.

    ``matrix``: one 2-D array, or a list of them drawn side by side sharing one colour
    scale and colour bar; then ``xlabels``, ``ylabels``, ``xlabel``, ``ylabel`` and
    ``title`` may each be one per panel (a list) or shared.  ``xlabels`` / ``ylabels``:
    the tick labels of columns / rows."""
    import matplotlib.pyplot as plt
    import seaborn as sns

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
    if vmax <= vmin:
        vmax = vmin + 1e-9
    rows = max(m.shape[0] for m in matrices)
    widths = [m.shape[1] for m in matrices]
    fig, axes = plt.subplots(1, n, figsize=(0.9 * sum(widths) + 2.2 * n + 1.2, 0.75 * rows + 2.2),
                             squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": widths})
    for k, (ax, m) in enumerate(zip(axes[0], matrices)):
        sns.heatmap(m, ax=ax, annot=True, fmt=fmt, vmin=vmin, vmax=vmax, cmap=cmap, cbar=False,
                    square=True, linewidths=0.5, linecolor="white",
                    xticklabels=list(map(str, xlabels[k])), yticklabels=list(map(str, ylabels[k])),
                    annot_kws={"fontsize": "small"})
        ax.invert_yaxis()  # row 0 at the bottom
        ax.tick_params(axis="y", labelrotation=0)
        ax.set(xlabel=xlabel[k], ylabel=ylabel[k], title=title[k])
    fig.colorbar(axes[0, 0].collections[0], ax=list(axes[0]), label=cbar_label, shrink=0.9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


@_styled
def feature_grid(images, *, row_labels, col_labels, title=None):
    """Images in a grid (e.g. a filter's visualisation per recurrent iteration, top, and
    per feed-forward layer, bottom): row labels on the left, column labels on top.

    ``images``: a list of rows, each a list of arrays (C, H, W) or (H, W) in [0, 1];
    grayscale when one channel, RGB when three."""
    import matplotlib.pyplot as plt

    rows = len(images)
    cols = max(len(r) for r in images)
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(f"feature_grid: {rows} rows x {cols} columns need as many labels")
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols + 0.8, 1.9 * rows + 0.6),
                             squeeze=False, layout="constrained")
    for r, row in enumerate(images):
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(row):
                ax.remove()
                continue
            image = np.asarray(row[c], float)
            if image.ndim == 3:
                image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
            gray = image.ndim == 2
            ax.imshow(image.clip(0, 1), cmap="gray" if gray else None, vmin=0, vmax=1,
                      interpolation="nearest")
            _image_axes(ax)
            if c == 0:
                ax.set_ylabel(row_labels[r])
            if r == 0:
                ax.set_title(col_labels[c], fontweight="normal")
    if title:
        fig.suptitle(title)
    return fig


@_styled
def reuse_histogram(reuse: dict, *, bins: int = 20,
                    title: str = "activation reuse across iterations"):
    """The activation-reuse distribution (paper Fig. 6): per label, a density histogram
    (step) over [0, 1] of the ratios of positive activations at an iteration to those at
    the same image-filter pair's most active iteration.

    ``reuse``: label -> ``recur.analysis.activation_reuse`` result (a dict with key
    ``ratios``; ``mean_ratio`` is shown in the legend when present) or the ratios."""
    import matplotlib.pyplot as plt

    edges = np.linspace(0, 1, bins + 1)
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for k, (label, r) in enumerate(reuse.items()):
        ratios = np.asarray(r["ratios"] if isinstance(r, Mapping) else r, float)
        density, _ = np.histogram(ratios, bins=edges, density=True)
        text = str(label)
        if isinstance(r, Mapping) and r.get("mean_ratio") is not None:
            text += f" (mean {r['mean_ratio']:.2f})"
        ax.stairs(density, edges, linewidth=2.2, label=text, color=_form_colour(label, k))
    ax.set(xlabel="positive activations / those at the most active iteration",
           ylabel="density", title=title, xlim=(0, 1))
    ax.set_ylim(bottom=0)
    ax.legend()
    return fig


@_styled
def norm_statistics(stats):
    """A recurrent BatchNorm net's running statistics against the iteration, one line per
    BatchNorm of the module (paper 3.1): left the mean |running mean|, right the mean
    running variance, each averaged over the layer's channels.

    ``stats``: ``recur.models.norm_statistics`` as a DataFrame (iteration, layer, ...)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    columns = (("mean |running mean|", "|running mean|, mean over channels"),
               ("mean running var", "running variance, mean over channels"))
    for ax, (column, label) in zip(axes, columns):
        for k, (layer, s) in enumerate(stats.groupby("layer")):
            ax.plot(s.iteration, s[column], marker="o", color=PALETTE[2:][k % 8],
                    label=f"BatchNorm {layer} of the module")
        ax.set(xlabel="iteration", ylabel=label, title=label.split(",")[0] + " per iteration")
        _integer_ticks(ax.xaxis)
    _outside_legend(axes[1])
    return fig


@_styled
def probe_curves(table, *, ylabel: str = "linear-probe accuracy (%)",
                 title: str = "{features} features"):
    """Linear-probe accuracy per module (recurrent: per iteration), feed-forward vs
    recurrent, one panel per kind of features; train solid, test dashed; the paper's
    values hollow markers; mean ± standard error when a module has several rows (seeds).

    ``table``: columns net ("feed-forward"/"recurrent"), features ("full"/"pooled"),
    module, train_acc, test_acc, optionally paper_train / paper_test."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    kinds = list(dict.fromkeys(table.features))
    nets = list(dict.fromkeys(table.net))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.6 * len(kinds) + 2.2, 4.4), squeeze=False,
                             sharey=True, layout="constrained")
    splits = (("train", "train_acc", "paper_train", "-"), ("test", "test_acc", "paper_test", "--"))
    for ax, kind in zip(axes[0], kinds):
        t = table[table.features == kind]
        for k, net in enumerate(nets):
            colour = _form_colour(net, k)
            g = t[t.net == net].groupby("module")
            for split, column, paper, linestyle in splits:
                stats = g[column].agg(["mean", "std", "count"])
                se = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0)
                ax.errorbar(stats.index.to_numpy(float), stats["mean"].to_numpy(float),
                            yerr=se.to_numpy(float), color=colour, marker="o",
                            linestyle=linestyle, linewidth=2, capsize=3,
                            label=f"{net}, {split}")
                if paper in t and t.loc[t.net == net, paper].notna().any():
                    p = g[paper].mean().dropna()
                    ax.plot(p.index.to_numpy(float), p.to_numpy(float), linestyle="none",
                            marker="s", markersize=9,
                            markerfacecolor="none", markeredgewidth=1.6, color=colour,
                            label=f"{PAPER_LABEL}, {net}, {split}")
        ax.set(title=title.format(features=kind), xlabel="module (recurrent: iteration)",
               ylabel=ylabel)
        _integer_ticks(ax.xaxis)
        ax.yaxis.set_tick_params(labelleft=True)
    handles = [Line2D([], [], color=_form_colour(net, k), linewidth=2.5)
               for k, net in enumerate(nets)]
    labels = list(nets) + ["train", "test"]
    handles += [Line2D([], [], color="0.3", linestyle="-", linewidth=2),
                Line2D([], [], color="0.3", linestyle="--", linewidth=2)]
    if any(c in table for c in ("paper_train", "paper_test")):
        handles.append(Line2D([], [], color="0.3", linestyle="none", marker="s", markersize=9,
                              markerfacecolor="none", markeredgewidth=1.6))
        labels.append(PAPER_LABEL)
    _outside_legend(axes[0, -1], handles, labels)
    return fig


@_styled
def bar_comparison(df, *, value: str, group: str, hue: str, error: str | None = None,
                   ylabel: str, title: str, xlabel: str | None = None, fmt: str = "{:.1f}",
                   ylim=None):
    """A grouped bar chart with error bars (e.g. paper Table 1: accuracy per model, ours
    vs the paper's): one group of bars per value of ``group`` (x axis), one bar per value
    of ``hue`` (colour, legend), height ``value``, error bar ``error`` (e.g. a standard
    error; missing or NaN: none), each bar labelled with its value.  ``ylim``: the y range
    (the default starts at 0)."""
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(df[group]))
    hues = list(dict.fromkeys(df[hue]))
    width = 0.8 / len(hues)
    width_in = max(6.0, 1.3 * len(groups) * max(1, len(hues) / 2) + 2) + 1.5  # + legend
    fig, ax = plt.subplots(figsize=(width_in, 4.4), layout="constrained")
    x = np.arange(len(groups))
    for k, h in enumerate(hues):
        rows = df[df[hue] == h].set_index(group)
        heights = np.array([float(rows[value].get(g, np.nan)) for g in groups])
        errors = None
        if error is not None and error in rows:
            errors = np.array([float(rows[error].get(g, np.nan)) for g in groups])
            if not np.isfinite(errors).any():
                errors = None
        colour = _form_colour(h, k) if len(hues) > 1 else FEED_FORWARD
        bars = ax.bar(x + (k - (len(hues) - 1) / 2) * width, heights, width * 0.95, yerr=errors,
                      capsize=4, color=colour, edgecolor="white", label=str(h),
                      error_kw={"elinewidth": 1.5, "ecolor": "0.2"})
        ax.bar_label(bars, labels=["" if not np.isfinite(v) else fmt.format(v) for v in heights],
                     padding=2, fontsize="x-small")
    ax.set_xticks(x, [str(g) for g in groups])
    ax.set(xlabel=xlabel or group, ylabel=ylabel, title=title)
    if ylim is not None:  # e.g. accuracies close to each other: the differences, not the 0 baseline
        ax.set_ylim(*ylim)
    ax.grid(axis="x", visible=False)
    if len(hues) > 1:
        _outside_legend(ax, title=hue, title_fontsize="small")
    return fig
