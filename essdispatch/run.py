"""Scenario file -> run + no-storage baseline -> results folder (written atomically).

The results folder ``<out>/<name>/`` holds ``summary.json`` (every figure of
docs/MODEL.md for the run, the baseline and the Δ figures), ``dispatch.parquet``
(one row per period), ``baseline.parquet`` (the baseline's dispatch, same
columns less the storage units), optionally ``dispatch.csv``, and
``scenario.yaml`` (the exact file that was run).

Everything is written into a hidden temporary folder beside the target and
renamed into place only when complete, so a failed or interrupted run never
leaves a half-written folder and never damages an earlier result of the same
name.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from essdispatch import __version__
from essdispatch.base.exceptions import ResultsError, ScenarioError, SolveError
from essdispatch.base.inputs import Inputs
from essdispatch.model.econ import revenue_streams
from essdispatch.model.numerics import coefficient_warnings, inputs_size, size_problems
from essdispatch.results.diagnostics import diagnose, diagnostic_warnings
from essdispatch.results.extract import (
    BALANCE_TOL_MW,
    DispatchResult,
    delta_figures,
    per_site_figures,
    per_unit_figures,
)
from essdispatch.results.life import assess, check_life_available
from essdispatch.results.stored_carbon import carbon_accounting
from essdispatch.scenario.caveats import data_caveats
from essdispatch.solve.dispatch import SolveStats, solve_dispatch
from essdispatch.solve.highs import SolverOptions

Progress = Callable[[str], None]


@dataclass
class RunOutcome:
    """What :func:`run_scenario` produced."""

    folder: Path | None
    summary: dict
    run: DispatchResult
    baseline: DispatchResult
    timings: dict[str, float] = field(default_factory=dict)


def solver_options_from(scenario: Any, overrides: SolverOptions | None = None) -> SolverOptions:
    """Merge the scenario's ``solver:`` block with options given by the caller (which win)."""
    block = getattr(scenario.model, "solver", None) if hasattr(scenario, "model") else None
    base = SolverOptions(
        time_limit_s=getattr(block, "time_limit_s", None),
        threads=getattr(block, "threads", None),
        highs=dict(getattr(block, "options", None) or {}),
        allow_loose_gap=bool(getattr(block, "allow_loose_gap", False)),
    )
    if overrides is None:
        return base
    return SolverOptions(
        time_limit_s=overrides.time_limit_s
        if overrides.time_limit_s is not None
        else base.time_limit_s,
        threads=overrides.threads if overrides.threads is not None else base.threads,
        highs={**base.highs, **overrides.highs},
        verbose=overrides.verbose,
        allow_loose_gap=overrides.allow_loose_gap or base.allow_loose_gap,
        warm_start=overrides.warm_start,
    )


def solve_pair(
    inputs: Inputs,
    options: SolverOptions | None = None,
    *,
    backend: str = "direct",
    decompose: bool = True,
    progress: Progress | None = None,
    workers: int | None = None,
    extension: Any = None,
) -> tuple[DispatchResult, SolveStats, DispatchResult, SolveStats]:
    """Solve the run and its no-storage baseline the same way (both through ``extension``,
    an :class:`essdispatch.model.extend.Extension`, when given)."""
    say = progress or (lambda _m: None)
    pair = []
    for label, problem in (("run", inputs), ("baseline", inputs.without_storage())):
        if backend == "pyomo":
            from essdispatch.model.pyomo_view import build_model
            from essdispatch.solve.pyomo_route import solve_model

            say(f"{label}: building Pyomo model")
            t0 = time.perf_counter()
            model = extension.build(problem) if extension is not None else build_model(problem)
            build = time.perf_counter() - t0
            say(f"{label}: compiling and solving")
            try:
                result, timings = solve_model(model, options)
            except ValueError as exc:  # compile: a non-linear term
                if extension is None:
                    raise
                from essdispatch.model.extend import ExtensionError

                raise ExtensionError(
                    None, [("", f"extension {extension.label} made the model not linear: {exc}")]
                ) from exc
            except SolveError as exc:
                raise _explained(exc, label, problem, options, say, extension) from exc
            stats = SolveStats(
                route="pyomo",
                build_seconds=build + timings["compile_seconds"],
                transfer_seconds=timings["transfer_seconds"],
                solve_seconds=timings["solve_seconds"],
                extract_seconds=timings["extract_seconds"],
                variables=model.nvariables(),
                constraints=model.nconstraints(),
                status="Optimal",
                termination="optimal",
            )
        elif backend == "direct":
            try:
                result, stats = solve_dispatch(
                    problem,
                    options,
                    decompose=decompose,
                    workers=workers,
                    progress=lambda m, label=label: say(f"{label}: {m}"),
                    extension=extension,
                )
            except SolveError as exc:
                raise _explained(exc, label, problem, options, say, extension) from exc
        else:
            raise ValueError(f"unknown backend {backend!r} (direct or pyomo)")
        pair.extend([result, stats])
    return pair[0], pair[1], pair[2], pair[3]


_INFEASIBLE = ("infeasible", "infeasible_or_unbounded")


def _is_infeasible(exc: SolveError) -> bool:
    """Whether a solve failed for infeasibility (SolveError keeps its termination across
    process boundaries, see exceptions.py)."""
    return exc.termination in _INFEASIBLE


def _explained(
    exc: SolveError,
    label: str,
    problem: Inputs,
    options: SolverOptions | None,
    say: Progress,
    extension: Any = None,
) -> SolveError:
    """The error to raise for a failed solve: an infeasible one explains itself
    (:func:`essdispatch.solve.infeasibility.explain_infeasibility`, on the extended program
    when there is an extension), others pass unchanged."""
    if not _is_infeasible(exc):
        return exc
    say(f"{label}: infeasible; re-solving with elastic constraints to explain it")
    from essdispatch.solve.infeasibility import explain_infeasibility

    lp = extension.assemble(problem) if extension is not None else None
    return SolveError(f"{label}: {explain_infeasibility(problem, options, lp)}", "infeasible")


def check_result(result: DispatchResult, label: str) -> float:
    """Post-solve check: the energy balance closes (MODEL.md). Returns the worst residual."""
    worst = float(np.abs(result.balance_residual()).max(initial=0.0))
    if worst > BALANCE_TOL_MW:
        raise SolveError(
            f"{label}: energy balance residual {worst:.3g} MW exceeds {BALANCE_TOL_MW:g} MW "
            "after solving (numerical trouble; try a different solver option)",
            "numerical",
        )
    return worst


def _clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to float, non-finite to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def build_summary(
    scenario_info: dict,
    inputs: Inputs,
    run: DispatchResult,
    run_stats: SolveStats,
    baseline: DispatchResult,
    base_stats: SolveStats,
    timings: dict[str, float],
    *,
    warnings: list[str] | None = None,
) -> dict:
    """The ``summary.json`` document (SCENARIOS.md "Running and results").

    Besides the figures it holds ``"diagnostics"`` (:func:`essdispatch.results.diagnostics.diagnose`
    of the run) and ``"warnings"``: the given ones (e.g. coefficient ranges) followed
    by those the diagnostics raise (simultaneous charge/discharge, unserved energy).
    """
    diagnostics = diagnose(run)
    all_warnings = list(warnings or []) + diagnostic_warnings(diagnostics, inputs.currency)
    solver = run_stats.as_dict()
    solver["baseline"] = base_stats.as_dict()
    summary: dict[str, Any] = {
        "scenario": scenario_info,
        "essdispatch_version": __version__,
        "currency": inputs.currency,
        "horizon": {
            "start": inputs.index[0].isoformat() if len(inputs.index) else None,
            "end": (inputs.index[-1] + inputs.index.freq).isoformat()
            if len(inputs.index) and inputs.index.freq is not None
            else None,
            "periods": inputs.n_periods,
            "dt_h": inputs.dt_h,
            "timezone": str(inputs.index.tz),
        },
        "carbon_price": inputs.carbon_price,
        "steer_by": inputs.steer_by,
        "carbon_series": list(inputs.carbon),
        "voll": inputs.voll,
        "sites": list(inputs.site_names),
        "unit_sites": {
            u: inputs.site_names[s]
            for u, s in zip(inputs.unit_names, inputs.unit_site, strict=True)
        },
        **run.figures,
        **delta_figures(run.figures, baseline.figures),
        "baseline": dict(baseline.figures),
        "revenue_streams": revenue_streams(run, baseline),  # docs/ECONOMICS.md
        # stored carbon, the split of emissions displaced, 24/7 matching (stored_carbon.py)
        "carbon_accounting": carbon_accounting(run, baseline),
        "per_site": per_site_figures(run, baseline),
        "per_unit": per_unit_figures(run),
        "checks": {
            "balance_residual_max_mw": float(np.abs(run.balance_residual()).max(initial=0.0)),
            "baseline_balance_residual_max_mw": float(
                np.abs(baseline.balance_residual()).max(initial=0.0)
            ),
        },
        "solver": solver,
        "timings": timings,
        "diagnostics": diagnostics,
        "warnings": all_warnings,
    }
    return _clean(summary)


def check_writable(out_dir: Path) -> None:
    """Fail before solving when results cannot be written under ``out_dir``.

    Creates nothing: the nearest existing folder on the way must be a writable folder.
    """
    if str(out_dir).strip() == "":
        raise ResultsError("--out: empty folder name (give a folder, e.g. results)")
    probe = Path(os.path.abspath(out_dir))
    while not (probe.exists() or probe.is_symlink()):
        if probe.parent == probe:
            break
        probe = probe.parent
    target = Path(os.path.abspath(out_dir))
    if probe.exists() and not probe.is_dir():
        why = "a file, not a folder" if probe == target else f"{probe} is a file"
        raise ResultsError(f"{out_dir}: results folder is not writable ({why})")
    if not probe.exists():
        raise ResultsError(f"{out_dir}: results folder is not writable ({probe}: broken link)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ResultsError(
            f"{out_dir}: results folder is not writable ({probe}: permission denied)"
        )


@contextlib.contextmanager
def _out_folder(out_dir: Path, name: str) -> Iterator[None]:
    """Create ``out_dir`` (removed again if the run fails and it is still empty) and hold
    the lock of ``<out_dir>/<name>`` for the whole run."""
    from essdispatch.base.safe_write import name_lock, recover

    created: list[Path] = []
    probe = Path(os.path.abspath(out_dir))
    while not probe.exists() and probe.parent != probe:
        created.append(probe)
        probe = probe.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        _remove_empty(created)
        raise ResultsError(
            f"{out_dir}: results folder is not writable: {exc.strerror or exc}"
        ) from exc
    try:
        with name_lock(out_dir, name):
            try:  # what a crash inside an earlier swap left, repaired before anything else
                recover(out_dir, name)
            except OSError as exc:
                raise ResultsError(
                    f"{out_dir / name}: cannot repair an interrupted earlier write:"
                    f" {exc.strerror or exc}"
                ) from exc
            yield
    except BaseException:
        _remove_empty(created)
        raise


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


#: room kept free on the disk beyond the estimated size of the results [bytes]
DISK_MARGIN_BYTES = 16 * 2**20


def results_size(inputs: Inputs, csv: bool = False) -> int:
    """Rough upper estimate of a results folder's size [bytes] (uncompressed columns)."""
    columns = 10 * inputs.n_sites + 4 * inputs.n_units + len(inputs.carbon) * inputs.n_sites
    cells = inputs.n_periods * columns
    return int(cells * 8 * 2 + (cells * 48 if csv else 0) + 2**20)


def check_free_space(out_dir: Path, need: int) -> None:
    """Fail before solving when the disk under ``out_dir`` cannot hold ``need`` bytes."""
    try:
        free = shutil.disk_usage(out_dir).free
    except OSError:
        return  # cannot tell; the write reports a full disk itself
    if free < need + DISK_MARGIN_BYTES:
        raise ResultsError(
            f"{out_dir}: not enough free disk space for the results: {free / 2**20:.1f} MiB"
            f" free, about {(need + DISK_MARGIN_BYTES) / 2**20:.1f} MiB needed"
        )


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (delivered on exit) so a step cannot be cut in half."""
    block = (
        hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    )
    if not block:
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def check_written_summary(target: Path, summary: dict) -> None:
    """Validate ``summary`` against the schema of summary.json
    (:func:`essdispatch.results.summary.check_summary`) before it is written."""
    from essdispatch.results.summary import SummaryError, check_summary  # keeps `validate` fast

    try:
        check_summary(summary)
    except SummaryError as exc:
        raise ResultsError(
            f"{target / 'summary.json'}: not written, off its schema: {exc}"
        ) from None


def write_results(
    out_dir: Path,
    name: str,
    summary: dict,
    run: DispatchResult,
    baseline: DispatchResult,
    scenario_text: str,
    csv: bool = False,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write the results folder atomically; returns its path.

    Everything goes into a hidden ``.<name>.tmp-*`` folder first; the swap
    (:func:`essdispatch.base.safe_write.swap_into_place`: an atomic exchange of the two
    folders where the kernel offers one) runs with SIGINT/SIGTERM held back, under the
    name's lock, after repairing what an earlier crash left
    (:func:`essdispatch.base.safe_write.recover`). An interrupt or a kill leaves either the
    earlier results or the new ones at ``<out_dir>/<name>``, never neither for good.
    """
    from essdispatch.base.safe_write import name_lock, recover, swap_into_place

    target = out_dir / name
    check_written_summary(target, summary)  # a writer's bug fails here, nothing written
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(f"{target}: could not write results: {exc.strerror or exc}") from exc
    tmp = out_dir / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with name_lock(out_dir, name):
            recover(out_dir, name)
            try:
                tmp.mkdir()
                frame = run.to_frame()
                frame.to_parquet(tmp / "dispatch.parquet")
                baseline.to_frame().to_parquet(tmp / "baseline.parquet")
                if csv:
                    frame.to_csv(tmp / "dispatch.csv")
                    baseline.to_frame().to_csv(tmp / "baseline.csv")
                (tmp / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
                for fname, text in (extra_files or {}).items():  # e.g. cashflows.csv
                    (tmp / fname).write_text(text, encoding="utf-8")
                # summary.json last: its presence marks a complete folder
                with open(tmp / "summary.json", "w", encoding="utf-8") as fh:
                    json.dump(summary, fh, indent=2, ensure_ascii=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                with _signals_blocked():
                    swap_into_place(tmp, target)
            finally:
                if tmp.exists() or tmp.is_symlink():
                    with _signals_blocked():
                        shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise ResultsError(f"{target}: could not write results: {exc.strerror or exc}") from exc
    return target


def run_scenario(
    path: str | Path,
    out: str | Path | None = "results",
    *,
    csv: bool = False,
    options: SolverOptions | None = None,
    backend: str = "direct",
    decompose: bool = True,
    progress: Progress | None = None,
    extend: Any = None,
) -> RunOutcome:
    """Load the scenario file ``path``, solve run and baseline, write ``<out>/<name>/``.

    Parameters
    ----------
    path : the scenario YAML file
    out : the folder that receives ``<name>/`` (None: write nothing)
    csv : also write ``dispatch.csv`` and ``baseline.csv``
    options : solver options (override the scenario's ``solver:`` block)
    backend : ``direct`` (vectorised matrices, default) or ``pyomo`` (build the
        Pyomo model and compile it)
    decompose : solve sites separately when no group limit binds
    progress : called with short phase messages
    extend : an extension hook ``fn(model, inputs)`` that adds Pyomo components, or
        ``"module:function"`` (:mod:`essdispatch.model.extend` says where it applies)

    Raises
    ------
    ScenarioError on bad input, SolveError on a non-optimal solve, ResultsError
    when the folder cannot be written. Nothing is written unless all succeeds.
    """
    from essdispatch.scenario.load import load_scenario

    say = progress or (lambda _m: None)
    if extend is not None:  # a bad hook fails before anything is loaded
        from essdispatch.model.extend import Extension

        extend = Extension.of(extend)
    t0 = time.perf_counter()
    say("loading scenario")
    scenario = load_scenario(path)
    load_seconds = time.perf_counter() - t0
    return run_loaded(
        scenario,
        out,
        csv=csv,
        options=options,
        backend=backend,
        decompose=decompose,
        progress=progress,
        load_seconds=load_seconds,
        file=str(Path(path)),
        extend=extend,
    )


def block_problems(model: Any) -> list[tuple[str, str]]:
    """``operation:`` and ``solver:`` checked as the run reads them (cheap: no solve,
    no series), so that ``validate`` and a sweep's ``--dry-run`` refuse what ``run`` would."""
    from essdispatch.operate.rolling import parse_operation
    from essdispatch.scenario.load import period_hours
    from essdispatch.solve.highs import option_problems

    problems: list[tuple[str, str]] = []
    try:
        spec = parse_operation(model.operation)
        if spec.rolling:
            spec.periods(period_hours(model.horizon))
    except ScenarioError as e:
        problems += e.problems
    block = model.solver
    if block is not None:
        problems += option_problems(
            SolverOptions(
                time_limit_s=block.time_limit_s,
                threads=block.threads,
                highs=dict(block.options),
                allow_loose_gap=block.allow_loose_gap,
            ),
            "solver.",
        )
    return problems


def preflight(
    scenario: Any, options: SolverOptions | None = None, *, file: str | None = None
) -> tuple[Inputs, SolverOptions, Any]:
    """Everything a run reads, checked before anything is solved or written.

    Returns ``(inputs, merged solver options, operation or None)``; raises
    :class:`ScenarioError` (file and key path) for an oversized problem, a bad solver
    option or thread count, or a bad ``operation:`` block (its forecasts are built).
    ``validate`` and a sweep's ``--dry-run`` call this too.
    """
    from essdispatch.operate.rolling import prepare_operation
    from essdispatch.scenario.load import prepare_inputs
    from essdispatch.solve.highs import option_problems

    file = file or getattr(scenario, "file", None)
    problems = block_problems(scenario.model) if hasattr(scenario, "model") else []
    try:
        inputs = prepare_inputs(scenario)
    except ScenarioError as exc:
        raise ScenarioError(file, exc.problems + problems) from None
    problems += size_problems(inputs_size(inputs))
    operation_block = getattr(scenario, "operation", None)
    if (
        getattr(inputs, "econ", None) is not None
        and isinstance(operation_block, dict)
        and operation_block.get("mode", "perfect_foresight") != "perfect_foresight"
    ):
        problems.append(
            (
                "operation",
                "rolling operation does not support the economics keys"
                " (sizing, demand charge, compensation, capacity payment) yet; remove one",
            )
        )
    opts = solver_options_from(scenario, options)
    if options is not None:  # the caller's options, checked with the merged ones
        problems += [p for p in option_problems(opts, "solver.") if p not in problems]
    if problems:
        raise ScenarioError(file, problems)
    operation = prepare_operation(scenario, inputs)  # `operation:` (None: perfect foresight)
    check_life_available(
        inputs, file or getattr(scenario, "file", None)
    )  # BLAST-Lite (MODEL.md 13–14)
    return inputs, opts, operation


def run_loaded(
    scenario: Any,
    out: str | Path | None = "results",
    *,
    csv: bool = False,
    options: SolverOptions | None = None,
    backend: str = "direct",
    decompose: bool = True,
    progress: Progress | None = None,
    load_seconds: float = 0.0,
    file: str | None = None,
    folder_name: str | None = None,
    workers: int | None = None,
    extend: Any = None,
) -> RunOutcome:
    """Solve an already loaded :class:`essdispatch.scenario.load.Scenario` (see :func:`run_scenario`).

    Reads no file: the scenario's series are resolved at load time, so this runs on a
    machine that cannot see the scenario's data files (a sweep worker).
    ``folder_name`` overrides the results folder name (default: the scenario name);
    ``workers`` the processes for per-site solves (None: by problem size; 1 inside a
    process that may not start others, e.g. a Dask worker); ``extend`` an extension
    hook (see :func:`run_scenario`).
    """
    extension = None
    if extend is not None:
        from essdispatch.model.extend import Extension

        extension = Extension.of(extend)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    inputs, opts, operation = preflight(scenario, options, file=file)
    timings["load_seconds"] = load_seconds + time.perf_counter() - t0
    warnings = coefficient_warnings(inputs)  # printed by the CLI from the summary
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        check_writable(out_dir)
        check_free_space(_existing(out_dir), results_size(inputs, csv))
    with (
        _out_folder(out_dir, folder_name or inputs.name)
        if out_dir is not None
        else contextlib.nullcontext()
    ):
        return _solve_and_write(
            scenario,
            inputs,
            opts,
            operation,
            out_dir,
            folder_name or inputs.name,
            warnings=warnings,
            csv=csv,
            backend=backend,
            decompose=decompose,
            progress=progress,
            workers=workers,
            timings=timings,
            file=file,
            load_seconds=load_seconds,
            t0=t0,
            extension=extension,
        )


def _existing(path: Path) -> Path:
    probe = Path(os.path.abspath(path))
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe


def _solve_and_write(
    scenario: Any,
    inputs: Inputs,
    opts: SolverOptions,
    operation: Any,
    out_dir: Path | None,
    name: str,
    *,
    warnings: list[str],
    csv: bool,
    backend: str,
    decompose: bool,
    progress: Progress | None,
    workers: int | None,
    timings: dict[str, float],
    file: str | None,
    load_seconds: float,
    t0: float,
    extension: Any = None,
) -> RunOutcome:
    say = progress or (lambda _m: None)

    t1 = time.perf_counter()
    run, run_stats, baseline, base_stats = solve_pair(
        inputs,
        opts,
        backend=backend,
        decompose=decompose,
        progress=say,
        workers=workers,
        extension=extension,
    )
    timings["solve_total_seconds"] = time.perf_counter() - t1
    check_result(run, "run")
    check_result(baseline, "baseline")
    rolled = (
        operation.run(inputs, run, opts, progress, extension=extension)
        if operation is not None
        else None
    )
    if rolled is not None:  # operate on forecasts, settle on actuals; the baseline has no decisions
        run = rolled.run
        check_result(run, "run (rolling)")
    for key in ("build_seconds", "transfer_seconds", "solve_seconds", "extract_seconds"):
        timings[f"run_{key}"] = getattr(run_stats, key)
        timings[f"baseline_{key}"] = getattr(base_stats, key)

    info = {"name": inputs.name, "sha256": scenario.sha256, "file": file}
    summary = build_summary(
        info, inputs, run, run_stats, baseline, base_stats, timings, warnings=warnings
    )
    if rolled is not None:
        summary.update(_clean(rolled.summary))
        summary["warnings"] = list(getattr(rolled, "warnings", [])) + summary["warnings"]
    if extension is not None:
        summary["extension"] = _clean(extension.describe())
    if inputs.ageing is not None:  # battery life (essdispatch.results.life)
        say("assessing battery life")
        t_life = time.perf_counter()
        summary["life"] = _clean(assess(run))
        summary["timings"]["life_seconds"] = time.perf_counter() - t_life
    extra_files: dict[str, str] = {}
    block = getattr(scenario.model, "economics", None) if hasattr(scenario, "model") else None
    if block is not None:  # project finance (docs/ECONOMICS.md)
        from essdispatch.results.finance import project_finance

        finance, cashflows = project_finance(run, baseline, block)
        summary["finance"] = _clean(finance)
        if summary.get("life"):  # multi-year state of health from the assessment
            from essdispatch.results.life import life_finance

            settings = getattr(scenario.model, "life", None)
            resolve = None
            if settings is not None and settings.redispatch_years:

                def resolve(faded: Inputs) -> DispatchResult:
                    return solve_dispatch(faded, opts, decompose=decompose, workers=workers)[0]

            summary["finance"]["with_assessed_fade"] = _clean(
                life_finance(run, baseline, block, summary["life"], resolve)
            )
        summary["warnings"] = list(summary.get("warnings", [])) + finance["warnings"]
        extra_files["cashflows.csv"] = cashflows.to_csv(index=False)
    summary["data_caveats"] = data_caveats(scenario.raw_text)
    folder = None
    if out_dir is not None:
        say("writing results")
        t2 = time.perf_counter()
        folder = write_results(
            out_dir,
            name,
            summary,
            run,
            baseline,
            scenario.raw_text,
            csv=csv,
            extra_files=extra_files,
        )
        timings["write_seconds"] = time.perf_counter() - t2
    timings["total_seconds"] = load_seconds + time.perf_counter() - t0
    return RunOutcome(folder, summary, run, baseline, timings)
