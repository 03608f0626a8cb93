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

from dataclasses import replace

import numpy as np
import pandas as pd

from recur.findings import (NOT_HERE, NOT_REPRODUCED, Fact, Finding, decide, gaps, judge,
                            measured, sample)
from recur.forms import FORMS


def _form(runs: pd.DataFrame, recurrent: bool) -> pd.DataFrame:
    return runs[runs.recurrent.astype(bool) == recurrent]


def form_samples(runs: pd.DataFrame, value: str = "test_acc", where: str = "depth") -> dict:
    """Recurrent − feed-forward per seed at each depth with both forms (``"depth 8"`` ->
    :class:`~recur.findings.Sample`); depths where the recurrent net has one module are
    left out (there the two forms are one net)."""
    one = runs.recurrent.astype(bool) & (runs.get("iterations") == 1)
    same_net = sorted(set(runs.loc[one, "depth"]))
    return {f"{where} {d}": sample([(1, _form(g, True)), (-1, _form(g, False))], value)
            for d, g in runs[~runs.depth.isin(same_net)].groupby("depth")
            if g.recurrent.astype(bool).nunique() == 2}


def forms_agree(runs: pd.DataFrame, label: str, *, margin: float, value: str = "test_acc",
                where: str = "depth") -> Finding:
    """The central claim: at every effective depth the two forms reach the same accuracy,
    within ``margin`` points.  Depths where the recurrent net has one module are left out
    (there the two forms are one net).  ``where`` names the ``depth`` column's groups in
    the text (e.g. "module" for probes after each module)."""
    claim = (f"{label}: recurrent ≈ feed-forward at equal effective depth (±{margin:g} pt)"
             if where == "depth" else f"{label}: recurrent ≈ feed-forward at every {where} "
                                      f"(±{margin:g} pt)")
    samples = form_samples(runs, value, where)
    depth_of = {k: int(k.rsplit(" ", 1)[1]) for k in samples}  # group name -> its depth
    if not samples:
        return Finding(claim, "curves on top of each other", "no depth with both forms",
                       NOT_HERE)
    found = gaps(samples)
    ours = "; ".join(f"{k}: gap {g.text()}" for k, g in found.items())
    verdict, why = decide(found, margin)
    failed = [k for k, g in found.items() if judge(g, margin, groups=len(found)) == NOT_REPRODUCED]
    if failed and "train_acc" in runs and where == "depth":
        fit = runs.groupby(["depth", runs.recurrent.astype(bool)]).train_acc.mean()
        why += "; training accuracy there, with this profile's recipe: " + "; ".join(
            f"{k}: " + ", ".join(f"{FORMS[rec]} {fit[depth_of[k], rec]:.1f}%"
                                 for rec in (True, False)) for k in failed)
    return Finding(claim, "curves on top of each other", ours, verdict, why,
                   measured(found, margin), margin)


def same_shape(runs: pd.DataFrame, label: str, *, margin: float,
               value: str = "test_acc") -> Finding:
    """Both forms change the same way from each depth to the next: per step, the change of
    the recurrent nets minus that of the feed-forward nets (paired by seed, and by image
    where the seeds share a test set) within ``margin`` points.  Uses every depth, not
    only the ends."""
    claim = f"{label}: both forms change the same way with depth (±{margin:g} pt per step)"
    depths = sorted(runs.depth.unique())
    at = {d: runs[runs.depth == d] for d in depths}
    samples = {f"depth {lo} → {hi}": sample(
        [(1, _form(at[hi], True)), (-1, _form(at[lo], True)), (-1, _form(at[hi], False)),
         (1, _form(at[lo], False))], value) for lo, hi in zip(depths, depths[1:])}
    found = gaps(samples)
    ours = "; ".join(f"{k}: {g.text()}" for k, g in found.items())
    verdict, why = decide(found, margin)
    return Finding(claim, "same shape of curve", ours, verdict, why, measured(found, margin),
                   margin)


def rises_with_depth(runs: pd.DataFrame, label: str, *, value: str = "test_acc") -> Finding:
    """For each form, accuracy at the deepest depth minus the shallowest (paired by seed)
    is above zero."""
    samples = {}
    for rec, form in FORMS.items():
        rows = _form(runs, rec)
        if rows.depth.nunique() < 2:
            continue
        lo, hi = rows.depth.min(), rows.depth.max()
        samples[f"{form} {lo} → {hi}"] = sample([(1, rows[rows.depth == hi]),
                                                 (-1, rows[rows.depth == lo])], value)
    found = gaps(samples)
    ours = "; ".join(f"{k}: {g.text(' pt')}" for k, g in found.items())
    verdict, why = decide(found, None)
    return Finding(f"{label}: accuracy rises with effective depth", "rises", ours or "one depth",
                   verdict if found else NOT_HERE, why, measured(found, None))


def higher(a: pd.DataFrame, b: pd.DataFrame, claim: str, *, paper: str, names=("a", "b"),
           value: str = "test_acc") -> Finding:
    """``a``'s runs above ``b``'s at every (form, depth) both have (paired by seed)."""
    samples = {}
    for (rec, depth), ga in a.groupby([a.recurrent.astype(bool), "depth"]):
        gb = b[(b.recurrent.astype(bool) == rec) & (b.depth == depth)]
        if len(gb):
            samples[f"{FORMS[rec]} depth {depth}"] = sample([(1, ga), (-1, gb)], value)
    found = gaps(samples)
    ours = (f"{names[0]} − {names[1]}: " + "; ".join(f"{k}: {g.text(' pt')}"
                                                      for k, g in found.items()))
    verdict, why = decide(found, None)
    return Finding(claim, paper, ours if found else "nothing to compare",
                   verdict if found else NOT_HERE, why, measured(found, None))


def same_accuracy(a: pd.DataFrame, b: pd.DataFrame, claim: str, *, paper: str, margin: float,
                  names=("a", "b"), value: str = "test_acc", why: str = "") -> Finding:
    """Two models (over seeds, paired by seed, and by image where they share a test set)
    within ``margin`` points."""
    found = gaps({"the gap": sample([(1, a), (-1, b)], value)})
    g = found["the gap"]
    ours = (f"{names[0]} {a[value].mean():.2f}, {names[1]} {b[value].mean():.2f}: "
            f"gap {g.text(' pt')}")
    verdict, reason = decide(found, margin)
    return Finding(f"{claim} (±{margin:g} pt)", paper, ours, verdict,
                   "; ".join(x for x in (reason, why) if x), measured(found, margin), margin)


def parameter_depth(runs: pd.DataFrame) -> tuple[int, int, int]:
    """The feed-forward depth trained here whose parameter count is nearest the recurrent
    nets' (which is one count at every depth): ``(depth, its count, the recurrent count)``."""
    rec = int(_form(runs, True).parameters.iloc[0])
    ff = _form(runs, False).groupby("depth").parameters.first()
    depth = int((ff - rec).abs().idxmin())
    return depth, int(ff[depth]), rec


def depth_not_parameters(runs: pd.DataFrame, label: str, *, value: str = "test_acc") -> Finding:
    """The paper's thesis, as far as distances in accuracy can ask it: at the deepest depth
    trained (declared before looking), is the recurrent net nearer the feed-forward net of
    its effective depth than the feed-forward net with its parameter count
    (:func:`parameter_depth`: the one-module depth, the same network as one iteration)?
    Per seed, |rec − ff(parameter depth)| − |rec − ff(depth)| above zero.  That the
    recurrent net *equals* the feed-forward net of its depth is the forms-agree row; where
    the recurrent net lies beyond the feed-forward net of its depth in every seed, this
    distance is just the feed-forward change between the two depths, and the why says so.
    Where the seeds share one test set, the images' part is that of the same difference
    with each sign fixed at its mean's."""
    paper = ("like the feed-forward net of its effective depth, not like the one with its "
             "parameter count")
    claim = f"{label}: nearer the feed-forward net of its effective depth than of its parameters"
    if _form(runs, True).empty or _form(runs, False).depth.nunique() < 2:
        return Finding(claim, paper, "needs both forms and two feed-forward depths", NOT_HERE)
    pd_, ff_count, rec_count = parameter_depth(runs)
    deep = int(runs.depth.max())
    if deep == pd_:
        return Finding(claim, paper, "the deepest depth is the parameter-matched one", NOT_HERE)
    at = {d: runs[runs.depth == d] for d in (pd_, deep)}
    rec, ff_d, ff_p = _form(at[deep], True), _form(at[deep], False), _form(at[pd_], False)
    to_p = sample([(1, rec), (-1, ff_p)], value).per_seed
    to_d = sample([(1, rec), (-1, ff_d)], value).per_seed
    s_p, s_d = np.sign(to_p.mean()) or 1.0, np.sign(to_d.mean()) or 1.0
    linear = sample([(s_p - s_d, rec), (-s_p, ff_p), (s_d, ff_d)], value)
    both = to_p.index.intersection(to_d.index)
    per_seed = (to_p[both].abs() - to_d[both].abs()).astype(float)
    found = gaps({f"depth {deep}": replace(linear, per_seed=per_seed)})
    g = found[f"depth {deep}"]
    ours = (f"parameters: recurrent {rec_count:,}, feed-forward depth {pd_} {ff_count:,} (the "
            f"nearest count trained); at depth {deep}, recurrent − feed-forward {deep}: "
            f"{to_d.mean():+.2f}, recurrent − feed-forward {pd_}: {to_p.mean():+.2f}; distance "
            f"to feed-forward {pd_} minus distance to feed-forward {deep}: {g.text(' pt')}")
    verdict, why = decide(found, None)
    if (np.sign(to_p[both]) == np.sign(to_d[both])).all():
        why = "; ".join(x for x in (why, (
            f"the recurrent net lies on the same side of both feed-forward nets in every "
            f"seed, so this distance is the feed-forward change from depth {pd_} to {deep}, "
            f"seed by seed: the recurrent net adds only which side it is on")) if x)
    return Finding(claim, paper, ours, verdict, why, measured(found, None),
                   unit="pt of distance")


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
