"""Where a result came from: git commit and library versions, for run records and notebooks."""
from __future__ import annotations

import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git_commit(root: Path = ROOT) -> str | None:
    """The checkout's HEAD commit (with ``-dirty`` if it has uncommitted changes), or None."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def versions() -> dict:
    """Versions of Python and of the libraries results depend on."""
    import numpy
    import torch

    import recur
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "torch": torch.__version__, "recur": recur.__version__}
