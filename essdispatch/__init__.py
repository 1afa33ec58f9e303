"""essdispatch: battery-storage fleet dispatch next to solar (Pyomo LP, solved by HiGHS).

The pipeline, one sub-package per stage (docs/ARCHITECTURE.md)::

    scenario.load_scenario -> scenario.prepare_inputs -> model.assemble_lp / model.build_model
      -> solve.solve_lp -> results.extract -> run.run_scenario (run + baseline -> folder)

``base`` < ``model`` < ``scenario`` < ``results`` < ``solve`` < ``operate`` < ``run`` <
``analysis`` < ``sweeps`` < ``cli``: a module imports only its own stage and those below.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib import import_module
from types import ModuleType
from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "run_scenario", "load_scenario", "prepare_inputs"]

#: the flat module paths of releases before the stage packages -> where each module lives
#: now. ``import essdispatch.rolling`` still works and gives the very module object of
#: ``essdispatch.operate.rolling`` (so patching either name patches the same thing);
#: ``essdispatch.scenario``, ``.model``, ``.solve`` and ``.results`` are packages that
#: answer their old module's names themselves.
MOVED: dict[str, str] = {
    "ageing": "model.ageing",
    "ageing_families": "model.ageing_families",
    "ageing_keys": "scenario.ageing_keys",
    "caveats": "scenario.caveats",
    "closed_form": "solve.closed_form",
    "compare": "analysis.compare",
    "core_families": "model.core_families",
    "diagnostics": "results.diagnostics",
    "dispatch": "solve.dispatch",
    "econ": "model.econ",
    "econ_families": "model.econ_families",
    "econ_keys": "scenario.econ_keys",
    "econ_presets": "scenario.econ_presets",
    "exceptions": "base.exceptions",
    "export": "analysis.export",
    "extend": "model.extend",
    "families": "model.families",
    "finance": "results.finance",
    "grid_model": "scenario.grid_model",
    "infeasibility": "solve.infeasibility",
    "inputs": "base.inputs",
    "life": "results.life",
    "lp": "model.lp",
    "numerics": "model.numerics",
    "plots": "analysis.plots",
    "presets": "scenario.presets",
    "report": "analysis.report",
    "rolling": "operate.rolling",
    "safe_write": "base.safe_write",
    "series": "scenario.series",
    "stored_carbon": "results.stored_carbon",
    "sweep": "sweeps.sweep",
    "sweep_file": "sweeps.sweep_file",
    "sweep_plots": "sweeps.sweep_plots",
    "warmstart": "solve.warmstart",
    "weather": "base.weather",
    "yamlio": "base.yamlio",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve ``essdispatch.<old flat name>`` to the module's home in its stage package."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        prefix, _, leaf = fullname.partition(".")
        if prefix != __name__ or leaf not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> ModuleType:
        return import_module(f"{__name__}.{MOVED[spec.name.partition('.')[2]]}")

    def exec_module(self, module: ModuleType) -> None:  # already executed under its home
        return None


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name: str) -> Any:  # lazy: importing essdispatch stays cheap
    if name == "run_scenario":
        from essdispatch.run import run_scenario

        return run_scenario
    if name in ("load_scenario", "prepare_inputs"):
        from essdispatch.scenario import load

        return getattr(load, name)
    if name in MOVED:
        return import_module(f"{__name__}.{MOVED[name]}")
    raise AttributeError(name)
