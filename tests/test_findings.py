"""recur.findings: the decision rule checked against scipy.stats, hand computations and a
brute-force per-image check; and the committed runs the rule is applied to."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recur import claims, display, findings, paper, report, results, verdicts
from recur.findings import INCONCLUSIVE, NOT_HERE, NOT_REPRODUCED, REPRODUCED
from recur.provenance import ROOT

#: each one-sided test's level, read from the one constant: changing the confidence level
#: changes no test
ALPHA = (1 - findings.CONFIDENCE) / 2
UPPER = 1 - ALPHA


def _runs(rows):
    return pd.DataFrame(rows, columns=["recurrent", "depth", "seed", "test_acc"])


A = pd.Series([91.2, 88.5, 90.1, 92.4, 89.0], index=range(5))
B = pd.Series([90.0, 88.9, 89.2, 91.1, 88.1], index=range(5))


def _scored(correct, test_set, seed, recurrent=True, depth=8):
    """A run row as a record gives it: its accuracy and which test images it got right."""
    correct = np.asarray(correct, dtype=bool)
    return dict(recurrent=recurrent, depth=depth, seed=seed, test_acc=100 * correct.mean(),
                test_correct=results.pack(correct), test_images=len(correct), test_set=test_set)


def test_packed_correctness_round_trips():
    rng = np.random.default_rng(0)
    for n in (1, 7, 8, 9, 360, 10_000):
        bits = rng.random(n) < 0.5
        assert np.array_equal(results.unpack(results.pack(bits), n), bits)
    with pytest.raises(ValueError, match="do not hold"):
        results.unpack(results.pack([True] * 9), 30)


def test_one_group_paired_by_seed_is_scipys_paired_t():
    g = findings.gap(A, B)
    ci = stats.ttest_rel(A, B).confidence_interval(confidence_level=findings.CONFIDENCE)
    assert (g.low, g.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert g.df == 4 and g.n == 5 and g.estimate == pytest.approx((A - B).mean())
    # seeds on one side only are left out, not paired with another seed
    assert findings.gap(A, B.iloc[:3]).n == 3


def test_each_comparison_has_the_spread_of_its_own_seeds():
    """One policy: a group's interval is the paired t over its own per-seed gaps (scipy),
    never a spread borrowed or pooled from another group; one seed: no interval."""
    per = {"depth 8": pd.Series([0.5, 1.5, 1.0]), "depth 12": pd.Series([-2.0, 2.0, 5.0, 1.0]),
           "depth 16": pd.Series([3.0])}
    found = findings.gaps({k: findings.Sample(v) for k, v in per.items()})
    for k in ("depth 8", "depth 12"):
        v, g = per[k], found[k]
        ci = stats.ttest_1samp(v, 0).confidence_interval(confidence_level=findings.CONFIDENCE)
        assert (g.low, g.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
        assert g.df == len(v) - 1 and g.sd == pytest.approx(v.std(ddof=1))
    alone = found["depth 16"]
    assert not alone.known and alone.half_width == math.inf
    assert findings.equivalence(alone, 5.0) == INCONCLUSIVE
    assert "spread between seeds is not measured" in alone.text()
    verdict, why = findings.decide_each(found, 5.0)
    assert verdict == INCONCLUSIVE and "one seed at depth 16" in why


def test_one_net_scored_twice_is_the_paired_t_over_images():
    """Brute force: the interval of one net scored two ways on the same images is the paired
    t interval over the per-image differences (scipy), not two independent binomials."""
    rng = np.random.default_rng(2)
    a = rng.random(360) < 0.9
    b = a.copy()
    b[rng.choice(360, 25, replace=False)] ^= True  # the two ways disagree on 25 images
    g = findings.one_net(a, b)
    ci = stats.ttest_rel(100.0 * a, 100.0 * b).confidence_interval(
        confidence_level=findings.CONFIDENCE)
    assert (g.low, g.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    independent = math.sqrt(a.mean() * (1 - a.mean()) / 360 + b.mean() * (1 - b.mean()) / 360)
    assert g.se < 100 * independent  # the errors on shared images are correlated


def test_a_shared_test_set_enters_once_per_image_with_the_seeds_degrees_of_freedom():
    """Three seeds scored on one shared test set: the images' part is the variance over
    images of the per-image gap averaged over seeds, the degrees of freedom the seeds'."""
    rng = np.random.default_rng(3)
    n = 400
    hard = rng.random(n) < 0.2  # images both forms tend to miss: correlated errors
    rows, rec_hits, ff_hits = [], [], []
    for s in range(3):
        ff = ~hard & (rng.random(n) < 0.95)
        rec = ff.copy()
        rec[rng.choice(n, 12, replace=False)] ^= True
        rows += [_scored(rec, "shared", s, True), _scored(ff, "shared", s, False)]
        rec_hits.append(rec)
        ff_hits.append(ff)
    runs = pd.DataFrame(rows)
    s = findings.sample([(1, runs[runs.recurrent]), (-1, runs[~runs.recurrent])])
    per_image = 100 * (np.mean(rec_hits, 0) - np.mean(ff_hits, 0))
    assert s.image_var == pytest.approx(np.var(per_image, ddof=1) / n) and s.images == n
    per_seed = [100 * (r.mean() - f.mean()) for r, f in zip(rec_hits, ff_hits)]
    assert list(s.per_seed) == pytest.approx(per_seed)
    g = findings.gaps({"d": s})["d"]
    assert g.df == 2  # never more than the seeds give
    t = stats.t.ppf(UPPER, 2)
    half = t * math.sqrt(np.var(per_seed, ddof=1) / 3 + s.image_var)
    assert (g.low, g.high) == pytest.approx((np.mean(per_seed) - half, np.mean(per_seed) + half))
    # each seed its own test set: the sampling is inside the seeds' spread, nothing added
    own = runs.assign(test_set=[f"seed {s}" for s in runs.seed])
    assert findings.sample([(1, own[own.recurrent]), (-1, own[~own.recurrent])]).image_var == 0


def test_a_claim_over_depths_fails_only_at_the_family_wise_level():
    """Seven depths: a depth whose 90% interval lies beyond the margin but whose Bonferroni
    interval (1 − 0.10/7) does not is inconclusive, not a failure of the claim."""
    margin, k = 1.0, 7
    noise = pd.Series([-0.6, 0.0, 0.6])  # per-seed deviations: sd 0.6, 2 df per depth
    sd, df = 0.6, 2  # each depth's own three seeds
    se = sd / math.sqrt(3)
    t90, tfw = stats.t.ppf(UPPER, df), stats.t.ppf(1 - ALPHA / k, df)
    edge = margin + (t90 + tfw) / 2 * se  # beyond ±δ at 90%, not at the family-wise level
    per = {f"depth {d}": noise + (edge if d == 9 else 0.0) for d in range(3, 10)}
    found = findings.gaps({n: findings.Sample(v) for n, v in per.items()})
    assert found["depth 9"].low > margin  # what the old rule called not reproduced
    assert found["depth 9"].interval(1 - ALPHA * 2 / k)[0] < margin
    verdict, why = findings.decide_each(found, margin)
    assert verdict == INCONCLUSIVE and "depth 9" in why
    far = {**per, "depth 9": noise + margin + 1.1 * tfw * se}
    found = findings.gaps({n: findings.Sample(v) for n, v in far.items()})
    verdict, why = findings.decide_each(found, margin)
    assert verdict == NOT_REPRODUCED and "Bonferroni over 7" in why
    low = found["depth 9"].estimate - tfw * se
    assert f"[{low:+.2f}, " in why
    # reproduced needs every depth inside at 90% (intersection-union: no correction)
    inside = findings.gaps({n: findings.Sample(noise * 0.1) for n in per})
    assert findings.decide_each(inside, margin)[0] == REPRODUCED


def test_seeds_to_decide_only_from_a_spread_with_enough_degrees_of_freedom():
    two = findings.gap(pd.Series([1.0, 1.6]), pd.Series([0.0, 0.0]))  # 1 df
    assert findings.spread_bound(two) is None and findings.seeds_to_decide(two, 1.0) is None
    verdict, why = findings.decide_each({"depth 12": two}, 1.0)
    assert verdict == INCONCLUSIVE and "1 degree(s) of freedom" in why
    assert "not known well enough" in why
    g = findings.gap(A, B)  # 4 df
    bound = g.sd * math.sqrt(4 / stats.chi2.ppf(ALPHA, 4))  # the spread's upper bound
    assert findings.spread_bound(g) == pytest.approx(bound)
    n = findings.seeds_to_decide(g, 1.5)
    t = lambda k: stats.t.ppf(UPPER, k - 1)  # noqa: E731

    def inside(k):  # by hand: the interval at the bound inside ±1.5
        half = t(k) * bound / math.sqrt(k)
        return -1.5 < g.estimate - half and g.estimate + half < 1.5

    assert inside(n) and not inside(n - 1)
    edge = findings.Gap(1.5, 5, 0.5, 4)  # a gap at the margin is never shown inside it
    assert findings.seeds_to_decide(edge, 1.5) is None


def test_forms_agree_per_depth_and_one_module_depths_left_out():
    rng = np.random.default_rng(0)
    rows = [(r, d, s, 70 + d + rng.normal(0, 0.2) + (4 if r and d == 16 else 0))
            for r in (False, True) for d in (8, 12, 16) for s in range(6)]
    runs = _runs(rows)
    runs["iterations"] = [(d - 4) // 4 if r else None for r, d in zip(runs.recurrent, runs.depth)]
    f = verdicts.forms_agree(runs, "mazes", margin=1.0)
    assert "depth 8" not in f.ours  # one module: the same net in both forms
    assert f.verdict == NOT_REPRODUCED and "not reproduced at depth 16" in f.why
    assert "each comparison's spread from its own seeds (5 df)" in f.why
    near = verdicts.forms_agree(runs[runs.depth < 16], "mazes", margin=1.0)
    assert near.verdict == REPRODUCED


def test_rises_with_depth_and_higher():
    runs = _runs([(r, d, s, 40 + d * 2 + s + 0.4 * (s * d % 5)) for r in (False, True)
                  for d in (8, 20) for s in range(3)])
    assert verdicts.rises_with_depth(runs, "mazes").verdict == REPRODUCED
    flat = runs.assign(test_acc=50 + runs.seed * 3.0 + 0.3 * ((runs.seed * runs.depth) % 3))
    assert verdicts.rises_with_depth(flat, "mazes").verdict == INCONCLUSIVE
    falls = runs.assign(test_acc=100 - runs.depth * 2 - runs.seed * runs.depth / 40)
    assert verdicts.rises_with_depth(falls, "mazes").verdict == NOT_REPRODUCED
    worse = runs.assign(test_acc=runs.test_acc - 10 - runs.seed * 0.5)
    f = verdicts.higher(runs, worse, "small beats large", paper="lower on large",
                        names=("small", "large"))
    assert f.verdict == REPRODUCED and "small − large" in f.ours


def test_same_shape_uses_every_depth_and_pairs_images_where_shared():
    """Curves that meet at both ends but zigzag in opposite directions between do not
    share their shape."""
    up_down = {8: 0, 12: 6, 16: 0, 20: 0}
    rows = [(r, d, s, 80 + (up_down[d] if r else -up_down[d]) + 0.1 * s
             + (0.2 * ((s + d) % 3) if r else 0))
            for r in (False, True) for d in up_down for s in range(4)]
    f = verdicts.same_shape(_runs(rows), "convnet", margin=1.0)
    assert f.verdict == NOT_REPRODUCED and "8 → 12" in f.why
    # one shared test set: the step's per-image contrast of four runs, once
    rng = np.random.default_rng(5)
    hits = {(r, d, s): rng.random(200) < 0.8 for r in (False, True) for d in (8, 12)
            for s in range(2)}
    runs = pd.DataFrame([_scored(h, "one", s, r, d) for (r, d, s), h in hits.items()])
    s = findings.sample([(1, runs[runs.recurrent & (runs.depth == 12)]),
                         (-1, runs[runs.recurrent & (runs.depth == 8)]),
                         (-1, runs[~runs.recurrent & (runs.depth == 12)]),
                         (1, runs[~runs.recurrent & (runs.depth == 8)])])
    per_image = 100 * np.mean([hits[True, 12, k] * 1.0 - hits[True, 8, k] - hits[False, 12, k]
                               + hits[False, 8, k] for k in range(2)], axis=0)
    assert s.image_var == pytest.approx(np.var(per_image, ddof=1) / 200)


def test_effective_depth_not_parameter_count():
    """Per seed, |recurrent − feed-forward with its parameters| − |recurrent − feed-forward
    of its depth| at the deepest depth, by hand."""
    rng = np.random.default_rng(4)
    params = {(True, d): 100 for d in (8, 12, 20)} | {(False, 8): 100, (False, 12): 150,
                                                       (False, 20): 250}
    base = {8: 40.0, 12: 60.0, 20: 85.0}

    def table(rec_at):
        rows = []
        for s in range(4):
            for d in base:
                rows.append(dict(recurrent=False, depth=d, seed=s, parameters=params[False, d],
                                 test_acc=base[d] + rng.normal(0, 1)))
                rows.append(dict(recurrent=True, depth=d, seed=s, parameters=params[True, d],
                                 test_acc=rec_at(d) + rng.normal(0, 1)))
        return pd.DataFrame(rows)

    like_depth = table(lambda d: base[d] - 1)
    f = verdicts.depth_not_parameters(like_depth, "maze")
    assert f.verdict == REPRODUCED and "feed-forward depth 8 100" in f.ours
    r = like_depth[like_depth.depth == 20].set_index(["seed", "recurrent"]).test_acc
    p = like_depth[(like_depth.depth == 8) & ~like_depth.recurrent].set_index("seed").test_acc
    e = [abs(r[s, True] - p[s]) - abs(r[s, True] - r[s, False]) for s in range(4)]
    ci = stats.ttest_1samp(e, 0).confidence_interval(confidence_level=findings.CONFIDENCE)
    assert f"[{ci.low:+.2f}, {ci.high:+.2f}]" in f.ours
    assert "same side of both" not in f.why
    beyond = verdicts.depth_not_parameters(table(lambda d: base[d] + 3), "maze")
    assert "the feed-forward change from depth 8 to 20" in beyond.why  # not a second result
    like_params = table(lambda d: base[8] + 1)
    assert verdicts.depth_not_parameters(like_params, "maze").verdict == NOT_REPRODUCED
    assert verdicts.parameter_depth(like_depth) == (8, 100, 100)


def test_a_comparison_of_mixed_environments_is_refused():
    runs = pd.DataFrame({"name": ["a", "b", "c"], "bf16": [True, True, False],
                         "torch": ["2.14.1"] * 3, "git_commit": ["x"] * 3})
    with pytest.raises(ValueError, match=r"different environments.*e\.g\. c"):
        claims.one_environment(runs)
    assert claims.one_environment(runs.iloc[:2]) == {"bf16": True, "torch": "2.14.1",
                                                     "training code": "x"}  # no such commit
    # two commits whose training code is the same file for file are one environment; one
    # that changed it (the refactor of f1c65fc's past) is not
    same = runs.assign(bf16=True, git_commit=["345376f", "3a8d25b", "3a8d25b"])
    assert claims.one_environment(same)["training code"].startswith("code ")
    with pytest.raises(ValueError, match="different environments"):
        claims.one_environment(same.assign(git_commit=["345376f", "3a8d25b", "f1c65fc"]))
    assert "2 runs in bf16" in results.trained_with(runs.iloc[:2].assign(device="cpu"))


@pytest.mark.parametrize("profile", ["quick", "extended"])
def test_every_committed_record_shares_one_environment_and_scores_per_image(profile):
    """The claims compare only runs of one precision, torch and commit: notebooks 02-05's
    committed records of a profile (all of them are compared somewhere) share them, and so
    do notebook 06's transformers (compared only among themselves; float32 by their
    recipe); and each record's per-image scores agree with its accuracy."""
    runs = results.table(ROOT / "results" / profile)
    tokens = runs.dataset == "phop"
    assert len(runs[~tokens]) > 0 and len(runs[tokens]) > 0
    for group in (runs[~tokens], runs[tokens]):
        env = claims.one_environment(group)
        assert set(env) == set(claims.ENVIRONMENT)
        assert not str(env["training code"]).endswith("-dirty")
    for row in runs.itertuples():
        hits = results.unpack(row.test_correct, int(row.test_images))
        assert 100 * hits.mean() == pytest.approx(row.test_acc, abs=1e-3), row.name


def test_combining_separate_verdicts():
    assert findings.combine({8: REPRODUCED, 12: REPRODUCED})[0] == REPRODUCED
    assert findings.combine({8: REPRODUCED, 12: INCONCLUSIVE}) == (INCONCLUSIVE,
                                                                   "inconclusive at 12")
    assert findings.combine({8: INCONCLUSIVE, 12: NOT_REPRODUCED})[0] == NOT_REPRODUCED
    assert findings.combine({})[0] == NOT_HERE


def test_same_accuracy_and_facts():
    a = pd.DataFrame({"seed": [0, 1, 2], "test_acc": [93.9, 94.1, 94.0]})
    b = pd.DataFrame({"seed": [0, 1, 2], "test_acc": [94.0, 94.2, 94.0]})
    f = verdicts.same_accuracy(a, b, "ours ≈ ResNet-18", paper="−0.70", margin=1.0)
    assert f.verdict == REPRODUCED and "±1 pt" in f.claim
    ratio = verdicts.parameter_ratio(3_560_000, 11_200_000, 0.32)
    assert ratio.holds and "0.318" in ratio.checked
    assert not verdicts.parameter_ratio(1, 10, 0.32).holds
    counts = pd.DataFrame({"effective depth": [8, 20], "recurrent params": [10, 10],
                           "feed-forward params": [10, 40]})
    assert verdicts.fewer_parameters(counts, "maze").holds
    assert "holds" in report.construction_report([ratio])


def test_show_displays_the_table_the_rule_and_the_facts(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "display", lambda md: shown.append(md.data))
    fact = findings.Fact("a fact", "checked", True)
    display.show([findings.Finding("c", "p", "o", REPRODUCED)], facts=[fact])
    assert shown[0].startswith(report.HEADER) and shown[1] == report.how_we_decide()
    assert shown[2].startswith(report.FACTS) and "- holds: a fact (checked)" in shown[2]
    shown.clear()
    display.show([], facts=[fact])  # facts only: no empty table, no rule
    assert len(shown) == 1 and shown[0].startswith(report.FACTS)


def test_report_and_rule_text():
    f = findings.Finding("a | b", "rises", "1 | 2", REPRODUCED, "why | not")
    table = report.report([f])
    assert table.startswith(report.HEADER) and "| a \\| b | – | rises | 1 \\| 2 |" in table
    assert "*Why:* why | not" in table  # in the folded list, a "|" splits nothing
    text = report.how_we_decide()
    for name, (margin, _) in paper.MARGINS.items():
        assert f"{name}: ±{margin:g}" in text
    assert f"{findings.CONFIDENCE:.0%}" in text and f"{ALPHA:.0%}" in text
    for rule in ("its own per-seed gaps", "Paired by image", "Bonferroni",
                 f"{findings.MIN_SPREAD_DF} degrees of freedom"):
        assert rule in text


def test_the_papers_tables_and_margins():
    t2 = paper.table2().set_index(["recurrent", "depth"]).test_acc
    assert len(t2) == 8 and t2[True, 8] == 75.07 and t2[False, 20] == 95.00  # Table 2
    pooled = paper.probes(pooled=True).set_index(["recurrent", "module"])
    full = paper.probes(pooled=False).set_index(["recurrent", "module"])
    assert tuple(pooled.loc[(False, 1)]) == (85.7, 83.4)  # Table 6
    assert tuple(full.loc[(True, 4)]) == (99.9, 90.3)  # Table 3
    assert paper.TABLE1["cifar10"] == (93.99, 0.10, 94.69, 0.03)
    # each margin covers the paper's own gaps that it calls similar, by less than a point
    gaps2 = [abs(r - f) for r, f in zip(paper.table2().query("recurrent").test_acc,
                                       paper.table2().query("not recurrent").test_acc)]
    gaps1 = [abs(v[0] - v[2]) for v in paper.TABLE1.values()]
    probe = [abs(r - f) for t in (full, pooled) for r, f in
             zip(t.loc[True].test_acc, t.loc[False].test_acc)]
    for name, gaps in (("forms", gaps2), ("resnet18", gaps1), ("probes", probe)):
        assert 0 < paper.MARGINS[name][0] - max(gaps) < 1, name


def test_a_findings_table_a_reader_can_scan():
    """Each row: the claim, its scale, the paper, a one-line summary of the comparisons and
    the verdict as one word; every comparison's numbers and why, folded under the table."""
    found = findings.gaps({"depth 4": findings.Sample(pd.Series([0.1, 0.3, -0.2])),
                           "depth 5": findings.Sample(pd.Series([0.2, 0.5, 0.1]))})
    verdict, why = findings.decide_each(found, 1.0)[0], "the spread rests on 4 df"
    f = findings.Finding("mlp: a ≈ b", "curves", "depth 4: ...; depth 5: ...", verdict, why,
                         findings.measured(found, 1.0), 1.0, scale="quick profile, 3 seeds")
    text = report.report([f])
    head, row = text.splitlines()[0], text.splitlines()[2]
    assert head == report.HEADER == "| claim | scale | paper | this run | verdict |"
    assert row.startswith("| mlp: a ≈ b | quick profile, 3 seeds | curves | 2 comparisons, "
                          "gap from +0.07 to +0.27 pt: 2 inside ±1 |")
    assert row.endswith(f"| **{verdict}** |") and why not in row
    assert f"<details><summary>{report.DETAILS}" in text and f"*Why:* {why}" in text
    table = findings.frame([f])
    assert list(table.group) == ["depth 4", "depth 5"]
    assert table.low.iloc[0] == pytest.approx(found["depth 4"].low)


def test_scale_and_figure_source_from_the_records():
    runs = pd.DataFrame({"name": list("abcd"), "profile": "quick", "experiment": "mazes",
                         "seed": [0, 0, 1, 1], "maze_size": "small", "test_images": 10_000,
                         "test_set": ["s0", "s0", "s1", "s1"], "width": 32, "n_train": 5000,
                         "bf16": True, "device": "cpu", "torch": "2.14.1",
                         "git_commit": "0123456789"})
    assert results.scale_of(runs) == ("quick recipe, 2 seeds, small mazes, 10,000 test mazes "
                                      "per seed, width 32, 5,000 training mazes")
    shared = runs.assign(test_set="one", experiment="classification", n_train=None,
                         test_images=360)
    assert "360 test images shared by every seed" in results.scale_of(shared)
    tokens = runs.assign(experiment="classification", dataset="phop", test_images=2000,
                         n_train=4000)
    assert results.scale_of(tokens) == ("quick recipe, 2 seeds, 2,000 test sequences per seed, "
                                        "width 32, 4,000 training sequences")
    line = results.figure_source(runs, notebook="03")
    assert line == ("Drawn from 4 runs, seeds 0–1; trained in bf16 on cpu, torch 2.14.1, "
                    "commit 0123456. Rebuild: python -m recur reproduce --profile quick "
                    "--notebooks 03")
    skipped = results.figure_source(runs.iloc[:0], runs.iloc[:0], notebook="03")
    assert skipped.startswith("Drawn from no runs: none were made for this figure here")
    assert "no trained runs" in results.figure_source(notebook="01", what="mazes made here")
