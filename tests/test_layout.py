"""The shape of the package: imports run downhill, files stay readable, every public name imports.

* Imports run downhill only: backend/parallel -> tensor/autograd -> functional
  -> layers -> models -> applications, gan, rl, distributed -> cli. A module may import from
  its own tier or any tier below, never from a tier above, at the top of the file or inside a
  function. Every top-level module or package of ``deepsheet`` has a tier in ``TIERS``: a new
  one fails here until it is placed.
* No file in ``deepsheet/`` is over ``MAX_LINES`` lines (one concept or family per file).
* Every name in a module's ``__all__`` can be imported, except in a module whose optional
  extra (matplotlib, gymnasium, mpi4py, CuPy) is not installed.
"""
from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "deepsheet"
MAX_LINES = 500

# Tier of each top-level module or package of deepsheet; imports go to the same tier or lower.
TIERS = {
    # 0: arrays, threads, files, registries: nothing of deepsheet below them
    "backend": 0, "parallel": 0, "_registry": 0, "_files": 0, "_checked_read": 0,
    "_openblas": 0,
    # 1: the tensor, its graph and its factories (zeros, randn, ...)
    "tensor": 1, "autograd": 1, "factories": 1,
    # 2: differentiable functions and what is built on functions alone
    "functional": 2, "ops": 2, "random": 2, "init": 2, "regularizers": 2, "losses": 2,
    "metrics": 2, "optimizers": 2, "data": 2, "datasets": 2, "preprocessing": 2, "testing": 2,
    # 3: layers (and the symbolic graph they record)
    "layers": 3,
    # 4: models, their training loop and what it calls back, files of models
    "models": 4, "callbacks": 4, "checkpoint": 4, "saving": 4, "utils": 4,
    # 5: applications built from models, and the tools around them
    "applications": 5, "gan": 5, "rl": 5, "distributed": 5, "text": 5, "diagnostics": 5,
    "plot": 5, "recipes": 5,
    # 6: the command line and the executable sheet that lists everything
    "cli": 6, "sheet": 6, "__main__": 6,
}
# The one upward edge by design: Tensor's operators (+, @, sum, ...) are the functional ops,
# imported at the end of tensor.py once Tensor exists.
ALLOWED_UP = {("deepsheet.tensor", "functional")}
OPTIONAL_EXTRAS = {"matplotlib", "gymnasium", "mpi4py", "cupy", "cupyx"}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join(parts)


def _top(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def _imported(path, module):
    """(line, deepsheet module or package name) for every import of deepsheet in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                if node.module:
                    yield node.lineno, ".".join(base + [node.module])
                else:  # from .. import x, y: each name may be a submodule
                    for alias in node.names:
                        yield node.lineno, ".".join(base + [alias.name])
            elif node.module and node.module.split(".")[0] == "deepsheet":
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "deepsheet":
                    yield node.lineno, alias.name


def _tier(top, where):
    assert top in TIERS, (f"{where}: deepsheet.{top} has no tier: add it to TIERS in "
                          f"tests/test_layout.py at its place in the import order")
    return TIERS[top]


def test_imports_run_downhill():
    upward = []
    for path, module in _modules():
        top = _top(module)
        if top is None:  # deepsheet/__init__.py: the public face re-exports every tier
            continue
        tier = _tier(top, module)
        for line, target in _imported(path, module):
            target_top = _top(target)
            if target_top is None or not (ROOT / target_top).exists() and \
                    not (ROOT / f"{target_top}.py").exists():
                continue  # the package itself (``from .. import __version__``)
            if _tier(target_top, f"{module}:{line}") > tier and \
                    (module, target_top) not in ALLOWED_UP:
                upward.append(f"{path.relative_to(ROOT.parent)}:{line} ({top}, tier {tier}) "
                              f"imports {target} (tier {TIERS[target_top]})")
    assert not upward, "imports from a higher tier:\n" + "\n".join(upward)


def test_every_top_level_module_has_a_tier():
    tops = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert not tops - set(TIERS), f"place these in TIERS: {sorted(tops - set(TIERS))}"


def test_no_file_over_the_line_limit():
    long = [f"{p.relative_to(ROOT.parent)}: {n} lines" for p, _ in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, f"files over {MAX_LINES} lines (split them by concept):\n" + "\n".join(long)


def _import_or_skip_extra(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL_EXTRAS:
            return None
        raise


def test_every_name_in_all_imports():
    missing, skipped = [], []
    for _, module in _modules():
        if module.rsplit(".", 1)[-1] == "__main__":
            continue
        mod = _import_or_skip_extra(module)
        if mod is None:
            skipped.append(module)
            continue
        for name in getattr(mod, "__all__", ()):
            try:
                getattr(mod, name)
            except ModuleNotFoundError as exc:
                if not (exc.name and exc.name.split(".")[0] in OPTIONAL_EXTRAS):
                    missing.append(f"{module}.{name}: {exc}")
            except AttributeError as exc:
                missing.append(f"{module}.{name}: {exc}")
    assert not missing, "names in __all__ that do not import:\n" + "\n".join(missing)


def test_star_import_of_the_package():
    namespace = {}
    exec("from deepsheet import *", namespace)  # noqa: S102 - the statement under test
    import deepsheet
    assert set(deepsheet.__all__) <= set(namespace)


@pytest.mark.parametrize("module,source,expected", [
    ("deepsheet.functional.mod", "from ..layers import Dense\n", ["deepsheet.layers"]),
    ("deepsheet.functional.mod", "from .. import backend, tensor\n",
     ["deepsheet.backend", "deepsheet.tensor"]),
    ("deepsheet.functional.mod", "import deepsheet.models\n", ["deepsheet.models"]),
    ("deepsheet.functional.sub.mod", "def f():\n    from ...models import Model\n",
     ["deepsheet.models"]),
])
def test_the_import_reader_itself(tmp_path, module, source, expected):
    # the check must see relative, absolute and function-level imports, or it could not fail
    path = tmp_path / "mod.py"
    path.write_text(source)
    assert [target for _, target in _imported(path, module)] == expected
