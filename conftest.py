"""Session set-up for the whole suite, nbval's notebook kernels included: results, caches
and checkpoints go to a temporary folder, never into the checkout's results/.

nbval re-executes the committed notebooks with the committed quick-profile run records
and study results (``results/quick/runs``, ``results/quick/studies``) copied into that
folder, as the runner left them: a training cell reads each finished run back instead of
training it again, and only the nets whose weights a notebook reads are trained
(checkpoints are not committed; ``load_trained`` trains those again).  Retraining all 96
runs is the main job's work (``bash scripts/reproduce``): on a CPU without bfloat16 units
it takes well over the test command's budget."""
import os
import shutil
import tempfile
from pathlib import Path

_TMP = tempfile.mkdtemp(prefix="recur-tests-")
os.environ["RECUR_RESULTS"] = os.path.join(_TMP, "results")
os.environ.setdefault("RECUR_CACHE", os.path.join(_TMP, "cache"))
_QUICK = Path(__file__).resolve().parent / "results" / "quick"


def pytest_collection_modifyitems(config, items):
    """nbval's re-execution of the committed notebooks is the slow part of the suite:
    mark it, so that ``bash scripts/test -m "not slow"`` is a fast inner loop."""
    import pytest

    notebooks = False
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
            notebooks = True
    for part in ("runs", "studies") if notebooks else ():
        if (_QUICK / part).is_dir():
            shutil.copytree(_QUICK / part, Path(os.environ["RECUR_RESULTS"]) / part,
                            dirs_exist_ok=True)
