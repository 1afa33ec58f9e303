#!/usr/bin/env python
"""Warm starts across sweep cases (issue 12, item 3): a carbon-price × duration sweep of the
synthetic fleet of ``fleet_year.py``, run twice in this process (inline), once with warm
starts (the default: per-site bases, the joint solve from them, cases from the bases of
earlier cases) and once cold (``SolverOptions(warm_start=False)``). Prints simplex
iterations and wall time of each, and the largest relative difference of any figure.

    python benchmarks/sweep_warm.py --sites 20 --days 91
    python benchmarks/sweep_warm.py --sites 20            # the calendar year (slow cold)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_year import make_fleet, write_scenario  # noqa: E402

SWEEP = """\
name: fleet-warm
base: {base}
grid:
  objective.carbon_price: [0, 100, 300, 1000]
  sites[*].storage[*].energy_mwh: {{scale: [0.5, 1, 2]}}
"""


def run(path: Path, warm: bool) -> tuple[float, int, int, dict[str, dict]]:
    from essdispatch.solve.highs import SolverOptions
    from essdispatch.sweeps.sweep import run_sweep
    from essdispatch.sweeps.sweep_index import flatten_figures

    out = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    run_sweep(path, out, inline=True, progress=True, options=SolverOptions(warm_start=warm))
    wall = time.perf_counter() - t0
    iterations = reused = 0
    figures = {}
    for f in sorted((out / "sweeps" / "fleet-warm" / "cases").glob("*/summary.json")):
        s = json.loads(f.read_text())
        iterations += s["solver"]["iterations"] + s["solver"]["baseline"]["iterations"]
        reused += s["solver"].get("reused_bases", 0)
        figures[f.parent.name] = flatten_figures(s)
    return wall, iterations, reused, figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, default=20)
    p.add_argument("--days", type=int, default=None, help="horizon in days (default: a year)")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp())
    base = write_scenario(make_fleet(args.sites, args.days), folder)
    sweep = folder / "sweep.yaml"
    sweep.write_text(SWEEP.format(base=base.name), encoding="utf-8")
    results = {}
    for warm in (True, False):
        wall, its, reused, figs = run(sweep, warm)
        results[warm] = figs
        print(
            f"warm starts {'on ' if warm else 'off'}: {len(figs)} cases, {wall:8.1f} s, "
            f"{its:>9,} simplex iterations, {reused} solves started from an earlier basis",
            flush=True,
        )
    worst, where = 0.0, None
    for case, figs in results[True].items():
        for key, value in figs.items():
            if key.startswith("solver."):
                continue
            other = results[False][case][key]
            diff = abs(value - other) / max(1.0, abs(other))
            if diff > worst:
                worst, where = diff, (case, key)
    print(f"largest relative difference of a figure, warm vs cold: {worst:.2e} {where or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
