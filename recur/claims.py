"""The paper's claims, notebook by notebook, each decided by :mod:`recur.findings`' rule.

A notebook gathers its runs and calls one function here for its "What we found" table,
so that which claims are tested, against which margin and on which runs is library code
with tests, never a notebook's own logic.  Margins come from :data:`recur.paper.MARGINS`.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from recur import findings, paper, provenance, results, verdicts
from recur.findings import Fact, Finding
from recur.forms import FORMS

FORMS_MARGIN = paper.MARGINS["forms"][0]
ONE_NET = "one net: the interval covers the test set's sampling only"
#: The nets a CKA pairing compares with its reference (an 8-layer feed-forward net), named as
#: the paper's numbers are (:data:`recur.paper.CKA`): the same depth recurrent, and shallower.
SAME_DEPTH, SHALLOWER = "same depth, recurrent", "4-layer feed-forward"


def at_scale(found, runs: pd.DataFrame, note: str = "") -> list:
    """``found`` with the scale ``runs`` decided them at (:func:`recur.results.scale_of`)."""
    scale = results.scale_of(runs, note=note)
    return [dataclasses.replace(f, scale=scale) for f in found]


def classification(runs: pd.DataFrame, dataset: str) -> list[Finding]:
    """Per family: the two forms agree at every depth, change the same way with depth, and
    effective depth rather than parameter count sets the accuracy.  Each comparison is
    checked to be of one environment first (:func:`one_environment`)."""
    one_environment(runs)
    return [claim for family, mine in runs.groupby("family", sort=False) for claim in at_scale((
        verdicts.forms_agree(mine, f"{family} on {dataset}", margin=FORMS_MARGIN),
        verdicts.same_shape(mine, family, margin=FORMS_MARGIN),
        verdicts.depth_not_parameters(mine, family)), mine)]


#: whose claims notebook 06 tests (the paper has no transformer), and what they report for
#: each of :func:`looped`'s rows
LOOPED_SOURCE = "Saunshi et al. 2025 (not this paper)"
LOOPED_SAID = ("accuracy grows with the loops, as with depth",
               "a block looped L times nearly matches L distinct blocks",
               "accuracy follows effective depth, not parameter count")


def looped(runs: pd.DataFrame, task: str) -> list[Finding]:
    """Notebook 06 (beyond the paper): accuracy rises with effective depth in both forms,
    the looped (recurrent) transformer ≈ the deep one at every depth, and nearer the deep
    net of its effective depth than the one of its parameters."""
    one_environment(runs)
    found = at_scale((verdicts.rises_with_depth(runs, task),
                      verdicts.forms_agree(runs, task, margin=FORMS_MARGIN),
                      verdicts.depth_not_parameters(runs, task)), runs)
    # not the paper's claims: the column says whose they are, in their words
    return [dataclasses.replace(f, paper=f"{LOOPED_SOURCE}: {said}")
            for f, said in zip(found, LOOPED_SAID)]


#: what a comparison's runs must share: trained with the same precision, torch and training
#: code (the files that compute a run's numbers, at the commit each run names)
ENVIRONMENT = ("bf16", "torch", "training code")


def one_environment(*tables: pd.DataFrame) -> dict:
    """The one environment every run of ``tables`` was trained in (:data:`ENVIRONMENT`,
    from the records' provenance; the training code from git, by
    :func:`recur.provenance.training_code`); a ValueError naming runs of each kind when
    they mix."""
    runs = pd.concat([t for t in tables if len(t)], ignore_index=True) if any(
        len(t) for t in tables) else pd.DataFrame()
    if runs.empty or not {"bf16", "torch", "git_commit"} <= set(runs):
        return {}
    code = {c: provenance.training_code(c) for c in runs.git_commit.dropna().unique()}
    runs = runs.assign(**{"training code": runs.git_commit.map(code)})
    kinds = runs.groupby(list(ENVIRONMENT), dropna=False).name.apply(list)
    if len(kinds) > 1:
        raise ValueError("these runs were trained in different environments (bf16, torch, "
                         "training code) and are not compared: " + "; ".join(
                             f"{key}: {len(names)} run(s), e.g. {names[0]}"
                             for key, names in kinds.items())
                         + "; retrain them in one (delete their records and run again)")
    return dict(zip(ENVIRONMENT, kinds.index[0]))


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
    spans the maze; the forms agree; nearer the feed-forward net of its depth than of its
    parameters; and from the
    studies: larger mazes are harder, the forms agree on other sizes and dilated, dilated
    filters solve more.  Every row by the same rule, on its own runs' seeds."""
    one_environment(runs, *(t for t in (by_size, plain, dilated) if t is not None))
    found = [verdicts.rises_with_depth(runs, f"{maze_size} mazes"),
             verdicts.forms_agree(runs, f"{maze_size} mazes", margin=FORMS_MARGIN)]
    past = verdicts.rises_with_depth(runs[runs.depth >= span], "past the depth whose field "
                                                               f"spans the maze ({span}; 4.3)")
    if span <= runs.depth.min():  # every depth trained: the same comparison as the first row
        past = dataclasses.replace(past, why="every depth here is past it: the same runs as "
                                             "the first row, not a second result")
    found = at_scale(found + [past, verdicts.depth_not_parameters(runs, f"{maze_size} mazes")],
                     runs)
    sizes = set(by_size.maze_size) if by_size is not None and len(by_size) else set()
    order = [s for s in ("small", "medium", "large") if s in sizes]
    for a, b in zip(order, order[1:]):
        both = by_size[by_size.maze_size.isin([a, b])]
        found += at_scale([verdicts.higher(
            by_size[by_size.maze_size == a], by_size[by_size.maze_size == b],
            f"larger mazes are harder: {a} vs {b} (Fig. 5)", paper="lower on larger mazes",
            names=(a, b))], both)
    for size in order:
        if size != maze_size:
            mine = by_size[by_size.maze_size == size]
            found += at_scale([verdicts.forms_agree(mine, f"{size} mazes",
                                                    margin=FORMS_MARGIN)], mine)
    if dilated is not None and len(dilated) and plain is not None and len(plain):
        found += at_scale([verdicts.higher(dilated, plain, "dilated filters solve more mazes "
                                           "(Table 2)", paper="better at every depth (Table 2 "
                                           "vs Fig. 5)", names=("dilated", "undilated"))],
                          pd.concat([dilated, plain]))
        found += at_scale([verdicts.forms_agree(dilated, "dilated, small mazes",
                                                margin=FORMS_MARGIN)], dilated)
    return found


def batchnorm(runs: pd.DataFrame, *, per_iteration, one_for_all,
              growth: float, iterations: int, seed: int, why: str, reported_gap: float,
              statistics: dict | None = None) -> list:
    """Notebook 04: ours ≈ ResNet-18 (margin ``resnet18``); BatchNorm statistics differ by
    iteration (the accuracy one net loses with iteration 1's statistics everywhere:
    ``per_iteration`` and ``one_for_all`` say which test images it gets right each way,
    compared image by image, an interval over the test set's sampling only); one BatchNorm
    per iteration above the same net *trained* with one shared BatchNorm (runs with
    ``shared_norm``; paired by seed), not tested when there are none; and separate
    statistics restoring that net: ``statistics`` = which test images are right for seed
    ``seed``'s shared-BatchNorm net {"as trained", "one set" (its
    statistics estimated afresh, one set for every iteration), "per iteration" (estimated
    the same way, one set per iteration)}, judged per iteration against one set (so that
    estimating afresh alone is not counted), one net; not tested when None."""
    shared = (runs["shared_norm"].astype(bool) if "shared_norm" in runs
              else pd.Series(False, index=runs.index))
    ours, one_set = runs[(runs.family == "resnet_bn") & ~shared], runs[shared]
    one_environment(runs)
    drop = findings.one_net(per_iteration, one_for_all)
    needs = ("one BatchNorm per iteration works, one shared BatchNorm (scored with its one set "
             "of running statistics) does not (3.1)")
    found = [
        dataclasses.replace(verdicts.same_accuracy(
            ours, runs[runs.family == "resnet18"],
            "recurrent BN ResNet ≈ ResNet-18 in accuracy", margin=paper.MARGINS["resnet18"][0],
            paper=f"gap {reported_gap:+.2f} points", names=("ours", "ResNet-18"), why=why),
            paper_value=reported_gap),
        Finding(f"BatchNorm statistics differ by iteration (3.1; seed {seed}, one net)",
                "one BatchNorm per iteration",
                f"running variance changes by up to {growth:.1f}x over {iterations} iterations; "
                f"iteration 1's statistics everywhere: {drop.text(' pt')} lost (seed {seed})",
                findings.direction(drop), ONE_NET,
                findings.measured({"own − iteration 1's statistics": drop}, None)),
        verdicts.higher(ours, one_set, needs, paper="a distinct BatchNorm for each iteration",
                        names=("one BatchNorm per iteration", "one shared, trained so"))
        if len(one_set) else
        Finding(needs, "needed", "not trained here", findings.NOT_HERE,
                "needs a net trained with one shared BatchNorm beside it")]
    found.append(_separate_statistics(statistics, seed=seed))
    mine = {"ours": ours[ours.seed == seed], "shared": one_set[one_set.seed == seed]}
    scales = [(runs[~shared], ""), (mine["ours"], "one net"),
              (runs[runs.family == "resnet_bn"], ""), (mine["shared"], "one net")]
    return [at_scale([f], rows, note)[0] for f, (rows, note) in zip(found, scales)]


def parameter_ratio(sizes: pd.DataFrame) -> Fact:
    """Notebook 04's fact by construction: ours (first row of ``sizes``,
    :func:`recur.experiments.model_sizes`) against ResNet-18 (second row), parameters at the
    paper's widths beside the paper's ratio (Table 1), and at the trained widths."""
    paper_width, trained = sizes["paper width"], sizes["trained width"]
    return verdicts.parameter_ratio(
        int(paper_width.iloc[0]), int(paper_width.iloc[1]),
        paper.TABLE1_PARAMETERS["ours"] / paper.TABLE1_PARAMETERS["resnet18"],
        trained=trained.iloc[0] / trained.iloc[1])


def _separate_statistics(statistics: dict | None, *, seed: int) -> Finding:
    """The claim of 3.1's title, on one net trained with one shared BatchNorm
    (:func:`batchnorm`'s ``statistics``)."""
    title = f"separate statistics restore the net trained with one shared BatchNorm (seed {seed})"
    section = "3.1's title: separate statistics for each recurrence"
    if statistics is None:
        return Finding(title, section, "not measured here", findings.NOT_HERE,
                       "needs a net trained with one shared BatchNorm")
    gain = findings.one_net(statistics["per iteration"], statistics["one set"])
    acc = {k: 100 * float(np.mean(v)) for k, v in statistics.items()}
    return Finding(
        title, section,
        f"test accuracy {acc['as trained']:.2f}% as trained; with its statistics "
        f"estimated afresh on its training images, {acc['one set']:.2f}% as one set for "
        f"every iteration and {acc['per iteration']:.2f}% as one set per iteration (its "
        f"learned scale and shift still shared); per iteration − one set: {gain.text(' pt')}",
        findings.direction(gain),
        f"{ONE_NET}; that the learned scale and shift can stay shared is this run's finding, "
        f"beyond the paper's text (a distinct BatchNorm layer per iteration)",
        findings.measured({"per iteration − one set": gain}, None))


def features(*, reuse: pd.DataFrame, probes: pd.DataFrame, seed: int, cka: dict,
             pictures: dict, scale: str = "") -> list:
    """Notebook 05: filters are reused across iterations (``reuse``: one row per seed, the
    mean reuse ratio of the trained net and of an untrained one drawn from that seed, columns
    seed, trained, untrained; paired by seed), probes of the two forms agree per module
    (margin ``probes``; paired by the ``seed`` column when ``probes`` has one, else all are
    seed ``seed``; paired by image, :func:`recur.feature_study.probe_table`), same-depth nets
    are the most similar by CKA at every layer compared (:func:`_cka`) and a
    filter's preferred input changes with depth in both forms (:func:`_pictures`).
    ``scale``: at what scale the notebook decided them, for every row."""
    by_seed = reuse.set_index("seed")
    reuse_gap = findings.gap(by_seed.trained, by_seed.untrained)
    probes = probes.rename(columns={"module": "depth"})
    if "seed" not in probes:
        probes = probes.assign(seed=seed)
    pooled, full = probes[probes.features == "pooled"], probes[probes.features == "full"]
    found = [
        Finding("recurrent nets reuse their filters across iterations (Fig. 6)",
                "most ratios well above 0; an untrained net as control (Fig. 9)",
                f"mean ratio {by_seed.trained.mean():.2f} trained against "
                f"{by_seed.untrained.mean():.2f} untrained; trained − untrained "
                + reuse_gap.text(), findings.direction(reuse_gap),
                f"{len(by_seed)} seed(s), each a trained net and an untrained one; every seed "
                f"is measured on the same images, whose sampling is not in this interval",
                findings.measured({"trained − untrained": reuse_gap}, None), unit="ratio"),
        verdicts.forms_agree(pooled, "pooled linear probes (Table 6)",
                             margin=paper.MARGINS["probes"][0], where="module"),
        _full_probes(full), _cka(cka), _pictures(pictures)]
    return [dataclasses.replace(f, scale=scale) for f in found]


def _full_probes(full: pd.DataFrame) -> Finding:
    """Table 3: probes on every number of a module's features agree between the forms;
    the why says how far the training accuracy is saturated (with more numbers per image
    than training images, a linear probe can fit any labelling)."""
    found = verdicts.forms_agree(full, "full-feature linear probes (Table 3)",
                                 margin=paper.MARGINS["probes"][0], where="module")
    if full.empty or "train_acc" not in full:
        return found
    fit = full.train_acc
    return dataclasses.replace(found, why="; ".join(x for x in (found.why, (
        f"training accuracy of these probes {fit.min():.1f}–{fit.max():.1f}%: the features "
        f"have {int(full.dims.min()):,}–{int(full.dims.max()):,} numbers per image, so 100% "
        f"on the training images says nothing; the test accuracies carry the comparison")
        if "dims" in full else "") if x))


def _cka(cka: dict) -> Finding:
    """Same-depth nets are the most similar by CKA, at every layer of ``cka`` (layer ->
    pairing -> {:data:`SAME_DEPTH`: CKA, :data:`SHALLOWER`: CKA, other nets' CKA}), each
    pairing two trained nets of other seeds compared with one reference net (an 8-layer
    feed-forward one): per layer, recurrent 8 − feed-forward 4 over the pairings, every
    layer decided (none chosen after looking); the why names the range of every value."""
    samples = {layer: findings.Sample(pd.Series({p: v[SAME_DEPTH] - v[SHALLOWER]
                                                 for p, v in pairings.items()}, dtype=float))
               for layer, pairings in cka.items()}
    found = findings.gaps(samples)
    verdict, why = findings.decide(found, None)
    every = [v for pairings in cka.values() for p in pairings.values()
             for v in pd.Series(p, dtype=float).dropna()]
    above = {layer: sum(v[SAME_DEPTH] > v[SHALLOWER] for v in p.values())
             for layer, p in cka.items()}
    return Finding(
        "same-depth nets are the most similar by CKA (5.1)",
        f"{paper.CKA[SAME_DEPTH]} (recurrent 8) > {paper.CKA[SHALLOWER]} (feed-forward 4)",
        "CKA with feed-forward 8, recurrent 8 − feed-forward 4 over the seed pairings: "
        + "; ".join(f"{layer}: {g.text()}" for layer, g in found.items()),
        verdict, why + "; "
        + ", ".join(f"{layer}: recurrent 8 above in {n} of {len(cka[layer])} pairings"
                    for layer, n in above.items())
        + (f"; every CKA in them from {min(every):.2f} to {max(every):.2f}" if every else "")
        + "; every pairing is measured on the same images, whose sampling is not in these "
          "intervals",
        findings.measured(found, None), unit="CKA")


def _pictures(pictures: dict) -> Finding:
    """A filter's preferred input changes with depth in both forms: per filter, the mean
    |correlation| of its images from two starts of the optimisation (the optimisation's own
    noise) above that of its images at consecutive depths, paired by filter (a filter's
    pictures are not independent of each other, the filters are: they play the seeds'
    part, each form with its own filters' spread).  ``pictures``: (recurrent, channel) ->
    :func:`recur.feature_study.filter_pictures`."""
    samples = {}
    for rec in sorted({r for r, _ in pictures}):
        starts = _per_filter({f: p["starts"] for (r, f), p in pictures.items() if r == rec})
        depths = _per_filter({f: p["depths"] for (r, f), p in pictures.items() if r == rec})
        both = starts.index.intersection(depths.index)
        samples[FORMS[rec]] = findings.Sample((starts[both] - depths[both]).astype(float))
    found = findings.gaps(samples)
    verdict, why = findings.decide(found, None)
    return Finding("a filter's preferred input changes with iteration (recurrent) as with depth "
                   "(feed-forward) (Figs. 7-8)", "pictures change with depth",
                   "per filter, mean |correlation| between two starts minus between consecutive "
                   "depths: " + "; ".join(f"{form} {g.text()} filters"
                                          for form, g in found.items()),
                   verdict, "; ".join(x for x in (why, "here the replicates are filters, not seeds")
                                      if x), findings.measured(found, None), unit="correlation")


def _per_filter(values: dict) -> pd.Series:
    """Each filter's mean similarity (silent images, NaN, left out), indexed by filter."""
    return pd.Series({f: pd.Series(v, dtype=float).mean() for f, v in values.items()}).dropna()
