"""Record or check the figures of every scenario in scenarios/ (issue 11: same figures to 1e-9).

    python benchmarks/scenario_figures.py record benchmarks/scenario_figures_main.json
    python benchmarks/scenario_figures.py check benchmarks/scenario_figures_main.json

``record`` solves each scenario (nothing written) and stores every number of
summary.json except timings, solver statistics, versions and hashes; ``check``
solves again and compares each number to 1e-9 relative (absolute 1e-6 near 0).
Run by hand: the year scenarios take minutes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

SKIP = {"timings", "solver", "essdispatch_version", "scenario", "warnings", "windows"}
ROOT = Path(__file__).resolve().parents[1]


def flatten(obj, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not prefix and k in SKIP:
                continue
            out.update(flatten(v, f"{prefix}{k}/"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}/"))
    elif isinstance(obj, bool) or obj is None or isinstance(obj, str):
        pass
    elif isinstance(obj, int | float):
        out[prefix.rstrip("/")] = float(obj)
    return out


def figures_of(path: Path) -> dict[str, float]:
    from essdispatch.run import run_scenario

    return flatten(run_scenario(path, out=None).summary)


def main(argv: list[str]) -> int:
    mode, file = argv[1], Path(argv[2])
    only = argv[3:]
    scenarios = sorted((ROOT / "scenarios").glob("*.yaml"))
    if only:
        scenarios = [p for p in scenarios if any(o in p.name for o in only)]
    if mode == "record":
        data = json.loads(file.read_text()) if file.exists() else {}
        for p in scenarios:
            print("recording", p.name, flush=True)
            data[p.name] = figures_of(p)
            file.write_text(json.dumps(data, indent=1, sort_keys=True))
        return 0
    ref = json.loads(file.read_text())
    bad = 0
    for p in scenarios:
        if p.name not in ref:
            print("no reference for", p.name)
            continue
        got = figures_of(p)
        worst = 0.0
        for key, want in ref[p.name].items():
            have = got.get(key)
            if have is None:
                print(f"{p.name}: {key} missing")
                bad += 1
                continue
            err = abs(have - want) / abs(want) if want else abs(have)
            if not math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-6):
                print(f"{p.name}: {key} {have!r} != {want!r}")
                bad += 1
            worst = max(worst, err)
        print(f"{p.name}: {len(ref[p.name])} numbers, worst relative difference {worst:.2e}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
