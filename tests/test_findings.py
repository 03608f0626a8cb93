"""recur.findings: intervals and verdicts checked against scipy.stats and hand-computed
values, and the committed runs that the rule must not call reproduced."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recur import display, findings, paper, report, results, verdicts
from recur.findings import INCONCLUSIVE, NOT_HERE, NOT_REPRODUCED, REPRODUCED
from recur.provenance import ROOT

#: each one-sided test's level, and the t or normal quantile of the two-sided interval: read
#: from the one constant, so changing the confidence level changes no test
ALPHA = (1 - findings.CONFIDENCE) / 2
UPPER = 1 - ALPHA


def _runs(rows):
    return pd.DataFrame(rows, columns=["recurrent", "depth", "seed", "test_acc"])


A = pd.Series([91.2, 88.5, 90.1, 92.4, 89.0], index=range(5))
B = pd.Series([90.0, 88.9, 89.2, 91.1, 88.1], index=range(5))


def test_paired_interval_is_scipys():
    g = findings.gap(A, B)
    ci = stats.ttest_rel(A, B).confidence_interval(confidence_level=findings.CONFIDENCE)
    assert (g.low, g.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert g.df == 4 and g.n == 5 and g.estimate == pytest.approx((A - B).mean())


def test_unpaired_interval_is_welchs():
    b = B.iloc[:3].set_axis([10, 11, 12])  # other seeds: no pairing
    g = findings.gap(A, b)
    welch = stats.ttest_ind(A, b, equal_var=False)
    ci = welch.confidence_interval(confidence_level=findings.CONFIDENCE)
    assert (g.low, g.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_equivalence_is_two_one_sided_tests_each_at_alpha():
    d = A - B
    for margin in (0.5, 1.0, 1.5, 2.0, 3.0):
        lower = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
        upper = stats.ttest_1samp(d, margin, alternative="less").pvalue
        tost = max(lower, upper) < ALPHA
        beyond = (stats.ttest_1samp(d, margin, alternative="greater").pvalue < ALPHA or
                  stats.ttest_1samp(d, -margin, alternative="less").pvalue < ALPHA)
        verdict = findings.equivalence(findings.gap(A, B), margin)
        assert verdict == (REPRODUCED if tost else NOT_REPRODUCED if beyond else INCONCLUSIVE)
    assert findings.equivalence(findings.gap(A, B), 3.0) == REPRODUCED
    assert findings.equivalence(findings.gap(A + 5, B), 1.0) == NOT_REPRODUCED


def test_direction_is_a_one_sided_test_at_alpha():
    for shift in (-3.0, -0.4, 0.0, 0.4, 3.0):
        d = A + shift - B
        p_up = stats.ttest_1samp(d, 0, alternative="greater").pvalue
        p_down = stats.ttest_1samp(d, 0, alternative="less").pvalue
        expected = (REPRODUCED if p_up < ALPHA else NOT_REPRODUCED if p_down < ALPHA
                    else INCONCLUSIVE)
        assert findings.direction(findings.gap(A + shift, B)) == expected


def test_a_shared_test_sets_error_is_added_once():
    g = findings.gap(A, B, shared_test=360)
    var = (A.mean() * (100 - A.mean()) + B.mean() * (100 - B.mean())) / 360
    assert g.se == pytest.approx(math.sqrt((A - B).var(ddof=1) / 5 + var))
    # more seeds shrink the seeds' part, never the shared test set's
    assert g.shared_var == pytest.approx(var)


def test_a_known_test_set_variance_gets_satterthwaites_degrees_of_freedom():
    g = findings.gap(A, B, shared_test=360)
    seeds = (A - B).var(ddof=1) / 5
    expected = (seeds + g.shared_var) ** 2 / (seeds ** 2 / 4)  # the known part adds no noise
    assert g.df == pytest.approx(expected) and g.df > 4
    t = stats.t.ppf(UPPER, expected)
    assert g.half_width == pytest.approx(t * math.sqrt(seeds + g.shared_var))
    alone = findings.gap(A, A, shared_test=360)  # no spread between seeds: a known variance
    assert alone.df == math.inf and alone.half_width == pytest.approx(
        stats.norm.ppf(UPPER) * math.sqrt(alone.shared_var))


def test_one_seed_borrows_a_pooled_spread_with_its_degrees_of_freedom():
    runs = _runs([(r, d, s, 80 + d + r * (s % 2) * 2) for d in (8, 12) for r in (False, True)
                  for s in range(3)])
    sd, df = findings.gap_spread(runs)
    per_seed = [0, 2, 0]  # recurrent − feed-forward per seed, at both depths
    assert df == 4 and sd == pytest.approx(math.sqrt(2 * np.var(per_seed, ddof=0) * 3 / 4))
    one = findings.gap(pd.Series([91.0], index=[0]), pd.Series([90.0], index=[0]),
                       pooled=(sd, df))
    t = stats.t.ppf(UPPER, df)
    assert (one.low, one.high) == pytest.approx((1 - t * sd, 1 + t * sd))
    alone = findings.gap(pd.Series([91.0], index=[0]), pd.Series([90.0], index=[0]))
    assert alone.half_width == math.inf and findings.equivalence(alone, 1.0) == INCONCLUSIVE
    runs["iterations"] = [(d - 4) // 4 if r else None for r, d in zip(runs.recurrent, runs.depth)]
    assert findings.gap_spread(runs)[1] == 2  # depth 8 (one module, one net) left out


def test_seeds_to_decide_is_the_fewest_that_decide():
    g = findings.gap(A, B)
    n = findings.seeds_to_decide(g, 1.5)
    assert n is not None and n >= 2

    def at(k):
        return findings.Gap(g.estimate, g.sd / math.sqrt(k), k - 1, k, g.sd)

    assert findings.equivalence(at(n), 1.5) != INCONCLUSIVE
    assert n == 2 or findings.equivalence(at(n - 1), 1.5) == INCONCLUSIVE
    # a gap equal to the margin can never be shown inside it
    edge = findings.Gap(1.5, 0.5, 4, 5, 1.0)
    assert findings.seeds_to_decide(edge, 1.5) is None


def test_combining_depths():
    assert findings.combine({8: REPRODUCED, 12: REPRODUCED})[0] == REPRODUCED
    assert findings.combine({8: REPRODUCED, 12: INCONCLUSIVE}) == (INCONCLUSIVE,
                                                                   "inconclusive at 12")
    flat = _runs([(r, d, s, 50 + 3 * s * r) for r in (False, True) for d in (8, 12, 16)
                  for s in range(2)])
    f = verdicts.forms_agree(flat, "mazes", margin=1.0)
    assert f.verdict == INCONCLUSIVE and "depth 12: " in f.why and "(here 2)" in f.why
    at12 = flat[flat.depth == 12].set_index("seed")
    n = findings.seeds_to_decide(findings.gap(at12[at12.recurrent].test_acc,
                                              at12[~at12.recurrent].test_acc), 1.0)
    assert f"depth 12: {n} (not reproduced)" in f.why  # which way more seeds would decide
    assert findings.combine({8: INCONCLUSIVE, 12: NOT_REPRODUCED})[0] == NOT_REPRODUCED
    assert findings.combine({})[0] == NOT_HERE


def test_forms_agree_per_depth_and_one_module_depths_left_out():
    rng = np.random.default_rng(0)
    rows = [(r, d, s, 70 + d + rng.normal(0, 0.2) + (4 if r and d == 16 else 0))
            for r in (False, True) for d in (8, 12, 16) for s in range(6)]
    runs = _runs(rows)
    runs["iterations"] = [(d - 4) // 4 if r else None for r, d in zip(runs.recurrent, runs.depth)]
    f = verdicts.forms_agree(runs, "mazes", margin=1.0)
    assert "depth 8" not in f.ours  # one module: the same net in both forms
    assert f.verdict == NOT_REPRODUCED and "not reproduced at depth 16" in f.why
    near = verdicts.forms_agree(runs[runs.depth < 16], "mazes", margin=1.0)
    assert near.verdict == REPRODUCED


def test_the_mlp_at_depths_9_and_10_is_not_called_reproduced():
    """The case that motivated the rule, as it stood with two seeds on one shared test set of
    360 digits (depth 9: feed-forward 91.1, 82.2 against recurrent 94.4, 95.8; depth 10:
    61.1, 90.3 against 89.4, 96.1): never reproduced.  And the committed runs (notebook 02:
    eight seeds, each with its own split): depth 9 is decided, not reproduced."""
    margin = paper.MARGINS["forms"][0]
    old = _runs([(r, d, s, acc) for (r, d), accs in {
        (False, 9): (91.1, 82.2), (True, 9): (94.4, 95.8),
        (False, 10): (61.1, 90.3), (True, 10): (89.4, 96.1)}.items()
        for s, acc in enumerate(accs)])
    for depth in (9, 10):
        f = verdicts.forms_agree(old[old.depth == depth], "mlp", margin=margin, shared_test=360)
        assert f.verdict != REPRODUCED
    assert verdicts.same_shape(old, "mlp", margin=margin, shared_test=360).verdict != REPRODUCED
    runs = results.with_settings(results.table(ROOT / "results" / "quick"))
    mlp = runs[(runs.family == "mlp") & (runs.dataset == "digits") & (runs.split == "per seed")]
    assert len(mlp) == 8 * 8 * 2  # eight seeds, depths 3-10, both forms
    g = findings.gap(*(mlp[(mlp.depth == 9) & (mlp.recurrent == r)].set_index("seed").test_acc
                       for r in (True, False)))
    assert g.low > margin  # the recurrent MLP is better at depth 9, beyond the margin
    whole = verdicts.forms_agree(mlp, "mlp", margin=margin)
    assert whole.verdict == NOT_REPRODUCED and "depth 9" in whole.why
    fit = mlp[mlp.depth == 9].groupby("recurrent").train_acc.mean()  # the fit behind it
    assert (f"depth 9: recurrent {fit[True]:.1f}%, feed-forward {fit[False]:.1f}%"
            in whole.why)


def test_rises_with_depth_and_higher():
    # seeds differ from depth to depth (a spread of zero is not a measurement)
    runs = _runs([(r, d, s, 40 + d * 2 + s + 0.4 * (s * d % 5)) for r in (False, True)
                  for d in (8, 20) for s in range(3)])
    assert verdicts.rises_with_depth(runs, "mazes").verdict == REPRODUCED
    flat = runs.assign(test_acc=50 + runs.seed * 3.0)
    assert verdicts.rises_with_depth(flat, "mazes").verdict == INCONCLUSIVE
    falls = runs.assign(test_acc=100 - runs.depth * 2 - runs.seed * runs.depth / 40)
    assert verdicts.rises_with_depth(falls, "mazes").verdict == NOT_REPRODUCED
    worse = runs.assign(test_acc=runs.test_acc - 10 - runs.seed * 0.5)
    f = verdicts.higher(runs, worse, "small beats large", paper="lower on large",
                        names=("small", "large"))
    assert f.verdict == REPRODUCED and "small − large" in f.ours


def test_same_shape_uses_every_depth():
    """Curves that meet at both ends but zigzag in opposite directions between do not
    share their shape."""
    up_down = {8: 0, 12: 6, 16: 0, 20: 0}
    rows = [(r, d, s, 80 + (up_down[d] if r else -up_down[d]) + 0.1 * s
             + (0.2 * ((s + d) % 3) if r else 0))
            for r in (False, True) for d in up_down for s in range(4)]
    f = verdicts.same_shape(_runs(rows), "convnet", margin=1.0)
    assert f.verdict == NOT_REPRODUCED and "8 → 12" in f.why


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
    assert table.startswith(report.HEADER) and "a \\| b" in table and "why \\| not" in table
    text = report.how_we_decide()
    for name, (margin, _) in paper.MARGINS.items():
        assert f"{name}: ±{margin:g}" in text
    assert f"{findings.CONFIDENCE:.0%}" in text and f"{ALPHA:.0%}" in text


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


def test_seeds_that_agree_borrow_the_spread_pooled_over_the_claim():
    # notebook 02's ResNets: at one step both seeds' gaps are the same +0.28 (one test image
    # of 360), which read as a spread of zero would give an interval of zero width
    steps = {"7 → 11": [0.28, -0.56], "11 → 15": [0.28, 0.28], "15 → 19": [-1.11, -0.28]}
    gaps = {k: findings.gap(pd.Series(v), pd.Series([0.0, 0.0])) for k, v in steps.items()}
    assert gaps["11 → 15"].half_width == 0  # the degenerate interval, before the rule
    pooled = findings.pool_where_no_spread(gaps)
    others = [v for k, v in steps.items() if k != "11 → 15"]  # not the zero: no measurement
    ss = sum(((pd.Series(v) - np.mean(v)) ** 2).sum() for v in others)
    sd, df = math.sqrt(ss / 2), 2  # two other steps of two seeds: 2 degrees of freedom
    g = pooled["11 → 15"]
    assert (g.sd, g.df, g.pooled_df) == (pytest.approx(sd), pytest.approx(df), 2)
    half = stats.t.ppf(UPPER, df) * sd / math.sqrt(2)
    assert (g.low, g.high) == pytest.approx((0.28 - half, 0.28 + half))
    assert findings.equivalence(g, 1.0) == INCONCLUSIVE  # not "reproduced" at zero width
    assert "spread pooled over the claim's others (2 df)" in g.text()
    assert pooled["7 → 11"] is gaps["7 → 11"] and pooled["15 → 19"] is gaps["15 → 19"]
    # seeds agreeing everywhere: nothing measured to borrow, no interval
    flat = findings.pool_where_no_spread({"a": findings.gap(pd.Series([1.0, 1.0]),
                                                             pd.Series([0.0, 0.0]))})
    assert math.isinf(flat["a"].half_width) and "no spread was measured" in flat["a"].text()
    assert findings.equivalence(flat["a"], 5.0) == INCONCLUSIVE


def test_same_shape_pools_a_step_whose_seeds_agree():
    # accuracies on a 0.28-point grid: both seeds' step 1 → 2 gaps are +0.28 exactly
    acc = {(True, 1): [90.0, 91.0], (False, 1): [90.0, 91.0], (True, 2): [92.5, 93.0],
           (False, 2): [92.22, 92.72], (True, 3): [93.0, 94.1], (False, 3): [93.0, 93.4]}
    runs = _runs([(rec, d, s, round(a[s], 3)) for (rec, d), a in acc.items() for s in (0, 1)])
    f = verdicts.same_shape(runs, "toy", margin=1.0)
    assert "depth 1 → 2: +0.28" in f.ours and "pooled over the claim's others (1 df)" in f.ours
    assert "[+0.28, +0.28]" not in f.ours and f.verdict == INCONCLUSIVE
