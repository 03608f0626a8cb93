"""Session set-up for the whole suite, nbval's notebook kernels included: results, caches
and checkpoints go to a temporary folder, never into the checkout's results/."""
import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="recur-tests-")
os.environ["RECUR_RESULTS"] = os.path.join(_TMP, "results")
os.environ.setdefault("RECUR_CACHE", os.path.join(_TMP, "cache"))
