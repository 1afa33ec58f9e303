#!/usr/bin/env python
"""How much the carbon price moves dispatch on flat vs modelled hourly carbon signals (issue 13).

Runs an example fleet scenario on its flat factors (``shaanxi-fleet-1100mwh-week.yaml``) and on
the modelled hourly signals (``...-week-hourly.yaml``) at several carbon prices, and prints, per
run: the dispatch moved against λ = 0 on the same signals (MWh moved, hours changed), emissions
displaced per series with the three-way split, the 24/7 carbon-free shares, and the calibration
of the modelled presets against their targets. Run by hand::

    python benchmarks/carbon_signals.py                     # the fleet week, λ = 0, 100, 300
    python benchmarks/carbon_signals.py --year --prices 0 100 300
    python benchmarks/carbon_signals.py --start 2026-11-09        # a week the grid curtails

"MWh moved" is ``Σ_t |Δ(ch − dis)| Δt / 2`` summed over the units (energy moved between hours,
counted once); "hours changed" counts the periods in which the fleet's net storage power differs
by more than 0.1 MW.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from essdispatch.results.stored_carbon import carbon_accounting
from essdispatch.scenario.grid_model import grid_year
from essdispatch.scenario.load import prepare_inputs, scenario_from_dict
from essdispatch.solve.pair import solve_pair

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def solve(path: Path, price: float, start: str | None = None) -> tuple[object, object, dict, float]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["objective"]["carbon_price"] = price
    if start is not None:  # the same week length from another start (e.g. a curtailing month)
        begin = pd.Timestamp(start)
        length = pd.Timestamp(data["horizon"]["end"]) - pd.Timestamp(data["horizon"]["start"])
        data["horizon"]["start"] = begin.strftime("%Y-%m-%d %H:%M")
        data["horizon"]["end"] = (begin + length).strftime("%Y-%m-%d %H:%M")
    inputs = prepare_inputs(scenario_from_dict(data, path.parent, file=str(path)))
    t0 = time.perf_counter()
    run, _, base, _ = solve_pair(inputs)
    return run, base, carbon_accounting(run, base), time.perf_counter() - t0


def moved(a: object, b: object) -> tuple[float, int]:
    dt = a.inputs.dt_h  # type: ignore[attr-defined]
    net_a = a.ch - a.dis  # type: ignore[attr-defined]
    net_b = b.ch - b.dis  # type: ignore[attr-defined]
    mwh = float(np.abs(net_a - net_b).sum() * dt / 2)
    hours = int((np.abs(net_a.sum(axis=0) - net_b.sum(axis=0)) > 0.1).sum())
    return mwh, hours


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", action="store_true", help="the 2026 year files instead of the week")
    ap.add_argument("--prices", type=float, nargs="+", default=[0.0, 100.0, 300.0])
    ap.add_argument("--start", help="move the week to start here, e.g. 2026-11-09 (week only)")
    args = ap.parse_args()
    span = "year" if args.year else "week"
    files = {
        "flat": SCENARIOS / f"shaanxi-fleet-1100mwh-{span}.yaml",
        "hourly": SCENARIOS / f"shaanxi-fleet-1100mwh-{span}-hourly.yaml",
    }
    for label, path in files.items():
        ref = None
        for price in args.prices:
            run, base, acc, seconds = solve(path, price, None if args.year else args.start)
            if ref is None:
                ref = run
            mwh, hours = moved(run, ref)
            f = run.figures  # type: ignore[attr-defined]
            disp = {
                k: base.figures["emissions_tco2"][k] - v  # type: ignore[attr-defined]
                for k, v in f["emissions_tco2"].items()
            }
            print(
                f"{label:6s} {span} λ={price:6.0f}: solve {seconds:6.1f} s; moved {mwh:9.1f} MWh"
                f" in {hours:4d} h vs λ={args.prices[0]:g}; charge {f['charge_mwh']:9.1f} MWh"
                f" (grid {f['grid_charge_mwh']:8.1f}); cost {f['total_cost']:,.0f}"
            )
            for k, v in disp.items():
                split = acc["emissions_displaced_split_tco2"][k]
                parts = ", ".join(f"{p} {x:+,.1f}" for p, x in split.items())
                print(f"         displaced ({k}) {v:+,.1f} tCO2 = {parts}")
            for site, s in acc["carbon_free_247"].items():
                print(
                    f"         24/7 {site}: run {100 * s['run']:.1f} % baseline"
                    f" {100 * s['baseline']:.1f} % ({acc['carbon_free_247_grid_basis']})"
                )
    for region in ("shaanxi", "jiangxi", "northwest", "central"):
        cal = grid_year(region, 7, 2026).calibration()
        print(
            f"calibration {region:9s} seed 7 2026: average {cal['average_annual_tco2_per_mwh']:.4f}"
            f" (target {cal['average_target_tco2_per_mwh']:.4f}; simple mean"
            f" {cal['average_simple_mean_tco2_per_mwh']:.4f}); curtailed"
            f" {100 * cal['curtailment_share']:.2f} % (target {100 * cal['curtailment_target']:.2f} %)"
            f" in {cal['curtailed_hours']} h; floor {cal['floor_fraction']:.3f}; scale"
            f" {cal['accounting_scale']:.3f}; marginal mean {cal['marginal_mean_tco2_per_mwh']:.3f};"
            f" carbon-free {cal['carbon_free_share_energy_weighted']:.3f}"
        )


if __name__ == "__main__":
    main()
