#!/usr/bin/env python
"""Write ``shaanxi-spot-2026.csv``: a buy price = the synthetic Shaanxi spot price + a network fee.

The Shaanxi fleet scenarios (``../shaanxi-fleet-1100mwh-*.yaml``) sell at the built-in preset
``{preset: shaanxi-spot-synthetic, params: {seed: 7, year: 2025}}`` and buy at that price plus
a network-fee adder. The scenario format has no series arithmetic, so the buy price is written
here, from the same preset, as a CSV column::

    buy = spot + 270.2 CNY/MWh

270.2 CNY/MWh is the non-floating part (T&D tariff, government funds, system-operation fee,
line-loss price) of the Shaanxi agent-purchase price under 陕发改价格〔2025〕1034号, derived from
the March 2026 levels 371.5 / 607.8 / 844.1 CNY/MWh = 607.8 ± 0.7 × 337.6 (DATA_SOURCES.md §2a,
confidence L-M). It is the ``adder`` default of the ``shaanxi-tou-2025`` preset.

``year: 2025`` selects the 2025 floor edition (40 CNY/MWh) rather than 2026's 0: with a sell
price of exactly 0 curtailing and exporting tie, so the no-storage baseline's curtailment (and
the emissions displaced) would not be unique (MODEL.md, "Alternative optima").

``tests/test_example_scenarios.py`` checks that ``buy`` is still the preset plus the fee. Rerun
after a change to the preset::

    python scenarios/data/make_spot_prices.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from essdispatch.scenario.presets import shaanxi_spot_synthetic

SEED = 7
EDITION_YEAR = 2025  # floor 40 CNY/MWh
NETWORK_FEE = 270.2  # CNY/MWh, see the module docstring
TIMEZONE = "Asia/Shanghai"
OUT = Path(__file__).resolve().parent / "shaanxi-spot-2026.csv"


def main() -> None:
    index = pd.date_range("2026-01-01", "2027-01-01", freq="h", inclusive="left", tz=TIMEZONE)
    spot = shaanxi_spot_synthetic(index, 1.0, seed=SEED, year=EDITION_YEAR)
    frame = pd.DataFrame(
        {
            "timestamp": index.strftime("%Y-%m-%d %H:%M"),  # local time, no offset
            "buy": (spot + NETWORK_FEE).round(2),
        }
    )
    frame.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({len(frame)} rows, spot mean {spot.mean():.1f} CNY/MWh)")


if __name__ == "__main__":
    main()
