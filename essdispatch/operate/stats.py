"""What a rolling run reports: statistics per window and over the horizon (solve times,
deviations from the plan, terminal shortfall)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


# =========================================================================== stats
@dataclass
class WindowStats:
    """One step of the rolling simulation (times [s], energy [MWh], money [currency])."""

    window: int
    start: str
    committed_periods: int
    planned_periods: int
    plan_build_seconds: float
    plan_solve_seconds: float
    settle_seconds: float
    plan_objective: float
    settled_cost: float
    deviation_mwh: float
    reused: bool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RollingStats:
    """How the rolling simulation went, window by window."""

    windows: list[WindowStats] = field(default_factory=list)
    reuse: bool = True
    terminal_value: str = "none"
    terminal_value_seconds: float = 0.0
    terminal_shortfall_mwh: float = 0.0
    terminal_shortfall_by_unit: dict[str, float] = field(default_factory=dict)
    relaxed_windows: list[int] = field(default_factory=list)
    soc_drift_mwh: float = 0.0
    total_seconds: float = 0.0
    state_of_health: dict = field(default_factory=dict)  # essdispatch.model.ageing.HealthTracker
    #: (K,) segment energies each window's plan started from (MODEL.md 13), not in summary
    segment_starts: list[np.ndarray] = field(default_factory=list, repr=False)

    def summary(self, per_window: bool = True) -> dict:
        """The ``windows`` block of summary.json."""
        solve = [w.plan_solve_seconds for w in self.windows]
        out: dict[str, Any] = {
            "count": len(self.windows),
            "solve_seconds_total": float(sum(solve)),
            "solve_seconds_max": float(max(solve, default=0.0)),
            "build_seconds_total": float(sum(w.plan_build_seconds for w in self.windows)),
            "settle_seconds_total": float(sum(w.settle_seconds for w in self.windows)),
            "settle_seconds_max": float(max((w.settle_seconds for w in self.windows), default=0)),
            "deviation_mwh": float(sum(w.deviation_mwh for w in self.windows)),
            "terminal_shortfall_mwh": self.terminal_shortfall_mwh,
            "terminal_shortfall_by_unit": dict(self.terminal_shortfall_by_unit),
            "relaxed_windows": sorted(set(self.relaxed_windows)),
            "soc_drift_below_min_mwh": self.soc_drift_mwh,
            "terminal_value": self.terminal_value,
            "terminal_value_seconds": self.terminal_value_seconds,
            "model_reuse": self.reuse,
            "total_seconds": self.total_seconds,
        }
        if self.state_of_health:
            out["state_of_health"] = self.state_of_health
        if per_window:
            out["per_window"] = [w.as_dict() for w in self.windows]
        return out
