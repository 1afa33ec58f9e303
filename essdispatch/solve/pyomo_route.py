"""Solve a Pyomo view of the model (:mod:`essdispatch.model.pyomo_view`) with HiGHS.

The route ``--backend pyomo`` and extensions take: compile the (possibly user-changed)
``ConcreteModel`` back to a :class:`~essdispatch.model.lp.LinearProgram`, solve it with
the one HiGHS entry point, load the values into the model's variables and extract a
:class:`~essdispatch.results.extract.DispatchResult`. Public as
``essdispatch.model.solve_model``.
"""

from __future__ import annotations

import time
from typing import Any

import pyomo.environ as pyo

from essdispatch.model.pyomo_view import compile_model
from essdispatch.results.extract import extract
from essdispatch.solve.highs import solve_lp


def solve_model(m: pyo.ConcreteModel, options: Any = None) -> tuple[Any, dict[str, float]]:
    """Compile ``m``, solve it with HiGHS, load the values into its variables.

    Returns ``(DispatchResult, timings)`` (duals by family, a user's families
    included, for an LP); raises :class:`SolveError` unless optimal.
    """
    t0 = time.perf_counter()
    lp, cols = compile_model(m, with_columns=True)
    t1 = time.perf_counter()
    sol = solve_lp(lp, options)
    t2 = time.perf_counter()
    for v, val in zip(cols, sol.x, strict=True):
        v.set_value(float(val), skip_validation=True)
    n0 = lp.layout.n_cols
    result = extract(
        m.inputs,
        lp.layout,
        sol.x[:n0],
        sol.objective,
        sol.row_dual,
        lp.row_families,
        lp.row_blocks,
    )
    t3 = time.perf_counter()
    timings = {
        "compile_seconds": t1 - t0,
        "transfer_seconds": sol.transfer_seconds,
        "solve_seconds": sol.solve_seconds,
        "extract_seconds": t3 - t2,
    }
    return result, timings
