"""One entry point to HiGHS (through ``highspy``): pass the matrices, run, check, return.

The termination condition is checked before a solution is read: anything but
optimal raises :class:`~essdispatch.exceptions.SolveError` naming the condition
(``infeasible``, ``unbounded``, ``time_limit``, ...), so a non-optimal point is
never reported as a result.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from essdispatch.exceptions import SolveError
from essdispatch.lp import LinearProgram
from essdispatch.warmstart import Basis, apply_basis, basis_of

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
    verbose : echo HiGHS's log on stderr
    warm_start : when a group limit binds after the per-site solves, start the joint
        simplex from their optimal bases (False: solve it cold)
    """

    time_limit_s: float | None = None
    threads: int | None = None
    highs: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False
    warm_start: bool = True  # start a joint solve from per-site bases (issue 12)


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


# ----------------------------------------------------------------------------- HiGHS objects
# HiGHS keeps one thread scheduler per process. From highspy 1.16 on, ``run()`` fails when the
# ``threads`` option differs from the count the scheduler was started with ("... the scheduler
# has already been initialized to use N threads"), and a forked child inherits the parent's
# scheduler without its worker threads. So the thread count is applied here, per process: the
# scheduler is restarted (``Highs.resetGlobalScheduler``) only while no other solve of this
# process runs on it; otherwise the running count is kept and a note says so.

_SCHEDULER_LOCK = threading.Lock()
_scheduler: dict[str, Any] = {"threads": None, "pid": os.getpid(), "active": 0}


def _after_fork_in_child() -> None:
    # the child has a copy of the parent's scheduler but none of its threads
    _scheduler.update(threads="inherited", pid=os.getpid(), active=0)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _reset_scheduler() -> None:
    reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
    if reset is not None:  # highspy < 1.8 has none and no per-process check either
        reset(True)


def _claim_scheduler(h: highspy.Highs, threads: int | None) -> str | None:
    """Make ``h`` run on this process's scheduler with ``threads`` where that is safe.

    Returns a note when the requested count could not be applied. Call with the lock held.
    """
    current = _scheduler["threads"]  # None: not started here; "inherited", "auto" or a count
    if _scheduler["pid"] != os.getpid():
        current = "inherited"
    stale = current == "inherited"
    differs = threads is not None and current is not None and current != threads
    if stale or differs:
        if _scheduler["active"] == 0:  # no solve of this process runs on it: restart it
            _reset_scheduler()
            current = None
        elif threads is not None:
            h.setOptionValue("threads", 0)  # 0: run on the scheduler as it is
            return (
                f"threads={threads} not applied: another solve in this process runs "
                f"HiGHS's scheduler with {current} threads"
            )
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if current is None:
        _scheduler.update(threads=threads if threads is not None else "auto", pid=os.getpid())
    return None


class _Log:
    """HiGHS's log lines, captured through its logging callback (and echoed when verbose)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.lines: list[str] = []

    def __call__(self, event: Any) -> None:
        text = str(getattr(event, "message", event))
        self.lines.append(text)
        if len(self.lines) > 2000:  # keep the first lines and the newest ones
            del self.lines[200:1200]
        if self.verbose:
            sys.stderr.write(text)

    def error_line(self) -> str | None:
        """HiGHS's last ERROR (or WARNING) line, stripped, if it logged one."""
        for tag in ("ERROR", "WARNING"):
            for line in reversed(self.lines):
                if line.lstrip().startswith(tag):
                    return " ".join(line.split(":", 1)[1].split()) if ":" in line else line.strip()
        return None


_BANNER_SILENCED = False


class _Highs(highspy.Highs):
    """``highspy.Highs`` that carries its captured log and requested thread count (older
    highspy objects take no new attributes)."""

    _essdispatch_log: _Log | None = None
    _essdispatch_threads: int | None = None


def _new_highs() -> _Highs:
    """A ``highspy.Highs`` whose start-up banner does not reach stdout.

    HiGHS prints its banner from C++ on the first construction in a process, before any
    option can be set; standard output is pointed at standard error for that moment, so piped
    output stays clean (the solver's log is shown, on stderr, only when ``verbose``).
    """
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        return _Highs()
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return _Highs()
    try:
        os.dup2(2, 1)
        h = _Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SILENCED = True
    return h


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


def run_highs(h: highspy.Highs) -> list[str]:
    """``h.run()`` on this process's thread scheduler with the thread count of
    :func:`highs_for`; returns notes (e.g. a thread count that could not be applied)."""
    notes: list[str] = []
    with _SCHEDULER_LOCK:
        note = _claim_scheduler(h, getattr(h, "_essdispatch_threads", None))
        _scheduler["active"] += 1
    if note:
        notes.append(note)
    try:
        h.run()
    finally:
        with _SCHEDULER_LOCK:
            _scheduler["active"] -= 1
    return notes


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
    lp : the problem (from :func:`essdispatch.lp.assemble_lp` or the Pyomo route)
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
