"""recur.maze_study: notebook 03's studies as calls, against direct computations."""
import pandas as pd

from recur import maze_study, paper, results
from recur.forms import FORMS
from recur.models import build_model, convs_to_span, receptive_field
from recur.sweep import grid


def _runs(depths=(8, 12), dilation=1):
    return pd.DataFrame([{"experiment": "mazes", "dataset": "mazes", "family": "maze",
                          "maze_size": "small", "dilation": dilation, "recurrent": r, "depth": d,
                          "seed": s, "test_acc": 50.0 + d + r + s + 5 * (dilation == 2),
                          "train_acc": 60.0 + d}
                         for d in depths for r in (False, True) for s in (0, 1)])


def test_studies_run_with_the_default_depths_or_when_asked():
    assert maze_study.studies_wanted("auto", [8, 20])
    assert not maze_study.studies_wanted("auto", [8, 12, 16, 20, 24])
    assert maze_study.studies_wanted("yes", [8])
    assert not maze_study.studies_wanted("no", [8, 12, 16, 20])


def test_describe_and_receptive_fields():
    configs = grid("mazes", families=["maze"], depths=[8, 12], seeds=[0, 1])
    text = maze_study.describe(configs, studies=False)
    assert text.startswith("8 runs: depths [8, 12] x {feed-forward, recurrent} x seeds [0, 1]\n"
                           "profile quick: width ")
    assert text.endswith("skipped: -p studies yes (or --profile extended) runs them")
    assert "skipped" not in maze_study.describe(configs, studies=True)
    span, fields = maze_study.receptive_fields(configs[0], [8, 12])
    assert span == convs_to_span(5, configs[0].maze_scale)
    assert fields == {d: receptive_field(build_model("maze", recurrent=True, depth=d,
                                                     dataset="mazes", width=8))
                      for d in (8, 12)}


def test_fit_table_is_the_mean_over_seeds():
    runs = _runs()
    fit = results.fit_table(runs)
    assert fit.loc[12, ("test_acc", FORMS[True])] == 50.0 + 12 + 1 + 0.5
    assert fit.loc[8, ("train_acc", FORMS[False])] == 68.0


def test_skipped_studies_say_so_and_draw_nothing():
    empty = results.records_frame([])
    assert maze_study.size_text(empty) == maze_study.SIZES_SKIPPED
    assert maze_study.dilation_text(empty, empty) == maze_study.DILATION_SKIPPED
    assert maze_study.size_figure(empty) is None
    assert maze_study.dilation_figure(empty, empty) is None
    assert maze_study.size_study(["small"], [8], run=False, families=["maze"]).empty
    assert all(t.empty for t in maze_study.dilation_study([8], run=False, families=["maze"]))


def test_dilation_text_beside_table2_and_a_figure_only_with_two_depths():
    plain, dilated = _runs(), _runs(dilation=2)
    text = maze_study.dilation_text(plain, dilated)
    both = pd.concat([plain.assign(filters="undilated"), dilated.assign(filters="dilated by 2")])
    ours = both.pivot_table(index=["filters", "recurrent"], columns="depth", values="test_acc")
    assert text.startswith(ours.rename(index=FORMS).round(1).to_string())
    assert paper.table2().pivot(index="recurrent", columns="depth",
                                values="test_acc").rename(index=FORMS).to_string() in text
    assert maze_study.dilation_figure(plain, dilated) is not None
    assert maze_study.dilation_figure(_runs([8]), _runs([8], 2)) is None
    sizes = pd.concat([_runs([20]).assign(maze_size="large"), _runs([20])])
    fig = maze_study.size_figure(sizes)  # bars at one depth: means over both seeds
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["small", "large"]
    heights = sorted(round(b.get_height(), 3) for b in ax.patches)
    expected = sorted(sizes.groupby(["maze_size", "recurrent"]).test_acc.mean().round(3))
    assert heights == expected and "mean ± s.e. over 2 seeds" in ax.get_title()


def test_paper_scale_runs_or_how_to_make_them():
    assert "holds no maze runs yet" in maze_study.at_paper_scale(results.records_frame([]))
    shown = maze_study.at_paper_scale(_runs())
    assert shown.startswith(results.comparison(_runs().assign(family="small")).to_string())
    assert "paper, Table 2 (small, dilated)" in shown


def test_think_longer_text_reads_the_row():
    row = pd.Series({"trained iterations": 4, "recurrent % at trained": 60.1,
                     "best recurrent %": 62.0, "best at": 6, "feed-forward %": 55.5})
    assert "best 62.0% at 6; feed-forward 55.5%: the mean rises" in maze_study.think_longer_text(
        row, n_seeds=2)
    assert "does not rise" in maze_study.think_longer_text(row.replace({6: 4}), n_seeds=2)



def test_shallow_scores_with_one_seed_and_generation_speed():
    configs = grid("mazes", families=["maze"], depths=[8, 12], seeds=[0])
    runs = pd.DataFrame({"name": [c.name() for c in configs],
                         "test_acc": [16.25, 16.25, 50.0, 40.0]})
    assert maze_study.shallow_scores(configs, runs) == "seed 0: 16.2% of its own test mazes\n"
    solved, drawn = maze_study.generation_speed(64, 3, seed=0)
    assert solved > drawn > 0


def test_the_studies_default_depths_are_notebook_03s_default():
    """``studies="auto"`` runs the size and dilation studies at notebook 03's default
    depths only: the two must not drift apart."""
    import ast
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "03_mazes.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    default = next(ast.literal_eval(n.value) for n in tree.body
                   if isinstance(n, ast.AnnAssign) and n.target.id == "depth")
    assert tuple(default) == maze_study.DEFAULT_DEPTHS


def test_deepest_pair_and_the_iterations_beyond_training():
    configs = grid("mazes", families=["maze"], depths=[8, 12], seeds=[0, 1])
    pair = maze_study.deepest(list(reversed(configs)), seed=1)
    assert [(c.depth, c.recurrent, c.seed) for c in pair] == [(12, False, 1), (12, True, 1)]
    curves = pd.DataFrame({"depth": [8] * 3 + [12] * 4, "iterations": [1] * 3 + [2] * 4,
                           "iteration": [1, 2, 3, 1, 2, 3, 4],
                           "mean": [16.25, 5.0, 0.0, 30.0, 51.94, 20.0, 6.8]})
    assert maze_study.beyond_trained_text(curves) == (
        "two iterations beyond the trained n: depth 8: 16.2% at n = 1, 0.0% at 3; "
        "depth 12: 51.9% at n = 2, 6.8% at 4")
