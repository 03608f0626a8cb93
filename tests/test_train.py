"""The trainer: exact resume, safe checkpoints, NaN stops, schedule, masked maze loss,
run records and tables."""
import math
import os

import numpy as np
import pandas as pd
import pytest
import torch

from recur import losses, results, train as T
from recur.checkpoints import load_checkpoint, save_checkpoint
from recur.config import ADDED_FIELDS, TrainConfig
from recur.profiles import make_config


def tiny(**changes):
    base = dict(experiment="mazes", family="maze", recurrent=True, depth=12, dataset="mazes",
                width=8, maze_size=4, maze_scale=1, maze_crop=12, n_train=120, n_test=40,
                optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=2e-4, warmup_epochs=0.5,
                milestones=(1,), gamma=0.1, epochs=2, batch_size=40, extra_iterations=2,
                recurrent_lr_scale=True, device="cpu", precision="fp32")
    return TrainConfig.from_dict(base | changes)


def test_resume_is_bitwise_exact(tmp_path):
    config = tiny()
    straight = T.train(config, results_dir=tmp_path / "a", progress="none")
    stopped = T.train(config, results_dir=tmp_path / "b", progress="none", stop_after=1)
    assert stopped["finished"] is False and stopped["metrics"]["epochs_done"] == 1
    assert not list((tmp_path / "b" / "runs").glob("*.json"))  # no record for an unfinished run
    resumed = T.train(config, results_dir=tmp_path / "b", progress="none")
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / f"{config.name()}.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / f"{config.name()}.pt")
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert straight["metrics"]["history"][-1]["loss"] == resumed["metrics"]["history"][-1]["loss"]
    assert (straight["metrics"]["test_acc_per_iteration"]
            == resumed["metrics"]["test_acc_per_iteration"])
    # a finished run is not trained again: its record comes back
    again = T.train(config, results_dir=tmp_path / "b", progress="none")
    assert again == resumed


def test_a_checkpoint_resumes_only_its_own_config(tmp_path):
    """A checkpoint written before the added fields existed (its config lacks them) reads as
    their defaults and resumes; one whose config differs in any field, an added one
    included, is refused."""
    config = tiny()
    T.train(config, results_dir=tmp_path, progress="none", stop_after=1)
    path = tmp_path / "checkpoints" / f"{config.name()}.pt"
    state = load_checkpoint(path)
    older = {k: v for k, v in state["config"].items() if k not in ADDED_FIELDS}
    save_checkpoint(path, dict(state, config=older))
    assert T.train(config, results_dir=tmp_path, progress="none")["finished"]
    path.unlink()
    T.train(config, results_dir=tmp_path / "c", progress="none", stop_after=1)
    path = tmp_path / "c" / "checkpoints" / f"{config.name()}.pt"
    state = load_checkpoint(path)
    save_checkpoint(path, dict(state, config=dict(state["config"], shared_norm=True)))
    with pytest.raises(ValueError, match="belongs to another config"):
        T.train(config, results_dir=tmp_path / "c", progress="none")
    # a field missing from the checkpoint is its default, not whatever this config says
    digits = make_config("quick", "classification", family="mlp", recurrent=False, depth=3,
                         split_seed=3, epochs=2, milestones=(), device="cpu", precision="fp32")
    T.train(digits, results_dir=tmp_path / "d", progress="none", stop_after=1)
    path = tmp_path / "d" / "checkpoints" / f"{digits.name()}.pt"
    state = load_checkpoint(path)
    save_checkpoint(path, dict(state, config={k: v for k, v in state["config"].items()
                                              if k != "split_seed"}))  # the fixed split's
    with pytest.raises(ValueError, match="belongs to another config"):
        T.train(digits, results_dir=tmp_path / "d", progress="none")


def test_malicious_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "model": Payload()}, path)
    with pytest.raises(ValueError, match="refusing to load"):
        load_checkpoint(path)
    assert not marker.exists()
    torch.save({"just": "a dict"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a recur checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    config = tiny(epochs=3)
    real, correct = losses.OBJECTIVES["mazes"]
    calls = {"n": 0}

    def poisoned(logits, y, x, count=None):
        calls["n"] += 1
        loss = real(logits, y, x, count)
        return loss * float("nan") if calls["n"] > 3 else loss  # 3 steps = epoch 1

    monkeypatch.setitem(losses.OBJECTIVES, "mazes", (poisoned, correct))
    with pytest.raises(FloatingPointError, match=r"became nan in epoch 2.*after epoch 1"):
        T.train(config, results_dir=tmp_path, progress="none")
    state = load_checkpoint(tmp_path / "checkpoints" / f"{config.name()}.pt")
    assert state["epoch"] == 1 and all(torch.isfinite(t).all() for t in state["model"].values())
    assert not list((tmp_path / "runs").glob("*.json")) if (tmp_path / "runs").exists() else True


def test_schedule_warmup_and_milestones():
    c = tiny(warmup_epochs=2.0, milestones=(3, 5), gamma=0.1)
    assert T.lr_factor(c, 0, 0, 10) == pytest.approx(1 - math.exp(-1 / 20))
    assert T.lr_factor(c, 1, 9, 10) == pytest.approx(1 - math.exp(-1))  # one time constant
    assert T.lr_factor(c, 3, 0, 10) == pytest.approx(0.1 * (1 - math.exp(-31 / 20)))
    assert T.lr_factor(c, 6, 0, 10) == pytest.approx(0.01 * (1 - math.exp(-61 / 20)))
    assert T.lr_factor(tiny(warmup_epochs=0.0, milestones=()), 0, 0, 10) == 1.0


def test_recurrent_module_learns_at_lr_over_iterations():
    from recur.models import build_model
    net = build_model("maze", recurrent=True, depth=20, dataset="mazes", width=4)
    opt = T.make_optimizer(tiny(depth=20, lr=0.08), net)
    assert [g["lr"] for g in opt.param_groups] == [0.08, 0.02]
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == \
        sum(p.numel() for p in net.parameters())
    assert len(T.make_optimizer(tiny(depth=20, recurrent_lr_scale=False), net).param_groups) == 1


def test_maze_loss_and_accuracy_ignore_walls():
    torch.manual_seed(0)
    x = torch.zeros(2, 3, 5, 5)
    x[:, :, 1:4, 2] = 1  # a free column; everything else is wall
    y = torch.zeros(2, 5, 5, dtype=torch.long)
    y[:, 1:4, 2] = 1
    logits = torch.zeros(2, 2, 5, 5)
    logits[:, 1, 1:4, 2] = 5.0  # right on every free pixel
    noisy = logits.clone()
    noisy[:, 1, 0, :] = 9.0  # wildly wrong, but only on walls
    assert losses.maze_correct(logits, y, x).all() and losses.maze_correct(noisy, y, x).all()
    assert losses.maze_loss(noisy, y, x) == pytest.approx(losses.maze_loss(logits, y, x).item())
    logits[1, 1, 2, 2] = -5.0  # one free pixel wrong: that maze fails
    assert losses.maze_correct(logits, y, x).tolist() == [True, False]


def test_run_record_and_tables(tmp_path):
    record = T.train(tiny(epochs=1), results_dir=tmp_path, progress="none")
    assert set(record) == set(results.RECORD_KEYS)
    assert record["config"] == tiny(epochs=1).to_dict()
    assert set(record["metrics"]) == set(results.METRICS)
    hits = results.unpack(record["metrics"]["test_correct"], record["metrics"]["test_images"])
    assert 100 * hits.mean() == pytest.approx(record["metrics"]["test_acc"], abs=1e-3)
    assert len(record["metrics"]["test_set"]) == 16  # the test images' fingerprint
    assert {"device", "bf16", "git_commit", "torch"} <= set(record["provenance"])
    m = record["metrics"]
    assert len(m["test_acc_per_iteration"]) == m["iterations"] + 2
    assert m["test_acc"] == m["test_acc_per_iteration"][m["iterations"] - 1]
    T.train(tiny(epochs=1, recurrent=False), results_dir=tmp_path, progress="none")
    df = results.table(tmp_path)
    assert len(df) == 2 and {"experiment", "family", "dataset", "recurrent", "depth", "width",
                             "seed", "test_acc"} <= set(df.columns)
    assert not list((tmp_path / "runs").glob("*.tmp"))


def test_summarise_gives_mean_and_standard_error():
    df = pd.DataFrame({"family": ["maze"] * 4, "recurrent": [True, True, True, False],
                       "depth": [8] * 4, "test_acc": [10.0, 20.0, 30.0, 50.0]})
    s = results.summarise(df).set_index("recurrent")
    assert s.loc[True, "mean"] == 20.0 and s.loc[True, "n"] == 3
    assert s.loc[True, "se"] == pytest.approx(np.std([10, 20, 30], ddof=1) / np.sqrt(3))
    assert s.loc[False, "se"] == 0.0


def test_classification_on_digits_scores_what_an_independent_count_gives(tmp_path):
    """The record's accuracies equal a plain count over the un-augmented splits with the
    saved weights, per iteration; and two epochs of Adam learn the digits well above chance."""
    from recur import data
    config = make_config("quick", "classification", family="convnet", recurrent=True, depth=5,
                         epochs=5, n_train=512, n_test=100, device="cpu", precision="fp32")
    m = T.train(config, results_dir=tmp_path, progress="none")["metrics"]
    net = T.load_trained(config, results_dir=tmp_path)
    x, y = data.tensors("digits", "test")  # the config's subset: a seeded permutation's first 100
    keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(config.seed))[:100]
    x, y = x[keep], y[keep]
    with torch.no_grad():
        per_iteration = [100.0 * float((net(x, iterations=k).argmax(1) == y).float().mean())
                         for k in (1, 2)]  # depth 5 = 2 iterations
    assert m["test_acc_per_iteration"] == pytest.approx(per_iteration, abs=1e-3)
    assert m["test_acc"] == m["test_acc_per_iteration"][1]
    assert m["history"][-1]["loss"] < m["history"][0]["loss"]
    assert m["test_acc"] > 40  # chance is 10%


def test_bad_configs_fail_before_any_work():
    with pytest.raises(ValueError, match="valid depths are 8, 12, 16"):
        tiny(depth=21)
    with pytest.raises(ValueError, match="unknown config key"):
        TrainConfig.from_dict(tiny().to_dict() | {"learning_rate": 1})
    with pytest.raises(ValueError, match="optimizer"):
        tiny(optimizer="lbfgs")
    with pytest.raises(ValueError, match="unknown profile"):
        make_config("fast", "mazes", family="maze", recurrent=True, depth=8)


def test_a_named_device_that_is_absent_is_an_error(monkeypatch):
    """Both answers, whatever this machine has: the CUDA check is what is under test."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        T.resolve_device("cuda")
    assert T.resolve_device("auto").type in ("cpu", "mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert T.resolve_device("cuda") == torch.device("cuda")
    assert T.resolve_device("auto") == torch.device("cuda")


@pytest.mark.parametrize("field,value", [("seed", True), ("seed", -1), ("epochs", False),
                                         ("width", True), ("n_train", True), ("dilation", 0),
                                         ("extra_iterations", 1.5), ("maze_size", True),
                                         ("recurrent", 1), ("compile", "yes"),
                                         ("device", "gpu")])
def test_config_rejects_flags_where_numbers_are_meant_and_other_bad_values(field, value):
    with pytest.raises(ValueError, match=f"{field} = {value!r} is not allowed"):
        tiny(**{field: value})


def test_profiles_are_the_authors_table():
    c = make_config("paper", "classification", family="convnet", recurrent=True, depth=7,
                    dataset="svhn")
    assert ((c.lr, c.milestones, c.epochs, c.batch_size, c.optimizer)
            == (0.03, (50, 100, 150), 200, 128, "sgd"))
    assert make_config("paper", "classification", family="convnet", recurrent=False, depth=7,
                       dataset="cifar10").lr == 0.05
    assert make_config("paper", "classification", family="resnet", recurrent=True, depth=19,
                       dataset="cifar10").lr == 0.01
    m = make_config("paper", "mazes", family="maze", recurrent=True, depth=20)
    assert (m.optimizer, m.lr, m.gamma, m.batch_size, m.width, m.recurrent_lr_scale) == \
        ("adam", 5e-4, 0.25, 50, 128, True)
    assert make_config("paper", "mazes", family="maze", recurrent=True, depth=12,
                       optimizer="sgd").lr == 0.05
    # the optimizer argument is honoured for classification too
    assert make_config("quick", "classification", family="mlp", recurrent=True, depth=4,
                       optimizer="adam").optimizer == "adam"


def test_imagenet_folder_trains_through_the_same_trainer(tmp_path):
    """The ResNet-50 pair trains from an ImageFolder tree (tiny images, one step)."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("n01", "n02"):
            (tmp_path / "data" / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
                    tmp_path / "data" / split / cls / f"{i}.JPEG")
    config = make_config("paper", "classification", family="resnet50", recurrent=True, depth=50,
                         dataset="imagenet", epochs=1, batch_size=4, device="cpu", precision="fp32",
                         channels_last=False)
    import recur.train as T2
    record = T2.train(config, results_dir=tmp_path / "r", progress="none",
                      data_root=tmp_path / "data")
    m = record["metrics"]
    assert record["config"]["dataset"] == "imagenet" and len(m["history"]) == 1
    assert m["iterations"] == (2, 3, 5, 2)
    # the score is a plain count over the validation folder with the saved weights
    from torchvision import transforms as TF
    from torchvision.datasets import ImageFolder
    from recur.data import INFO
    tf = TF.Compose([TF.Resize(256), TF.CenterCrop(224), TF.ToTensor(),
                     TF.Normalize(INFO["imagenet"].mean, INFO["imagenet"].std)])
    val = ImageFolder(tmp_path / "data" / "val", transform=tf)
    x = torch.stack([val[i][0] for i in range(len(val))])
    y = torch.tensor([val[i][1] for i in range(len(val))])
    net = T2.load_trained(config, results_dir=tmp_path / "r")
    with torch.no_grad():
        expected = 100.0 * float((net(x).argmax(1) == y).float().mean())
    assert m["test_acc"] == pytest.approx(expected, abs=1e-3)
    assert m["train_acc"] == m["history"][-1]["train_acc"]  # no second pass


PAPER_CLASSIFICATION = [(f, d) for f in ("mlp", "convnet", "resnet", "resnet_bn", "resnet18")
                        for d in ("cifar10", "svhn", "emnist")]


@pytest.mark.parametrize("family,dataset", PAPER_CLASSIFICATION)
def test_paper_profile_takes_one_step_on_synthetic_data(family, dataset):
    """The paper profile cannot rot: each entry builds the paper-width model, whose output
    has the dataset's shape, and one optimizer step runs at the table's learning rate."""
    from recur.data import INFO
    from recur.depths import valid_depths
    from recur.models import build_model
    depth = valid_depths(family)[0]
    c = make_config("paper", "classification", family=family, recurrent=family != "resnet18",
                    depth=depth, dataset=dataset)
    info = INFO[dataset]
    net = build_model(family, recurrent=c.recurrent, depth=depth, dataset=dataset, width=c.width)
    opt = T.make_optimizer(c, net)
    assert [g["lr"] for g in opt.param_groups] == [c.lr] and c.optimizer == "sgd"
    assert c.weight_decay == 2e-4 and c.momentum == 0.9 and c.batch_size == 128
    x = torch.randn(2, info.channels, info.size, info.size)
    out = net(x)
    assert out.shape == (2, info.classes)
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    before = [p.detach().clone() for p in net.parameters()]
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
