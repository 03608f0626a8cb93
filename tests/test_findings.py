"""recur.findings: verdicts computed from run tables, checked against hand-computed values."""
import math

import pandas as pd
import pytest

from recur import findings


def _runs(rows):
    return pd.DataFrame(rows, columns=["recurrent", "depth", "seed", "test_acc"])


def test_binomial_se_is_the_standard_error_of_a_proportion():
    assert findings.binomial_se(90.0, 1000) == pytest.approx(100 * math.sqrt(0.9 * 0.1 / 1000))
    assert findings.binomial_se(90.0, 1000, seeds=4) == pytest.approx(100 * math.sqrt(0.09 / 4000))
    assert findings.binomial_se(100.0, 50) == 0.0


def test_identical_seeds_still_have_the_test_sets_resolution():
    # two seeds with the same accuracy: the spread over seeds is 0, the test set's is not
    runs = _runs([(False, 8, 0, 50.0), (False, 8, 1, 50.0)])
    s = findings.accuracy(runs, ["recurrent", "depth"], n_test=100)
    assert s["se"].iloc[0] == pytest.approx(100 * math.sqrt(0.25 / 200))


def test_forms_gap_and_its_standard_error():
    runs = _runs([(False, 8, 0, 80.0), (False, 8, 1, 84.0), (True, 8, 0, 70.0), (True, 8, 1, 72.0),
                  (False, 12, 0, 90.0), (False, 12, 1, 90.0), (True, 12, 0, 90.0), (True, 12, 1, 91.0)])
    t = findings.forms(runs, n_test=10_000)
    se_ff, se_rec = 4 / math.sqrt(2) / math.sqrt(2), 2 / math.sqrt(2) / math.sqrt(2)  # std / sqrt(n)
    assert t.loc[8, "gap"] == pytest.approx(-11.0)
    assert t.loc[8, "se"] == pytest.approx(math.hypot(se_ff, se_rec))
    assert not t.loc[8, "within 2 se"] and t.loc[12, "within 2 se"]
    f = findings.forms_agree(runs, 10_000, "mazes")
    assert f.verdict == findings.PARTLY and "1 of 2 resolved depths" in f.ours and "depth 8" in f.ours


def test_rises_with_depth_needs_more_than_noise():
    rising = _runs([(r, d, s, acc) for r in (False, True) for s in (0, 1)
                    for d, acc in ((8, 20.0 + s), (20, 90.0 + s))])
    assert findings.rises_with_depth(rising, 1000, "x").verdict == findings.REPRODUCED
    flat = _runs([(r, d, s, 90.0 + s) for r in (False, True) for s in (0, 1) for d in (8, 20)])
    assert findings.rises_with_depth(flat, 1000, "x").verdict == findings.NOT_REPRODUCED


def test_verdicts_and_report():
    assert findings.share_verdict(3, 3) == findings.REPRODUCED
    assert findings.share_verdict(2, 4) == findings.PARTLY
    assert findings.share_verdict(1, 4) == findings.NOT_REPRODUCED
    assert findings.difference(90, 1, 80, 1)[2] == "higher"
    assert findings.difference(80, 3, 81, 3)[2] == "no difference"
    text = findings.report([findings.Finding("c", "p", "o", findings.PARTLY, "why")])
    assert text.splitlines()[2] == "| c | p | o | **partly** (why) |"


def test_similar_accuracy_and_parameter_findings():
    a = _runs([(True, 19, s, 93.0 + s) for s in range(3)])
    b = _runs([(False, 18, s, 97.0 + s) for s in range(3)])
    f = findings.similar_accuracy(a, b, 360, "c", paper="p", names=("ours", "R18"))
    assert f.verdict == findings.NOT_REPRODUCED and "gap -4.00" in f.ours
    close = findings.similar_accuracy(a, _runs([(False, 18, s, 93.5 + s) for s in range(3)]), 360, "c", paper="p")
    assert close.verdict == findings.REPRODUCED
    third = findings.parameter_ratio(3_556_106, 11_172_810, 3.56 / 11.2, trained=0.128)
    assert third.verdict == findings.REPRODUCED and "= 0.318" in third.ours and "0.128" in third.ours
    assert findings.parameter_ratio(9, 10, 0.318).verdict == findings.NOT_REPRODUCED
    counts = pd.DataFrame({"effective depth": [4, 8], "feed-forward params": [10, 20], "recurrent params": [10, 10]})
    assert findings.fewer_parameters(counts, "x").verdict == findings.REPRODUCED
    assert findings.fewer_parameters(counts.assign(**{"recurrent params": [10, 11]}), "x").verdict == findings.NOT_REPRODUCED


def test_higher_counts_groups_beyond_noise():
    small = _runs([(r, d, 0, acc) for r in (False, True) for d, acc in ((8, 30.0), (20, 90.0))])
    large = _runs([(r, d, 0, acc) for r in (False, True) for d, acc in ((8, 29.0), (20, 60.0))])
    f = findings.higher(small, large, 1000, "larger mazes are harder", paper="p", names=("small", "large"))
    assert f.verdict == findings.PARTLY and "2 of 4" in f.ours  # depth 8: 1 point is within noise
    assert "mean gap +15.5" in f.ours


def test_a_gap_the_seeds_cannot_resolve_does_not_count_as_agreement():
    runs = _runs([(False, 10, 0, 60.0), (False, 10, 1, 90.0), (True, 10, 0, 90.0), (True, 10, 1, 95.0),
                  (False, 8, 0, 95.0), (False, 8, 1, 95.5), (True, 8, 0, 95.2), (True, 8, 1, 95.4)])
    f = findings.forms_agree(runs, 1000, "mlp")
    assert f.verdict == findings.REPRODUCED and "not resolved at depth 10" in f.why  # judged where resolved
    assert findings.forms_agree(runs[runs.depth == 10], 1000, "mlp").verdict == findings.NOT_RESOLVED


def test_one_module_depths_are_left_out_of_the_comparison():
    runs = _runs([(r, d, s, 50.0 + d + (5 * r if d == 12 else 0)) for r in (False, True) for d in (8, 12) for s in (0, 1)])
    runs["iterations"] = [(d - 4) // 4 if r else None for r, d in zip(runs.recurrent, runs.depth)]
    f = findings.forms_agree(runs, 100_000, "mazes")
    assert "1 of 1" not in f.ours and "0 of 1 resolved depths" in f.ours and "depth 8 left out" in f.ours
    assert f.verdict == findings.NOT_REPRODUCED
    only = findings.forms_agree(runs[runs.depth == 8], 100_000, "mazes")
    assert only.verdict == findings.NOT_HERE


def test_report_escapes_pipes_inside_cells():
    text = findings.report([findings.Finding("median |r|", "p", "o", findings.REPRODUCED)])
    import re

    assert len(re.findall(r"(?<!\\)\|", text.splitlines()[2])) == 5  # four cells: five unescaped borders
    assert "median \\|r\\|" in text


def test_seed_spread_floors_single_seed_studies():
    two = _runs([(False, 8, 0, 50.0), (False, 8, 1, 60.0), (True, 8, 0, 40.0), (True, 8, 1, 40.0)])
    sd = findings.seed_spread(two)
    assert sd == pytest.approx(math.sqrt((50.0 + 0.0) / 2))  # variances 50 and 0, pooled
    one = _runs([(False, 20, 0, 80.0), (True, 20, 0, 70.0)])
    assert not findings.forms(one, 100_000).loc[20, "within 2 se"]  # the test set alone: 10 points is a lot
    assert findings.forms(one, 100_000, sd=sd).loc[20, "within 2 se"]  # but seeds differ by ~5 points


def test_same_trend_compares_the_direction_of_both_forms():
    both_fall = _runs([(r, d, s, acc - s) for r in (False, True) for s in (0, 1) for d, acc in ((3, 97.0), (10, 80.0))])
    assert findings.same_trend(both_fall, 1000, "mlp").verdict == findings.REPRODUCED
    split = _runs([(r, d, s, (97.0 if d == 3 else (80.0 if not r else 97.0)) - s) for r in (False, True)
                   for s in (0, 1) for d in (3, 10)])
    f = findings.same_trend(split, 1000, "mlp")
    assert f.verdict == findings.NOT_REPRODUCED and "feed-forward -17.0" in f.ours and "recurrent +0.0" in f.ours
    close = _runs([(r, d, s, (97.0 if d == 3 else 95.0 + 0.5 * r) - s) for r in (False, True) for s in (0, 1) for d in (3, 10)])
    assert findings.same_trend(close, 1000, "convnet").verdict == findings.REPRODUCED  # -2.0 vs -1.5: the same


def test_forms_agree_names_the_noisy_form_and_the_ceiling():
    runs = _runs([(False, 10, 0, 60.0), (False, 10, 1, 90.0), (True, 10, 0, 90.0), (True, 10, 1, 91.0)])
    why = findings.forms_agree(runs, 1000, "mlp").why
    assert "not resolved at depth 10: s.e. of the gap 15.0" in why and "feed-forward 15.0" in why  # std(60, 90) / sqrt(2)
    high = _runs([(r, d, s, 97.0 + 0.1 * s) for r in (False, True) for d in (8, 12) for s in (0, 1)])
    assert "near the ceiling" in findings.forms_agree(high, 360, "convnet").why


def test_higher_says_not_resolved_when_no_difference_is():
    a = _runs([(False, 8, 0, 50.0), (True, 8, 0, 52.0)])
    b = _runs([(False, 8, 0, 49.0), (True, 8, 0, 50.0)])
    assert findings.higher(a, b, 100, "c", paper="p").verdict == findings.NOT_RESOLVED


def test_the_papers_tables_as_tidy_tables():
    from recur import paper

    t2 = paper.table2().set_index(["recurrent", "depth"]).test_acc
    assert len(t2) == 8 and t2[True, 8] == 75.07 and t2[False, 20] == 95.00  # Table 2
    pooled = paper.probes(pooled=True).set_index(["net", "module"])
    full = paper.probes(pooled=False).set_index(["net", "module"])
    assert tuple(pooled.loc[("feed-forward", 1)]) == (85.7, 83.4)  # Table 6
    assert tuple(full.loc[("recurrent", 4)]) == (99.9, 90.3)  # Table 3
    assert paper.TABLE1["cifar10"] == (93.99, 0.10, 94.69, 0.03)
