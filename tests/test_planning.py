"""The seeds a claim needs, against hand computations with scipy.stats."""
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from recur import paper, planning, profiles, results
from recur.findings import CONFIDENCE, Gap

ROOT = Path(__file__).resolve().parents[1]


def _by_hand(sd: float, df: int, margin: float, image_var: float = 0.0) -> int | None:
    """Fewest n whose 90 % interval at gap 0, with the spread at its 95 % χ² upper bound
    and the images' variance added once, lies inside ±margin (t with the seeds' n − 1
    degrees of freedom, never more)."""
    bound = sd * math.sqrt(df / stats.chi2.ppf(0.05, df))
    for n in range(2, 101):
        seeds = bound ** 2 / n
        se = math.sqrt(seeds + image_var)
        if stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * se < margin:
            return n
    return None


@pytest.mark.parametrize("sd,df,margin,image_var", [
    (1.0, 10, 1.0, 0.0), (0.5, 7, 1.0, 0.0), (2.0, 3, 1.0, 0.0), (1.0, 10, 1.0, 0.05),
    (0.3, 20, 0.5, 0.01)])
def test_seeds_for_equivalence_matches_a_hand_computation(sd, df, margin, image_var):
    g = Gap(0.4, 4, sd, df, image_var, 360 if image_var else 0)
    assert planning.seeds_for_equivalence(g, margin) == _by_hand(sd, df, margin, image_var)


def test_no_plan_without_a_known_spread_or_within_the_seeds_looked_at():
    assert planning.seeds_for_equivalence(Gap(0.0, 2, 1.0, 1), 1.0) is None  # 1 df
    assert planning.seeds_for_equivalence(Gap(0.0, 8, 30.0, 7), 1.0) is None  # > 100
    # the images' share does not shrink with seeds: beyond the margin on its own
    assert planning.seeds_for_equivalence(Gap(0.0, 8, 0.1, 7, 1.0, 360), 1.0) is None


def test_a_group_with_too_few_seeds_borrows_the_claims_pooled_spread():
    rng = np.random.default_rng(0)
    per_seed = {"depth 12": rng.normal(0, 2, 2), "depth 16": rng.normal(0, 1, 6),
                "depth 20": rng.normal(0, 1, 2)}
    found = {k: Gap(float(v.mean()), len(v), float(v.std(ddof=1)), len(v) - 1)
             for k, v in per_seed.items()}
    ss = sum(((v - v.mean()) ** 2).sum() for v in per_seed.values())
    df = sum(len(v) - 1 for v in per_seed.values())
    assert planning.pooled(found) == pytest.approx((math.sqrt(ss / df), df))
    plans = {p.group: p for p in planning.plan_gaps(found, 1.0)}
    assert plans["depth 16"].pooled is False and plans["depth 16"].sd_df == 5
    assert plans["depth 12"].pooled and plans["depth 12"].sd_df == df == 7
    assert plans["depth 12"].seeds == _by_hand(math.sqrt(ss / df), df, 1.0)
    assert planning.needed(list(plans.values())) == max(p.seeds for p in plans.values())


def test_the_evidence_profiles_seeds_are_its_plan_on_the_extended_records():
    """The evidence profile gives each planned claim the seeds its plan asks for, at most
    EVIDENCE_SEEDS; the claims the comment in recur/profiles.py says 64 seeds are expected
    to decide are those the plan of the committed extended records says."""
    runs = results.with_settings(results.table(ROOT / "results" / "extended"))
    plans = planning.evidence(runs, {k: v[0] for k, v in paper.MARGINS.items()})
    cap = profiles.EVIDENCE_SEEDS
    want = {claim: min(planning.needed(ps) or cap, cap) for claim, ps in plans.items()}
    given = profiles.NOTEBOOK_PARAMETERS["evidence"]
    assert {"02 mlp": len(given["02"]["seeds"]["mlp"]),
            "02 convnet": len(given["02"]["seeds"]["convnet"]),
            "02 resnet": len(given["02"]["seeds"]["resnet"]),
            "03 maze": len(given["03"]["seeds"]), "04 resnet_bn vs resnet18":
            len(given["04"]["seeds"])} == want
    table = planning.plan_table(plans)
    decided = table[table.seeds.notna() & (table.seeds <= cap)]
    assert sorted(decided.claim + " " + decided.group) == [
        "02 convnet depth 5", "02 convnet depth 6", "02 convnet depth 7", "02 mlp depth 4",
        "02 mlp depth 5", "02 mlp depth 6", "02 mlp depth 7", "02 mlp depth 8",
        "02 resnet depth 19"]
