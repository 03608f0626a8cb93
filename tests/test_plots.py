"""The shared figures draw what the run table says: means and standard errors over seeds,
the paper's numbers where given, colour-blind-safe feed-forward / recurrent colours,
labelled axes, failures visible in the maze panels, and no change to the caller's
matplotlib settings."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb, to_rgba  # noqa: E402

from recur import experiments, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def runs():
    """Two families, two depths, both forms, three seeds: test_acc = depth + seed (+ 1 if
    recurrent), so each point's mean is depth + 1 (+ 1) and its s.e. 1/√3."""
    rows = [{"family": f, "recurrent": rec, "depth": d, "seed": s, "test_acc": d + s + rec,
             "iterations": d // 4 if rec else None,
             "test_acc_per_iteration": [10.0 * (i + 1) + s for i in range(d // 4)] if rec else None}
            for f, ds in (("mlp", (3, 4)), ("maze", (8, 12))) for d in ds
            for rec in (False, True) for s in range(3)]
    return pd.DataFrame(rows)


def _legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


def _line(ax, label):
    lines = [line for line in ax.lines if line.get_label() == label]
    assert len(lines) == 1, f"one line labelled {label!r}, found {len(lines)}"
    return lines[0]


def _panels(fig):
    """The figure's axes without its colour bars."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


# --------------------------------------------------------------------------- depth
def test_depth_curves_one_labelled_panel_per_family(runs):
    fig = plots.depth_curves(runs, title="{family} on digits")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["mlp on digits", "maze on digits"]
    legend, = fig.legends  # one legend for the figure
    assert _legend_texts(legend) == ["feed-forward", "recurrent"]
    for ax, depths in zip(axes, ((3, 4), (8, 12))):
        assert ax.get_xlabel() == "effective depth" and ax.get_ylabel() == "test accuracy (%)"
        ff, rec = ax.containers  # one errorbar per form
        for bars, colour, offset in ((ff, plots.FEED_FORWARD, 1), (rec, plots.RECURRENT, 2)):
            line = bars.lines[0]
            assert to_rgba(line.get_color()) == to_rgba(colour)
            np.testing.assert_allclose(np.asarray(line.get_xdata(), float), depths)
            y = np.asarray(line.get_ydata(), float)
            np.testing.assert_allclose(y, np.array(depths) + offset)
            low, high = (np.asarray(cap.get_ydata(), float) for cap in bars.lines[1])
            np.testing.assert_allclose([y - low, high - y], 1 / np.sqrt(3))  # one s.e.
        assert [t for t in ax.get_xticks()] == list(depths)


def test_depth_curves_paper_values_and_marks(runs):
    maze = runs[runs.family == "maze"]
    paper = {"feed-forward": {8: 75.59, 12: 90.58}, "recurrent": {8: 75.07, 12: 90.41}}
    fig = plots.depth_curves(maze, paper=paper, marks={"receptive field covers the maze": 10})
    ax, = fig.axes
    for label, colour, values in (("feed-forward", plots.FEED_FORWARD, (75.59, 90.58)),
                                  ("recurrent", plots.RECURRENT, (75.07, 90.41))):
        line = _line(ax, f"paper, {label}")
        np.testing.assert_allclose(np.asarray(line.get_xdata(), float), [8, 12])
        np.testing.assert_allclose(np.asarray(line.get_ydata(), float), values)
        assert line.get_linestyle() == "--" and line.get_marker() == "o"
        assert line.get_markerfacecolor() == "none"  # hollow
        assert to_rgba(line.get_color()) == to_rgba(colour)
    mark = _line(ax, "receptive field covers the maze")
    assert list(mark.get_xdata()) == [10, 10]
    assert _legend_texts(fig.legends[0]) == ["feed-forward", "recurrent", "paper, feed-forward",
                                             "paper, recurrent", "receptive field covers the maze"]
    # the same numbers as a table with tuple keys and as a DataFrame give the same lines
    for other in ({(False, 8): 75.59, (False, 12): 90.58, (True, 8): 75.07, (True, 12): 90.41},
                  pd.DataFrame({"recurrent": [False, False, True, True], "depth": [8, 12, 8, 12],
                                "paper": [75.59, 90.58, 75.07, 90.41]})):
        ax2, = plots.depth_curves(maze, paper=other).axes
        for label in ("feed-forward", "recurrent"):
            np.testing.assert_allclose(_line(ax2, f"paper, {label}").get_ydata(),
                                       _line(ax, f"paper, {label}").get_ydata())


def test_depth_curves_one_panel_per_maze_size_shared_y():
    rows = [{"maze_size": size, "recurrent": rec, "depth": d, "seed": s,
             "test_acc": 50 + 10 * k + d + s + rec}
            for k, size in enumerate(("large", "small", "medium")) for d in (8, 12)
            for rec in (False, True) for s in range(2)]
    paper = pd.DataFrame({"maze_size": ["small", "large"], "recurrent": [True, True],
                          "depth": [8, 8], "paper": [70.0, 40.0]})
    fig = plots.depth_curves(pd.DataFrame(rows), by="maze_size", title="{maze_size} mazes",
                             paper=paper)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["small mazes", "medium mazes", "large mazes"]
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])
    assert axes[0].get_ylim() == axes[2].get_ylim()
    assert all(ax.get_ylabel() for ax in axes)
    np.testing.assert_allclose(_line(axes[0], "paper, recurrent").get_ydata(), [70.0])
    np.testing.assert_allclose(_line(axes[2], "paper, recurrent").get_ydata(), [40.0])
    assert not [line for line in axes[1].lines if line.get_label().startswith("paper")]
    small_ff = axes[0].containers[0].lines[0]  # small: k = 1 -> 60 + depth + mean seed 0.5
    np.testing.assert_allclose(np.asarray(small_ff.get_ydata(), float), [68.5, 72.5])


def test_iteration_curves_mean_over_seeds_and_trained_iterations(runs):
    table = experiments.iteration_table(runs[runs.family == "maze"])
    fig = plots.iteration_curves(table, feed_forward={8: 50.0, 12: 60.0}, title="t")
    ax, = fig.axes
    assert ax.get_xlabel() == "iterations at test time" and ax.get_title() == "t"
    assert _legend_texts(ax.get_legend()) == ["depth 8 (n = 2)", "depth 12 (n = 3)",
                                              "n: iterations trained for",
                                              "feed-forward net, same depth"]
    styles = [h.get_linestyle() for h in ax.get_legend().legend_handles[2:]]
    assert styles == ["--", ":"]  # the legend names the dashed and the dotted lines
    curves = [c.lines[0] for c in ax.containers]
    np.testing.assert_allclose(np.asarray(curves[1].get_ydata(), float), [11, 21, 31])  # mean over seeds 0, 1, 2
    vertical = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert vertical == [2, 3] and horizontal == [50.0, 60.0]
    ticks = ax.get_xticks()
    assert len(ticks) and np.all(ticks == np.round(ticks))  # whole iterations only
    # without feed-forward numbers there is no dotted line nor its legend entry
    ax, = plots.iteration_curves(table).axes
    assert "feed-forward net, same depth" not in _legend_texts(ax.get_legend())
    assert ax.get_title()


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


def test_maze_grid_colours_missed_and_wrong_pixels_and_frames_failures():
    inputs, targets, predictions = _toy_mazes()
    solved = [True, False, False]
    fig = plots.maze_grid(inputs, targets, predictions, solved=solved, columns=3)
    axes = fig.axes
    assert len(axes) == 9  # maze, solution, prediction per maze
    missed = (targets == 1) & (predictions == 0)  # expected masks, computed here
    wrong = (targets == 0) & (predictions == 1)
    path = (targets == 1) & (predictions == 1)
    wall = (inputs.max(1) == 0) & ~wrong
    colour = {k: np.array(to_rgb(v)) for k, v in plots.MAZE_COLOURS.items()}
    for i in range(3):
        ax = axes[3 * i + 2]
        image = np.asarray(ax.get_images()[0].get_array(), float)[..., :3]
        for name, mask in (("missed", missed[i]), ("wrong", wrong[i]), ("path", path[i]),
                           ("wall", wall[i])):
            is_colour = np.all(np.isclose(image, colour[name]), axis=-1)
            np.testing.assert_array_equal(is_colour, mask, err_msg=f"maze {i}: {name}")
        failed = not solved[i]
        assert ax.get_title() == ("failed" if failed else "solved")
        frame = [s for s in ax.spines.values() if s.get_visible()]
        if failed:
            assert len(frame) == 4
            assert all(to_rgba(s.get_edgecolor()) == to_rgba(plots.FAILED) for s in frame)
        else:
            assert not frame
        for other in (axes[3 * i], axes[3 * i + 1]):  # maze and solution: never framed
            assert not any(s.get_visible() for s in other.spines.values())
            assert "failed" not in other.get_title()
    assert np.isclose(np.asarray(axes[1].get_images()[0].get_array(), float)[..., :3][2, 1],
                      colour["path"]).all()  # the solution's path in the path colour
    legend, = fig.legends  # once per figure
    assert _legend_texts(legend) == [plots.MAZE_LEGEND[k] for k in ("wall", "path", "missed", "wrong")]


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
    assert _legend_texts(fig.legends[0]) == ["wall", "path"]
    with pytest.raises(ValueError):
        plots.maze_grid(inputs, targets, {"a": predictions, "b": targets}, solved=[True] * 3)


# --------------------------------------------------------------------------- features
def test_heatmap_annotates_every_cell_with_origin_bottom_left():
    matrix = np.array([[0.91, 0.72, 0.55, 0.61], [0.70, 0.88, 0.66, 0.59], [0.5, 0.6, 0.93, 0.81]])
    fig = plots.heatmap(matrix, xlabels=[1, 2, 3, 4], ylabels=["a", "b", "c"], xlabel="rec",
                        ylabel="ff", title="CKA")
    ax, = _panels(fig)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("rec", "ff", "CKA")
    texts = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(r, c): f"{matrix[r, c]:.2f}" for r in range(3) for c in range(4)}
    bottom, top = ax.get_ylim()
    assert bottom < top  # row 0 at the bottom
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert sorted(ax.get_yticks()) == list(ax.get_yticks())  # a, b, c upwards
    assert ax.collections[0].get_clim() == (0.5, 0.93)  # the data's range, not 0..1
    cbar, = [a for a in fig.axes if hasattr(a, "_colorbar")]
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
    assert len([a for a in fig.axes if hasattr(a, "_colorbar")]) == 1
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
        assert not any(s.get_visible() for s in ax.spines.values())
    image = axes[0, 1].get_images()[0]
    assert image.get_array().ndim == 2 and image.get_cmap().name == "gray"
    np.testing.assert_allclose(axes[1, 0].get_images()[0].get_array(), rgb.transpose(1, 2, 0))
    assert fig.get_suptitle() == "filter 3"


def test_reuse_histogram_density_per_label():
    rng = np.random.default_rng(0)
    reuse = {"trained": {"ratios": rng.uniform(0.5, 1, 200), "mean_ratio": 0.75},
             "untrained": {"ratios": rng.uniform(0, 1, 300)}}
    fig = plots.reuse_histogram(reuse, bins=10)
    ax, = fig.axes
    assert ax.get_xlabel() == "positive activations / those at the most active iteration"
    assert ax.get_ylabel() == "density" and ax.get_title()
    assert _legend_texts(ax.get_legend()) == ["trained (mean 0.75)", "untrained"]
    for patch, r in zip(ax.patches, reuse.values()):
        values, edges, _ = patch.get_data()
        np.testing.assert_allclose(edges, np.linspace(0, 1, 11))
        np.testing.assert_allclose(values, np.histogram(r["ratios"], np.linspace(0, 1, 11),
                                                        density=True)[0])


def test_probe_curves_train_solid_test_dashed_paper_hollow():
    rows = [{"net": net, "features": kind, "module": m, "seed": s,
             "train_acc": 50 + 10 * m + 5 * (net == "recurrent") + s, "test_acc": 40 + 10 * m + s,
             "paper_train": 55.0 + m, "paper_test": 45.0 + m}
            for kind in ("full", "pooled") for net in ("feed-forward", "recurrent")
            for m in (1, 2, 3) for s in (0, 2)]
    fig = plots.probe_curves(pd.DataFrame(rows))
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["full features", "pooled features"]
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
        bars = {c.get_label(): c for c in ax.containers}
        assert list(bars) == ["feed-forward, train", "feed-forward, test",
                              "recurrent, train", "recurrent, test"]
        rec_train = bars["recurrent, train"].lines[0]
        np.testing.assert_allclose(rec_train.get_ydata(), [66, 76, 86])  # mean of seeds 0, 2
        assert rec_train.get_linestyle() == "-"
        assert to_rgba(rec_train.get_color()) == to_rgba(plots.RECURRENT)
        assert bars["feed-forward, test"].lines[0].get_linestyle() == "--"
        low, high = (np.asarray(cap.get_ydata(), float) for cap in bars["feed-forward, test"].lines[1])
        np.testing.assert_allclose(high - low, 2.0)  # ± one s.e. (1) of seeds 0, 2
        paper = _line(ax, "paper, feed-forward, test")
        np.testing.assert_allclose(paper.get_ydata(), [46, 47, 48])
        assert paper.get_markerfacecolor() == "none" and paper.get_linestyle() == "None"
    assert _legend_texts(axes[-1].get_legend()) == ["feed-forward", "recurrent", "train", "test",
                                                    "paper"]


def test_bar_comparison_heights_errors_and_legend():
    df = pd.DataFrame({"model": ["ff 4", "ff 4", "rec 4", "rec 4"],
                       "source": ["ours", "paper", "ours", "paper"],
                       "acc": [80.1, 81.0, 79.5, 80.2], "se": [0.5, np.nan, 0.25, np.nan]})
    fig = plots.bar_comparison(df, value="acc", error="se", group="model", hue="source",
                               ylabel="test accuracy (%)", title="Table 1")
    ax, = fig.axes
    ours, paper = (c for c in ax.containers if hasattr(c, "patches"))
    assert [p.get_height() for p in ours.patches] == [80.1, 79.5]
    assert [p.get_height() for p in paper.patches] == [81.0, 80.2]
    segments = ours.errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], [1.0, 0.5])  # ± se
    assert paper.errorbar is None  # no error given: none drawn
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ff 4", "rec 4"]
    assert _legend_texts(ax.get_legend()) == ["ours", "paper"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("model", "test accuracy (%)",
                                                                  "Table 1")
    assert "80.1" in [t.get_text() for t in ax.texts]  # each bar labelled with its value
    assert ax.get_ylim()[0] == 0  # bars start at 0 unless asked otherwise
    zoomed, = plots.bar_comparison(df, value="acc", group="model", hue="source", ylabel="y", title="t",
                                   ylim=(75, 85)).axes
    assert zoomed.get_ylim() == (75, 85)


# --------------------------------------------------------------------------- all figures
def _all_figures(runs):
    rng = np.random.default_rng(1)
    inputs, targets, predictions = _toy_mazes()
    table = experiments.iteration_table(runs[runs.family == "maze"])
    probes = pd.DataFrame([{"net": n, "features": f, "module": m, "train_acc": 50.0 + m,
                            "test_acc": 40.0 + m} for f in ("full", "pooled")
                           for n in ("feed-forward", "recurrent") for m in (1, 2)])
    bars = pd.DataFrame({"model": ["a", "a"], "source": ["ours", "paper"], "acc": [1.0, 2.0]})
    return {
        "depth_curves": lambda: plots.depth_curves(runs, paper={(True, 8): 9.0}, marks={"rf": 10}),
        "iteration_curves": lambda: plots.iteration_curves(table, feed_forward={8: 1.0, 12: 2.0}),
        "path_length_histograms": lambda: plots.path_length_histograms({"s": [1, 2, 2, 3]}),
        "maze_grid": lambda: plots.maze_grid(inputs, targets, predictions, solved=[1, 0, 0]),
        "heatmap": lambda: plots.heatmap([rng.uniform(size=(2, 2))] * 2, xlabels=[1, 2],
                                         ylabels=[1, 2], xlabel="x", ylabel="y", title=["a", "b"]),
        "feature_grid": lambda: plots.feature_grid([[rng.uniform(size=(4, 4))] * 2] * 2,
                                                   row_labels=["r", "f"], col_labels=["1", "2"]),
        "reuse_histogram": lambda: plots.reuse_histogram({"t": {"ratios": rng.uniform(size=50)}}),
        "probe_curves": lambda: plots.probe_curves(probes),
        "bar_comparison": lambda: plots.bar_comparison(bars, value="acc", group="model",
                                                       hue="source", ylabel="y", title="t"),
    }


IMAGE_GRIDS = {"maze_grid", "feature_grid"}


@pytest.mark.parametrize("name", ["depth_curves", "iteration_curves", "path_length_histograms",
                                  "maze_grid", "heatmap", "feature_grid", "reuse_histogram",
                                  "probe_curves", "bar_comparison"])
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
    import seaborn as sns

    assert [to_rgb(c) for c in (plots.FEED_FORWARD, plots.RECURRENT)] == \
        [tuple(c) for c in sns.color_palette("colorblind")[:2]]
    before = dict(matplotlib.rcParams)
    theme = plots.style()
    assert dict(matplotlib.rcParams) == before
    with matplotlib.rc_context():
        plots.style(apply=True)
        assert matplotlib.rcParams["axes.labelsize"] == pytest.approx(theme["axes.labelsize"])
        assert matplotlib.rcParams["axes.grid"] is True
    assert dict(matplotlib.rcParams) == before


def test_norm_statistics_one_line_per_batchnorm_in_both_panels():
    import pandas as pd

    stats = pd.DataFrame([{"iteration": i, "layer": l, "mean |running mean|": i * l, "mean running var": i + l}
                          for i in (1, 2, 3) for l in (1, 2)])
    fig = plots.norm_statistics(stats)
    for ax, column in zip(fig.axes, ("mean |running mean|", "mean running var")):
        assert ax.get_xlabel() == "iteration" and ax.get_ylabel()
        assert len(ax.lines) == 2
        for line, (layer, s) in zip(ax.lines, stats.groupby("layer")):
            assert list(line.get_ydata()) == list(s[column])
