"""Stage 5 — solve: HiGHS and the routes to an optimum.

``highs`` (:func:`solve_lp`, the one HiGHS entry point, and its :class:`Termination`),
``warmstart`` (bases carried between solves), ``dispatch`` (per site / joint / closed form
/ time blocks), ``closed_form`` (the storage-free baseline), ``infeasibility`` (the elastic
explanation), ``pyomo_route`` (solve a Pyomo view).
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {
    "solve_lp": "essdispatch.solve.highs",
    "Termination": "essdispatch.solve.highs",
    "solve_dispatch": "essdispatch.solve.dispatch",
    "solve_model": "essdispatch.solve.pyomo_route",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, "highs")
