"""A static reading site from a profile's executed notebooks (Sphinx with MyST-NB).

    python -m recur site --profile quick     # results/quick/site/index.html

An index with the paper's claims and this run's verdicts (the notebooks' own "What we
found" tables, copied from their outputs, never retyped), then one page per notebook with
its figures and tables and, at its top, where it came from (runner, profile, commit,
versions, parameters).  Nothing is executed (``nb_execution_mode = "off"``) and every
asset is bundled: the site reads offline, from the file system or any static host.
"""
from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import nbformat

from recur.executed import findings_tables, read_notebook
from recur.provenance import ROOT
from recur.storage import DamagedFile, StorageError, ensure_writable, warn

TITLE = "The Uncanny Similarity of Recurrence and Depth: a runnable companion"

#: Sphinx settings (no conf.py: the site is defined here, in one place).
SPHINX = {
    "project": "recur", "extensions": ["myst_nb"], "html_theme": "alabaster",
    "nb_execution_mode": "off",  # the notebooks are read as executed, never run
    "nb_ipywidgets_js": {},  # no widget scripts from a CDN (the runner drops widget state)
    "html_copy_source": False, "html_show_sourcelink": False, "html_show_sphinx": False,
    "html_title": "recur", "suppress_warnings": ["mystnb.unknown_mime_type"],
    "html_theme_options": {"description": "recurrence vs depth, reproduced", "fixed_sidebar": True,
                           "page_width": "1180px", "sidebar_width": "230px"},
}


def provenance(nb, where: str) -> str:
    """The markdown line that says where an executed notebook came from."""
    meta = nb.metadata.get("recur", {})
    if not meta:
        return f"_Provenance: `{where}` carries no record of how it was executed._"
    params = meta.get("parameters") or {}
    given = ", ".join(f"`{k}={v!r}`" for k, v in params.items()) or "the notebook's defaults"
    versions = ", ".join(f"{k} {meta[k]}" for k in ("python", "torch", "numpy", "recur")
                         if k in meta)
    return (f"_Provenance: executed by `{meta.get('produced_by', '?')}` in the "
            f"**{meta.get('profile', '?')}** profile with {given}, at commit "
            f"`{str(meta.get('git_commit'))[:12]}`; {versions}. Source: `{where}`._")


def _index(pages: list[tuple[str, str]], tables: dict[str, list[str]], profile: str) -> str:
    """The index page in MyST markdown: the claims and verdicts, then the table of contents."""
    parts = [f"# {TITLE}", "",
             "Each notebook reproduces some of the paper's claims and ends with **What we "
             "found**: the claim, the paper's figure, this run's numbers and a verdict "
             f"computed from them. Their tables, from the executed **{profile}**-profile "
             "notebooks:", ""]
    for stem, title in pages:
        parts += [f"## [{title}]({stem}.ipynb)", ""]
        parts += ["\n\n".join(tables.get(stem) or ["_This notebook has no findings table._"]), ""]
    parts += ["```{toctree}", ":maxdepth: 1", ":caption: Notebooks", "",
              *[f"{stem}.ipynb" for stem, _ in pages], "```", ""]
    return "\n".join(parts)


def _title(nb, stem: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip()
    return stem


def build(folder, output=None, *, profile: str | None = None, log=print) -> Path:
    """Build the site from the executed notebooks ``NN_*.ipynb`` in ``folder`` into
    ``output`` (default ``folder/site``), replacing it only once the new one is whole.
    A damaged notebook is named and left out; none at all is an error."""
    from sphinx.application import Sphinx

    folder = Path(folder)
    output = Path(output) if output is not None else folder / "site"
    ensure_writable(output.parent, "pass --output to build the site elsewhere")
    with tempfile.TemporaryDirectory(prefix="recur-site-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        pages, tables = [], {}
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            try:
                nb = read_notebook(path)
            except DamagedFile as err:
                warn(f"{err}; its page is left out of the site")
                continue
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            nb.cells.insert(1, nbformat.v4.new_markdown_cell(provenance(nb, str(where))))
            nbformat.write(nb, src / path.name)
            pages.append((path.stem, _title(nb, path.stem)))
            tables[path.stem] = findings_tables(nb)
            profile = profile or nb.metadata.get("recur", {}).get("profile")
        if not pages:
            raise StorageError(f"no readable executed notebooks NN_*.ipynb in {folder}: run "
                               f"`python -m recur reproduce` first")
        (src / "index.md").write_text(_index(pages, tables, profile or "?"))
        warnings = io.StringIO()
        app = Sphinx(str(src), None, str(Path(tmp) / "html"), str(Path(tmp) / "doctrees"),
                     "html", confoverrides=dict(SPHINX), status=None, warning=warnings,
                     freshenv=True)
        app.build(force_all=True)
        if app.statuscode:
            raise RuntimeError(f"the site did not build:\n{warnings.getvalue()}")
        for line in warnings.getvalue().splitlines():
            if "WARNING" in line:
                log(f"[recur] site: {line}")
        _replace_dir(Path(tmp) / "html", output)
    log(f"[recur] site: {len(pages)} notebook pages and the index in {output}")
    return output


def _replace_dir(new: Path, output: Path) -> None:
    """Put ``new`` at ``output``; an old site there is removed only after the move."""
    staged = output.with_name(f".{output.name}.new")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(new, staged)
    old = output.with_name(f".{output.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if output.exists():
        output.rename(old)
    staged.rename(output)
    shutil.rmtree(old, ignore_errors=True)
