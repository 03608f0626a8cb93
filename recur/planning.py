"""How many seeds a claim needs: the power side of the decision rule (:mod:`recur.findings`).

An equivalence claim ("the two forms reach the same accuracy, within ±δ") is reproduced when
every group's interval lies inside ±δ.  Planning asks: *if the claim were exactly true*
(gap 0), how many seeds would put the interval inside ±δ, with one seed's spread at the
upper confidence bound of its measured value (:func:`recur.findings.spread_bound`, so a
spread measured from few seeds plans for more), the test images' share as measured
(:attr:`recur.findings.Gap.image_var`, which more seeds do not shrink), and the t quantile
of n − 1 degrees of freedom.  The interval is computed by the rule itself, so the plan
cannot drift from the verdict.

A group whose own seeds give fewer than :data:`recur.findings.MIN_SPREAD_DF` degrees of
freedom is planned with the spread pooled over its claim's groups (the pooled variance,
degrees of freedom summed): a plan may pool, a verdict never does.  Groups whose two forms
are one net (a single module) have no gap to plan for and are left out by the claims.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from recur.findings import (CONFIDENCE, MAX_SEEDS, MIN_SPREAD_DF, REPRODUCED, Gap,
                            equivalence, gaps, sample, spread_bound)
from recur.verdicts import form_samples


@dataclass(frozen=True)
class Plan:
    """One group's plan: its gap and spread as measured, the spread planned with (``sd``,
    ``sd_df``, ``pooled``: borrowed from the claim's groups) and the seeds it needs (None:
    more than :data:`~recur.findings.MAX_SEEDS`, or no spread known)."""

    group: str
    seeds_now: int
    estimate: float
    sd: float
    sd_df: int
    pooled: bool
    bound: float | None  # the spread planned with: sd's upper confidence bound
    seeds: int | None


def seeds_for_equivalence(g: Gap, margin: float, confidence: float = CONFIDENCE,
                          max_seeds: int = MAX_SEEDS) -> int | None:
    """The fewest seeds (≥ 2) whose interval, at gap 0 and with ``g``'s spread at its upper
    bound and ``g``'s images' share, lies inside ±``margin``; None if none up to
    ``max_seeds`` does, or ``g``'s spread is not known (:func:`~recur.findings.spread_bound`)."""
    sd = spread_bound(g)
    if sd is None:
        return None
    for n in range(2, max_seeds + 1):
        trial = replace(g, estimate=0.0, n=n, sd=sd, sd_df=n - 1)
        if equivalence(trial, margin, confidence) == REPRODUCED:
            return n
    return None


def pooled(found: dict) -> tuple[float, int]:
    """The spread pooled over the groups of ``found`` (name -> Gap): ``(sd, df)``."""
    known = [g for g in found.values() if g.known and g.sd_df > 0]
    df = sum(g.sd_df for g in known)
    if not df:
        return math.nan, 0
    return math.sqrt(sum(g.sd_df * g.sd ** 2 for g in known) / df), df


def plan_gaps(found: dict, margin: float) -> list[Plan]:
    """A :class:`Plan` per group of an equivalence claim (name -> Gap, as the rule has them)."""
    sd_pool, df_pool = pooled(found)
    plans = []
    for name, g in found.items():
        borrow = g.sd_df < MIN_SPREAD_DF
        use = replace(g, sd=sd_pool, sd_df=df_pool) if borrow else g
        plans.append(Plan(name, g.n, g.estimate, use.sd, use.sd_df, borrow,
                          spread_bound(use), seeds_for_equivalence(use, margin)))
    return plans


def forms_plan(runs: pd.DataFrame, margin: float, value: str = "test_acc") -> list[Plan]:
    """The plan of "recurrent ≈ feed-forward at every depth" for one family's ``runs``."""
    return plan_gaps(gaps(form_samples(runs, value)), margin)


def same_plan(a: pd.DataFrame, b: pd.DataFrame, margin: float, value: str = "test_acc",
              group: str = "the gap") -> list[Plan]:
    """The plan of "``a`` ≈ ``b``" (one run per seed each, paired by seed and, where they
    share a test set, image by image), e.g. notebook 04's ours against ResNet-18."""
    return plan_gaps(gaps({group: sample([(1, a), (-1, b)], value)}), margin)


def evidence(runs: pd.DataFrame, margins: dict) -> dict:
    """The equivalence claims of notebooks 02–04 planned from a table of their runs (with
    :func:`recur.results.with_settings`' columns): claim -> plans.  ``margins``: the
    ``forms`` and ``resnet18`` margins (:data:`recur.paper.MARGINS`' values)."""
    out = {}
    digits = runs[(runs.experiment == "classification") & (runs.split == "per seed")]
    for family in ("mlp", "convnet", "resnet"):
        if (digits.family == family).any():
            out[f"02 {family}"] = forms_plan(digits[digits.family == family], margins["forms"])
    small = runs[(runs.family == "maze") & (runs.maze_size == "small") & (runs.dilation == 1)]
    if len(small):
        out["03 maze"] = forms_plan(small, margins["forms"])
    ours = runs[(runs.family == "resnet_bn") & ~runs.shared_norm.astype(bool)]
    r18 = runs[runs.family == "resnet18"]
    if len(ours) and len(r18):
        out["04 resnet_bn vs resnet18"] = same_plan(ours, r18, margins["resnet18"])
    return out


def needed(plans: list[Plan]) -> int | None:
    """The seeds the claim needs: its most demanding group's (None if any group's is)."""
    seeds = [p.seeds for p in plans]
    return None if not seeds or None in seeds else max(seeds)


def plan_table(plans: dict) -> pd.DataFrame:
    """Plans by claim (claim -> list of :class:`Plan`) as one table."""
    rows = [dict(claim=claim, **vars(p)) for claim, ps in plans.items() for p in ps]
    return pd.DataFrame(rows)
