"""Fault injection: every file recur writes and reads back, under every fault we can make.

Places: run records, checkpoints, run locks, the maze cache, executed notebooks, figures,
the README's generated blocks, benchmark records.  Faults on reading: a file cut short,
random bytes, an empty file, a folder where the file should be.  Faults on writing: no
space left (ENOSPC) and an I/O error (EIO) at the moment the data is flushed to disk, a
real full disk (a tiny tmpfs, where the test may mount one), a read-only folder, and a
file where a folder should be.  Each must give a clear message naming the path, leave no
half-written file in place of a good one, and a rerun after the fault is removed must end
exactly as a run that never saw it.
"""
import base64
import errno
import json
import os
import random
import subprocess
import time

import nbformat
import numpy as np
import pytest
import torch

from recur import checkpoints as C
from recur import executed, mazes, readme, reproduce, results
from recur import train as T
from recur.__main__ import main
from recur.storage import DamagedFile, StorageError
from test_checkpoints import tiny  # the tiny quick maze run of the checkpoint tests

PNG = base64.b64encode(  # a real 1x1 PNG
    bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                  "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082")
).decode()


# --------------------------------------------------------------------------- faults
def truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def random_bytes(path):
    path.write_bytes(random.Random(0).randbytes(max(path.stat().st_size, 64)))


def empty(path):
    path.write_bytes(b"")


def folder(path):
    path.unlink()
    path.mkdir()
    (path / "something").write_text("x")


DAMAGE = {"truncated": truncated, "random bytes": random_bytes, "empty": empty,
          "folder in its place": folder}


@pytest.fixture
def failing_flush(monkeypatch):
    """``fail(errno)``: from now on every write fails when its data is flushed to disk,
    as a full disk or a failing device makes it fail (the data is half on disk then)."""
    def fail(code):
        def fsync(fd):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(os, "fsync", fsync)
    return fail


def _mount_tmpfs(where, size):
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'needs root'}); "
                    f"the patched-flush tests cover the same faults")


@pytest.fixture
def mounts():
    """Mount tiny tmpfs filesystems (root only); all unmounted at the end."""
    made = []

    def mount(where, size="64k", read_only=False, before=lambda: None):
        _mount_tmpfs(where, size)
        made.append(where)
        before()  # what is there before it turns read-only
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        return where
    yield mount
    for where in reversed(made):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def read_only(mounts):
    """``make(folder)``: ``folder`` as a real read-only filesystem (even root cannot write
    there), or read-only by permissions where the tests do not run as root."""
    def make(where, before=lambda: None):
        if os.geteuid() != 0:
            where.mkdir(parents=True, exist_ok=True)
            before()
            for p in [where, *where.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o555)
            return where
        return mounts(where, before=before, read_only=True)
    return make


def _no_temp_files(folder):
    return [p for p in folder.rglob("*.tmp")]


# --------------------------------------------------------------------------- writers
def _notebook(version):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG,
                                                                   "text/plain": f"v{version}"})]
    nb.cells = [cell]
    return nb


def write_run_record(root, v):
    path = root / "runs" / "r.json"
    results.write_record(path, {"name": "r", "v": v})
    return path


def write_checkpoint(root, v):
    path = root / "checkpoints" / "r.pt"
    C.save_checkpoint(path, {"epoch": v, "w": torch.full((3,), float(v))})
    return path


def write_benchmark_record(root, v):  # benchmarks/*.py write through results.write_record
    path = root / "benchmarks" / "maze_generation.json"
    results.write_record(path, {"benchmark": "maze_generation", "v": v})
    return path


def write_notebook(root, v):
    dst = root / "01_x.ipynb"
    tmp = root.parent / f".{root.name}-01_x.running.ipynb"  # what papermill left
    nbformat.write(_notebook(v), tmp)
    reproduce.finish_notebook(tmp, dst, "quick", {})
    return dst


def write_figure(root, v):
    return reproduce.save_figures(_notebook(v), root / "figures", "01_x")[0]


README_TEXT = ("# x\n<!-- results:start -->\nold\n<!-- results:end -->\n"
               "<!-- findings:start -->\nold\n<!-- findings:end -->\n")


def write_readme(root, v):
    path = root / "README.md"
    if not path.exists():  # the README and the runs of both versions, before any fault
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(README_TEXT)
        for k in (1, 2):
            results.write_record(root / f"res{k}" / "runs" / "r.json", _record(k))
    readme.update_readme("quick", results_root=root / f"res{v}", readme=path)
    return path


def _record(v):
    """A run record in the current layout: config, metrics, provenance."""
    config = {"experiment": "classification", "family": "mlp", "dataset": "digits",
              "recurrent": True, "depth": 5, "seed": 0, "width": 8}
    return {"name": "r", "finished": True, "config": config,
            "metrics": {"test_acc": float(v), "train_acc": 100.0}, "provenance": {}}


def version(path):
    """Which version the place holds now, read as the project reads it."""
    if path.suffix == ".pt":
        return C.load_latest(path)["epoch"]
    if path.suffix == ".ipynb":
        return executed.read_notebook(path).cells[0].outputs[0]["data"]["text/plain"]
    if path.suffix == ".png":
        return path.read_bytes()
    if path.name == "README.md":
        return path.read_text()
    return json.loads(path.read_text())["v"]


WRITERS = {"run record": write_run_record, "checkpoint": write_checkpoint,
           "benchmark record": write_benchmark_record, "executed notebook": write_notebook,
           "figure": write_figure, "README block": write_readme}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
@pytest.mark.parametrize("place", WRITERS)
def test_a_failed_write_names_the_path_and_keeps_the_good_file(tmp_path, place, code,
                                                                failing_flush):
    path = WRITERS[place](tmp_path, 1)
    good = version(path)
    failing_flush(code)
    with pytest.raises(StorageError) as err:
        WRITERS[place](tmp_path, 2)
    message = str(err.value)
    assert str(path) in message and os.strerror(code).lower() in message
    assert "\n" not in message
    assert version(path) == good  # the good file is still there, whole
    assert _no_temp_files(tmp_path) == []


@pytest.mark.parametrize("place", WRITERS)
def test_a_write_to_a_read_only_folder_names_the_path(tmp_path, place, read_only):
    target = tmp_path / "ro"
    read_only(target, before=lambda: WRITERS[place](target, 1))
    path = next(p for p in target.rglob("*") if p.is_file() and ".prev" not in p.name
                and (p.suffix != ".json" or "res" not in str(p.parent)))
    good = version(path)
    with pytest.raises(StorageError, match=str(target)) as err:
        WRITERS[place](target, 2)
    assert "read-only" in str(err.value) or "permission" in str(err.value)
    assert version(path) == good


@pytest.mark.parametrize("place", [w for w in WRITERS if w != "README block"])
def test_a_file_where_a_folder_should_be_is_named(tmp_path, place):
    (tmp_path / "root").write_text("a file, not a folder")
    with pytest.raises(StorageError, match=f"{tmp_path / 'root'} is a file where a folder"):
        WRITERS[place](tmp_path / "root", 1)


@pytest.mark.parametrize("place", WRITERS)
def test_a_real_full_disk(tmp_path, place, mounts):
    """Not patched: a 64 KiB filesystem that fills up while the file is written."""
    disk = mounts(tmp_path / "disk", "64k")
    path = WRITERS[place](disk, 1)
    good = version(path)
    fd = os.open(disk / "fill", os.O_WRONLY | os.O_CREAT)
    try:  # fill every page that is left
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as err:
        assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)
    with pytest.raises(StorageError, match="no space left on device"):
        WRITERS[place](disk, 2)
    assert version(path) == good and _no_temp_files(disk) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
def test_the_maze_cache_that_cannot_be_written_warns_and_goes_on(tmp_path, failing_flush,
                                                                  capsys, code):
    failing_flush(code)
    train, test = mazes.load_or_generate(3, 20, 10, seed=0, cache_dir=tmp_path)
    fresh = mazes.load_or_generate(3, 20, 10, seed=0, cache_dir=False)
    assert np.array_equal(train.grid, fresh[0].grid) and np.array_equal(test.path, fresh[1].path)
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "RECUR_CACHE" in err and os.strerror(code).lower() in err
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_read_only_maze_cache_warns_and_goes_on(tmp_path, read_only, capsys):
    cache = read_only(tmp_path / "cache")
    train, _ = mazes.load_or_generate(3, 20, 10, seed=0, cache_dir=cache)
    assert len(train) == 20 and "these mazes are not cached" in capsys.readouterr().err


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
def test_a_lock_that_cannot_be_written_names_its_path(tmp_path, failing_flush, code):
    failing_flush(code)
    lock = C.RunLock(tmp_path / "r.lock")
    with pytest.raises(StorageError, match=f"could not create {tmp_path / 'r.lock'}"):
        lock.acquire()
    assert list(tmp_path.iterdir()) == []  # no half lock that would block the next run


def test_a_lock_in_a_read_only_folder_names_its_path(tmp_path, read_only):
    folder = read_only(tmp_path / "checkpoints")
    with pytest.raises(StorageError, match=f"could not create {folder / 'r.lock'}"):
        C.RunLock(folder / "r.lock").acquire()


def test_a_lock_where_its_folder_should_be_a_file(tmp_path):
    (tmp_path / "checkpoints").write_text("a file")
    with pytest.raises(StorageError, match=f"{tmp_path / 'checkpoints'} is a file where a folder"):
        C.RunLock(tmp_path / "checkpoints" / "r.lock").acquire()


# --------------------------------------------------------------------------- readers
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_run_record_is_set_aside_by_table(tmp_path, damage, capsys):
    good = _record(90)
    results.write_record(tmp_path / "runs" / "r.json", good)
    results.write_record(tmp_path / "runs" / "s.json", dict(good, name="s"))
    DAMAGE[damage](tmp_path / "runs" / "r.json")
    df = results.table(tmp_path)
    assert list(df["name"]) == ["s"]
    err = capsys.readouterr().err
    record = tmp_path / "runs" / "r.json"
    assert f"run record {record} is damaged" in err or f"run record {record} cannot be read" in err
    assert "moved to" in err and "re-evaluates" in err and "Traceback" not in err
    assert (tmp_path / "runs" / "r.json.corrupt").exists()


def test_a_record_of_another_run_is_damaged(tmp_path):
    results.write_record(tmp_path / "r.json", _record(1) | {"name": "other"})
    with pytest.raises(DamagedFile, match="names the run 'other'"):
        results.read_record(tmp_path / "r.json")


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    path = write_checkpoint(tmp_path, 1)
    write_checkpoint(tmp_path, 2)
    DAMAGE[damage](path)
    said = []
    assert C.load_latest(path, log=said.append)["epoch"] == 1
    assert len(said) == 1 and str(path) in said[0] and "moved to" in said[0]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_lock_is_moved_aside_once_stale(tmp_path, damage):
    path = tmp_path / "r.lock"
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": 0}))
    DAMAGE[damage](path)
    fresh = C.RunLock(path)
    with pytest.raises(C.RunLocked, match=str(path)):  # young: maybe being written
        fresh.acquire()
    old = time.time() - 60
    os.utime(path, (old, old))
    said = []
    with C.RunLock(path, log=said.append):
        assert C.RunLock(path).holder()["pid"] == os.getpid()
    assert len(said) == 1 and str(path) in said[0]
    assert not path.exists()


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_maze_cache_is_regenerated(tmp_path, damage):
    clean = mazes.load_or_generate(3, 20, 10, seed=0, cache_dir=tmp_path)
    (file,) = tmp_path.glob("mazes-*.npz")
    DAMAGE[damage](file)
    with pytest.warns(RuntimeWarning, match=f"maze cache {file} is corrupt.*moved to"):
        again = mazes.load_or_generate(3, 20, 10, seed=0, cache_dir=tmp_path)
    assert all(np.array_equal(a.grid, b.grid) and np.array_equal(a.path, b.path)
               for a, b in zip(clean, again))
    assert file.is_file() and file.with_name(file.name + ".corrupt").exists()


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_executed_notebook_is_named_and_skipped(tmp_path, damage, capsys):
    path = write_notebook(tmp_path, 1)
    DAMAGE[damage](path)
    with pytest.raises(DamagedFile, match=f"notebook {path}"):
        executed.read_notebook(path)
    assert readme.findings_section(tmp_path).startswith("_No executed notebooks")
    err = capsys.readouterr().err
    assert str(path) in err and "left out of the README" in err


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_readme_is_named_and_left_unchanged(tmp_path, damage):
    path = write_readme(tmp_path, 1)
    DAMAGE[damage](path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(DamagedFile, match=f"README {path}"):
        readme.update_readme("quick", results_root=tmp_path / "res1", readme=path)
    assert (path.read_bytes() if path.is_file() else None) == before


def test_papermill_output_that_does_not_read_back_fails_that_notebook_only(tmp_path):
    dst = write_notebook(tmp_path, 1)
    tmp = tmp_path / ".01_x.running.ipynb"
    tmp.write_text('{"cells": [')
    with pytest.raises(DamagedFile, match=str(tmp)):
        reproduce.finish_notebook(tmp, dst, "quick", {})
    assert not tmp.exists() and version(dst) == "v1"


# --------------------------------------------------------------------------- a real run
def metrics(record):
    """What a run computed (timings and provenance aside), to compare bitwise."""
    keys = ("parameters", "train_acc", "test_acc", "test_acc_per_iteration")
    return ({k: record["metrics"][k] for k in keys},
            [(h["loss"], h["train_acc"], h["lr"]) for h in record["metrics"]["history"]])


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    return metrics(T.train(tiny(), results_dir=tmp_path_factory.mktemp("clean"),
                           progress="none"))


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_record_is_re_evaluated_from_the_checkpoint(tmp_path, damage, clean_run,
                                                              capsys, monkeypatch):
    config = tiny()
    T.train(config, results_dir=tmp_path, progress="none")
    record = tmp_path / "runs" / f"{config.name()}.json"
    DAMAGE[damage](record)
    monkeypatch.setattr(T, "_train_epoch", lambda *a: pytest.fail("trained again"))
    again = T.train(config, results_dir=tmp_path, progress="none")
    err = capsys.readouterr().err
    assert str(record) in err and "re-evaluating the run from its last checkpoint" in err
    assert metrics(again) == clean_run
    assert T.results.read_record(record)["metrics"]["test_acc"] == again["metrics"]["test_acc"]


def test_a_damaged_record_without_checkpoints_trains_again(tmp_path, clean_run, capsys):
    config = tiny()
    T.train(config, results_dir=tmp_path, progress="none")
    for f in (tmp_path / "checkpoints").iterdir():
        f.unlink()
    truncated(tmp_path / "runs" / f"{config.name()}.json")
    again = T.train(config, results_dir=tmp_path, progress="none")
    assert "training the run again" in capsys.readouterr().err
    assert metrics(again) == clean_run


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
def test_a_write_failing_mid_run_says_what_was_kept_and_the_rerun_resumes(
        tmp_path, code, clean_run, monkeypatch):
    config = tiny()
    real_fsync, checkpoints = os.fsync, []

    def fsync(fd):  # the third checkpoint (after epoch 3) hits the fault
        if ".pt." in os.readlink(f"/proc/self/fd/{fd}"):
            checkpoints.append(fd)
            if len(checkpoints) == 3:
                raise OSError(code, os.strerror(code))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(StorageError) as err:
        T.train(config, results_dir=tmp_path, progress="none")
    ckpt = tmp_path / "checkpoints" / f"{config.name()}.pt"
    message = str(err.value)
    assert str(ckpt) in message and "Kept: the checkpoint after epoch 2" in message
    assert "resumes" in message and "\n" not in message
    monkeypatch.setattr(os, "fsync", real_fsync)
    said = []
    again = T.train(config, results_dir=tmp_path, progress="lines", log=said.append)
    assert any("resuming" in s and "after epoch 2" in s for s in said)
    assert metrics(again) == clean_run


def test_a_record_that_cannot_be_written_is_written_by_the_rerun(tmp_path, clean_run,
                                                                  monkeypatch):
    config = tiny()
    real = results.write_record

    def full(path, record):
        raise StorageError(f"could not write {path} (no space left on device); nothing "
                           f"was written there")
    monkeypatch.setattr(results, "write_record", full)
    with pytest.raises(StorageError, match="Training finished.*rerun to evaluate it"):
        T.train(config, results_dir=tmp_path, progress="none")
    monkeypatch.setattr(results, "write_record", real)
    monkeypatch.setattr(T, "_train_epoch", lambda *a: pytest.fail("trained again"))
    assert metrics(T.train(config, results_dir=tmp_path, progress="none")) == clean_run


def test_a_read_only_results_folder_stops_before_any_work(tmp_path, read_only, clean_run,
                                                          monkeypatch):
    results_dir = read_only(tmp_path / "results")
    monkeypatch.setattr(T, "make_data", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(StorageError, match=f"cannot write to {results_dir / 'runs'}.*"
                                           f"RECUR_RESULTS or pass --results"):
        T.train(tiny(), results_dir=results_dir, progress="none")


def test_a_read_only_cache_stops_a_maze_run_before_any_work(tmp_path, read_only, monkeypatch):
    monkeypatch.setenv("RECUR_CACHE", str(read_only(tmp_path / "cache")))
    monkeypatch.setattr(T, "make_data", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(StorageError, match=f"{tmp_path / 'cache'}.*set RECUR_CACHE"):
        T.train(tiny(), results_dir=tmp_path / "results", progress="none")


def test_the_command_line_says_one_line_and_exits_non_zero(tmp_path, read_only, capsys):
    results_dir = read_only(tmp_path / "results")
    code = main(["train", "--experiment", "mazes", "--family", "maze", "--depth", "8",
                 "--recurrent", "--results", str(results_dir), "--device", "cpu",
                 "--set", "epochs=1", "n_train=20", "n_test=10"])
    err = capsys.readouterr().err.strip()
    assert code == 4 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"[recur] error: cannot write to {results_dir / 'runs'}")


def test_the_runner_stops_before_any_notebook_when_its_output_is_read_only(
        tmp_path, read_only, capsys):
    out = read_only(tmp_path / "out")
    assert main(["reproduce", "--output", str(out), "--notebooks", "01"]) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"[recur] error: cannot write to {out} (")
    assert err.endswith("; pass --output to write elsewhere")


def test_a_notebook_shows_one_line_not_a_traceback():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    with capture_output() as shown:
        shell.run_cell("from recur.storage import StorageError\n"
                       "raise StorageError('could not write /x (no space left on device)')")
    lines = [line for line in shown.stdout.splitlines() if line.strip()]
    assert lines == ["StorageError: could not write /x (no space left on device)"]


def test_a_kept_record_without_weights_trains_them_again_for_load_trained(tmp_path, clean_run,
                                                                          capsys):
    """Records are committed, checkpoints are not: a notebook that needs a net's weights gets
    them by training it again, even from inside ``torch.no_grad()``; the record is kept."""
    config = tiny()
    T.train(config, results_dir=tmp_path, progress="none")
    record = (tmp_path / "runs" / f"{config.name()}.json").read_bytes()
    for f in (tmp_path / "checkpoints").iterdir():
        f.unlink()
    with torch.no_grad():
        net = T.load_trained(config, results_dir=tmp_path)
    assert "training it again for its weights" in capsys.readouterr().out
    assert (tmp_path / "runs" / f"{config.name()}.json").read_bytes() == record
    again = T.evaluate(net, T.make_data(config, torch.device("cpu"))[1], "mazes")
    assert again == clean_run[0]["test_acc_per_iteration"]
