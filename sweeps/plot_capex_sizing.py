"""Plot a capex sizing sweep: optimal energy (MWh) and NPV against the energy capex.

    python sweeps/plot_capex_sizing.py results/sweeps/yulin-capex-sizing sweeps/yulin-capex-sizing.png

Reads only the sweep's index (essdispatch.sweeps.sweep_plots.sweep_table).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from essdispatch.sweeps.sweep_plots import sweep_table  # noqa: E402

BASE_CAPEX_PER_KWH = 385.2  # cn-lfp-energy-capex-2025 (essdispatch/data/economics.yaml)


def main(folder: str, out: str) -> None:
    table = sweep_table(folder)
    done = table[table["status"] == "finished"]
    scale = table.attrs["parameters"][0]  # the swept capex_per_kwh factor
    done = done.sort_values(scale)
    capex = done[scale] * BASE_CAPEX_PER_KWH
    energy = done[[c for c in done.columns if c.startswith("sized_energy_mwh.")][0]]
    power = done[[c for c in done.columns if c.startswith("sized_power_mw.")][0]]
    npv = done["finance.npv"] / 1e6
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    ax1.plot(capex, energy, "o-", label="energy (MWh)")
    ax1.plot(capex, power, "s--", label="power (MW)")
    ax1.set_xlabel("energy capex (CNY/kWh)")
    ax1.set_ylabel("optimal size")
    ax1.set_title("Optimal battery size")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.plot(capex, npv, "o-", color="tab:green")
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_xlabel("energy capex (CNY/kWh)")
    ax2.set_ylabel("NPV (million CNY)")
    ax2.set_title("Project NPV (15 years, 6 %)")
    ax2.grid(alpha=0.3)
    fig.suptitle("Yulin 200 MW PV, 150 MW export limit: sized PV-charged storage, one June week")
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).as_posix(), sys.argv[2])
