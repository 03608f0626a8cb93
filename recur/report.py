"""Findings and facts as markdown: the table every notebook ends with, the list of facts
checked by construction, and the decision rule in words (generated from its constants).

Pure text: :mod:`recur.display` shows it in a notebook; the README and the reading site
find it in the executed notebooks by :data:`HEADER` and :data:`FACTS`.
"""
from __future__ import annotations

from recur.findings import (CONFIDENCE, INCONCLUSIVE, MIN_SPREAD_DF, NOT_REPRODUCED,
                            REPRODUCED)
from recur.paper import MARGINS

#: how a findings table and the list of facts begin (the runner looks for them)
HEADER = "| claim | scale | paper | this run | verdict |"
DETAILS = "The numbers behind each row"  # the folded block under a findings table
FACTS = "**Checked by construction**"
RULE = "**How we decide.**"


def _cell(text) -> str:
    return str(text).replace("|", "\\|")  # a "|" inside a cell would split it


def report(findings) -> str:
    """The findings as a markdown table a reader can scan (the claim, the scale it was
    decided at, the paper's figure, a one-line summary of ours, the verdict as one word),
    then, folded, every comparison's numbers and why each verdict."""
    rows = [HEADER, "|---|---|---|---|---|"]
    for f in findings:
        rows.append(f"| {_cell(f.claim)} | {_cell(f.scale or '–')} | {_cell(f.paper)} | "
                    f"{_cell(summary(f))} | **{f.verdict}** |")
    details = [f"- **{f.claim}**: {f.ours}" + (f". *Why:* {f.why}" if f.why else "")
               for f in findings]
    return "\n".join(rows + ["", f"<details><summary>{DETAILS}: every comparison's gap "
                                  f"and interval, and why each verdict</summary>", "",
                                  *details, "", "</details>"])


def summary(f) -> str:
    """One line for a finding's comparisons: how many, the range of their gaps, and how
    many fall inside, outside or across the margin (or either side of zero)."""
    if not f.groups:
        return f.ours
    est = [m.estimate for m in f.groups]
    unit = f" {f.unit}" if f.unit else ""
    span = (f"{est[0]:+.2f}{unit}" if len(est) == 1 else
            f"from {min(est):+.2f} to {max(est):+.2f}{unit}")
    counts = {v: sum(m.verdict == v for m in f.groups)
              for v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)}
    if f.margin is not None:
        words = {REPRODUCED: f"inside ±{f.margin:g}", NOT_REPRODUCED: f"beyond ±{f.margin:g}",
                 INCONCLUSIVE: "undecided"}
    else:
        words = {REPRODUCED: "on the paper's side of zero", NOT_REPRODUCED: "on the other side",
                 INCONCLUSIVE: "undecided"}
    n = len(f.groups)
    return (f"{n} comparison{'s' * (n > 1)}, gap {span}: "
            + ", ".join(f"{k} {words[v]}" for v, k in counts.items() if k))


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
            f"nets' errors on the same images cancel (conservative: the seed × image noise is "
            f"in both parts). *One spread policy*: each comparison's "
            f"spread is that of its own per-seed gaps, and its t interval has their degrees of "
            f"freedom, seeds − 1, never more and never borrowed; a comparison with one seed is "
            f"not decided (its row shows the interval over the test images alone), and a "
            f"claim about one net scored two ways is decided on its test images alone and says "
            f"so. A *same* "
            f"claim is **reproduced** when every group's interval lies inside its margin ±δ "
            f"(two one-sided tests at {(1 - CONFIDENCE) / 2:.0%} each); a *direction* claim when "
            f"every group's interval excludes zero on the paper's side. It is **not "
            f"reproduced** when some group fails at the family-wise level: over k groups, that "
            f"group's interval at confidence 1 − {1 - CONFIDENCE:.2f}/k (Bonferroni) lies "
            f"beyond ±δ (or on the other side of zero). Otherwise it is "
            f"**inconclusive**, with the seeds that would decide it if one seed's spread were "
            f"at its upper confidence bound, said only where the spread rests on at least "
            f"{MIN_SPREAD_DF} degrees of freedom. Each claim is decided at this level on its "
            f"own: nothing corrects across the claims of a table. "
            f"Margins, declared with the paper's numbers before looking at ours: {listed}.")
