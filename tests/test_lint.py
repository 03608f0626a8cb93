"""The linter (ruff, configured in pyproject.toml: its default rules and 100-character
lines) over the library, the tests, the benchmarks and the notebooks' code cells."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recur.provenance import ROOT

PATHS = ("recur", "tests", "benchmarks", "notebooks", "conftest.py")


def _ruff() -> str:
    found = Path(sys.executable).with_name("ruff")  # the venv's, installed from the lock
    if found.is_file():
        return str(found)
    if shutil.which("ruff"):
        return shutil.which("ruff")
    pytest.fail("ruff is not installed: pip install -r requirements-lock.txt (bash scripts/test "
                "does it)")


def test_ruff_passes():
    done = subprocess.run([_ruff(), "check", "--no-cache", *PATHS], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_ruff_reads_the_notebooks():
    """The notebooks' code cells are linted too (a long line in one is found)."""
    done = subprocess.run([_ruff(), "check", "--no-cache", "--show-files", "notebooks"],
                          cwd=ROOT, capture_output=True, text=True)
    assert "03_mazes.ipynb" in done.stdout
