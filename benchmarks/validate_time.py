#!/usr/bin/env python
"""Wall time of ``essdispatch validate`` per week scenario (issue 15, item 3: under a second).

Each measurement is one fresh Python process running the installed console script (its
interpreter, not a shell shim), timed from the parent; the figure is the median of
``--repeat`` runs (default 5), wall seconds and (in brackets) the CPU seconds of the process,
which a busy machine inflates less. Two figures per scenario:

- **warm**: the disk cache of computed profiles (``$ESSDISPATCH_CACHE_DIR``, a folder of this
  benchmark) filled by one untimed run first, as on the second validate of a file;
- **cold**: every run with a new, empty cache folder (the first validate after the cache is
  cleared).

    python benchmarks/validate_time.py                        # scenarios/*week*.yaml + tie day
    python benchmarks/validate_time.py --repeat 9 scenarios/shaanxi-fleet-1100mwh-week.yaml
    python benchmarks/validate_time.py --import-floor        # + `python -c "import pandas"` etc.

The user's own cache (``~/.cache/essdispatch``) is neither read nor written.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = sorted(ROOT.glob("scenarios/*week*.yaml")) + [
    ROOT / "scenarios" / "two-sites-shared-tie-day.yaml"
]


def command() -> list[str]:
    """The console script next to this interpreter, else ``python -m essdispatch.cli``."""
    script = Path(sysconfig.get_path("scripts")) / "essdispatch"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "essdispatch.cli"]


#: CPU seconds (user + system) of the last process :func:`timed` ran
LAST_CPU = [0.0]


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run (its CPU seconds in ``LAST_CPU``: less sensitive to load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return wall


def _runs(argv: list[str], envs: list[dict[str, str]]) -> tuple[float, float]:
    """(median wall, median CPU) seconds over one run per environment."""
    walls, cpus = [], []
    for env in envs:
        walls.append(timed(argv, env))
        cpus.append(LAST_CPU[0])
    return statistics.median(walls), statistics.median(cpus)


def measure(scenario: Path, repeat: int, base_env: dict[str, str]) -> dict[str, float]:
    """Median wall and CPU seconds of validating ``scenario``, warm and cold cache."""
    argv = [*command(), "validate", str(scenario)]
    with tempfile.TemporaryDirectory(prefix="validate-time-") as tmp:
        warm_env = {**base_env, "ESSDISPATCH_CACHE_DIR": str(Path(tmp) / "warm")}
        timed(argv, warm_env)  # fills the cache
        warm, warm_cpu = _runs(argv, [warm_env] * repeat)
        cold_walls, cold_cpus = [], []
        for i in range(repeat):
            folder = Path(tmp) / f"cold{i}"
            cold_walls.append(timed(argv, {**base_env, "ESSDISPATCH_CACHE_DIR": str(folder)}))
            cold_cpus.append(LAST_CPU[0])
            shutil.rmtree(folder, ignore_errors=True)
    return {
        "warm": warm,
        "warm_cpu": warm_cpu,
        "cold": statistics.median(cold_walls),
        "cold_cpu": statistics.median(cold_cpus),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenarios", nargs="*", type=Path, help="default: the week scenarios")
    p.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    p.add_argument(
        "--bytecode",
        action="store_true",
        help="let Python cache bytecode (in a temporary PYTHONPYCACHEPREFIX, filled by the"
        " untimed first run), as an installed package has; by default the environment is"
        " kept (with PYTHONDONTWRITEBYTECODE=1 every run compiles essdispatch's sources)",
    )
    p.add_argument(
        "--import-floor",
        action="store_true",
        help="also time the bare interpreter and the imports validate cannot avoid",
    )
    args = p.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "ESSDISPATCH_CACHE_DIR"}
    env.setdefault("MPLBACKEND", "Agg")
    if args.bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="validate-time-pyc-")
        timed([sys.executable, "-c", "import numpy, pandas, pydantic, yaml, click"], env)
    bytecode = "off" if env.get("PYTHONDONTWRITEBYTECODE") else "cached"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"command: {' '.join(command())} validate SCENARIO; median of {args.repeat}")
    print(f"bytecode: {bytecode}")
    if args.import_floor:
        for label, code in (
            ("python (nothing imported)", "pass"),
            ("import numpy, pandas", "import numpy, pandas"),
            ("+ pydantic, yaml, click", "import numpy, pandas, pydantic, yaml, click"),
        ):
            wall, cpu = _runs([sys.executable, "-c", code], [env] * args.repeat)
            print(f"{label:<46} {wall:6.2f}s {cpu:6.2f}s")
    print(f"{'scenario':<46} {'warm':>7} {'(cpu)':>7} {'cold':>7} {'(cpu)':>7}")
    worst = 0.0
    for scenario in args.scenarios or DEFAULT:
        m = measure(scenario, args.repeat, env)
        worst = max(worst, m["warm"])
        print(
            f"{scenario.name:<46} {m['warm']:6.2f}s {m['warm_cpu']:6.2f}s"
            f" {m['cold']:6.2f}s {m['cold_cpu']:6.2f}s",
            flush=True,
        )
    print(f"slowest warm: {worst:.2f} s wall; load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
