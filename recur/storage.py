"""Files recur writes and reads back: atomic writes, validated reads, one clear error.

Everything recur saves (run records, checkpoints, locks, the maze cache, executed
notebooks, figures, the README's generated blocks, benchmark records) goes through
:func:`atomic_write` or :func:`create_exclusive`, so a failed or interrupted write never
leaves a half file in place of a good one.  What cannot be written or read back raises
:class:`StorageError`: one line naming the path, what was kept and what to do; a damaged
file is moved aside by :func:`quarantine` (``<name>.corrupt``), never deleted.
"""
from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from pathlib import Path


class StorageError(RuntimeError):
    """A file or folder recur needs cannot be written or read back.  Its message is one
    line: the path, why, what was kept, and what to do."""

    def _render_traceback_(self):  # IPython / Jupyter show this instead of a traceback
        return [f"{type(self).__name__}: {self}"]


class DamagedFile(StorageError):
    """A file that exists but does not read back whole (cut short, overwritten, empty)."""


def warn(message: str) -> None:
    """A warning for a person: one line on standard error (notebooks show it in red)."""
    print(f"[recur] WARNING: {message}", file=sys.stderr, flush=True)


def reason(err: OSError, path: Path) -> str:
    """A reason a person can act on, from an OSError raised at ``path``."""
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        for p in (path, *path.parents):
            if p.exists() and not p.is_dir():
                return f"{p} is a file where a folder should be"
    if err.errno == errno.EISDIR:
        return f"{path} is a folder where a file should be"
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{err.strerror.lower()}: the folder cannot be written"
    return (err.strerror or str(err)).lower()


def ensure_writable(folder, setting: str) -> Path:
    """Create ``folder`` if missing and prove that a file can be written in it, before any
    heavy work.  ``setting`` says how to write elsewhere (e.g. "set RECUR_RESULTS")."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".recur-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise StorageError(f"cannot write to {folder} ({reason(err, folder)}); "
                           f"{setting}") from None
    return folder


def _temp_copy(path: Path, data: bytes) -> str:
    """``data`` in a new temporary file beside ``path``, flushed to disk; its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` to a temporary file in ``path``'s folder, flush it to disk, then
    rename it over ``path``: readers see the old file or the new one, never a mixture,
    and concurrent writers never collide.  A failure (full disk, I/O error, read-only
    folder) raises :class:`StorageError` naming ``path``; the old file is left as it was."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_copy(path, data)
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        kept = ("the previous version is unchanged" if path.is_file()
                else "nothing was written there")
        raise StorageError(f"could not write {path} ({reason(err, path)}); {kept}") from None


def create_exclusive(path, data: bytes | str) -> bool:
    """Create ``path`` with all of ``data`` at once, only if it does not exist yet (a lock
    file): written beside it first, then hard-linked into place, so no reader ever sees it
    half-written.  Returns False when ``path`` already exists."""
    path = Path(path)
    data = data.encode() if isinstance(data, str) else data
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_copy(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as err:  # a filesystem without hard links: exclusive create instead
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        return True
    except OSError as err:
        raise StorageError(f"could not create {path} ({reason(err, path)})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def quarantine(path) -> Path | None:
    """Move a damaged file (or a folder where a file should be) aside to
    ``<name>.corrupt`` (``.corrupt.1``, … if taken) and return where; None when it cannot
    be moved (a read-only folder), in which case it stays where it is."""
    path = Path(path)
    aside, k = path.with_name(path.name + ".corrupt"), 0
    while aside.exists():
        k += 1
        aside = path.with_name(f"{path.name}.corrupt.{k}")
    try:
        os.replace(path, aside)
    except OSError:
        return None
    return aside


def set_aside(path) -> str:
    """:func:`quarantine` ``path`` and say where it went, for a warning."""
    aside = quarantine(path)
    return f"moved to {aside}" if aside else "left in place (its folder is read-only)"


def read_bytes(path, what: str = "file") -> bytes:
    """The bytes of ``path``; :class:`DamagedFile` (naming it) when it cannot be read.
    A missing file raises FileNotFoundError as usual."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise DamagedFile(f"{what} {path} cannot be read ({reason(err, path)})") from None


def read_text(path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; :class:`DamagedFile` when unreadable or not text."""
    try:
        return read_bytes(path, what).decode()
    except UnicodeDecodeError as err:
        raise DamagedFile(f"{what} {path} is damaged (not UTF-8 text at byte "
                          f"{err.start})") from None


def read_json(path, what: str = "file", *, keys=()) -> dict:
    """A JSON object from ``path`` that has every key in ``keys``; :class:`DamagedFile`
    naming the path when it is empty, cut short, not JSON, or not such an object."""
    text = read_text(path, what)
    if not text.strip():
        raise DamagedFile(f"{what} {path} is damaged (empty)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise DamagedFile(f"{what} {path} is damaged (not valid JSON: {err.msg} at line "
                          f"{err.lineno}; cut short?)") from None
    if not isinstance(value, dict):
        raise DamagedFile(f"{what} {path} is damaged (a JSON {type(value).__name__}, not "
                          f"an object)")
    missing = [k for k in keys if k not in value]
    if missing:
        raise DamagedFile(f"{what} {path} is damaged (no {', '.join(map(repr, missing))})")
    return value
