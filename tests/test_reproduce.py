"""The batch runner, and the rule that committed notebooks come from it."""
import base64
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from recur.profiles import notebook_parameters
from recur.reproduce import RUNNER, notebook_paths, reproduce

ROOT = Path(__file__).resolve().parent.parent


def _notebook(path: Path, *sources, params="profile = 'quick'"):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# test"), cell] + [new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_committed_notebooks_were_made_by_the_runner(path):
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("recur", {})
    assert meta.get("produced_by") == RUNNER and meta.get("profile") == "quick", \
        f"{path.name} was not produced by `{RUNNER} --update-notebooks`"
    code = [c for c in nb.cells
            if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert "papermill" not in nb.metadata
    assert not any("error" == o.get("output_type") for c in code for o in c.outputs)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in code)


def test_runner_executes_in_order_and_continues_past_failures(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_ok.ipynb", "print('profile is', profile)",
              "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    _notebook(src / "02_fails.ipynb", "raise RuntimeError('boom')")
    _notebook(src / "03_after.ipynb", "import os; print(os.environ['RECUR_RESULTS'])")
    out = tmp_path / "out"
    log = []
    before = os.environ.get("RECUR_RESULTS")
    summaries = reproduce("paper", folder=src, output=out, log=log.append)
    assert os.environ.get("RECUR_RESULTS") == before  # told to the kernels, ours unchanged
    assert [s["status"] for s in summaries] == ["ok", "failed", "ok"]
    assert "boom" in summaries[1]["error"]
    nb = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert nb.metadata["recur"]["profile"] == "paper"
    assert nb.metadata["recur"]["parameters"] == {"profile": "paper"}
    assert "profile is paper" in nb.cells[3].outputs[0]["text"]
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    assert list((out / "figures").glob("01_ok-*.png"))
    assert (out / "02_fails.ipynb").exists()  # the partial notebook is kept for debugging
    after = nbformat.read(out / "03_after.ipynb", as_version=4)
    assert str(out) in after.cells[-1].outputs[0]["text"]
    assert not list(out.glob(".*running*"))
    # the reading site, from the notebooks that ran
    index = (out / "site" / "index.html").read_text()
    assert all(f'href="{n}.html"' in index for n in ("01_ok", "02_fails", "03_after"))
    # quick profile = the notebooks' default: nothing injected; --fresh clears old runs
    (out / "runs").mkdir()
    (out / "runs" / "old.json").write_text("{}")
    summaries = reproduce("quick", notebooks=["1"], folder=src, output=out, fresh=True,
                          log=log.append)
    assert not (out / "runs").exists()
    nb = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert nb.metadata["recur"]["parameters"] == {}
    assert len(nb.cells) == 4


def test_sources_are_updated_only_after_every_notebook_ran(tmp_path):
    """--update-notebooks leaves notebooks/ as committed while notebooks run (so records
    and provenance do not see a checkout the runner itself made dirty), then updates the
    sources of those that ran cleanly."""
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_first.ipynb", "print('first ran')")
    _notebook(src / "02_second.ipynb", "import json\n"
              "first = json.load(open('01_first.ipynb'))\n"
              "print('outputs in 01 source:', "
              "sum(len(c.get('outputs', [])) for c in first['cells']))")
    _notebook(src / "03_fails.ipynb", "raise RuntimeError('boom')")
    before = (src / "03_fails.ipynb").read_text()
    summaries = reproduce("quick", folder=src, output=tmp_path / "out", update_notebooks=True,
                          log=lambda *a: None)
    assert [s["status"] for s in summaries] == ["ok", "ok", "failed"]
    second = nbformat.read(src / "02_second.ipynb", as_version=4)
    assert "outputs in 01 source: 0" in second.cells[-1].outputs[0]["text"]
    first = nbformat.read(src / "01_first.ipynb", as_version=4)
    assert "first ran" in first.cells[-1].outputs[0]["text"]  # updated at the end
    assert (src / "03_fails.ipynb").read_text() == before  # a failed one is left alone


def _git(*args) -> str:
    import subprocess
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


EXTENDED = sorted((ROOT / "results" / "extended").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", EXTENDED, ids=lambda p: p.name)
def test_the_extended_profiles_notebooks_were_made_by_the_runner_with_its_parameters(path):
    from recur.profiles import notebook_parameters
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("recur", {})
    assert meta.get("produced_by") == RUNNER and meta.get("profile") == "extended"
    assert meta["parameters"] == {"profile": "extended",
                                  **notebook_parameters("extended", path.name[:2])}
    code = [c for c in nb.cells
            if c.cell_type == "code" and "skip-execution" not in c.metadata.get("tags", [])]
    assert not any("error" == o.get("output_type") for c in code for o in c.outputs)
    source = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
    ran = [c.source for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert ran == [c.source for c in source.cells], f"{path.name} ran other cells than notebooks/"


@pytest.mark.parametrize("path", notebook_paths() + EXTENDED,
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_committed_notebooks_name_the_code_they_ran(path):
    """The commit a committed notebook records was clean, and it had the same library
    (recur/) and the same notebook code as the commit that holds the executed notebook:
    a notebook is never older than the code it presents."""
    try:
        holder = _git("log", "-1", "--format=%H", "--", str(path.relative_to(ROOT)))
    except Exception as err:  # not a git checkout (an sdist): nothing to compare
        pytest.skip(f"no git history here ({err})")
    recorded = nbformat.read(path, as_version=4).metadata["recur"]["git_commit"]
    assert recorded and not recorded.endswith("-dirty"), f"{path.name} ran on {recorded}"
    assert _git("rev-parse", f"{recorded}:recur") == _git("rev-parse", f"{holder}:recur"), \
        f"{path.name} ran on {recorded[:9]}, whose recur/ differs from {holder[:9]}'s"
    rel = f"notebooks/{path.name}"  # the notebook's code, then and when its run was committed
    then = nbformat.reads(_git("show", f"{recorded}:{rel}"), as_version=4)
    now = nbformat.reads(_git("show", f"{holder}:{rel}"), as_version=4)
    assert [c.source for c in then.cells] == [c.source for c in now.cells], \
        f"{path.name}'s cells changed after the run that executed it"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_every_notebook_ends_with_exercises_that_batch_runs_skip(path):
    """Two or three exercises for a class, after an '## Exercises' heading; their code cells
    are tagged so that papermill (nbclient's skip-execution) and nbval (nbval-skip) pass
    them by, and they are committed unexecuted."""
    nb = nbformat.read(path, as_version=4)
    heading = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "markdown" and c.source.startswith("## Exercises")]
    assert len(heading) == 1, "one '## Exercises' section"
    tail = nb.cells[heading[0]:]
    assert all("exercise" in c.metadata.get("tags", []) for c in tail)
    code = [c for c in tail if c.cell_type == "code"]
    assert 2 <= len(code) <= 3
    for c in code:
        assert {"skip-execution", "nbval-skip"} <= set(c.metadata.get("tags", []))
        assert c.outputs == [] and c.execution_count is None
    assert not any("exercise" in c.metadata.get("tags", []) for c in nb.cells[:heading[0]])


def test_runner_skips_cells_tagged_for_people(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_x.ipynb", "print('ran')", "raise RuntimeError('an exercise ran')")
    nb = nbformat.read(src / "01_x.ipynb", as_version=4)
    nb.cells[-1].metadata["tags"] = ["exercise", "skip-execution", "nbval-skip"]
    nbformat.write(nb, src / "01_x.ipynb")
    [summary] = reproduce("quick", folder=src, output=tmp_path / "out", log=lambda *a: None)
    assert summary["status"] == "ok"
    out = nbformat.read(tmp_path / "out" / "01_x.ipynb", as_version=4)
    assert out.cells[-1].outputs == [] and out.cells[-1].execution_count is None
    assert [c.execution_count for c in out.cells if c.cell_type == "code"] == [1, 2, None]


def test_runner_rejects_bad_selections(tmp_path):
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        reproduce("fast")
    with pytest.raises(ValueError, match="no notebook numbered 99"):
        reproduce("quick", notebooks=["99"])
    with pytest.raises(ValueError, match="update-notebooks"):
        reproduce("paper", update_notebooks=True)


def test_readme_table_is_regenerated_from_run_records(tmp_path):
    runs = tmp_path / "results" / "runs"
    runs.mkdir(parents=True)
    for i, (rec, seed, acc) in enumerate([(False, 0, 80.0), (False, 1, 90.0), (True, 0, 70.0)]):
        config = {"experiment": "mazes", "dataset": "mazes", "family": "maze", "depth": 20,
                  "recurrent": rec, "seed": seed, "width": 32}
        (runs / f"r{i}.json").write_text(json.dumps({
            "name": f"r{i}", "finished": True, "config": config,
            "metrics": {"test_acc": acc, "train_acc": 100.0}, "provenance": {}}))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- results:start -->\nold\n<!-- results:end -->\ntail\n")
    from recur.readme import update_readme
    assert update_readme("quick", tmp_path / "results", readme)
    text = readme.read_text()
    assert ("| mazes | mazes | maze |  | 1 | all | False |  | 20 | 85.0 ± 5.0 (n=2) "
            "| 70.0 ± 0.0 (n=1) | -15.0 |") in text  # shared_norm False, no split for mazes
    assert "old" not in text and text.endswith("<!-- results:end -->\ntail\n")
    assert not update_readme("quick", tmp_path / "results", readme)  # idempotent


def test_readme_findings_are_the_executed_notebooks_tables(tmp_path):
    import nbformat

    from recur.findings import Fact, Finding
    from recur.report import FACTS, construction_report, report
    from recur.readme import update_readme

    table = report([Finding("claim", "paper", "ours", "reproduced")])
    facts = f"{FACTS} (…)\n\n" + construction_report([Fact("a fact", "checked", True)])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("display(...)", outputs=[
        nbformat.v4.new_output("display_data", data={"text/markdown": table}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "| other | table |"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": facts})])])
    (tmp_path / "results" / "runs").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "results" / "02_x.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n<!-- results:end -->\n"
                      "<!-- findings:start -->\nstale findings\n<!-- findings:end -->\n")
    update_readme("quick", tmp_path / "results", readme)
    text = readme.read_text()
    assert "**02_x**" in text and table in text and facts in text
    assert "| other | table |" not in text and "stale findings" not in text


def test_readme_shows_another_profiles_verdicts_beside_the_quick_ones(tmp_path):
    """``update_readme("extended")`` fills its own block with each notebook's verdicts beside
    the quick profile's, and leaves the quick blocks (results table, findings) alone."""
    import nbformat

    from recur.findings import Finding
    from recur.readme import markers, update_readme
    from recur.report import report

    def executed(folder, verdict):
        table = report([Finding("forms agree", "paper", "ours", verdict)])
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("display(...)", outputs=[
            nbformat.v4.new_output("display_data", data={"text/markdown": table})])])
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "02_x.ipynb")

    executed(tmp_path / "results" / "quick", "inconclusive")
    executed(tmp_path / "results" / "extended", "reproduced")
    start, end = markers("extended")
    readme = tmp_path / "README.md"
    quick_part = "<!-- results:start -->\nkept\n<!-- results:end -->\n"
    readme.write_text(quick_part + f"{start}\nstale\n{end}\n")
    assert update_readme("extended", tmp_path / "results" / "extended", readme)
    text = readme.read_text()
    assert text.startswith(quick_part) and "stale" not in text
    assert "| claim | quick | extended |" in text
    assert "| forms agree | **inconclusive** | **reproduced** |" in text
    assert not update_readme("extended", tmp_path / "results" / "extended", readme)


def test_comparison_never_averages_runs_of_different_settings():
    import pandas as pd

    from recur import results

    base = {"experiment": "mazes", "dataset": "mazes", "family": "maze", "depth": 20, "seed": 0}
    df = pd.DataFrame([{**base, "recurrent": r, "test_acc": acc,
                        "config": {"maze_size": size, "dilation": 1, "n_train": 5000}}
                       for r in (False, True) for size, acc in (("small", 90.0), ("large", 60.0))])
    table = results.comparison(df, compact=False).set_index("maze_size")
    assert table.loc["small", "feed-forward"].startswith("90.0")
    assert table.loc["large", "recurrent"].startswith("60.0")


@pytest.mark.parametrize("notebook,params,message", [
    ("03_mazes.ipynb", {"depth": 21},
     "depth = 21 is not allowed: use an effective depth 4n+4 from 8, 12, 16, 20"),
    ("03_mazes.ipynb", {"dpeth": 20}, "unknown parameter(s) dpeth"),
    ("02_classification_sweeps.ipynb", {"dataset": "mnist"},
     "dataset = 'mnist' is not allowed: use one of 'digits'"),
    ("04_batchnorm_resnet.ipynb", {"dataset": "cifar10"}, "cifar10 train data not found"),
])
def test_notebooks_reject_bad_parameters_before_any_work(tmp_path, monkeypatch, notebook, params,
                                                         message):
    """papermill only warns about unknown names and passes any type: the validation cell
    right after the parameters turns them into errors naming what is allowed."""
    import papermill as pm
    monkeypatch.setenv("RECUR_DATA", str(tmp_path / "no-data"))  # the kernel inherits it
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(ROOT / "notebooks" / notebook), str(tmp_path / "out.ipynb"),
                            parameters=params, kernel_name="python3", progress_bar=False,
                            cwd=str(ROOT / "notebooks"))
    assert message in str(err.value)
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code)
              if any(o.get("output_type") == "error" for o in c.outputs)]
    tags = [c.metadata.get("tags", []) for c in code]
    # parameters, then papermill's injected values, then the validation cell that fails
    assert "parameters" in tags[failed[0] - 2] and "injected-parameters" in tags[failed[0] - 1]
    assert not any(c.outputs for c in code[failed[0] + 1:])  # nothing after it ran


@pytest.mark.parametrize("params,runs,studies", [
    ({"depth": 20}, "4 runs: depths [20]", False),
    ({"depth": 20, "studies": "yes"}, "4 runs: depths [20]", True),
    ({}, "8 runs: depths [8, 20]", False),
    (notebook_parameters("extended", "03"), "20 runs: depths [8, 12, 16, 20, 24]", True),
])
def test_naming_a_depth_in_notebook_03_trains_that_depth_only(tmp_path, params, runs, studies):
    """`papermill 03_mazes.ipynb out.ipynb -p depth 20` plans the depth-20 runs of both
    forms for each seed and skips the size and dilation studies, saying how to run them
    (the notebook's set-up cells, run up to the plan, then stopped)."""
    import papermill as pm
    nb = nbformat.read(ROOT / "notebooks" / "03_mazes.ipynb", as_version=4)
    setup = [i for i, c in enumerate(nb.cells) if "run_studies =" in c.source][0]
    nb.cells = nb.cells[:setup + 1] + [new_code_cell("print('studies run:', run_studies)")]
    nbformat.write(nb, tmp_path / "03.ipynb")
    pm.execute_notebook(str(tmp_path / "03.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters=params, kernel_name="python3", progress_bar=False,
                        cwd=str(ROOT / "notebooks"))
    text = "".join(o.get("text", "") for c in nbformat.read(tmp_path / "out.ipynb", 4).cells
                   if c.cell_type == "code" for o in c.outputs)
    assert runs in text and f"studies run: {studies}" in text
    assert ("studies (sections 6, 7) skipped: -p studies yes" in text) != studies


def test_provenance_is_dirty_for_changed_code_not_for_rewritten_results(tmp_path):
    """A run rewrites results/ (records, executed notebooks) as it goes: that must not mark
    its own provenance dirty; a change anywhere else must."""
    import subprocess
    from recur.provenance import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    head = git_commit(tmp_path)
    assert len(head) == 40
    (tmp_path / "results" / "run.json").write_text('{"acc": 1}')
    assert git_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == head + "-dirty"


def test_saved_figures_replace_an_earlier_versions(tmp_path):
    import nbformat

    from recur.reproduce import save_figures

    png = base64.b64encode(b"\x89PNG fake").decode()
    stale = tmp_path / "05_x-cell11-1.png"
    stale.write_bytes(b"old")
    keep = tmp_path / "04_y-cell11-1.png"  # another notebook's figure stays
    keep.write_bytes(b"other")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": png})])])
    assert save_figures(nb, tmp_path, "05_x") == [tmp_path / "05_x-cell00-0.png"]
    assert not stale.exists() and keep.exists()


def test_a_profile_sets_its_notebook_parameters(tmp_path, monkeypatch):
    """The runner passes a profile's notebook parameters (by notebook number) to papermill
    and records them; a parameter the notebook does not take stops the notebook with its
    name before anything runs there."""
    from recur import profiles
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_seeds.ipynb", "print('seeds', seeds)",
              params="profile = 'quick'\nseeds = [0]")
    _notebook(src / "02_other.ipynb", "print('ran')")
    monkeypatch.setitem(profiles.NOTEBOOK_PARAMETERS, "extended",
                        {"01": {"seeds": [0, 1, 2]}, "02": {"seeds": [5]}})
    with pytest.raises(ValueError, match=r"sets seeds of 02_other\.ipynb, which takes profile"):
        reproduce("extended", folder=src, output=tmp_path / "out", site=False)
    out = tmp_path / "out2"
    reproduce("extended", notebooks=["01"], folder=src, output=out, site=False)
    nb = nbformat.read(out / "01_seeds.ipynb", as_version=4)
    assert nb.metadata["recur"]["parameters"] == {"profile": "extended", "seeds": [0, 1, 2]}
    assert "seeds [0, 1, 2]" in nb.cells[-1].outputs[0]["text"]


@pytest.mark.parametrize("profile", ["extended", "evidence", "paper"])
def test_a_dry_run_checks_each_notebooks_parameters_in_its_own_validation(profile):
    """What a profile sets in every notebook is a parameter it takes, with a value its
    validation cell (the cell after the parameters) accepts: the dry run trains nothing."""
    from recur.profiles import NOTEBOOK_PARAMETERS
    from recur.reproduce import dry_run
    checked = dry_run(profile, log=lambda *a: None)
    assert [s["status"] for s in checked] == ["ok"] * len(notebook_paths()), checked
    for s in checked:
        assert s["parameters"] == {"profile": profile,
                                   **NOTEBOOK_PARAMETERS[profile].get(s["notebook"][:2], {})}


def test_a_dry_run_reports_a_value_the_notebook_refuses(monkeypatch):
    from recur import profiles
    from recur.reproduce import dry_run
    monkeypatch.setitem(profiles.NOTEBOOK_PARAMETERS, "extended", {"04": {"seeds": [-1]}})
    (checked,) = dry_run("extended", notebooks=["04"], log=lambda *a: None)
    assert checked["status"] == "failed"
    assert "seeds = [-1] is not allowed: use a non-empty list of non-negative" in checked["error"]
