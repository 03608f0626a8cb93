"""Atomic file writes: everything recur saves (caches, checkpoints, run records, executed
notebooks) goes through here, so an interrupted write never leaves a half file behind."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path, write, *, binary: bool = True) -> None:
    """Call ``write(file)`` on a temporary file in ``path``'s folder, flush it to disk,
    then rename it over ``path``.  Concurrent writers never collide (unique temp names)
    and readers see the old file or the new one, never a mixture."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
