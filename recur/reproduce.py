"""Batch runner: execute the numbered notebooks in order with papermill.

``python -m recur reproduce --profile quick`` writes ``results/<profile>/NN_name.ipynb``
(clean execution counts, no volatile metadata, provenance in ``metadata.recur``) and the
figures each notebook drew as PNG under ``results/<profile>/figures/``.  A failing notebook
does not stop the others; the failures are reported at the end.
"""
from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager

from recur import readme, results
from recur.executed import read_notebook
from recur.mazes import default_cache_dir
from recur.profiles import check_profile, notebook_parameters
from recur.provenance import ROOT, git_commit, versions
from recur.site import build as build_site
from recur.storage import DamagedFile, atomic_write, ensure_writable

NOTEBOOKS = ROOT / "notebooks"
RUNNER = "python -m recur reproduce"
#: nbclient's (so papermill's) tag for cells that batch runs skip: the exercises
SKIP = "skip-execution"


def notebook_paths(select=None, folder: Path = NOTEBOOKS) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` in order, or those whose number is in ``select``."""
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not select:
        return found
    want = {s.zfill(2) for s in map(str, select)}
    unknown = want - {p.name[:2] for p in found}
    if unknown:
        raise ValueError(f"no notebook numbered {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(p.name[:2] for p in found)}")
    return [p for p in found if p.name[:2] in want]


def clean(nb, profile: str, parameters: dict) -> None:
    """Strip volatile metadata, number the executed cells 1..N, record provenance."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and SKIP in cell.metadata.get("tags", []):
            cell.execution_count = None  # not run in batch (an exercise, for a person)
        elif cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
    nb.metadata["recur"] = {"produced_by": RUNNER, "profile": profile,
                            "parameters": parameters, "git_commit": git_commit(),
                            **versions()}


def save_figures(nb, folder: Path, stem: str) -> list[Path]:
    """Write every PNG the notebook displayed to ``folder/stem-cellK-J.png``, after
    removing the ones an earlier version of the notebook left there."""
    figures = {folder / f"{stem}-cell{k:02d}-{j}.png": out["data"]["image/png"]
               for k, cell in enumerate(nb.cells) for j, out in enumerate(cell.get("outputs", []))
               if out.get("data", {}).get("image/png")}
    for old in folder.glob(f"{stem}-cell*.png"):
        if old not in figures:
            old.unlink()
    for path, png in figures.items():  # each replaced atomically: never half a picture
        atomic_write(path, base64.b64decode(png))
    return list(figures)


def kernel_with(env: dict) -> type:
    """A kernel manager class whose kernels start with ``env`` on top of this process's
    environment (how the runner tells a notebook where its results go, without changing
    its own environment)."""
    class Kernel(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            return await super()._async_pre_start_kernel(**kw)

    return Kernel


def parameters_for(src: Path, profile: str, device: str | None = None) -> dict:
    """What the runner passes to notebook ``src`` for ``profile``: only what differs from
    the notebook's defaults (so the quick profile's notebooks carry no injected-parameters
    cell), and the profile's notebook parameters (:data:`recur.profiles.NOTEBOOK_PARAMETERS`)."""
    import papermill as pm

    declared = pm.inspect_notebook(str(src))
    parameters = {}
    if "profile" in declared and declared["profile"]["default"].strip("'\"") != profile:
        parameters["profile"] = profile
    if device is not None and "device" in declared:
        parameters["device"] = device
    sizes = notebook_parameters(profile, src.name[:2])  # the profile's seeds, depths, studies
    unknown = sorted(set(sizes) - set(declared))
    if unknown:  # a profile naming a parameter the notebook lost: say so before any work
        raise ValueError(f"the {profile} profile sets {', '.join(unknown)} of {src.name}, "
                         f"which takes {', '.join(declared)} (recur/profiles.py)")
    return parameters | sizes


def run_notebook(src: Path, dst: Path, profile: str, device: str | None = None) -> dict:
    """Execute one notebook into ``dst``; returns a summary (never raises on cell errors)."""
    import papermill as pm

    parameters = parameters_for(src, profile, device)
    start = time.perf_counter()
    status, error = "ok", None
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.running.ipynb")  # the finished file replaces dst
    try:
        pm.execute_notebook(str(src), str(tmp), parameters=parameters, kernel_name="python3",
                            cwd=str(src.parent), progress_bar=False, log_output=False,
                            kernel_manager_class=kernel_with({"RECUR_RESULTS": str(dst.parent)}))
    except Exception as err:  # PapermillExecutionError and kernel deaths alike
        status, error = "failed", f"{type(err).__name__}: {str(err).strip()[-2000:]}"
    seconds = time.perf_counter() - start
    if tmp.exists():
        try:
            finish_notebook(tmp, dst, profile, parameters)
        except DamagedFile as err:  # papermill could not finish writing it
            status, error = "failed", f"{err}; {dst} is unchanged"
    return {"notebook": src.name, "status": status, "seconds": round(seconds, 1),
            "output": str(dst), "error": error}


def finish_notebook(tmp: Path, dst: Path, profile: str, parameters: dict) -> None:
    """Clean the notebook papermill wrote to ``tmp``, put it at ``dst`` (atomically) and
    its figures beside it; ``tmp`` is removed either way."""
    try:
        nb = read_notebook(tmp)
    finally:
        tmp.unlink()
    clean(nb, profile, parameters)
    text = nbformat.writes(nb)
    atomic_write(dst, text if text.endswith("\n") else text + "\n")  # as nbformat.write
    save_figures(nb, dst.parent / "figures", dst.stem)


def _brief(value):
    """``value`` for a log line: a long list of seeds as ``[0, ..., 63] (64)``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_brief(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and len(value) > 8:
        return f"[{value[0]!r}, ..., {value[-1]!r}] ({len(value)})"
    return repr(value)


def dry_run(profile: str = "quick", notebooks=None, folder: Path = NOTEBOOKS,
            log=print) -> list[dict]:
    """Check ``profile`` on the selected notebooks without training anything: each
    notebook's parameters for it, run through the notebook's parameters cell and its own
    validation (the cell after it) only.  Returns one summary per notebook (``notebook``,
    ``parameters``, ``status``, ``error``); never raises on a notebook's error."""
    import tempfile

    import papermill as pm

    check_profile(profile)
    summaries = []
    for src in notebook_paths(notebooks, Path(folder)):
        parameters, status, error = parameters_for(src, profile), "ok", None
        nb = read_notebook(src)
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells = nb.cells[:at + 2]
        with tempfile.TemporaryDirectory() as tmp:
            nbformat.write(nb, Path(tmp) / src.name)
            try:
                pm.execute_notebook(str(Path(tmp) / src.name), str(Path(tmp) / "out.ipynb"),
                                    parameters=parameters, kernel_name="python3",
                                    cwd=str(src.parent), progress_bar=False)
            except Exception as err:  # the notebook's validation error, as a reader sees it
                status, error = "failed", f"{type(err).__name__}: {str(err).strip()[-2000:]}"
        log(f"[recur] {src.name} ({profile} profile): parameters {status}: {_brief(parameters)}")
        summaries.append({"notebook": src.name, "parameters": parameters, "status": status,
                          "error": error})
    return summaries


def reproduce(profile: str = "quick", notebooks=None, device: str | None = None,
              output: Path | None = None, update_notebooks: bool = False,
              folder: Path = NOTEBOOKS, fresh: bool = False, site: bool = True,
              log=print) -> list[dict]:
    """Execute the selected notebooks in order into ``output`` (``results/<profile>``).

    ``update_notebooks`` (quick profile only) also copies each notebook that ran cleanly
    back over its source in ``notebooks/``, once all have run (so that the checkout stays
    as committed while they run, and their provenance names a clean commit): the
    committed executed notebooks are made this way and no other.  ``fresh`` first removes
    the output folder's run records and checkpoints and study results, so every model is
    trained again; without it, finished runs are reused and interrupted ones resume.
    ``site``: then build the reading site from the executed notebooks into ``output/site``
    (:mod:`recur.site`).
    """
    check_profile(profile)
    if update_notebooks and (profile != "quick" or device is not None):
        raise ValueError("--update-notebooks writes the committed notebooks, which hold the "
                         "quick profile on the default device: drop --profile/--device")
    paths = notebook_paths(notebooks, Path(folder))
    for src in paths:  # every notebook takes what the profile sets, before any runs
        parameters_for(src, profile, device)
    output = Path(output) if output is not None else results.profile_dir(profile)
    ensure_writable(output, "pass --output to write elsewhere")  # before any notebook runs
    ensure_writable(default_cache_dir(), "set RECUR_CACHE to cache mazes elsewhere")
    if fresh:
        for sub in ("runs", "checkpoints", "studies"):
            shutil.rmtree(output / sub, ignore_errors=True)
    summaries = []
    for src in paths:
        log(f"[recur] {src.name} ({profile} profile) ...")
        summary = run_notebook(src, output / src.name, profile, device)
        log(f"[recur] {src.name}: {summary['status']} in {summary['seconds']} s")
        summaries.append(summary)
    for src, summary in zip(paths, summaries):
        if update_notebooks and summary["status"] == "ok":
            shutil.copyfile(summary["output"], src)
    if output == results.profile_dir(profile):  # the real results: refresh the README's part
        readme.update_readme(profile)
    if site and any(s["status"] == "ok" for s in summaries):
        build_site(output, profile=profile, log=log)
    return summaries
