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


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    pip = {CONDA_NAMES.get(name, name): bound for name, bound in pip.items()}
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("dependencies:")
    conda = dict(_split(line.strip()[2:]) for line in lines[start + 1:] if line.strip().startswith("- "))
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
    modules.add("models")
    described = set(re.findall(r"^  recur\.(\w+)", recur.__doc__, flags=re.M))
    assert described == modules
