"""Genuine results folders for the compare / plots / report tests.

Two ways, both real solves: :func:`fleet_scenario` writes a small two-site YAML
scenario (run with :func:`essdispatch.run.run_scenario`), and :func:`write_run`
builds a one-site problem with :func:`essdispatch.testing.make_inputs` and writes
it with the pieces of ``run_scenario`` (``solve_pair``, ``build_summary``,
``write_results``) — for runs that differ in currency, horizon or resolution.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from essdispatch.results.folder import write_results
from essdispatch.results.summary_doc import build_summary
from essdispatch.run import check_result
from essdispatch.solve.pair import solve_pair
from essdispatch.testing import make_inputs

PV_SHAPE = "[0, 0, 0, 0, 0, 0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.9, 0.8, 0.6, 0.4, 0.2, 0.05, 0, 0, 0, 0, 0]"
LOAD_SHAPE = "[12, 12, 12, 12, 12, 14, 18, 24, 28, 30, 30, 28, 26, 30, 30, 30, 28, 26, 22, 18, 16, 14, 13, 12]"
AVERAGE = "[0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.58, 0.55, 0.50, 0.45, 0.42, 0.40, 0.40, 0.42, 0.45, 0.50, 0.55, 0.60, 0.65, 0.68, 0.68, 0.66, 0.63, 0.61]"
MARGINAL = "[0.80, 0.80, 0.80, 0.80, 0.80, 0.80, 0.79, 0.78, 0.76, 0.74, 0.72, 0.70, 0.70, 0.71, 0.73, 0.75, 0.78, 0.82, 0.86, 0.90, 0.90, 0.88, 0.85, 0.82]"

#: description with characters that must be escaped in HTML
DESCRIPTION = 'Two sites <one with "load"> & a shared tie'


def fleet_scenario(folder: Path, name: str, carbon_price: float, soc_initial: float = 0.5) -> Path:
    """A two-site, two-day hourly scenario file (SCENARIOS.md format)."""
    text = f"""\
name: {name}
description: '{DESCRIPTION}'
horizon: {{start: 2026-06-01 00:00, end: 2026-06-03 00:00, resolution: 60min, timezone: Asia/Shanghai}}
objective: {{carbon_price: {carbon_price}}}
signals:
  buy_price: {{tou: {{periods: {{peak: 910, flat: 505, valley: 210}}, hours: {{peak: [[18, 22]], valley: [[0, 7]]}}, default: flat}}}}
  sell_price: {{tou: {{periods: {{peak: 700, flat: 380, valley: 150}}, hours: {{peak: [[18, 22]], valley: [[0, 7]]}}, default: flat}}}}
  carbon:
    average: {{hourly: {AVERAGE}}}
    marginal: {{hourly: {MARGINAL}}}
sites:
  - name: pv-north
    solar: {{capacity_mw: 100, profile: {{hourly: {PV_SHAPE}}}}}
    grid: {{export_limit_mw: 60}}
    storage:
      - {{name: north-bess, power_mw: 25, energy_mwh: 50, charge_efficiency: 0.94,
         discharge_efficiency: 0.94, degradation_cost: 20, grid_charging: false, soc_initial: {soc_initial}}}
  - name: factory
    solar: {{capacity_mw: 40, profile: {{hourly: {PV_SHAPE}}}}}
    grid: {{export_limit_mw: 30, import_limit_mw: 40}}
    load: {{hourly: {LOAD_SHAPE}}}
    storage:
      - {{name: factory-bess, power_mw: 5, energy_mwh: 10, count: 2, charge_efficiency: 0.95,
         discharge_efficiency: 0.9, degradation_cost: 15}}
"""
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_run(
    out: Path,
    name: str,
    *,
    carbon_price: float = 0.0,
    currency: str = "CNY",
    start: str = "2026-06-01 00:00",
    dt_h: float = 1.0,
    hours: int = 48,
) -> Path:
    """A one-site run (solar, load, two units) solved and written as a results folder."""
    n = int(round(hours / dt_h))
    hour = (np.arange(n) * dt_h) % 24
    pv = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 100
    buy = 300 + 200 * np.cos((hour - 19) / 24 * 2 * np.pi) + 0.1 * hour
    inputs = make_inputs(
        pv,
        buy,
        0.8 * buy,
        load=20.0,
        carbon=0.6,
        marginal=0.8 + 0.001 * hour,
        carbon_price=carbon_price,
        export_limit=60,
        dt_h=dt_h,
        start=start,
        units=[
            dict(
                name="bess-a",
                power_mw=20,
                energy_mwh=40,
                charge_efficiency=0.95,
                discharge_efficiency=0.95,
                degradation_cost=5,
            ),
            dict(
                name="bess-b",
                power_mw=10,
                energy_mwh=40,
                charge_efficiency=0.9,
                discharge_efficiency=0.9,
                degradation_cost=3,
            ),
        ],
    )
    inputs = dataclasses.replace(inputs, name=name, currency=currency)
    run, run_stats, base, base_stats = solve_pair(inputs)
    check_result(run, "run")
    check_result(base, "baseline")
    text = f"name: {name}\ncurrency: {currency}\nobjective: {{carbon_price: {carbon_price}}}\n"
    info = {"name": name, "sha256": "0" * 64, "file": f"{name}.yaml"}
    summary = build_summary(info, inputs, run, run_stats, base, base_stats, {})
    return write_results(out, name, summary, run, base, text)


def read_summary(folder: Path) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
