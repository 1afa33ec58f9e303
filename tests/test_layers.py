"""The house shows the pipeline: one sub-package per stage, and a module imports only its
own stage and the stages below.

The stages (docs/ARCHITECTURE.md), lowest first, are the sub-packages of ``essdispatch/``
and, on top, the module ``run`` and the package ``cli``. A module that sits in no stage fails
:func:`test_every_module_has_a_stage`. Imports at module level are checked strictly; an
import inside a function that reaches a higher stage is allowed only when listed in
:data:`LAZY_UPWARD` with its reason. Imports under ``if TYPE_CHECKING:`` are annotations,
not dependencies. A package's lazy re-exports (``EXPORTS`` in its ``__init__``) count as
imports made inside a function.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "essdispatch"

#: lowest first; a sub-package is a stage, ``run`` is a stage of one module
STAGES: list[tuple[str, str]] = [
    ("base", "the hand-over objects and errors every stage shares; files written and read safely"),
    ("model", "the model declared once: families, the matrix they assemble to, the Pyomo view"),
    ("scenario", "scenario files -> validated scenario -> Inputs (series forms, presets)"),
    ("results", "what a solution means: figures, duals, diagnostics, carbon, finance, life"),
    ("solve", "HiGHS and the routes to an optimum: per site, joint, closed form, elastic"),
    ("operate", "operating on forecasts (rolling horizon)"),
    ("run", "scenario -> run + baseline -> results folder"),
    ("analysis", "from results folders: comparison, figures, report, exports"),
    ("sweeps", "many runs of one scenario"),
    ("cli", "the command line over the library: commands, errors, options, progress, console"),
]
STAGE_INDEX = {name: k for k, (name, _) in enumerate(STAGES)}
TOP_MODULES = {"run"}

#: modules outside the pipeline: the package root (version, lazy re-exports, the old flat
#: names), the lazy-export helper, and the public test helpers (never imported by
#: production code, see below)
OUTSIDE = {"__init__", "_exports", "testing"}

#: imports that reach a higher stage on purpose: (module, imported stage) -> why
LAZY_UPWARD: dict[tuple[str, str], str] = {
    ("model.__init__", "solve"): "public API kept: essdispatch.model.solve_model (issue 11 item 5)"
    " is re-exported lazily from solve.pyomo_route; nothing in the model stage uses it",
}

#: the longest a module may grow (issue 11: "no module over ~500 lines")
MAX_LINES = 500


def _modules(package: Path = PACKAGE) -> list[str]:
    """Every module as a dotted name below the package: ``run``, ``model.lp``,
    ``model.__init__``."""
    out = [p.stem for p in package.glob("*.py")]
    for sub in sorted(p for p in package.iterdir() if (p / "__init__.py").exists()):
        out += [f"{sub.name}.{p.stem}" for p in sub.glob("*.py")]
    return sorted(out)


def _path(module: str, package: Path = PACKAGE) -> Path:
    return package.joinpath(*module.split(".")).with_suffix(".py")


def stage_of(module: str) -> str | None:
    """The stage of a dotted module name below ``essdispatch`` (None: outside)."""
    head = module.split(".")[0]
    if head in OUTSIDE:
        return None
    if head in STAGE_INDEX and ("." in module or head in TOP_MODULES):
        return head
    return None


def _target(name: str) -> str | None:
    """The stage an imported ``essdispatch...`` name belongs to."""
    parts = name.split(".")
    if parts[0] != "essdispatch" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in STAGE_INDEX else None


def _imports(module: str, package: Path = PACKAGE) -> list[tuple[str, int, bool]]:
    """(imported stage, line, at module level) for every essdispatch import of ``module``."""
    tree = ast.parse(_path(module, package).read_text(encoding="utf-8"))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for sub in child.body:
                    visit(sub, top, True)
                for sub in child.orelse:
                    visit(sub, top, typing_only)
                continue
            inner = top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if not typing_only:
                names: list[str] = []
                if isinstance(child, ast.ImportFrom) and child.module:
                    if child.module == "essdispatch":
                        names = [f"essdispatch.{a.name}" for a in child.names]
                    else:
                        names = [child.module]
                elif isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                for n in names:
                    if n == "essdispatch.testing":
                        found.append(("testing", child.lineno, top))
                    elif (stage := _target(n)) is not None:
                        found.append((stage, child.lineno, top))
                # a package's table of lazy re-exports: imports made on first access
                if (
                    isinstance(child, ast.AnnAssign | ast.Assign)
                    and "EXPORTS" in ast.unparse(child)
                    and isinstance(child.value, ast.Dict)
                ):
                    for v in child.value.values:
                        if isinstance(v, ast.Constant) and (stage := _target(v.value)):
                            found.append((stage, child.lineno, False))
            visit(child, inner, typing_only)

    visit(tree, True, False)
    return found


def test_every_module_has_a_stage():
    missing = [m for m in _modules() if stage_of(m) is None and m not in OUTSIDE]
    assert not missing, (
        f"{missing}: put each module in a stage package (tests/test_layers.py STAGES,"
        " docs/ARCHITECTURE.md)"
    )


def test_every_stage_is_a_package_or_a_top_module():
    for name, _ in STAGES:
        if name in TOP_MODULES:
            assert (PACKAGE / f"{name}.py").exists()
        else:
            assert (PACKAGE / name / "__init__.py").exists(), name


def _upward(module: str, package: Path = PACKAGE) -> list[str]:
    mine = STAGE_INDEX[stage_of(module)]
    bad = []
    for imported, line, top in _imports(module, package):
        if imported == "testing" or STAGE_INDEX[imported] <= mine:
            continue
        if not top and (module, imported) in LAZY_UPWARD:
            continue
        where = "" if top else " (inside a function)"
        bad.append(
            f"essdispatch/{_path(module, Path()).as_posix()}:{line} ({STAGES[mine][0]})"
            f" imports {imported}{where}"
        )
    return bad


@pytest.mark.parametrize("module", [m for m in _modules() if stage_of(m) is not None])
def test_no_module_imports_a_higher_stage(module):
    bad = _upward(module)
    assert not bad, "; ".join(bad)


def test_production_code_does_not_import_testing():
    users = [
        m
        for m in _modules()
        if m != "testing" and any(imp == "testing" for imp, _, _ in _imports(m))
    ]
    assert not users, f"{users} import essdispatch.testing"


@pytest.mark.parametrize("module", _modules())
def test_no_module_is_over_the_size_limit(module):
    n = len(_path(module).read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"essdispatch/{_path(module, Path()).as_posix()}: {n} lines"


def test_the_check_sees_upward_imports(tmp_path):
    # the checker itself can fail: a base module importing the cli at module level, a
    # model module importing the run inside a function, a lazy re-export of a higher
    # stage; annotations do not count
    for sub in ("base", "model"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "__init__.py").write_text("")
    (tmp_path / "base" / "inputs.py").write_text("from essdispatch.cli import main\n")
    (tmp_path / "model" / "lp.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from essdispatch.results.extract import DispatchResult\n"
        "def f():\n    from essdispatch.run import run_scenario\n"
        "    from essdispatch.model import families\n"
    )
    (tmp_path / "model" / "__init__.py").write_text(
        'EXPORTS: dict[str, str] = {"x": "essdispatch.analysis.compare"}\n'
    )
    assert _upward("base.inputs", tmp_path) == ["essdispatch/base/inputs.py:1 (base) imports cli"]
    assert _upward("model.lp", tmp_path) == [
        "essdispatch/model/lp.py:5 (model) imports run (inside a function)"
    ]
    assert _upward("model.__init__", tmp_path) == [
        "essdispatch/model/__init__.py:1 (model) imports analysis (inside a function)"
    ]


def test_old_flat_module_paths_still_import_the_same_module():
    # scripts written against the flat layout keep working, and patching either name
    # patches the one module
    import essdispatch

    for old, new in essdispatch.MOVED.items():
        assert importlib.import_module(f"essdispatch.{old}") is importlib.import_module(
            f"essdispatch.{new}"
        ), old


@pytest.mark.parametrize("package", ["base", "model", "scenario", "results", "solve", "operate"])
def test_every_lazy_export_resolves(package):
    mod = importlib.import_module(f"essdispatch.{package}")
    for name in mod.EXPORTS:
        assert getattr(mod, name) is not None, f"essdispatch.{package}.{name}"


def test_public_api_kept():
    from essdispatch import load_scenario, prepare_inputs, run_scenario
    from essdispatch.model import assemble_lp, build_model, compile_model, solve_model
    from essdispatch.scenario import load_scenario as ls
    from essdispatch.scenario import prepare_inputs as pi

    assert ls is load_scenario and pi is prepare_inputs
    assert all(callable(f) for f in (run_scenario, assemble_lp, build_model, compile_model))
    assert solve_model.__module__ == "essdispatch.solve.pyomo_route"
