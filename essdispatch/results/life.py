"""Life assessment after the solve: capacity fade of each unit with an ``ageing:`` block.

The solved state of charge ``e[b,t]/E[b]`` (t = 0…N) is handed to NREL's BLAST-Lite
(PyPI ``blast-lite``; model ``Lfp_Gr_250AhPrismatic``: calendar fade from temperature
and SOC, cycle fade from depth, SOC and C-rate with its own rainflow counting), the
horizon repeated until the state of health falls below ``end_of_life_soh`` or
``max_years`` pass. From the one simulation come, per unit:

``soh_end_of_horizon`` (after the simulated horizon once), ``soh_after_one_year`` and
``fade_per_year`` (the horizon repeated for a year), ``calendar_fade_first_year`` and
``cycle_fade_first_year`` (BLAST's two loss states), ``end_of_life_year`` (when SOH
crosses the threshold; None beyond ``max_years``), ``soh_by_year`` (start of each year,
year 1 = 1.0: the multi-year trajectory the economics use) and, from the ``rainflow``
package, the cycles and their mean depth in the horizon.

The consistency figure compares the LP's priced share of life per year (ageing cost ÷
replacement value, :func:`essdispatch.model.ageing_figures.ageing_figures`) times the end-of-life loss
with BLAST's first-year cycle fade: ``lp_vs_assessed_cycle_fade`` = LP ÷ BLAST.
docs/MODEL.md ("Life assessment") says when and why they disagree.

BLAST-Lite 1.1.1 pins numpy < 2 and calls ``np.trapz``, which numpy 2 removed; when numpy
lacks it, :func:`blast_model` sets ``np.trapz = np.trapezoid`` (the same function under
its new name) before importing BLAST.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.model.ageing_figures import ageing_figures

if TYPE_CHECKING:  # the summary schema is imported where a summary is read (fast `validate`)
    from essdispatch.results.extract import DispatchResult
    from essdispatch.results.summary import Summary

SECONDS_PER_YEAR = 365.0 * 86400.0
#: longest step of the SOC profile handed to BLAST-Lite [h] (:func:`blast_input`)
MAX_STEP_H = 0.25
INSTALL_HINT = "the life assessment needs BLAST-Lite: pip install 'essdispatch[life]'"


class LifeUnavailable(RuntimeError):
    """BLAST-Lite or rainflow is not installed."""


def blast_model() -> Any:
    """A fresh BLAST-Lite ``Lfp_Gr_250AhPrismatic`` cell model."""
    if not hasattr(np, "trapz"):  # numpy ≥ 2.0 renamed it; BLAST-Lite 1.1.1 still calls it
        np.trapz = np.trapezoid  # type: ignore[attr-defined]
    try:
        from blast.models import Lfp_Gr_250AhPrismatic
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise LifeUnavailable(f"{INSTALL_HINT} ({exc})") from None
    return Lfp_Gr_250AhPrismatic()


def blast_available() -> bool:
    """Whether BLAST-Lite and rainflow can be imported."""
    try:
        blast_model()
        import rainflow  # noqa: F401
    except (LifeUnavailable, ImportError):
        return False
    return True


def blast_input(soc: np.ndarray, dt_h: float, temperature_c: float) -> dict[str, np.ndarray]:
    """BLAST-Lite's input for a horizon of SOC boundary values ``soc`` (N+1, fractions of
    nameplate, clipped to [0, 1]) at a constant temperature, in sub-steps of at most
    :data:`MAX_STEP_H`.

    The SOC is interpolated linearly between the boundaries, which is exact for the
    dispatch's constant power within a period (self-discharge aside). Sub-steps matter
    because BLAST-Lite 1.1.1 simulates a profile in chunks (between rainflow turning points,
    at most a day or one equivalent full cycle) and skips the step between two
    consecutive chunks: at hourly steps that drops about one hour in 25 of both time and
    SOC change (its "year" then spans ~4 % more profile, and which swings are dropped
    depends on the profile's shape); at 15-minute sub-steps the loss is ~1 %.
    """
    soc = np.clip(np.asarray(soc, dtype=float), 0.0, 1.0)
    m = max(1, math.ceil(dt_h / MAX_STEP_H - 1e-9))
    n = (soc.size - 1) * m + 1
    fine = np.interp(np.arange(n) / m, np.arange(soc.size), soc) if m > 1 else soc
    return {
        "Time_s": np.arange(n, dtype=float) * (dt_h / m) * 3600.0,
        "SOC": fine,
        "Temperature_C": np.full(n, float(temperature_c)),
    }


def simulate(
    soc: np.ndarray, dt_h: float, temperature_c: float, end_of_life_soh: float, max_years: float
) -> Any:
    """BLAST-Lite's simulation of a cell cycled by ``soc`` (N+1 boundary values, fractions
    of nameplate; :func:`blast_input`) repeated until SOH < ``end_of_life_soh`` or
    ``max_years``; the model."""
    cell = blast_model()
    profile = blast_input(soc, dt_h, temperature_c)
    cell.simulate_battery_life(
        profile, threshold_capacity=end_of_life_soh, threshold_time=max_years
    )
    return cell


def _crossing(t: np.ndarray, q: np.ndarray, level: float) -> float | None:
    """First time ``q`` falls below ``level`` (linear between samples); None if never."""
    below = np.flatnonzero(q < level)
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(t[0])
    t0, t1, q0, q1 = t[k - 1], t[k], q[k - 1], q[k]
    return float(t0 + (q0 - level) / (q0 - q1) * (t1 - t0)) if q0 != q1 else float(t1)


def rainflow_summary(soc: np.ndarray) -> dict[str, float]:
    """Cycles (full = 1, half = 0.5) of the SOC profile and their count-weighted mean depth
    (fraction of nameplate), by the ``rainflow`` package (ASTM E1049-85 counting)."""
    import rainflow

    counted = rainflow.count_cycles(np.asarray(soc, dtype=float))
    depth = np.array([r for r, _ in counted], dtype=float)
    count = np.array([c for _, c in counted], dtype=float)
    total = float(count.sum())
    return {
        "cycles": total,
        "mean_depth": float((depth * count).sum() / total) if total > 0 else 0.0,
        "max_depth": float(depth.max(initial=0.0)),
    }


def assess_profile(
    soc: np.ndarray, dt_h: float, temperature_c: float, end_of_life_soh: float, max_years: float
) -> dict[str, Any]:
    """The life figures of one SOC profile (see the module docstring)."""
    cell = simulate(soc, dt_h, temperature_c, end_of_life_soh, max_years)
    t = np.asarray(cell.stressors["t_days"], dtype=float) / 365.0
    q = np.asarray(cell.outputs["q"], dtype=float)
    q_t = np.asarray(cell.outputs["q_t"], dtype=float)
    q_efc = np.asarray(cell.outputs["q_EFC"], dtype=float)
    horizon_years = (soc.size - 1) * dt_h / 8760.0
    years = float(t[-1])
    one = min(1.0, years)
    eol = _crossing(t, q, end_of_life_soh)
    whole = np.arange(0, int(math.floor(years)) + 1, dtype=float)
    return {
        "horizon_years": horizon_years,
        "soh_end_of_horizon": float(np.interp(horizon_years, t, q)),
        "soh_after_one_year": float(np.interp(one, t, q)) if years >= 1.0 else None,
        "fade_per_year": float(1.0 - np.interp(one, t, q)) / one if one > 0 else None,
        "calendar_fade_first_year": float(1.0 - np.interp(one, t, q_t)) / one if one else None,
        "cycle_fade_first_year": float(1.0 - np.interp(one, t, q_efc)) / one if one else None,
        "equivalent_full_cycles_per_year": float(
            np.interp(one, t, np.asarray(cell.stressors["efc"], dtype=float))
        )
        / one
        if one
        else None,
        "end_of_life_year": eol,
        "end_of_life_soh": end_of_life_soh,
        "simulated_years": years,
        "soh_by_year": [float(v) for v in np.interp(whole, t, q)],
        **{f"rainflow_{k}": v for k, v in rainflow_summary(soc).items()},
    }


def assess(run: DispatchResult) -> dict[str, Any]:
    """The ``life`` block of summary.json: per unit with an ``ageing:`` block, the LP's
    ageing figures and (``assess: true``) the BLAST-Lite assessment with the consistency
    figure. Raises :class:`LifeUnavailable` when an assessment is asked for and BLAST-Lite
    is missing."""
    inp = run.inputs
    a = inp.ageing
    if a is None:
        return {}
    lp = ageing_figures(run)
    out: dict[str, Any] = {}
    for b in np.flatnonzero(a.has):
        name = inp.unit_names[b]
        unit = dict(lp.get(name, {}))
        if a.assess[b] and inp.energy[b] > 0:
            soc = run.e[b] / inp.energy[b]
            life = assess_profile(
                soc,
                inp.dt_h,
                float(a.temperature_c[b]),
                float(a.end_of_life_soh[b]),
                float(a.max_years[b]),
            )
            unit["assessment"] = {"model": "BLAST-Lite Lfp_Gr_250AhPrismatic", **life}
            priced = unit.get("life_share_priced_per_year")
            cyc = life["cycle_fade_first_year"]
            if priced is not None:
                lp_fade = priced * (1.0 - float(a.end_of_life_soh[b]))
                unit["lp_implied_fade_per_year"] = lp_fade
                unit["lp_vs_assessed_cycle_fade"] = lp_fade / cyc if cyc else None
        out[name] = unit
    return out


def capacity_by_year(
    soh_by_year: list[float], lifetime_years: int, threshold: float
) -> tuple[np.ndarray, list[int]]:
    """Usable-capacity factor for project years 1…L from an assessed SOH trajectory
    (``soh_by_year[k]`` = SOH after k years), with augmentation back to 1.0 at the start of
    a year whose capacity would be below ``threshold``; returns (factors, augmentation years).

    Each year's capacity is the SOH reached at its start by the cell installed (or last
    restored) before it; beyond the simulated trajectory the last year's fade continues.
    """
    traj = np.asarray(soh_by_year, dtype=float)
    if traj.size < 2:
        traj = np.array([1.0, traj[-1] if traj.size else 1.0])
    step = max(0.0, float(traj[-2] - traj[-1]))
    out = np.zeros(lifetime_years)
    augmented: list[int] = []
    age = 0
    for year in range(1, lifetime_years + 1):
        soh = (
            float(traj[age]) if age < traj.size else float(traj[-1] - step * (age - traj.size + 1))
        )
        if soh < threshold:
            augmented.append(year)
            age = 0
            soh = 1.0
        out[year - 1] = soh
        age += 1
    return out, augmented


def check_life_available(inputs: Any, file: Any) -> None:
    """Fail before solving (exit 2) when a unit asks for the assessment and BLAST-Lite or
    rainflow is missing."""
    from essdispatch.base.exceptions import ScenarioError

    a = getattr(inputs, "ageing", None)
    if a is None or not a.assess.any() or blast_available():
        return
    name = inputs.unit_names[int(np.flatnonzero(a.assess)[0])]
    raise ScenarioError(
        file, [(f"storage {name}.ageing.assess", f"{INSTALL_HINT}, or set assess: false")]
    )


def _extend(traj: list[float], n: int) -> np.ndarray:
    """An SOH trajectory lengthened to ``n`` entries, its last year's fade continuing."""
    t = np.asarray(traj, dtype=float)
    step = float(t[-2] - t[-1]) if t.size > 1 else 0.0
    return np.concatenate([t, t[-1] - step * np.arange(1, n - t.size + 1)])


def _net_cash_flow(table: Any) -> np.ndarray:
    """Net cash flow per project year of a finance table (:mod:`essdispatch.results.finance`)."""
    return (
        table["gross_value"]
        - table["degradation_cost"]
        - table["fixed_om"]
        - table["replacement"]
        - table["capex"]
    ).to_numpy()


def life_finance(
    run: Any,
    baseline: Any,
    block: Any,
    life: dict[str, Any],
    resolve: Any = None,
    sequential: bool = False,
) -> dict[str, Any]:
    """Project finance with the assessed state of health (issue 17 item 4).

    The economics block's constant fade is replaced by the fleet's assessed SOH trajectory
    (energy-weighted over the assessed units, :func:`capacity_by_year`), with augmentation
    back to full capacity, paid at the units' replacement cost, in each year whose
    capacity would fall below the energy-weighted end-of-life SOH; the operating value
    scales with capacity. With ``resolve`` (``life: {redispatch_years: true}``) each year is
    instead re-solved at its faded energy (:func:`essdispatch.results.life_years.redispatched_years`, each unit augmented
    at its own threshold); with ``sequential`` as well (``redispatch_years: sequential``)
    each year's fade is assessed from that year's own dispatch (:func:`sequential_years`).
    NPV, IRR, paybacks and LCOS are recomputed with :mod:`essdispatch.results.finance` on that
    table.
    """
    from essdispatch.results.finance import (
        cash_flow_table,
        finance_case,
        irr,
        lcos,
        npv,
        payback_years,
    )

    inp = run.inputs
    a = inp.ageing
    units = [b for b in np.flatnonzero(a.has) if "assessment" in life.get(inp.unit_names[b], {})]
    if not units:
        return {"available": False, "reason": "no unit was assessed"}
    w = inp.energy[units] / inp.energy[units].sum()
    L = block.lifetime_years
    trajs = [life[inp.unit_names[b]]["assessment"]["soh_by_year"] for b in units]
    n = max(len(t) for t in trajs)
    padded = np.array([_extend(t, n) for t in trajs])
    fleet = (w[:, None] * padded).sum(axis=0)
    threshold = float((w * a.end_of_life_soh[units]).sum())
    cap, augmented = capacity_by_year(list(fleet), L, threshold)
    case = finance_case(run, baseline, block)
    table = cash_flow_table(case)
    y = table["year"].to_numpy()
    factor = np.concatenate([[0.0], cap])
    grow = np.where(y == 0, 0.0, (1.0 + case.price_escalation_per_year) ** np.maximum(y - 1, 0))
    aug_cost = float((a.replacement_per_mwh[units] * inp.energy[units]).sum())
    replacement = np.where(np.isin(y, augmented), aug_cost, 0.0)
    table["capacity_factor"] = factor
    table["gross_value"] = case.annual_gross_value * factor * grow
    table["degradation_cost"] = case.annual_degradation_cost * factor
    table["replacement"] = replacement
    table["discharge_mwh"] = case.annual_discharge_mwh * factor
    redispatch = None
    year1_npv = None
    if resolve is not None and sequential:
        year1_net = _net_cash_flow(table)
        year1_npv = npv(case.discount_rate, year1_net)  # the same finance, year-1 trajectory
        from essdispatch.results.life_years import sequential_years

        redispatch = sequential_years(run, baseline, L, resolve)
    elif resolve is not None:
        from essdispatch.results.life_years import redispatched_years

        redispatch = redispatched_years(run, baseline, life, L, resolve)
    if redispatch is not None:
        H = inp.n_periods * inp.dt_h / 8760.0
        rows = redispatch["years"]
        cap = np.array([float((w * r["capacity"][units]).sum()) for r in rows])
        factor = np.concatenate([[0.0], cap])
        table["capacity_factor"] = factor
        table["gross_value"] = np.concatenate([[0.0], [r["gross"] / H for r in rows]]) * grow
        table["degradation_cost"] = np.concatenate([[0.0], [r["degradation"] / H for r in rows]])
        table["discharge_mwh"] = np.concatenate([[0.0], [r["discharge_mwh"] / H for r in rows]])
        per_unit = a.replacement_per_mwh * inp.energy
        augmented = sorted({y for ys in redispatch["augmented"].values() for y in ys})
        replacement = np.zeros(len(y))
        for name, ys in redispatch["augmented"].items():
            b = inp.unit_names.index(name)
            replacement[np.isin(y, ys)] += per_unit[b]
        table["replacement"] = replacement
    net = _net_cash_flow(table)
    disc = table["discount_factor"].to_numpy()
    table["net_cash_flow"] = net
    table["discounted_cash_flow"] = net * disc
    table["cumulative"] = np.cumsum(net)
    table["cumulative_discounted"] = np.cumsum(net * disc)
    return {
        "available": True,
        "npv": npv(case.discount_rate, net),
        "irr": irr(net),
        "simple_payback_years": payback_years(table["cumulative"].to_numpy(), net),
        "discounted_payback_years": payback_years(
            table["cumulative_discounted"].to_numpy(), net * disc
        ),
        "lcos_per_mwh": lcos(table),
        "capacity_by_year": [float(v) for v in cap],
        "augmentation_years": augmented,
        "augmentation_cost": aug_cost,
        "augmentation_threshold_soh": threshold,
        "redispatched_years": redispatch is not None,
        "trajectory": "sequential"
        if sequential and redispatch is not None
        else "year-1 profile repeated",
        **(
            {
                "redispatch_solves": redispatch["solves"],
                "augmentation_years_by_unit": redispatch["augmented"],
                "gross_value_by_year": [float(v) for v in table["gross_value"].to_numpy()[1:]],
            }
            if redispatch is not None
            else {}
        ),
        **(
            {
                "soh_by_year_by_unit": redispatch["soh_by_year"],
                "discharge_mwh_by_year_by_unit": {
                    k: [v / H for v in vs] for k, vs in redispatch["discharge_mwh_by_year"].items()
                },
                "npv_year1_trajectory": year1_npv,
            }
            if sequential and redispatch is not None
            else {}
        ),
        "note": "the economics block's calendar/cycle fade and replacement are replaced by"
        " the assessed SOH trajectory and augmentation at end of life"
        + ("; every year re-solved at its faded energy" if redispatch is not None else "")
        + (
            ", its fade assessed from its own dispatch (BLAST-Lite continuing year by year)"
            if sequential and redispatch is not None
            else ""
        ),
    }


def life_lines(summary: Summary | dict[str, Any], max_units: int = 5) -> list[str]:
    """Console lines of the ``life`` block: per unit cycles, fade, end of life."""
    from essdispatch.results.summary import as_summary

    summary = as_summary(summary)
    life = summary.life or {}
    cycles = summary.equivalent_full_cycles or {}
    lines = []
    for k, (name, unit) in enumerate(life.items()):
        if k == max_units:
            lines.append(f"  life: {len(life) - max_units} more units in summary.json")
            break
        a = unit.assessment
        text = f"  life {name}: {cycles.get(name, 0.0):.2f} cycles, {unit.cost_model} cost"
        if a is not None and a.model_fields_set:
            eol = a.end_of_life_year
            fade = a.fade_per_year
            text += (f"; fade {100 * fade:.2f} %/yr" if fade is not None else "") + (
                f", SOH {a.end_of_life_soh:.0%} in year {eol:.1f}"
                if eol is not None
                else f", SOH above {a.end_of_life_soh:.0%} for {a.simulated_years:.0f} yr"
            )
            ratio = unit.lp_vs_assessed_cycle_fade
            if ratio is not None:
                text += f"; LP/assessed cycle fade {ratio:.2f}"
        lines.append(text)
    diagnostics = summary.diagnostics
    shadow = diagnostics.shadow_prices if diagnostics is not None else None
    limits = (shadow.cycle_limits if shadow is not None else None) or {}
    cur = summary.currency or ""
    for name, unit in list(limits.items())[:max_units]:
        day, year, mwh = unit.cycles_per_day, unit.cycles_per_year, unit.throughput_per_year
        for key in ("cycles_per_year", "throughput_per_year", "cycles_per_day"):  # as written
            if key not in unit.model_fields_set:
                continue
            if key == "cycles_per_day" and day.days_binding:
                lines.append(
                    f"  {name}: {day.limit:g} cycles/day binds on {day.days_binding} of"
                    f" {day.days} days; one more cycle is worth up to"
                    f" {day.value_per_cycle_max:,.0f} {cur}"
                )
            elif key == "cycles_per_year" and year.binding:
                lines.append(
                    f"  {name}: {year.limit:g} cycles/year binds; one more cycle is worth"
                    f" {year.value_per_cycle:,.0f} {cur}"
                )
            elif key == "throughput_per_year" and mwh.binding:
                lines.append(
                    f"  {name}: {mwh.limit_mwh:g} MWh/year throughput binds; one more MWh is"
                    f" worth {mwh.value_per_mwh:,.2f} {cur}"
                )
    fin = summary.finance.with_assessed_fade if summary.finance is not None else None
    if fin is not None and fin.available:
        irr = fin.irr
        aug = ", ".join(map(str, fin.augmentation_years or [])) or "none"
        lines.append(
            f"  finance with assessed fade: NPV {fin.npv:,.0f}"
            + (f", IRR {100 * irr:.2f} %" if irr is not None else "")
            + f", augmentation in year(s) {aug}"
        )
    return lines
