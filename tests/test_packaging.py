"""pyproject.toml and environment.yml name the same packages with the same lower bounds, and
the requirements admit the wheels installed offline; every module is described."""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name, where they differ


def _split(requirement: str):
    name, bound = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", requirement.strip()).groups()
    return name.lower(), bound.replace(" ", "")


def _requirements() -> list[str]:
    """Every requirement of pyproject.toml: the dependencies and every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + [r for extra in project["optional-dependencies"].values()
                                      for r in extra]


def test_environment_yml_matches_pyproject():
    pip = dict(_split(r) for r in _requirements())
    pip = {CONDA_NAMES.get(name, name): bound for name, bound in pip.items()}
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("dependencies:")
    conda = dict(_split(line.strip()[2:]) for line in lines[start + 1:]
                 if line.strip().startswith("- "))
    conda.pop("python"), conda.pop("pip")
    assert conda == pip


@pytest.mark.parametrize("name,version", [("torch", "2.14.1"), ("torchvision", "0.29.1")])
def test_requirements_admit_the_offline_wheels(name, version):
    """torch 2.14.1 and torchvision 0.29.1 are what the project's machines install offline:
    every place that names a requirement must admit them."""
    from packaging.requirements import Requirement
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == name]
    assert found and all(version in r.specifier for r in found), found


def test_every_module_is_described_in_the_package_docstring():
    import recur
    modules = {p.stem for p in (ROOT / "recur").glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.parent.name for p in (ROOT / "recur").glob("*/__init__.py")}  # packages
    described = set(re.findall(r"^  recur\.(\w+)", recur.__doc__, flags=re.M))
    assert described == modules


# --------------------------------------------------------------------------- the lock
LOCK = ROOT / "requirements-lock.txt"


def _lock() -> list:
    """The lock's pins as (Requirement, hashes): ``name==version ; markers``."""
    from packaging.requirements import Requirement
    text = LOCK.read_text().replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        if not line or line[0] in "# ":
            continue
        head, *hashes = line.split("--hash=")
        pins.append((Requirement(head.strip()), [h.strip() for h in hashes]))
    return pins


def test_the_lock_pins_every_package_exactly_with_hashes():
    pins = _lock()
    assert len(pins) > 50
    for req, hashes in pins:
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", req
        assert hashes and all(h.startswith("sha256:") for h in hashes), req


def test_the_lock_satisfies_pyproject():
    """Every requirement of pyproject.toml (dependencies and extras) is in the lock, and each
    of its pinned versions (one per Python range) lies within pyproject's bounds: a bound
    raised in pyproject.toml without refreshing the lock fails here."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    pinned = {}
    for req, _ in _lock():
        pinned.setdefault(canonicalize_name(req.name), []).append(next(iter(req.specifier)).version)
    for line in _requirements():
        req = Requirement(line)
        versions = pinned.get(canonicalize_name(req.name))
        assert versions, f"{req.name} is in pyproject.toml but not in {LOCK.name}: refresh the lock"
        outside = [v for v in versions if v not in req.specifier]
        assert not outside, (f"{LOCK.name} pins {req.name} {outside}, outside {req}: "
                             "refresh the lock")


def test_the_lock_is_made_for_the_offline_torch():
    versions = {req.name: next(iter(req.specifier)).version for req, _ in _lock()}
    assert versions["torch"] == "2.14.1" and versions["torchvision"] == "0.29.1"


def test_the_installed_versions_are_the_locks():
    """What the README's commands installed (scripts/venv.sh) is exactly the lock, for this
    platform and Python.  Skipped where the environment was installed without the lock."""
    import os
    from importlib.metadata import PackageNotFoundError, version
    if os.environ.get("RECUR_LOCK") == "0":
        pytest.skip("installed with RECUR_LOCK=0: from pyproject.toml's bounds, not the lock")
    wrong = []
    for req, _ in _lock():
        if req.marker is not None and not req.marker.evaluate():
            continue  # another platform or Python
        want = next(iter(req.specifier)).version
        try:
            have = version(req.name)
        except PackageNotFoundError:
            have = None
        if have != want:
            wrong.append(f"{req.name} {have} (lock: {want})")
    assert not wrong, ("installed versions differ from requirements-lock.txt: " + ", ".join(wrong)
                       + ". Run `bash scripts/test` (it reinstalls from the lock when it changed)")
