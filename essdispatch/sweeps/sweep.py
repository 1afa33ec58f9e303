"""Sweeps: one base scenario, many cases, run locally or on a Dask cluster, resumable.

(The file side, format, key paths, case expansion and validation, is
:mod:`essdispatch.sweeps.sweep_file`; its public names are re-exported here.)

A sweep file (docs/SWEEPS.md) names a base scenario and the changes to make to
it: a ``grid`` of key paths and values (cartesian product) and/or a list of
named ``cases``, each a set of overrides by key path. :func:`load_sweep` expands
every case, applies its overrides to the base scenario's plain data
(:meth:`~essdispatch.scenario.load.Scenario.to_dict`) and validates each one with
:func:`~essdispatch.scenario.load.scenario_from_dict` *before anything runs*; all
problems of all cases come back as one :class:`~essdispatch.base.exceptions.ScenarioError`
whose keys name the case and the key.

:func:`run_sweep` sends each unfinished case's loaded scenario (its series are
resolved, so a worker reads no file) to a worker, gets the results back and
writes them in this process, so the workers need neither the scenario's data
files nor the results folder::

    <out>/sweeps/<sweep name>/
      sweep.yaml              the sweep file as run
      plan.json               every case: name, hash, overrides
      cases/<hash12>/         one results folder per case (essdispatch.run layout,
                              summary.json has a "sweep" block)
      failures/<hash12>.json  why a case failed (reason, type, overrides)
      runs.jsonl              one line per case attempt (time, status, worker, seconds)
      index.parquet           one row per case: overrides and every scalar figure

A case's folder is named by the first 12 hex digits of the hash of its resolved
scenario (:func:`case_hash`); a case is finished iff its folder has
``summary.json`` (results are written atomically), so a re-run skips finished
cases and killing a sweep loses only the cases that were running.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.base.exceptions import EssDispatchError, ResultsError, ScenarioError, SolveError
from essdispatch.results.extract import FIGURE_UNITS
from essdispatch.scenario.load import Scenario
from essdispatch.solve.highs import SolverOptions
from essdispatch.solve.warmstart import shared_bases
from essdispatch.sweeps.sweep_file import (  # the file side of sweeps, re-exported here
    Case,
    ScaleSpec,
    Sweep,
    SweepSpec,
    _canonical,
    _lookup,
    _parse_bytes,
    apply_override,
    case_hash,
    load_sweep,
    parse_key_path,
)

__all__ = [
    "Case",
    "CaseOutcome",
    "Sweep",
    "SweepReport",
    "SweepSpec",
    "apply_override",
    "case_hash",
    "estimate_case_memory",
    "execute_case",
    "flatten_figures",
    "load_sweep",
    "local_cluster",
    "parse_key_path",
    "plan_workers",
    "read_index",
    "run_sweep",
    "sweep_folder",
]

#: memory of one worker process with essdispatch imported (python, numpy, pandas,
#: pvlib, highspy, distributed) [bytes]; an assumption, not yet measured
WORKER_BASE_BYTES = 300 * 2**20
#: memory per LP column while a case is built, solved and extracted (matrix,
#: HiGHS workspace, result arrays and frames) [bytes]; a generous assumption, not yet measured
BYTES_PER_COLUMN = 1024
#: share of the machine's RAM the workers of a LocalCluster may use together [-]
RAM_SHARE = 0.8
#: least time between two rewrites of index.parquet while cases finish [s]
INDEX_INTERVAL_S = 0.5


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


# --------------------------------------------------------------------------- the index
def sweep_folder(sweep: Sweep, out: str | Path = "results") -> Path:
    """``<out>/sweeps/<sweep name>``."""
    return Path(out) / "sweeps" / sweep.name


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, int | float) or value is None:
        out[prefix] = float("nan") if value is None else float(value)


def flatten_figures(summary: Mapping[str, Any]) -> dict[str, float]:
    """Every scalar figure of a ``summary.json``: ``savings``, ``emissions_tco2.average``,
    ``equivalent_full_cycles.<unit>``, ``baseline.<figure>``, ``solver.solve_seconds``."""
    out: dict[str, Any] = {}
    for fig in FIGURE_UNITS:
        if fig in summary:
            _flatten(fig, summary[fig], out)
    base = summary.get("baseline") or {}
    for fig in FIGURE_UNITS:
        if fig in base:
            _flatten(f"baseline.{fig}", base[fig], out)
    split = (summary.get("carbon_accounting") or {}).get("emissions_displaced_split_tco2")
    if split:
        _flatten("emissions_displaced_split_tco2", split, out)
    solver = summary.get("solver") or {}
    for key in ("solve_seconds", "build_seconds", "variables", "constraints", "iterations"):
        if key in solver:
            _flatten(f"solver.{key}", solver[key], out)
    if "total_seconds" in (summary.get("timings") or {}):
        _flatten("solver.total_seconds", summary["timings"]["total_seconds"], out)
    # sized units and project finance (docs/ECONOMICS.md): sized_energy_mwh.<unit>, finance.npv
    for fig in ("sized_power_mw", "sized_energy_mwh"):
        if fig in summary:
            _flatten(fig, summary[fig], out)
    finance = summary.get("finance") or {}
    for key in FINANCE_FIGURES:
        if key in finance:
            _flatten(f"finance.{key}", finance[key], out)
    return out


#: the scalar finance figures a sweep index carries
FINANCE_FIGURES = (
    "npv",
    "irr",
    "simple_payback_years",
    "discounted_payback_years",
    "lcos_per_mwh",
    "capex",
    "annual_operating_value",
)


def _effective(case: Case, path: str, value: Any) -> Any:
    """The value in effect at ``path`` for ``case`` (the factor for a scale override)."""
    if isinstance(value, Mapping) and set(value) == {"scale"}:
        return float(value["scale"])
    found = _lookup(case.scenario.model.model_dump(mode="json"), parse_key_path(path))
    if not found:
        return None
    if all(_canonical(v) == _canonical(found[0]) for v in found):
        return found[0]
    return None


def _parameter_columns(sweep: Sweep) -> dict[str, str]:
    """key path -> index column (``<path>`` for set values, ``<path> (scale)`` for factors)."""
    out: dict[str, str] = {}
    for key in sweep.parameters:
        scaled = isinstance(sweep.spec.grid.get(key), ScaleSpec) or any(
            isinstance(c.set.get(key), Mapping) and set(c.set[key]) == {"scale"}
            for c in sweep.spec.cases
        )
        out[key] = f"{key} (scale)" if scaled else key
    return out


def _column(values: list[Any]) -> pd.Series:
    """Numbers stay numbers; anything else (mixed, lists) becomes JSON text."""
    if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if all(isinstance(v, bool) for v in values):
        return pd.Series(values, dtype="bool")
    if all(isinstance(v, str) or v is None for v in values):
        return pd.Series(values, dtype="object")
    return pd.Series(
        [None if v is None else json.dumps(v, sort_keys=True) for v in values], dtype="object"
    )


def _case_rows(sweep: Sweep) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """Fixed per-case columns (name, hash, folder) and the parameter columns."""
    columns = _parameter_columns(sweep)
    rows = [{"case": c.name, "hash": c.hash, "folder": f"cases/{c.key}"} for c in sweep.cases]
    params: dict[str, list[Any]] = {
        col: [
            _effective(c, key, c.overrides.get(key, {"scale": 1.0} if "(scale)" in col else None))
            for c in sweep.cases
        ]
        for key, col in columns.items()
    }
    return rows, params


def _read_state(folder: Path, key: str) -> dict[str, Any]:
    """Status and figures of one case from disk."""
    from essdispatch.base.safe_write import name_lock, recover

    with contextlib.suppress(ResultsError, OSError), name_lock(folder / "cases", key):
        recover(folder / "cases", key)  # a write cut off by a crash
    summary_path = folder / "cases" / key / "summary.json"
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"status": "pending"}
        if not isinstance(summary, dict):  # damaged: run the case again
            return {"status": "pending"}
        try:
            return {"status": "finished", **flatten_figures(summary)}
        except (TypeError, ValueError, AttributeError):
            return {"status": "pending"}
    failure = folder / "failures" / f"{key}.json"
    if failure.exists():
        try:
            info = json.loads(failure.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        return {
            "status": "failed",
            "failure_type": info.get("type", ""),
            "reason": info.get("reason", ""),
        }
    return {"status": "pending"}


def _index_frame(
    sweep: Sweep,
    base_rows: list[dict[str, Any]],
    params: dict[str, list[Any]],
    states: Mapping[str, dict[str, Any]],
) -> pd.DataFrame:
    records = []
    for row, case in zip(base_rows, sweep.cases, strict=True):
        state = states.get(case.key, {"status": "pending"})
        rec = {
            **row,
            "status": state.get("status", "pending"),
            "failure_type": state.get("failure_type", ""),
            "reason": state.get("reason", ""),
        }
        records.append((rec, {k: v for k, v in state.items() if k not in rec}))
    frame = pd.DataFrame([r for r, _ in records])
    for col, values in params.items():
        frame[col] = _column(values).to_numpy()
    figure_cols: dict[str, None] = {}
    for _, figs in records:
        figure_cols.update(dict.fromkeys(figs))
    figures = pd.DataFrame(
        [{c: figs.get(c, np.nan) for c in figure_cols} for _, figs in records],
        columns=list(figure_cols),
        dtype="float64",
    )
    return pd.concat([frame, figures], axis=1)


def _write_atomic(path: Path, writer: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_text_atomic(path: Path, text: str) -> None:
    _write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def _write_index(folder: Path, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
    _write_atomic(folder / "index.parquet", lambda p: frame.to_parquet(p, index=False))
    _write_text_atomic(folder / "sweep.json", json.dumps(meta, indent=2, ensure_ascii=False))


def read_index(folder: str | Path) -> pd.DataFrame:
    """A sweep's ``index.parquet``; ``attrs["parameters"]`` lists the parameter columns."""
    folder = Path(folder)
    path = folder / "index.parquet"
    if not path.exists():
        raise ResultsError(f"{folder}: not a sweep folder (no index.parquet)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own types for a damaged file
        raise ResultsError(
            f"{path}: damaged sweep index ({type(exc).__name__}); run the sweep again to"
            " rebuild it from the case folders"
        ) from None
    meta_path = folder / "sweep.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    frame.attrs["parameters"] = meta.get("parameters", [])
    frame.attrs["sweep"] = meta.get("name", folder.name)
    return frame


# --------------------------------------------------------------------------- running
@dataclass
class SweepReport:
    """What :func:`run_sweep` did."""

    folder: Path
    index: pd.DataFrame
    total: int
    skipped: int
    finished: int
    failed: int
    seconds: float
    workers: int = 0
    ran: list[str] = field(default_factory=list)


class _Progress:
    """tqdm bar of the cases to run: done / failed / running, elapsed, estimate."""

    def __init__(self, total: int, skipped: int, name: str, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=name, unit="case", dynamic_ncols=True)
        self.done = self.failed = self.running = 0
        self.skipped = skipped
        self._post()

    def _post(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix(
                done=self.done,
                failed=self.failed,
                running=self.running,
                skipped=self.skipped,
                refresh=False,
            )

    def update(self, ok: bool, running: int) -> None:
        self.done += ok
        self.failed += not ok
        self.running = running
        self._post()
        if self.bar is not None:
            self.bar.update(1)

    def tick(self, running: int) -> None:
        if self.bar is not None and running != self.running:
            self.running = running
            self._post()
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_sweep(
    sweep: Sweep | str | Path,
    out: str | Path = "results",
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int | None = None,
    options: SolverOptions | None = None,
    inline: bool = False,
    progress: bool = True,
    rerun_failed: bool = True,
) -> SweepReport:
    """Run every unfinished case of ``sweep`` and write ``<out>/sweeps/<name>/``.

    Parameters
    ----------
    sweep : a loaded :class:`Sweep` or a sweep file (loaded and validated first)
    out : the folder that receives ``sweeps/<name>/``
    client : a ``distributed.Client`` to use (left open)
    scheduler : address of a running Dask scheduler (``tcp://host:8786``); default a
        LocalCluster of processes sized by :func:`plan_workers`
    workers : worker processes of the LocalCluster (default: the sweep file's, else sized)
    retries : re-runs of a case whose worker was lost (default: the sweep file's, 0)
    options : solver options for every case (each case uses one HiGHS thread unless
        its scenario or ``options`` names a thread count)
    inline : run the cases one after the other in this process, without Dask
    progress : show a progress bar
    rerun_failed : try failed cases again (default); False keeps their failure records

    A failed case (bad data, infeasible, time limit, worker lost) is recorded in
    ``failures/<hash12>.json`` and the index; the others go on.
    """
    t_start = time.perf_counter()
    sweep = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    folder = sweep_folder(sweep, out)
    plan = [
        {"case": c.name, "hash": c.hash, "folder": f"cases/{c.key}", "overrides": c.overrides}
        for c in sweep.cases
    ]
    # everything serialised before the folder is created: a failure here leaves nothing
    plan_text = json.dumps(plan, indent=2, ensure_ascii=False, default=str)
    try:
        (folder / "cases").mkdir(parents=True, exist_ok=True)
        (folder / "failures").mkdir(exist_ok=True)
        _write_text_atomic(folder / "sweep.yaml", sweep.text)
        _write_text_atomic(folder / "plan.json", plan_text)
    except OSError as exc:  # --out naming a file, a read-only or full disk
        raise ResultsError(
            f"{folder}: cannot create the sweep folder: {exc.strerror or exc}"
        ) from None

    base_rows, params = _case_rows(sweep)
    meta = {
        "name": sweep.name,
        "description": sweep.spec.description,
        "base": str(sweep.base.path),
        "file": str(sweep.file),
        "parameters": list(params),
        "cases": len(sweep.cases),
    }
    states = {c.key: _read_state(folder, c.key) for c in sweep.cases}
    by_key: dict[str, Case] = {}
    for c in sweep.cases:
        by_key.setdefault(c.key, c)
    todo = [
        c
        for k, c in by_key.items()
        if states[k]["status"] == "pending" or (states[k]["status"] == "failed" and rerun_failed)
    ]
    skipped = len(by_key) - len(todo)
    last_write = 0.0
    frame = pd.DataFrame()

    def write_index(force: bool = False) -> pd.DataFrame:
        nonlocal last_write, frame
        if force or time.perf_counter() - last_write >= INDEX_INTERVAL_S:
            frame = _index_frame(sweep, base_rows, params, states)
            _write_index(folder, frame, meta)
            last_write = time.perf_counter()
        return frame

    write_index(force=True)
    retries = sweep.spec.retries if retries is None else retries
    counts = {"finished": 0, "failed": 0}
    ran: list[str] = []

    def record(case: Case, outcome: CaseOutcome) -> None:
        if outcome.ok:
            _write_case(folder, sweep, case, outcome)
            states[case.key] = {"status": "finished", **flatten_figures(outcome.summary or {})}
            counts["finished"] += 1
        else:
            _write_failure(folder, case, outcome)
            states[case.key] = {
                "status": "failed",
                "failure_type": outcome.failure_type,
                "reason": outcome.reason,
            }
            counts["failed"] += 1
        ran.append(case.key)
        _log(folder, case, outcome)
        write_index()

    n_workers = 0
    bar = _Progress(len(todo), skipped, sweep.name, progress)
    try:
        if todo and inline:
            n_workers = 1
            for case in todo:
                bar.tick(1)
                outcome = execute_case(
                    case.scenario, _case_options(case.scenario, options), in_worker=False
                )
                record(case, outcome)
                bar.update(outcome.ok, 0)
        elif todo:
            n_workers = _run_dask(
                sweep, todo, client, scheduler, workers, retries, options, record, bar
            )
    finally:
        bar.close()
        write_index(force=True)
    return SweepReport(
        folder=folder,
        index=frame,
        total=len(sweep.cases),
        skipped=skipped,
        finished=counts["finished"],
        failed=counts["failed"],
        seconds=time.perf_counter() - t_start,
        workers=n_workers,
        ran=ran,
    )


def _run_dask(
    sweep: Sweep,
    todo: list[Case],
    client: Any,
    scheduler: str | None,
    workers: int | None,
    retries: int,
    options: SolverOptions | None,
    record: Callable[[Case, CaseOutcome], None],
    bar: _Progress,
) -> int:
    from distributed import Client, as_completed

    own: list[Any] = []
    futures: dict[Any, Case] = {}
    try:
        if client is None and scheduler is not None:
            client = Client(scheduler)
            own.append(client)
        elif client is None:
            case_bytes = max(estimate_case_memory(c.scenario) for c in todo)
            memory = sweep.spec.memory_per_worker
            n, limit = plan_workers(len(todo), case_bytes, workers=workers or sweep.spec.workers)
            cluster = local_cluster(
                n, _parse_bytes(memory) if memory is not None else limit, retries
            )
            own.append(cluster)
            client = Client(cluster)
            own.append(client)
        run_id = uuid.uuid4().hex[:6]
        queue = list(todo)
        done = as_completed()
        seen = {"threads": 0, "at": -math.inf}

        def capacity() -> int:
            # one case per worker thread at a time: a worker that dies takes only the
            # case it was running with it, and memory holds what plan_workers planned
            now = time.perf_counter()
            if now - seen["at"] > 1.0:
                seen["threads"] = sum(client.nthreads().values())
                seen["at"] = now
            return max(1, int(seen["threads"]))

        def top_up() -> None:
            while queue and len(futures) < capacity():
                case = queue.pop(0)
                fut = client.submit(
                    execute_case,
                    case.scenario,
                    _case_options(case.scenario, options),
                    key=f"case-{case.key}-{run_id}",
                    pure=False,
                    retries=retries,
                )
                futures[fut] = case
                done.add(fut)

        top_up()
        while futures:
            batch = done.next_batch(block=False)
            if not batch:
                bar.tick(len(futures))
                time.sleep(0.05)
                top_up()
                continue
            for fut in batch:
                case = futures.pop(fut)
                outcome = _outcome_of(fut)
                record(case, outcome)
                bar.update(outcome.ok, len(futures))
                fut.release()
            top_up()
        return int(seen["threads"])
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    finally:
        for thing in reversed(own):
            with contextlib.suppress(Exception):
                thing.close()


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


def _write_case(folder: Path, sweep: Sweep, case: Case, outcome: CaseOutcome) -> None:
    from essdispatch.results.folder import write_results

    summary = dict(outcome.summary or {})
    summary["sweep"] = {
        "name": sweep.name,
        "case": case.name,
        "hash": case.hash,
        "overrides": case.overrides,
        "worker": outcome.worker,
        "seconds": outcome.seconds,
    }
    write_results(
        folder / "cases",
        case.key,
        summary,
        outcome.run,
        outcome.baseline,
        case.scenario.raw_text,
    )
    stale = folder / "failures" / f"{case.key}.json"
    if stale.exists():
        stale.unlink()


def _write_failure(folder: Path, case: Case, outcome: CaseOutcome) -> None:
    doc = {
        "case": case.name,
        "hash": case.hash,
        "type": outcome.failure_type,
        "reason": outcome.reason,
        "overrides": case.overrides,
        "worker": outcome.worker,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_text_atomic(
        folder / "failures" / f"{case.key}.json",
        json.dumps(doc, indent=2, ensure_ascii=False, default=str),
    )


def _log(folder: Path, case: Case, outcome: CaseOutcome) -> None:
    line = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "case": case.name,
        "hash": case.key,
        "status": "finished" if outcome.ok else "failed",
        "type": outcome.failure_type,
        "worker": outcome.worker,
        "seconds": round(outcome.seconds, 4),
    }
    with open(folder / "runs.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")
