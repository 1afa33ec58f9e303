"""Stage 2 — model: docs/MODEL.md declared once, its matrices, and its Pyomo view.

``families`` (the registries of column blocks and constraint families), ``core_families``
(MODEL.md 1–8), ``econ_families`` / ``econ`` (9–12), ``ageing`` / ``ageing_families``
(battery-life extensions), ``lp`` (:func:`assemble_lp` → :class:`LinearProgram`),
``numerics`` (size and coefficient checks before a build), ``pyomo_view``
(:func:`build_model`, :func:`compile_model`) and ``extend`` (user extensions of the Pyomo
view). ``solve_model`` is re-exported from :mod:`essdispatch.solve.pyomo_route` (public
API; importing it loads the solve stage on first use only).
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {
    "assemble_lp": "essdispatch.model.lp",
    "LinearProgram": "essdispatch.model.lp",
    "Layout": "essdispatch.model.lp",
    "build_model": "essdispatch.model.pyomo_view",
    "compile_model": "essdispatch.model.pyomo_view",
    "model_columns": "essdispatch.model.pyomo_view",
    "solve_model": "essdispatch.solve.pyomo_route",
    "FAMILIES": "essdispatch.model.families",
    "VARIABLES": "essdispatch.model.families",
    "Family": "essdispatch.model.families",
    "Variable": "essdispatch.model.families",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, "pyomo_view")
