"""What a run found, claim by claim: the paper's figure or direction, ours, and whether it
held at the resolution this run has.

The notebooks end with a "What we found" cell built from these functions, so their
conclusions are computed from the run, never typed.  Resolution: a difference counts only
when it exceeds two standard errors, where an accuracy's standard error is the larger of
the spread over seeds (std / sqrt(seeds)) and the binomial error of a test set of
``n_test`` examples (sqrt(p (1 - p) / n_test / seeds)): with one seed, or seeds that happen
to agree, the test set's size still limits what can be told apart.  A study run with one
seed can pass ``sd``, the seed-to-seed standard deviation measured where there were seeds
(:func:`seed_spread`), so that its single runs are not read more precisely than seeds allow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from recur.results import summarise

UNRESOLVED_SE = 5.0  # points: a gap this uncertain is not evidence either way
CEILING = 95.0  # %: where every model is at least this good, agreement is weak evidence
REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_HERE = ("reproduced", "partly", "not reproduced",
                                                "not run in this profile")
NOT_RESOLVED = "not resolved"  # the run cannot tell: its standard errors are too large


HEADER = "| claim | paper | this run | verdict |"  # how a findings table begins (the runner looks for it)


@dataclass(frozen=True)
class Finding:
    claim: str  # the paper's claim, in words
    paper: str  # the paper's figure or direction
    ours: str  # this run's numbers
    verdict: str  # one of REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_HERE
    why: str = ""  # what limits the verdict, or why a claim may not hold here


def binomial_se(acc: float, n_test: int, seeds: int = 1) -> float:
    """Standard error (points) of a mean accuracy ``acc`` (%) over ``seeds`` runs, each
    scored on ``n_test`` examples, from the test set's size alone."""
    p = min(max(acc / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1 - p) / (n_test * max(seeds, 1)))


def seed_spread(runs: pd.DataFrame, by=("recurrent", "depth"), value: str = "test_acc") -> float:
    """The seed-to-seed standard deviation of one run's accuracy, pooled over the groups
    that have two or more seeds (the root of their mean variance); NaN if none has."""
    var = runs.groupby(list(by))[value].var().dropna()
    return float(var.mean() ** 0.5) if len(var) else float("nan")


def accuracy(runs: pd.DataFrame, by, n_test: int, value: str = "test_acc",
             sd: float | None = None) -> pd.DataFrame:
    """Mean accuracy per group with its standard error: the larger of the seeds', the
    test set's and, given ``sd``, sd / sqrt(seeds) (module docstring)."""
    s = summarise(runs, by=tuple(by), value=value)
    floor = [0.0 if sd is None or sd != sd else sd / math.sqrt(n) for n in s["n"]]
    s["se"] = [max(se, binomial_se(m, n_test, n), f)
               for m, se, n, f in zip(s["mean"], s["se"], s["n"], floor)]
    return s


def forms(runs: pd.DataFrame, n_test: int, by=("depth",), value: str = "test_acc",
          sd: float | None = None) -> pd.DataFrame:
    """Feed-forward against recurrent per group (e.g. depth): both means and standard
    errors, the gap (recurrent minus feed-forward), its standard error and whether
    |gap| <= 2 se."""
    s = accuracy(runs, list(by) + ["recurrent"], n_test, value, sd)
    ff = s[~s.recurrent.astype(bool)].set_index(list(by))
    rec = s[s.recurrent.astype(bool)].set_index(list(by))
    out = pd.DataFrame({"feed-forward": ff["mean"], "recurrent": rec["mean"],
                        "se feed-forward": ff["se"], "se recurrent": rec["se"]}).dropna()
    out["gap"] = out["recurrent"] - out["feed-forward"]
    out["se"] = (out["se feed-forward"] ** 2 + out["se recurrent"] ** 2).pow(0.5)
    out["within 2 se"] = out["gap"].abs() <= 2 * out["se"]
    return out


def difference(a: float, a_se: float, b: float, b_se: float) -> tuple[float, float, str]:
    """``a - b``, its standard error and the direction it supports: "higher", "lower",
    or "no difference" (within two standard errors)."""
    d, se = a - b, math.hypot(a_se, b_se)
    return d, se, ("no difference" if abs(d) <= 2 * se else "higher" if d > 0 else "lower")


def share_verdict(held: int, total: int) -> str:
    """All held: reproduced; at least half: partly; fewer: not reproduced."""
    if total == 0:
        return NOT_HERE
    return REPRODUCED if held == total else PARTLY if 2 * held >= total else NOT_REPRODUCED


def forms_agree(runs: pd.DataFrame, n_test: int, label: str, value: str = "test_acc",
                sd: float | None = None) -> Finding:
    """The paper's central claim for one family or task: at every effective depth the two
    forms reach the same accuracy.  Depths with one module are left out (there the two
    forms are one net); depths whose gap has a standard error above ``UNRESOLVED_SE``
    count as not resolved, naming the form whose seeds disagree."""
    claim = f"{label}: recurrent ≈ feed-forward at equal effective depth"
    t = forms(runs, n_test, value=value, sd=sd)
    one = runs.recurrent.astype(bool) & (runs["iterations"] == 1 if "iterations" in runs else False)
    same_net = sorted(set(runs.loc[one, "depth"]) & set(t.index))  # one module: one net, two names
    t = t.drop(index=same_net)
    left_out = (f" (depth {', '.join(map(str, same_net))} left out: one module, the same net in "
                f"both forms)" if same_net else "")
    if t.empty:
        return Finding(claim, "curves on top of each other", "no depth with two or more modules"
                       + left_out, NOT_HERE)
    resolved = t["se"] <= UNRESOLVED_SE
    held = int((t["within 2 se"] & resolved).sum())
    worst = t["gap"].abs().idxmax()
    ours = ((f"{held} of {int(resolved.sum())} resolved depths within 2 s.e." if resolved.any() else "no depth resolved")
            + f"; largest gap (rec. - FF) "
            f"{t.loc[worst, 'gap']:+.1f} ± {t.loc[worst, 'se']:.1f} points at depth {worst}{left_out}")
    why = [f"not resolved at depth {d}: s.e. of the gap {t.loc[d, 'se']:.1f} points "
           f"(feed-forward {t.loc[d, 'se feed-forward']:.1f}, recurrent {t.loc[d, 'se recurrent']:.1f})"
           for d in t.index[~resolved]]
    lowest = min(t["feed-forward"].min(), t["recurrent"].min())
    if lowest >= CEILING:
        why.append(f"every accuracy is {lowest:.1f}% or more: near the ceiling, weak evidence")
    verdict = share_verdict(held, int(resolved.sum())) if resolved.any() else NOT_RESOLVED
    return Finding(claim, "curves on top of each other", ours, verdict, "; ".join(why))


def same_trend(runs: pd.DataFrame, n_test: int, label: str, value: str = "test_acc",
               sd: float | None = None) -> Finding:
    """Whether both forms change by the same amount from the shallowest to the deepest
    depth (the two changes within two standard errors of each other): the paper's two
    curves share their shape, whether it rises or not (Fig. 2)."""
    s = accuracy(runs, ["recurrent", "depth"], n_test, value, sd).set_index(["recurrent", "depth"])
    change = {}
    for rec in (False, True):
        d = s.loc[rec]
        lo, hi = d.index.min(), d.index.max()
        change[rec] = difference(d.loc[hi, "mean"], d.loc[hi, "se"], d.loc[lo, "mean"], d.loc[lo, "se"])[:2]
    gap, se = change[True][0] - change[False][0], math.hypot(change[True][1], change[False][1])
    claim = f"{label}: both forms change the same way with depth"
    ours = (f"from depth {lo} to {hi}: feed-forward {change[False][0]:+.1f} ± {change[False][1]:.1f}, "
            f"recurrent {change[True][0]:+.1f} ± {change[True][1]:.1f} points")
    if se > UNRESOLVED_SE:
        return Finding(claim, "same shape of curve", ours, NOT_RESOLVED,
                       f"s.e. of the difference {se:.1f} points")
    return Finding(claim, "same shape of curve", ours, REPRODUCED if abs(gap) <= 2 * se else NOT_REPRODUCED)


def rises_with_depth(runs: pd.DataFrame, n_test: int, label: str, value: str = "test_acc",
                     sd: float | None = None) -> Finding:
    """Accuracy at the deepest depth against the shallowest, for each form."""
    s = accuracy(runs, ["recurrent", "depth"], n_test, value, sd).set_index(["recurrent", "depth"])
    parts, held = [], 0
    for rec in sorted(set(s.index.get_level_values(0))):
        d = s.loc[rec]
        lo, hi = d.index.min(), d.index.max()
        diff, se, direction = difference(d.loc[hi, "mean"], d.loc[hi, "se"],
                                         d.loc[lo, "mean"], d.loc[lo, "se"])
        held += direction == "higher"
        parts.append(f"{'recurrent' if rec else 'feed-forward'} {d.loc[lo, 'mean']:.1f} → "
                     f"{d.loc[hi, 'mean']:.1f} (depth {lo} → {hi}, {diff:+.1f} ± {se:.1f})")
    return Finding(f"{label}: accuracy rises with effective depth", "rises", "; ".join(parts),
                   share_verdict(held, len(parts)))


def higher(a: pd.DataFrame, b: pd.DataFrame, n_test: int, claim: str, *, paper: str,
           names=("a", "b"), by=("recurrent", "depth"), value: str = "test_acc",
           sd: float | None = None) -> Finding:
    """In how many groups (default: form and depth) ``a``'s runs beat ``b``'s beyond two
    standard errors: all, reproduced; at least half, partly."""
    sa = accuracy(a, list(by), n_test, value, sd).set_index(list(by))
    sb = accuracy(b, list(by), n_test, value, sd).set_index(list(by))
    common = sa.index.intersection(sb.index)
    diffs = [difference(sa.loc[k, "mean"], sa.loc[k, "se"], sb.loc[k, "mean"], sb.loc[k, "se"])
             for k in common]
    held = sum(d[2] == "higher" for d in diffs)
    mean_gap = sum(d[0] for d in diffs) / len(diffs) if diffs else float("nan")
    lower = sum(d[2] == "lower" for d in diffs)
    ours = (f"{names[0]} above {names[1]} beyond 2 s.e. in {held} of {len(diffs)} "
            f"(form, depth) pairs, below in {lower}; mean gap {mean_gap:+.1f} points")
    if diffs and held == lower == 0:
        return Finding(claim, paper, ours, NOT_RESOLVED, "every difference within 2 s.e.")
    return Finding(claim, paper, ours, share_verdict(held, len(diffs)))


def similar_accuracy(a: pd.DataFrame, b: pd.DataFrame, n_test: int, claim: str, *, paper: str,
                     names=("a", "b"), value: str = "test_acc", why: str = "") -> Finding:
    """Two models' runs (over seeds) against each other: reproduced when their mean
    accuracies are within two standard errors.  ``why``: what may explain a difference."""
    (ma, sa), (mb, sb) = (accuracy(r.assign(model=0), ["model"], n_test, value)[["mean", "se"]].iloc[0]
                          for r in (a, b))
    d, se, direction = difference(ma, sa, mb, sb)
    ours = (f"{names[0]} {ma:.2f} ± {sa:.2f}, {names[1]} {mb:.2f} ± {sb:.2f}: "
            f"gap {d:+.2f} ± {se:.2f} points")
    if direction == "no difference":
        return Finding(claim, paper, ours, REPRODUCED)
    return Finding(claim, paper, ours, NOT_REPRODUCED if abs(d) > 2.0 else PARTLY,
                   f"{names[0]} {direction} than {names[1]} beyond the noise" + (f"; {why}" if why else ""))


def parameter_ratio(recurrent: int, feed_forward: int, paper: float, *, trained: float | None = None,
                    claim: str = "with about a third of the parameters") -> Finding:
    """A parameter ratio (recurrent / feed-forward) at the paper's widths against the
    paper's, within 5%; ``trained``: the ratio at the widths actually trained, reported."""
    ratio = recurrent / feed_forward
    ours = f"{recurrent:,} / {feed_forward:,} = {ratio:.3f} at the paper's widths"
    if trained is not None:
        ours += f"; {trained:.3f} at the widths trained here"
    return Finding(claim, f"ratio {paper:.2f}", ours,
                   REPRODUCED if abs(ratio / paper - 1) <= 0.05 else NOT_REPRODUCED)


def fewer_parameters(counts: pd.DataFrame, label: str) -> Finding:
    """From ``recur.experiments.parameter_counts``: the recurrent count stays constant over
    depth and falls below the feed-forward count at the deepest depth."""
    c = counts.set_index("effective depth").sort_index()
    flat = c["recurrent params"].nunique() == 1
    ff, rec = c["feed-forward params"].iloc[-1], c["recurrent params"].iloc[-1]
    ours = (f"recurrent {rec:,} at every depth, feed-forward {ff:,} at depth {c.index[-1]} "
            f"(ratio {rec / ff:.2f})" if flat else f"recurrent counts vary: {sorted(set(c['recurrent params']))}")
    return Finding(f"{label}: recurrent parameters do not grow with depth", "constant",
                   ours, REPRODUCED if flat and rec <= ff else NOT_REPRODUCED)


def report(findings) -> str:
    """The findings as a markdown table (for ``IPython.display.Markdown``)."""
    rows = [HEADER, "|---|---|---|---|"]
    cell = lambda text: str(text).replace("|", "\\|")  # a "|" inside a cell would split it
    for f in findings:
        verdict = f"**{f.verdict}**" + (f" ({cell(f.why)})" if f.why else "")
        rows.append(f"| {cell(f.claim)} | {cell(f.paper)} | {cell(f.ours)} | {verdict} |")
    return "\n".join(rows)
