"""Rolling operation as :func:`essdispatch.run.run_scenario` uses it: a scenario's
``operation:`` prepared (forecasts built, nothing solved) and run after the
perfect-foresight solve, with the summary and warnings it adds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from essdispatch.base.inputs import Inputs
from essdispatch.operate.forecasts import SiteInfo, build_forecasts
from essdispatch.operate.operation_spec import OperationSpec, parse_operation
from essdispatch.operate.rolling import TERMINAL_SHORTFALL_TOL_MWH, run_rolling
from essdispatch.operate.stats import RollingStats
from essdispatch.results.extract import DispatchResult
from essdispatch.solve.highs import SolverOptions


# =========================================================================== run.py hook
@dataclass
class OperationOutcome:
    """What a rolling run adds to :func:`essdispatch.run.run_scenario`; ``warnings``
    (a broken terminal rule) join the summary's warnings."""

    run: DispatchResult
    stats: RollingStats
    summary: dict
    warnings: list[str] = field(default_factory=list)


def terminal_warnings(stats: RollingStats, inputs: Inputs) -> list[str]:
    """A broken terminal rule, as loudly as unserved energy: the settlement on actuals
    ends below a unit's terminal target when keeping it would have cost more than the
    shortfall penalty (TERMINAL_FACTOR × π, below the value of lost load)."""
    if stats.terminal_shortfall_mwh <= TERMINAL_SHORTFALL_TOL_MWH:
        return []
    rule = dict(zip(inputs.unit_names, inputs.terminal, strict=True))
    units = ", ".join(
        f"{name} {mwh:.3g} MWh short of {rule.get(name, '?')}"
        for name, mwh in stats.terminal_shortfall_by_unit.items()
    )
    return [
        f"terminal rule broken: the rolling operation ends {stats.terminal_shortfall_mwh:.3g}"
        f" MWh below the end-of-horizon energy the scenario requires ({units})"
    ]


@dataclass
class Operation:
    """A scenario's validated ``operation: {mode: rolling}`` with its forecasts built."""

    spec: OperationSpec
    forecasts: Inputs
    file: str | None = None

    def run(
        self,
        inputs: Inputs,
        perfect: DispatchResult,
        options: SolverOptions | None = None,
        progress: Callable[[str], None] | None = None,
        extension: Any = None,
    ) -> OperationOutcome:
        """Simulate operation; ``perfect`` is the perfect-foresight run on the actuals.

        ``value_of_foresight`` = rolling objective − perfect-foresight objective
        [currency], what perfect information would have been worth (≥ 0 up to
        solver tolerance whenever the terminal rule is met at the end).
        """
        if progress is not None:
            progress("rolling-horizon operation")
        bar = progress is not None and not getattr(progress, "quiet", False)
        result, stats = run_rolling(
            inputs, self.spec, self.forecasts, options, bar, extension=extension
        )
        warnings = terminal_warnings(stats, inputs)
        summary = {
            "value_of_foresight": result.objective - perfect.objective,
            "operation": self.spec.describe(),
            "windows": stats.summary(),
            "perfect_foresight": dict(perfect.figures),
        }
        return OperationOutcome(result, stats, summary, warnings)


def prepare_operation(scenario: Any, inputs: Inputs) -> Operation | None:
    """Validate the scenario's ``operation:`` and build its forecasts; None unless rolling.

    Cheap (no solve), so that a bad ``operation:`` key fails before anything is solved.
    """
    raw = getattr(scenario, "operation", None)
    file = getattr(scenario, "file", None)
    spec = parse_operation(raw, file)
    if not spec.rolling:
        return None
    spec.periods(inputs.dt_h, file)
    forecasts = build_forecasts(
        inputs,
        spec,
        base_dir=getattr(scenario, "base_dir", None) or Path("."),
        file=file,
        sites=SiteInfo.of(inputs, scenario),
    )
    return Operation(spec, forecasts, file)
