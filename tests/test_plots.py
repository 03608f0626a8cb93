"""The shared figures draw what their tables say: means and standard errors over seeds,
the paper's numbers where given, the feed-forward / recurrent colours keyed by
``recurrent``, labelled axes, failures visible in the maze panels, into the caller's Axes
when given one, and no change to the caller's matplotlib settings.

Every expected value is computed here from the input table, not by ``recur``."""
import itertools

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb, to_rgba

from recur import experiments, paper, plots
from recur.forms import FORMS


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def runs():
    """Two families, two depths, both forms, three seeds: test_acc = depth + seed (+ 1 if
    recurrent); per-iteration accuracies 10 (i + 1) + seed for the recurrent runs."""
    rows = [{"family": f, "recurrent": rec, "depth": d, "seed": s, "test_acc": d + s + rec,
             "iterations": d // 4 if rec else None,
             "test_acc_per_iteration": [10.0 * (i + 1) + s for i in range(d // 4)] if rec else None}
            for f, ds in (("mlp", (3, 4)), ("maze", (8, 12))) for d in ds
            for rec in (False, True) for s in range(3)]
    return pd.DataFrame(rows)


def _stats(df, keys, value):
    """Mean and standard error (std / √n, ddof 1) of ``value`` per group, with numpy."""
    out = {}
    for key, g in df.groupby(keys):
        v = g[value].to_numpy(float)
        out[key] = (v.mean(), v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0)
    return out


def _line(ax, label):
    lines = [line for line in ax.lines if line.get_label() == label]
    assert len(lines) == 1, f"one line labelled {label!r}, found {len(lines)}"
    return lines[0]


def _xy(line):
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _error_bars(ax, colour=None):
    """The vertical error bars drawn on ``ax`` (in ``colour``): x, low and high ends, by x."""
    segments = [s for c in ax.collections if isinstance(c, LineCollection)
                and (colour is None or to_rgba(c.get_color()[0]) == to_rgba(colour))
                for s in c.get_segments()]
    x, low, high = (np.array([f(s) for s in segments]) for f in
                    (lambda s: s[0, 0], lambda s: s[:, 1].min(), lambda s: s[:, 1].max()))
    order = np.argsort(x)
    return x[order], low[order], high[order]


def _labels(ax):
    return ax.get_legend_handles_labels()[1]


def _texts(legend):
    return [t.get_text() for t in legend.get_texts()]


def _panels(fig):
    """The figure's axes without its colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _check_means(ax, table, value, colours=plots.COLOURS):
    """Per form, the line and its error bars are the table's mean ± s.e. per depth."""
    stats = _stats(table, ["recurrent", "depth"], value)
    for recurrent, name in FORMS.items():
        depths = sorted(d for r, d in stats if r == recurrent)
        mean, se = (np.array([stats[recurrent, d][k] for d in depths]) for k in (0, 1))
        line = _line(ax, name)
        assert to_rgba(line.get_color()) == to_rgba(colours[recurrent])
        np.testing.assert_allclose(_xy(line), [depths, mean])
        np.testing.assert_allclose(_error_bars(ax, colours[recurrent]),
                                   [depths, mean - se, mean + se])


# --------------------------------------------------------------------------- depth
def test_depth_curves_one_labelled_panel_per_family(runs):
    fig = plots.depth_curves(runs, title="{family} on digits")
    assert [ax.get_title() for ax in fig.axes] == ["mlp on digits", "maze on digits"]
    legend, = fig.legends  # one legend for the figure
    assert _texts(legend) == ["feed-forward", "recurrent"]
    for ax, family in zip(fig.axes, ("mlp", "maze")):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("effective depth", "test accuracy (%)")
        _check_means(ax, runs[runs.family == family], "test_acc")
        assert list(ax.get_xticks()) == sorted(set(runs[runs.family == family].depth))


def test_depth_curves_paper_values_and_marks(runs):
    maze = runs[runs.family == "maze"]
    reported = paper.table2()
    fig = plots.depth_curves(maze, paper=reported, marks={"receptive field covers the maze": 10})
    ax, = fig.axes
    for recurrent, name in FORMS.items():
        line = _line(ax, f"paper, {name}")
        mine = reported[reported.recurrent == recurrent].sort_values("depth")
        np.testing.assert_allclose(_xy(line), [mine.depth, mine.test_acc])
        assert line.get_linestyle() == "--" and line.get_markerfacecolor() == "none"  # hollow
        assert to_rgba(line.get_color()) == to_rgba(plots.COLOURS[recurrent])
    _check_means(ax, maze, "test_acc")  # ours unchanged by the paper's lines
    assert list(_line(ax, "receptive field covers the maze").get_xdata()) == [10, 10]
    assert list(ax.get_xticks()) == sorted(set(reported.depth) | {8, 12})
    assert _texts(fig.legends[0]) == ["feed-forward", "recurrent", "paper, feed-forward",
                                      "paper, recurrent", "receptive field covers the maze"]


def test_depth_curves_accept_one_shape_of_paper_table(runs):
    maze = runs[runs.family == "maze"]
    for wrong in ({"feed-forward": {8: 75.0}},  # a dict, not a table
                  paper.table2().assign(recurrent=lambda t: t.recurrent.map(FORMS)),
                  paper.table2().rename(columns={"test_acc": "paper"})):
        with pytest.raises(ValueError):
            plots.depth_curves(maze, paper=wrong)


def test_depth_curves_one_panel_per_maze_size_shared_y():
    rows = [{"maze_size": size, "recurrent": rec, "depth": d, "seed": s,
             "test_acc": 50 + 10 * k + d + s + rec}
            for k, size in enumerate(("large", "small", "medium")) for d in (8, 12)
            for rec in (False, True) for s in range(2)]
    runs = pd.DataFrame(rows)
    reported = pd.DataFrame({"maze_size": ["small", "large"], "recurrent": [True, True],
                             "depth": [8, 8], "test_acc": [70.0, 40.0]})
    fig = plots.depth_curves(runs, by="maze_size", title="{maze_size} mazes", paper=reported)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["small mazes", "medium mazes", "large mazes"]
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])
    assert axes[0].get_ylim() == axes[2].get_ylim()
    assert all(ax.get_ylabel() for ax in axes)
    for ax, size in zip(axes, ("small", "medium", "large")):
        _check_means(ax, runs[runs.maze_size == size], "test_acc")
        mine = reported[reported.maze_size == size]
        if len(mine):
            np.testing.assert_allclose(_xy(_line(ax, "paper, recurrent")), [[8], mine.test_acc])
        else:
            assert not [label for label in _labels(ax) if label.startswith("paper")]


def test_iteration_curves_mean_over_seeds_and_trained_iterations(runs):
    maze = runs[runs.family == "maze"]
    table = experiments.iteration_table(maze)
    fig = plots.iteration_curves(table, feed_forward={8: 50.0, 12: 60.0}, title="t")
    ax, = fig.axes
    assert (ax.get_xlabel(), ax.get_title()) == ("iterations at test time", "t")
    assert _texts(ax.get_legend()) == ["depth 8 (n = 2)", "depth 12 (n = 3)",
                                       "n: iterations trained for",
                                       "feed-forward net, same depth"]
    styles = [h.get_linestyle() for h in ax.get_legend().legend_handles[2:]]
    assert styles == ["--", ":"]  # the legend names the dashed and the dotted lines
    for depth in (8, 12):  # the mean over seeds of each iteration's accuracy, from the runs
        lists = np.array(maze[maze.recurrent & (maze.depth == depth)].test_acc_per_iteration
                         .tolist())
        line = _line(ax, f"depth {depth} (n = {depth // 4})")
        np.testing.assert_allclose(_xy(line), [np.arange(1, depth // 4 + 1), lists.mean(0)])
        se = lists.std(0, ddof=1) / np.sqrt(len(lists))
        np.testing.assert_allclose(_error_bars(ax, line.get_color())[1:],
                                   [lists.mean(0) - se, lists.mean(0) + se])
    vertical = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert vertical == [2, 3] and horizontal == [50.0, 60.0]
    ax, = plots.iteration_curves(table).axes  # no feed-forward numbers: no dotted line
    assert "feed-forward net, same depth" not in _texts(ax.get_legend())
    assert not [line for line in ax.lines if line.get_linestyle() == ":"]


# --------------------------------------------------------------------------- composition
def test_figures_draw_into_the_callers_axes(runs):
    fig, (left, right) = plt.subplots(1, 2)
    maze = runs[runs.family == "maze"]
    assert plots.depth_curves(maze, ax=left) is fig
    assert plots.iteration_curves(experiments.iteration_table(maze), ax=right) is fig
    assert fig.axes == [left, right] and not fig.legends  # nothing added beside them
    _check_means(left, maze, "test_acc")
    assert left.get_title() == "maze" and _texts(left.get_legend())[:2] == list(FORMS.values())
    assert right.get_xlabel() == "iterations at test time"
    assert {line.get_label() for line in right.lines} >= {"depth 8 (n = 2)", "depth 12 (n = 3)"}
    with pytest.raises(ValueError):  # two families need two Axes
        plots.depth_curves(runs, ax=left)


def test_image_grids_draw_into_a_subfigure():
    inputs, targets, predictions = _toy_mazes()
    fig = plt.figure(layout="constrained")
    left, right = fig.subfigures(1, 2)
    assert plots.maze_grid(inputs, targets, {"net": predictions}, fig=left) is fig
    assert plots.feature_grid([[targets[0]]], row_labels=["r"], col_labels=["c"],
                              fig=right) is fig
    assert len(left.axes) == 9 and len(right.axes) == 1
    np.testing.assert_array_equal(right.axes[0].images[0].get_array(), targets[0])


# --------------------------------------------------------------------------- mazes
def _toy_mazes():
    """Three 6x6 mazes: a border of wall, free inside; a path along row 2."""
    n, size = 3, 6
    inputs = np.zeros((n, 3, size, size), np.float32)
    inputs[:, :, 1:-1, 1:-1] = 1.0
    targets = np.zeros((n, size, size), np.uint8)
    targets[:, 2, 1:5] = 1
    predictions = targets.copy()
    predictions[1, 2, 3:5] = 0  # maze 1: two path pixels missed
    predictions[2, 3, 1:3] = 1  # maze 2: two pixels predicted off the path...
    predictions[2, 0, 0] = 1  # ... one of them on the wall
    return inputs, targets, predictions


def _pixels_of(ax, colour):
    image = np.asarray(ax.images[0].get_array(), float)[..., :3]
    return np.all(np.isclose(image, to_rgb(colour)), axis=-1)


def test_maze_grid_colours_missed_and_wrong_pixels_and_frames_failures():
    inputs, targets, predictions = _toy_mazes()
    solved = [True, False, False]
    fig = plots.maze_grid(inputs, targets, {"net": predictions}, solved={"net": solved},
                          columns=3)
    axes = fig.axes
    assert len(axes) == 9  # maze, solution, prediction per maze
    expected = {"missed": (targets == 1) & (predictions == 0),  # computed here
                "wrong": (targets == 0) & (predictions == 1),
                "path": (targets == 1) & (predictions == 1)}
    expected["wall"] = (inputs.max(1) == 0) & ~expected["wrong"]
    for i in range(3):
        ax = axes[3 * i + 2]
        for name, mask in expected.items():
            np.testing.assert_array_equal(_pixels_of(ax, plots.MAZE_COLOURS[name]), mask[i],
                                          err_msg=f"maze {i}: {name}")
        assert ax.get_title() == "net\n" + ("solved" if solved[i] else "failed")
        frame = [s for s in ax.spines.values() if s.get_visible()]
        assert len(frame) == (0 if solved[i] else 4)
        assert all(to_rgba(s.get_edgecolor()) == to_rgba(plots.FAILED) for s in frame)
        np.testing.assert_array_equal(_pixels_of(axes[3 * i + 1], plots.MAZE_COLOURS["path"]),
                                      targets[i] == 1)  # the solution panel: the path
        np.testing.assert_allclose(axes[3 * i].images[0].get_array(),
                                   inputs[i].transpose(1, 2, 0))
        for other in (axes[3 * i], axes[3 * i + 1]):  # maze and solution: never framed
            assert not any(s.get_visible() for s in other.spines.values())
    legend, = fig.legends  # once per figure
    assert _texts(legend) == [plots.MAZE_LEGEND[k] for k in ("wall", "path", "missed", "wrong")]


def test_maze_grid_several_models_and_no_predictions():
    inputs, targets, predictions = _toy_mazes()
    fig = plots.maze_grid(inputs, targets, {"feed-forward": predictions, "recurrent": targets},
                          solved={"feed-forward": [True, False, False], "recurrent": [True] * 3},
                          titles=["a", "b", "c"], columns=2)
    axes = fig.axes
    assert len(axes) == 12
    assert [ax.get_title() for ax in axes[4:8]] == ["b: maze", "solution", "feed-forward\nfailed",
                                                   "recurrent\nsolved"]
    framed = [k for k, ax in enumerate(axes) if any(s.get_visible() for s in ax.spines.values())]
    assert framed == [6, 10]
    fig = plots.maze_grid(inputs, targets, columns=4)
    assert [ax.get_title() for ax in fig.axes] == ["maze", "solution"] * 3
    assert _texts(fig.legends[0]) == ["wall", "path"]
    with pytest.raises(TypeError):  # one shape: a dict label -> predictions
        plots.maze_grid(inputs, targets, predictions)
    with pytest.raises(ValueError):
        plots.maze_grid(inputs, targets, {"a": predictions}, solved={"b": [True] * 3})


def test_path_length_histograms_fraction_of_mazes_per_length():
    lengths = {"small": [1, 2, 2, 3], "large": [2, 4, 4, 4, 5]}
    ax, = plots.path_length_histograms(lengths).axes
    assert _labels(ax) == ["small", "large"]
    for patch, values in zip(ax.patches, lengths.values()):
        xy = patch.get_xy()  # a step outline: the top of each bin, (x, height) corners
        tops = {round(x + 0.5): y for (x, y), (x2, _) in itertools.pairwise(xy[1:]) if x2 > x}
        counts = np.bincount(values, minlength=6)  # bins 0..5: the longest path of all
        assert tops == {k: c / len(values) for k, c in enumerate(counts)}


# --------------------------------------------------------------------------- features
def test_heatmap_annotates_every_cell_with_origin_bottom_left():
    matrix = np.array([[0.91, 0.72, 0.55, 0.61], [0.70, 0.88, 0.66, 0.59], [0.5, 0.6, 0.93, 0.81]])
    fig = plots.heatmap(matrix, xlabels=[1, 2, 3, 4], ylabels=["a", "b", "c"], xlabel="rec",
                        ylabel="ff", title="CKA")
    ax, = _panels(fig)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("rec", "ff", "CKA")
    texts = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(r, c): f"{matrix[r, c]:.2f}" for r in range(3) for c in range(4)}
    np.testing.assert_allclose(ax.collections[0].get_array().reshape(3, 4), matrix)
    bottom, top = ax.get_ylim()
    assert bottom < top  # row 0 at the bottom
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert sorted(ax.get_yticks()) == list(ax.get_yticks())  # a, b, c upwards
    assert ax.collections[0].get_clim() == (matrix.min(), matrix.max())  # not 0..1
    cbar, = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert cbar.get_ylabel() == "CKA"


def test_heatmap_side_by_side_panels_share_the_colour_scale():
    a, b = np.array([[0.9, 0.2], [0.3, 0.8]]), np.array([[0.6], [0.95]])
    fig = plots.heatmap([a, b], xlabels=[["r1", "r2"], ["f1"]], ylabels=["1", "2"],
                        xlabel=["recurrent", "ff4"], ylabel="ff8", title=["vs rec", "vs ff4"],
                        fmt=".1f")
    left, right = _panels(fig)
    assert [left.get_title(), right.get_title()] == ["vs rec", "vs ff4"]
    assert [left.get_xlabel(), right.get_xlabel()] == ["recurrent", "ff4"]
    assert left.collections[0].get_clim() == right.collections[0].get_clim() == (0.2, 0.95)
    assert sorted(t.get_text() for t in right.texts) == ["0.6", "0.9"]  # 0.95 -> "0.9" (".1f")
    assert len(fig.axes) == 3  # one colour bar
    fig = plots.heatmap([a, b], xlabels=[["r1", "r2"], ["f1"]], ylabels=["1", "2"], xlabel="x",
                        ylabel="y", title=["1", "2"], vmin=0, vmax=1)
    assert _panels(fig)[0].collections[0].get_clim() == (0, 1)


def test_feature_grid_labels_rows_on_the_left_and_columns_on_top():
    gray = np.linspace(0, 1, 16).reshape(1, 4, 4)
    rgb = np.stack([gray[0], gray[0] * 0.5, 1 - gray[0]])
    fig = plots.feature_grid([[gray, gray[0], gray], [rgb, rgb, rgb]], row_labels=["rec", "ff"],
                             col_labels=["1", "2", "3"], title="filter 3")
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["rec", "ff"]
    assert [ax.get_title() for ax in axes[0]] == ["1", "2", "3"]
    for ax in axes.ravel():
        assert ax.yaxis.label.get_visible() and ax.axison  # labels stay drawn
        assert not len(ax.get_xticks()) and not len(ax.get_yticks())
    image = axes[0, 1].images[0]
    np.testing.assert_allclose(image.get_array(), gray[0])
    assert image.get_cmap().name == "gray"
    np.testing.assert_allclose(axes[1, 0].images[0].get_array(), rgb.transpose(1, 2, 0))
    assert fig.get_suptitle() == "filter 3"


def test_reuse_histogram_density_per_label():
    rng = np.random.default_rng(0)
    reuse = {"trained": {"ratios": rng.uniform(0.5, 1, 200), "mean_ratio": 0.75},
             "untrained": {"ratios": rng.uniform(0, 1, 300)}}
    ax, = plots.reuse_histogram(reuse, bins=10).axes
    assert ax.get_xlabel() == "positive activations / those at the most active iteration"
    assert ax.get_ylabel() == "density" and ax.get_title()
    assert _labels(ax) == ["trained (mean 0.75)", "untrained"]
    edges = np.linspace(0, 1, 11)
    for patch, r in zip(ax.patches, reuse.values()):
        values, patch_edges, _ = patch.get_data()
        counts = np.array([((r["ratios"] >= lo) & (r["ratios"] < hi)).sum()
                           for lo, hi in itertools.pairwise(edges)])
        np.testing.assert_allclose(patch_edges, edges)
        np.testing.assert_allclose(values, counts / len(r["ratios"]) / 0.1)


def _probes():
    return pd.DataFrame([{"recurrent": rec, "features": kind, "module": m, "seed": s,
                          "train_acc": 50 + 10 * m + 5 * rec + s, "test_acc": 40 + 10 * m + s,
                          "paper_train": 55.0 + m, "paper_test": 45.0 + m + rec}
                         for kind in ("full", "pooled") for rec in (False, True)
                         for m in (1, 2, 3) for s in (0, 2)])


def test_probe_curves_train_solid_test_dashed_paper_hollow():
    table = _probes()
    fig = plots.probe_curves(table)
    assert [ax.get_title() for ax in fig.axes] == ["full features", "pooled features"]
    for ax, kind in zip(fig.axes, ("full", "pooled")):
        assert ax.get_xlabel() and ax.get_ylabel()
        t = table[table.features == kind]
        for recurrent, name in FORMS.items():
            colour = plots.COLOURS[recurrent]
            for split, linestyle in (("train", "-"), ("test", "--")):
                stats = _stats(t[t.recurrent == recurrent], ["module"], f"{split}_acc")
                line = _line(ax, f"{name}, {split}")
                means = [stats[m, ][0] for m in (1, 2, 3)]  # groupby on a list: keys (m,)
                np.testing.assert_allclose(_xy(line), [[1, 2, 3], means])
                assert line.get_linestyle() == linestyle
                assert to_rgba(line.get_color()) == to_rgba(colour)
                paper_line = _line(ax, f"paper, {name}, {split}")
                mine = t[t.recurrent == recurrent].groupby("module")[f"paper_{split}"].first()
                np.testing.assert_allclose(_xy(paper_line), [mine.index, mine])
                assert paper_line.get_markerfacecolor() == "none"
            _, low, high = _error_bars(ax, colour)
            se = np.std([0, 2], ddof=1) / np.sqrt(2)  # every module: seeds 0 and 2
            np.testing.assert_allclose(high - low, 2 * se)
    assert _texts(fig.axes[-1].get_legend()) == ["feed-forward", "recurrent", "train", "test",
                                                 "paper"]


def test_bar_comparison_heights_errors_and_legend():
    df = pd.DataFrame({"model": ["ff 4", "ff 4", "rec 4", "rec 4"],
                       "source": ["ours", "paper", "ours", "paper"],
                       "acc": [80.1, 81.0, 79.5, 80.2], "se": [0.5, np.nan, 0.25, np.nan]})
    fig = plots.bar_comparison(df, value="acc", error="se", group="model", hue="source",
                               ylabel="test accuracy (%)", title="Table 1")
    ax, = fig.axes
    bars = sorted(ax.patches, key=lambda p: p.get_x())
    ours = df[df.source == "ours"]
    assert [p.get_height() for p in bars] == [80.1, 81.0, 79.5, 80.2]  # ff 4, then rec 4
    x, low, high = _error_bars(ax)  # only ours has errors: NaN draws none
    np.testing.assert_allclose(x, [bars[0].get_x() + bars[0].get_width() / 2,
                                   bars[2].get_x() + bars[2].get_width() / 2])
    np.testing.assert_allclose([low, high], [ours.acc - ours.se, ours.acc + ours.se])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ff 4", "rec 4"]
    assert _labels(ax) == ["ours", "paper"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("model", "test accuracy (%)",
                                                                  "Table 1")
    assert sorted(t.get_text() for t in ax.texts) == ["79.5", "80.1", "80.2", "81.0"]
    assert ax.get_ylim()[0] == 0  # bars start at 0 unless asked otherwise
    zoomed, = plots.bar_comparison(df, value="acc", group="model", hue="source", ylabel="y",
                                   title="t", ylim=(75, 85)).axes
    assert zoomed.get_ylim() == (75, 85)


def test_bar_comparison_boolean_hue_is_coloured_and_named_by_form():
    df = pd.DataFrame({"size": ["small", "small", "large", "large"],
                       "recurrent": [False, True, False, True], "acc": [90.0, 91.0, 60.0, 62.0]})
    ax, = plots.bar_comparison(df, value="acc", group="size", hue="recurrent", ylabel="y",
                               title="t").axes
    assert _labels(ax) == [FORMS[False], FORMS[True]]
    for recurrent in (False, True):
        patches = [p for p in ax.patches
                   if to_rgba(p.get_facecolor()) == to_rgba(plots.COLOURS[recurrent])]
        heights = [p.get_height() for p in sorted(patches, key=lambda p: p.get_x())]
        assert heights == list(df[df.recurrent == recurrent].acc)


def test_batchnorm_statistics_one_line_per_batchnorm_in_both_panels():
    stats = pd.DataFrame([{"iteration": i, "layer": layer, "mean |running mean|": i * layer,
                           "mean running var": i + layer} for i in (1, 2, 3) for layer in (1, 2)])
    fig = plots.batchnorm_statistics(stats)
    for ax, column in zip(fig.axes, ("mean |running mean|", "mean running var")):
        assert ax.get_xlabel() == "iteration" and ax.get_ylabel()
        for layer in (1, 2):
            s = stats[stats.layer == layer]
            np.testing.assert_allclose(_xy(_line(ax, f"BatchNorm {layer} of the module")),
                                       [s.iteration, s[column]])


# --------------------------------------------------------------------------- all figures
def _all_figures(runs):
    rng = np.random.default_rng(1)
    inputs, targets, predictions = _toy_mazes()
    table = experiments.iteration_table(runs[runs.family == "maze"])
    bars = pd.DataFrame({"model": ["a", "a"], "source": ["ours", "paper"], "acc": [1.0, 2.0]})
    stats = pd.DataFrame({"iteration": [1, 2], "layer": [1, 1], "mean |running mean|": [1, 2],
                          "mean running var": [3, 4]})
    return {
        "depth_curves": lambda: plots.depth_curves(runs, marks={"rf": 10}),
        "iteration_curves": lambda: plots.iteration_curves(table, feed_forward={8: 1.0, 12: 2.0}),
        "path_length_histograms": lambda: plots.path_length_histograms({"s": [1, 2, 2, 3]}),
        "maze_grid": lambda: plots.maze_grid(inputs, targets, {"p": predictions},
                                             solved={"p": [1, 0, 0]}),
        "heatmap": lambda: plots.heatmap([rng.uniform(size=(2, 2))] * 2, xlabels=[1, 2],
                                         ylabels=[1, 2], xlabel="x", ylabel="y", title=["a", "b"]),
        "feature_grid": lambda: plots.feature_grid([[rng.uniform(size=(4, 4))] * 2] * 2,
                                                   row_labels=["r", "f"], col_labels=["1", "2"]),
        "reuse_histogram": lambda: plots.reuse_histogram({"t": {"ratios": rng.uniform(size=50)}}),
        "probe_curves": lambda: plots.probe_curves(_probes()),
        "bar_comparison": lambda: plots.bar_comparison(bars, value="acc", group="model",
                                                       hue="source", ylabel="y", title="t"),
        "batchnorm_statistics": lambda: plots.batchnorm_statistics(stats),
    }


IMAGE_GRIDS = {"maze_grid", "feature_grid"}


@pytest.mark.parametrize("name", ["depth_curves", "iteration_curves", "path_length_histograms",
                                  "maze_grid", "heatmap", "feature_grid", "reuse_histogram",
                                  "probe_curves", "bar_comparison",
                                  "batchnorm_statistics"])
def test_every_panel_is_labelled_and_rcparams_are_left_alone(runs, name):
    before = dict(matplotlib.rcParams)
    fig = _all_figures(runs)[name]()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert dict(matplotlib.rcParams) == before  # the caller's settings are untouched
    fig.canvas.draw()  # drawn after the theme is gone: it still shows
    panels = _panels(fig)
    assert panels
    if name in IMAGE_GRIDS:
        grid = [ax.get_subplotspec() for ax in panels]
        top = min(s.rowspan.start for s in grid)
        left = min(s.colspan.start for s in grid)
        assert all(ax.get_title() for ax, s in zip(panels, grid) if s.rowspan.start == top)
        if name == "feature_grid":
            assert all(ax.get_ylabel() for ax, s in zip(panels, grid) if s.colspan.start == left)
    else:
        for ax in panels:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), ax
    theme = plots.style()
    title = panels[0].title
    assert title.get_fontsize() == pytest.approx(theme["axes.titlesize"])  # drawn in the theme
    assert title.get_fontsize() != pytest.approx(matplotlib.font_manager.FontProperties(
        size=matplotlib.rcParams["axes.titlesize"]).get_size_in_points())


def test_style_applies_the_theme_only_when_asked():
    assert [to_rgb(c) for c in (plots.FEED_FORWARD, plots.RECURRENT)] == \
        [tuple(c) for c in sns.color_palette("colorblind")[:2]]
    assert plots.COLOURS == {False: plots.FEED_FORWARD, True: plots.RECURRENT}
    before = dict(matplotlib.rcParams)
    theme = plots.style()
    assert dict(matplotlib.rcParams) == before
    with matplotlib.rc_context():
        plots.style(apply=True)
        assert matplotlib.rcParams["axes.labelsize"] == pytest.approx(theme["axes.labelsize"])
        assert matplotlib.rcParams["axes.grid"] is True
    assert dict(matplotlib.rcParams) == before


def test_feature_grid_marks_the_images_it_is_told_to():
    images = [[np.full((1, 4, 4), 0.5)] * 3, [np.zeros((1, 4, 4))] * 3]
    marked = [[False, True, False], [False, False, True]]
    fig = plots.feature_grid(images, row_labels=["a", "b"], col_labels=["1", "2", "3"],
                             marked=marked)
    axes = [ax for ax in fig.axes if ax.images]
    framed = [[ax.spines["top"].get_visible() for ax in axes[r * 3:(r + 1) * 3]]
              for r in range(2)]
    assert framed == marked
    assert [ax.get_xlabel() for ax in axes] == ["", "silent", "", "", "", "silent"]
    plt.close(fig)


def test_claims_at_a_glance_draws_each_comparisons_interval_from_the_table():
    """One panel per claim; each comparison's interval line spans exactly its low to high,
    at its gap, coloured by its verdict; a same claim's margin shaded, none for a direction
    claim; the caller's Axes used when given."""
    from recur.plots.verdicts import INTERVALS, VERDICT_COLOURS
    table = pd.DataFrame([
        ("a ≈ b", "inconclusive", "depth 4", 0.2, -0.5, 0.9, "reproduced", 1.0, "pt", None),
        ("a ≈ b", "inconclusive", "depth 5", 1.5, 0.6, 2.4, "inconclusive", 1.0, "pt", None),
        ("rises", "reproduced", "recurrent 4 → 8", 12.0, 9.0, 15.0, "reproduced", None, "pt",
         None)], columns=["claim", "verdict", "group", "estimate", "low", "high",
                          "group_verdict", "margin", "unit", "paper_value"])
    fig = plots.claims_at_a_glance(table)
    axes = [a for a in fig.axes if a.get_title(loc="left")]
    assert [a.get_title(loc="left") for a in axes] == ["a ≈ b: inconclusive",
                                                       "rises: reproduced"]
    for ax, claim in zip(axes, ["a ≈ b", "rises"]):
        rows = table[table.claim == claim]
        (lines,) = [c for c in ax.collections if c.get_gid() == INTERVALS]
        drawn = sorted((seg[0][0], seg[1][0]) for seg in lines.get_segments())
        assert drawn == sorted(zip(rows.low, rows.high))
        colours = [tuple(c[:3]) for c in lines.get_colors()]
        assert colours == [to_rgb(VERDICT_COLOURS[v]) for v in rows.group_verdict]
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == list(rows.group)
    shaded = [p for p in axes[0].patches]  # the ±1 band of the same claim
    assert shaded and not axes[1].patches
    given = plt.subplots(2, 1)[1]
    assert plots.claims_at_a_glance(table, ax=given) is given[0].figure
    with pytest.raises(ValueError, match="2 claims"):
        plots.claims_at_a_glance(table, ax=given[:1])
