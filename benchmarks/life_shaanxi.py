"""Issue 17 figures: the Shaanxi fleet week with linear vs depth-aware ageing cost.

Writes three variants of scenarios/shaanxi-fleet-1100mwh-week.yaml next to it (every unit
inherits the ``ageing:`` block of the container anchor) and runs each:

* ``linear68``   the scenario as it is (degradation_cost 68 CNY/MWh) + life assessment;
* ``linear-eq``  linear cost at the preset curve's full-depth equivalent, same R;
* ``depth``      cost: depth_aware, 10 segments, R = 465 CNY/kWh (the CEEC June 2025 2-hour
                 system price the scenario cites, §4 H: an upper bound for cell replacement).

Usage: python benchmarks/life_shaanxi.py OUT_DIR [week|year]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
R_PER_KWH = 465.0


def variant(text: str, name: str, block: str, degradation: str) -> str:
    anchor = "        degradation_cost: 68\n"
    assert anchor in text
    return text.replace(
        anchor, f"        degradation_cost: {degradation}\n        ageing: {block}\n", 1
    )


def main() -> None:
    from essdispatch.model.ageing import phi_of
    from essdispatch.scenario.ageing_keys import AgeingSpec

    out = Path(sys.argv[1])
    which = sys.argv[2] if len(sys.argv) > 2 else "week"
    src = ROOT / "scenarios" / f"shaanxi-fleet-1100mwh-{which}.yaml"
    text = src.read_text(encoding="utf-8")
    spec = AgeingSpec(cost="depth_aware", replacement_cost_per_kwh=R_PER_KWH)
    phi1 = float(phi_of(spec)(1.0))
    eq = 1000 * R_PER_KWH * phi1 / (0.945 * 0.9)
    common = f"replacement_cost_per_kwh: {R_PER_KWH:g}"
    variants = {
        "linear68": variant(text, "linear68", f"{{cost: linear, {common}}}", "68"),
        "linear-eq": variant(text, "linear-eq", f"{{cost: linear, {common}}}", f"{eq:.4f}"),
        "depth": variant(text, "depth", f"{{cost: depth_aware, segments: 10, {common}}}", "0"),
    }
    from essdispatch.run import run_scenario

    table = {"equivalent_linear_cost_per_mwh": eq, "cycles_to_eol_full_depth": 1 / phi1}
    for key, body in variants.items():
        path = src.with_name(f"_life-{key}-{which}.yaml")
        path.write_text(
            body.replace(f"name: shaanxi-fleet-1100mwh-{which}", f"name: life-{key}-{which}", 1),
            encoding="utf-8",
        )
        t0 = time.perf_counter()
        try:
            outcome = run_scenario(path, out=out)
        finally:
            path.unlink()
        wall = time.perf_counter() - t0
        s = outcome.summary
        table[key] = {
            "wall_s": wall,
            "solve_s": s["timings"]["run_solve_seconds"],
            "life_s": s["timings"].get("life_seconds"),
            "variables": s["solver"].get("variables"),
            "constraints": s["solver"].get("constraints"),
            "savings": s["savings"],
            "cash_savings": s["cash_savings"],
            "degradation_cost": s["degradation_cost"],
            "cycles": s["equivalent_full_cycles"],
            "life": {
                u: {
                    k: v.get("assessment", {}).get(k)
                    for k in (
                        "fade_per_year",
                        "end_of_life_year",
                        "soh_end_of_horizon",
                        "rainflow_mean_depth",
                    )
                }
                | {"lp_vs_assessed_cycle_fade": v.get("lp_vs_assessed_cycle_fade")}
                for u, v in s["life"].items()
            },
        }
        print(key, json.dumps({k: table[key][k] for k in ("wall_s", "solve_s", "savings")}))
    (out / f"life-{which}.json").write_text(json.dumps(table, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
