"""recur.claims, recur.feature_study and the notebooks' tables: which claims each notebook
tests, on which runs, and tables checked against direct computations."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from recur import claims, experiments, feature_study, findings, paper, results, verdicts
from recur.forms import FORMS
from recur.findings import INCONCLUSIVE, NOT_HERE, NOT_REPRODUCED, REPRODUCED
from recur.models import build_model, classifier_input, count_parameters, head_parameters
from recur.profiles import make_config
from recur.provenance import ROOT


def _runs(rows, columns=("recurrent", "depth", "seed", "test_acc")):
    return pd.DataFrame(rows, columns=list(columns))


def test_maze_claims_follow_the_studies_that_ran():
    rng = np.random.default_rng(1)
    main = _runs([(r, d, s, 20 + 3 * d + rng.normal(0, 0.3), 100 if r else 25 * d)
                  for r in (False, True) for d in (8, 12, 16, 20) for s in range(4)],
                 columns=("recurrent", "depth", "seed", "test_acc", "parameters"))
    alone = claims.mazes(main, maze_size="small", span=10)
    assert [f.claim.split(":")[0] for f in alone] == [
        "small mazes", "small mazes", "past the depth whose field spans the maze (10; 4.3)",
        "small mazes"]
    assert alone[0].verdict == REPRODUCED and alone[2].verdict == REPRODUCED
    assert "nearer the feed-forward net of its effective depth" in alone[3].claim
    assert alone[3].verdict == REPRODUCED  # recurrent 20 tracks feed-forward 20, not 8
    by_size = pd.DataFrame([dict(seed=s, depth=20, recurrent=r, maze_size=m,
                                 test_acc=a + s * 0.7 + r * 0.2 * s)
                            for m, a in (("small", 80.0), ("medium", 60.0), ("large", 40.0))
                            for r in (False, True) for s in range(3)])
    with_sizes = claims.mazes(main, maze_size="small", span=10, by_size=by_size)
    steps = [f for f in with_sizes if f.claim.startswith("larger mazes are harder")]
    assert [f.claim.split(": ")[1].split(" (")[0] for f in steps] == ["small vs medium",
                                                                      "medium vs large"]
    assert all(f.verdict == REPRODUCED for f in steps)
    assert [f.claim.split(":")[0] for f in with_sizes[-2:]] == ["medium mazes", "large mazes"]
    assert "same runs as the first row" not in alone[2].why  # depth 8 is short of the span
    one = pd.DataFrame([dict(seed=0, depth=12, recurrent=r, test_acc=a)
                        for r, a in ((False, 66.0), (True, 54.5))])
    rows = claims.mazes(main, maze_size="small", span=4, plain=one,
                        dilated=one.assign(test_acc=[70.0, 58.5]))
    assert "the same runs as the first row" in rows[2].why
    assert rows[-1].claim.startswith("dilated, small mazes") and rows[-1].verdict == INCONCLUSIVE
    assert "a second seed would measure the spread" in rows[-1].why  # one seed: undecided


def test_classification_claims_per_family_on_the_committed_runs():
    runs = results.with_settings(results.table(ROOT / "results" / "extended"))
    digits = runs[(runs.experiment == "classification") & runs.family.isin(["mlp", "convnet"])
                  & (runs.split == "per seed")]  # notebook 02's runs: a split per seed
    assert digits.groupby("family").seed.nunique().to_dict() == {"convnet": 4, "mlp": 8}
    found = claims.classification(digits, "digits")
    order = list(digits.family.unique())  # the families in the order the runs came
    assert [f.claim.split(":")[0] for f in found] == [name for f in order
                                                       for name in (f"{f} on digits", f, f)]
    assert all("nearer the feed-forward net of its effective depth" in f.claim
               for f in found[2::3])


def test_batchnorm_claims():
    runs = pd.DataFrame({"family": ["resnet_bn"] * 3 + ["resnet18"] * 3, "seed": [0, 1, 2] * 2,
                         "test_acc": [90.0, 91.0, 92.0, 97.0, 97.5, 98.0]})
    found = claims.batchnorm(runs, per_iteration=IMAGES < 328, one_for_all=IMAGES < 144,
                             growth=3.0, iterations=4, seed=0, why="narrow", reported_gap=-0.7)
    assert [f.verdict for f in found] == [NOT_REPRODUCED, REPRODUCED, NOT_HERE, NOT_HERE]
    assert "±1 pt" in found[0].claim and "narrow" in found[0].why


def test_batchnorm_claims_with_a_net_trained_with_one_shared_batchnorm():
    """The shared-BatchNorm runs are kept out of Table 1 and decide the last claim, paired by
    seed with ours (a table without per-image scores: one test set per seed)."""
    ours, r18 = [90.0, 91.0, 92.0], [90.5, 91.0, 91.5]
    runs = pd.DataFrame({"family": ["resnet_bn"] * 6 + ["resnet18"] * 3,
                         "shared_norm": [False] * 3 + [True] * 3 + [False] * 3,
                         "recurrent": [True] * 6 + [False] * 3, "depth": [19] * 6 + [18] * 3,
                         "seed": [0, 1, 2] * 3, "test_acc": ours + [60.0, 70.0, 65.0] + r18})
    kw = dict(per_iteration=IMAGES < 328, one_for_all=IMAGES < 144, growth=3.0, iterations=4,
              seed=0, why="", reported_gap=-0.7)
    found = claims.batchnorm(runs, **kw)
    assert "ours 91.00, ResNet-18 91.00" in found[0].ours  # the shared runs are not "ours"
    expected = findings.gap(pd.Series(ours), pd.Series([60.0, 70.0, 65.0]))
    assert found[2].verdict == REPRODUCED and expected.text(" pt") in found[2].ours
    assert expected.low > 0
    runs.loc[runs.shared_norm, "test_acc"] = [91.0, 92.5, 93.0]  # shared does as well: no
    again = claims.batchnorm(runs, **kw)[2]
    assert again.verdict != REPRODUCED


def test_the_statistics_claim_is_one_nets_gain_over_the_test_sets_sampling():
    """Separate statistics for the shared-BatchNorm net, against one set estimated the same
    way (not against the net as trained): a direction claim on one net, its interval the
    paired t over the 360 images (brute force with scipy), not two independent binomials."""
    runs = pd.DataFrame({"family": ["resnet_bn", "resnet18"], "shared_norm": [False, False],
                         "recurrent": [True, False], "depth": [19, 18], "seed": [0, 0],
                         "test_acc": [91.0, 91.5]})
    kw = dict(per_iteration=IMAGES < 328, one_for_all=IMAGES < 144, growth=3.0, iterations=4,
              seed=0, why="", reported_gap=-0.7)
    rng = np.random.default_rng(0)
    for one, apart, verdict in ((54, 342, REPRODUCED), (324, 327, INCONCLUSIVE),
                                (342, 288, NOT_REPRODUCED)):
        one_set = IMAGES < one
        per = IMAGES < apart
        flip = rng.choice(360, 6, replace=False)  # the two ways also disagree elsewhere
        per[flip] = ~per[flip]
        stats_ = {"as trained": IMAGES < 36, "one set": one_set, "per iteration": per}
        f = claims.batchnorm(runs, **kw, statistics=stats_)[3]
        ci = stats.ttest_rel(100.0 * per, 100.0 * one_set).confidence_interval(
            confidence_level=findings.CONFIDENCE)
        assert f.verdict == verdict and "separate statistics" in f.claim
        assert f"[{ci.low:+.2f}, {ci.high:+.2f}] pt" in f.ours
        assert f"{100 * per.mean():.2f}%" in f.ours and "10.00% as trained" in f.ours
    assert claims.batchnorm(runs, **kw)[3].verdict == NOT_HERE


IMAGES = np.arange(360)  # a test set of 360 images: IMAGES < k gets the first k right


def test_feature_claims():
    probes = pd.DataFrame([(r, "pooled", m, 90.0 + m) for r in (False, True) for m in (1, 2)],
                          columns=["recurrent", "features", "module", "test_acc"])
    reuse = pd.DataFrame({"seed": [0], "trained": [0.6], "untrained": [0.2]})  # one seed
    cka = {"last module": {"seeds 0, 1": {claims.SAME_DEPTH: 0.99, claims.SHALLOWER: 0.97},
                           "seeds 1, 2": {claims.SAME_DEPTH: 0.98, claims.SHALLOWER: 0.95}}}
    depth = {True: {3: [0.2, 0.3], 5: [0.25, 0.35], 7: [0.2, 0.2]},
             False: {1: [0.3, 0.2], 2: [0.4, 0.3], 4: [0.3, 0.35]}}
    starts = {True: {3: [0.9, 0.85], 5: [0.95, 0.9], 7: [0.88, 0.9]},
              False: {1: [0.3, 0.25], 2: [0.35, 0.3], 4: [0.2, 0.4]}}

    def pictures():
        return {(r, f): {"depths": depth[r][f], "starts": starts[r][f]}
                for r in (False, True) for f in depth[r]}

    found = claims.features(reuse=reuse, probes=probes, seed=0, cka=cka,
                            pictures=pictures())
    assert [f.verdict for f in found] == [INCONCLUSIVE, INCONCLUSIVE, NOT_HERE, INCONCLUSIVE,
                                          INCONCLUSIVE]  # the feed-forward starts differ too
    assert "Table 3" in found[2].claim  # no full-feature probes in this table
    assert "inconclusive at feed-forward" in found[4].why and "every module" in found[1].claim
    assert ("last module: recurrent 8 above in 2 of 2 pairings; every CKA in them "
            "from 0.95 to 0.99") in found[3].why
    assert "module 1: gap" in found[1].ours and "1 seed(s)" in found[0].why
    starts[False] = {1: [0.8, 0.9], 2: [0.85, 0.95], 4: [0.9, float("nan")]}
    again = claims.features(reuse=reuse, probes=probes, seed=0, cka=cka,
                            pictures=pictures())[4]
    per_filter = pd.Series({1: 0.85, 2: 0.9, 4: 0.9}) - pd.Series({1: 0.25, 2: 0.35, 4: 0.325})
    g = findings.gap(pd.Series({1: 0.85, 2: 0.9, 4: 0.9}), pd.Series({1: 0.25, 2: 0.35, 4: 0.325}))
    assert g.n == 3 and g.estimate == pytest.approx(per_filter.mean())  # paired by filter
    assert g.df == 2  # the spread of these three filters
    assert again.verdict == REPRODUCED
    assert f"[{g.low:+.2f}, {g.high:+.2f}], n=3 filters" in again.ours


def test_feature_claims_pair_reuse_and_probes_by_seed():
    """Reuse: trained minus untrained per seed, a paired one-sided test (scipy's oracle);
    probes: the seed column pairs the two forms, so two seeds give an interval."""
    from scipy import stats
    reuse = pd.DataFrame({"seed": [0, 1, 2, 3], "trained": [0.77, 0.74, 0.80, 0.75],
                          "untrained": [0.50, 0.52, 0.49, 0.51]})
    probes = pd.DataFrame([(r, "pooled", 1, s, 90.0 + s + r) for r in (False, True)
                           for s in (0, 1)],
                          columns=["recurrent", "features", "module", "seed", "test_acc"])
    found = claims.features(reuse=reuse, probes=probes, seed=0, cka={},
                            pictures={})
    paired = stats.ttest_rel(reuse.trained, reuse.untrained)
    low = paired.confidence_interval(findings.CONFIDENCE).low
    assert found[0].verdict == REPRODUCED and f"[{low:+.2f}," in found[0].ours
    assert "n=2" in found[1].ours  # two seeds, paired
    reuse.loc[:, "trained"] = [0.45, 0.55, 0.40, 0.60]  # no better than untrained
    assert claims.features(reuse=reuse, probes=probes, seed=0, cka={},
                           pictures={})[0].verdict != REPRODUCED


def test_filter_pictures_from_two_starts():
    torch.manual_seed(0)
    net = build_model("convnet", recurrent=True, depth=5, dataset="digits", width=4).eval()
    x = torch.randn(20, 1, 32, 32)
    filters = feature_study.selective_filters(net, x, k=2)
    assert len(filters) == 2 and len(set(filters)) == 2
    p = feature_study.filter_pictures(net, filters[0], x, modules=2, steps=3, seed=0)
    assert len(p["images"]) == len(p["silent"]) == len(p["gain"]) == len(p["starts"]) == 2
    assert len(p["depths"]) == 1
    same = feature_study.filter_pictures(net, filters[0], x, modules=2, steps=3, seed=0)
    assert same["starts"] == p["starts"]  # deterministic for a seed
    a, b = np.arange(16.0), np.arange(16.0)[::-1] * 3 + 1
    assert feature_study.similarity(a, b) == pytest.approx(1.0)
    assert np.isnan(feature_study.similarity(a, np.zeros(16)))  # a silent, constant image


def test_table1_beside_the_paper():
    runs = pd.DataFrame({"family": ["resnet_bn"] * 2 + ["resnet18"] * 2, "seed": [0, 1] * 2,
                         "test_acc": [90.0, 92.0, 97.0, 98.0]})
    t = experiments.table1(runs, "digits").set_index(["source", "model"])
    assert t.loc[("this run (digits)", "ours"), "mean"] == 91.0
    assert t.loc[("this run (digits)", "ours"), "se"] == pytest.approx(np.std([90, 92],
                                                                             ddof=1) / 2 ** 0.5)
    assert t.loc[("paper (cifar10)", "ResNet-18"), "text"] == "94.69 ± 0.03"
    assert experiments.table1(runs, "svhn").source.iloc[-1] == "paper (svhn)"


def test_model_sizes_and_heads():
    c = make_config("quick", "classification", family="resnet_bn", recurrent=True, depth=19)
    sizes = experiments.model_sizes([c]).iloc[0]
    net = build_model("resnet_bn", recurrent=True, depth=19, dataset="digits", width=c.width)
    assert sizes["trained width"] == count_parameters(net)
    assert sizes["paper width"] == count_parameters(
        build_model("resnet_bn", recurrent=True, depth=19, dataset="digits"))
    assert sizes["head %"] == round(100 * count_parameters(net.coda) / count_parameters(net), 1)
    assert head_parameters(net) == count_parameters(net.coda)
    x = torch.randn(3, c.width, 32, 32)
    with torch.no_grad():
        assert torch.equal(net.coda[-1](classifier_input(net, x)), net.coda(x))


def test_probe_and_cka_tables_match_direct_computation():
    from recur import analysis

    torch.manual_seed(0)
    nets = {r: build_model("convnet", recurrent=r, depth=5, dataset="digits", width=4).eval()
            for r in (False, True)}
    x, y = torch.randn(60, 1, 32, 32), torch.arange(60) % 3
    table = feature_study.probe_table(nets, (x[:40], y[:40]), (x[40:], y[40:]))
    assert len(table) == 2 * 2 * 2  # forms x (full, pooled) x modules
    feats = analysis.module_features(nets[True], x)
    direct = analysis.linear_probes([f[:40] for f in feats], y[:40], [f[40:] for f in feats],
                                    y[40:], pool=True)
    mine = table[table.recurrent & (table.features == "pooled")].sort_values("module")
    assert list(mine.test_acc) == [p["test_acc"] for p in direct]
    assert list(mine.dims) == [f.shape[1] for f in feats]
    reported = paper.probes(pooled=True).set_index(["recurrent", "module"])
    assert list(mine.test_acc_paper) == list(reported.loc[True].test_acc[:2])  # Table 6 beside
    pair = {"a": {"ref": nets[False], "other": nets[True]}}
    cka = feature_study.cka_table(pair, x, reference="ref")
    last = [analysis.module_features(n, x)[-1] for n in (nets[False], nets[True])]
    assert cka.loc["other", ("a", "last module")] == pytest.approx(
        analysis.linear_cka(last[0], last[1], debiased=True))
    assert paper.CKA  # the paper's values exist beside


def test_split_summary_and_info_table():
    from recur import datasets, mazes

    train, test = mazes.generate(50, 3, 0), mazes.generate(10, 3, 1)
    row = mazes.split_summary(train, test, 2)
    lengths = mazes.path_lengths(train)
    assert row["mean path"] == round(float(lengths.mean()), 2) and row["train"] == 50
    assert row["image px"] == mazes.image_size(3, 2)
    overlap = np.isin(mazes.maze_hashes(test), mazes.maze_hashes(train)).sum()
    assert row["train/test overlap"] == overlap
    info = datasets.info_table()
    assert sorted(info.index) == sorted(datasets.IMAGE_DATASETS)
    assert info.loc["digits", "flip"] == datasets.INFO["digits"].flip


def test_the_nets_of_notebook_05_by_family_form_depth_and_seed():
    torch.manual_seed(0)
    kinds = [("convnet", r, d) for r, d in ((True, 8), (False, 8), (False, 4))]
    made = {(*k, s): build_model(k[0], recurrent=k[1], depth=k[2], dataset="digits",
                                 width=4).eval() for s in (0, 1, 2) for k in kinds}
    nets = feature_study.Nets({k: None for k in made}, made, pd.DataFrame())
    assert nets("convnet", True, 8, 1) is made[("convnet", True, 8, 1)]
    assert nets.describe() == ("convnet depth 8 recurrent, convnet depth 8 feed-forward, "
                               "convnet depth 4 feed-forward")
    pairings = feature_study.cka_pairings(nets, [0, 1, 2])
    assert list(pairings) == ["same seed", "seeds 0, 1", "seeds 1, 2", "seeds 2, 0"]
    ring = pairings["seeds 2, 0"]
    assert ring[feature_study.REFERENCE] is made[("convnet", False, 8, 2)]
    assert ring[claims.SAME_DEPTH] is made[("convnet", True, 8, 0)]
    assert ring[claims.SHALLOWER] is made[("convnet", False, 4, 0)]
    assert ring[feature_study.ANOTHER_SEED] is made[("convnet", False, 8, 0)]
    assert feature_study.ANOTHER_SEED not in pairings["same seed"]
    x = torch.randn(30, 1, 32, 32)
    cka = feature_study.cka_table(pairings, x)
    assert list(cka.index) == [claims.SAME_DEPTH, claims.SHALLOWER, feature_study.ANOTHER_SEED]
    across = feature_study.across_seeds(cka)
    assert list(across) == ["seeds 0, 1", "seeds 1, 2", "seeds 2, 0"]
    assert across["seeds 0, 1"].equals(cka[("seeds 0, 1", "last module")])
    maps = feature_study.cka_maps(pairings["same seed"], x)
    from recur import analysis
    feats = [analysis.module_features(made[("convnet", r, d, 0)], x)
             for r, d in ((False, 8), (True, 8), (False, 4))]
    assert np.allclose(maps[1], analysis.cka_matrix(feats[0], feats[2], debiased=True))
    assert maps[0].shape == (5, 5) and maps[1].shape == (5, 1)


def test_untrained_control_and_reuse_summary():
    c = make_config("quick", "classification", family="convnet", recurrent=True, depth=8,
                    dataset="digits", seed=3)
    net = feature_study.untrained(c)
    torch.manual_seed(3)
    direct = build_model("convnet", recurrent=True, depth=8, dataset="digits", width=c.width)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 direct.state_dict().values()))
    reuse = {"trained": {"pairs": 10, "mean_ratio": 0.61234, "frac_reused": 0.5,
                         "frac_pairs_used_everywhere": 0.25}}
    table = feature_study.reuse_summary(reuse)
    assert table.loc["mean ratio", "trained"] == 0.612 and len(table) == 4


def test_probe_summaries_and_picture_summaries():
    probes = pd.DataFrame([{"features": "full", "net": FORMS[r], "module": m, "seed": s,
                            "dims": 100, "train_acc": 90.0 + s, "test_acc": 91.0 - r * 5,
                            "train_acc_paper": 80.0, "test_acc_paper": 70.0}
                           for r in (False, True) for m in (1, 2) for s in (0, 1)])
    mean = feature_study.probe_means(probes)
    assert len(mean) == 4 and mean.train_acc.iloc[0] == 90.5
    assert feature_study.test_above_train(mean) == [
        f"{FORMS[False]} full module {m} (+0.5)" for m in (1, 2)]
    text = feature_study.probe_text(mean)
    assert text.loc[("full", FORMS[True]), ("ours", 1)] == "90.5/86.0"
    assert text.loc[("full", FORMS[True]), ("paper", 2)] == "80.0/70.0"
    pictures = {(True, 3): {"silent": [False, True], "depths": [0.2], "starts": [0.9, np.nan]},
                (False, 1): {"silent": [False, False], "depths": [0.4], "starts": [0.5, 0.7]}}
    assert feature_study.silent_pictures(pictures) == [f"{FORMS[True]} filter 3 at 2"]
    sim = feature_study.picture_similarity(pictures)
    assert sim[FORMS[True]] == (0.2, 0.9) and sim[FORMS[False]] == (0.4, 0.6)


def test_facts_of_notebooks_01_02_and_04():
    counts = pd.DataFrame({"family": ["mlp", "mlp", "convnet"], "effective depth": [3, 4, 4],
                           "feed-forward params": [10, 20, 30], "recurrent params": [10, 10, 30]})
    facts = claims.fewer_parameters(counts)
    assert [f.claim for f in facts] == [verdicts.fewer_parameters(counts[counts.family == f], f)
                                        .claim for f in ("mlp", "convnet")]
    table = pd.DataFrame({"train": [10, 10], "test": [2, 2], "mean path": [5.0, 7.5],
                          "train/test overlap": [0, 0]}, index=["small", "large"])
    maze = claims.maze_data(table, {5: 0.1, 7: 0.0})
    assert [f.holds for f in maze] == [True, True, True, True]
    assert maze[0].checked.startswith("all 24 mazes") and maze[3].checked.startswith("5.0 < 7.5")
    assert not claims.maze_data(table, {5: 0.6, 7: 0.0})[1].holds
    sizes = pd.DataFrame({"paper width": [3_560_000, 11_200_000], "trained width": [300, 1000]})
    fact = claims.parameter_ratio(sizes)
    assert fact == verdicts.parameter_ratio(3_560_000, 11_200_000, 3.56 / 11.2, trained=0.3)


def test_full_feature_probes_are_a_verdict_row_that_names_their_saturation():
    """Table 3's probes decided like Table 6's, paired by seed; the why says the training
    accuracy is saturated where the features outnumber the training images."""
    rows = [(r, f, m, s, 90.0 + s + 0.1 * r * s, 100.0, 4096 if f == "full" else 16)
            for r in (False, True) for f in ("full", "pooled") for m in (1, 2) for s in range(3)]
    probes = pd.DataFrame(rows, columns=["recurrent", "features", "module", "seed", "test_acc",
                                         "train_acc", "dims"])
    reuse = pd.DataFrame({"seed": [0, 1, 2], "trained": [0.7, 0.8, 0.75],
                          "untrained": [0.5, 0.5, 0.52]})
    full = claims.features(reuse=reuse, probes=probes, seed=0, cka={}, pictures={})[2]
    assert full.claim.startswith("full-feature linear probes (Table 3)")
    assert full.verdict == REPRODUCED and "module 2: gap +0.10" in full.ours
    assert "training accuracy of these probes 100.0–100.0%" in full.why and "4,096" in full.why


def test_the_looped_transformers_claims_are_the_three_shapes_on_its_runs():
    """Notebook 06's rows: the rise with depth (both forms), the forms within ±1 pt, and the
    thesis, each as verdicts decides it on the same runs (a looped net like the deep one)."""
    rng = np.random.default_rng(6)
    base = {4: 60.0, 6: 80.0, 8: 90.0}
    runs = pd.DataFrame([dict(recurrent=r, depth=d, seed=s, test_acc=a + rng.normal(0, 0.1),
                              iterations=(d - 2) // 2 if r else None, family="transformer",
                              parameters=100 if r or d == 4 else 100 * (d - 2) // 2)
                         for s in range(4) for d, a in base.items() for r in (False, True)])
    found = claims.looped(runs, "2-hop")
    assert [f.claim for f in found] == [
        "2-hop: accuracy rises with effective depth",
        "2-hop: recurrent ≈ feed-forward at equal effective depth (±1 pt)",
        "2-hop: nearer the feed-forward net of its effective depth than of its parameters"]
    assert [f.verdict for f in found] == [REPRODUCED] * 3
    assert found[1].verdict == verdicts.forms_agree(runs, "2-hop", margin=1.0).verdict
    # the claims are the looped-transformer literature's, not this paper's, and say so
    assert all(f.paper.startswith(claims.LOOPED_SOURCE + ": ") for f in found)
    assert [f.paper for f in found] == [f"{claims.LOOPED_SOURCE}: {said}"
                                        for said in claims.LOOPED_SAID]
