"""The house's limits, checked: floors without cycles, a torch-free core, modules and
functions of one sitting, notebooks that call the library and never decide."""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recur"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_MODULE, MAX_FUNCTION, MAX_CELL = 400, 50, 12
#: the torch-free core: configs, profiles, depth and width tables, dataset facts, run
#: records and tables, the decision rule and its reports, the paper's numbers, the claims
CORE = ("checks", "forms", "storage", "provenance", "datasets", "depths", "config", "profiles",
        "results", "findings", "verdicts", "planning", "report", "paper", "claims", "params")
#: the publishing layer, importable without torch too (it reads notebooks and records)
PUBLISHING = ("executed", "readme", "site")
#: every module's floor: 1 the core, 2 data, models and training, 3 analyses and figures,
#: 4 publishing.  A module imports only from its own floor or those below.
FLOORS = {**dict.fromkeys(CORE + ("",), 1),  # "": the package itself (its version only)
          **dict.fromkeys(("mazes", "maze_checks", "phop", "data", "batches", "models", "losses",
                           "optim", "devices", "checkpoints", "progress", "evaluation",
                           "train", "batched"), 2),
          **dict.fromkeys(("analysis", "visualise", "feature_study", "experiments",
                           "maze_study", "looped_study", "sweep", "plots"), 3),
          **dict.fromkeys(("executed", "display", "readme", "site", "reproduce", "__main__"),
                          4)}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, modules: dict) -> set[str]:
    """The recur modules ``path`` imports, at any depth (imports inside functions count)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            named = subs & set(modules)  # `from recur import x`: the module recur.x
            out |= named
            if len(named) < len(subs) and node.module in modules:
                out.add(node.module)  # a name defined in node.module itself
    return out


def test_the_import_graph_of_recur_has_no_cycle():
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    state, path = {}, []

    def visit(m):
        state[m] = "open"
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycle = path[path.index(n):] + [n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def _floor(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    assert top in FLOORS, f"{module} has no floor in tests/test_layers.py: give it one"
    return FLOORS[top]


def test_nothing_imports_from_a_floor_above_it():
    modules = _modules()
    upward = [f"{m} (floor {_floor(m)}) imports {n} (floor {_floor(n)})"
              for m, path in modules.items() for n in sorted(_imports(path, modules))
              if _floor(n) > _floor(m)]
    assert not upward, "; ".join(upward)


def test_the_core_and_the_publishing_layer_load_no_torch():
    names = [f"recur.{m}" for m in CORE + PUBLISHING]
    code = (f"import sys\nimport {', '.join(names)}\n"
            "heavy = sorted(m for m in ('torch', 'torchvision') if m in sys.modules)\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "", f"importing the core loaded {out}"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_every_module_and_function_fits_one_sitting(name):
    path = _modules()[name]
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE, f"{path}: over {MAX_MODULE} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION, f"{path}:{node.lineno} {node.name}: {length} lines"


def test_no_reexports_and_no_notebook_private_names_in_recur():
    private = re.compile(r"\b(rec|ff)\d+\b|\w@s\b")
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                again = [a.name for a in node.names if a.asname == a.name]
                assert not again, f"{path}:{node.lineno} re-exports {', '.join(again)}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not private.search(node.value), (
                    f"{path}:{node.lineno} names a notebook's net: {node.value!r}")


def _cells():
    for nb in NOTEBOOKS:
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] == "code" and "exercise" not in cell["metadata"].get("tags", []):
                yield nb.name, i, "".join(cell["source"])


@pytest.mark.parametrize("where,source", [((nb, i), src) for nb, i, src in _cells()],
                         ids=lambda v: f"{v[0][:2]}-cell{v[1]}" if isinstance(v, tuple) else "")
def test_notebook_cells_call_and_never_decide(where, source):
    lines = [ln for ln in source.splitlines() if ln.strip()]
    assert len(lines) <= MAX_CELL, f"{where}: {len(lines)} non-blank lines (at most {MAX_CELL})"
    for node in ast.walk(ast.parse(source)):
        assert not isinstance(node, (ast.For, ast.While, ast.If, ast.FunctionDef,
                                     ast.ClassDef)), (
            f"{where}, line {node.lineno}: a {type(node).__name__} in a notebook cell: "
            f"choosing belongs in the library")
