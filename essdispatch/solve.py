"""One entry point to HiGHS (through ``highspy``): pass the matrices, run, check, return.

The termination condition is checked before a solution is read: anything but
optimal raises :class:`~essdispatch.exceptions.SolveError` naming the condition
(``infeasible``, ``unbounded``, ``time_limit``, ...), so a non-optimal point is
never reported as a result.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from essdispatch.exceptions import SolveError
from essdispatch.lp import LinearProgram

MIP_REL_GAP = 1e-6  # MODEL.md: exclusive mode is solved to a relative gap of at most 1e-6


class Termination(str, enum.Enum):
    """Why the solver stopped."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    INTERRUPTED = "interrupted"
    ERROR = "error"


_STATUS = {
    highspy.HighsModelStatus.kOptimal: Termination.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Termination.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: Termination.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Termination.INFEASIBLE_OR_UNBOUNDED,
    highspy.HighsModelStatus.kTimeLimit: Termination.TIME_LIMIT,
    highspy.HighsModelStatus.kIterationLimit: Termination.ITERATION_LIMIT,
    highspy.HighsModelStatus.kInterrupt: Termination.INTERRUPTED,
}

_EXPLAIN = {
    Termination.INFEASIBLE: "the scenario has no feasible dispatch (check terminal rules, "
    "import limits against load, and SOC bounds)",
    Termination.UNBOUNDED: "the objective is unbounded (a price or limit lets cost fall forever)",
    Termination.INFEASIBLE_OR_UNBOUNDED: "the model is infeasible or unbounded",
    Termination.TIME_LIMIT: "the solver hit its time limit before proving optimality",
    Termination.ITERATION_LIMIT: "the solver hit its iteration limit",
    Termination.INTERRUPTED: "the solve was interrupted",
    Termination.ERROR: "the solver failed",
}


@dataclass(frozen=True)
class SolverOptions:
    """Options passed to HiGHS.

    time_limit_s : wall-clock limit of one HiGHS solve [s] (None: no limit); a problem
        split by site or time block gives each part this limit
    threads : HiGHS threads (None: HiGHS default)
    highs : any other HiGHS option by name (e.g. ``{"solver": "ipm"}``)
    """

    time_limit_s: float | None = None
    threads: int | None = None
    highs: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False


@dataclass(frozen=True)
class SolveResult:
    """An optimal solution of a :class:`LinearProgram`."""

    x: np.ndarray
    row_dual: np.ndarray
    objective: float
    termination: Termination
    status: str
    solve_seconds: float
    transfer_seconds: float
    mip_gap: float | None = None
    iterations: int = 0


def termination_of(h: highspy.Highs) -> Termination:
    """The :class:`Termination` of a HiGHS object after ``run()``."""
    return _STATUS.get(h.getModelStatus(), Termination.ERROR)


def highs_lp(lp: LinearProgram) -> highspy.HighsLp:
    """The :class:`LinearProgram` as a ``highspy.HighsLp`` (column-wise matrix, no copy
    of the cost and bound vectors beyond what highspy makes)."""
    model = highspy.HighsLp()
    model.num_col_ = lp.n_cols
    model.num_row_ = lp.n_rows
    model.col_cost_ = lp.c
    model.offset_ = lp.offset
    model.col_lower_ = lp.col_lower
    model.col_upper_ = lp.col_upper
    model.row_lower_ = lp.row_lower
    model.row_upper_ = lp.row_upper
    A = lp.A
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.num_col_ = lp.n_cols
    model.a_matrix_.num_row_ = lp.n_rows
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data
    if lp.is_mip:
        model.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in lp.integrality
        ]
    return model


def highs_for(lp: LinearProgram, options: SolverOptions | None = None) -> highspy.Highs:
    """A ``highspy.Highs`` holding ``lp`` with ``options`` set, ready to ``run()``.

    For callers that keep the object and change data between solves (rolling horizon).
    """
    options = options or SolverOptions()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", float(options.time_limit_s))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    if lp.is_mip:
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    for key, val in options.highs.items():
        status = h.setOptionValue(key, val)
        if status != highspy.HighsStatus.kOk:
            raise SolveError(f"HiGHS rejected option {key}={val!r}", "error")
    status = h.passModel(highs_lp(lp))
    if status == highspy.HighsStatus.kError:
        raise SolveError("HiGHS refused the model (inconsistent bounds or matrix)", "error")
    return h


def _lp_bound_text(info: Any) -> str:
    """The best bound of a time-limited LP solve, when HiGHS has one.

    The simplex objective is a valid lower bound on the optimum only once the dual
    solution is feasible (dual simplex, phase 2); otherwise there is no bound yet.
    """
    iterations = int(info.simplex_iteration_count) + int(info.ipm_iteration_count)
    feasible = int(highspy.SolutionStatus.kSolutionStatusFeasible)
    if int(info.dual_solution_status) == feasible:
        return (
            f" (best bound {info.objective_function_value:.6g} after {iterations} iterations;"
            " raise the time limit)"
        )
    return (
        f" (no bound yet: the dual solution was not feasible after {iterations} iterations;"
        " raise the time limit)"
    )


def solve_lp(lp: LinearProgram, options: SolverOptions | None = None) -> SolveResult:
    """Solve ``lp`` with HiGHS; raise :class:`SolveError` unless the result is optimal.

    Parameters
    ----------
    lp : the problem (from :func:`essdispatch.lp.assemble_lp` or the Pyomo route)
    options : solver options

    Returns
    -------
    SolveResult with the primal vector ``x`` in the LP's column order, the row
    duals (LP only), the objective value and timings [s].
    """
    options = options or SolverOptions()
    t0 = time.perf_counter()
    h = highs_for(lp, options)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    term = termination_of(h)
    info = h.getInfo()
    if term is not Termination.OPTIMAL:
        detail = _EXPLAIN[term]
        if term is Termination.TIME_LIMIT:
            if lp.is_mip:
                detail += (
                    f" (best bound {info.mip_dual_bound:.6g}, best solution "
                    f"{info.objective_function_value:.6g}, gap {info.mip_gap:.3g})"
                )
            else:
                detail += f" after {t2 - t1:.1f} s" + _lp_bound_text(info)
        raise SolveError(f"solver stopped: {term.value}: {detail}", term.value)
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=float)
    duals = np.asarray(sol.row_dual, dtype=float) if not lp.is_mip else np.zeros(0)
    return SolveResult(
        x=x,
        row_dual=duals,
        objective=float(info.objective_function_value),
        termination=term,
        status=h.modelStatusToString(h.getModelStatus()),
        solve_seconds=t2 - t1,
        transfer_seconds=t1 - t0,
        mip_gap=float(info.mip_gap) if lp.is_mip else None,
        iterations=int(info.simplex_iteration_count),
    )
