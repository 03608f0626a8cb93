"""Session set-up for the whole suite, nbval's notebook kernels included: results, caches
and checkpoints go to a temporary folder, never into the checkout's results/."""
import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="recur-tests-")
os.environ["RECUR_RESULTS"] = os.path.join(_TMP, "results")
os.environ.setdefault("RECUR_CACHE", os.path.join(_TMP, "cache"))


def pytest_collection_modifyitems(config, items):
    """nbval's re-execution of the committed notebooks is the slow part of the suite:
    mark it, so that ``bash scripts/test -m "not slow"`` is a fast inner loop."""
    import pytest

    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
