"""Executed notebooks as the publishing layer reads them: a checked read, and the
"What we found" tables and facts each one displayed (markdown, as it computed them)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from recur.report import FACTS, HEADER, RULE
from recur.storage import DamagedFile, read_text


def read_notebook(path: Path):
    """An executed notebook; :class:`recur.storage.DamagedFile` naming it when it does not
    read back as one (cut short, not JSON, not a notebook)."""
    text = read_text(path, "notebook")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises JSON, validation and key errors alike
        raise DamagedFile(f"notebook {path} is damaged ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else 'unreadable'})") from None


def _markdown(nb) -> list[str]:
    return ["".join(out["data"]["text/markdown"])
            for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "text/markdown" in out.get("data", {})]


def findings_tables(nb) -> list[str]:
    """The "What we found" tables an executed notebook displayed, and its list of facts
    checked by construction (markdown, as computed)."""
    return [t for t in _markdown(nb) if t.startswith((HEADER, FACTS))]


def decision_rule(nb) -> str | None:
    """The "How we decide" paragraph the notebook displayed under its findings, if any."""
    return next((t for t in _markdown(nb) if t.startswith(RULE)), None)
