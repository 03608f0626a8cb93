"""The claims at a glance: every comparison a notebook's verdicts rest on, as its gap with
its confidence interval, beside the margin (or zero) that decides it."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from recur.plots.theme import PALETTE, _check_columns, _styled

#: a comparison's colour by its verdict within its claim; the verdict is also written out
VERDICT_COLOURS = {"reproduced": PALETTE[2], "not reproduced": PALETTE[3],
                   "inconclusive": PALETTE[7]}
INTERVALS = "intervals"  # the gid of each panel's interval lines (tests read them back)


@_styled
def claims_at_a_glance(table: pd.DataFrame, *, title: str | None = None, ax=None):
    """One panel per claim of ``table`` (:func:`recur.findings.frame`: one row per
    comparison), in its order: each comparison's gap as a dot with its interval as a line,
    coloured and labelled by its verdict within the claim; a *same* claim's ±margin shaded,
    a *direction* claim's zero marked; the paper's own gap, where it gives one, dotted.
    ``ax``: one Axes per claim (None: a new figure).  Returns the Figure."""
    _check_columns(table, ["claim", "verdict", "group", "estimate", "low", "high",
                           "group_verdict", "margin", "unit"], "claims_at_a_glance")
    claims = list(dict.fromkeys(table.claim))
    if not claims:
        raise ValueError("claims_at_a_glance: the table has no comparisons to draw")
    rows = [int((table.claim == c).sum()) for c in claims]
    if ax is None:
        fig, axes = plt.subplots(len(claims), 1, layout="constrained", squeeze=False,
                                 figsize=(10, 0.9 * len(claims) + 0.32 * sum(rows) + 0.6),
                                 height_ratios=[r + 1.6 for r in rows])
        axes = list(axes[:, 0])
    else:
        axes = list(np.ravel(ax))
        if len(axes) != len(claims):
            raise ValueError(f"ax: {len(axes)} Axes given for {len(claims)} claims")
        fig = axes[0].get_figure(root=True)
    for a, claim in zip(axes, claims):
        _panel(a, table[table.claim == claim].reset_index(drop=True))
    if title:
        fig.suptitle(title)
    return fig


def _panel(ax, rows: pd.DataFrame) -> None:
    """One claim: its comparisons top to bottom."""
    y = -np.arange(len(rows), dtype=float)
    margin = rows.margin.iloc[0]
    low = rows.low.where(np.isfinite(rows.low), rows.estimate)
    high = rows.high.where(np.isfinite(rows.high), rows.estimate)
    reach = np.nanmax(np.abs(np.r_[low, high, rows.estimate]))
    if pd.notna(margin):
        ax.axvspan(-margin, margin, color=VERDICT_COLOURS["reproduced"], alpha=0.13, lw=0)
        for edge in (-margin, margin):
            ax.axvline(edge, color=VERDICT_COLOURS["reproduced"], lw=1, ls="--")
        reach = max(reach, 1.3 * margin)
    ax.axvline(0, color="0.25", lw=1)
    colours = [VERDICT_COLOURS.get(v, "0.5") for v in rows.group_verdict]
    lines = ax.hlines(y, rows.low.clip(-10 * reach, 10 * reach),
                      rows.high.clip(-10 * reach, 10 * reach), colors=colours, lw=2.5)
    lines.set_gid(INTERVALS)
    ax.scatter(rows.estimate, y, c=colours, s=36, zorder=3, edgecolors="white")
    paper_value = rows.get("paper_value", pd.Series(dtype=float)).dropna()
    if len(paper_value):
        ax.axvline(paper_value.iloc[0], color="0.1", lw=1.2, ls=":", label="paper's gap")
        ax.legend(loc="lower right", fontsize="x-small")
        reach = max(reach, abs(paper_value.iloc[0]))
    for yi, r in zip(y, rows.itertuples()):
        text = r.group_verdict + ("" if np.isfinite(r.low) else " (no interval)")
        ax.annotate(text, (1.01, yi), xycoords=("axes fraction", "data"), va="center",
                    fontsize="x-small", color="0.15")
    ax.set_xlim(-1.15 * reach if reach > 0 else -1, 1.15 * reach if reach > 0 else 1)
    ax.set_ylim(y.min() - 0.7, 0.7)
    ax.set_yticks(y, rows.group.tolist(), fontsize="small")
    ax.grid(axis="y", visible=False)
    unit = rows.unit.iloc[0]
    reading = (f"shaded: the ±{margin:g} margin" if pd.notna(margin) else
               "the paper: above 0")
    ax.set_xlabel((f"gap ({unit})" if unit else "gap") + f"; {reading}", fontsize="small")
    ax.tick_params(axis="x", labelsize="small")
    name = "\n".join(textwrap.wrap(rows.claim.iloc[0], 95))
    ax.set_title(f"{name}: {rows.verdict.iloc[0]}", fontsize="small", loc="left")
