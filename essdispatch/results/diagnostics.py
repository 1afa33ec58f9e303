"""Post-solve diagnostics of one dispatch result: pure functions, JSON-able dicts.

:func:`diagnose` gathers everything ``summary.json`` carries under
``"diagnostics"``; :func:`diagnostic_warnings` turns the findings a user should
act on into one-line warnings; :func:`headlines` gives the short lines the CLI
prints. All of it reads the arrays of a :class:`~essdispatch.results.extract.DispatchResult`
(whole-array numpy, no per-period loops) and never changes them.

Periods are reported as ISO 8601 period starts in the scenario's time zone. A
long run is kept compact: each list holds at most :data:`MAX_LISTED` entries,
with the full count next to it (``periods``, ``hours``).

Shadow prices come from the LP duals (``result.duals``, ∂objective/∂rhs): for a
group limit the value of one more MW in period t is ``−dual[t]`` [currency per
MW for that period], i.e. ``−dual[t]/Δt`` per MWh it lets through; over the
whole horizon one more MW of interconnection is worth ``−Σ_t dual[t]``
[currency]. For the storage equation the value of one more MWh held in the unit
at the end of period t is ``−dual[t]`` [currency/MWh]. A MILP (exclusive mode)
has no duals: the section says so.

A dual is unique only at a non-degenerate optimum. Where a limit is met exactly by
something else (a plant's output equal to the tie, say), the value of one more MW and
the cost of one MW less differ, and the solver may return any value between them; the
figures are then "a valid marginal value", not "the" value (HiGHS 1.15 and 1.16 pick
different ends of that interval on the same problem).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from essdispatch.results.extract import DispatchResult

#: at most this many timestamps per list
MAX_LISTED = 24
#: a limit binds when the flow is within this of it [MW] (relative to max(1, limit))
BIND_TOL = 1e-6
#: a state-of-charge bound is reached within this [MWh] (relative to max(1, E))
SOC_TOL = 1e-6
#: below this a flow, an energy or a dual counts as zero
ZERO_TOL = 1e-7

EXCLUSIVE_HINT = (
    "set objective.exclusive_charge_discharge: true to forbid charging and discharging in"
    " the same period (a MILP)"
)


def _stamps(result: DispatchResult, mask: np.ndarray) -> dict[str, Any]:
    """Compact list of the periods where ``mask`` holds: count, hours, first timestamps."""
    idx = np.flatnonzero(mask)
    index = result.inputs.index
    return {
        "periods": int(idx.size),
        "hours": float(idx.size * result.inputs.dt_h),
        "first": [index[i].isoformat() for i in idx[:MAX_LISTED]],
        "more": int(max(0, idx.size - MAX_LISTED)),
    }


def energy_balance(result: DispatchResult) -> dict[str, Any]:
    """Residual of constraint 1 (MODEL.md) [MW]: the largest, and the largest per site."""
    resid = np.abs(result.balance_residual())
    per_site = resid.max(axis=1, initial=0.0)
    return {
        "residual_max_mw": float(per_site.max(initial=0.0)),
        "per_site_mw": dict(zip(result.inputs.site_names, map(float, per_site), strict=True)),
    }


def simultaneous_charge_discharge(result: DispatchResult) -> dict[str, Any]:
    """``Σ Δt·min(ch, dis)`` per unit [MWh] and the periods where it is nonzero."""
    inp = result.inputs
    both = np.minimum(result.ch, result.dis)
    per_unit = inp.dt_h * both.sum(axis=1)
    units = {}
    for b, name in enumerate(inp.unit_names):
        if per_unit[b] > ZERO_TOL:
            units[name] = {"mwh": float(per_unit[b]), **_stamps(result, both[b] > ZERO_TOL)}
    total = float(per_unit.sum())
    out: dict[str, Any] = {
        "total_mwh": total,
        "per_unit_mwh": dict(zip(inp.unit_names, map(float, per_unit), strict=True)),
        "units": units,
        "exclusive": bool(inp.exclusive),
    }
    if total > ZERO_TOL and not inp.exclusive:
        out["hint"] = EXCLUSIVE_HINT
    return out


def _binds(flow: np.ndarray, limit: float) -> np.ndarray:
    return flow >= limit - BIND_TOL * max(1.0, abs(limit))


def binding_limits(result: DispatchResult) -> dict[str, Any]:
    """Periods at which each finite site and group export/import limit binds."""
    inp = result.inputs
    sites: dict[str, Any] = {}
    for s, name in enumerate(inp.site_names):
        entry = {}
        for key, flow, limit in (
            ("export", result.exp[s], inp.export_limit[s]),
            ("import", result.imp[s], inp.import_limit[s]),
        ):
            if np.isfinite(limit):
                entry[key] = {"limit_mw": float(limit), **_stamps(result, _binds(flow, limit))}
        if entry:
            sites[name] = entry
    groups: dict[str, Any] = {}
    for g, name in enumerate(inp.group_names):
        members = np.asarray(inp.group_sites[g], dtype=np.int64)
        entry = {}
        for key, flow, limit in (
            ("export", result.exp[members].sum(axis=0), inp.group_export_limit[g]),
            ("import", result.imp[members].sum(axis=0), inp.group_import_limit[g]),
        ):
            if np.isfinite(limit):
                entry[key] = {"limit_mw": float(limit), **_stamps(result, _binds(flow, limit))}
        if entry:
            groups[name] = entry
    return {"sites": sites, "groups": groups}


def soc_bounds(result: DispatchResult) -> dict[str, Any]:
    """Periods at whose end each unit sits at ``soc_min·E`` or ``soc_max·E``."""
    inp = result.inputs
    out = {}
    e_end = result.e[:, 1:]
    for b, name in enumerate(inp.unit_names):
        tol = SOC_TOL * max(1.0, float(inp.energy[b]))
        lo, hi = inp.soc_min[b] * inp.energy[b], inp.soc_max[b] * inp.energy[b]
        out[name] = {
            "at_min": _stamps(result, e_end[b] <= lo + tol),
            "at_max": _stamps(result, e_end[b] >= hi - tol),
        }
    return out


def unserved_energy(result: DispatchResult) -> dict[str, Any]:
    """Load not served (``shed``) [MWh] in total and per site, with its periods."""
    inp = result.inputs
    per_site = inp.dt_h * result.shed.sum(axis=1)
    sites = {
        name: {"mwh": float(per_site[s]), **_stamps(result, result.shed[s] > ZERO_TOL)}
        for s, name in enumerate(inp.site_names)
        if per_site[s] > ZERO_TOL
    }
    return {"total_mwh": float(per_site.sum()), "sites": sites}


def _price_stats(result: DispatchResult, value: np.ndarray, binding: np.ndarray) -> dict:
    """mean/max of a per-period value and the value by period where ``binding``."""
    idx = np.flatnonzero(binding)
    index = result.inputs.index
    return {
        "mean": float(value.mean()) if value.size else 0.0,
        "max": float(value.max(initial=0.0)),
        "periods_binding": int(idx.size),
        "by_period": {index[i].isoformat(): float(value[i]) for i in idx[:MAX_LISTED]},
        "more": int(max(0, idx.size - MAX_LISTED)),
    }


def shadow_prices(result: DispatchResult) -> dict[str, Any]:
    """Value of one more MW of each group limit and of one more MWh stored (LP duals).

    Group limits: ``per_mwh`` statistics of ``−dual/Δt`` [currency/MWh] over the
    periods, ``value_per_mw_horizon = −Σ_t dual`` [currency per MW for the whole
    horizon]. Storage: ``−dual`` of the energy equation [currency/MWh], mean, min,
    max and at the end of the horizon per unit.
    """
    inp = result.inputs
    if not result.duals:
        reason = (
            "exclusive_charge_discharge makes the model a MILP, which has no duals"
            if inp.exclusive
            else "no duals were returned for this solve"
        )
        return {"available": False, "reason": reason}
    dt = inp.dt_h
    groups: dict[str, Any] = {}
    for key, family, limits in (
        ("export", "group_export", inp.group_export_limit),
        ("import", "group_import", inp.group_import_limit),
    ):
        duals = result.duals.get(family)
        if duals is None:
            continue
        for g, name in enumerate(inp.group_names):
            if not np.isfinite(limits[g]):
                continue
            value = -duals[g] / dt
            value = np.where(np.abs(value) > ZERO_TOL, value, 0.0)
            groups.setdefault(name, {})[key] = {
                "limit_mw": float(limits[g]),
                "unit": f"{inp.currency}/MWh",
                "value_per_mw_horizon": float(-duals[g].sum()),
                **_price_stats(result, value, value != 0.0),
            }
    storage: dict[str, Any] = {}
    duals = result.duals.get("storage")
    if duals is not None and duals.size:
        value = -duals
        for b, name in enumerate(inp.unit_names):
            storage[name] = {
                "unit": f"{inp.currency}/MWh",
                "mean": float(value[b].mean()),
                "min": float(value[b].min()),
                "max": float(value[b].max()),
                "end": float(value[b, -1]),
            }
    out = {"available": True, "groups": groups, "storage_energy": storage}
    from essdispatch.model.ageing_figures import limit_shadow_prices  # MODEL.md 14

    cycles = limit_shadow_prices(result)
    if cycles:
        out["cycle_limits"] = cycles
    user = user_family_duals(result)
    if user:
        out["user_families"] = user
    return out


def user_family_duals(result: DispatchResult) -> dict[str, Any]:
    """Duals of the constraint families an extension added (∂objective/∂rhs per row
    [currency per unit of the row]): rows, rows with a nonzero dual, min and max."""
    from essdispatch.model.families import family

    out: dict[str, Any] = {}
    for name, duals in result.duals.items():
        if family(name) is not None:
            continue
        d = np.asarray(duals, dtype=float).ravel()
        out[name] = {
            "rows": int(d.size),
            "binding_rows": int((np.abs(d) > ZERO_TOL).sum()),
            "min": float(d.min(initial=0.0)),
            "max": float(d.max(initial=0.0)),
        }
    return out


def diagnose(result: DispatchResult) -> dict[str, Any]:
    """Every diagnostic of one result (the ``"diagnostics"`` block of summary.json)."""
    return {
        "energy_balance": energy_balance(result),
        "simultaneous_charge_discharge": simultaneous_charge_discharge(result),
        "binding_limits": binding_limits(result),
        "soc_bounds": soc_bounds(result),
        "unserved_energy": unserved_energy(result),
        "shadow_prices": shadow_prices(result),
    }


def diagnostic_warnings(diag: dict[str, Any], currency: str = "") -> list[str]:
    """One-line warnings for findings a user should act on."""
    out = []
    scd = diag["simultaneous_charge_discharge"]
    if scd["total_mwh"] > ZERO_TOL and not scd["exclusive"]:
        units = ", ".join(
            f"{name} {u['mwh']:.3g} MWh in {u['periods']} periods"
            for name, u in scd["units"].items()
        )
        out.append(
            f"simultaneous charge and discharge of {scd['total_mwh']:.3g} MWh ({units}): "
            f"energy is burnt in losses, usually at negative prices; {EXCLUSIVE_HINT}"
        )
    unserved = diag["unserved_energy"]
    if unserved["total_mwh"] > ZERO_TOL:
        sites = ", ".join(
            f"{name} {s['mwh']:.3g} MWh from {s['first'][0]}"
            for name, s in unserved["sites"].items()
        )
        out.append(f"unserved energy {unserved['total_mwh']:.3g} MWh ({sites})")
    return out


def headlines(diag: dict[str, Any], currency: str = "", max_units: int = 5) -> list[str]:
    """Short human lines: balance residual, binding limits, shadow prices, SOC bounds.

    Per-unit lines are given for at most ``max_units`` units.
    """
    lines = [f"energy balance residual max {diag['energy_balance']['residual_max_mw']:.2g} MW"]
    for kind in ("sites", "groups"):
        for name, entry in diag["binding_limits"][kind].items():
            for key, info in entry.items():
                if info["periods"]:
                    lines.append(
                        f"{kind[:-1]} {name} {key} limit {info['limit_mw']:g} MW binds"
                        f" {info['hours']:g} h (first {info['first'][0]})"
                    )
    sp = diag["shadow_prices"]
    if sp.get("available"):
        for name, entry in sp["groups"].items():
            for key, info in entry.items():
                if info["periods_binding"]:
                    lines.append(
                        f"group {name} {key}: one more MW is worth"
                        f" {info['value_per_mw_horizon']:,.0f} {currency} over the horizon"
                        f" (mean {info['mean']:.4g}, max {info['max']:.4g} {info['unit']})"
                    )
    else:
        lines.append(f"shadow prices: not available ({sp.get('reason', '')})")
    units = list(diag["soc_bounds"])
    stored = sp.get("storage_energy", {}) if sp.get("available") else {}
    for name in units[:max_units]:
        info = diag["soc_bounds"][name]
        text = (
            f"unit {name}: at soc_min {info['at_min']['hours']:g} h, at soc_max"
            f" {info['at_max']['hours']:g} h"
        )
        if name in stored:
            text += f"; stored energy worth {stored[name]['mean']:.4g} {stored[name]['unit']} on average"
        lines.append(text)
    if len(units) > max_units:
        lines.append(f"(and {len(units) - max_units} more units: see summary.json diagnostics)")
    return lines
