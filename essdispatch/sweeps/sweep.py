"""Sweeps: one base scenario, many cases, run locally or on a Dask cluster, resumable.

(The file side, format, key paths, case expansion and validation, is
:mod:`essdispatch.sweeps.sweep_file`; the index of a sweep folder is
:mod:`essdispatch.sweeps.sweep_index`; what runs on the workers is
:mod:`essdispatch.sweeps.sweep_workers`; their public names are re-exported here.)

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
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from essdispatch.base.exceptions import ResultsError
from essdispatch.solve.highs_options import SolverOptions
from essdispatch.sweeps.key_paths import apply_override, parse_key_path  # re-exported here
from essdispatch.sweeps.sweep_file import (  # the file side of sweeps, re-exported here
    Case,
    Sweep,
    SweepSpec,
    _parse_bytes,
    case_hash,
    load_sweep,
)
from essdispatch.sweeps.sweep_index import (  # the index of a sweep folder, re-exported here
    _case_rows,
    _index_frame,
    _read_state,
    _write_index,
    _write_text_atomic,
    flatten_figures,
    read_index,
    sweep_folder,
)
from essdispatch.sweeps.sweep_workers import (  # what runs on the workers, re-exported here
    CaseOutcome,
    _case_options,
    _outcome_of,
    estimate_case_memory,
    execute_case,
    local_cluster,
    plan_workers,
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

#: least time between two rewrites of index.parquet while cases finish [s]
INDEX_INTERVAL_S = 0.5


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
