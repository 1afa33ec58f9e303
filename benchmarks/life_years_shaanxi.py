"""Issue 17 (left open) figures: state of health over the project years on the Shaanxi fleet
week with depth-aware ageing, re-solved year by year (``redispatch_years: sequential``)
against the year-1 trajectory (``true``: re-solved at year 1's assessed fade; and the
default, value scaled by capacity).

Writes variants of scenarios/shaanxi-fleet-1100mwh-week.yaml next to it (every unit inherits
the ``ageing:`` block of the container anchor: cost depth_aware, 10 segments, R = 465
CNY/kWh, the CEEC June 2025 2-hour system price the scenario cites, DATA_SOURCES.md §4 H)
with an ``economics:`` block (15 years, 6 % as scenarios/yulin-pv-curtailing-sized-week.yaml;
capex 465 CNY/kWh, the same price) and runs each.

Usage: python benchmarks/life_years_shaanxi.py OUT_DIR [week|year]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
R_PER_KWH = 465.0
ECONOMICS = """
economics:
  lifetime_years: 15
  discount_rate: 0.06
  capex_per_kwh: 465
life:
  redispatch_years: {mode}
"""


def main() -> None:
    out = Path(sys.argv[1])
    which = sys.argv[2] if len(sys.argv) > 2 else "week"
    src = ROOT / "scenarios" / f"shaanxi-fleet-1100mwh-{which}.yaml"
    text = src.read_text(encoding="utf-8")
    anchor = "        degradation_cost: 68\n"
    assert anchor in text
    block = f"{{cost: depth_aware, segments: 10, replacement_cost_per_kwh: {R_PER_KWH:g}}}"
    text = text.replace(anchor, f"        degradation_cost: 0\n        ageing: {block}\n", 1)
    from essdispatch.run import run_scenario

    table: dict = {}
    for mode in ("sequential", "true"):
        body = text.replace(
            f"name: shaanxi-fleet-1100mwh-{which}", f"name: life-years-{mode}-{which}", 1
        ) + ECONOMICS.format(mode=mode)
        path = src.with_name(f"_life-years-{mode}-{which}.yaml")
        path.write_text(body, encoding="utf-8")
        t0 = time.perf_counter()
        try:
            outcome = run_scenario(path, out=out)
        finally:
            path.unlink()
        wall = time.perf_counter() - t0
        s = outcome.summary
        fin = s["finance"]["with_assessed_fade"]
        table[mode] = {
            "wall_s": wall,
            "solve_s": s["timings"]["run_solve_seconds"],
            "life_s": s["timings"].get("life_seconds"),
            "finance_npv_economics_block": s["finance"].get("npv"),
            "with_assessed_fade": fin,
            "assessed_soh_by_year": {
                u: v.get("assessment", {}).get("soh_by_year") for u, v in s["life"].items()
            },
            "cycles": s["equivalent_full_cycles"],
        }
        print(mode, json.dumps({"wall_s": wall, "npv": fin.get("npv")}), flush=True)
    (out / f"life-years-{which}.json").write_text(json.dumps(table, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
