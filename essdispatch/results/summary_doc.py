"""The ``summary.json`` document of a run: its figures, the baseline's, the Δ figures, the
carbon accounting, diagnostics and warnings, made JSON-safe."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch import __version__
from essdispatch.base.inputs import Inputs
from essdispatch.model.econ_figures import revenue_streams
from essdispatch.results.diagnostics import diagnose, diagnostic_warnings
from essdispatch.results.extract import (
    DispatchResult,
    delta_figures,
    per_site_figures,
    per_unit_figures,
)
from essdispatch.results.stored_carbon import carbon_accounting

if TYPE_CHECKING:
    from essdispatch.solve.dispatch import SolveStats


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
