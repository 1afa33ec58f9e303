"""The ``csv`` series form: a column of a CSV file, checked (a regular text file of sane
size, unique header, ISO 8601 stamps in order, covering the horizon without gaps) and
averaged over each period; carbon-intensity units converted to tCO2/MWh."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from essdispatch.scenario.series_base import SeriesContext, _Form, _register


# --------------------------------------------------------------------------- csv
class CsvSeries(_Form):
    """A column of a CSV file whose first column is a timestamp.

    Timestamps are ISO 8601 (``2026-06-01 00:00`` or ``2026-06-01T00:00+08:00``);
    without a UTC offset they are local time in the scenario's time zone. The
    value of period ``[t, t+Δt)`` is the mean of the rows stamped in it, or, when
    none is (data coarser than Δt), the last row stamped at or before ``t``.
    The file must cover the horizon: first stamp ≤ start, last stamp ≥ the last
    period start.
    """

    csv: str = Field(min_length=1, description="path of the file, relative to the scenario")
    column: str = Field(min_length=1, description="name of the value column")
    unit: Literal["tCO2/MWh", "kgCO2/MWh", "gCO2/kWh", "lbCO2/MWh"] | None = Field(
        None,
        description="unit of a carbon-intensity column (carbon series only; default tCO2/MWh);"
        " values are converted to tCO2/MWh",
    )


#: carbon-intensity unit -> factor to tCO2/MWh (1 lb = 0.45359237 kg, exact by definition)
CARBON_UNITS: dict[str, float] = {
    "tCO2/MWh": 1.0,
    "kgCO2/MWh": 1e-3,
    "gCO2/kWh": 1e-3,
    "lbCO2/MWh": 0.45359237e-3,
}


_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


#: largest CSV read [bytes] (ten years of 1-minute rows with a few columns fit easily)
MAX_CSV_BYTES = 2**30


def _check_csv_file(path: Path, ctx: SeriesContext) -> None:
    """A regular text file of sane size: no FIFO (would hang), device, NUL-filled file."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as e:
        raise ctx.error(f"cannot read {path}: {e.strerror or e}", "csv") from None
    if not stat.S_ISREG(info.st_mode):
        raise ctx.error(f"{path} is not a regular file (a pipe, socket or device)", "csv")
    if info.st_size > MAX_CSV_BYTES:
        raise ctx.error(
            f"{path} is {info.st_size / 2**20:,.0f} MiB, more than the"
            f" {MAX_CSV_BYTES / 2**20:,.0f} MiB a CSV series may have",
            "csv",
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(2**20)
    except OSError as e:
        raise ctx.error(f"cannot read {path}: {e.strerror or e}", "csv") from None
    if b"\x00" in head:
        raise ctx.error(f"{path} contains NUL bytes: not a text CSV file", "csv")


def _check_header(path: Path, ctx: SeriesContext) -> None:
    """No column name given twice (pandas would rename the second one silently)."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh, skipinitialspace=True), [])
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name.strip()
        if name in seen:
            raise ctx.error(
                f"{path}: column {name!r} appears twice in the header (columns"
                f" {seen[name] + 1} and {i + 1}); which one is meant cannot be told",
                "csv",
            )
        seen[name] = i


def _read_csv(path: Path, ctx: SeriesContext) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse a CSV once per scenario: (raw text frame, UTC stamps [ns since epoch])."""
    key = ("csv", str(path.resolve()))
    if key in ctx.cache:
        return ctx.cache[key]
    _check_csv_file(path, ctx)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise ctx.error(f"cannot read {path}: {' '.join(str(e).split())}", "csv") from None
    except (MemoryError, ValueError, OverflowError) as e:
        raise ctx.error(f"cannot read {path}: {type(e).__name__}: {e}", "csv") from None
    _check_header(path, ctx)
    if frame.shape[1] < 2 or len(frame) == 0:
        raise ctx.error(
            f"{path} needs a timestamp column, a value column and at least one row", "csv"
        )
    raw = frame.iloc[:, 0].astype(str).str.strip()
    empty = (raw == "").to_numpy()
    if empty.any():
        raise ctx.error(f"{path}: missing timestamp at line {int(np.argmax(empty)) + 2}", "csv")
    has_offset = raw.str.contains(_OFFSET).to_numpy()
    if has_offset.any() and not has_offset.all():
        line_a = int(np.argmax(has_offset)) + 2
        line_b = int(np.argmax(~has_offset)) + 2
        raise ctx.error(
            f"{path}: line {line_a} has a UTC offset but line {line_b} has none; use one convention",
            "csv",
        )
    parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=bool(has_offset.all()))
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise ctx.error(
            f"{path}: cannot read timestamp {raw.iloc[i]!r} at line {i + 2}"
            " (write ISO 8601, e.g. 2026-06-01 00:00 or 2026-06-01T00:00+08:00)",
            "csv",
        )
    stamps = pd.DatetimeIndex(parsed)
    if stamps.tz is None:
        local = stamps.tz_localize(ctx.tz, ambiguous="NaT", nonexistent="NaT")
        bad = local.isna()
        if bad.any():
            i = int(np.argmax(bad))
            raise ctx.error(
                f"{path}: local timestamp {raw.iloc[i]!r} at line {i + 2} is ambiguous or does"
                f" not exist in {ctx.tz} (daylight-saving change); write it with a UTC offset",
                "csv",
            )
        stamps = local
    ns = stamps.as_unit("ns").asi8
    step = np.diff(ns)
    if (step == 0).any():
        i = int(np.argmax(step == 0))
        raise ctx.error(f"{path}: duplicated timestamp {raw.iloc[i + 1]!r} at line {i + 3}", "csv")
    if (step < 0).any():
        i = int(np.argmax(step < 0))
        raise ctx.error(
            f"{path}: timestamps not in increasing order at line {i + 3} ({raw.iloc[i + 1]!r}"
            f" after {raw.iloc[i]!r})",
            "csv",
        )
    ctx.cache[key] = (frame, ns)
    return frame, ns


@_register("csv", CsvSeries, "{csv: data/prices.csv, column: price}")
def _eval_csv(spec: CsvSeries, ctx: SeriesContext) -> np.ndarray:
    if spec.unit is not None and not ctx.carbon:
        raise ctx.error(
            "unit: is for carbon-intensity series only (tCO2/MWh, kgCO2/MWh, gCO2/kWh,"
            " lbCO2/MWh); other series are in the unit of their key",
            "unit",
        )
    factor = CARBON_UNITS[spec.unit] if spec.unit is not None else 1.0
    return factor * _csv_values(spec, ctx)


def _csv_values(spec: CsvSeries, ctx: SeriesContext) -> np.ndarray:
    path = Path(spec.csv).expanduser()
    if not path.is_absolute():
        path = ctx.base_dir / path
    if not path.exists():
        import errno
        import os

        try:
            os.stat(path)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise ctx.error(
                    f"{path}: symbolic link loop (it resolves to itself)", "csv"
                ) from None
        raise ctx.error(f"file not found: {path}", "csv")
    if path.is_dir():
        raise ctx.error(f"{path} is a directory, not a CSV file", "csv")
    frame, ns = _read_csv(path, ctx)
    if spec.column not in frame.columns[1:]:
        raise ctx.error(
            f"no column {spec.column!r} in {path}; value columns: {', '.join(frame.columns[1:])}",
            "column",
        )
    text = frame[spec.column].astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        cell = text.iloc[i]
        what = "empty cell" if cell == "" else f"value {cell!r} is not a finite number"
        raise ctx.error(f"{path}: {what} at line {i + 2}, column {spec.column!r}", "column")
    starts = ctx.index.as_unit("ns").asi8
    dt_ns = round(ctx.dt_h * 3600e9)
    # each row stands for [its stamp, the next stamp); the last row for one more step of
    # the file's own spacing, so an hourly file ending at 23:00 covers a day at 15 min
    covered_until = ns[-1] + (ns[-1] - ns[-2] if len(ns) > 1 else 0)
    if ns[0] > starts[0] or covered_until < starts[-1] + dt_ns:
        tz = ctx.index.tz
        first, until = (pd.Timestamp(x, tz="UTC").tz_convert(tz) for x in (ns[0], covered_until))
        end = ctx.index[-1] + pd.Timedelta(dt_ns, unit="ns")
        have = _stamps(first, until)
        need = _stamps(ctx.index[0], end)
        if have == need:  # differ below the minute
            have, need = _stamps(first, until, "seconds"), _stamps(ctx.index[0], end, "seconds")
        raise ctx.error(f"{path} covers {have} but the horizon needs {need}", "csv")
    _check_gaps(path, ctx, ns, raw_times=frame.iloc[:, 0], until=starts[-1] + dt_ns)
    # time-weighted mean of the step function over each period [start, start + Δt)
    t0 = ns[0]
    edges = np.append(ns, covered_until) - t0  # row k holds on [edges[k], edges[k+1])
    hours = edges / 3600e9
    area = np.concatenate(([0.0], np.cumsum(values * np.diff(hours))))

    def integral(x_ns: np.ndarray) -> np.ndarray:
        x = (x_ns - t0) / 3600e9
        k = np.clip(np.searchsorted(hours, x, side="right") - 1, 0, len(values) - 1)
        return area[k] + values[k] * (x - hours[k])

    return (integral(starts + dt_ns) - integral(starts)) / ctx.dt_h


def _stamps(a: pd.Timestamp, b: pd.Timestamp, spec: str = "minutes") -> str:
    return f"{a.isoformat(sep=' ', timespec=spec)} to {b.isoformat(sep=' ', timespec=spec)}"


#: a step longer than this many times the file's typical (median) spacing is a gap
GAP_FACTOR = 1.5


def _check_gaps(
    path: Path, ctx: SeriesContext, ns: np.ndarray, raw_times: pd.Series, until: int
) -> None:
    """Refuse a gap inside the horizon: a step longer than :data:`GAP_FACTOR` × the file's
    own spacing (a missing 6 h in an hourly file would otherwise hold the last value for
    6 h without a word). A file has a spacing of its own when more than half its steps
    are equal (the median); a file of irregular change points is held row to row."""
    if len(ns) < 3:
        return
    step = np.diff(ns)
    typical = float(np.median(step))
    if np.count_nonzero(step == typical) * 2 <= len(step):
        return  # no regular spacing of its own: a file of change points, held until the next
    start = ctx.index.as_unit("ns").asi8[0]
    inside = (ns[1:] > start) & (ns[:-1] < until)  # the rows' intervals that meet the horizon
    gap = inside & (step > GAP_FACTOR * typical)
    if not gap.any():
        return
    i = int(np.argmax(gap))
    span = pd.Timedelta(int(step[i]), unit="ns")
    raise ctx.error(
        f"{path}: no rows between {raw_times.iloc[i].strip()!r} (line {i + 2}) and"
        f" {raw_times.iloc[i + 1].strip()!r} (line {i + 3}): a gap of {span} in a series"
        f" stepped {pd.Timedelta(int(typical), unit='ns')}; fill the missing rows",
        "csv",
    )
