"""Findings and facts as markdown: the table every notebook ends with, the list of facts
checked by construction, and the decision rule in words (generated from its constants).

Pure text: :mod:`recur.display` shows it in a notebook; the README and the reading site
find it in the executed notebooks by :data:`HEADER` and :data:`FACTS`.
"""
from __future__ import annotations

from recur.findings import CONFIDENCE, NO_SPREAD
from recur.paper import MARGINS

#: how a findings table and the list of facts begin (the runner looks for them)
HEADER = "| claim | paper | this run | verdict |"
FACTS = "**Checked by construction**"
RULE = "**How we decide.**"


def _cell(text) -> str:
    return str(text).replace("|", "\\|")  # a "|" inside a cell would split it


def report(findings) -> str:
    """The findings as a markdown table."""
    rows = [HEADER, "|---|---|---|---|"]
    for f in findings:
        verdict = f"**{f.verdict}**" + (f" ({_cell(f.why)})" if f.why else "")
        rows.append(f"| {_cell(f.claim)} | {_cell(f.paper)} | {_cell(f.ours)} | {verdict} |")
    return "\n".join(rows)


def construction_report(facts) -> str:
    """Facts that hold by construction, as a markdown list ("Checked by construction")."""
    return "\n".join(f"- {'holds' if f.holds else '**does not hold**'}: {f.claim} "
                     f"({f.checked})" for f in facts)


def facts_section(facts) -> str:
    """The facts under their heading, saying why they are not findings."""
    return (f"{FACTS} (not findings: they hold by how the models and data are built)\n\n"
            + construction_report(facts))


def how_we_decide(margins: dict | None = None) -> str:
    """The decision rule in a short paragraph, generated from the constants used."""
    margins = MARGINS if margins is None else margins
    listed = "; ".join(f"{name}: ±{m:g} ({reason})" for name, (m, reason) in margins.items())
    return (f"{RULE} Each claim is a gap between two sets of runs, with its "
            f"{CONFIDENCE:.0%} confidence interval from Student's t: runs that share a seed "
            f"are paired (the spread of per-seed gaps, seeds − 1 degrees of freedom); where "
            f"every seed is scored on the same test set, its binomial error is added once; "
            f"where the seeds of one comparison all give the same gap (a standard deviation "
            f"below {NO_SPREAD:g} points: accuracies move in steps of one test image), it "
            f"takes the spread pooled over the claim's other comparisons, with their degrees "
            f"of freedom, instead of a spread of zero (no interval if there are none). "
            f"A *same* claim is **reproduced** when the interval lies inside its margin ±δ "
            f"(two one-sided tests at {(1 - CONFIDENCE) / 2:.0%}), **not reproduced** when it "
            f"lies wholly beyond ±δ, and otherwise **inconclusive**, with the seeds that would "
            f"decide it. A *direction* claim is reproduced when the interval excludes zero "
            f"on the paper's side, not reproduced when it excludes zero on the other. A claim "
            f"over several depths holds when every depth does and fails when any does. "
            f"Margins, declared with the paper's numbers before looking at ours: {listed}.")
