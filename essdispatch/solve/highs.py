"""One entry point to HiGHS (through ``highspy``): pass the matrices, run, check, return.

The termination condition is checked before a solution is read: anything but
optimal raises :class:`~essdispatch.base.exceptions.SolveError` naming the condition
(``infeasible``, ``unbounded``, ``time_limit``, ...), so a non-optimal point is
never reported as a result.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.base.exceptions import SolveError
from essdispatch.model.lp import LinearProgram
from essdispatch.solve.warmstart import Basis, apply_basis, basis_of

if TYPE_CHECKING:  # highspy is imported where a solver object is made or read, so that
    import highspy  # reading and validating a scenario does not load HiGHS

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
    SOLUTION_LIMIT = "solution_limit"
    MEMORY_LIMIT = "memory_limit"
    OBJECTIVE_BOUND = "objective_bound"
    ERROR = "error"


@functools.cache
def _status_map() -> dict[Any, Termination]:
    """HiGHS model status -> :class:`Termination` (built on first use: imports highspy)."""
    import highspy

    status = {
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
        status[highspy.HighsModelStatus.kHighsInterrupt] = Termination.INTERRUPTED
    return status


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
class SolverOptions:
    """Options passed to HiGHS.

    time_limit_s : wall-clock limit of one HiGHS solve [s] (None: no limit); a problem
        split by site or time block gives each part this limit
    threads : HiGHS threads (None: HiGHS default)
    highs : any other HiGHS option by name (e.g. ``{"solver": "ipm"}``)
    verbose : echo HiGHS's log on stderr
    allow_loose_gap : accept ``mip_rel_gap``/``mip_abs_gap`` looser than
        :data:`MIP_REL_GAP` (the result is then reported with its achieved gap)
    warm_start : when a group limit binds after the per-site solves, start the joint
        simplex from their optimal bases (False: solve it cold)
    """

    time_limit_s: float | None = None
    threads: int | None = None
    highs: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False
    allow_loose_gap: bool = False
    warm_start: bool = True  # start a joint solve from per-site bases (issue 12)


#: most HiGHS threads accepted (HiGHS starts one OS thread per count at once)
MAX_THREADS = 256
#: longest time limit accepted [s] (about 31 years; beyond is a typo)
MAX_TIME_LIMIT_S = 1e9
#: gap options that loosen MODEL.md's optimality contract
_GAP_OPTIONS = ("mip_rel_gap", "mip_abs_gap")
#: options that change what the solve returns as "optimal" or "infeasible"
_REFUSED_OPTIONS = {
    "objective_bound": "HiGHS prunes every solution worse than the bound, so a feasible"
    " scenario reads as infeasible",
    "objective_target": "HiGHS stops at the first solution better than the target, which"
    " is not the optimum",
    "output_flag": "essdispatch captures HiGHS's log itself; use --verbose",
    "log_to_console": "essdispatch captures HiGHS's log itself; use --verbose",
}


def threads_problem(value: Any) -> str | None:
    """Why ``value`` is not a thread count (None: it is)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a whole number of threads, got {value!r}"
    if not 1 <= value <= MAX_THREADS:
        return f"must be in 1..{MAX_THREADS}, got {value}"
    return None


def time_limit_problem(value: Any) -> str | None:
    """Why ``value`` is not a time limit [s] (None: it is)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of seconds, got {value!r}"
    if not np.isfinite(value) or not 0 < value <= MAX_TIME_LIMIT_S:
        return f"must be a number of seconds in (0, {MAX_TIME_LIMIT_S:g}], got {value!r}"
    return None


_SCRATCH: dict[str, Any] = {}


def _coerced(h: highspy.Highs, key: str, value: Any) -> Any:
    """YAML 1.1 reads an unquoted ``on``/``off`` as true/false: give a string option
    (``presolve``, ``parallel``) its on/off text back."""
    if isinstance(value, bool):
        import highspy

        status, kind = h.getOptionType(key)
        if status == highspy.HighsStatus.kOk and kind == highspy.HighsOptionType.kString:
            return "on" if value else "off"
    return value


def option_problems(options: SolverOptions, prefix: str = "") -> list[tuple[str, str]]:
    """Every problem of ``options`` as ``(key, message)``, keys ``<prefix><name>``.

    Checks the thread count and time limit bounds, that every HiGHS option exists and
    HiGHS accepts its value (on a scratch object: nothing is started), and that no gap
    option loosens MODEL.md's 1e-6 unless ``allow_loose_gap``.
    """
    problems: list[tuple[str, str]] = []
    for key, value, check in (
        ("threads", options.threads, threads_problem),
        ("time_limit_s", options.time_limit_s, time_limit_problem),
    ):
        said = check(value) if value is not None else None
        if said:
            problems.append((f"{prefix}{key}", said))
    if not options.highs:
        return problems
    import highspy

    h = _SCRATCH.get("h")
    if h is None or _SCRATCH.get("pid") != os.getpid():
        h = _new_highs(banner_to=os.devnull)
        log = _Log(False)
        cb = getattr(h, "cbLogging", None)
        if cb is not None:
            cb.subscribe(log)
        h.setOptionValue("log_to_console", False)
        _SCRATCH.update(h=h, log=log, pid=os.getpid())
    log = _SCRATCH["log"]
    for key, value in options.highs.items():
        where = f"{prefix}options.{key}"
        if isinstance(value, float) and not np.isfinite(value):
            problems.append((where, f"must be finite, got {value!r}"))
            continue
        if key == "threads":
            said = threads_problem(value)
        elif key == "time_limit":
            said = time_limit_problem(value)
        else:
            said = None
        if said:
            problems.append((where, said))
            continue
        if key in _REFUSED_OPTIONS:
            problems.append((where, f"not supported: {_REFUSED_OPTIONS[key]}"))
            continue
        status, kind = h.getOptionType(key)
        if status != highspy.HighsStatus.kOk:
            problems.append((where, "not a HiGHS option (see HiGHS's list of options)"))
            continue
        log.lines.clear()
        value = _coerced(h, key, value)
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            detail = log.error_line()
            kind_name = str(kind).rsplit(".k", 1)[-1].lower()
            problems.append(
                (
                    where,
                    f"HiGHS rejects {value!r} for this {kind_name} option"
                    + (f": {detail}" if detail else ""),
                )
            )
            continue
        if (
            key in _GAP_OPTIONS
            and not options.allow_loose_gap
            and not isinstance(value, bool)
            and isinstance(value, int | float)
            and value > MIP_REL_GAP
        ):
            problems.append(
                (
                    where,
                    f"{value:g} is looser than the {MIP_REL_GAP:g} gap of MODEL.md (the result"
                    " would not be optimal); set solver.allow_loose_gap: true (or"
                    " --allow-loose-gap) to accept it",
                )
            )
    h.resetOptions()
    h.setOptionValue("log_to_console", False)
    return problems


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
    return _status_map().get(h.getModelStatus(), Termination.ERROR)


def highs_lp(lp: LinearProgram) -> highspy.HighsLp:
    """The :class:`LinearProgram` as a ``highspy.HighsLp`` (column-wise matrix, no copy
    of the cost and bound vectors beyond what highspy makes)."""
    import highspy

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
_scheduler: dict[str, Any] = {"threads": None, "pid": os.getpid(), "active": 0, "fork_clean": True}


def _before_fork() -> None:
    # A child would copy the scheduler without its threads, and any lock such a thread held
    # at that moment: calling into it (even to reset it) can hang the child. So a parent
    # whose scheduler is idle shuts it down first (joining its threads) and the child starts
    # a fresh one; the parent starts its own again at its next solve.
    if not _SCHEDULER_LOCK.acquire(blocking=False):
        _scheduler["fork_clean"] = False
        return
    try:
        idle = _scheduler["active"] == 0 and _scheduler["pid"] == os.getpid()
        if idle and _scheduler["threads"] not in (None, "inherited"):
            _reset_scheduler()
            _scheduler["threads"] = None
        _scheduler["fork_clean"] = idle and _scheduler["threads"] is None
    finally:
        _SCHEDULER_LOCK.release()


def _after_fork_in_child() -> None:
    # a clean fork: nothing to inherit; else the child has a copy of the parent's scheduler
    # but none of its threads
    clean = bool(_scheduler.get("fork_clean"))
    _scheduler.update(threads=None if clean else "inherited", pid=os.getpid(), active=0)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _reset_scheduler() -> None:
    import highspy

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


@functools.cache
def _highs_class() -> type:
    """``highspy.Highs`` that carries its captured log and requested thread count (older
    highspy objects take no new attributes); made on first use (imports highspy)."""
    import highspy

    class _Highs(highspy.Highs):
        _essdispatch_log: _Log | None = None
        _essdispatch_threads: int | None = None

    return _Highs


def _new_highs(banner_to: str | None = None) -> highspy.Highs:
    """A ``highspy.Highs`` whose start-up banner does not reach stdout.

    HiGHS prints its banner from C++ on the first construction in a process, before any
    option can be set; standard output is pointed at the null device for that moment, so piped
    output and the terminal stay clean (the solver's log is shown, on stderr, only when
    ``verbose``).
    """
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        return _highs_class()()
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return _highs_class()()
    try:
        sink = os.open(banner_to or os.devnull, os.O_WRONLY)
    except OSError:
        sink = 2
    try:
        os.dup2(sink, 1)
        h = _highs_class()()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        if sink != 2:
            os.close(sink)
    _BANNER_SILENCED = True
    return h


def highs_for(lp: LinearProgram, options: SolverOptions | None = None) -> highspy.Highs:
    """A ``highspy.Highs`` holding ``lp`` with ``options`` set, ready to :func:`run_highs`.

    For callers that keep the object and change data between solves (rolling horizon).
    HiGHS's log goes to a callback (``h._essdispatch_log``), echoed on stderr when verbose.
    """
    import highspy

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


class _Interrupt:
    """HiGHS's interrupt callbacks: stop the solve as soon as SIGINT or SIGTERM arrives.

    Python runs signal handlers only between bytecodes of the main thread, so a signal
    that arrives while HiGHS solves would otherwise wait for the solve to end. While
    :func:`_interruptible` is active the signals are recorded (by a handler that only
    records, and through ``signal.set_wakeup_fd``, which the C-level handler writes to
    from any thread); each HiGHS interrupt callback (simplex, IPM, MIP) checks and sets
    ``user_interrupt``. The signal is delivered again, to the handler that was in place
    before, as soon as ``run()`` returns.
    """

    def __init__(self, read_fd: int) -> None:
        self.read_fd = read_fd
        self.signum: int | None = None

    def record(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum

    def pending(self) -> bool:
        if self.signum is None:
            try:
                data = os.read(self.read_fd, 64)
            except (BlockingIOError, InterruptedError, OSError):
                data = b""
            if data:
                self.signum = data[0]
        return self.signum is not None

    def __call__(self, event: Any) -> None:
        if self.pending() and getattr(event, "data_in", None) is not None:
            event.data_in.user_interrupt = True


_INTERRUPT_CALLBACKS = ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt")
_INTERRUPT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)
)


@contextlib.contextmanager
def _interruptible(h: highspy.Highs) -> Iterator[None]:
    """Let SIGINT/SIGTERM stop ``h.run()`` promptly (main thread only; see :class:`_Interrupt`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    watcher = _Interrupt(read_fd)
    previous: dict[int, Any] = {}
    subscribed = []
    try:
        old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(read_fd)
        os.close(write_fd)
        yield
        return
    try:
        for signum in _INTERRUPT_SIGNALS:
            previous[signum] = signal.signal(signum, watcher.record)
        for name in _INTERRUPT_CALLBACKS:
            cb = getattr(h, name, None)
            if cb is not None:
                cb.subscribe(watcher)
                subscribed.append(cb)
        yield
    finally:
        for cb in subscribed:
            with contextlib.suppress(Exception):
                cb.unsubscribe(watcher)
        signal.set_wakeup_fd(old_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        watcher.pending()
        os.close(read_fd)
        os.close(write_fd)
        if watcher.signum is not None:
            signal.raise_signal(watcher.signum)  # the earlier handler acts on it now


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
        with _interruptible(h):
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
    import highspy

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
