"""The shapes a claim takes, decided by the rule of :mod:`recur.findings`.

Each function takes tables of runs (one row per run, as :mod:`recur.results` makes them)
and returns a :class:`~recur.findings.Finding`: the two forms at each depth
(:func:`forms_agree`), the steps between depths (:func:`same_shape`), a rise with depth
(:func:`rises_with_depth`), one set of runs above another (:func:`higher`), two models
the same (:func:`same_accuracy`); and the facts that hold by construction
(:func:`parameter_ratio`, :func:`fewer_parameters`), which are not findings.
:mod:`recur.claims` states the paper's claims with them.
"""
from __future__ import annotations

import math

import pandas as pd

from recur.findings import (INCONCLUSIVE, NOT_HERE, NOT_REPRODUCED, Fact, Finding, Gap,
                            binomial_var, decide_each, equivalence, gap, per_seed,
                            pool_where_no_spread, satterthwaite, undecided)
from recur.forms import FORMS


def forms_agree(runs: pd.DataFrame, label: str, *, margin: float,
                shared_test: int | None = None, pooled: tuple | None = None,
                value: str = "test_acc", where: str = "depth") -> Finding:
    """The central claim: at every effective depth the two forms reach the same accuracy,
    within ``margin`` points.  Depths where the recurrent net has one module are left out
    (there the two forms are one net).  ``where`` names the ``depth`` column's groups in
    the text (e.g. "module" for probes after each module)."""
    claim = (f"{label}: recurrent ≈ feed-forward at equal effective depth (±{margin:g} pt)"
             if where == "depth" else f"{label}: recurrent ≈ feed-forward at every {where} "
                                      f"(±{margin:g} pt)")
    one = runs.recurrent.astype(bool) & (runs.get("iterations") == 1)
    same_net = sorted(set(runs.loc[one, "depth"]))
    depth_of = {}  # the text's group name -> its depth
    gaps = {}
    for d, g in runs[~runs.depth.isin(same_net)].groupby("depth"):
        if g.recurrent.astype(bool).nunique() == 2:
            depth_of[f"{where} {d}"] = d
            gaps[f"{where} {d}"] = gap(per_seed(g, True, value), per_seed(g, False, value),
                                       shared_test=shared_test, pooled=pooled)
    if not gaps:
        return Finding(claim, "curves on top of each other", "no depth with both forms",
                       NOT_HERE)
    gaps = pool_where_no_spread(gaps)
    ours = "; ".join(f"{k}: gap {g.text()}" for k, g in gaps.items())
    verdict, why = decide_each(gaps, margin)
    failed = [k for k, g in gaps.items() if equivalence(g, margin) == NOT_REPRODUCED]
    if failed and "train_acc" in runs and where == "depth":
        fit = runs.groupby(["depth", runs.recurrent.astype(bool)]).train_acc.mean()
        why += "; training accuracy there, with this profile's recipe: " + "; ".join(
            f"{k}: " + ", ".join(f"{FORMS[rec]} {fit[depth_of[k], rec]:.1f}%"
                                 for rec in (True, False)) for k in failed)
    return Finding(claim, "curves on top of each other", ours, verdict, why)


def same_shape(runs: pd.DataFrame, label: str, *, margin: float,
               shared_test: int | None = None, value: str = "test_acc") -> Finding:
    """Both forms change the same way from each depth to the next: per step, the change of
    the recurrent nets minus that of the feed-forward nets (paired by seed) within
    ``margin`` points.  Uses every depth, not only the ends."""
    claim = f"{label}: both forms change the same way with depth (±{margin:g} pt per step)"
    depths = sorted(runs.depth.unique())
    gaps = {}
    for lo, hi in zip(depths, depths[1:]):
        step = {rec: per_seed(runs[runs.depth == hi], rec, value)
                - per_seed(runs[runs.depth == lo], rec, value) for rec in (False, True)}
        g = gap(step[True].dropna(), step[False].dropna())
        if shared_test:  # the accuracies on one test set; one net in both forms cancels
            extra = sum(binomial_var(per_seed(runs[runs.depth == d], r, value).mean(),
                                     shared_test)
                        for d in (lo, hi) if not _one_net(runs[runs.depth == d], value)
                        for r in (False, True))
            se2 = g.se ** 2 + extra
            df = satterthwaite([(g.se ** 2, g.df), (extra, math.inf)])
            g = Gap(g.estimate, math.sqrt(se2), df, g.n, g.sd, extra)
        gaps[f"depth {lo} → {hi}"] = g
    gaps = pool_where_no_spread(gaps)
    ours = "; ".join(f"{k}: {g.text()}" for k, g in gaps.items())
    verdict, why = decide_each(gaps, margin)
    return Finding(claim, "same shape of curve", ours, verdict, why)


def _one_net(runs: pd.DataFrame, value: str) -> bool:
    """Are the two forms' runs here one net (equal scores, seed by seed: one module)?"""
    rec, ff = per_seed(runs, True, value), per_seed(runs, False, value)
    return len(rec) > 0 and rec.index.equals(ff.index) and bool((rec == ff).all())


def rises_with_depth(runs: pd.DataFrame, label: str, *, shared_test: int | None = None,
                     value: str = "test_acc") -> Finding:
    """For each form, accuracy at the deepest depth minus the shallowest (paired by seed)
    is above zero."""
    gaps = {}
    for rec, form in FORMS.items():
        rows = runs[runs.recurrent.astype(bool) == rec]
        if rows.depth.nunique() < 2:
            continue
        lo, hi = rows.depth.min(), rows.depth.max()
        gaps[f"{form} {lo} → {hi}"] = gap(per_seed(rows[rows.depth == hi], rec, value),
                                          per_seed(rows[rows.depth == lo], rec, value),
                                          shared_test=shared_test)
    gaps = pool_where_no_spread(gaps)
    ours = "; ".join(f"{k}: {g.text(' pt')}" for k, g in gaps.items())
    verdict, why = decide_each(gaps, None)
    return Finding(f"{label}: accuracy rises with effective depth", "rises", ours or "one depth",
                   verdict if gaps else NOT_HERE, why)


def higher(a: pd.DataFrame, b: pd.DataFrame, claim: str, *, paper: str, names=("a", "b"),
           shared_test: int | None = None, pooled: tuple | None = None,
           value: str = "test_acc") -> Finding:
    """``a``'s runs above ``b``'s at every (form, depth) both have (paired by seed)."""
    gaps = {}
    for (rec, depth), ga in a.groupby([a.recurrent.astype(bool), "depth"]):
        gb = b[(b.recurrent.astype(bool) == rec) & (b.depth == depth)]
        if len(gb):
            gaps[f"{FORMS[rec]} depth {depth}"] = gap(
                ga.groupby("seed")[value].mean(), gb.groupby("seed")[value].mean(),
                shared_test=shared_test, pooled=pooled)
    gaps = pool_where_no_spread(gaps)
    ours = (f"{names[0]} − {names[1]}: " + "; ".join(f"{k}: {g.text(' pt')}"
                                                      for k, g in gaps.items()))
    verdict, why = decide_each(gaps, None)
    return Finding(claim, paper, ours if gaps else "nothing to compare",
                   verdict if gaps else NOT_HERE, why)


def same_accuracy(a: pd.DataFrame, b: pd.DataFrame, claim: str, *, paper: str, margin: float,
                  names=("a", "b"), shared_test: int | None = None,
                  value: str = "test_acc", why: str = "") -> Finding:
    """Two models (over seeds, paired where the seeds match) within ``margin`` points."""
    g = gap(a.groupby("seed")[value].mean(), b.groupby("seed")[value].mean(),
            shared_test=shared_test)
    g = pool_where_no_spread({"gap": g})["gap"]
    ours = (f"{names[0]} {a[value].mean():.2f}, {names[1]} {b[value].mean():.2f}: "
            f"gap {g.text(' pt')}")
    verdict = equivalence(g, margin)
    notes = [undecided({"the gap": g}, margin)] if verdict == INCONCLUSIVE else []
    return Finding(f"{claim} (±{margin:g} pt)", paper, ours, verdict,
                   "; ".join(notes + [why] * bool(why)))



# --------------------------------------------------------------------------- by construction
def parameter_ratio(recurrent_params: int, feed_forward_params: int, paper: float, *,
                    trained: float | None = None, tolerance: float = 0.05,
                    claim: str = "with about a third of the parameters") -> Fact:
    """A parameter ratio (recurrent / feed-forward) at the paper's widths against the
    paper's, within ``tolerance`` (relative); ``trained``: the ratio at the widths trained."""
    ratio = recurrent_params / feed_forward_params
    checked = (f"{recurrent_params:,} / {feed_forward_params:,} = {ratio:.3f} at the paper's "
               f"widths (paper {paper:.2f})")
    if trained is not None:
        checked += f"; {trained:.3f} at the widths trained here"
    return Fact(claim, checked, abs(ratio / paper - 1) <= tolerance)


def fewer_parameters(counts: pd.DataFrame, label: str) -> Fact:
    """From ``recur.experiments.parameter_counts``: the recurrent count stays constant over
    depth and is at most the feed-forward count at the deepest depth."""
    c = counts.set_index("effective depth").sort_index()
    rec_col, ff_col = (f"{FORMS[r]} params" for r in (True, False))  # parameter_counts' columns
    flat = c[rec_col].nunique() == 1
    ff, rec = c[ff_col].iloc[-1], c[rec_col].iloc[-1]
    checked = (f"{FORMS[True]} {rec:,} at every depth, {FORMS[False]} {ff:,} at depth "
               f"{c.index[-1]} (ratio {rec / ff:.2f})" if flat else
               f"{FORMS[True]} counts vary: {sorted(set(c[rec_col]))}")
    return Fact(f"{label}: recurrent parameters do not grow with depth", checked,
                bool(flat and rec <= ff))
