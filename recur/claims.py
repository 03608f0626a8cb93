"""The paper's claims, notebook by notebook, each decided by :mod:`recur.findings`' rule.

A notebook gathers its runs and calls one function here for its "What we found" table,
so that which claims are tested, against which margin and on which runs is library code
with tests, never a notebook's own logic.  Margins come from :data:`recur.paper.MARGINS`.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from recur import findings, paper, verdicts
from recur.findings import Fact, Finding
from recur.forms import FORMS

FORMS_MARGIN = paper.MARGINS["forms"][0]
ONE_NET = "one net: the interval covers the test set's sampling only"
#: The nets a CKA pairing compares with its reference (an 8-layer feed-forward net), named as
#: the paper's numbers are (:data:`recur.paper.CKA`): the same depth recurrent, and shallower.
SAME_DEPTH, SHALLOWER = "same depth, recurrent", "4-layer feed-forward"


def classification(runs: pd.DataFrame, dataset: str, n_test: int | None) -> list[Finding]:
    """Per family: the two forms agree at every depth, and change the same way with depth.
    ``n_test``: the size of the one test set every seed was scored on, whose error is then
    counted once; None where each seed drew its own train/test split (both forms of a seed
    sharing it), so that the test sampling is part of the per-seed gaps' spread."""
    return [claim for family, mine in runs.groupby("family", sort=False) for claim in (
        verdicts.forms_agree(mine, f"{family} on {dataset}", margin=FORMS_MARGIN,
                             shared_test=n_test),
        verdicts.same_shape(mine, family, margin=FORMS_MARGIN, shared_test=n_test))]


def fewer_parameters(counts: pd.DataFrame) -> list[Fact]:
    """Per family of ``counts`` (:func:`recur.experiments.parameter_counts`), in its order:
    the recurrent form has fewer parameters than the feed-forward one past the shallowest
    depth (a fact by construction)."""
    return [verdicts.fewer_parameters(counts[counts.family == f], f)
            for f in counts.family.unique()]


def maze_data(table: pd.DataFrame, repeats: dict) -> list[Fact]:
    """Notebook 01's facts about its maze sets, by construction: ``table`` is one row per
    size (:func:`recur.mazes.split_summary`), ``repeats`` cells -> % of 50,000 generated
    mazes that repeat an earlier one."""
    means, overlap = table["mean path"].astype(float), int(table["train/test overlap"].sum())
    return [
        Fact("every maze is a perfect maze; the label is its unique path",
             f"all {int(table[['train', 'test']].to_numpy().sum()):,} mazes pass "
             f"recur.mazes.check", True),
        Fact("fewer than 0.5% duplicates within a training set of 50,000 (4.1)",
             ", ".join(f"{c}x{c}: {r:.2f}%" for c, r in repeats.items()),
             max(repeats.values()) < 0.5),
        Fact("train and test sets do not overlap", f"{overlap} shared mazes", overlap == 0),
        Fact("larger mazes have longer optimal paths (Fig. 4)",
             " < ".join(f"{m:.1f}" for m in means) + " moves on average",
             bool(means.is_monotonic_increasing))]


def mazes(runs: pd.DataFrame, *, maze_size: str, span: int, by_size: pd.DataFrame | None = None,
          plain: pd.DataFrame | None = None, dilated: pd.DataFrame | None = None) -> list:
    """Notebook 03: accuracy rises with depth, also past the depth whose receptive field
    spans the maze; the forms agree; and, from the one-seed studies (borrowing the main
    sweep's spread of per-seed gaps): larger mazes are harder, the forms agree on other
    sizes and dilated, dilated filters solve more."""
    pooled = findings.gap_spread(runs)
    found = [verdicts.rises_with_depth(runs, f"{maze_size} mazes"),
             verdicts.forms_agree(runs, f"{maze_size} mazes", margin=FORMS_MARGIN)]
    past = verdicts.rises_with_depth(runs[runs.depth >= span], "past the depth whose field "
                                                               f"spans the maze ({span}; 4.3)")
    if span <= runs.depth.min():  # every depth trained: the same comparison as the first row
        past = dataclasses.replace(past, why="every depth here is past it: the same runs as "
                                             "the first row, not a second result")
    found.append(past)
    sizes = set(by_size.maze_size) if by_size is not None and len(by_size) else set()
    if {"small", "large"} <= sizes:
        found.append(verdicts.higher(
            by_size[by_size.maze_size == "small"], by_size[by_size.maze_size == "large"],
            "larger mazes are harder (Fig. 5)", paper="lower on larger mazes",
            names=("small", "large"), pooled=pooled))
    found += [verdicts.forms_agree(by_size[by_size.maze_size == s], f"{s} mazes, one seed",
                                   margin=FORMS_MARGIN, pooled=pooled)
              for s in sorted(sizes - {maze_size})]
    if dilated is not None and len(dilated) and plain is not None and len(plain):
        agree = verdicts.forms_agree(dilated, "dilated, small mazes, one seed",
                                     margin=FORMS_MARGIN, pooled=pooled)
        undilated = verdicts.forms_agree(plain, "", margin=FORMS_MARGIN, pooled=pooled)
        found += [verdicts.higher(dilated, plain, "dilated filters solve more mazes (Table 2)",
                                  paper="better at every depth (Table 2 vs Fig. 5)",
                                  names=("dilated", "undilated"), pooled=pooled),
                  dataclasses.replace(agree, why="; ".join(x for x in (
                      agree.why, f"the same seed undilated: {undilated.ours} "
                                 f"({undilated.verdict})") if x))]
    return found


def batchnorm(runs: pd.DataFrame, *, n_test: int, per_iteration: float, one_for_all: float,
              growth: float, iterations: int, seed: int, why: str, reported_gap: float,
              statistics: dict | None = None) -> list:
    """Notebook 04: ours ≈ ResNet-18 (margin ``resnet18``); BatchNorm statistics differ by
    iteration (the accuracy one net loses with iteration 1's statistics everywhere, an
    interval over the test set's sampling only); one BatchNorm per iteration above the same
    net *trained* with one shared BatchNorm (runs with ``shared_norm``; paired by seed), not
    tested when there are none; and separate statistics restoring that net: ``statistics``
    = test accuracies of seed ``seed``'s shared-BatchNorm net {"as trained", "one set" (its
    statistics estimated afresh, one set for every iteration), "per iteration" (estimated
    the same way, one set per iteration)}, judged per iteration against one set (so that
    estimating afresh alone is not counted), one net; not tested when None."""
    shared = (runs["shared_norm"].astype(bool) if "shared_norm" in runs
              else pd.Series(False, index=runs.index))
    ours, one_set = runs[(runs.family == "resnet_bn") & ~shared], runs[shared]
    drop = findings.gap(pd.Series([per_iteration]), pd.Series([one_for_all]),
                        shared_test=n_test, pooled=findings.TEST_SET_ONLY)
    needs = ("one BatchNorm per iteration works, one shared BatchNorm (scored with its one set "
             "of running statistics) does not (3.1)")
    found = [
        verdicts.same_accuracy(
            ours, runs[runs.family == "resnet18"],
            "recurrent BN ResNet ≈ ResNet-18 in accuracy", margin=paper.MARGINS["resnet18"][0],
            paper=f"gap {reported_gap:+.2f} points", names=("ours", "ResNet-18"),
            shared_test=n_test, why=why),
        Finding("BatchNorm statistics differ by iteration (3.1)", "one BatchNorm per iteration",
                f"running variance changes by up to {growth:.1f}x over {iterations} iterations; "
                f"iteration 1's statistics everywhere: {drop.text(' pt')} lost (seed {seed})",
                findings.direction(drop), ONE_NET),
        verdicts.higher(ours, one_set, needs, paper="a distinct BatchNorm for each iteration",
                        names=("one BatchNorm per iteration", "one shared, trained so"),
                        shared_test=n_test) if len(one_set) else
        Finding(needs, "needed", "not trained here", findings.NOT_HERE,
                "needs a net trained with one shared BatchNorm beside it")]
    return found + [_separate_statistics(statistics, seed=seed, n_test=n_test)]


def parameter_ratio(sizes: pd.DataFrame) -> Fact:
    """Notebook 04's fact by construction: ours (first row of ``sizes``,
    :func:`recur.experiments.model_sizes`) against ResNet-18 (second row), parameters at the
    paper's widths beside the paper's ratio (Table 1), and at the trained widths."""
    paper_width, trained = sizes["paper width"], sizes["trained width"]
    return verdicts.parameter_ratio(
        int(paper_width.iloc[0]), int(paper_width.iloc[1]),
        paper.TABLE1_PARAMETERS["ours"] / paper.TABLE1_PARAMETERS["resnet18"],
        trained=trained.iloc[0] / trained.iloc[1])


def _separate_statistics(statistics: dict | None, *, seed: int, n_test: int) -> Finding:
    """The claim of 3.1's title, on one net trained with one shared BatchNorm
    (:func:`batchnorm`'s ``statistics``)."""
    title = f"separate statistics restore the net trained with one shared BatchNorm (seed {seed})"
    section = "3.1's title: separate statistics for each recurrence"
    if statistics is None:
        return Finding(title, section, "not measured here", findings.NOT_HERE,
                       "needs a net trained with one shared BatchNorm")
    gain = findings.gap(pd.Series([statistics["per iteration"]]),
                        pd.Series([statistics["one set"]]), shared_test=n_test,
                        pooled=findings.TEST_SET_ONLY)
    return Finding(
        title, section,
        f"test accuracy {statistics['as trained']:.2f}% as trained; with its statistics "
        f"estimated afresh on its training images, {statistics['one set']:.2f}% as one set for "
        f"every iteration and {statistics['per iteration']:.2f}% as one set per iteration (its "
        f"learned scale and shift still shared); per iteration − one set: {gain.text(' pt')}",
        findings.direction(gain),
        f"{ONE_NET}; that the learned scale and shift can stay shared is this run's finding, "
        f"beyond the paper's text (a distinct BatchNorm layer per iteration)")


def features(*, reuse: pd.DataFrame, probes: pd.DataFrame, n_test: int, seed: int,
             cka: dict, pictures: dict) -> list:
    """Notebook 05: filters are reused across iterations (``reuse``: one row per seed, the
    mean reuse ratio of the trained net and of an untrained one drawn from that seed, columns
    seed, trained, untrained; paired by seed), probes of the two forms agree per module
    (margin ``probes``; paired by the ``seed`` column when ``probes`` has one, else all are
    seed ``seed``), same-depth nets are the most similar by CKA (:func:`_cka`) and a
    filter's preferred input changes with depth in both forms (:func:`_pictures`)."""
    by_seed = reuse.set_index("seed")
    reuse_gap = findings.gap(by_seed.trained, by_seed.untrained)
    pooled = probes[probes.features == "pooled"].rename(columns={"module": "depth"})
    if "seed" not in pooled:
        pooled = pooled.assign(seed=seed)
    return [
        Finding("recurrent nets reuse their filters across iterations (Fig. 6)",
                "most ratios well above 0; an untrained net as control (Fig. 9)",
                f"mean ratio {by_seed.trained.mean():.2f} trained against "
                f"{by_seed.untrained.mean():.2f} untrained; trained − untrained "
                + reuse_gap.text(), findings.direction(reuse_gap),
                f"{len(by_seed)} seed(s), each a trained net and an untrained one"),
        verdicts.forms_agree(pooled, "pooled linear probes (Table 6)",
                             margin=paper.MARGINS["probes"][0], shared_test=n_test,
                             where="module"),
        _cka(cka), _pictures(pictures)]


def _cka(cka: dict) -> Finding:
    """Same-depth nets are the most similar by CKA, over the seed pairings in ``cka``:
    pairing -> {:data:`SAME_DEPTH`: CKA, :data:`SHALLOWER`: CKA, other nets' CKA}, each
    pairing two trained nets compared with one reference net (an 8-layer feed-forward
    one); the why names the range of every value given."""
    every = [v for p in cka.values() for v in pd.Series(p, dtype=float).dropna()]
    above = sum(v[SAME_DEPTH] > v[SHALLOWER] for v in cka.values())
    gap = findings.gap(pd.Series({p: v[SAME_DEPTH] for p, v in cka.items()}),
                       pd.Series({p: v[SHALLOWER] for p, v in cka.items()}))
    return Finding(
        "same-depth nets are the most similar by CKA (5.1)",
        f"{paper.CKA[SAME_DEPTH]} (recurrent 8) > {paper.CKA[SHALLOWER]} (feed-forward 4)",
        "last module, CKA with feed-forward 8: recurrent 8 − feed-forward 4 over the seed "
        "pairings: " + gap.text(),
        findings.direction(gap),
        f"{len(cka)} seed pairings, recurrent 8 above feed-forward 4 in {above} of them"
        + (f"; every CKA in them from {min(every):.2f} to {max(every):.2f}" if every else ""))


def _pictures(pictures: dict) -> Finding:
    """A filter's preferred input changes with depth in both forms: per filter, the mean
    |correlation| of its images from two starts of the optimisation (the optimisation's own
    noise) above that of its images at consecutive depths, paired by filter (a filter's
    pictures are not independent of each other, the filters are).  ``pictures``:
    (recurrent, channel) -> :func:`recur.feature_study.filter_pictures`."""
    changes = {FORMS[rec]: findings.gap(
        _per_filter({f: p["starts"] for (r, f), p in pictures.items() if r == rec}),
        _per_filter({f: p["depths"] for (r, f), p in pictures.items() if r == rec}))
        for rec in sorted({r for r, _ in pictures})}
    verdict, why = findings.combine({form: findings.direction(g) for form, g in changes.items()})
    return Finding("a filter's preferred input changes with iteration (recurrent) as with depth "
                   "(feed-forward) (Figs. 7-8)", "pictures change with depth",
                   "per filter, mean |correlation| between two starts minus between consecutive "
                   "depths: " + "; ".join(f"{form} {g.text()} filters"
                                          for form, g in changes.items()),
                   verdict, why + ("; more filters would decide it" if verdict ==
                                   findings.INCONCLUSIVE else ""))


def _per_filter(values: dict) -> pd.Series:
    """Each filter's mean similarity (silent images, NaN, left out), indexed by filter."""
    return pd.Series({f: pd.Series(v, dtype=float).mean() for f, v in values.items()}).dropna()
