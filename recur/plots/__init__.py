"""Figures shared by the notebooks, in one seaborn style readable when projected.

Each figure takes its data (a tidy DataFrame, one row per run or per point, with a
boolean ``recurrent`` column, or arrays for image panels) and an optional ``ax`` (or
``fig`` for image grids) to draw into; without one it makes its own figure.  It returns
the matplotlib Figure it drew on; the notebook decides whether to show or save it.  No
function changes the global matplotlib state: the style (``style()``) is applied inside
each function through ``matplotlib.rc_context`` only; ``style(apply=True)`` sets it
globally, for figures a notebook draws itself.

Colours: feed-forward and recurrent are the first two colours of seaborn's colour-blind
safe palette (``FEED_FORWARD`` blue, ``RECURRENT`` orange, ``COLOURS[recurrent]``),
named as in ``recur.forms.FORMS``, throughout.

  recur.plots.theme        the theme, palette and shared helpers
  recur.plots.curves       accuracy against depth and iterations, grouped bars, BatchNorm,
                           how far each iteration moves the features
  recur.plots.maze_panels  mazes, solutions and predictions; path lengths
  recur.plots.features     CKA heatmaps, feature visualisations, reuse, linear probes;
                           a grid of images with their titles
  recur.plots.verdicts     the claims at a glance: every comparison's gap and interval
                           beside the margin (or zero) that decides it
"""
from recur.plots.curves import (
    bar_comparison,
    batchnorm_statistics,
    depth_curves,
    iteration_curves,
    paper_table,
    update_curves,
)
from recur.plots.features import (feature_grid, heatmap, image_grid, probe_curves,
                                  reuse_histogram)
from recur.plots.maze_panels import (
    MAZE_COLOURS,
    MAZE_LEGEND,
    maze_grid,
    maze_pixels,
    path_length_histograms,
)
from recur.plots.verdicts import VERDICT_COLOURS, claims_at_a_glance
from recur.plots.theme import (
    COLOURS,
    FAILED,
    FEED_FORWARD,
    PALETTE,
    PAPER_LABEL,
    RECURRENT,
    THEME,
    style,
)

__all__ = ["COLOURS", "FAILED", "FEED_FORWARD", "MAZE_COLOURS", "MAZE_LEGEND", "PALETTE",
           "PAPER_LABEL", "RECURRENT", "THEME", "VERDICT_COLOURS", "bar_comparison",
           "batchnorm_statistics", "claims_at_a_glance",
           "depth_curves", "feature_grid", "heatmap", "image_grid", "iteration_curves", "maze_grid",
           "maze_pixels", "paper_table", "path_length_histograms", "probe_curves",
           "reuse_histogram", "style", "update_curves"]
