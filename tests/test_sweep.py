"""Sweeps through submitit's local executor: a grid of tiny runs, reruns skip finished ones."""
import pytest

from recur import results
from recur.sweep import grid, pending, submit


def test_grid_expands_every_combination():
    configs = grid("mazes", families=["maze"], depths=[8, 12], seeds=[0, 1])
    assert len(configs) == 8 and len({c.name() for c in configs}) == 8
    assert {(c.depth, c.recurrent, c.seed) for c in configs} == {
        (d, r, s) for d in (8, 12) for r in (False, True) for s in (0, 1)}
    by_family = grid("classification", families=["mlp", "convnet"],
                     depths={"mlp": [3], "convnet": [4, 5]})
    assert sorted((c.family, c.depth) for c in by_family if c.recurrent) == [
        ("convnet", 4), ("convnet", 5), ("mlp", 3)]
    with pytest.raises(ValueError, match="valid depths"):
        grid("mazes", families=["maze"], depths=[9])
    seeded = grid("classification", families=["mlp", "convnet"], depths=[4],
                  seeds={"mlp": [0, 1, 2], "convnet": [5]})
    assert sorted((c.family, c.seed) for c in seeded if c.recurrent) == [
        ("convnet", 5), ("mlp", 0), ("mlp", 1), ("mlp", 2)]


def test_local_executor_runs_the_array_and_reruns_skip(tmp_path):
    configs = grid("classification", families=["mlp"], depths=[3], seeds=[0], epochs=1,
                   n_train=128, n_test=64, device="cpu") + \
        grid("classification", families=["mlp"], depths=[4], seeds=[0], forms=(True,), epochs=1,
             n_train=128, n_test=64, device="cpu")
    assert len(configs) == 3
    jobs = submit(configs, launcher="local", folder=tmp_path / "logs", results_dir=tmp_path / "res",
                  timeout_min=5)
    assert len(jobs) == 3
    outcomes = [job.result() for job in jobs]
    assert {o["name"] for o in outcomes} == {c.name() for c in configs}
    assert len(results.table(tmp_path / "res")) == 3
    assert pending(configs, tmp_path / "res") == []
    assert submit(configs, launcher="local", folder=tmp_path / "logs", results_dir=tmp_path / "res",
                  timeout_min=5) == []
    with pytest.raises(ValueError, match="launcher"):
        submit(configs[:1], launcher="pbs", results_dir=tmp_path / "other")


def test_a_split_per_seed_is_each_configs_own_seed_on_the_digits_only():
    from recur.sweep import describe, per_seed_split

    fixed = grid("classification", families=["mlp"], depths=[3, 4], seeds=[0, 2])
    own = grid("classification", families=["mlp"], depths=[3, 4], seeds=[0, 2], split="per-seed")
    assert [c.name() for c in own] == [c.replace(split_seed=c.seed).name() for c in fixed]
    assert all(c.split_seed is None for c in fixed) and [c.split_seed for c in own] == [
        c.seed for c in fixed]
    official = grid("classification", families=["mlp"], depths=[3], datasets=["cifar10"],
                    split="per-seed", profile="paper")
    assert all(c.split_seed is None for c in official)  # cifar10 has its own split
    assert per_seed_split("per-seed", "digits") and not per_seed_split("fixed", "digits")
    with pytest.raises(ValueError, match="split"):
        per_seed_split("by-seed", "digits")
    assert describe(own, per_seed=True) == (
        "8 runs on digits (a train/test split per seed), quick profile; seeds {'mlp': [0, 2]} "
        "depths {'mlp': [3, 4]}")
