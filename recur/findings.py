"""What a run found, claim by claim, decided by one stated rule (:func:`how_we_decide`).

Every claim compares two sets of runs through a *gap* (e.g. recurrent minus feed-forward
accuracy, in points) and its 90 % confidence interval from Student's t:

- runs of the two sides that share a seed are paired (a seed fixes the data, the test set
  and the initial draw of both), so the gap's spread is the spread of the per-seed gaps,
  with ``seeds - 1`` degrees of freedom; otherwise Welch's interval;
- where every seed is scored on the same test set (the digits), that test set's binomial
  error is not in the seeds' spread: it is added once, not divided by the seeds;
- a study run with one seed borrows the spread of per-seed gaps measured where there were
  seeds (:func:`gap_spread`, pooled over depths), with its degrees of freedom;
- a gap whose seeds all agree (per-seed gaps within :data:`NO_SPREAD`: accuracies on a test
  set move in steps of one image, so a few seeds can coincide) has no measured spread, not a
  spread of zero: it takes the spread pooled over its claim's other gaps, with their degrees
  of freedom (:func:`pool_where_no_spread`).

*Same* claims (two forms, or two models, reach the same accuracy) are equivalence tests
with a margin δ declared in :data:`recur.paper.MARGINS`: **reproduced** when the interval
lies inside ±δ (two one-sided tests at 5 %), **not reproduced** when it lies wholly beyond
±δ (the gap exceeds δ with 95 % confidence), otherwise **inconclusive**, with the number of
seeds that would decide it at the observed gap and spread.  *Direction* claims (rises with
depth, larger mazes are harder) are reproduced when the interval excludes zero on the
paper's side, not reproduced when it excludes zero on the other side, else inconclusive.
A claim over several depths is reproduced when every depth is, not reproduced when any is.
Facts that hold by construction (parameter counts, perfect mazes) are not findings: they
are listed apart (:class:`Fact`, :func:`construction_report`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd
from IPython.display import Markdown, display
from scipy import stats

from recur.forms import FORMS

CONFIDENCE = 0.90  # two-sided interval; each one-sided test at (1 - CONFIDENCE) / 2 = 5 %
MAX_SEEDS = 100  # "seeds to decide" looks no further than this
#: per-seed gaps whose spread is below this (points) agree up to the records' rounding
#: (accuracies are kept to 0.001): no spread is measured, so none is assumed to be zero
NO_SPREAD = 0.01
#: ``pooled`` for one trained net scored twice on one test set: only the test set varies
TEST_SET_ONLY = (0.0, math.inf)
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_HERE = (
    "reproduced", "not reproduced", "inconclusive", "not run in this profile")
#: how a findings table and the list of facts begin (the runner looks for them)
HEADER = "| claim | paper | this run | verdict |"
FACTS = "**Checked by construction**"


@dataclass(frozen=True)
class Gap:
    """A gap (points, or any unit) with its interval at :data:`CONFIDENCE`."""

    estimate: float
    se: float
    df: float
    n: int  # seeds (pairs) behind it
    sd: float  # spread of one seed's gap (for how many seeds would decide)
    shared_var: float = 0.0  # a shared test set's variance, counted once
    pooled_df: int = 0  # > 0: ``sd`` pooled over the claim's gaps (these seeds agreed)

    @property
    def half_width(self) -> float:
        if not self.df > 0 or not math.isfinite(self.se):
            return math.inf
        return float(stats.t.ppf(1 - (1 - CONFIDENCE) / 2, self.df)) * self.se

    @property
    def low(self) -> float:
        return self.estimate - self.half_width

    @property
    def high(self) -> float:
        return self.estimate + self.half_width

    def text(self, unit: str = "") -> str:
        hw = self.half_width
        interval = (f"[{self.low:+.2f}, {self.high:+.2f}]{unit}" if math.isfinite(hw) else
                    "no interval (one seed, no spread to borrow)" if self.n < 2 else
                    "no interval (the seeds agree and no spread was measured to borrow)")
        pooled = (f", seeds agree: spread pooled over the claim's others ({self.pooled_df} df)"
                  if self.pooled_df else "")
        return f"{self.estimate:+.2f}{unit}, {CONFIDENCE:.0%} CI {interval}, n={self.n}{pooled}"


@dataclass(frozen=True)
class Finding:
    claim: str  # the paper's claim, in words
    paper: str  # the paper's figure or direction
    ours: str  # this run's numbers
    verdict: str  # REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE or NOT_HERE
    why: str = ""  # what decides or limits the verdict


@dataclass(frozen=True)
class Fact:
    """A property that holds by construction, checked (not a finding about training)."""

    claim: str
    checked: str
    holds: bool


# --------------------------------------------------------------------------- intervals
def binomial_var(acc: float, n_test: int) -> float:
    """Variance (points²) of an accuracy ``acc`` (%) measured on ``n_test`` examples."""
    p = min(max(acc / 100.0, 0.0), 1.0)
    return 1e4 * p * (1 - p) / n_test


def gap(a: pd.Series, b: pd.Series, *, shared_test: int | None = None,
        pooled: tuple[float, float] | None = None) -> Gap:
    """``mean(a) - mean(b)``, where ``a`` and ``b`` are per-seed values indexed by seed.

    Same seeds on both sides: paired.  Otherwise Welch.  ``shared_test``: the size of the
    one test set every seed was scored on (its binomial error is added once, as a known
    variance: the degrees of freedom are Satterthwaite's).  ``pooled``: ``(sd, df)`` of one
    seed's gap, used instead of this gap's own spread (one seed)."""
    a, b = a.astype(float), b.astype(float)
    shared = (binomial_var(a.mean(), shared_test) + binomial_var(b.mean(), shared_test)
              if shared_test else 0.0)
    paired = len(a) == len(b) and set(a.index) == set(b.index)
    if paired:
        d = a - b.reindex(a.index)
        n = len(d)
        sd, df = (pooled if pooled is not None else
                  (float(d.std(ddof=1)) if n > 1 else math.nan, n - 1))
        return with_spread(Gap(float(d.mean()), math.inf, 0, n, sd, shared), sd, df)
    if len(a) < 2 or len(b) < 2:
        return Gap(float(a.mean() - b.mean()), math.inf, 0, min(len(a), len(b)), math.nan, shared)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    parts = [(va, len(a) - 1), (vb, len(b) - 1), (shared, math.inf)]
    sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)))  # one seed of each side
    return Gap(float(a.mean() - b.mean()), math.sqrt(va + vb + shared), _satterthwaite(parts),
               min(len(a), len(b)), sd, shared)


def _satterthwaite(parts) -> float:
    """Degrees of freedom of a sum of variance estimates ``(variance, df)`` (Welch-
    Satterthwaite); a known variance (df = inf) adds to the sum but not to its noise."""
    total = sum(v for v, _ in parts)
    noise = sum(v ** 2 / df for v, df in parts if v and math.isfinite(df) and df > 0)
    return total ** 2 / noise if noise else math.inf


def with_spread(g: Gap, sd: float, df: float, pooled_df: int = 0) -> Gap:
    """``g`` with one seed's spread ``sd`` (``df`` degrees of freedom) in place of its own;
    a shared test set's variance stays as it was."""
    if not (math.isfinite(sd) and df > 0):
        return Gap(g.estimate, math.inf, 0, g.n, math.nan, g.shared_var, pooled_df)
    parts = [(sd ** 2 / g.n, df), (g.shared_var, math.inf)]
    return Gap(g.estimate, math.sqrt(sd ** 2 / g.n + g.shared_var), _satterthwaite(parts), g.n,
               sd, g.shared_var, pooled_df)


def pool_where_no_spread(gaps: dict) -> dict:
    """Gaps of one claim (accuracy points), where those whose seeds agree (a standard
    deviation of the per-seed gaps below :data:`NO_SPREAD`, from two or more seeds) take the
    spread pooled over the claim's *other* gaps measured from two or more seeds,
    ``sum((n - 1) sd²) / sum(n - 1)``, with ``sum(n - 1)`` degrees of freedom; with no other
    gap to pool, no interval.  A zero spread from a few seeds is a coincidence of the test
    set's one-image steps, not a measurement: read as zero it would give an interval of
    zero width, and pooled with the others it would narrow theirs."""
    own = {k: g for k, g in gaps.items() if g.n > 1 and math.isfinite(g.sd)}
    agree = {k for k, g in own.items() if g.sd < NO_SPREAD}
    if not agree:
        return gaps
    others = [g for k, g in own.items() if k not in agree]
    df = sum(g.n - 1 for g in others)
    pooled = math.sqrt(sum((g.n - 1) * g.sd ** 2 for g in others) / df) if df else math.nan
    return {k: with_spread(g, pooled, df, df) if k in agree else g for k, g in gaps.items()}


def gap_spread(runs: pd.DataFrame, by: str = "depth", value: str = "test_acc") -> tuple:
    """The spread of one seed's recurrent-minus-feed-forward gap, pooled over the groups
    ``by`` with two or more seeds (not those where the recurrent net has one module: there
    the two forms are one net): ``(sd, degrees of freedom)``; ``(nan, 0)`` if none."""
    ss, df = 0.0, 0
    one = runs.recurrent.astype(bool) & (runs.get("iterations") == 1)
    runs = runs[~runs[by].isin(set(runs.loc[one, by]))]  # one module: the same net, gap 0
    for _, g in runs.groupby(by):
        d = _per_seed(g, True, value) - _per_seed(g, False, value)
        d = d.dropna()
        if len(d) > 1:
            ss += float(((d - d.mean()) ** 2).sum())
            df += len(d) - 1
    return (math.sqrt(ss / df), df) if df else (math.nan, 0)


def _per_seed(runs: pd.DataFrame, recurrent: bool, value: str = "test_acc") -> pd.Series:
    rows = runs[runs.recurrent.astype(bool) == recurrent]
    return rows.groupby("seed")[value].mean()


# --------------------------------------------------------------------------- verdicts
def equivalence(g: Gap, margin: float) -> str:
    """REPRODUCED inside ±margin, NOT_REPRODUCED wholly beyond it, else INCONCLUSIVE."""
    if -margin < g.low and g.high < margin:
        return REPRODUCED
    if g.low > margin or g.high < -margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def direction(g: Gap, sign: int = 1) -> str:
    """REPRODUCED when the interval excludes zero on the side ``sign``, NOT_REPRODUCED on
    the other side, else INCONCLUSIVE."""
    low, high = (g.low, g.high) if sign > 0 else (-g.high, -g.low)
    return REPRODUCED if low > 0 else NOT_REPRODUCED if high < 0 else INCONCLUSIVE


def seeds_to_decide(g: Gap, margin: float | None = None) -> int | None:
    """The fewest seeds (paired runs) at which the observed gap and per-seed spread would
    decide the claim (equivalence with ``margin``, else direction); None if no number up to
    :data:`MAX_SEEDS` would (e.g. the shared test set's error alone is too large)."""
    if not math.isfinite(g.sd):
        return None
    for n in range(2, MAX_SEEDS + 1):
        if _verdict_with(g, n, margin) != INCONCLUSIVE:
            return n
    return None


def _verdict_with(g: Gap, n: int, margin: float | None) -> str:
    """The verdict ``n`` seeds would give at the observed gap and per-seed spread."""
    trial = with_spread(dataclasses.replace(g, n=n), g.sd, n - 1)
    return equivalence(trial, margin) if margin is not None else direction(trial)


def _undecided(gaps: dict, margin: float | None) -> str:
    """For the undecided groups: how many seeds would decide each, or that none would."""
    alone = [k for k, g in gaps.items() if not math.isfinite(g.sd)]
    parts = [f"no spread to judge by at {', '.join(alone)}: "
             + ("two or more seeds needed" if all(gaps[k].n < 2 for k in alone) else
                "more seeds needed")] if alone else []
    need = {k: seeds_to_decide(g, margin) for k, g in gaps.items() if k not in alone}
    some = {k: n for k, n in need.items() if n is not None}
    if some:
        have = sorted({g.n for g in gaps.values()})
        parts.append("seeds that would decide it at the observed gap and spread: "
                     + ", ".join(f"{k}: {n} ({_verdict_with(gaps[k], n, margin)})"
                                 for k, n in some.items())
                     + f" (here {', '.join(map(str, have))})")
    never = [k for k, n in need.items() if n is None]
    if never:
        shared = any(gaps[k].shared_var for k in never)
        parts.append(f"no number of seeds up to {MAX_SEEDS} would decide {', '.join(never)}"
                     + (": the shared test set's error alone is wider than the margin; a "
                        "larger or per-seed test set would" if shared else ""))
    return "; ".join(parts)


def combine(verdicts: dict) -> tuple[str, str]:
    """A claim over several groups (e.g. depths): reproduced when every group is, not
    reproduced when any is, else inconclusive; with the groups that decided it."""
    if not verdicts:
        return NOT_HERE, ""
    bad = [str(k) for k, v in verdicts.items() if v == NOT_REPRODUCED]
    open_ = [str(k) for k, v in verdicts.items() if v == INCONCLUSIVE]
    if bad:
        return NOT_REPRODUCED, "not reproduced at " + ", ".join(bad)
    if open_:
        return INCONCLUSIVE, "inconclusive at " + ", ".join(open_)
    return REPRODUCED, ""


# --------------------------------------------------------------------------- claims
def _decide_each(gaps: dict, margin: float | None, sign: int = 1) -> tuple[str, str]:
    """Each group's verdict, combined; ``why`` names the deciding groups and, for the
    inconclusive ones, how many seeds would decide them."""
    verdicts = {k: equivalence(g, margin) if margin is not None else direction(g, sign)
                for k, g in gaps.items()}
    verdict, why = combine(verdicts)
    open_ = {k: g for k, g in gaps.items() if verdicts[k] == INCONCLUSIVE}
    if verdict == INCONCLUSIVE:
        why = _undecided(open_, margin)
    return verdict, why


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
            gaps[f"{where} {d}"] = gap(_per_seed(g, True, value), _per_seed(g, False, value),
                                       shared_test=shared_test, pooled=pooled)
    if not gaps:
        return Finding(claim, "curves on top of each other", "no depth with both forms",
                       NOT_HERE)
    gaps = pool_where_no_spread(gaps)
    ours = "; ".join(f"{k}: gap {g.text()}" for k, g in gaps.items())
    verdict, why = _decide_each(gaps, margin)
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
        step = {rec: _per_seed(runs[runs.depth == hi], rec, value)
                - _per_seed(runs[runs.depth == lo], rec, value) for rec in (False, True)}
        g = gap(step[True].dropna(), step[False].dropna())
        if shared_test:  # the accuracies on one test set; one net in both forms cancels
            extra = sum(binomial_var(_per_seed(runs[runs.depth == d], r, value).mean(),
                                     shared_test)
                        for d in (lo, hi) if not _one_net(runs[runs.depth == d], value)
                        for r in (False, True))
            se2 = g.se ** 2 + extra
            df = _satterthwaite([(g.se ** 2, g.df), (extra, math.inf)])
            g = Gap(g.estimate, math.sqrt(se2), df, g.n, g.sd, extra)
        gaps[f"depth {lo} → {hi}"] = g
    gaps = pool_where_no_spread(gaps)
    ours = "; ".join(f"{k}: {g.text()}" for k, g in gaps.items())
    verdict, why = _decide_each(gaps, margin)
    return Finding(claim, "same shape of curve", ours, verdict, why)


def _one_net(runs: pd.DataFrame, value: str) -> bool:
    """Are the two forms' runs here one net (equal scores, seed by seed: one module)?"""
    rec, ff = _per_seed(runs, True, value), _per_seed(runs, False, value)
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
        gaps[f"{form} {lo} → {hi}"] = gap(_per_seed(rows[rows.depth == hi], rec, value),
                                          _per_seed(rows[rows.depth == lo], rec, value),
                                          shared_test=shared_test)
    gaps = pool_where_no_spread(gaps)
    ours = "; ".join(f"{k}: {g.text(' pt')}" for k, g in gaps.items())
    verdict, why = _decide_each(gaps, None)
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
    verdict, why = _decide_each(gaps, None)
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
    notes = [_undecided({"the gap": g}, margin)] if verdict == INCONCLUSIVE else []
    return Finding(f"{claim} (±{margin:g} pt)", paper, ours, verdict,
                   "; ".join(notes + [why] * bool(why)))


# --------------------------------------------------------------------------- by construction
def parameter_ratio(recurrent: int, feed_forward: int, paper: float, *,
                    trained: float | None = None, tolerance: float = 0.05,
                    claim: str = "with about a third of the parameters") -> Fact:
    """A parameter ratio (recurrent / feed-forward) at the paper's widths against the
    paper's, within ``tolerance`` (relative); ``trained``: the ratio at the widths trained."""
    ratio = recurrent / feed_forward
    checked = (f"{recurrent:,} / {feed_forward:,} = {ratio:.3f} at the paper's widths "
               f"(paper {paper:.2f})")
    if trained is not None:
        checked += f"; {trained:.3f} at the widths trained here"
    return Fact(claim, checked, abs(ratio / paper - 1) <= tolerance)


def fewer_parameters(counts: pd.DataFrame, label: str) -> Fact:
    """From ``recur.experiments.parameter_counts``: the recurrent count stays constant over
    depth and is at most the feed-forward count at the deepest depth."""
    c = counts.set_index("effective depth").sort_index()
    flat = c["recurrent params"].nunique() == 1
    ff, rec = c["feed-forward params"].iloc[-1], c["recurrent params"].iloc[-1]
    checked = (f"recurrent {rec:,} at every depth, feed-forward {ff:,} at depth "
               f"{c.index[-1]} (ratio {rec / ff:.2f})" if flat else
               f"recurrent counts vary: {sorted(set(c['recurrent params']))}")
    return Fact(f"{label}: recurrent parameters do not grow with depth", checked,
                bool(flat and rec <= ff))


# --------------------------------------------------------------------------- reports
def _cell(text) -> str:
    return str(text).replace("|", "\\|")  # a "|" inside a cell would split it


def report(findings) -> str:
    """The findings as a markdown table (for ``IPython.display.Markdown``)."""
    rows = [HEADER, "|---|---|---|---|"]
    for f in findings:
        verdict = f"**{f.verdict}**" + (f" ({_cell(f.why)})" if f.why else "")
        rows.append(f"| {_cell(f.claim)} | {_cell(f.paper)} | {_cell(f.ours)} | {verdict} |")
    return "\n".join(rows)


def construction_report(facts) -> str:
    """Facts that hold by construction, as a markdown list ("Checked by construction")."""
    return "\n".join(f"- {'holds' if f.holds else '**does not hold**'}: {f.claim} "
                     f"({f.checked})" for f in facts)


def show(found, facts=()) -> None:
    """In a notebook: the findings table, the rule that decided it, and the facts checked
    by construction (apart: they hold by how the models and data are built)."""
    if found:  # (notebook 01 checks facts only)
        display(Markdown(report(found)))
        display(Markdown(how_we_decide()))
    if facts:
        display(Markdown(f"{FACTS} (not findings: they hold by how the models and data are "
                         f"built)\n\n" + construction_report(facts)))


def how_we_decide(margins: dict | None = None) -> str:
    """The decision rule in a short paragraph, generated from the constants used."""
    from recur.paper import MARGINS

    margins = MARGINS if margins is None else margins
    listed = "; ".join(f"{name}: ±{m:g} ({reason})" for name, (m, reason) in margins.items())
    return (f"**How we decide.** Each claim is a gap between two sets of runs, with its "
            f"{CONFIDENCE:.0%} confidence interval from Student's t: runs that share a seed "
            f"are paired (the spread of per-seed gaps, seeds − 1 degrees of freedom); where "
            f"every seed is scored on the same test set, its binomial error is added once; "
            f"where the seeds of one comparison all give the same gap (a standard deviation "
            f"below {NO_SPREAD:g} points: accuracies move in steps of one test image), it "
            f"takes the spread pooled over the claim's other comparisons, with their degrees "
            f"of freedom, instead of a spread of zero (no interval if there are none). "
            f"A *same* claim is **reproduced** when the interval lies inside its margin ±δ "
            f"(two one-sided tests at {(1 - CONFIDENCE) / 2:.0%}), **not reproduced** when it "
            f"lies wholly beyond ±δ, and otherwise **inconclusive**, with the seeds that would "
            f"decide it. A *direction* claim is reproduced when the interval excludes zero "
            f"on the paper's side, not reproduced when it excludes zero on the other. A claim "
            f"over several depths holds when every depth does and fails when any does. "
            f"Margins, declared with the paper's numbers before looking at ours: {listed}.")
