"""Findings and facts as markdown: the table every notebook ends with, the list of facts
checked by construction, and the decision rule in words (generated from its constants).

Pure text: :mod:`recur.display` shows it in a notebook; the README and the reading site
find it in the executed notebooks by :data:`HEADER` and :data:`FACTS`.
"""
from __future__ import annotations

from recur.findings import CONFIDENCE, MIN_SPREAD_DF
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
    return (f"{RULE} Each claim is a gap between sets of runs, measured in one or more "
            f"groups (depths, steps, forms), with its {CONFIDENCE:.0%} confidence interval from "
            f"Student's t. *Paired by seed*: the gap is the mean of the per-seed gaps (a seed "
            f"fixes the data, the split and the initial draws of every net it trains). *Paired "
            f"by image*: every run record keeps which test images its net got right; where "
            f"each seed drew its own test set (mazes; digits split per seed) the test sampling "
            f"is inside the per-seed gaps, and where all seeds share one test set its part is "
            f"added once, as the spread over the images of the per-image gap, so that two "
            f"nets' errors on the same images cancel. *One spread policy*: one seed's spread is "
            f"pooled over the claim's groups and the t interval has the pooled degrees of "
            f"freedom, Σ(seeds − 1), never more; a claim with one seed per group is not decided "
            f"(its row shows the interval over the test images alone), and a claim about one "
            f"net scored two ways is decided on its test images alone and says so. A *same* "
            f"claim is **reproduced** when every group's interval lies inside its margin ±δ "
            f"(two one-sided tests at {(1 - CONFIDENCE) / 2:.0%} each); a *direction* claim when "
            f"every group's interval excludes zero on the paper's side. It is **not "
            f"reproduced** when some group fails at the family-wise level: over k groups, that "
            f"group's interval at confidence 1 − {1 - CONFIDENCE:.2f}/k (Bonferroni) lies "
            f"beyond ±δ (or on the other side of zero). Otherwise it is "
            f"**inconclusive**, with the seeds that would decide it if one seed's spread were "
            f"at its upper confidence bound, said only when the spread rests on at least "
            f"{MIN_SPREAD_DF} degrees of freedom. "
            f"Margins, declared with the paper's numbers before looking at ours: {listed}.")
