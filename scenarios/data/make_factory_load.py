#!/usr/bin/env python
"""Write ``factory-loads-2026.csv``: seeded hourly factory loads [MW] for the Shaanxi C&I sites.

ILLUSTRATIVE, not metered data: no public hourly load of a Shaanxi factory was found. The shape
is a generic two-shift manufacturing plant (assumption, confidence L):

* weekdays: a night base (ventilation, compressed air, furnaces held warm) of about 55 % of the
  peak, ramping up for the 08:00 shift to 100 % between 08:00 and 20:00 with a lunch dip at
  12:00, and back down through the evening;
* Saturdays and Sundays: one reduced shift (about 70 % of the peak by day, base at night);
* public holidays taken like Sundays; the Spring Festival shutdown (the week around Chinese New
  Year) at the base load only. 2026 dates are approximate (State Council schedule from memory,
  UNCONFIRMED; adjusted working weekends are ignored). They only matter for the year scenarios;
  the summer weeks (July) contain no holiday.

Each column is ``peak_mw × shape(hour, day type) × daily level × hourly noise`` with a daily
lognormal level (σ 0.04) and hourly lognormal noise (σ 0.03), from
``numpy.random.default_rng(seed)``; a column's values depend only on its seed. Rerun::

    python scenarios/data/make_factory_load.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TIMEZONE = "Asia/Shanghai"
OUT = Path(__file__).resolve().parent / "factory-loads-2026.csv"

# fmt: off
# per-unit of peak, by local hour 0..23
WEEKDAY = [0.56, 0.55, 0.55, 0.55, 0.55, 0.56, 0.62, 0.78, 0.97, 1.00, 1.00, 0.98,
           0.86, 0.97, 1.00, 1.00, 0.99, 0.96, 0.93, 0.90, 0.78, 0.66, 0.60, 0.57]
WEEKEND = [0.55, 0.54, 0.54, 0.54, 0.54, 0.55, 0.57, 0.63, 0.70, 0.72, 0.72, 0.70,
           0.64, 0.70, 0.72, 0.72, 0.70, 0.67, 0.63, 0.60, 0.58, 0.57, 0.56, 0.55]
SHUTDOWN = 0.50  # Spring Festival: base load only

# 2026 public holidays (approximate, see the docstring)
HOLIDAYS = [("2026-01-01", "2026-01-03"), ("2026-04-04", "2026-04-06"),
            ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"),
            ("2026-09-25", "2026-09-27"), ("2026-10-01", "2026-10-07")]
SPRING_FESTIVAL = ("2026-02-15", "2026-02-23")  # Chinese New Year 2026-02-17
# fmt: on

# column -> (peak load [MW], seed); which scenario uses it
COLUMNS = {
    "ci_factory_mw": (24.0, 101),  # shaanxi-ci-factory-week (one mid-size plant)
    "xian_factory_mw": (60.0, 102),  # fleet: Xi'an ETDZ plant
    "xianyang_factory_mw": (50.0, 103),  # fleet: Xianyang plant
}


def _dates(ranges: list[tuple[str, str]]) -> set:
    out = set()
    for a, b in ranges:
        out.update(pd.date_range(a, b, freq="D").date)
    return out


def make(index: pd.DatetimeIndex, peak_mw: float, seed: int) -> np.ndarray:
    """Load [MW] at each hour of ``index`` (whole days, hourly)."""
    rng = np.random.default_rng(seed)
    n_days = len(index) // 24
    hour = index.hour.to_numpy()
    date = index.date
    holidays, spring = _dates(HOLIDAYS), _dates([SPRING_FESTIVAL])
    weekday = np.asarray(WEEKDAY)[hour]
    weekend = np.asarray(WEEKEND)[hour]
    off = np.array([d in holidays for d in date]) | (index.day_of_week.to_numpy() >= 5)
    shut = np.array([d in spring for d in date])
    shape = np.where(off, weekend, weekday)
    shape = np.where(shut, SHUTDOWN, shape)
    level = np.repeat(rng.lognormal(0.0, 0.04, n_days), 24)
    noise = rng.lognormal(0.0, 0.03, len(index))
    return peak_mw * shape * level * noise


def main() -> None:
    index = pd.date_range("2026-01-01", "2027-01-01", freq="h", inclusive="left", tz=TIMEZONE)
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M")})  # local, no offset
    for col, (peak, seed) in COLUMNS.items():
        frame[col] = make(index, peak, seed).round(2)
    frame.to_csv(OUT, index=False)
    stats = ", ".join(f"{c} mean {frame[c].mean():.1f} max {frame[c].max():.1f}" for c in COLUMNS)
    print(f"wrote {OUT} ({len(frame)} rows; {stats})")


if __name__ == "__main__":
    main()
