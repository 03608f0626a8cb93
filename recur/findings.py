"""The decision rule: gaps between sets of runs, their intervals, and verdicts.

Every claim compares two sets of runs through a *gap* (e.g. recurrent minus feed-forward
accuracy, in points) and its confidence interval at :data:`CONFIDENCE` from Student's t:

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
lies inside ±δ (two one-sided tests, each at half of ``1 - CONFIDENCE``), **not
reproduced** when it lies wholly beyond ±δ, otherwise **inconclusive**, with the number of
seeds that would decide it at the observed gap and spread.  *Direction* claims (rises with
depth, larger mazes are harder) are reproduced when the interval excludes zero on the
paper's side, not reproduced when it excludes zero on the other side, else inconclusive.
A claim over several depths is reproduced when every depth is, not reproduced when any is
(:func:`combine`).  Everything here returns data: :mod:`recur.verdicts` applies the rule to
tables of runs, :mod:`recur.report` writes it as markdown, :mod:`recur.display` shows it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats


CONFIDENCE = 0.90  # two-sided interval; each one-sided test at (1 - CONFIDENCE) / 2
MAX_SEEDS = 100  # "seeds to decide" looks no further than this
#: per-seed gaps whose spread is below this (points) agree up to the records' rounding
#: (accuracies are kept to 0.001): no spread is measured, so none is assumed to be zero
NO_SPREAD = 0.01
#: ``pooled`` for one trained net scored twice on one test set: only the test set varies
TEST_SET_ONLY = (0.0, math.inf)
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_HERE = (
    "reproduced", "not reproduced", "inconclusive", "not run in this profile")


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
    return Gap(float(a.mean() - b.mean()), math.sqrt(va + vb + shared), satterthwaite(parts),
               min(len(a), len(b)), sd, shared)


def satterthwaite(parts) -> float:
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
    return Gap(g.estimate, math.sqrt(sd ** 2 / g.n + g.shared_var), satterthwaite(parts), g.n,
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
        d = per_seed(g, True, value) - per_seed(g, False, value)
        d = d.dropna()
        if len(d) > 1:
            ss += float(((d - d.mean()) ** 2).sum())
            df += len(d) - 1
    return (math.sqrt(ss / df), df) if df else (math.nan, 0)


def per_seed(runs: pd.DataFrame, recurrent: bool, value: str = "test_acc") -> pd.Series:
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


def undecided(gaps: dict, margin: float | None) -> str:
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




def decide_each(gaps: dict, margin: float | None, sign: int = 1) -> tuple[str, str]:
    """Each group's verdict, combined; ``why`` names the deciding groups and, for the
    inconclusive ones, how many seeds would decide them."""
    verdicts = {k: equivalence(g, margin) if margin is not None else direction(g, sign)
                for k, g in gaps.items()}
    verdict, why = combine(verdicts)
    open_ = {k: g for k, g in gaps.items() if verdicts[k] == INCONCLUSIVE}
    if verdict == INCONCLUSIVE:
        why = undecided(open_, margin)
    return verdict, why
