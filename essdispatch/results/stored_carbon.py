"""The carbon in stored energy, the three-way split of emissions displaced, 24/7 matching.

Post-solve accounting on a run and its no-storage baseline (docs/MODEL.md, "Carbon
accounting extensions"). Nothing here changes the optimum.

**Stock model.** Each unit's stored energy is a well-mixed stock. In period t, self-discharge
acts first, then the charge enters, then the discharge leaves pro rata::

    e_mid[t] = (1-σ)^Δt · e[t] + ηc · ch[t] · Δt
    δ[t]     = (dis[t] · Δt / ηd) / e_mid[t]         (fraction of the stock withdrawn)
    e[t+1]   = (1 - δ[t]) · e_mid[t]                  (constraint 4 of MODEL.md)

Besides the energy, the stock carries quantities ``X`` that enter with the charge and leave only
with the discharge, pro rata: ``X[t+1] = (1 - δ[t]) · (X[t] + in_X[t])``, ``out_X[t] = δ[t] ·
(X[t] + in_X[t])``. They are the **charged energy** by origin, ``QG`` (grid) and ``QV`` (the
site's solar surplus: MODEL.md's ``grid_charge_mwh`` split, solar going first to the units that
may not charge from the grid), the **carbon** ``C_r`` per series r (``in = ci_r · grid charge``,
solar brings none), and the **carbon-free energy** ``CF`` (``in = cf · grid charge + solar
charge``). Conversion and self-discharge losses reduce the energy but not these, so the
discharged energy carries the stock's average intensity with the losses included:
``ι[t] = out_C[t] / (dis[t] Δt)``. The initial stock ``e[0]`` of a unit that may charge from
the grid counts as grid-charged energy at the mean intensity (and carbon-free share) of the
unit's site over the horizon; that of a unit that may not (``grid_charging: false``) as solar. Each recursion
is a lower-bidiagonal linear system, solved for all periods at once
(:func:`scipy.linalg.solve_banded`, one call per unit, every pool a right-hand side).

**Split of** ``emissions_displaced_tco2`` (per series, tCO2, summing exactly to the total)::

    grid_energy_shifted       = Σ ci(t_dis) · out_QG − Σ out_C − (C[N] − C[0])
    curtailed_solar_delivered = Σ ci(t_dis) · out_QV − Σ ci · (solar charge − absorbed curtailment)
    losses                    = total − the two above
                              ≈ − Σ ci(t_dis) · (out_QG + out_QV − dis·Δt) − Σ ci · aux · Δt

``absorbed curtailment = cur_baseline − cur_run`` per site and period. Grid energy shifted is,
per charged MWh, the intensity when it is delivered minus when it was charged (less the carbon
still in storage at the end); curtailed solar delivered is the solar-charged energy valued when
delivered, less the grid value that solar would have had at charge time had it not been
curtailed in the baseline; losses are the charged energy that never came out (valued when the
rest is delivered) and the auxiliaries. The last equality holds to the solver's balance
tolerance (and differences in unserved energy, normally 0); ``split_check_tco2`` reports it.

**24/7 carbon-free matching** (sites with load). Each period, the site's consumption
``L = load + aux`` is served first by its own solar, then by storage discharge, then by
imports; the hourly carbon-free energy is ``min(pv - cur, L) + d_load · φ + i_load · cf``, where
``φ`` is the carbon-free fraction of the discharged energy (``out_CF / out_Q``) and ``cf`` the
grid's carbon-free share (``signals.carbon.carbon_free_share``; 0 when not given). The share is
its sum over the consumption served (``L - shed``), for the run and for the baseline (no storage,
no aux).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from essdispatch.results.extract import DispatchResult

if TYPE_CHECKING:  # the schema is imported where a summary is read (keeps `validate` fast)
    from essdispatch.results.summary import Summary


__all__ = [
    "ACCOUNTING_FIGURE_UNITS",
    "SPLIT_KEYS",
    "StockFlows",
    "accounting_rows",
    "carbon_accounting",
    "split_lines",
    "stock_flows",
]

SPLIT_KEYS = ("curtailed_solar_delivered", "grid_energy_shifted", "losses")
_TINY_MWH = 1e-9


@dataclass(frozen=True, eq=False)
class StockFlows:
    """Per unit and period flows of the stock model (module docstring). Energy in MWh.

    ``charge_grid``, ``charge_solar`` (B, T) [MW]: the charge split;
    ``out_grid``, ``out_solar`` (B, T): charged energy by origin leaving with the discharge;
    ``out_carbon`` series -> (B, T) [tCO2]; ``carbon_start``, ``carbon_end`` series -> (B,);
    ``out_clean`` (B, T): carbon-free charged energy leaving.
    """

    charge_grid: np.ndarray
    charge_solar: np.ndarray
    out_grid: np.ndarray
    out_solar: np.ndarray
    out_carbon: dict[str, np.ndarray]
    carbon_start: dict[str, np.ndarray]
    carbon_end: dict[str, np.ndarray]
    out_clean: np.ndarray


def _charge_split(r: DispatchResult) -> tuple[np.ndarray, np.ndarray]:
    """(grid, solar) parts of each unit's charge [MW]; site totals match ``grid_charge_mwh``."""
    inp = r.inputs
    surplus = np.maximum(0.0, r.pv - r.cur - inp.load - inp.site_aux[:, None])
    gc = inp.grid_charging[:, None]
    ch_solar_only = np.where(gc, 0.0, r.ch)
    ch_gc = np.where(gc, r.ch, 0.0)
    remaining = np.maximum(0.0, surplus - r.site_sum(ch_solar_only))
    gc_site = r.site_sum(ch_gc)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(gc_site > 0, np.minimum(1.0, remaining / gc_site), 0.0)
    solar = ch_solar_only + ch_gc * cover[inp.unit_site]
    return r.ch - solar, solar


def _pool_recursion(keep: np.ndarray, inflow: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Solve ``X[t+1] = keep[t] · (X[t] + inflow[t])`` for t = 0..T-1 (one unit).

    ``keep`` (T,), ``inflow`` (T, K), ``start`` (K,); returns X (T+1, K).
    """
    T = keep.shape[0]
    out = np.empty((T + 1, inflow.shape[1]))
    out[0] = start
    if T == 0:
        return out
    rhs = keep[:, None] * inflow
    rhs[0] += keep[0] * start
    bands = np.zeros((2, T))
    bands[0] = 1.0
    bands[1, : T - 1] = -keep[1:]
    from scipy.linalg import solve_banded

    out[1:] = solve_banded((1, 0), bands, rhs, check_finite=False)
    return out


def stock_flows(r: DispatchResult) -> StockFlows:
    """The stock model of every unit of a run (module docstring), vectorised over periods."""
    inp = r.inputs
    dt = inp.dt_h
    B, T = inp.n_units, inp.n_periods
    grid, solar = _charge_split(r)
    series = list(inp.carbon)
    out_carbon = {k: np.zeros((B, T)) for k in series}
    c_start = {k: np.zeros(B) for k in series}
    c_end = {k: np.zeros(B) for k in series}
    out_grid, out_solar, out_clean = np.zeros((B, T)), np.zeros((B, T)), np.zeros((B, T))
    cf = inp.carbon_free_share if inp.carbon_free_share is not None else np.zeros((inp.n_sites, T))
    rho = (1.0 - inp.self_discharge) ** dt
    e_mid = rho[:, None] * r.e[:, :-1] + inp.eta_charge[:, None] * r.ch * dt
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(
            e_mid > _TINY_MWH,
            np.clip(r.dis * dt / inp.eta_discharge[:, None] / e_mid, 0.0, 1.0),
            0.0,
        )
    for b in range(B):  # one banded solve per unit; every pool is a column
        s = inp.unit_site[b]
        e0 = float(r.e[b, 0])
        g_mwh, v_mwh = grid[b] * dt, solar[b] * dt
        inflow = np.column_stack(
            [g_mwh, v_mwh, cf[s] * g_mwh + v_mwh] + [inp.carbon[k][s] * g_mwh for k in series]
        )
        if inp.grid_charging[b]:  # initial stock: grid-charged at the site's horizon mean
            mean_cf = float(cf[s].mean()) if T else 0.0
            start = np.array(
                [e0, 0.0, mean_cf * e0]
                + [float(inp.carbon[k][s].mean()) * e0 if T else 0.0 for k in series]
            )
        else:  # a unit that may not charge from the grid started with solar
            start = np.array([0.0, e0, e0] + [0.0 for _ in series])
        keep = 1.0 - delta[b]
        pools = _pool_recursion(keep, inflow, start)
        leaving = delta[b][:, None] * (pools[:-1] + inflow)
        out_grid[b], out_solar[b], out_clean[b] = leaving[:, 0], leaving[:, 1], leaving[:, 2]
        for j, k in enumerate(series):
            out_carbon[k][b] = leaving[:, 3 + j]
            c_start[k][b] = start[3 + j]
            c_end[k][b] = pools[-1, 3 + j]
    return StockFlows(grid, solar, out_grid, out_solar, out_carbon, c_start, c_end, out_clean)


def _cfe_share(r: DispatchResult, clean_fraction: np.ndarray) -> np.ndarray:
    """(S,) hourly-matched carbon-free share of each site's consumption served (NaN: no load)."""
    inp = r.inputs
    T = inp.n_periods
    cf = inp.carbon_free_share if inp.carbon_free_share is not None else np.zeros((inp.n_sites, T))
    consumption = inp.load + inp.site_aux[:, None]
    own_solar = np.minimum(r.pv - r.cur, consumption)
    rest = consumption - own_solar
    from_storage = np.minimum(r.site_sum(r.dis), rest)
    from_grid = np.maximum(0.0, rest - from_storage - r.shed)
    clean = own_solar + from_storage * clean_fraction + from_grid * cf
    served = (consumption - r.shed).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(served > 0, clean.sum(axis=1) / served, np.nan)


def carbon_accounting(run: DispatchResult, baseline: DispatchResult) -> dict:
    """The summary block ``carbon_accounting`` (module docstring for the definitions).

    Keys: ``discharge_intensity_tco2_per_mwh`` {series: {unit: tCO2/MWh or None}};
    ``emissions_displaced_split_tco2`` {series: {curtailed_solar_delivered,
    grid_energy_shifted, losses}}; ``split_check_tco2`` {series: losses minus its energy-basis
    value}; ``carbon_free_247`` {site: {run, baseline}} for sites with load;
    ``carbon_free_247_grid_basis`` (``series`` or ``none``).
    """
    inp = run.inputs
    dt = inp.dt_h
    flows = stock_flows(run)
    site = inp.unit_site
    dis_mwh = run.dis * dt
    absorbed = baseline.cur - run.cur
    solar_site = run.site_sum(flows.charge_solar)
    intensity: dict[str, dict[str, float | None]] = {}
    split: dict[str, dict[str, float]] = {}
    check: dict[str, float] = {}
    net_run = run.imp - run.exp
    net_base = baseline.imp - baseline.exp
    for k, ci in inp.carbon.items():
        ci_u = ci[site]
        per_unit = dis_mwh.sum(axis=1)
        carbon_out = flows.out_carbon[k].sum(axis=1)
        intensity[k] = {
            u: (float(carbon_out[b] / per_unit[b]) if per_unit[b] > _TINY_MWH else None)
            for b, u in enumerate(inp.unit_names)
        }
        total = dt * float((ci * (net_base - net_run)).sum())
        shifted = float(
            (ci_u * flows.out_grid).sum()
            - carbon_out.sum()
            - (flows.carbon_end[k] - flows.carbon_start[k]).sum()
        )
        solar = float((ci_u * flows.out_solar).sum() - dt * (ci * (solar_site - absorbed)).sum())
        losses = total - shifted - solar
        energy_basis = -float(
            (ci_u * (flows.out_grid + flows.out_solar - dis_mwh)).sum()
            + dt * (ci * inp.site_aux[:, None]).sum()
        )
        split[k] = {
            "curtailed_solar_delivered": solar,
            "grid_energy_shifted": shifted,
            "losses": losses,
        }
        check[k] = losses - energy_basis
    q_site = run.site_sum(flows.out_grid + flows.out_solar)
    with np.errstate(divide="ignore", invalid="ignore"):
        clean_fraction = np.where(q_site > 0, run.site_sum(flows.out_clean) / q_site, 0.0)
    run_share = _cfe_share(run, clean_fraction)
    base_share = _cfe_share(baseline, np.zeros_like(clean_fraction))
    has_load = inp.load.sum(axis=1) > 0
    return {
        "discharge_intensity_tco2_per_mwh": intensity,
        "emissions_displaced_split_tco2": split,
        "split_check_tco2": check,
        "carbon_free_247": {
            name: {"run": float(run_share[s]), "baseline": float(base_share[s])}
            for s, name in enumerate(inp.site_names)
            if has_load[s]
        },
        "carbon_free_247_grid_basis": "series" if inp.carbon_free_share is not None else "none",
    }


#: figures of the ``carbon_accounting`` block as compare/report rows: name -> unit
ACCOUNTING_FIGURE_UNITS = {
    "emissions_displaced_split_tco2": "tCO2",
    "discharge_intensity_tco2_per_mwh": "tCO2/MWh",
    "carbon_free_247_share": "fraction",
}


def accounting_rows(summary: Summary | dict) -> list[tuple[str, str, str, float]]:
    """(figure, key, basis, value) rows of a summary's ``carbon_accounting`` block.

    ``emissions_displaced_split_tco2`` [``<series>/<part>``, basis ``delta``],
    ``discharge_intensity_tco2_per_mwh`` [``<series>/<unit>``, ``run``],
    ``carbon_free_247_share`` [site, ``run`` and ``baseline``]. Missing values are NaN.
    """
    from essdispatch.results.summary import CarbonAccounting, as_summary

    block = as_summary(summary).carbon_accounting or CarbonAccounting()
    out: list[tuple[str, str, str, float]] = []

    def num(v: object) -> float:
        return float(v) if isinstance(v, int | float) else float("nan")

    for series, parts in (block.emissions_displaced_split_tco2 or {}).items():
        for part in SPLIT_KEYS:
            out.append(
                (
                    "emissions_displaced_split_tco2",
                    f"{series}/{part}",
                    "delta",
                    num(getattr(parts, part)),
                )
            )
    for series, units in (block.discharge_intensity_tco2_per_mwh or {}).items():
        for unit, v in units.items():
            out.append(("discharge_intensity_tco2_per_mwh", f"{series}/{unit}", "run", num(v)))
    for site, shares in (block.carbon_free_247 or {}).items():
        out.append(("carbon_free_247_share", site, "run", num(shares.run)))
        out.append(("carbon_free_247_share", site, "baseline", num(shares.baseline)))
    return out


def split_lines(summary: Summary | dict) -> list[str]:
    """Console lines: the split of emissions displaced and the 24/7 shares of a summary."""
    from essdispatch.results.summary import CarbonAccounting, as_summary

    block = as_summary(summary).carbon_accounting or CarbonAccounting()
    lines = []
    labels = {
        "curtailed_solar_delivered": "curtailed solar delivered",
        "grid_energy_shifted": "grid energy shifted",
        "losses": "losses",
    }
    for series, parts in (block.emissions_displaced_split_tco2 or {}).items():
        text = ", ".join(
            f"{labels[k]} {getattr(parts, k):,.1f}"
            for k in SPLIT_KEYS
            if getattr(parts, k) is not None
        )
        lines.append(f"    = {text} tCO2 ({series})")
    shares = block.carbon_free_247 or {}
    if shares:
        basis = (
            ""
            if block.carbon_free_247_grid_basis == "series"
            else " (grid imports counted 0 %: no carbon_free_share series)"
        )
        cells = ", ".join(
            f"{site} {100 * v.run:.1f} % (baseline {100 * v.baseline:.1f} %)"
            for site, v in shares.items()
            if v.run is not None and v.baseline is not None
        )
        lines.append(f"  24/7 carbon-free   {cells}{basis}")
    return lines
