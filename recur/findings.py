"""The decision rule: gaps between sets of runs, their intervals, and verdicts.

Every claim compares sets of runs through a *gap* (e.g. recurrent minus feed-forward
accuracy, in points), measured in one or more *groups* (depths, steps, forms), and decides
it by one rule, stated once here and in :func:`recur.report.how_we_decide`:

- **Paired by seed.** The runs a gap compares share their seeds (a seed fixes the data, the
  split and the initial draw of every net it trains); the gap is the mean of the per-seed
  gaps.  Seeds present on one side only are left out.
- **Paired by image.** Every run record keeps which test examples its net got right and a
  fingerprint of those examples (``test_correct``, ``test_set``).  Where the seeds of a
  comparison draw their own test sets (the mazes, the digits split per seed), the test
  set's sampling is inside the per-seed gaps and their spread covers it.  Where every seed
  was scored on one shared test set, that sampling is common to the seeds and their spread
  misses it: it is added once, as the variance of the per-image gap (averaged over the
  seeds) over the images, so that two nets' correlated errors on the same images cancel.
  This is conservative: the seed × image part of the per-image noise is in both terms.
- **One spread policy.** A gap's standard error is ``sd / √n`` (plus the shared images'
  part), with ``sd`` the spread of that group's own per-seed gaps and Student's t with its
  ``n − 1`` degrees of freedom: never more than its seeds give, and never borrowed from
  another group (the spread differs between depths: the deepest MLPs sometimes fail to
  train, the shallow ones never do).  A group with one seed has no spread and is not
  decided (its row shows the interval over the test images alone, for information).
  Claims about *one* net (the same net scored two ways) are decided on its test images
  alone, paired per image (:func:`one_net`), and say so.
- **Verdicts.** *Same* claims are equivalence tests with a margin δ declared in
  :data:`recur.paper.MARGINS`: a group is **reproduced** when its :data:`CONFIDENCE`
  interval lies inside ±δ (two one-sided tests, each at half of ``1 − CONFIDENCE``).
  *Direction* claims: the interval excludes zero on the paper's side.  A claim over ``k``
  groups is reproduced when every group is (an intersection-union test: no correction
  needed), **not reproduced** when some group fails at the family-wise level (its interval
  at ``1 − (1 − CONFIDENCE) / k``, Bonferroni, lies beyond ±δ or on the other side of
  zero), otherwise **inconclusive**.
- **Seeds that would decide it** are estimated only from a spread with at least
  :data:`MIN_SPREAD_DF` degrees of freedom, using the spread's upper confidence bound;
  otherwise the row says the spread is not yet known.

Everything here returns data: :mod:`recur.verdicts` applies the rule to tables of runs,
:mod:`recur.report` writes it as markdown, :mod:`recur.display` shows it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from recur.results import unpack

CONFIDENCE = 0.90  # two-sided interval; each one-sided test at (1 - CONFIDENCE) / 2
MAX_SEEDS = 100  # "seeds to decide" looks no further than this
MIN_SPREAD_DF = 3  # fewer degrees of freedom: the seed spread is not yet known
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_HERE = (
    "reproduced", "not reproduced", "inconclusive", "not run in this profile")


@dataclass(frozen=True)
class Sample:
    """One group's measurements of a gap: the gap per seed (points), and where the seeds
    share one test set, the variance its images add to the gap's mean (``image_var``,
    points², from ``images`` images; 0 and 0 when each seed drew its own)."""

    per_seed: pd.Series
    image_var: float = 0.0
    images: int = 0


@dataclass(frozen=True)
class Gap:
    """A gap with its interval: the mean of ``n`` per-seed gaps, one seed's spread ``sd``
    with ``sd_df`` degrees of freedom (from these seeds), and the shared test
    images' variance.  ``one_net``: one net scored two ways; only the images vary."""

    estimate: float
    n: int
    sd: float = math.nan
    sd_df: int = 0
    image_var: float = 0.0
    images: int = 0
    one_net: bool = False

    @property
    def se(self) -> float:
        if self.one_net:
            return math.sqrt(self.image_var)
        return math.sqrt(self.sd ** 2 / self.n + self.image_var) if self.known else math.inf

    @property
    def known(self) -> bool:
        """Is there an interval (a seed spread, or one net's images)?"""
        return self.one_net or (self.sd_df > 0 and math.isfinite(self.sd))

    @property
    def df(self) -> float:
        return self.images - 1 if self.one_net else self.sd_df

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float]:
        if not self.known or not self.df > 0:
            return -math.inf, math.inf
        half = float(stats.t.ppf(1 - (1 - confidence) / 2, self.df)) * self.se
        return self.estimate - half, self.estimate + half

    @property
    def low(self) -> float:
        return self.interval()[0]

    @property
    def high(self) -> float:
        return self.interval()[1]

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def images_only(self) -> Gap:
        """The interval over the shared test images alone (one seed's two nets)."""
        return replace(self, one_net=True)

    def text(self, unit: str = "") -> str:
        if self.known:
            return (f"{self.estimate:+.2f}{unit}, {CONFIDENCE:.0%} CI [{self.low:+.2f}, "
                    f"{self.high:+.2f}]{unit}, n={self.n}")
        images = (f"; over the test images alone [{self.images_only().low:+.2f}, "
                  f"{self.images_only().high:+.2f}]" if self.images > 1 else "")
        return (f"{self.estimate:+.2f}{unit}, n={self.n}: no interval (one seed: the spread "
                f"between seeds is not measured{images})")


@dataclass(frozen=True)
class Measured:
    """One comparison of a claim, as a figure draws it: its group, the gap and its
    interval at :data:`CONFIDENCE`, and its verdict within the claim."""

    group: str
    estimate: float
    low: float
    high: float
    verdict: str


@dataclass(frozen=True)
class Finding:
    claim: str  # the paper's claim, in words
    paper: str  # the paper's figure or direction
    ours: str  # this run's numbers
    verdict: str  # REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE or NOT_HERE
    why: str = ""  # what decides or limits the verdict
    groups: tuple = ()  # its comparisons (Measured), for the claims-at-a-glance figure
    margin: float | None = None  # a same claim's ±δ; None for a direction claim
    unit: str = "pt"  # the gaps' unit
    scale: str = ""  # at what scale it was decided (profile, seeds, test set, sizes)
    paper_value: float | None = None  # the paper's own gap, where it gives one number


@dataclass(frozen=True)
class Fact:
    """A property that holds by construction, checked (not a finding about training)."""

    claim: str
    checked: str
    holds: bool


# --------------------------------------------------------------------------- measurements
def sample(terms, value: str = "test_acc") -> Sample:
    """A group's gap from tables of runs: ``terms`` is ``[(coefficient, runs), ...]``, each
    ``runs`` one run per seed (e.g. ``[(1, recurrent), (-1, feed_forward)]``); the gap of a
    seed is the sum of coefficient × value over the terms, on the seeds every term has.
    Where a term's runs share one test set across those seeds (the same ``test_set``
    fingerprint), the images' part is added from their ``test_correct`` (per image, summed
    over the terms on the same images and averaged over the seeds)."""
    per = [(coef, rows.assign(seed=rows.seed.astype(int)).set_index("seed"))
           for coef, rows in terms]
    seeds = sorted(set.intersection(*(set(r.index) for _, r in per)))
    gap = sum(coef * r[value].groupby(level=0).mean().reindex(seeds).astype(float)
              for coef, r in per)
    shared: dict[str, np.ndarray] = {}  # fingerprint -> per-image gap, points
    for coef, rows in per:
        if "test_set" not in rows or not seeds:
            continue
        prints = rows.loc[seeds, "test_set"]
        if prints.isna().any() or prints.nunique() != 1:
            continue  # each seed its own test set: inside the seeds' spread
        hits = np.mean([unpack(t, int(n)) for t, n in
                        zip(rows.loc[seeds, "test_correct"], rows.loc[seeds, "test_images"])],
                       axis=0)
        shared[prints.iloc[0]] = shared.get(prints.iloc[0], 0.0) + 100.0 * coef * hits
    image_var = sum(float(np.var(v, ddof=1)) / len(v) for v in shared.values() if len(v) > 1)
    return Sample(pd.Series(gap, dtype=float), image_var,
                  max((len(v) for v in shared.values()), default=0))


def spread(per_seed: pd.Series) -> tuple[float, int]:
    """One seed's spread over per-seed gaps: ``(sd, degrees of freedom)``, (nan, 0) with
    fewer than two seeds."""
    d = per_seed.dropna()
    return (float(d.std(ddof=1)), len(d) - 1) if len(d) > 1 else (math.nan, 0)


def gaps(samples: dict) -> dict:
    """Each group's :class:`Gap`, each with the spread of its own seeds."""
    return {k: Gap(float(s.per_seed.mean()), int(s.per_seed.count()), *spread(s.per_seed),
                   s.image_var, s.images) for k, s in samples.items()}


def gap(a: pd.Series, b: pd.Series) -> Gap:
    """One group: ``a − b``, per-seed values indexed by seed, paired on the seeds both have
    (e.g. a trained net's reuse minus its untrained control, seed by seed)."""
    both = a.index.intersection(b.index)
    return gaps({"": Sample((a[both] - b[both]).astype(float))})[""]


def one_net(a, b) -> Gap:
    """One net (or one pair of nets) scored two ways on the same images: ``a`` and ``b``
    are per-image correctness; the interval covers the test images' sampling only."""
    d = 100.0 * (np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    return Gap(float(d.mean()), 1, image_var=float(np.var(d, ddof=1)) / len(d),
               images=len(d), one_net=True)


# --------------------------------------------------------------------------- verdicts
def equivalence(g: Gap, margin: float, confidence: float = CONFIDENCE) -> str:
    """REPRODUCED inside ±margin, NOT_REPRODUCED wholly beyond it, else INCONCLUSIVE."""
    low, high = g.interval(confidence)
    if -margin < low and high < margin:
        return REPRODUCED
    if low > margin or high < -margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def direction(g: Gap, sign: int = 1, confidence: float = CONFIDENCE) -> str:
    """REPRODUCED when the interval excludes zero on the side ``sign``, NOT_REPRODUCED on
    the other side, else INCONCLUSIVE."""
    low, high = g.interval(confidence)
    low, high = (low, high) if sign > 0 else (-high, -low)
    return REPRODUCED if low > 0 else NOT_REPRODUCED if high < 0 else INCONCLUSIVE


def judge(g: Gap, margin: float | None, sign: int = 1, groups: int = 1) -> str:
    """One group's verdict within a claim over ``groups`` groups: reproduced at
    :data:`CONFIDENCE`; not reproduced only at the family-wise level (Bonferroni)."""
    test = ((lambda c: equivalence(g, margin, c)) if margin is not None else
            (lambda c: direction(g, sign, c)))
    if test(CONFIDENCE) == REPRODUCED:
        return REPRODUCED
    if test(family_wise(groups)) == NOT_REPRODUCED:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def family_wise(groups: int) -> float:
    """The confidence of the interval that must fail for a claim over ``groups`` groups."""
    return 1 - (1 - CONFIDENCE) / groups


def spread_bound(g: Gap) -> float | None:
    """The one-sided upper confidence bound of one seed's spread at 1 − (1 − CONFIDENCE)/2
    (95 %, from the χ² distribution), or None when it rests on fewer than
    :data:`MIN_SPREAD_DF` degrees of freedom."""
    if g.one_net or not g.known or g.sd_df < MIN_SPREAD_DF:
        return None
    return g.sd * math.sqrt(g.sd_df / stats.chi2.ppf((1 - CONFIDENCE) / 2, g.sd_df))


def seeds_to_decide(g: Gap, margin: float | None = None, sign: int = 1,
                    groups: int = 1) -> int | None:
    """The fewest seeds that would decide this group of a claim over ``groups`` groups at
    the observed gap if one seed's spread were at its upper bound (:func:`spread_bound`),
    with ``n − 1`` degrees of freedom; None if the spread is not known well enough or no
    number up to :data:`MAX_SEEDS` would."""
    sd = spread_bound(g)
    if sd is None:
        return None
    for n in range(2, MAX_SEEDS + 1):
        trial = replace(g, n=n, sd=sd, sd_df=n - 1)
        if judge(trial, margin, sign, groups) != INCONCLUSIVE:
            return n
    return None


def decide_each(found: dict, margin: float | None, sign: int = 1) -> tuple[str, str]:
    """A claim over the groups of ``found`` (name -> :class:`Gap`): its verdict, and why
    (the groups that decided it, or for an undecided one what would decide it)."""
    if not found:
        return NOT_HERE, ""
    k = len(found)
    verdicts = {name: judge(g, margin, sign, k) for name, g in found.items()}
    bad = [n for n, v in verdicts.items() if v == NOT_REPRODUCED]
    if bad:
        level = family_wise(k)
        return NOT_REPRODUCED, "not reproduced at " + "; ".join(
            f"{n} (its {level:.1%} interval, Bonferroni over {k}: "
            f"[{found[n].interval(level)[0]:+.2f}, {found[n].interval(level)[1]:+.2f}])"
            if k > 1 else n for n in bad)
    open_ = {n: g for n, g in found.items() if verdicts[n] == INCONCLUSIVE}
    if not open_:
        return REPRODUCED, ""
    return INCONCLUSIVE, "inconclusive at " + ", ".join(open_) + "; " + undecided(
        open_, margin, sign, k)


def decide(found: dict, margin: float | None, sign: int = 1) -> tuple[str, str]:
    """:func:`decide_each`, its why followed by how the groups' spreads were measured
    (:func:`spread_text`): what every claim's row says."""
    verdict, why = decide_each(found, margin, sign)
    return verdict, "; ".join(x for x in (why, spread_text(found)) if x)


def undecided(open_: dict, margin: float | None, sign: int = 1, groups: int = 1) -> str:
    """What would decide the undecided groups: more seeds (how many, where a group's spread
    is known well enough to say), a second seed, or more test images (one net)."""
    alone = [n for n, g in open_.items() if not g.known]
    one = [n for n, g in open_.items() if g.one_net]
    vague = [n for n, g in open_.items() if g.known and not g.one_net
             and spread_bound(g) is None]
    parts = ([f"one seed at {', '.join(alone)}: a second seed would measure the spread "
              f"between seeds"] if alone else [])
    parts += ["one net: more test images would narrow it"] if one else []
    if vague:
        dfs = sorted({open_[n].sd_df for n in vague})
        parts.append(f"at {', '.join(vague)} the spread between seeds rests on "
                     f"{'/'.join(map(str, dfs))} degree(s) of freedom (fewer than "
                     f"{MIN_SPREAD_DF}): not known well enough to say how many seeds would "
                     f"decide it")
    rest = {n: g for n, g in open_.items() if n not in alone + one + vague}
    need = {n: seeds_to_decide(g, margin, sign, groups) for n, g in rest.items()}
    some = [f"{n}: {k} (here {rest[n].n})" for n, k in need.items() if k is not None]
    never = [n for n, k in need.items() if k is None]
    if some:
        parts.append("seeds that would decide it if one seed's spread were at its upper "
                     "confidence bound: " + ", ".join(some))
    if never:
        parts.append(f"no number of seeds up to {MAX_SEEDS} would decide {', '.join(never)} "
                     f"at the observed gap and that bound")
    return "; ".join(parts)


def measured(found: dict, margin: float | None, sign: int = 1) -> tuple:
    """The groups of a claim (name -> :class:`Gap`) as :class:`Measured`, each with its
    verdict within the claim (:func:`judge`)."""
    return tuple(Measured(str(name), g.estimate, g.low, g.high,
                          judge(g, margin, sign, len(found))) for name, g in found.items())


FRAME_COLUMNS = ["claim", "verdict", "group", "estimate", "low", "high", "group_verdict",
                 "margin", "unit", "paper_value"]


def frame(found) -> pd.DataFrame:
    """Findings as a tidy table, one row per comparison (claims without any, e.g. not run
    here, are left out): what the claims-at-a-glance figure draws."""
    rows = [dict(claim=f.claim, verdict=f.verdict, group=m.group, estimate=m.estimate,
                 low=m.low, high=m.high, group_verdict=m.verdict, margin=f.margin,
                 unit=f.unit, paper_value=f.paper_value)
            for f in found for m in f.groups]
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def combine(verdicts: dict) -> tuple[str, str]:
    """Verdicts already decided (e.g. by separate rows): reproduced when every one is, not
    reproduced when any is, else inconclusive; with the ones that decided it."""
    if not verdicts:
        return NOT_HERE, ""
    bad = [str(k) for k, v in verdicts.items() if v == NOT_REPRODUCED]
    open_ = [str(k) for k, v in verdicts.items() if v == INCONCLUSIVE]
    if bad:
        return NOT_REPRODUCED, "not reproduced at " + ", ".join(bad)
    if open_:
        return INCONCLUSIVE, "inconclusive at " + ", ".join(open_)
    return REPRODUCED, ""


def spread_text(found: dict) -> str:
    """How the groups' spreads were measured, for a row's why."""
    own = [g for g in found.values() if g.known and not g.one_net]
    if not own:
        return ""
    dfs = sorted({g.sd_df for g in own})
    shared = "; the shared test images' part added" if any(g.images for g in own) else ""
    return (f"each comparison's spread from its own seeds ({'/'.join(map(str, dfs))} df)"
            + shared)
