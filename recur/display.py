"""Findings in a notebook: the table, the rule that decided it, and the facts checked by
construction, as rendered markdown (the README and the site read them back from there)."""
from __future__ import annotations

from IPython.display import Markdown, display

from recur import report


def show(found, facts=()) -> None:
    """Display the findings table and the rule that decided it, then the facts checked by
    construction (apart: they hold by how the models and data are built)."""
    if found:  # (notebook 01 checks facts only)
        display(Markdown(report.report(found)))
        display(Markdown(report.how_we_decide()))
    if facts:
        display(Markdown(report.facts_section(facts)))
