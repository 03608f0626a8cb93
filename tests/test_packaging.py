"""pyproject.toml and environment.yml name the same packages with the same lower bounds."""
import re
import tomllib
from pathlib import Path

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


def test_torch_requirement_admits_the_offline_wheel():
    """torch 2.14.1 is what the project's machines install offline: keep it admissible."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch = [r for r in project["dependencies"] if r.startswith("torch>")][0]
    assert torch == "torch>=2.4"
