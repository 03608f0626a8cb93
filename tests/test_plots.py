"""The shared figures draw what the run table says: means and standard errors over seeds,
the paper's colours, labelled axes."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from recur import experiments, plots  # noqa: E402


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


def test_depth_curves_one_labelled_panel_per_family(runs):
    fig = plots.depth_curves(runs, title="{family} on digits")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["mlp on digits", "maze on digits"]
    for ax, depths in zip(axes, ((3, 4), (8, 12))):
        assert ax.get_xlabel() == "effective depth" and ax.get_ylabel() == "test accuracy (%)"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["feed-forward", "recurrent"]
        ff, rec = ax.containers  # one errorbar per form
        for bars, colour, offset in ((ff, plots.FEED_FORWARD, 1), (rec, plots.RECURRENT, 2)):
            line = bars.lines[0]
            assert to_rgba(line.get_color()) == to_rgba(colour)
            np.testing.assert_allclose(np.asarray(line.get_xdata(), float), depths)
            y = np.asarray(line.get_ydata(), float)
            np.testing.assert_allclose(y, np.array(depths) + offset)
            low, high = (np.asarray(cap.get_ydata(), float) for cap in bars.lines[1])
            np.testing.assert_allclose([y - low, high - y], 1 / np.sqrt(3))  # one s.e.


def test_iteration_curves_mean_over_seeds_and_trained_iterations(runs):
    table = experiments.iteration_table(runs[runs.family == "maze"])
    fig = plots.iteration_curves(table, feed_forward={8: 50.0, 12: 60.0}, title="t")
    ax, = fig.axes
    assert ax.get_xlabel() == "iterations at test time" and ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["depth 8 (n = 2)",
                                                                  "depth 12 (n = 3)"]
    curves = [c.lines[0] for c in ax.containers]
    np.testing.assert_allclose(np.asarray(curves[1].get_ydata(), float), [11, 21, 31])  # mean over seeds 0, 1, 2
    vertical = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    horizontal = sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert vertical == [2, 3] and horizontal == [50.0, 60.0]
