#!/usr/bin/env python
"""Fleet-year benchmark (issue 5): essdispatch against bare HiGHS and PyPSA on the same LP.

Generates a seeded synthetic fleet as a real scenario file (YAML + CSVs, see
docs/SCENARIOS.md): N solar sites, each with one storage unit made of
5 MWh LFP containers at 0.5C and a grid export limit below the PV peak, a
seeded spot price (sell = spot, buy = spot + network fee), average and
marginal grid carbon, and one group export limit over all sites that binds
(``--no-group`` omits it). Then it runs, each route in its own subprocess so
peak memory does not mix:

``essdispatch``
    ``essdispatch.run.run_scenario`` end to end: load, run + no-storage
    baseline, results written; prints the phase table (load, build, transfer
    to HiGHS, solve, extract, baseline, write) with wall seconds and peak RSS.
``highs``
    the bare-HiGHS lower bound: the same joint LP (``assemble_lp``, no
    decomposition, run only) handed to ``highspy``; its ``run()`` time is
    "HiGHS's own time".
``pypsa`` (``--against pypsa``; ``pip install essdispatch[bench]``)
    the identical LP built in PyPSA (bus per site, PV generator, import and
    export generators, a StorageUnit, the group limit as an extra linopy
    constraint) and solved with HiGHS through linopy.

It then prints both times, all objectives (to 1e-6 relative) and the ratios.

Examples::

    python benchmarks/fleet_year.py --sites 20 --year --against pypsa
    python benchmarks/fleet_year.py --sites 1 --days 7 --resolution 15min
    python benchmarks/fleet_year.py --sites 20 --year --routes highs --solver-option solver=ipm
    python benchmarks/fleet_year.py --table benchmarks/out   # markdown table of all runs

LP equivalence with PyPSA (why the scenario looks the way it does): PyPSA's
StorageUnit has no minimum state of charge, so its energy is the shifted
``e − soc_min·E`` (identical because self-discharge is 0); PyPSA's
``cyclic_state_of_charge`` frees the initial level, whereas essdispatch fixes
``e[0] = soc_initial·E``, so the scenario uses ``terminal: cyclic`` and PyPSA
gets ``state_of_charge_initial`` plus ``state_of_charge_set`` on the last
snapshot (``e[N] = e[0]``). Sites have no load (PyPSA would need a load
shedding generator for ``shed``; with zero load essdispatch's ``shed`` is
fixed at 0).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out"

RESOLUTIONS = {"60min": 1.0, "30min": 0.5, "15min": 0.25}
CONTAINER_MWH = 5.0  # one LFP container
C_RATE = 0.5  # power = 0.5 × energy
ETA = 0.95  # charge and discharge efficiency
SOC_MIN, SOC_MAX, SOC_INITIAL = 0.05, 0.95, 0.5
DEGRADATION_CNY_PER_MWH = 68.0
NETWORK_FEE = 150.0  # buy price = spot + this [CNY/MWh]
CARBON_PRICE = 80.0  # CNY/tCO2
TIMEZONE = "Asia/Shanghai"
REL_TOL = 1e-6

# grid carbon by local hour [tCO2/MWh]: average lower at midday (solar), marginal coal-heavy
CARBON_AVERAGE = [0.62, 0.62, 0.63, 0.63, 0.63, 0.62, 0.60, 0.57, 0.53, 0.49, 0.46, 0.44,
                  0.43, 0.44, 0.46, 0.49, 0.53, 0.57, 0.60, 0.62, 0.62, 0.62, 0.62, 0.62]  # fmt: skip
CARBON_MARGINAL = [0.86, 0.86, 0.87, 0.87, 0.87, 0.86, 0.85, 0.84, 0.80, 0.76, 0.72, 0.70,
                   0.70, 0.71, 0.74, 0.78, 0.82, 0.86, 0.88, 0.88, 0.88, 0.87, 0.87, 0.86]  # fmt: skip
# spot price shape by local hour [CNY/MWh]: solar-depressed midday, evening peak
SPOT_SHAPE = [300, 285, 275, 270, 275, 300, 350, 380, 320, 230, 170, 140,
              130, 140, 170, 240, 360, 480, 560, 590, 560, 480, 400, 340]  # fmt: skip


# ============================================================================ fleet
@dataclass
class Fleet:
    """The synthetic fleet: everything the scenario file states, as arrays."""

    name: str
    index: pd.DatetimeIndex
    dt_h: float
    resolution: str
    site_names: list[str]
    lat: np.ndarray
    lon: np.ndarray
    pv_capacity: np.ndarray  # (S,) MW
    pv_pu: np.ndarray  # (S, T) per unit of capacity
    export_limit: np.ndarray  # (S,) MW
    import_limit: np.ndarray  # (S,) MW
    containers: np.ndarray  # (S,) int
    spot: np.ndarray  # (T,) CNY/MWh
    group_export_limit: float | None

    @property
    def n_sites(self) -> int:
        return len(self.site_names)

    @property
    def n_periods(self) -> int:
        return len(self.index)


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) noise along the last axis."""
    from scipy.signal import lfilter

    eps = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), size=shape)
    eps[..., 0] = rng.normal(0.0, sigma, size=shape[:-1])
    return lfilter([1.0], [1.0, -phi], eps, axis=-1)


def make_fleet(
    n_sites: int,
    days: int | None = None,
    resolution: str = "60min",
    seed: int = 1,
    group: bool = True,
) -> Fleet:
    """A seeded synthetic fleet; ``days=None`` is the calendar year 2025 (8760 h)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {sorted(RESOLUTIONS)}")
    dt_h = RESOLUTIONS[resolution]
    if days is None:
        start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01")
    else:
        start = pd.Timestamp("2025-06-01")
        end = start + pd.Timedelta(days=days)
    index = pd.date_range(start, end, freq=resolution, inclusive="left", tz=TIMEZONE)
    T, S = len(index), n_sites
    rng = np.random.default_rng(seed)

    lat = rng.uniform(35.0, 40.0, S)
    lon = rng.uniform(106.0, 111.0, S)
    capacity = np.round(rng.uniform(50.0, 200.0, S), -1)

    # ---- solar: clear-sky geometry × daily clearness (regional + local) × cloud noise
    mid = index + pd.Timedelta(hours=dt_h / 2)
    doy = mid.day_of_year.to_numpy()
    clock_h = (mid.hour + mid.minute / 60).to_numpy()
    b = 2 * np.pi * (doy - 81) / 364
    eot_h = (9.87 * np.sin(2 * b) - 7.53 * np.cos(b) - 1.5 * np.sin(b)) / 60
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365)
    solar_h = clock_h[None, :] + (lon[:, None] - 120.0) / 15.0 + eot_h[None, :]
    omega = np.radians(15.0 * (solar_h - 12.0))
    phi = np.radians(lat)[:, None]
    cosz = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(omega)
    clear = np.clip(cosz, 0.0, None) ** 1.15
    day = ((index - index[0]).days).to_numpy()
    n_days = int(day[-1]) + 1
    regional = rng.beta(6.0, 2.0, n_days)  # mean 0.75
    local = rng.beta(6.0, 2.0, (S, n_days))
    k_day = 0.7 * regional[None, :] + 0.3 * local
    periods_per_hour = round(1 / dt_h)
    cloud = np.clip(1.0 + _ar1(rng, (S, T), 0.9 ** (1 / periods_per_hour), 0.08), 0.3, 1.2)
    pv_pu = np.clip(1.2 * 0.9 * clear * k_day[:, day] * cloud, 0.0, 1.0)  # DC/AC 1.2 clips
    pv_pu = np.round(pv_pu, 5)

    # ---- grid connection and storage
    export_limit = np.round(0.7 * capacity)
    containers = np.maximum(1, np.round(0.25 * capacity / (C_RATE * CONTAINER_MWH))).astype(int)
    import_limit = containers * C_RATE * CONTAINER_MWH  # enough to charge from the grid

    # ---- spot price: hourly shape × seasonal level + daily level + AR(1) noise
    hour = index.hour.to_numpy()
    season = 1.0 + 0.12 * np.cos(2 * np.pi * (doy - 15) / 365)  # winter higher
    level = 1.0 + 0.15 * rng.standard_normal(n_days)
    noise = _ar1(rng, (T,), 0.85 ** (1 / periods_per_hour), 40.0)
    spot = np.clip(np.asarray(SPOT_SHAPE, float)[hour] * season * level[day] + noise, 0.0, 1500.0)
    spot = np.round(spot, 2)

    group_limit = float(np.round(0.5 * export_limit.sum())) if group else None
    res_tag = resolution.replace("min", "m")
    length = "year" if days is None else f"{days}d"
    name = f"fleet-{S}x-{length}-{res_tag}-s{seed}" + ("" if group else "-nogroup")
    return Fleet(
        name=name,
        index=index,
        dt_h=dt_h,
        resolution=resolution,
        site_names=[f"pv-{i + 1:03d}" for i in range(S)],
        lat=lat,
        lon=lon,
        pv_capacity=capacity,
        pv_pu=pv_pu,
        export_limit=export_limit,
        import_limit=import_limit,
        containers=containers,
        spot=spot,
        group_export_limit=group_limit,
    )


def _stamp(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


def write_scenario(fleet: Fleet, folder: Path) -> Path:
    """Write ``<folder>/<name>.yaml`` with ``<name>-pv.csv`` and ``<name>-price.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamps = fleet.index.tz_localize(None).strftime("%Y-%m-%d %H:%M")
    pv_csv = f"{fleet.name}-pv.csv"
    price_csv = f"{fleet.name}-price.csv"
    pv_frame = pd.DataFrame(fleet.pv_pu.T, columns=fleet.site_names, index=stamps)
    pv_frame.index.name = "time"
    pv_frame.to_csv(folder / pv_csv, float_format="%.5f")
    price = pd.DataFrame({"spot": fleet.spot, "buy": fleet.spot + NETWORK_FEE}, index=stamps)
    price.index.name = "time"
    price.to_csv(folder / price_csv, float_format="%.2f")

    sites = []
    for s, site in enumerate(fleet.site_names):
        sites.append(
            {
                "name": site,
                "location": {
                    "lat": round(float(fleet.lat[s]), 4),
                    "lon": round(float(fleet.lon[s]), 4),
                },
                "solar": {
                    "capacity_mw": float(fleet.pv_capacity[s]),
                    "profile": {"csv": pv_csv, "column": site},
                },
                "grid": {
                    "export_limit_mw": float(fleet.export_limit[s]),
                    "import_limit_mw": float(fleet.import_limit[s]),
                },
                "storage": [
                    {
                        "name": f"{site}-bess",
                        "power_mw": C_RATE * CONTAINER_MWH,
                        "energy_mwh": CONTAINER_MWH,
                        "count": int(fleet.containers[s]),
                        "charge_efficiency": ETA,
                        "discharge_efficiency": ETA,
                        "soc_min": SOC_MIN,
                        "soc_max": SOC_MAX,
                        "soc_initial": SOC_INITIAL,
                        "terminal": "cyclic",
                        "self_discharge_per_hour": 0.0,
                        "aux_mw": 0.0,
                        "degradation_cost": DEGRADATION_CNY_PER_MWH,
                        "grid_charging": True,
                    }
                ],
            }
        )
    doc: dict[str, Any] = {
        "name": fleet.name,
        "description": (
            f"Synthetic benchmark fleet (benchmarks/fleet_year.py): {fleet.n_sites} PV sites "
            f"with 5 MWh LFP containers at 0.5C, {fleet.n_periods} periods of {fleet.resolution}"
        ),
        "currency": "CNY",
        "horizon": {
            "start": _stamp(fleet.index[0]),
            "end": _stamp(fleet.index[-1] + pd.Timedelta(hours=fleet.dt_h)),
            "resolution": fleet.resolution,
            "timezone": TIMEZONE,
        },
        "objective": {
            "carbon_price": CARBON_PRICE,
            "steer_by": "marginal",
            "exclusive_charge_discharge": False,
        },
        "signals": {
            "buy_price": {"csv": price_csv, "column": "buy"},
            "sell_price": {"csv": price_csv, "column": "spot"},
            "carbon": {
                "average": {"hourly": CARBON_AVERAGE},
                "marginal": {"hourly": CARBON_MARGINAL},
            },
        },
        "sites": sites,
    }
    if fleet.group_export_limit is not None:
        doc["groups"] = [
            {
                "name": "fleet-tie",
                "sites": list(fleet.site_names),
                "export_limit_mw": fleet.group_export_limit,
            }
        ]
    path = folder / f"{fleet.name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=120), encoding="utf-8")
    return path


def fleet_inputs(fleet: Fleet):
    """The fleet as :class:`essdispatch.base.inputs.Inputs` directly (no scenario file).

    Equal to ``prepare_inputs(load_scenario(path))`` of the written file up to
    CSV rounding; used to cross-check the loader and when it is unavailable.
    """
    from essdispatch.base.inputs import Inputs, default_voll

    S, T = fleet.n_sites, fleet.n_periods
    hour = fleet.index.hour.to_numpy()
    buy = np.broadcast_to(fleet.spot + NETWORK_FEE, (S, T)).copy()
    sell = np.broadcast_to(fleet.spot, (S, T)).copy()
    carbon = {
        "average": np.broadcast_to(np.asarray(CARBON_AVERAGE)[hour], (S, T)).copy(),
        "marginal": np.broadcast_to(np.asarray(CARBON_MARGINAL)[hour], (S, T)).copy(),
    }
    count = fleet.containers.astype(np.int64)
    groups = fleet.group_export_limit is not None
    return Inputs(
        name=fleet.name,
        index=fleet.index,
        dt_h=fleet.dt_h,
        currency="CNY",
        carbon_price=CARBON_PRICE,
        steer_by="marginal",
        exclusive=False,
        voll=default_voll(buy),
        site_names=tuple(fleet.site_names),
        pv=fleet.pv_capacity[:, None] * fleet.pv_pu,
        load=np.zeros((S, T)),
        buy_price=buy,
        sell_price=sell,
        carbon=carbon,
        export_limit=fleet.export_limit.astype(float),
        import_limit=fleet.import_limit.astype(float),
        unit_names=tuple(f"{s}-bess" for s in fleet.site_names),
        unit_site=np.arange(S, dtype=np.int64),
        count=count,
        power=C_RATE * CONTAINER_MWH * count,
        charge_power=C_RATE * CONTAINER_MWH * count,
        energy=CONTAINER_MWH * count.astype(float),
        eta_charge=np.full(S, ETA),
        eta_discharge=np.full(S, ETA),
        self_discharge=np.zeros(S),
        soc_min=np.full(S, SOC_MIN),
        soc_max=np.full(S, SOC_MAX),
        soc_initial=np.full(S, SOC_INITIAL),
        availability=np.ones((S, T)),
        degradation_cost=np.full(S, DEGRADATION_CNY_PER_MWH),
        grid_charging=np.ones(S, dtype=bool),
        aux=np.zeros(S),
        terminal=("cyclic",) * S,
        group_names=("fleet-tie",) if groups else (),
        group_sites=(np.arange(S, dtype=np.int64),) if groups else (),
        group_export_limit=np.array([fleet.group_export_limit]) if groups else np.zeros(0),
        group_import_limit=np.array([np.inf]) if groups else np.zeros(0),
    )


def load_inputs(scenario: Path):
    """``prepare_inputs(load_scenario(scenario))`` — the Inputs every route solves."""
    from essdispatch.scenario.load import load_scenario, prepare_inputs

    return prepare_inputs(load_scenario(scenario))


# ============================================================================ helpers
def peak_rss_mib() -> float:
    """Peak resident set size of this process so far [MiB] (Linux: ru_maxrss in KiB)."""
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def parse_solver_options(items: list[str]) -> dict[str, Any]:
    """``["solver=ipm", "simplex_strategy=1"]`` -> HiGHS options with typed values."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--solver-option wants key=value, got {item!r}")
        val: Any = raw
        if raw.lower() in ("true", "false"):
            val = raw.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    val = kind(raw)
                    break
                except ValueError:
                    pass
        out[key.strip()] = val
    return out


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


# ============================================================================ routes
def route_essdispatch(
    scenario: Path, out: Path, solver_options: dict[str, Any], decompose: bool
) -> dict[str, Any]:
    """``run_scenario`` end to end; per-phase timings and the peak RSS at each phase's end."""
    from essdispatch.run import run_scenario
    from essdispatch.solve.highs import SolverOptions

    rss: dict[str, float] = {}
    state = {"phase": "start"}

    def progress(msg: str) -> None:
        phase = (
            "load"
            if msg.startswith("loading")
            else "run"
            if msg.startswith("run:")
            else "baseline"
            if msg.startswith("baseline:")
            else "write"
            if msg.startswith("writing")
            else state["phase"]
        )
        if phase != state["phase"]:
            rss[state["phase"]] = peak_rss_mib()
            state["phase"] = phase
            print(
                f"    [{time.perf_counter() - t0:7.1f} s, peak {peak_rss_mib():6.0f} MiB] {msg}",
                file=sys.stderr,
                flush=True,
            )

    rss_start = peak_rss_mib()
    t0 = time.perf_counter()
    outcome = run_scenario(
        scenario,
        out,
        options=SolverOptions(highs=dict(solver_options)),
        decompose=decompose,
        progress=progress,
    )
    wall = time.perf_counter() - t0
    rss[state["phase"]] = peak_rss_mib()
    summary = outcome.summary
    solver = summary.get("solver", {})
    return {
        "route": "essdispatch",
        "wall_seconds": wall,
        "timings": dict(outcome.timings),
        "objective": float(summary["total_cost"]),
        "baseline_objective": float(summary["baseline"]["total_cost"]),
        "savings": float(summary.get("savings", float("nan"))),
        "solver_route": solver.get("route"),
        "baseline_route": solver.get("baseline", {}).get("route"),
        "subproblems": solver.get("subproblems"),
        "variables": solver.get("variables"),
        "constraints": solver.get("constraints"),
        "notes": solver.get("notes", []),
        "iterations": solver.get("iterations"),
        "site_seconds": solver.get("site_seconds"),
        "site_iterations": solver.get("site_iterations"),
        "handover_seconds": solver.get("handover_seconds"),
        "baseline_iterations": solver.get("baseline", {}).get("iterations"),
        "rss_start_mib": rss_start,
        "rss_by_phase_mib": rss,
        "peak_rss_mib": peak_rss_mib(),
        # per-site worker processes (if essdispatch used any): the largest one's peak
        "workers_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _highs_model(lp):
    """The LP as a ``highspy.HighsLp``: the same hand-over essdispatch uses."""
    from essdispatch.solve.highs import highs_lp

    return highs_lp(lp)


def route_highs(scenario: Path | None, solver_options: dict[str, Any], inputs=None) -> dict:
    """Bare HiGHS: the joint LP as scipy sparse -> highspy; no baseline, no results."""
    import highspy

    from essdispatch.model.lp import assemble_lp

    t0 = time.perf_counter()
    if inputs is None:
        inputs = load_inputs(scenario)
    t1 = time.perf_counter()
    rss_load = peak_rss_mib()
    lp = assemble_lp(inputs)
    t2 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, val in solver_options.items():
        if h.setOptionValue(key, val) != highspy.HighsStatus.kOk:
            raise SystemExit(f"HiGHS rejected option {key}={val!r}")
    h.passModel(_highs_model(lp))
    t3 = time.perf_counter()
    h.run()
    t4 = time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value)
    t5 = time.perf_counter()
    return {
        "route": "highs",
        "status": status,
        "objective": float(info.objective_function_value),
        "load_seconds": t1 - t0,
        "build_seconds": t2 - t1,
        "transfer_seconds": t3 - t2,
        "solve_seconds": t4 - t3,
        "extract_seconds": t5 - t4,
        "wall_seconds": t5 - t1,  # build + transfer + solve + extract (load not counted)
        "simplex_iterations": int(info.simplex_iteration_count),
        "ipm_iterations": int(info.ipm_iteration_count),
        "pdlp_iterations": int(getattr(info, "pdlp_iteration_count", 0)),
        "variables": lp.n_cols,
        "constraints": lp.n_rows,
        "nonzeros": int(lp.A.nnz),
        "solution_norm": float(np.abs(x).sum()),
        "rss_after_load_mib": rss_load,
        "peak_rss_mib": peak_rss_mib(),
    }


def build_pypsa(inputs):
    """The essdispatch LP of ``inputs`` as a PyPSA network (plus the group constraint hook).

    Requires: no load, no aux, no self-discharge, ``terminal: cyclic``, group
    export limits only (what the generated scenario contains); raises otherwise.
    """
    import pypsa

    if np.any(inputs.load) or np.any(inputs.aux) or np.any(inputs.self_discharge):
        raise ValueError("PyPSA mapping needs load = aux = self_discharge = 0")
    if any(t != "cyclic" for t in inputs.terminal) or inputs.exclusive:
        raise ValueError("PyPSA mapping needs terminal: cyclic and an LP")
    if np.isfinite(inputs.group_import_limit).any():
        raise ValueError("PyPSA mapping handles group export limits only")
    if np.any(inputs.availability != 1.0) or np.any(inputs.charge_power != inputs.power):
        raise ValueError("PyPSA mapping needs availability 1 and charge power = power")

    sites = list(inputs.site_names)
    T, dt = inputs.n_periods, inputs.dt_h
    sns = pd.RangeIndex(T, name="snapshot")
    n = pypsa.Network()
    n.set_snapshots(sns)
    weights = n.snapshot_weightings
    n.snapshot_weightings = pd.DataFrame(float(dt), index=weights.index, columns=weights.columns)

    def frame(arr: np.ndarray, names: list[str]) -> pd.DataFrame:
        return pd.DataFrame(np.ascontiguousarray(arr.T), index=sns, columns=names)

    n.add("Bus", sites)
    cap = inputs.pv.max(axis=1)
    cap = np.where(cap > 0, cap, 1.0)
    pv_names = [f"{s} pv" for s in sites]
    n.add(
        "Generator",
        pv_names,
        bus=sites,
        p_nom=cap,
        p_max_pu=frame(inputs.pv / cap[:, None], pv_names),
        marginal_cost=0.0,
    )
    steer = inputs.carbon_price * inputs.steer_carbon
    imp_names = [f"{s} import" for s in sites]
    n.add(
        "Generator",
        imp_names,
        bus=sites,
        p_nom=inputs.import_limit,
        marginal_cost=frame(inputs.buy_price + steer, imp_names),
    )
    exp_names = [f"{s} export" for s in sites]
    n.add(
        "Generator",
        exp_names,
        bus=sites,
        p_nom=inputs.export_limit,
        p_min_pu=-1.0,
        p_max_pu=0.0,
        marginal_cost=frame(inputs.sell_price + steer, exp_names),
    )
    units = list(inputs.unit_names)
    span = (inputs.soc_max - inputs.soc_min) * inputs.energy  # shifted energy range
    e0 = (inputs.soc_initial - inputs.soc_min) * inputs.energy
    soc_set = np.full((inputs.n_units, T), np.nan)
    soc_set[:, -1] = e0  # e[N] = e[0]
    n.add(
        "StorageUnit",
        units,
        bus=[sites[i] for i in inputs.unit_site],
        p_nom=inputs.power,
        max_hours=span / inputs.power,
        efficiency_store=inputs.eta_charge,
        efficiency_dispatch=inputs.eta_discharge,
        standing_loss=0.0,
        state_of_charge_initial=e0,
        state_of_charge_set=frame(soc_set, units),
        cyclic_state_of_charge=False,
        marginal_cost=inputs.degradation_cost,
        p_min_pu=-1.0,
        p_max_pu=1.0,
    )

    groups = [
        ([exp_names[i] for i in members], float(limit))
        for members, limit in zip(inputs.group_sites, inputs.group_export_limit, strict=True)
        if np.isfinite(limit)
    ]

    def extra(network, snapshots) -> None:
        m = network.model
        p = m.variables["Generator-p"]
        dim = next(d for d in p.dims if d != "snapshot")
        for k, (names, limit) in enumerate(groups):
            # export generators run at p ≤ 0: Σ exp = −Σ p ≤ X[g]
            m.add_constraints(p.sel({dim: names}).sum(dim) >= -limit, name=f"group_export_{k}")

    return n, extra


def route_pypsa(scenario: Path | None, solver_options: dict[str, Any], inputs=None) -> dict:
    """Build the identical LP in PyPSA and solve it with HiGHS through linopy."""
    import logging

    import pypsa

    for name in ("pypsa", "linopy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    t0 = time.perf_counter()
    if inputs is None:
        inputs = load_inputs(scenario)
    t1 = time.perf_counter()
    n, extra = build_pypsa(inputs)
    t2 = time.perf_counter()
    opts = {"output_flag": False, **solver_options}
    n.optimize.create_model(include_objective_constant=False)
    extra(n, n.snapshots)
    t3 = time.perf_counter()
    status, condition = n.optimize.solve_model(
        solver_name="highs", solver_options=opts, progress=False
    )
    t4 = time.perf_counter()
    if status != "ok":
        raise SystemExit(f"PyPSA: solve failed: {status} {condition}")
    highs_seconds = None
    with contextlib.suppress(Exception):  # HiGHS's own run time, where linopy reports it
        highs_seconds = float(n.model.solver.report.runtime)
    objective = float(n.objective) + float(getattr(n, "objective_constant", 0.0) or 0.0)
    return {
        "route": "pypsa",
        "pypsa_version": pypsa.__version__,
        "status": f"{status}/{condition}",
        "objective": objective,
        "load_seconds": t1 - t0,
        "network_seconds": t2 - t1,
        "model_seconds": t3 - t2,
        "solve_seconds": t4 - t3,
        "highs_seconds": highs_seconds,
        "wall_seconds": t4 - t1,  # network + linopy model + solve (load not counted)
        "peak_rss_mib": peak_rss_mib(),
    }


# ============================================================================ driver
def run_route_subprocess(route: str, args: argparse.Namespace, scenario: Path) -> dict:
    """Run one route in a fresh interpreter (own peak RSS); returns its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result_path = Path(fh.name)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--route",
        route,
        "--scenario",
        str(scenario),
        "--out",
        str(args.out),
        "--result-json",
        str(result_path),
    ]
    for item in args.solver_option:
        cmd += ["--solver-option", item]
    if args.no_decompose:
        cmd.append("--no-decompose")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False)
    elapsed = time.perf_counter() - t0
    try:
        if proc.returncode != 0:
            return {"route": route, "error": f"exit status {proc.returncode}"}
        result = json.loads(result_path.read_text())
    finally:
        result_path.unlink(missing_ok=True)
    result["process_seconds"] = elapsed
    return result


def run_route(route: str, scenario: Path, out: Path, options: dict, decompose: bool) -> dict:
    if route == "essdispatch":
        return route_essdispatch(scenario, out / "results", options, decompose)
    if route == "highs":
        return route_highs(scenario, options)
    if route == "highs-baseline":  # the no-storage baseline's LP alone, bare HiGHS
        return {
            **route_highs(None, options, inputs=load_inputs(scenario).without_storage()),
            "route": "highs-baseline",
        }
    if route == "pypsa":
        return route_pypsa(scenario, options)
    raise SystemExit(f"unknown route {route!r}")


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("essdispatch", "numpy", "scipy", "pandas", "pyomo", "highspy", "pypsa", "linopy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "-"
    return out


def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "platform": platform.platform(),
    }


def _fmt(x: Any, spec: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return format(x, spec)


def phase_table(res: dict) -> str:
    """The essdispatch phase table: wall seconds and the peak RSS at the end of each phase."""
    tm, rss = res["timings"], res["rss_by_phase_mib"]
    base = sum(
        tm.get(f"baseline_{k}_seconds", 0.0) for k in ("build", "transfer", "solve", "extract")
    )
    base_other = (
        tm.get("solve_total_seconds", 0.0)
        - base
        - sum(tm.get(f"run_{k}_seconds", 0.0) for k in ("build", "transfer", "solve", "extract"))
    )
    rows = [
        ("load (scenario -> Inputs)", tm.get("load_seconds"), rss.get("load")),
        ("run: build (assemble LP)", tm.get("run_build_seconds"), None),
        ("run: transfer to HiGHS", tm.get("run_transfer_seconds"), None),
        ("run: solve (HiGHS run)", tm.get("run_solve_seconds"), None),
        ("run: extract", tm.get("run_extract_seconds"), rss.get("run")),
        (
            "baseline (build {:.2f} + transfer {:.2f} + solve {:.2f} + extract {:.2f})".format(
                *(
                    tm.get(f"baseline_{k}_seconds", 0.0)
                    for k in ("build", "transfer", "solve", "extract")
                )
            ),
            base,
            rss.get("baseline"),
        ),
        ("rest of solve (subsets, stitch, group check)", base_other, None),
        ("write results", tm.get("write_seconds"), rss.get("write")),
        (
            "rest of run_scenario (lazy imports, checks, summary)",
            tm.get("total_seconds", 0.0)
            - sum(tm.get(k, 0.0) for k in ("load_seconds", "solve_total_seconds", "write_seconds")),
            None,
        ),
        ("total (run_scenario)", tm.get("total_seconds"), res["peak_rss_mib"]),
    ]
    lines = [f"{'phase':<72} {'wall s':>8} {'peak RSS MiB':>13}", "-" * 95]
    for label, sec, mem in rows:
        lines.append(f"{label:<72} {_fmt(sec, '8.2f'):>8} {_fmt(mem, '13.0f'):>13}")
    if res.get("site_seconds"):
        its, site_its = res.get("iterations") or 0, res.get("site_iterations") or 0
        lines.append(
            f"run route phases: per-site {res['site_seconds']:.2f} s wall ({site_its} iterations)"
            f", basis hand-over {res.get('handover_seconds') or 0.0:.2f} s, joint"
            f" {its - site_its} iterations (HiGHS time of the run: per-site + joint"
            f" {tm.get('run_solve_seconds', 0.0):.2f} s)"
        )
    lines.append(
        f"route: run {res.get('solver_route')}, baseline {res.get('baseline_route')}"
        + (f"; {'; '.join(res['notes'])}" if res.get("notes") else "")
    )
    return "\n".join(lines)


def summarize(report: dict) -> dict:
    """The headline numbers of one benchmark run (one row of RESULTS.md)."""
    r = report["routes"]
    ess, hi, py = r.get("essdispatch", {}), r.get("highs", {}), r.get("pypsa", {})
    tm = ess.get("timings", {})
    highs_own = tm.get("run_solve_seconds", 0.0) + tm.get("baseline_solve_seconds", 0.0)
    total = tm.get("total_seconds")
    row = {
        "case": report["case"],
        "sites": report["sites"],
        "periods": report["periods"],
        "group": report["group"],
        "options": report["solver_options"],
        "ess_total_s": total,
        "ess_route": ess.get("solver_route"),
        "ess_highs_s": highs_own if ess else None,
        "ess_overhead_pct": 100 * (total - highs_own) / highs_own if ess and highs_own else None,
        "ess_rss_mib": ess.get("peak_rss_mib"),
        "ess_objective": ess.get("objective"),
        "ess_iterations": ess.get("iterations"),
        "highs_iterations": hi.get("simplex_iterations"),
        "highs_wall_s": hi.get("wall_seconds"),
        "highs_run_s": hi.get("solve_seconds"),
        "highs_rss_mib": hi.get("peak_rss_mib"),
        "highs_objective": hi.get("objective"),
        "pypsa_wall_s": py.get("wall_seconds"),
        "pypsa_rss_mib": py.get("peak_rss_mib"),
        "pypsa_objective": py.get("objective"),
    }
    if ess and py.get("wall_seconds"):
        row["ratio_ess_pypsa"] = total / py["wall_seconds"]
    return row


def comparison_table(report: dict) -> str:
    r = report["routes"]
    lines = [
        f"{'route':<34} {'wall s':>9} {'HiGHS s':>9} {'objective':>20} {'peak RSS MiB':>13}",
        "-" * 89,
    ]
    ess = r.get("essdispatch")
    if ess and "error" not in ess:
        tm = ess["timings"]
        own = tm.get("run_solve_seconds", 0.0) + tm.get("baseline_solve_seconds", 0.0)
        lines.append(
            f"{'essdispatch run (+baseline, write)':<34} {tm['total_seconds']:9.2f} {own:9.2f} "
            f"{ess['objective']:20.6f} {ess['peak_rss_mib']:13.0f}"
        )
        if ess.get("workers_peak_rss_mib"):
            lines.append(
                f"  (+ per-site worker processes, each up to {ess['workers_peak_rss_mib']:.0f} MiB)"
            )
    hi = r.get("highs")
    if hi and "error" not in hi:
        lines.append(
            f"{'bare HiGHS (joint LP, run only)':<34} {hi['wall_seconds']:9.2f} "
            f"{hi['solve_seconds']:9.2f} {hi['objective']:20.6f} {hi['peak_rss_mib']:13.0f}"
        )
    hb = r.get("highs-baseline")
    if hb and "error" not in hb:
        lines.append(
            f"{'bare HiGHS, baseline LP only':<34} {hb['wall_seconds']:9.2f} "
            f"{hb['solve_seconds']:9.2f} {hb['objective']:20.6f} {hb['peak_rss_mib']:13.0f}"
        )
    py = r.get("pypsa")
    if py and "error" not in py:
        lines.append(
            f"{'PyPSA ' + py['pypsa_version'] + ' (run only)':<34} {py['wall_seconds']:9.2f} "
            f"{_fmt(py['highs_seconds'], '9.2f'):>9} {py['objective']:20.6f} "
            f"{py['peak_rss_mib']:13.0f}"
        )
    for name, res in r.items():
        if "error" in res:
            lines.append(f"{name:<34} FAILED: {res['error']}")
    ok = {k: v for k, v in r.items() if "error" not in v}
    if "essdispatch" in ok:
        ref = ok["essdispatch"]["objective"]
        for other in ("highs", "pypsa"):
            if other in ok:
                d = rel_diff(ref, ok[other]["objective"])
                verdict = "OK" if d <= REL_TOL else "MISMATCH"
                lines.append(f"objective essdispatch vs {other}: rel diff {d:.2e} ({verdict})")
        if "highs" in ok:
            e, hb = ok["essdispatch"], ok["highs"]
            lines.append(
                f"essdispatch end to end / bare cold HiGHS run: "
                f"{e['timings']['total_seconds'] / hb['solve_seconds']:.2f}"
                f"   simplex iterations: essdispatch run {_fmt(e.get('iterations'), 'd')}"
                f" (per-site {_fmt(e.get('site_iterations'), 'd')}), bare HiGHS"
                f" {_fmt(hb.get('simplex_iterations'), 'd')}"
            )
        if "pypsa" in ok:
            e, p = ok["essdispatch"], ok["pypsa"]
            lines.append(
                f"essdispatch / PyPSA wall: {e['timings']['total_seconds'] / p['wall_seconds']:.2f}"
                f"   peak RSS: {e['peak_rss_mib'] / p['peak_rss_mib']:.2f}"
                f"   (PyPSA: network {p['network_seconds']:.2f} s, linopy model "
                f"{p['model_seconds']:.2f} s, solve {p['solve_seconds']:.2f} s)"
            )
        e = ok["essdispatch"]["timings"]
        own = e.get("run_solve_seconds", 0.0) + e.get("baseline_solve_seconds", 0.0)
        if own > 0:
            lines.append(
                f"essdispatch modelling overhead: {e['total_seconds'] - own:.2f} s = "
                f"{100 * (e['total_seconds'] - own) / own:.0f} % of its HiGHS time {own:.2f} s"
            )
    return "\n".join(lines)


def markdown_table(reports: list[dict]) -> str:
    head = (
        "| case | essdispatch s (route) | its HiGHS s | overhead % | RSS MiB "
        "| bare HiGHS s (run) | RSS MiB | PyPSA s | RSS MiB | ess/PyPSA | objective | max rel diff |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [head]
    for rep in reports:
        s = summarize(rep)
        objs = [
            s[k]
            for k in ("ess_objective", "highs_objective", "pypsa_objective")
            if s[k] is not None
        ]
        diff = max((rel_diff(objs[0], o) for o in objs[1:]), default=0.0) if objs else None
        opts = " ".join(f"{k}={v}" for k, v in s["options"].items())
        case = s["case"] + (f" [{opts}]" if opts else "")
        route = (s["ess_route"] or "-").replace(" (group limit binds without storage)", "")
        rows.append(
            f"| {case} | {_fmt(s['ess_total_s'])} ({route}) | {_fmt(s['ess_highs_s'])} "
            f"| {_fmt(s['ess_overhead_pct'], '.0f')} | {_fmt(s['ess_rss_mib'], '.0f')} "
            f"| {_fmt(s['highs_wall_s'])} ({_fmt(s['highs_run_s'])}) | {_fmt(s['highs_rss_mib'], '.0f')} "
            f"| {_fmt(s['pypsa_wall_s'])} | {_fmt(s['pypsa_rss_mib'], '.0f')} "
            f"| {_fmt(s.get('ratio_ess_pypsa'))} | {_fmt(objs[0] if objs else None, '.1f')} "
            f"| {_fmt(diff, '.1e')} |"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, default=20, help="number of PV sites (default 20)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--days", type=int, help="horizon in days from 2025-06-01")
    length.add_argument("--year", action="store_true", help="calendar year 2025 (default)")
    p.add_argument("--resolution", default="60min", choices=sorted(RESOLUTIONS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-group", action="store_true", help="omit the fleet-wide export limit")
    p.add_argument("--against", choices=["pypsa"], help="also build and solve the LP in PyPSA")
    p.add_argument(
        "--routes",
        help="comma-separated routes to run (essdispatch,highs,pypsa,highs-baseline); "
        "default essdispatch,highs (+pypsa with --against pypsa)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument(
        "--solver-option",
        action="append",
        default=[],
        metavar="K=V",
        help="HiGHS option for every route, e.g. solver=ipm (repeatable)",
    )
    p.add_argument("--no-decompose", action="store_true", help="essdispatch: joint problem only")
    p.add_argument(
        "--in-process", action="store_true", help="run routes in this process (RSS mixes)"
    )
    p.add_argument(
        "--table", type=Path, metavar="DIR", help="print the markdown table of DIR/*.json"
    )
    # internal: one route in a child process
    p.add_argument("--route", help=argparse.SUPPRESS)
    p.add_argument("--scenario", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result-json", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def benchmark(args: argparse.Namespace) -> dict:
    """Generate the fleet, run every route, print the tables; returns the report."""
    options = parse_solver_options(args.solver_option)
    t0 = time.perf_counter()
    fleet = make_fleet(
        args.sites,
        None if args.days is None else args.days,
        args.resolution,
        args.seed,
        group=not args.no_group,
    )
    scenario = write_scenario(fleet, args.out / "scenarios")
    gen_seconds = time.perf_counter() - t0
    print(
        f"scenario {scenario} ({fleet.n_sites} sites × {fleet.n_periods} periods of "
        f"{fleet.resolution}, group limit "
        f"{'none' if fleet.group_export_limit is None else f'{fleet.group_export_limit:g} MW'}; "
        f"generated in {gen_seconds:.1f} s)",
        flush=True,
    )
    if args.routes:
        routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    else:
        routes = ["essdispatch", "highs"] + (["pypsa"] if args.against == "pypsa" else [])
    results: dict[str, dict] = {}
    for route in routes:  # one at a time: never two big solves in parallel
        print(f"... {route}", flush=True)
        if args.in_process:
            results[route] = run_route(route, scenario, args.out, options, not args.no_decompose)
        else:
            results[route] = run_route_subprocess(route, args, scenario)
    report = {
        "case": f"{fleet.n_sites}×{fleet.n_periods}"
        + ("" if fleet.group_export_limit else " no group"),
        "scenario": str(scenario),
        "sites": fleet.n_sites,
        "periods": fleet.n_periods,
        "resolution": fleet.resolution,
        "group": fleet.group_export_limit is not None,
        "seed": args.seed,
        "decompose": not args.no_decompose,
        "solver_options": options,
        "routes": results,
        "versions": versions(),
        "machine": machine(),
        "when": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    }
    tag = "-".join(f"{k}_{v}" for k, v in options.items())
    path = (
        args.out
        / f"{fleet.name}{'-' + tag if tag else ''}{'-joint' if args.no_decompose else ''}.json"
    )
    if args.routes and path.exists():  # a partial re-run: keep the other routes' results
        earlier = json.loads(path.read_text(encoding="utf-8"))
        report["routes"] = {**earlier.get("routes", {}), **results}
    ess = report["routes"].get("essdispatch")
    if ess and "error" not in ess:
        print()
        print(phase_table(ess))
    print()
    print(comparison_table(report))
    path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nreport: {path}")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table:
        reports = [json.loads(p.read_text()) for p in sorted(args.table.glob("*.json"))]
        # the main table: default solver options (sweeps have their own reports)
        reports = [
            r
            for r in reports
            if not r.get("solver_options") and {"essdispatch", "highs", "pypsa"} & set(r["routes"])
        ]
        reports.sort(key=lambda r: (r["periods"] * r["sites"], r["sites"], not r["group"]))
        print(markdown_table(reports))
        return 0
    if args.route:  # child process: one route, result as JSON
        load_before = os.getloadavg()[0]
        result = run_route(
            args.route,
            args.scenario,
            args.out,
            parse_solver_options(args.solver_option),
            not args.no_decompose,
        )
        result["loadavg_1min"] = [load_before, os.getloadavg()[0]]  # others' work inflates times
        args.result_json.write_text(json.dumps(result, default=str), encoding="utf-8")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    report = benchmark(args)
    failed = [k for k, v in report["routes"].items() if "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
