"""Stage 3 — scenario: a scenario file → validated :class:`Scenario` → :class:`Inputs`.

``load`` (:func:`load_scenario`, :func:`scenario_from_dict`, :func:`prepare_inputs`, the
pydantic models of docs/SCENARIOS.md), ``series`` (the series forms), ``presets`` and
``econ_presets`` (built-in data with its sources), ``grid_model`` (the residual-load model
behind the hourly carbon presets), ``econ_keys`` / ``ageing_keys`` (the economics and
ageing blocks), ``caveats`` (synthetic and low-confidence data named).
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {
    "load_scenario": "essdispatch.scenario.load",
    "prepare_inputs": "essdispatch.scenario.load",
    "scenario_from_dict": "essdispatch.scenario.load",
    "Scenario": "essdispatch.scenario.load",
    "ScenarioSpec": "essdispatch.scenario.spec",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, "load")
