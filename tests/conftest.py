
import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the user's cache or the checkout's results/."""
    monkeypatch.setenv("RECUR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("RECUR_RESULTS", str(tmp_path_factory.getbasetemp() / "results"))
    yield
