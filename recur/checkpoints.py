"""Checkpoints that survive crashes, disk damage and a second process on the same run.

* Written atomically (temporary file, then rename), with a SHA-256 of their content
  inside; the previous one is kept beside it as ``<name>.prev.pt``.
* Read with ``weights_only=True``: a file that would run code when unpickled is refused.
* :func:`load_latest` resumes from the newest checkpoint that reads back whole; one that
  does not is reported by path and moved aside as ``<name>.corrupt``, never deleted.
* :class:`RunLock`: one process per run; a lock whose owner died is detected as stale.
* :func:`finished_record` and :func:`kept`: what a run finds on disk before it trains and
  leaves behind if it stops.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import socket
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from recur import results
from recur.config import ADDED_FIELDS
from recur.storage import DamagedFile, StorageError, atomic_write, create_exclusive, quarantine
from recur.storage import reason, set_aside

#: 2: with a content checksum.  Format 1 (no checksum) is still read.
CHECKPOINT_FORMAT = 2


class CorruptCheckpoint(DamagedFile, ValueError):
    """A checkpoint file that cannot be read back whole (truncated, damaged)."""


# --------------------------------------------------------------------------- checksum
def _feed(h, value) -> None:
    """Hash a checkpoint's content in a fixed order: tensors by dtype, shape and bytes."""
    if torch.is_tensor(value):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(b"D")
        for key in sorted(value, key=repr):
            h.update(repr(key).encode())
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for item in value:
            _feed(h, item)
    else:
        h.update(repr(value).encode())


def checksum(state: dict) -> str:
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in state.items() if k != "sha256"})
    return h.hexdigest()


# --------------------------------------------------------------------------- files
def previous(path: Path) -> Path:
    """Where the checkpoint before ``path`` is kept."""
    return path.with_name(path.stem + ".prev" + path.suffix)


def save_checkpoint(path, state: dict) -> None:
    """Keep the current checkpoint as the previous one, then write ``state`` (with its
    checksum) atomically: a crash at any point leaves at least one whole checkpoint."""
    path = Path(path)
    state = dict(state, format=CHECKPOINT_FORMAT)
    state["sha256"] = checksum(state)
    buffer = io.BytesIO()  # serialised first: a write error is then an I/O error only
    torch.save(state, buffer)
    if path.is_file():
        try:
            os.replace(path, previous(path))
        except OSError as err:
            raise StorageError(f"could not keep {path} as {previous(path).name} "
                               f"({reason(err, path)}); {path} is unchanged") from None
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.  Only tensors and plain
    containers are accepted (``weights_only=True``): a file that would run code when
    unpickled is refused with a ``ValueError``, never executed.  A damaged file raises
    :class:`CorruptCheckpoint` naming its path."""
    if Path(path).exists() and not zipfile.is_zipfile(path):  # torch.save writes zip archives
        raise CorruptCheckpoint(f"checkpoint {path} is corrupt and cannot be read (not a "
                                f"whole zip archive: truncated or overwritten)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"refusing to load {path}: it is not a plain-tensor recur "
                         f"checkpoint ({str(err).splitlines()[0]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CorruptCheckpoint(f"checkpoint {path} is corrupt and cannot be read "
                                f"({str(err).splitlines()[0]})") from None
    if not isinstance(state, dict) or state.get("format") not in (1, CHECKPOINT_FORMAT):
        raise ValueError(f"{path} is not a recur checkpoint (format {CHECKPOINT_FORMAT})")
    if state["format"] >= 2 and state.get("sha256") != checksum(state):
        raise CorruptCheckpoint(f"checkpoint {path} is corrupt: its content does not match "
                                f"its checksum")
    return state


def load_latest(path, log=print) -> dict | None:
    """The newest whole checkpoint of a run (``path``, else the previous one), or None.
    A corrupt file is reported and moved aside to ``<file>.corrupt``."""
    path = Path(path)
    for candidate in (path, previous(path)):
        if not candidate.exists():
            continue
        try:
            return load_checkpoint(candidate)
        except CorruptCheckpoint as err:
            log(f"[recur] WARNING: {err}; {set_aside(candidate)}")
    return None


def resume_state(path: Path, config, log=print) -> dict | None:
    """The newest whole checkpoint of ``config``'s run at ``path``, or None (train afresh,
    with a warning when only damaged ones were left); one of another config is an error."""
    state = load_latest(path, log)
    if state is None and path.with_name(path.name + ".corrupt").exists():
        log(f"[recur] WARNING: no readable checkpoint of {config.name()} is left; training "
            f"it afresh")
    if state is not None:
        if {**ADDED_FIELDS, **state["config"]} != config.to_dict():  # older: fields added since
            raise ValueError(f"{path} belongs to another config; delete it or pass "
                             f"resume=False")
    return state


def kept(path: Path, saved_epoch: int) -> str:
    """What a run whose newest checkpoint (``path``) is from ``saved_epoch`` (0: none yet)
    leaves to resume from if it stops now."""
    if saved_epoch == 0:
        return "no checkpoint yet"
    where = path if path.is_file() else previous(path)
    return f"the checkpoint after epoch {saved_epoch} ({where})"


def finished_record(record_path: Path, ckpt_path: Path) -> dict | None:
    """The run's record if it finished and the record reads back whole; a damaged one is
    reported and moved aside, and the run is then evaluated again (or trained)."""
    if not record_path.exists():
        return None
    try:
        return results.read_record(record_path)
    except DamagedFile as err:
        then = ("re-evaluating the run from its last checkpoint" if ckpt_path.exists() or
                previous(ckpt_path).exists() else "no checkpoint is left: training the run again")
        results.report_damaged(record_path, err, then)
        return None


# --------------------------------------------------------------------------- RNG state
def rng_state(generator: torch.Generator) -> dict:
    """Every random stream a run draws from, as tensors and plain values."""
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                      int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": random.getstate(), "data": generator.get_state()}


def set_rng_state(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])
    generator.set_state(state["data"])


# --------------------------------------------------------------------------- lock
class RunLocked(RuntimeError):
    """Another live process is training the same run."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """An exclusive lock file for one run: ``{"pid", "host", "since"}``, its time stamp
    refreshed every ``heartbeat`` seconds while held.  It is stale, and taken over, when
    its process is gone (same host) or it has not been refreshed for ``stale_after``
    seconds (a process on another node that died).  ``wait``: seconds to wait for a live
    holder before giving up with :class:`RunLocked`."""

    def __init__(self, path, *, wait: float = 0.0, heartbeat: float = 30.0,
                 stale_after: float = 300.0, log=print):
        self.path, self.wait, self.heartbeat = Path(path), wait, heartbeat
        self.stale_after, self.log = stale_after, log
        self._stop = threading.Event()
        self._thread = None

    def holder(self) -> dict | None:
        """Who holds the lock; None when nobody does or the lock file is damaged."""
        try:
            holder = json.loads(self.path.read_text())
        except (OSError, ValueError):  # gone, a folder, cut short, not text, not JSON
            return None
        return holder if isinstance(holder, dict) and "pid" in holder else None

    def _stale(self, holder: dict | None) -> bool:
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return False  # released meanwhile: try again
        if holder is None:  # damaged: no recur process writes it that way
            return age > 5
        if holder.get("host") == socket.gethostname() and not _alive(int(holder["pid"])):
            return True
        return age > self.stale_after

    def acquire(self) -> "RunLock":
        deadline = time.monotonic() + self.wait
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        while not create_exclusive(self.path, me):  # written whole, or not at all
            holder = self.holder()
            if self._stale(holder):
                self._take_over(holder)
                continue
            if time.monotonic() >= deadline:
                raise RunLocked(
                    f"another process is training this run: {self.path} is held by "
                    f"{holder}. Wait for it to finish (its record will appear), or, if "
                    f"that process is gone, delete the lock file.")
            time.sleep(min(2.0, self.wait))
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def _take_over(self, holder: dict | None) -> None:
        if holder is not None or self.path.is_file() and self.path.stat().st_size == 0:
            self.log(f"[recur] WARNING: taking over the stale lock {self.path} "
                     f"(held by {holder})")
            self.path.unlink(missing_ok=True)
            return
        aside = quarantine(self.path)  # damaged, or a folder: kept for a person to look at
        if aside is None:
            raise StorageError(f"lock {self.path} is damaged and cannot be moved aside; "
                               f"remove it")
        self.log(f"[recur] WARNING: lock {self.path} was damaged; moved to {aside}")

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                os.utime(self.path)
            except OSError:  # released meanwhile, or the disk failed: the run goes on
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        holder = self.holder()
        if holder is not None and holder.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
