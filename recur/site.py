"""A static reading site from a profile's executed notebooks (Sphinx with MyST-NB).

    python -m recur site --profile quick     # results/quick/site/index.html

An index with the paper's claims and this run's verdicts (the notebooks' own "What we
found" tables, copied from their outputs, never retyped), then one page per notebook with
its figures and tables and, at its top, where it came from (runner, profile, commit,
versions, parameters).  Nothing is executed (``nb_execution_mode = "off"``) and every
asset is bundled: the site reads offline, from the file system or any static host.
"""
from __future__ import annotations

import base64
import io
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from recur.executed import findings_tables, read_notebook
from recur.report import HEADER
from recur.provenance import ROOT
from recur.storage import DamagedFile, StorageError, ensure_writable, warn

TITLE = "The Uncanny Similarity of Recurrence and Depth: a runnable companion"

#: Sphinx settings (no conf.py: the site is defined here, in one place).
SPHINX = {
    "project": "recur", "extensions": ["myst_nb"], "html_theme": "alabaster",
    "nb_execution_mode": "off",  # the notebooks are read as executed, never run
    "nb_render_markdown_format": "myst",  # markdown outputs with tables (commonmark has none)
    "nb_ipywidgets_js": {},  # no widget scripts from a CDN (the runner drops widget state)
    "html_copy_source": False, "html_show_sourcelink": False, "html_show_sphinx": False,
    "html_title": "recur", "suppress_warnings": ["mystnb.unknown_mime_type"],
    "html_static_path": ["_static"], "html_css_files": ["recur.css"],
    "html_js_files": ["recur.js"],
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


#: the site's own style: no page wider than the window (long code and logs wrap), and the
#: verdicts as badges that keep their words (colour is not the only cue)
CSS = """
div.highlight pre, div.cell_output pre, .output pre { white-space: pre-wrap;
  overflow-wrap: anywhere; }
div.body { min-width: 0; max-width: none; }
table.docutils { display: block; overflow-x: auto; max-width: 100%; }
table.docutils td { overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; }
span.verdict { display: inline-block; padding: 0 0.45em; border-radius: 0.6em; color: #fff;
  font-weight: bold; white-space: nowrap; }
span.verdict-reproduced { background: #027a59; }
span.verdict-not-reproduced { background: #b34a00; }
span.verdict-inconclusive { background: #6b6b6b; }
span.verdict-not-run-in-this-profile { background: #999; }
"""
#: marks each verdict word in a findings table as a badge (text kept, a class added)
JS = """
document.addEventListener("DOMContentLoaded", () => {
  const words = ["reproduced", "not reproduced", "inconclusive", "not run in this profile"];
  document.querySelectorAll("td strong").forEach(el => {
    const word = el.textContent.trim();
    if (!words.includes(word)) return;
    const badge = document.createElement("span");
    badge.className = "verdict verdict-" + word.replace(/ /g, "-");
    badge.textContent = word;
    el.replaceWith(badge);
  });
});
"""
GLANCE_TAG = "claims-at-a-glance"  # the notebooks' cell that draws its claims at a glance
LONG_OUTPUT = 15  # printed lines beyond which a cell's text output is folded on the site


def glance_png(nb) -> bytes | None:
    """The claims-at-a-glance figure an executed notebook drew (its tagged cell), as PNG."""
    for cell in nb.cells:
        if cell.cell_type == "code" and GLANCE_TAG in cell.metadata.get("tags", []):
            for out in cell.get("outputs", []):
                if "image/png" in out.get("data", {}):
                    return base64.b64decode(out["data"]["image/png"])
    return None


def fold(nb) -> None:
    """The argument first: every code cell's source folded (shown on a click), and long
    printed text folded where a cell shows no figure.  For the site's copy only."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        tags.append("hide-input")
        outs = cell.get("outputs", [])
        lines = sum(str(o.get("text", "")).count("\n") for o in outs)
        if lines > LONG_OUTPUT and not any("image/png" in o.get("data", {}) for o in outs):
            tags.append("hide-output")


def verdict_rows(tables: list[str]) -> dict[str, str]:
    """claim -> verdict, from a notebook's findings tables (markdown, :data:`HEADER`)."""
    rows = {}
    for table in tables:
        if not table.startswith(HEADER):
            continue
        for line in table.splitlines()[2:]:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0]] = cells[-1].strip("*")
    return rows


def side_by_side(quick: list[str], other: list[str], profile: str) -> str:
    """Each claim's quick verdict beside its verdict in ``profile`` (e.g. paper), as a
    markdown table; claims one profile lacks say so."""
    a, b = verdict_rows(quick), verdict_rows(other)
    lines = [f"| claim | quick | {profile} |", "|---|---|---|"]
    for claim in dict.fromkeys([*a, *b]):
        lines.append(f"| {claim} | **{a.get(claim, 'not run in this profile')}** | "
                     f"**{b.get(claim, 'not run in this profile')}** |")
    return "\n".join(lines)


def _index(pages: list[tuple[str, str]], tables: dict[str, list[str]], profile: str,
           glances: frozenset = frozenset(), others: dict | None = None) -> str:
    """The index page in MyST markdown: the claims and verdicts, then the table of contents."""
    parts = [f"# {TITLE}", "",
             "Each notebook reproduces some of the paper's claims and ends with **What we "
             "found**: the claim, the scale it was decided at, the paper's figure, a summary "
             "of this run's comparisons and a verdict computed from them (every "
             "comparison's numbers folded under the table). Above each table, the same "
             "comparisons at a glance: each gap (dot) with its 90% interval (line), beside "
             "the shaded ±margin of a *same* claim or the zero of a *direction* claim. From "
             f"the executed **{profile}**-profile notebooks:", ""]
    for stem, title in pages:
        parts += [f"## [{title}]({stem}.ipynb)", ""]
        if stem in glances:
            parts += [f"![{title}: every comparison behind its verdicts, at a glance]"
                      f"(glance-{stem}.png)", ""]
        parts += ["\n\n".join(tables.get(stem) or ["_This notebook has no findings table._"]), ""]
        for name, theirs in (others or {}).items():
            if verdict_rows(theirs.get(stem, [])):
                parts += [f"Beside the **{name}** profile's executed notebook:", "",
                          side_by_side(tables.get(stem, []), theirs[stem], name), ""]
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
        (src / "_static").mkdir(parents=True)
        (src / "_static" / "recur.css").write_text(CSS)
        (src / "_static" / "recur.js").write_text(JS)
        pages, tables, glances = [], {}, set()
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            try:
                nb = read_notebook(path)
            except DamagedFile as err:
                warn(f"{err}; its page is left out of the site")
                continue
            if _page(nb, path, src):
                glances.add(path.stem)
            pages.append((path.stem, _title(nb, path.stem)))
            tables[path.stem] = findings_tables(nb)
            profile = profile or nb.metadata.get("recur", {}).get("profile")
        if not pages:
            raise StorageError(f"no readable executed notebooks NN_*.ipynb in {folder}: run "
                               f"`python -m recur reproduce` first")
        others = _other_profiles(folder, profile)
        (src / "index.md").write_text(_index(pages, tables, profile or "?", frozenset(glances),
                                             others))
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


def _page(nb, path: Path, src: Path) -> bool:
    """Write a notebook's page into ``src``: its provenance at the top, its code folded;
    and its claims-at-a-glance figure beside it for the index.  Has it one?"""
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(provenance(nb, str(where))))
    png = glance_png(nb)
    if png:
        (src / f"glance-{path.stem}.png").write_bytes(png)
    fold(nb)
    nbformat.write(nb, src / path.name)
    return png is not None


def _other_profiles(folder: Path, profile: str | None) -> dict:
    """Where ``folder`` is ``results/<profile>/``: the findings tables of the other
    profiles' executed notebooks beside it (profile -> stem -> tables), for the index."""
    from recur.profiles import PROFILES
    if profile not in PROFILES or folder.name != profile:
        return {}
    out = {}
    for other in PROFILES:
        there = folder.parent / other
        if other == profile or not there.is_dir():
            continue
        found = {}
        for path in sorted(there.glob("[0-9][0-9]_*.ipynb")):
            try:
                found[path.stem] = findings_tables(read_notebook(path))
            except DamagedFile as err:
                warn(f"{err}; its verdicts are left out of the index")
        if found:
            out[other] = found
    return out


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
