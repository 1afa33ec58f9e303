"""What a solved dispatch says about battery life (MODEL.md 13–14): the segments'
discharge and depth-aware ageing cost (in total and per unit), the shadow prices of the
cycle and throughput limits, and the per-unit ageing figures of the summary. The data
they read are built in :mod:`essdispatch.model.ageing`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.model.ageing import day_structure, horizon_fraction, window_mwh

if TYPE_CHECKING:
    from essdispatch.results.extract import DispatchResult


def segment_discharge(r: DispatchResult) -> np.ndarray:
    """(K, T) discharge power of each SOC segment [MW] (zeros when not solved for)."""
    arr = r.extra.get("seg_dis") if hasattr(r, "extra") else None
    if arr is None:
        return np.zeros((r.inputs.n_segments, r.inputs.n_periods))
    return arr


def depth_ageing_cost(r: DispatchResult) -> float:
    """``Σ_k Σ_t Δt·c_k·dis_k[t]`` (MODEL.md 13) [currency]."""
    a = r.inputs.ageing
    if a is None or a.n_segments == 0:
        return 0.0
    return r.inputs.dt_h * float((a.segment_cost[:, None] * segment_discharge(r)).sum())


def depth_ageing_cost_by_unit(r: DispatchResult) -> np.ndarray:
    """(B,) the depth-aware segment cost of each unit (MODEL.md 13) [currency]."""
    inp = r.inputs
    out = np.zeros(inp.n_units)
    a = inp.ageing
    if a is None or a.n_segments == 0:
        return out
    per_segment = inp.dt_h * a.segment_cost * segment_discharge(r).sum(axis=1)
    np.add.at(out, a.segment_unit, per_segment)
    return out


# =========================================================================== figures
def limit_shadow_prices(result: DispatchResult) -> dict[str, Any]:
    """Shadow prices of MODEL.md 14: what one more cycle (or MWh of throughput) is worth.

    Per unit and limit: the limit, the realised figure, whether it binds and the value
    ``−dual × W`` [currency per equivalent full cycle] (per MWh for throughput): the
    objective's fall if the unit could cycle once more (per day: the sum over days).
    """
    inp = result.inputs
    a = inp.ageing
    if a is None or not result.duals:
        return {}
    W = window_mwh(inp)
    H = horizon_fraction(inp)
    dis = inp.dt_h * result.dis
    out: dict[str, Any] = {}
    for b, name in enumerate(inp.unit_names):
        unit: dict[str, Any] = {}
        if np.isfinite(a.max_cycles_year[b]) and "cycles_year" in result.duals:
            d = float(result.duals["cycles_year"][b, 0])
            unit["cycles_per_year"] = {
                "limit": float(a.max_cycles_year[b]),
                "horizon_limit_cycles": float(a.max_cycles_year[b] * H),
                "cycles": float(dis[b].sum() / W[b]) if W[b] > 0 else 0.0,
                "binding": bool(abs(d) > 1e-9),
                "value_per_cycle": -d * float(W[b]),
                "unit": f"{inp.currency}/cycle",
            }
        if np.isfinite(a.max_throughput_year[b]) and "throughput_year" in result.duals:
            d = float(result.duals["throughput_year"][b, 0])
            unit["throughput_per_year"] = {
                "limit_mwh": float(a.max_throughput_year[b]),
                "horizon_limit_mwh": float(a.max_throughput_year[b] * H),
                "discharge_mwh": float(dis[b].sum()),
                "binding": bool(abs(d) > 1e-9),
                "value_per_mwh": -d,
                "unit": f"{inp.currency}/MWh",
            }
        if np.isfinite(a.max_cycles_day[b]) and "cycles_day" in result.duals:
            d = result.duals["cycles_day"][b]
            codes, days = day_structure(inp.index)
            per_day = np.bincount(codes, weights=dis[b], minlength=days.size)
            value = -d * float(W[b])
            binding = np.abs(d) > 1e-9
            unit["cycles_per_day"] = {
                "limit": float(a.max_cycles_day[b]),
                "days": int(days.size),
                "days_binding": int(binding.sum()),
                "max_cycles_in_a_day": float(per_day.max(initial=0.0) / W[b]) if W[b] > 0 else 0.0,
                "value_per_cycle_mean": float(value.mean()) if value.size else 0.0,
                "value_per_cycle_max": float(value.max(initial=0.0)),
                "value_per_cycle_total": float(value.sum()),
                "unit": f"{inp.currency}/cycle",
            }
        if unit:
            out[name] = unit
    return out


def ageing_figures(r: DispatchResult) -> dict[str, Any]:
    """Per unit with an ``ageing:`` block: the LP's ageing cost, the segments' use and the
    life the LP priced (``Σ`` cost / (R·E), the share of life used, scaled to a year)."""
    inp = r.inputs
    a = inp.ageing
    if a is None:
        return {}
    H = horizon_fraction(inp)
    dt = inp.dt_h
    seg_dis = segment_discharge(r)
    out: dict[str, Any] = {}
    for b in np.flatnonzero(a.has):
        name = inp.unit_names[b]
        linear = dt * float(inp.degradation_cost[b] * r.dis[b].sum())
        segs = np.flatnonzero(a.segment_unit == b)
        depth = dt * float((a.segment_cost[segs, None] * seg_dis[segs]).sum()) if segs.size else 0.0
        unit: dict[str, Any] = {
            "cost_model": "depth_aware" if a.depth_aware[b] else "linear",
            "curve": a.curve_names[b],
            "linear_ageing_cost": linear,
            "depth_aware_ageing_cost": depth,
        }
        R_total = a.replacement_per_mwh[b] * inp.energy[b]
        if R_total > 0:
            unit["life_share_priced"] = (linear + depth) / R_total
            unit["life_share_priced_per_year"] = (linear + depth) / R_total / H if H > 0 else None
        if segs.size:
            unit["segment_cost_per_mwh"] = [float(c) for c in a.segment_cost[segs]]
            unit["segment_discharge_mwh"] = [float(v) for v in dt * seg_dis[segs].sum(axis=1)]
            W = window_mwh(inp)[b]
            unit["equivalent_linear_cost_per_mwh"] = (
                float(
                    a.replacement_per_mwh[b]
                    * a.curve_phi[b, -1]
                    / (inp.eta_discharge[b] * (inp.soc_max[b] - inp.soc_min[b]))
                )
                if W > 0
                else 0.0
            )
        out[name] = unit
    return out
