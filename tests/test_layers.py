"""The house shows the pipeline: a module imports only its own stage and the stages below.

The stages (docs/ARCHITECTURE.md), lowest first. Every module of the package must be
placed in one; a new module that is not fails :func:`test_every_module_has_a_stage`.
Imports at module level are checked strictly; an import inside a function that
reaches a higher stage is allowed only when listed in :data:`LAZY_UPWARD` with its
reason. Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "essdispatch"

STAGES: list[tuple[str, set[str]]] = [
    # the hand-over objects and errors every stage shares; files written and read safely
    ("base", {"exceptions", "inputs", "yamlio", "safe_write", "weather"}),
    # the model declared once: column blocks and constraint families over Inputs, the
    # matrix they assemble to, and what can be known of it before it is built
    (
        "model",
        {
            "families",
            "core_families",
            "econ_families",
            "econ",
            "ageing",
            "ageing_carry",
            "ageing_families",
            "numerics",
            "lp",
        },
    ),
    # scenario files -> validated scenario -> Inputs (series forms, presets)
    (
        "scenario",
        {
            "series",
            "presets",
            "scenario",
            "econ_keys",
            "ageing_keys",
            "econ_presets",
            "grid_model",
            "caveats",
        },
    ),
    # one HiGHS entry point on a LinearProgram, and the result of a solve
    (
        "solve",
        {
            "solve",
            "warmstart",
            "results",
            "diagnostics",
            "stored_carbon",
            "finance",
            "life",
            "life_years",
        },
    ),
    # the Pyomo view of the declared model, compiled back; user extensions of it
    ("pyomo", {"model", "extend"}),
    # routes: per site, time blocks, closed form; infeasibility explained
    ("routes", {"dispatch", "closed_form", "infeasibility"}),
    # operating on forecasts (rolling horizon)
    ("operate", {"rolling", "rolling_segments"}),
    # scenario -> run + baseline -> results folder
    ("run", {"run"}),
    # from results folders: comparison, figures, report, exports
    ("analysis", {"compare", "plots", "report", "export"}),
    # many runs of one scenario
    ("sweeps", {"sweep_file", "sweep", "sweep_plots"}),
    # the command line over the library
    ("cli", {"cli"}),
]

#: modules outside the pipeline: the package root (version, lazy re-exports) and the
#: public test helpers (never imported by production code, see below)
OUTSIDE = {"__init__", "testing"}

#: function-level imports that reach a higher stage on purpose: (module, imported) -> why
LAZY_UPWARD: dict[tuple[str, str], str] = {}

STAGE_OF = {m: k for k, (_, mods) in enumerate(STAGES) for m in mods}


def _modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py"))


def _imports(module: str, package: Path = PACKAGE) -> list[tuple[str, int, bool]]:
    """(imported essdispatch module, line, at module level) for every import of ``module``."""
    tree = ast.parse((package / f"{module}.py").read_text(encoding="utf-8"))
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
                if isinstance(child, ast.ImportFrom) and child.module:
                    if child.module == "essdispatch":
                        names = [a.name for a in child.names]
                        found.extend((n, child.lineno, top) for n in names if n in STAGE_OF)
                    elif child.module.startswith("essdispatch."):
                        found.append((child.module.split(".")[1], child.lineno, top))
                elif isinstance(child, ast.Import):
                    for a in child.names:
                        if a.name.startswith("essdispatch."):
                            found.append((a.name.split(".")[1], child.lineno, top))
            visit(child, inner, typing_only)

    visit(tree, True, False)
    return found


def test_every_module_has_a_stage():
    missing = [m for m in _modules() if m not in STAGE_OF and m not in OUTSIDE]
    assert not missing, (
        f"place {missing} in a stage of tests/test_layers.py and docs/ARCHITECTURE.md"
    )


def _upward(module: str, package: Path = PACKAGE) -> list[str]:
    mine = STAGE_OF[module]
    bad = []
    for imported, line, top in _imports(module, package):
        if imported in OUTSIDE or imported not in STAGE_OF or STAGE_OF[imported] <= mine:
            continue
        if not top and (module, imported) in LAZY_UPWARD:
            continue
        where = "" if top else " (inside a function)"
        bad.append(
            f"essdispatch/{module}.py:{line} ({STAGES[mine][0]}) imports {imported}"
            f" ({STAGES[STAGE_OF[imported]][0]}){where}"
        )
    return bad


@pytest.mark.parametrize("module", [m for m in _modules() if m in STAGE_OF])
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


def test_the_check_sees_upward_imports(tmp_path):
    # the checker itself can fail: a base module importing the cli at module level, a
    # model module importing the run inside a function; annotations do not count
    (tmp_path / "inputs.py").write_text("from essdispatch.cli import main\n")
    (tmp_path / "lp.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from essdispatch.results import DispatchResult\n"
        "def f():\n    from essdispatch.run import run_scenario\n"
    )
    assert _upward("inputs", tmp_path) == ["essdispatch/inputs.py:1 (base) imports cli (cli)"]
    assert _upward("lp", tmp_path) == [
        "essdispatch/lp.py:5 (model) imports run (run) (inside a function)"
    ]
