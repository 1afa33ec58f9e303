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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch._exports import lazy_names
from essdispatch.base.exceptions import ScenarioError, SolveError
from essdispatch.base.inputs import Inputs
from essdispatch.model.numerics import coefficient_warnings, inputs_size, size_problems
from essdispatch.results.life import check_life_available
from essdispatch.scenario.caveats import data_caveats
from essdispatch.solve.highs_options import SolverOptions

if TYPE_CHECKING:  # the solve and results chain is imported where a run needs it (below),
    # so that `validate` (preflight) reads this module without it
    from essdispatch.results.extract import DispatchResult
    from essdispatch.results.folder import write_results
    from essdispatch.results.summary_doc import build_summary
    from essdispatch.solve.dispatch import SolveStats

Progress = Callable[[str], None]  # as essdispatch.solve.pair.Progress

__all__ = [
    "Progress",
    "RunOutcome",
    "build_summary",
    "check_result",
    "preflight",
    "run_loaded",
    "run_scenario",
    "solve_pair",
    "solver_options_from",
    "write_results",
]


# ------------------------------------------------- the run chain, imported on first use
def solve_pair(*args: Any, **kwargs: Any) -> tuple[Any, Any, Any, Any]:
    """:func:`essdispatch.solve.pair.solve_pair` (imported on first call)."""
    from essdispatch.solve.pair import solve_pair as impl

    return impl(*args, **kwargs)


def solve_dispatch(*args: Any, **kwargs: Any) -> tuple[DispatchResult, SolveStats]:
    """:func:`essdispatch.solve.dispatch.solve_dispatch` (imported on first call)."""
    from essdispatch.solve.dispatch import solve_dispatch as impl

    return impl(*args, **kwargs)


#: names re-exported from the run chain, imported on first access
__getattr__ = lazy_names(
    __name__,
    {
        "build_summary": "essdispatch.results.summary_doc",
        "write_results": "essdispatch.results.folder",
    },
)


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


def check_result(result: DispatchResult, label: str) -> float:
    """Post-solve check: the energy balance closes (MODEL.md). Returns the worst residual."""
    from essdispatch.results.extract import BALANCE_TOL_MW

    worst = float(np.abs(result.balance_residual()).max(initial=0.0))
    if worst > BALANCE_TOL_MW:
        raise SolveError(
            f"{label}: energy balance residual {worst:.3g} MW exceeds {BALANCE_TOL_MW:g} MW "
            "after solving (numerical trouble; try a different solver option)",
            "numerical",
        )
    return worst


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
    from essdispatch.scenario.load import period_hours
    from essdispatch.solve.highs_options import option_problems

    problems: list[tuple[str, str]] = []
    if model.operation is not None:  # none: perfect foresight, nothing to check
        from essdispatch.operate.operation_spec import parse_operation

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
    from essdispatch.scenario.load import prepare_inputs
    from essdispatch.solve.highs_options import option_problems

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
    operation = None  # perfect foresight; the operate stage is read only for `operation:`
    if getattr(scenario, "operation", None) is not None:
        from essdispatch.operate.operation import prepare_operation

        operation = prepare_operation(scenario, inputs)
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
    from essdispatch.results.folder import (
        _existing,
        _out_folder,
        check_free_space,
        check_writable,
        results_size,
    )

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
    from essdispatch.results.folder import write_results
    from essdispatch.results.life import assess
    from essdispatch.results.summary_doc import _clean, build_summary

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
                life_finance(
                    run,
                    baseline,
                    block,
                    summary["life"],
                    resolve,
                    sequential=getattr(settings, "redispatch_years", False) == "sequential",
                )
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
