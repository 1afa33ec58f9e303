"""Multi-year state of health re-solved year by year (``life: {redispatch_years:
sequential}``; docs/MODEL.md "State of health over years"), and the helpers the re-solved
years share with :func:`redispatched_years` (each year re-solved at the fade assessed
from year 1's dispatch, ``redispatch_years: true``): each project year is solved
at the capacity its units start it with, its own dispatch is assessed by BLAST-Lite
continuing each unit's cell, and a unit below its end-of-life SOH gets a new cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from essdispatch.results.life import blast_input, blast_model, capacity_by_year


def pin_sizes(inputs: Any) -> Any:
    """``inputs`` with every sized unit (MODEL.md 9) fixed at its current ratings
    (``Pmin = Pmax = P``, ``Emin = Emax = E``), so a re-solve of a faded year keeps the
    size the run chose instead of sizing again."""
    from dataclasses import replace

    econ = getattr(inputs, "econ", None)
    if econ is None or not econ.sized.any():
        return inputs
    s = econ.sized
    return replace(
        inputs,
        econ=replace(
            econ,
            p_min=np.where(s, inputs.power, econ.p_min),
            p_max=np.where(s, inputs.power, econ.p_max),
            e_min=np.where(s, inputs.energy, econ.e_min),
            e_max=np.where(s, inputs.energy, econ.e_max),
        ),
    )


def _year_figures(r: Any, base_cash: float) -> dict[str, float]:
    """One solved horizon's cash saving before degradation and investment, its
    degradation cost and discharge [currency, MWh]."""
    from essdispatch.model.econ_figures import unit_figures

    terms = unit_figures(r)
    return {
        "gross": base_cash
        - float(r.figures["cash_cost"])
        + float(terms["degradation"].sum())
        + float(terms["investment"].sum()),
        "degradation": float(terms["degradation"].sum()),
        "discharge_mwh": r.inputs.dt_h * float(r.dis.sum()),
    }


def sequential_years(run: Any, baseline: Any, lifetime: int, resolve: Any) -> dict[str, Any]:
    """Multi-year state of health re-solved year by year (``life: {redispatch_years:
    sequential}``; docs/MODEL.md "State of health over years").

    Year k is solved at the capacity ``cap_k`` each assessed unit has at its start
    (energy ``E·cap_k``, segment costs ``c_j/cap_k``, sizes pinned); the SOC of ITS
    dispatch, as a fraction of the nameplate energy, drives the unit's BLAST-Lite cell
    for one more year, continuing from the cell's state at the end of year k−1 (the
    library keeps its states and cumulative time, and rescales the SOC swings by the
    cell's SOH: the same MWh are a deeper cycle for a faded cell); the cell's SOH at
    the end of year k is ``cap_{k+1}``. A unit whose ``cap_k`` is below its
    ``end_of_life_soh`` is augmented at the start of year k: a new cell, ``cap_k = 1``.
    Year 1 is ``run`` itself; a year whose capacity vector equals one already solved
    (exactly: after augmentations that leave every unit as new, say) reuses that
    solve. Years are whole model years of BLAST's clock: the simulation of a year ends
    at the library's first breakpoint past it (at most a day or one equivalent full
    cycle later), and SOH is read by interpolation at the year boundary.

    Returns ``years`` (per year: ``capacity`` (B,), ``gross``, ``degradation``,
    ``discharge_mwh`` of the horizon), ``augmented`` (unit → years), ``solves``,
    ``soh_by_year`` (unit → SOH at the start of years 1…L+1, the last one after the
    project) and ``discharge_mwh_by_year`` (unit → the horizon's discharge per year).
    """
    inp = run.inputs
    a = inp.ageing
    B = inp.n_units
    units = [int(b) for b in np.flatnonzero(a.has & a.assess) if inp.energy[b] > 0]
    names = inp.unit_names
    base_cash = float(baseline.figures["cash_cost"])
    cells = {b: blast_model() for b in units}
    born = dict.fromkeys(units, 0)  # project year (completed) at which the cell was new
    cap = np.ones(B)
    solved: dict[tuple[float, ...], tuple[Any, dict[str, float]]] = {}
    years: list[dict[str, Any]] = []
    augmented: dict[str, list[int]] = {names[b]: [] for b in units}
    soh: dict[str, list[float]] = {names[b]: [] for b in units}
    discharge: dict[str, list[float]] = {names[b]: [] for b in units}
    for year in range(1, lifetime + 1):
        for b in units:
            if cap[b] < a.end_of_life_soh[b]:
                augmented[names[b]].append(year)
                cells[b] = blast_model()
                born[b] = year - 1
                cap[b] = 1.0
            soh[names[b]].append(float(cap[b]))
        key = tuple(float(v) for v in cap)
        if key not in solved:
            r = run if np.all(cap == 1.0) else resolve(pin_sizes(faded_year(inp, cap)))
            solved[key] = (r, _year_figures(r, base_cash))
        r, figs = solved[key]
        years.append({"capacity": cap.copy(), **figs})
        for b in units:
            discharge[names[b]].append(r.inputs.dt_h * float(r.dis[b].sum()))
            cell = cells[b]
            age = year - born[b]
            cell.simulate_battery_life(
                blast_input(r.e[b] / inp.energy[b], inp.dt_h, float(a.temperature_c[b])),
                threshold_time=age,
            )
            t = np.asarray(cell.stressors["t_days"], dtype=float) / 365.0
            q = np.asarray(cell.outputs["q"], dtype=float)
            cap[b] = float(np.interp(age, t, q))
    for b in units:
        soh[names[b]].append(float(cap[b]))
    return {
        "years": years,
        "augmented": augmented,
        "solves": len(solved),
        "soh_by_year": soh,
        "discharge_mwh_by_year": discharge,
    }


def faded_year(inputs: Any, cap: np.ndarray) -> Any:
    """``inputs`` of a project year at capacity ``cap`` (B,): usable energy ``E·cap``
    (stored energy kept, clipped to the faded ``smax``) and segment costs ``c_j/cap`` (the
    same share of life per cycle moves less energy), as
    :meth:`essdispatch.model.ageing.HealthTracker.apply` does, for every unit with a trajectory
    (also one without a replacement cost, which the tracker leaves alone)."""
    from dataclasses import replace

    safe = np.where(cap > 0, cap, 1.0)
    out = replace(
        inputs,
        energy=inputs.energy * cap,
        soc_initial=np.minimum(inputs.soc_max, inputs.soc_initial / safe),
    )
    a = inputs.ageing
    if a is not None and a.n_segments:
        out = replace(out, ageing=replace(a, segment_cost=a.segment_cost / safe[a.segment_unit]))
    return out


def redispatched_years(
    run: Any, baseline: Any, life: dict[str, Any], lifetime: int, resolve: Any
) -> dict[str, Any]:
    """Re-solve the horizon for every project year at the usable energy the assessment
    leaves: each assessed unit's own SOH trajectory with augmentation at its end-of-life
    SOH (:func:`capacity_by_year`); energy ``E·cap``, segment costs ``c_j/cap``
    (:func:`essdispatch.results.life_years.faded_year`). One solve per distinct capacity vector.

    Returns per year (1…L): ``capacity`` (B,), ``gross`` (cash savings before degradation
    and investment), ``degradation``, ``discharge_mwh`` for the horizon, and per unit the
    augmentation years."""
    from essdispatch.model.econ_figures import unit_figures

    inp = run.inputs
    a = inp.ageing
    caps = np.ones((lifetime, inp.n_units))
    augmented: dict[str, list[int]] = {}
    for b in np.flatnonzero(a.has):
        name = inp.unit_names[b]
        traj = life.get(name, {}).get("assessment", {}).get("soh_by_year")
        if traj:
            caps[:, b], augmented[name] = capacity_by_year(traj, lifetime, a.end_of_life_soh[b])
    base_cash = float(baseline.figures["cash_cost"])
    solved: dict[tuple, dict[str, float]] = {}
    years = []
    for cap in caps:
        key = tuple(float(v) for v in cap)  # exact: a rounded key would reuse another solve
        if key not in solved:
            r = resolve(pin_sizes(faded_year(inp, cap))) if np.any(cap < 1.0) else run
            terms = unit_figures(r)
            solved[key] = {
                "gross": base_cash
                - float(r.figures["cash_cost"])
                + float(terms["degradation"].sum())
                + float(terms["investment"].sum()),
                "degradation": float(terms["degradation"].sum()),
                "discharge_mwh": inp.dt_h * float(r.dis.sum()),
            }
        years.append({"capacity": cap, **solved[key]})
    return {"years": years, "augmented": augmented, "solves": len(solved)}
