"""Rolling-horizon benchmark: a year hourly, daily windows + 24 h lookahead, a 20-site fleet.

Run by hand (not by the test suite)::

    python benchmarks/rolling_year.py [--sites 20] [--days 365] [--no-rebuild]

Prints the wall time of the perfect-foresight solve, of the rolling simulation
with HiGHS model reuse (change data, warm start) and without (a new model each
window), and the value of foresight.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from essdispatch.base.inputs import Inputs, default_voll
from essdispatch.operate.rolling import build_forecasts, parse_operation, run_rolling
from essdispatch.solve.dispatch import solve_dispatch


def fleet(n_sites: int = 20, days: int = 365, seed: int = 0) -> Inputs:
    """A synthetic fleet: PV with seasons and clouds, TOU-like prices with noise, 1-2 units/site."""
    rng = np.random.default_rng(seed)
    T = 24 * days
    index = pd.date_range("2026-01-01", periods=T, freq="1h", tz="Asia/Shanghai")
    hour = index.hour.to_numpy()
    doy = index.day_of_year.to_numpy()
    shape = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    season = 0.75 + 0.25 * np.sin((doy - 80) / 365 * 2 * np.pi)
    cap = rng.uniform(50, 200, n_sites)
    clouds = np.clip(rng.beta(5, 2, (n_sites, days)), 0.1, 1).repeat(24, axis=1)
    pv = cap[:, None] * shape * season * clouds
    load = rng.uniform(0, 20, n_sites)[:, None] * (1 + 0.3 * np.sin(hour / 24 * 2 * np.pi))
    base = np.where((hour >= 8) & (hour < 11) | (hour >= 17) & (hour < 23), 900.0, 500.0)
    base = np.where((hour >= 23) | (hour < 7), 250.0, base)
    buy = np.broadcast_to(base + rng.normal(0, 40, T), (n_sites, T)).copy()
    sell = 0.8 * buy
    units_per_site = rng.integers(1, 3, n_sites)
    unit_site = np.repeat(np.arange(n_sites), units_per_site)
    B = unit_site.size
    power = rng.uniform(10, 50, B)
    return Inputs(
        name="bench",
        index=index,
        dt_h=1.0,
        currency="CNY",
        carbon_price=0.0,
        steer_by="average",
        exclusive=False,
        voll=default_voll(buy),
        site_names=tuple(f"site{s}" for s in range(n_sites)),
        pv=pv,
        load=load,
        buy_price=buy,
        sell_price=sell,
        carbon={"average": np.full((n_sites, T), 0.58)},
        export_limit=0.8 * cap,
        import_limit=np.full(n_sites, 30.0),
        unit_names=tuple(f"u{b}" for b in range(B)),
        unit_site=unit_site,
        count=np.ones(B, dtype=np.int64),
        power=power,
        charge_power=power,
        energy=power * rng.choice([2.0, 4.0], B),
        eta_charge=np.full(B, 0.95),
        eta_discharge=np.full(B, 0.95),
        self_discharge=np.zeros(B),
        soc_min=np.full(B, 0.05),
        soc_max=np.full(B, 0.95),
        soc_initial=np.full(B, 0.5),
        availability=np.ones((B, T)),
        degradation_cost=np.full(B, 20.0),
        grid_charging=rng.random(B) < 0.5,
        aux=np.zeros(B),
        terminal=("at_least_initial",) * B,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--no-rebuild", action="store_true")
    parser.add_argument("--terminal-value", default="perfect_foresight")
    args = parser.parse_args()
    inputs = fleet(args.sites, args.days)
    tv = args.terminal_value
    spec = parse_operation(
        {
            "mode": "rolling",
            "window": "24h",
            "lookahead": "24h",
            "terminal_value": float(tv) if tv.replace(".", "").isdigit() else tv,
            "forecast": {
                "solar": {"error": {"model": "ar1", "sd": 0.15, "rho": 0.8, "seed": 7}},
                "price": {"error": {"model": "ar1", "sd": 0.1, "rho": 0.7, "seed": 8}},
            },
        }
    )
    print(f"{inputs.n_sites} sites, {inputs.n_units} units, {inputs.n_periods} periods")
    t0 = time.perf_counter()
    pf, _ = solve_dispatch(inputs)
    print(f"perfect foresight (per-site): {time.perf_counter() - t0:.1f} s")
    forecasts = build_forecasts(inputs, spec)
    for reuse in (True,) if args.no_rebuild else (True, False):
        t0 = time.perf_counter()
        result, stats = run_rolling(inputs, spec, forecasts, progress=True, reuse=reuse)
        wall = time.perf_counter() - t0
        s = stats.summary(per_window=False)
        print(
            f"rolling reuse={reuse}: {wall:.1f} s wall ({s['count']} windows; plan build "
            f"{s['build_seconds_total']:.1f} s, plan solve {s['solve_seconds_total']:.1f} s "
            f"(max {s['solve_seconds_max']:.3f}), settle {s['settle_seconds_total']:.1f} s, "
            f"terminal value {s['terminal_value_seconds']:.1f} s); "
            f"value of foresight {result.objective - pf.objective:,.0f} "
            f"({(result.objective - pf.objective) / abs(pf.objective):.2%}); "
            f"deviation {s['deviation_mwh']:.1f} MWh"
        )


if __name__ == "__main__":
    main()
