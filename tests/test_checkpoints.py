"""Checkpoints: a checksum catches damage, a damaged one is reported by path and the run
resumes from the previous good one (or afresh, with a warning); one process per run."""
import json
import os
import subprocess
import sys

import pytest
import torch

from recur import checkpoints as C
from recur import train as T
from recur.config import TrainConfig


def tiny(**changes):
    base = dict(experiment="mazes", family="maze", recurrent=True, depth=8, dataset="mazes",
                width=4, maze_size=3, maze_scale=1, maze_crop=None, n_train=60, n_test=20,
                optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=2e-4, warmup_epochs=0.0,
                milestones=(), gamma=0.1, epochs=3, batch_size=20, device="cpu",
                precision="fp32")
    return TrainConfig.from_dict(base | changes)


def _paths(tmp_path, config):
    ckpt = tmp_path / "checkpoints" / f"{config.name()}.pt"
    return ckpt, C.previous(ckpt)


def test_saving_keeps_the_previous_checkpoint_and_a_checksum(tmp_path):
    path = tmp_path / "run.pt"
    C.save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    C.save_checkpoint(path, {"epoch": 2, "w": torch.full((3,), 2.0)})
    assert C.load_checkpoint(path)["epoch"] == 2
    assert C.load_checkpoint(C.previous(path))["epoch"] == 1
    state = torch.load(path, weights_only=True)
    assert state["sha256"] == C.checksum(state) and len(state["sha256"]) == 64


def test_a_changed_tensor_fails_the_checksum(tmp_path):
    path = tmp_path / "run.pt"
    C.save_checkpoint(path, {"epoch": 1, "w": torch.ones(1000)})
    state = torch.load(path, weights_only=True)
    state["w"][17] = 1.0000001  # a damaged value, in an otherwise readable file
    torch.save(state, path)
    with pytest.raises(C.CorruptCheckpoint, match="does not match its checksum"):
        C.load_checkpoint(path)


def test_a_truncated_checkpoint_is_reported_by_path(tmp_path):
    path = tmp_path / "run.pt"
    C.save_checkpoint(path, {"epoch": 1, "w": torch.randn(10_000)})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(C.CorruptCheckpoint, match=f"{path}.*corrupt"):
        C.load_checkpoint(path)


def test_resume_after_the_last_checkpoint_was_cut_in_half(tmp_path):
    """The run goes on from the previous good checkpoint and ends exactly where an
    uninterrupted run ends; the damaged file is kept aside, not deleted."""
    config = tiny()
    straight = T.train(config, results_dir=tmp_path / "a", progress="none")
    T.train(config, results_dir=tmp_path / "b", progress="none", stop_after=2)
    ckpt, prev = _paths(tmp_path / "b", config)
    assert C.load_checkpoint(prev)["epoch"] == 1
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    messages = []
    resumed = T.train(config, results_dir=tmp_path / "b", progress="lines", log=messages.append)
    assert any(str(ckpt) in m and "corrupt" in m for m in messages)
    assert any("resuming" in m and "after epoch 1" in m for m in messages)
    assert ckpt.with_name(ckpt.name + ".corrupt").exists()
    assert ([h["loss"] for h in resumed["metrics"]["history"]]
            == [h["loss"] for h in straight["metrics"]["history"]])
    assert (resumed["metrics"]["test_acc_per_iteration"]
            == straight["metrics"]["test_acc_per_iteration"])


def test_no_good_checkpoint_left_starts_afresh_with_a_warning(tmp_path):
    config = tiny(epochs=2)
    straight = T.train(config, results_dir=tmp_path / "a", progress="none")
    T.train(config, results_dir=tmp_path / "b", progress="none", stop_after=1)
    ckpt, _ = _paths(tmp_path / "b", config)
    ckpt.write_bytes(b"not a zip file")
    messages = []
    fresh = T.train(config, results_dir=tmp_path / "b", progress="none", log=messages.append)
    # said even with progress="none" (how the notebooks train): nothing is lost silently
    assert any("corrupt" in m for m in messages) and any("afresh" in m for m in messages)
    assert ([h["loss"] for h in fresh["metrics"]["history"]]
            == [h["loss"] for h in straight["metrics"]["history"]])


def test_a_second_process_on_the_same_run_stops_with_a_clear_message(tmp_path):
    config = tiny(epochs=1)
    lock_path = tmp_path / "checkpoints" / f"{config.name()}.lock"
    with C.RunLock(lock_path):  # held by a live process (this one)
        with pytest.raises(C.RunLocked, match="another process is training this run"):
            T.train(config, results_dir=tmp_path, progress="none")
    assert not lock_path.exists()  # released on exit
    record = T.train(config, results_dir=tmp_path, progress="none")
    assert record["finished"] and not lock_path.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    config = tiny(epochs=1)
    lock_path = tmp_path / "checkpoints" / f"{config.name()}.lock"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_path.parent.mkdir(parents=True)
    import socket
    lock_path.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": 0}))
    messages = []
    record = T.train(config, results_dir=tmp_path, progress="lines", log=messages.append)
    assert record["finished"] and any("stale lock" in m for m in messages)


def test_a_waiting_process_gets_the_finished_record(tmp_path, monkeypatch):
    """With ``wait``, a second process waits for the one training the run and returns its
    record instead of training the run again."""
    import time
    config = tiny(epochs=3, n_train=1000)
    script = ("import json\nfrom recur import train as T\nfrom recur.config import TrainConfig\n"
              f"c = TrainConfig.from_dict(json.loads({json.dumps(json.dumps(config.to_dict()))}))\n"
              f"T.train(c, results_dir={str(tmp_path)!r}, progress='none')\n")
    lock_path = tmp_path / "checkpoints" / f"{config.name()}.lock"
    first = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not lock_path.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_path.exists(), "the first process never took the lock"
    with pytest.raises(C.RunLocked, match="another process"):
        T.train(config, results_dir=tmp_path, progress="none")  # no wait: stop at once
    monkeypatch.setattr(T, "setup_run", lambda *a, **k: pytest.fail("trained a second time"))
    record = T.train(config, results_dir=tmp_path, progress="none", wait=120)
    assert first.wait(timeout=120) == 0
    runs = list((tmp_path / "runs").glob("*.json"))
    assert len(runs) == 1 and json.loads(runs[0].read_text()) == record


def test_the_command_line_says_who_holds_the_run(tmp_path, capsys):
    from recur.__main__ import main
    from recur.profiles import make_config
    sets = ["width=4", "maze_size=3", "n_train=60", "n_test=20", "epochs=1"]
    config = make_config("quick", "mazes", family="maze", recurrent=True, depth=8, device="auto",
                         width=4, maze_size=3, n_train=60, n_test=20, epochs=1)
    with C.RunLock(tmp_path / "checkpoints" / f"{config.name()}.lock"):
        code = main(["train", "--experiment", "mazes", "--family", "maze", "--depth", "8",
                     "--recurrent", "--results", str(tmp_path), "--set", *sets])
    assert code == 3 and "another process is training this run" in capsys.readouterr().err
