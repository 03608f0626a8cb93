"""Notebook 06's study (recur.looped_study): the sequence it shows follows the hops that
the independent solver follows, the task's checks count what they say, thinking longer
puts the deep nets beside the looped ones, and the update-size table is analysis's
update sizes, one row per step, with the steps a net was asked for."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from recur import analysis, looped_study, phop, plots
from recur.evaluation import build_net
from recur.forms import FORMS

SMALL = dict(n_train=300, n_test=100, width=8, heads=2)


def _configs(depths=(4, 6), seeds=(0,), hops=1):
    return [c.replace(**SMALL) for c in looped_study.grid(list(depths), list(seeds), hops=hops,
                                                          profile="quick", device="cpu")]


def test_the_grid_is_both_forms_of_the_transformer_on_p_hop():
    configs = _configs(depths=(4, 8), seeds=(0, 1), hops=2)
    assert {(c.depth, c.recurrent, c.seed) for c in configs} == {
        (d, r, s) for d in (4, 8) for r in (False, True) for s in (0, 1)}
    assert {(c.family, c.dataset, c.hops) for c in configs} == {("transformer", "phop", 2)}
    text = looped_study.describe(configs)
    assert text.startswith("8 runs: depths [4, 8]") and "2 hops" in text


@pytest.mark.parametrize("hops", [1, 3])
def test_the_shown_sequence_marks_the_hops_the_solver_follows(hops):
    tokens, answers = phop.generate(20, hops=hops, seed=5)
    for row, answer in zip(tokens, answers):
        text = looped_study.show_sequence(row, hops)
        first, *steps, last = text.splitlines()
        assert len(steps) == hops and last == f"answer: '{looped_study.SYMBOLS[answer]}'"
        cells = [first[i:i + 3] for i in range(len("positions 0-31: "), len(first), 3)]
        assert len(cells) == len(row) and cells[-1][0] == "("
        landing = int(steps[-1].split()[-1])  # "... so move to N": where the last hop lands
        assert cells[landing] == "{" + looped_study.SYMBOLS[answer] + "}"
        assert [c[1] for c in cells] == [looped_study.SYMBOLS[t] for t in row]


def test_a_sequence_without_its_hops_is_refused():
    with pytest.raises(ValueError, match="hop 2 of this sequence does not exist"):
        phop.chain([0, 1, 2, 1], 2)  # hop 1 lands on the 2 at position 2: no earlier 2


def test_task_checks_count_against_the_solver_and_the_training_set(monkeypatch):
    configs = _configs(seeds=(0, 1))
    table = looped_study.task_checks(configs)
    assert list(table.index) == [0, 1]
    assert (table.train == 300).all() and (table.test == 100).all()
    assert (table["answers unlike the solver's"] == 0).all()
    assert (table["train/test overlap"] == 0).all()
    # a damaged split is counted: the solver's answers differ, a test sequence is a train one
    real = looped_study.data.phop_splits

    def damaged(config):
        train, test = real(config)
        tokens = test.tokens.copy()
        tokens[0] = train.tokens[0]
        return train, phop.Split(tokens, (test.answers + 1) % 4)
    monkeypatch.setattr(looped_study.data, "phop_splits", damaged)
    bad = looped_study.task_checks(configs[:1])
    assert bad.loc[0, "answers unlike the solver's"] >= 99  # all but a coincidence at row 0
    assert bad.loc[0, "train/test overlap"] == 1


def test_think_longer_puts_the_deep_nets_score_beside_the_looped_curve():
    runs = pd.DataFrame([
        {"recurrent": False, "depth": 6, "seed": s, "iterations": 2, "test_acc": 90.0 + s,
         "test_acc_per_iteration": None} for s in (0, 1)] + [
        {"recurrent": True, "depth": 6, "seed": s, "iterations": 2, "test_acc": 80.0 + s,
         "test_acc_per_iteration": [50.0 + s, 80.0 + s, 85.0 + s]} for s in (0, 1)])
    row = looped_study.think_longer(runs).loc[6]
    assert row[f"{FORMS[False]} %"] == 90.5 and row[f"{FORMS[True]} % at trained"] == 80.5
    assert row["best at"] == 3 and row[f"best {FORMS[True]} %"] == 85.5


def test_the_update_table_is_analysis_update_sizes_per_step(monkeypatch):
    configs = _configs(depths=(6,))
    nets = {}

    def fresh(config):
        torch.manual_seed(config.recurrent)
        return nets.setdefault(config.name(), build_net(config).eval())
    monkeypatch.setattr(looped_study.trainer, "load_trained", fresh)
    table = looped_study.update_table(configs, longer=3, n=16)
    ff, rec = (table[table.recurrent == r] for r in (False, True))
    assert list(ff.iteration) == [1, 2] and list(rec.iteration) == list(range(1, 7))
    assert set(table.iterations) == {2} and set(table.task) == {looped_study.TASKS["phop"]}
    x = torch.as_tensor(looped_study.data.phop_splits(configs[1])[1].tokens[:16])
    path = analysis.trajectory(nets[configs[1].name()], x, 6)
    assert all(np.allclose(rec[k], path[k]) for k in ("size", "step", "norm"))


def _sizes(falls: bool, step=lambda k: 1.0, norm=lambda k: float(k)) -> pd.DataFrame:
    steps = range(1, 7)
    return pd.DataFrame([
        {"task": "t", "recurrent": True, "depth": 6, "seed": s, "iterations": 2,
         "iteration": k, "size": (1.0 / k if falls else 0.1 * k) + 0.01 * s,
         "step": step(k), "norm": norm(k)}
        for s in (0, 1) for k in steps])


def test_the_update_text_reads_the_means_it_names():
    """Relative updates that fall like 1/k on steady steps are a drift on growing
    features, not a settling: the line says which, from the steps and norms."""
    assert looped_study.update_text(_sizes(True)).startswith(
        "t: relative update 1.005 after iteration 1, 0.505 at the trained 2, 0.172 at 6; "
        "from 2 to 6 the step changes x1.00 and the features' norm x3.00: the steps stay "
        "about the same size while the features grow: they drift, they do not settle")
    settle = looped_study.update_text(_sizes(True, step=lambda k: 1.0 / k ** 2))
    assert "x0.11" in settle and "the iterations settle" in settle
    assert "the steps grow" in looped_study.update_text(_sizes(False, step=float))
    still = looped_study.update_text(_sizes(False, norm=lambda k: 1.0))
    assert "the steps stay about the same size: the features keep moving" in still


def test_the_trajectory_is_one_passes_steps_and_norms():
    """With one example, each relative update is its step over the norm before it."""
    torch.manual_seed(0)
    net = build_net(_configs(depths=(6,))[1]).eval()
    x = torch.as_tensor(phop.generate(1, seed=2)[0])
    path = analysis.trajectory(net, x, 5)
    with torch.no_grad():
        h0 = float(net.prelude(x).flatten(1).norm())
    before = [h0] + path["norm"][:-1]
    assert np.allclose(path["size"], np.array(path["step"]) / np.array(before))
    assert path["size"] == analysis.update_sizes(net, x, 5) and len(path["norm"]) == 5


def test_the_last_symbol_guess_is_the_best_map_from_last_symbol_to_answer():
    """By brute force over every map from the last symbol to a guess."""
    import itertools
    for hops in (1, 2):
        tokens, answers = phop.generate(400, hops=hops, seed=hops)
        best = max(np.mean([guess[t] == a for t, a in zip(tokens[:, -1], answers)])
                   for guess in itertools.product(range(4), repeat=4))
        split = phop.Split(tokens, answers)
        assert looped_study.last_symbol_guess(split) == pytest.approx(100 * best, abs=0.051)
    # one hop never answers the last symbol (the move-back rule), the premise the docstring
    # of last_symbol_guess states
    one = phop.Split(*phop.generate(400, hops=1, seed=1))
    assert not (one.answers == one.tokens[:, -1]).any()


def test_update_curves_one_log_panel_per_task_with_the_trained_line():
    table = pd.concat([_sizes(True), _sizes(False).assign(task="u", iterations=3)])
    fig = plots.update_curves(table)
    axes = fig.axes
    assert [a.get_title() for a in axes] == ["t", "u"]
    assert all(a.get_yscale() == "log" for a in axes)
    means, = [line.get_ydata() for line in axes[0].lines
              if line.get_label() == f"{FORMS[True]}, depth 6"]
    assert np.allclose(means, [1.0 / k + 0.005 for k in range(1, 7)])
    assert [line.get_xdata()[0] for line in axes[1].lines if line.get_linestyle() == "--"] \
        == [3]
    plt.close(fig)
    with pytest.raises(ValueError, match="no column 'size'"):
        plots.update_curves(table.drop(columns="size"))
