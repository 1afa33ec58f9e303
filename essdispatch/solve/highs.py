"""One entry point to HiGHS (through ``highspy``): pass the matrices, run, check, return.

The termination condition is checked before a solution is read: anything but
optimal raises :class:`~essdispatch.base.exceptions.SolveError` naming the condition
(``infeasible``, ``unbounded``, ``time_limit``, ...), so a non-optimal point is
never reported as a result.

The options and their checks are in ``highs_options``, the HiGHS objects of a process
(thread scheduler, log, interrupts) in ``highs_runtime``; their public names are
re-exported here.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from essdispatch.base.exceptions import SolveError
from essdispatch.model.lp import LinearProgram
from essdispatch.solve.highs_options import (  # re-export
    MAX_THREADS,
    MAX_TIME_LIMIT_S,
    MIP_REL_GAP,
    SolverOptions,
    _coerced,
    option_problems,
    threads_problem,
    time_limit_problem,
)
from essdispatch.solve.highs_runtime import _Log, _new_highs, run_highs  # re-export
from essdispatch.solve.warmstart import Basis, apply_basis, basis_of

__all__ = [
    "MAX_THREADS",
    "MAX_TIME_LIMIT_S",
    "MIP_REL_GAP",
    "SolveResult",
    "SolverOptions",
    "Termination",
    "highs_for",
    "highs_lp",
    "highs_said",
    "option_problems",
    "run_highs",
    "solve_lp",
    "termination_of",
    "threads_problem",
    "time_limit_problem",
]


class Termination(str, enum.Enum):
    """Why the solver stopped."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    INTERRUPTED = "interrupted"
    SOLUTION_LIMIT = "solution_limit"
    MEMORY_LIMIT = "memory_limit"
    OBJECTIVE_BOUND = "objective_bound"
    ERROR = "error"


_STATUS = {
    highspy.HighsModelStatus.kOptimal: Termination.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Termination.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: Termination.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Termination.INFEASIBLE_OR_UNBOUNDED,
    highspy.HighsModelStatus.kTimeLimit: Termination.TIME_LIMIT,
    highspy.HighsModelStatus.kIterationLimit: Termination.ITERATION_LIMIT,
    highspy.HighsModelStatus.kInterrupt: Termination.INTERRUPTED,
    highspy.HighsModelStatus.kSolutionLimit: Termination.SOLUTION_LIMIT,
    highspy.HighsModelStatus.kMemoryLimit: Termination.MEMORY_LIMIT,
    highspy.HighsModelStatus.kObjectiveBound: Termination.OBJECTIVE_BOUND,
    highspy.HighsModelStatus.kObjectiveTarget: Termination.OBJECTIVE_BOUND,
}
if hasattr(highspy.HighsModelStatus, "kHighsInterrupt"):
    _STATUS[highspy.HighsModelStatus.kHighsInterrupt] = Termination.INTERRUPTED

_EXPLAIN = {
    Termination.INFEASIBLE: "the scenario has no feasible dispatch (check terminal rules, "
    "import limits against load, and SOC bounds)",
    Termination.UNBOUNDED: "the objective is unbounded (a price or limit lets cost fall forever)",
    Termination.INFEASIBLE_OR_UNBOUNDED: "the model is infeasible or unbounded",
    Termination.TIME_LIMIT: "the solver hit its time limit before proving optimality",
    Termination.ITERATION_LIMIT: "the solver hit its iteration limit",
    Termination.INTERRUPTED: "the solve was interrupted",
    Termination.SOLUTION_LIMIT: "the MIP search stopped at a node, leaf or solution limit"
    " (options mip_max_nodes, mip_max_leaves, mip_max_improving_sols) before proving"
    " optimality; remove the limit",
    Termination.MEMORY_LIMIT: "HiGHS ran out of memory; shorten the horizon, coarsen the"
    " resolution or split the run",
    Termination.OBJECTIVE_BOUND: "the solve stopped at objective_bound/objective_target"
    " before reaching the optimum",
    Termination.ERROR: "the solver failed",
}


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
    notes: tuple[str, ...] = ()
    basis: Basis | None = None  # the optimal basis, when asked for (LP only)


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
    """A ``highspy.Highs`` holding ``lp`` with ``options`` set, ready to :func:`run_highs`.

    For callers that keep the object and change data between solves (rolling horizon).
    HiGHS's log goes to a callback (``h._essdispatch_log``), echoed on stderr when verbose.
    """
    options = options or SolverOptions()
    h = _new_highs()
    log = _Log(bool(options.verbose))
    h.setOptionValue("output_flag", True)
    h.setOptionValue("log_to_console", False)
    cb = getattr(h, "cbLogging", None)
    if cb is not None:
        cb.subscribe(log)
    else:  # highspy without the callback API: the console log, when asked for
        h.setOptionValue("output_flag", bool(options.verbose))
        h.setOptionValue("log_to_console", True)
    h._essdispatch_log = log
    highs_options = dict(options.highs)
    threads = highs_options.pop("threads", options.threads)  # applied per run: run_highs
    h._essdispatch_threads = None if threads is None else int(threads)
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", float(options.time_limit_s))
    if lp.is_mip:
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    for key, val in highs_options.items():
        val = _coerced(h, key, val)
        status = h.setOptionValue(key, val)
        if status != highspy.HighsStatus.kOk:
            said = log.error_line()
            raise SolveError(
                f"HiGHS rejected option {key}={val!r}" + (f": {said}" if said else ""), "error"
            )
    status = h.passModel(highs_lp(lp))
    if status == highspy.HighsStatus.kError:
        said = log.error_line()
        raise SolveError(
            "HiGHS refused the model (inconsistent bounds or matrix)"
            + (f": HiGHS said: {said}" if said else ""),
            "error",
        )
    return h


def highs_said(h: highspy.Highs) -> str | None:
    """The last error or warning line of HiGHS's log for ``h`` (captured by :func:`highs_for`)."""
    log = getattr(h, "_essdispatch_log", None)
    return log.error_line() if log is not None else None


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


def solve_lp(
    lp: LinearProgram,
    options: SolverOptions | None = None,
    start: Basis | None = None,
    keep_basis: bool = False,
) -> SolveResult:
    """Solve ``lp`` with HiGHS; raise :class:`SolveError` unless the result is optimal.

    Parameters
    ----------
    lp : the problem (from :func:`essdispatch.model.lp.assemble_lp` or the Pyomo route)
    options : solver options
    start : a basis to start simplex from (LP only; refused with a note when it does
        not fit, and the solve runs cold)
    keep_basis : return the optimal basis in :attr:`SolveResult.basis` (LP only)

    Returns
    -------
    SolveResult with the primal vector ``x`` in the LP's column order, the row
    duals (LP only), the objective value and timings [s].
    """
    options = options or SolverOptions()
    t0 = time.perf_counter()
    h = highs_for(lp, options)
    notes: list[str] = []
    if start is not None and not lp.is_mip:
        refused = apply_basis(h, lp, start)
        if refused:
            notes.append(refused)
    t1 = time.perf_counter()
    notes += run_highs(h)
    t2 = time.perf_counter()
    term = termination_of(h)
    info = h.getInfo()
    if term is not Termination.OPTIMAL:
        detail = _EXPLAIN[term]
        said = highs_said(h)
        if term is Termination.ERROR and said:
            detail = f"HiGHS said: {said}"
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
        notes=tuple(notes),
        basis=basis_of(h) if keep_basis and not lp.is_mip else None,
    )
