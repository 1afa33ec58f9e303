"""The run and its no-storage baseline solved the same way (direct or through the Pyomo view,
with or without an extension); a solve that fails for infeasibility explains itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from essdispatch.base.exceptions import SolveError
from essdispatch.base.inputs import Inputs
from essdispatch.results.extract import DispatchResult
from essdispatch.solve.dispatch import SolveStats, solve_dispatch
from essdispatch.solve.highs import SolverOptions

Progress = Callable[[str], None]


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
