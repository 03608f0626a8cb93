"""run_all trains a list of configs once and returns one row per run; the tables built on
its result agree with the run records."""
import numpy as np
import pandas as pd
import pytest

from recur import experiments, results
from recur.config import TrainConfig
from recur.train import load_trained

TINY = dict(experiment="mazes", family="maze", recurrent=True, depth=8, dataset="mazes",
            width=4, maze_size=3, maze_scale=1, maze_crop=None, n_train=40, n_test=20,
            optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=2e-4, warmup_epochs=5.0,
            milestones=(), gamma=0.1, epochs=1, batch_size=20, device="cpu", precision="fp32",
            extra_iterations=2)


@pytest.fixture(scope="module")
def configs():
    return [TrainConfig.from_dict(dict(TINY, recurrent=r, depth=d, seed=s))
            for d in (8, 12) for r in (False, True) for s in (0, 1)]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    # Module-scoped fixtures run before tests/conftest.py's per-test RECUR_RESULTS: name it.
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def trained(configs, results_dir):
    lines = []
    runs = experiments.run_all(configs, log=lines.append, results_dir=results_dir)
    return runs, lines


def test_one_row_per_config_with_the_records_values(configs, trained):
    runs, lines = trained
    assert len(runs) == len(lines) == len(configs)
    assert list(runs.name) == [c.name() for c in configs]
    assert list(runs.columns[:3]) == ["experiment", "family", "dataset"]
    for (_, row), c, line in zip(runs.iterrows(), configs, lines):
        record = {"config": row.config, "metrics": {k: row[k] for k in results.METRICS}}
        assert (row.depth, row.recurrent, row.seed) == (c.depth, c.recurrent, c.seed)
        assert 0 <= row.test_acc <= 100 and 0 <= row.train_acc <= 100
        assert line == experiments.describe(record)
        assert f"depth {c.depth:2d} {'recurrent' if c.recurrent else 'feed-forward'}" in line
        assert f"seed {c.seed}: test {row.test_acc:5.1f}%" in line


def test_a_second_call_reads_the_records_back(configs, trained, results_dir):
    runs, _ = trained
    records = sorted((results_dir / "runs").glob("*.json"))
    assert len(records) == len(configs)
    written = {p: p.stat().st_mtime_ns for p in records}
    again = experiments.run_all(configs, log=None, results_dir=results_dir)
    pd.testing.assert_frame_equal(again, runs)  # same seconds and histories: not retrained
    assert {p: p.stat().st_mtime_ns for p in records} == written


def test_run_all_takes_configs_only():
    with pytest.raises(ValueError, match="TrainConfig"):
        experiments.run_all([TINY], log=None)
    assert experiments.run_all([], log=None).empty


def test_comparison_keeps_the_varying_keys(trained):
    runs, _ = trained
    table = results.comparison(runs)  # was experiments.comparison
    assert table.index.names == ["depth"] and list(table.index) == [8, 12]
    mean = runs[(runs.depth == 8) & runs.recurrent].test_acc.mean()
    assert table.loc[8, "recurrent"].startswith(f"{mean:.1f} ± ")


def test_iteration_table_is_mean_and_standard_error_over_seeds(trained):
    runs, _ = trained
    table = experiments.iteration_table(runs)
    rec12 = runs[(runs.depth == 12) & runs.recurrent]
    curves = np.array(rec12.test_acc_per_iteration.tolist())  # (seeds, 2 + 2 extra)
    t12 = table[table.depth == 12]
    assert list(t12.iteration) == [1, 2, 3, 4] and set(t12.iterations) == {2}
    np.testing.assert_allclose(t12["mean"], curves.mean(0))
    np.testing.assert_allclose(t12.se, curves.std(0, ddof=1) / np.sqrt(2))


def test_thinking_longer_on_larger_mazes(configs, trained, results_dir):
    """The study scores each trained net on mazes two cells wider, per iteration, as a
    direct evaluation of its weights does, and keeps the result: a second call reads it."""
    from recur import mazes
    from recur.data import maze_batches
    from recur.evaluation import evaluate

    study = experiments.larger_mazes(configs, results_dir=results_dir)
    assert list(study.name) == [c.name() for c in configs] and set(study.cells) == {5}
    rec = configs[-1]  # depth 12, recurrent, seed 1: 2 iterations + 2 extra
    larger = maze_batches(rec, "test", "cpu", cells=mazes.cells_for(3) + 2, n=20)
    direct = evaluate(load_trained(rec, results_dir=results_dir), larger, "mazes", iterations=4)
    assert study.acc_per_iteration.iloc[-1] == direct and len(direct) == 4
    kept = sorted((results_dir / "studies" / "larger-mazes").glob("*.json"))
    assert len(kept) == len(configs)
    # rec's own file ("-d12-" sorts before "-d8-", so not simply the last): read, not redone
    (mine,) = [p for p in kept if p.name.startswith(rec.name() + "-")]
    mine.write_text('{"acc_per_iteration": [12.5, 25.0, 37.5, 50.0]}')
    again = experiments.larger_mazes(configs, results_dir=results_dir)
    assert again.acc_per_iteration.iloc[-1] == [12.5, 25.0, 37.5, 50.0]
    longer = experiments.think_longer(again, "acc_per_iteration")
    curves = np.array(again[(again.depth == 12) & again.recurrent].acc_per_iteration.tolist())
    ff = np.mean([a[0] for a in again[(again.depth == 12) & ~again.recurrent].acc_per_iteration])
    mean = curves.mean(0)
    assert longer.loc[12].to_dict() == pytest.approx({
        "trained iterations": 2, "recurrent % at trained": mean[1], "best recurrent %": mean.max(),
        "best at": int(np.argmax(mean)) + 1, "feed-forward %": ff})


def test_parameter_counts_one_row_per_depth(configs, trained):
    runs, _ = trained
    counts = experiments.parameter_counts(configs).set_index("effective depth")
    assert list(counts.index) == [8, 12] and list(counts["n (modules or iterations)"]) == [1, 2]
    for d in (8, 12):
        for form, recurrent in (("feed-forward", False), ("recurrent", True)):
            row = runs[(runs.depth == d) & (runs.recurrent == recurrent)].iloc[0]
            assert counts.loc[d, f"{form} params"] == row.parameters


def test_test_accuracy_of_a_trained_net_is_its_records(configs, trained, results_dir):
    runs, _ = trained
    config = configs[-1]
    net = load_trained(config, results_dir=results_dir)
    assert experiments.accuracy_on_test_set(config, net) == runs.test_acc.iloc[-1]


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, text):
        return len(text)

    def flush(self):
        pass


@pytest.mark.parametrize("session,tty,expected", [(True, False, "bar"), (False, True, "bar"),
                                                  (False, False, "none")])
def test_a_bar_per_model_when_a_person_watches_and_none_in_batch(monkeypatch, session, tty,
                                                                   expected):
    """JupyterLab's kernels carry JPY_SESSION_NAME (papermill's, nbval's and CI's do not)."""
    import sys
    from recur import train as trainer
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    if session:
        monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/03_mazes.ipynb")
    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    seen = []
    monkeypatch.setattr(trainer, "train", lambda config, **kw: seen.append(kw["progress"]) or
                        {"name": config.name(), "finished": True, "config": config.to_dict(),
                         "metrics": {"test_acc": 1.0, "train_acc": 1.0, "seconds": 0.0},
                         "provenance": {}})
    experiments.run_all([TrainConfig.from_dict(TINY)], log=None)
    assert seen == [expected]


def test_the_bar_counts_a_runs_epochs(tmp_path, capsys):
    from recur import train as trainer
    config = TrainConfig.from_dict(dict(TINY, epochs=3))
    trainer.train(config, results_dir=tmp_path, progress="bar")
    err = capsys.readouterr().err
    assert "maze recurrent depth 8 seed 0" in err and "3/3" in err and "loss=" in err


def test_test_accuracy_is_scored_in_the_precision_the_trainer_used(monkeypatch, configs):
    from recur.evaluation import build_net

    seen = {}
    monkeypatch.setattr(experiments, "score", lambda net, source, experiment, **kw:
                        seen.update(kw) or {"curve": [0.0], "correct": [True]})
    net = build_net(configs[0])
    experiments.accuracy_on_test_set(configs[0].replace(precision="bf16"), net)
    assert seen["bf16"] is True
    experiments.accuracy_on_test_set(configs[0], net)  # precision fp32
    assert seen["bf16"] is False
    experiments.test_correct(configs[0].replace(precision="bf16"), net)  # scored alike
    assert seen["bf16"] is True


@pytest.mark.parametrize("ratio", [0.05, 0.318, 0.5, 1.0])
def test_width_for_ratio_is_the_closest_width_by_exhaustive_search(ratio):
    """Oracle: count the parameters at every width from 2 to 80 and take the nearest."""
    from recur.models import count_parameters
    from recur.profiles import make_config
    from recur.evaluation import build_net
    ours = make_config("quick", "classification", family="resnet_bn", recurrent=True, depth=11)
    reference = make_config("quick", "classification", family="resnet18", recurrent=False,
                            depth=18, width=12)
    target = ratio * count_parameters(build_net(reference))
    best = min(range(2, 81), key=lambda w: (abs(
        count_parameters(build_net(ours.replace(width=w))) - target), w))
    assert experiments.width_for_ratio(ours, reference, ratio) == best


def test_runs_with_another_split_are_never_averaged_together():
    """with_settings reads the split from each record's config (records made before the field
    existed read as the fixed split), and comparison keeps the splits apart."""
    base = dict(experiment="classification", dataset="digits", family="mlp", depth=4)
    rows = [dict(base, recurrent=r, seed=s, test_acc=90.0 + s + 5 * fixed,
                 config=dict(seed=s, **({} if fixed else {"split_seed": s})))
            for r in (False, True) for s in (0, 1) for fixed in (True, False)]
    df = results.with_settings(pd.DataFrame(rows))
    assert list(df.split) == ["fixed", "per seed"] * 4
    assert results._split({"seed": 2, "split_seed": 7}) == "seed 7"
    table = results.comparison(pd.DataFrame(rows), compact=False).set_index("split")
    assert table.loc["fixed", "feed-forward"].startswith("95.5 ± 0.5 (n=2)")
    assert table.loc["per seed", "feed-forward"].startswith("90.5 ± 0.5 (n=2)")


def _two_forms(accs):
    """Runs of family mlp at depths 3 and 4: (recurrent, depth, seed) -> test accuracy."""
    return pd.DataFrame([{"family": "mlp", "recurrent": r, "depth": d, "seed": s, "test_acc": a,
                          "train_acc": a + 1} for (r, d, s), a in accs.items()])


def test_shallowest_depths_and_the_largest_spread():
    accs = {(r, d, s): 80.0 + s + (d == 4) * r * 5 * s for r in (False, True) for d in (3, 4)
            for s in (0, 1, 2)}
    runs = _two_forms(accs)
    assert experiments.shallowest_identical(runs)
    worst = experiments.largest_spread(runs)  # recurrent depth 4: 80, 86, 92
    assert (worst["family"], worst["recurrent"], worst["depth"]) == ("mlp", True, 4)
    assert worst["test_acc"] == [80.0, 86.0, 92.0] and worst["train_acc"] == [81.0, 87.0, 93.0]
    assert experiments.spread_text(runs).startswith("largest spread over seeds: mlp recurrent "
                                                    "depth 4: test 80.0%, 86.0%, 92.0%")
    one_seed = runs[runs.seed == 0]  # the class setting: one seed, nothing spreads
    assert experiments.largest_spread(one_seed) is None
    assert experiments.spread_text(one_seed) == ("largest spread over seeds: none (one seed "
                                                 "per configuration)")
    accs[(True, 3, 1)] += 0.1
    assert not experiments.shallowest_identical(_two_forms(accs))


def test_the_batchnorm_sweep_is_the_notebooks_grid():
    from recur import sweep

    recipe = dict(dataset="digits", seeds=[0, 1], n_train=200, epochs=8, profile="quick",
                  device="cpu")
    ours, shared, reference = experiments.batchnorm_sweep(depth=11, width=16, **recipe)
    common = dict(seeds=[0, 1], datasets=["digits"], profile="quick", device="cpu",
                  n_train=200, epochs=8, milestones=(6,))
    direct = sweep.grid("classification", families=["resnet_bn"], depths=[11], forms=(True,),
                        **common)
    assert [c.name() for c in ours] == [c.replace(width=16).name() for c in direct]
    assert [c.name() for c in shared] == [c.replace(shared_norm=True).name() for c in ours]
    assert [c.name() for c in reference] == [c.name() for c in sweep.grid(
        "classification", families=["resnet18"], depths=[18], forms=(False,), **common)]
    assert experiments.batchnorm_sweep(depth=7, width=16, **recipe)[1] == []  # one iteration
    assert experiments.batchnorm_recipe(**(recipe | {"n_train": 0, "epochs": 0})) == dict(
        seeds=[0, 1], datasets=["digits"], profile="quick", device="cpu", n_train=None)


def test_the_size_report_is_model_sizes_arithmetic():
    ours, _, reference = experiments.batchnorm_sweep(
        depth=11, width=8, dataset="digits", seeds=[0], n_train=0, epochs=0, profile="quick",
        device="cpu")
    r = experiments.size_report(ours[0], reference[0])
    sizes = experiments.model_sizes([ours[0], reference[0]])
    assert r.sizes.equals(sizes) and r.ours == sizes["trained width"].iloc[0]
    assert r.ratio["trained width"] == sizes["trained width"].iloc[0] / sizes[
        "trained width"].iloc[1]
    deeper = experiments.model_sizes([ours[0].replace(depth=15)])["trained width"].iloc[0]
    assert r.per_iteration == deeper - r.ours > 0
    one = experiments.model_sizes([ours[0].replace(shared_norm=True)])["trained width"].iloc[0]
    assert r.shared == one < r.ours
    assert r.at_reference == experiments.model_sizes(
        [ours[0].replace(width=reference[0].width)])["trained width"].iloc[0]


def test_shared_norm_table_and_its_lines():
    rows = [{"family": "resnet_bn", "seed": s, "shared_norm": one,
             "train_acc": 90.0 + s - 9 * one, "test_acc": 80.0 + s - 9 * one,
             "history": [{"train_acc": 50.0}, {"train_acc": 95.0 + s}]}
            for s in (0, 1) for one in (False, True)]
    runs = pd.DataFrame(rows + [{"family": "resnet18", "seed": 0, "shared_norm": False,
                                 "train_acc": 1.0, "test_acc": 1.0, "history": []}])
    side, means = experiments.shared_norm_table(runs)
    assert list(side.columns) == [f"{v} ({n})" for v in ("fit_acc", "train_acc", "test_acc")
                                  for n in ("per iteration", "one shared")]
    assert side.loc[1, "fit_acc (one shared)"] == 96.0
    assert side.loc[0, "test_acc (one shared)"] == 71.0
    assert means.loc[True, "test_acc"] == 71.5 and means.loc[False, "fit_acc"] == 95.5
    line = experiments.shared_norm_text(means, n_seeds=2, depth=19)
    assert "test accuracy 80.50% against 71.50%" in line and line.startswith("means over 2 seeds")
    assert "none trained" in experiments.shared_norm_text(means.iloc[:1], n_seeds=2, depth=7)
    assert experiments.statistics_three_ways([]) is None
    assert experiments.statistics_text(None, seed=0, per_iteration=[True], depth=7) == (
        "depth 7 is one iteration: nothing to separate")
    right = {k: np.arange(1000) < 10 * v for k, v in
             {"as trained": 10.0, "one set": 10.3, "per iteration": 97.5}.items()}
    text = experiments.statistics_text(right, seed=0, per_iteration=np.arange(1000) < 990,
                                       depth=19)
    assert text.startswith("seed 0, the net trained with one shared BatchNorm, test accuracy: "
                           "10.0% as trained, 10.3% one set, 97.5% per iteration")


def test_variance_growth_is_the_last_iteration_over_the_first():
    stats = pd.DataFrame([{"iteration": i, "layer": k, "mean running var": v}
                          for i, row in enumerate([[1.0, 2.0], [2.0, 2.0], [4.0, 1.0]], 1)
                          for k, v in enumerate(row, 1)])
    growth = experiments.variance_growth(stats)
    assert list(growth.factors) == [4.0, 0.5] and growth.largest == 4.0
    assert growth.iterations == 3 and growth.table.shape == (3, 2)


def test_table1_gap_is_ours_minus_resnet18_with_cifar10_for_the_digits():
    from recur import paper
    assert paper.table1_gap("svhn") == pytest.approx(96.04 - 95.48)
    assert paper.table1_gap("digits") == paper.table1_gap("cifar10") == pytest.approx(-0.70)
