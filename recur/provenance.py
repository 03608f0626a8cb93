"""Where a result came from: git commit and library versions, for run records and notebooks."""
from __future__ import annotations

import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git_commit(root: Path = ROOT) -> str | None:
    """The checkout's HEAD commit, with ``-dirty`` if what produces results (everything
    but ``results/``) has uncommitted changes; None outside a git checkout.  ``results/``
    is left out because a run rewrites it: its tables and executed notebooks are outputs."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)results"], cwd=root, capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def versions() -> dict:
    """Versions of Python and of the libraries results depend on."""
    import numpy  # here, not at the top: reading records and tables must not load torch
    import torch

    import recur
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "torch": torch.__version__, "recur": recur.__version__}


#: the code that computes a run's numbers (its data, model, training and scoring): two
#: commits that agree on these files train and score a config identically
TRAINING_CODE = ("recur/train.py", "recur/evaluation.py", "recur/models", "recur/data.py",
                 "recur/batches.py", "recur/mazes.py", "recur/maze_checks.py", "recur/phop.py",
                 "recur/losses.py", "recur/optim.py", "recur/devices.py", "recur/batched.py",
                 "recur/checkpoints.py", "recur/config.py", "recur/profiles.py",
                 "recur/datasets.py", "recur/depths.py")


def training_code(commit: str, root: Path = ROOT) -> str:
    """A fingerprint of :data:`TRAINING_CODE` as it stood at ``commit`` (git's object ids
    of those files), or the commit itself when git cannot say (not a checkout, a commit
    not in its history, uncommitted changes)."""
    if not commit or commit.endswith("-dirty"):
        return str(commit)
    try:
        tree = subprocess.run(["git", "ls-tree", "-r", commit, "--", *TRAINING_CODE],
                              cwd=root, capture_output=True, text=True, timeout=10,
                              check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return commit
    import hashlib
    return "code " + hashlib.sha256(tree.encode()).hexdigest()[:12] if tree else commit
