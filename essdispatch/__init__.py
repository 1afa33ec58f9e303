"""essdispatch: battery-storage fleet dispatch next to solar (Pyomo LP, solved by HiGHS).

The pipeline, one module per stage::

    scenario.load_scenario -> scenario.prepare_inputs -> lp.assemble_lp / model.build_model
      -> solve.solve_lp -> results.extract -> run.run_scenario (run + baseline -> folder)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "run_scenario", "load_scenario", "prepare_inputs"]


def __getattr__(name: str):  # lazy: importing essdispatch stays cheap
    if name == "run_scenario":
        from essdispatch.run import run_scenario

        return run_scenario
    if name in ("load_scenario", "prepare_inputs"):
        from essdispatch import scenario

        return getattr(scenario, name)
    raise AttributeError(name)
