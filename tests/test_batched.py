"""Seeds trained as one batched net (recur.batched) against the same seeds trained one by
one with recur.train.train, the oracle: identical initial weights, equal losses, weights
and optimizer states to float tolerance, records of the same layout, exact resume."""
import json

import pytest
import torch

from recur import batched as B
from recur import train as T
from recur.checkpoints import load_checkpoint
from recur.config import TrainConfig
from recur.devices import use_bf16

SEEDS = (0, 3)


def tiny(family="mlp", **changes):
    """Two epochs of three steps; classification draws a split per seed (split_seed), the
    maze solver crops at random offsets, with SGD and the shared module at lr / iterations
    (two parameter groups)."""
    if family == "maze":
        base = dict(experiment="mazes", dataset="mazes", depth=12, width=4, maze_size=3,
                    maze_scale=1, maze_crop=10, n_train=60, n_test=20, batch_size=20,
                    optimizer="sgd", lr=0.05, recurrent_lr_scale=True, extra_iterations=1,
                    milestones=(1,))
    else:
        base = dict(experiment="classification", dataset="digits", width=8 if family == "mlp"
                    else 4, depth=4, n_train=96, n_test=40, batch_size=32, optimizer="adam",
                    lr=3e-3, milestones=())
    base = dict(family=family, recurrent=True, momentum=0.9, weight_decay=2e-4,
                warmup_epochs=0.5, gamma=0.1, epochs=2, device="cpu", precision="fp64") | base
    return TrainConfig.from_dict(base | changes)


def seeds(config, which=SEEDS):
    own = config.experiment == "classification"
    return [config.replace(seed=s, split_seed=s if own else None) for s in which]


def _checkpoint(folder, config):
    return load_checkpoint(folder / "checkpoints" / f"{config.name()}.pt")


def _close(a, b, tol):
    """Nested dicts / lists of tensors and numbers equal to ``tol`` (0: bitwise)."""
    assert type(a) is type(b) or torch.is_tensor(a) and torch.is_tensor(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _close(a[k], b[k], tol)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, tol)
    elif torch.is_tensor(a):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b) if tol == 0 else torch.allclose(a, b, rtol=tol, atol=tol)
    elif isinstance(a, float) and tol:
        assert a == pytest.approx(b, rel=tol, abs=tol)
    else:
        assert a == b


def _keys(value, prefix=""):
    """Every key path of a nested record."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in _keys(v, f"{prefix}/{k}")} | {prefix}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return {p for v in value for p in _keys(v, prefix + "[]")}
    return {prefix}


@pytest.mark.parametrize("family", ["mlp", "convnet", "maze"])
def test_initial_weights_are_each_seeds_own_bitwise(tmp_path, family):
    """In the wide net, seed i's weights are those recur.train builds for seed i alone,
    and its outputs are seed i's net's on seed i's inputs."""
    configs = seeds(tiny(family), (0, 1, 2))
    paths = {c.name(): tmp_path / f"{c.name()}.pt" for c in configs}
    runs, rngs = B._setup_runs(configs, torch.device("cpu"), paths, resume=False,
                               data_root=None, download=False, log=print, info=print)
    b = B._stack(runs, rngs)
    for i, c in enumerate(configs):
        alone = T.setup_run(c, torch.device("cpu"), 0, 1, tmp_path / "x.pt", resume=False,
                         data_root=None, download=False, log=print, info=print)
        for name, p in alone.net.named_parameters():
            mine = b.wide.get_parameter(name).reshape(len(configs), -1)[i].reshape(p.shape)
            assert torch.equal(mine, p), (c.seed, name)
        assert torch.equal(alone.generator.get_state(), runs[i].generator.get_state())
        assert torch.equal(rngs[i]["torch"], torch.get_rng_state())  # seed i's global state
    x = [next(r.train_src.batches(c.batch_size, torch.Generator().manual_seed(9)))[0].double()
         for r, c in zip(runs, configs)]
    out = b.wide(torch.cat(x, 1))
    out = out.reshape(out.shape[0], len(configs), -1, *out.shape[2:])
    for i, run in enumerate(runs):
        want = run.net(x[i])
        assert torch.allclose(out[:, i].reshape(want.shape), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family,precision,tol", [
    ("mlp", "fp64", 1e-9), ("convnet", "fp64", 1e-9), ("maze", "fp64", 1e-9),
    ("mlp", "fp32", 1e-4), ("maze", "fp32", 1e-4), ("resnet", "fp32", 1e-4),
    ("mlp", "bf16", 2e-2), ("maze", "bf16", 2e-2)])
def test_batched_seeds_train_as_each_seed_alone(tmp_path, family, precision, tol):
    """After every epoch each seed's checkpoint (weights, optimizer state, its own random
    state, history) equals its one-by-one run's, and the records match in layout and value
    (in bf16 autocast, rounding differs more: looser, and a score may move by a sample)."""
    configs = seeds(tiny(family, precision=precision, **({"depth": 7} if family == "resnet"
                                                          else {})))
    alone = {}
    for c in configs:
        alone[c.name()] = T.train(c, results_dir=tmp_path / "alone", progress="none",
                                  stop_after=1)
    together = B.train_batched(configs, results_dir=tmp_path / "batched", progress="none",
                               stop_after=1)
    _compare(configs, alone, together, tmp_path, tol)
    alone = {c.name(): T.train(c, results_dir=tmp_path / "alone", progress="none")
             for c in configs}
    together = B.train_batched(configs, results_dir=tmp_path / "batched", progress="none")
    _compare(configs, alone, together, tmp_path, tol)
    for c, record in zip(configs, together):  # the record written is the one returned
        path = tmp_path / "batched" / "runs" / f"{c.name()}.json"
        assert json.loads(path.read_text()) == record
    assert together[0]["metrics"]["history"] != together[1]["metrics"]["history"]


def _same_score(a, b, tol):
    """Accuracies (%) equal; in bf16 within one sample of the smallest split (20)."""
    assert a == b if tol < 1e-3 else abs(a - b) <= 5.0


def _compare(configs, alone, together, tmp_path, tol):
    for c, got in zip(configs, together):
        want = alone[c.name()]
        assert _keys(got) == _keys(want) and got["config"] == want["config"]
        assert got["name"] == want["name"] and got["finished"] == want["finished"]
        for a, b in zip(got["metrics"]["history"], want["metrics"]["history"]):
            assert a.keys() == b.keys() and a["epoch"] == b["epoch"] and a["lr"] == b["lr"]
            assert a["loss"] == pytest.approx(b["loss"], abs=max(tol, 2e-6))
            _same_score(a["train_acc"], b["train_acc"], tol)
        if got["finished"]:
            for key in ("parameters", "iterations"):
                assert got["metrics"][key] == want["metrics"][key], key
            for key in ("train_acc", "test_acc"):
                _same_score(got["metrics"][key], want["metrics"][key], tol)
            for a, b in zip(*(r["metrics"]["test_acc_per_iteration"] for r in (got, want))):
                _same_score(a, b, tol)
            assert got["provenance"].keys() == want["provenance"].keys()
        ours = _checkpoint(tmp_path / "batched", c)
        theirs = _checkpoint(tmp_path / "alone", c)
        assert ours.keys() == theirs.keys() and ours["epoch"] == theirs["epoch"]
        assert ours["config"] == theirs["config"]
        _close(ours["model"], theirs["model"], tol)
        _close(ours["optimizer"], theirs["optimizer"], tol)
        _close(ours["rng"], theirs["rng"], 0)  # every random stream exactly where alone


def test_resume_after_stop_after_equals_an_uninterrupted_batched_run(tmp_path):
    configs = seeds(tiny("maze", precision="fp32", epochs=3))
    straight = B.train_batched(configs, results_dir=tmp_path / "a", progress="none")
    stopped = B.train_batched(configs, results_dir=tmp_path / "b", progress="none",
                              stop_after=1)
    assert [r["finished"] for r in stopped] == [False, False]
    assert [r["metrics"]["epochs_done"] for r in stopped] == [1, 1]
    assert not list((tmp_path / "b" / "runs").glob("*.json"))
    resumed = B.train_batched(configs, results_dir=tmp_path / "b", progress="none")
    for c, a, b in zip(configs, straight, resumed):
        _close(_checkpoint(tmp_path / "a", c)["model"], _checkpoint(tmp_path / "b", c)["model"], 0)
        _close(_checkpoint(tmp_path / "a", c)["optimizer"],
               _checkpoint(tmp_path / "b", c)["optimizer"], 0)
        assert [h["loss"] for h in a["metrics"]["history"]] == [
            h["loss"] for h in b["metrics"]["history"]]
        assert a["metrics"]["test_acc_per_iteration"] == b["metrics"]["test_acc_per_iteration"]
    again = B.train_batched(configs, results_dir=tmp_path / "b", progress="none")
    assert again == resumed  # finished runs are read back, not trained again


def test_seeds_at_different_epochs_resume_apart_and_end_as_alone(tmp_path):
    """A seed stopped after one epoch by recur.train and a fresh seed: each resumes from
    its own place (a one-by-one checkpoint included) and ends as trained alone."""
    configs = seeds(tiny("mlp", epochs=3))
    T.train(configs[0], results_dir=tmp_path / "batched", progress="none", stop_after=1)
    together = B.train_batched(configs, results_dir=tmp_path / "batched", progress="none")
    alone = {c.name(): T.train(c, results_dir=tmp_path / "alone", progress="none")
             for c in configs}
    _compare(configs, alone, together, tmp_path, 1e-9)


@pytest.mark.parametrize("family,change,words", [
    ("resnet_bn", dict(depth=7), "resnet_bn"),
    ("mlp", dict(compile=True), "torch.compile"),
])
def test_what_cannot_be_batched_exactly_is_refused_by_name(family, change, words):
    configs = seeds(tiny(family, **change))
    with pytest.raises(ValueError, match=words):
        B.train_batched(configs, progress="none")
    assert B.why_not(configs) is not None


def test_only_seeds_of_one_config_are_grouped():
    a, b = seeds(tiny("mlp"))
    deeper = a.replace(depth=5)
    assert B.groups([a, deeper, b, a]) == [[a, b], [deeper]]
    assert "differ" in B.why_not([a, deeper]) and "twice" in B.why_not([a, a])
    assert B.why_not([a, b]) is None


def test_worth_batching_reads_the_measured_table(tmp_path):
    table = tmp_path / "batched_cpu.json"
    rows = [{"family": "mlp", "seeds": 4, "total_ratio": 1.8},
            {"family": "mlp", "seeds": 16, "total_ratio": 0.9},
            {"family": "convnet", "seeds": 4, "total_ratio": 0.5}]
    table.write_text(json.dumps({"bf16": True, "rows": rows}))
    assert B.worth_batching("mlp", "cpu", 4, table=table)
    assert B.worth_batching("mlp", "cpu", 8, table=table)  # the nearest measured below
    assert not B.worth_batching("mlp", "cpu", 2, table=table)  # only 4 measured: no gain known
    assert not B.worth_batching("mlp", "cpu", 20, table=table)
    assert not B.worth_batching("mlp", "cpu", 1, table=table)
    assert not B.worth_batching("convnet", "cpu", 4, table=table)
    assert not B.worth_batching("maze", "cpu", 4, table=table)  # not measured
    assert not B.worth_batching("resnet_bn", "cpu", 4, table=table)
    assert not B.worth_batching("mlp", "cuda", 4, table=tmp_path / "none.json")
    assert B.worth_batching("mlp", "cpu", 4, bf16=True, table=table)
    assert not B.worth_batching("mlp", "cpu", 4, bf16=False, table=table)  # measured in bf16


def test_the_committed_cpu_table_names_its_machine_and_covers_the_families():
    record = json.loads((B.BENCHMARKS / "batched_cpu.json").read_text())
    assert record["cpu_model"] and record["precision"] and "avx512_bf16" in record
    assert {r["family"] for r in record["rows"]} >= {"mlp", "convnet", "maze"}
    for r in record["rows"]:
        assert r["total_ratio"] == pytest.approx(
            r["total_samples_per_s"] / r["one_by_one_samples_per_s"], rel=0.02)


def test_train_all_batches_where_measured_faster_and_keeps_the_order(tmp_path, monkeypatch):
    bench = tmp_path / "bench"
    bench.mkdir()
    mlp = seeds(tiny("mlp", epochs=1))
    bf16 = use_bf16(mlp[0].precision, torch.device("cpu"))  # the table's precision is the run's
    (bench / "batched_cpu.json").write_text(json.dumps(
        {"bf16": bf16, "rows": [{"family": "mlp", "seeds": 2, "total_ratio": 2.0}]}))
    monkeypatch.setattr(B, "BENCHMARKS", bench)
    calls = []
    real = B.train_batched
    monkeypatch.setattr(B, "train_batched", lambda g, **o: calls.append(g) or real(g, **o))
    conv = seeds(tiny("convnet", epochs=1))
    configs = [mlp[0], conv[0], mlp[1], conv[1]]
    seen = []
    records = B.train_all(configs, results_dir=tmp_path / "r", progress="none",
                          on_record=seen.append)
    assert calls == [mlp]  # convnet: not measured faster, one by one
    assert [r["name"] for r in records] == [c.name() for c in configs]
    assert sorted(r["name"] for r in seen) == sorted(c.name() for c in configs)
