"""What runs on the workers of a sweep: the memory of a case, the size of a LocalCluster,
one case solved (run + baseline, nothing written) and the outcome a future returns."""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any

from essdispatch.base.exceptions import EssDispatchError, ResultsError, ScenarioError, SolveError
from essdispatch.scenario.load import Scenario
from essdispatch.solve.highs import SolverOptions
from essdispatch.solve.warmstart import shared_bases

#: memory of one worker process with essdispatch imported (python, numpy, pandas,
#: pvlib, highspy, distributed) [bytes]; an assumption, not yet measured
WORKER_BASE_BYTES = 300 * 2**20
#: memory per LP column while a case is built, solved and extracted (matrix,
#: HiGHS workspace, result arrays and frames) [bytes]; a generous assumption, not yet measured
BYTES_PER_COLUMN = 1024
#: share of the machine's RAM the workers of a LocalCluster may use together [-]
RAM_SHARE = 0.8


# --------------------------------------------------------------------------- sizing
def estimate_case_memory(scenario: Scenario) -> int:
    """Peak memory of one case on a worker [bytes]: base process + columns × 1 kB.

    Columns of the run's LP: ``T × (5 S + 3 B) + B`` (imp, exp, cur, shed and a
    slack per site; ch, dis, e per unit). Run and baseline are solved one after
    the other, so the run (the larger) sets the peak.
    """
    model = scenario.model
    n_t = len(next(iter(scenario.series.values()))) if scenario.series else 0
    if n_t == 0:
        from essdispatch.scenario.load import horizon_index

        n_t = len(horizon_index(model.horizon))
    n_s = len(model.sites)
    n_b = sum(len(site.storage) for site in model.sites)
    columns = n_t * (5 * n_s + 3 * n_b) + n_b
    return WORKER_BASE_BYTES + BYTES_PER_COLUMN * columns


def plan_workers(
    n_cases: int,
    case_bytes: int,
    *,
    workers: int | None = None,
    total_bytes: int | None = None,
    cpus: int | None = None,
) -> tuple[int, int]:
    """Worker count and memory limit per worker [bytes] of a LocalCluster.

    As many workers as cores and cases, but no more than fit
    ``RAM_SHARE × total RAM`` at ``case_bytes`` each; ``workers`` overrides the count.
    Each worker's limit is its equal share of that RAM (at least ``case_bytes``).
    """
    import psutil

    total = total_bytes if total_bytes is not None else psutil.virtual_memory().total
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    budget = int(total * RAM_SHARE)
    fit = max(1, budget // max(case_bytes, 1))
    n = workers if workers is not None else max(1, min(cpus, fit, max(n_cases, 1)))
    limit = max(case_bytes, budget // n)
    return n, limit


def local_cluster(n_workers: int, memory_limit: int | str | None, retries: int = 0) -> Any:
    """A LocalCluster of ``n_workers`` single-threaded processes.

    The scheduler hands each worker one case at a time (``worker-saturation: 1``) and
    gives up on a case whose worker dies after ``retries`` re-runs
    (``allowed-failures``), so a lost worker costs the case it was running only.
    """
    import logging

    import dask
    from distributed import LocalCluster

    config = {
        "distributed.scheduler.allowed-failures": retries,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with dask.config.set(config):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


# --------------------------------------------------------------------------- one case
@dataclass
class CaseOutcome:
    """What a worker returns for one case: results, or why it failed."""

    ok: bool
    seconds: float
    worker: str
    summary: dict | None = None
    run: Any = None
    baseline: Any = None
    reason: str = ""
    failure_type: str = ""


def _failure_type(exc: BaseException) -> str:
    if isinstance(exc, ScenarioError):
        return "bad_data"
    if isinstance(exc, SolveError):
        return exc.termination or "solve_error"
    if isinstance(exc, ResultsError):
        return "results"
    return type(exc).__name__


def execute_case(
    scenario: Scenario, options: SolverOptions | None = None, *, in_worker: bool = True
) -> CaseOutcome:
    """Solve one case (run + baseline) and return the results; writes nothing.

    Errors essdispatch raises on purpose (bad data, infeasible, time limit) come back
    as a failed outcome; anything else propagates (Dask records it as an error).
    """
    from essdispatch.run import run_loaded

    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        # in a Dask worker (a daemon process) per-site solves stay in the process: the
        # cluster already uses the cores and a daemon may not start a process pool
        # cases of one structure (same sites and units, other costs or bounds) start from
        # the basis of a case this process solved before (issue 12)
        with shared_bases():
            outcome = run_loaded(
                scenario,
                None,
                options=options,
                file=scenario.file,
                workers=1 if in_worker else None,
            )
    except EssDispatchError as exc:
        return CaseOutcome(
            ok=False,
            seconds=time.perf_counter() - t0,
            worker=worker,
            reason=str(exc),
            failure_type=_failure_type(exc),
        )
    return CaseOutcome(
        ok=True,
        seconds=time.perf_counter() - t0,
        worker=worker,
        summary=outcome.summary,
        run=outcome.run,
        baseline=outcome.baseline,
    )


def _case_options(scenario: Scenario, options: SolverOptions | None) -> SolverOptions | None:
    """One HiGHS thread per case unless the scenario or the caller says otherwise."""
    block = scenario.model.solver
    if options is not None and options.threads is not None:
        return options
    if block is not None and block.threads is not None:
        return options
    return replace(options or SolverOptions(), threads=1)


def _outcome_of(fut: Any) -> CaseOutcome:
    """The outcome of a finished future; worker loss and errors become failures."""
    from distributed import KilledWorker

    try:
        outcome = fut.result()
    except KilledWorker as exc:
        last = getattr(exc, "last_worker", None)
        return CaseOutcome(
            ok=False,
            seconds=0.0,
            worker=str(getattr(last, "address", last) or ""),
            reason=f"worker lost while running the case ({exc})",
            failure_type="worker_lost",
        )
    except Exception as exc:  # noqa: BLE001 - any worker-side error is that case's failure
        kind = "cancelled" if type(exc).__name__ == "CancelledError" else type(exc).__name__
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return CaseOutcome(
            ok=False, seconds=0.0, worker="", reason=" ".join(detail.split()), failure_type=kind
        )
    if not isinstance(outcome, CaseOutcome):
        return CaseOutcome(
            ok=False, seconds=0.0, worker="", reason="unexpected result", failure_type="error"
        )
    return outcome
