"""Tables people send: units of every column, per-site and per-unit frames, one workbook.

The dispatch and baseline frames keep their column names ``<site>/<var>`` and
``<unit>/<var>`` (so that scripts keep working); :data:`COLUMN_UNITS` is the
documented units table of the variables (docs/SCENARIOS.md lists it too), and
:func:`units_frame` spells it out column by column. :func:`write_workbook`
writes one ``.xlsx`` file with the sheets ``summary``, ``per_site``,
``per_unit``, ``dispatch``, ``baseline`` and ``units``; every data sheet has the
unit of each column in its second row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from essdispatch.analysis.results_folder import Results, load_results
from essdispatch.base.exceptions import ResultsError
from essdispatch.results.extract import PER_SITE_UNITS, PER_UNIT_UNITS

#: unit of each dispatch/baseline variable (the part of the column name after ``/``);
#: ``currency`` is the run's currency (summary.json ``currency``)
COLUMN_UNITS: dict[str, tuple[str, str]] = {
    "pv": ("MW", "solar output available at the site (before curtailment)"),
    "cur": ("MW", "solar curtailed"),
    "imp": ("MW", "import from the grid"),
    "exp": ("MW", "export to the grid"),
    "shed": ("MW", "unserved load"),
    "load": ("MW", "site load"),
    "aux": ("MW", "auxiliary consumption of the site's storage"),
    "buy_price": ("currency/MWh", "price paid for imports"),
    "sell_price": ("currency/MWh", "price received for exports"),
    "carbon_": ("tCO2/MWh", "grid carbon intensity of the named series"),
    "ch": ("MW", "storage charge power"),
    "dis": ("MW", "storage discharge power"),
    "energy_mwh": ("MWh", "stored energy at the end of the period"),
    "soc": ("fraction", "state of charge at the end of the period (of the unit's energy)"),
}

#: figures of summary.json and their units (``currency`` is the run's currency)
SUMMARY_SHEET_COLUMNS = ("figure", "series", "unit", "run", "baseline", "delta (baseline - run)")


def column_unit(column: str, currency: str = "currency") -> str:
    """The unit of a dispatch/baseline column ``<name>/<var>`` (``""`` if unknown)."""
    var = column.rsplit("/", 1)[-1]
    key = "carbon_" if var.startswith("carbon_") else var
    unit = COLUMN_UNITS.get(key, ("", ""))[0]
    return unit.replace("currency", currency)


def units_frame(res: Results) -> pd.DataFrame:
    """One row per column of the dispatch frame: ``column, unit, meaning``."""
    rows = []
    for col in res.dispatch.columns:
        var = col.rsplit("/", 1)[-1]
        key = "carbon_" if var.startswith("carbon_") else var
        unit, meaning = COLUMN_UNITS.get(key, ("", ""))
        rows.append(
            {"column": col, "unit": unit.replace("currency", res.currency), "meaning": meaning}
        )
    rows.insert(
        0, {"column": "period_start", "unit": "local time", "meaning": "start of the period"}
    )
    return pd.DataFrame(rows)


def _cur(unit: str, currency: str) -> str:
    return unit.replace("currency", currency)


def _expand(table: dict[str, dict], units: dict[str, str], currency: str) -> pd.DataFrame:
    """Rows of ``{name: {figure: value or {series: value}}}`` as a frame, dict values spread
    into ``figure[series]`` columns; ``attrs["units"]`` maps column -> unit."""
    records: list[dict[str, Any]] = []
    col_units: dict[str, str] = {}
    for name, figs in table.items():
        rec: dict[str, Any] = {"name": name}
        for fig, value in figs.items():
            if isinstance(value, dict):
                for series, v in value.items():
                    rec[f"{fig}[{series}]"] = v
                    col_units[f"{fig}[{series}]"] = _cur(units.get(fig, ""), currency)
            else:
                rec[fig] = value
                col_units[fig] = _cur(units.get(fig, ""), currency)
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    frame.attrs["units"] = {"name": "", **col_units}
    return frame


def _rows_of(table: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-site / per-unit blocks as written, by name (the rows of a generic sheet)."""
    return {
        name: row.model_dump(mode="json", exclude_unset=True) for name, row in (table or {}).items()
    }


def per_site_frame(run: str | Path | Results) -> pd.DataFrame:
    """summary.json ``per_site`` as a frame (one row per site; units in ``attrs["units"]``)."""
    res = run if isinstance(run, Results) else load_results(run)
    return _expand(_rows_of(res.summary.per_site), PER_SITE_UNITS, res.currency)


def per_unit_frame(run: str | Path | Results) -> pd.DataFrame:
    """summary.json ``per_unit`` as a frame (one row per storage unit)."""
    res = run if isinstance(run, Results) else load_results(run)
    return _expand(_rows_of(res.summary.per_unit), PER_UNIT_UNITS, res.currency)


def summary_sheet(res: Results) -> pd.DataFrame:
    """Fleet figures: run, baseline and Δ (baseline − run) with units."""
    from essdispatch.analysis.compare import UNITS
    from essdispatch.results.extract import DELTA_FIGURES

    s = res.summary
    written = s.model_fields_set
    delta_of = {v: k for k, v in DELTA_FIGURES.items()}
    rows: list[list[Any]] = []
    for fig, unit in UNITS.items():  # figures by name (results/extract.FIGURE_UNITS)
        if fig not in written or fig in DELTA_FIGURES:
            continue
        val, bval = s.figure(fig), getattr(s.baseline, fig, None)
        dname = delta_of.get(fig)
        dval = s.figure(dname) if dname else None
        if isinstance(val, dict):
            for key, v in val.items():
                b = bval.get(key) if isinstance(bval, dict) else None
                d = dval.get(key) if isinstance(dval, dict) else None
                rows.append([fig, key, _cur(unit, res.currency), v, b, d])
        else:
            rows.append([fig, "", _cur(unit, res.currency), val, bval, dval])
    return pd.DataFrame(rows, columns=list(SUMMARY_SHEET_COLUMNS))


def _timeless(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: the local wall-clock time, with the offset in the header."""
    out = frame.copy()
    idx = out.index
    if isinstance(idx, pd.DatetimeIndex) and idx.tz is not None:
        out.index = idx.tz_localize(None)
        out.index.name = f"period_start ({idx.tz})"
    return out.reset_index()


def _write_with_units(writer: Any, frame: pd.DataFrame, units: list[str], sheet: str) -> None:
    """Header row, then a units row, then the data."""
    pd.DataFrame([units], columns=frame.columns).to_excel(writer, sheet_name=sheet, index=False)
    frame.to_excel(writer, sheet_name=sheet, index=False, header=False, startrow=2)
    ws = writer.sheets[sheet]
    ws.freeze_panes = "B3"


def write_workbook(run: str | Path | Results, out: str | Path | None = None) -> Path:
    """One ``.xlsx`` workbook of a run (default ``<folder>/results.xlsx``).

    Sheets: ``summary`` (fleet figures, run / baseline / Δ, with units), ``per_site``,
    ``per_unit``, ``dispatch`` and ``baseline`` (one row per period; second row: the
    unit of each column), ``units`` (every dispatch column with unit and meaning).
    """
    res = run if isinstance(run, Results) else load_results(run)
    target = Path(out) if out is not None else res.folder / "results.xlsx"
    tmp = target.with_name(f".{target.name}.tmp")
    cur = res.currency
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            summary_sheet(res).to_excel(writer, sheet_name="summary", index=False)
            for sheet, frame in (
                ("per_site", per_site_frame(res)),
                ("per_unit", per_unit_frame(res)),
            ):
                units = [frame.attrs["units"].get(c, "") for c in frame.columns]
                _write_with_units(writer, frame, units, sheet)
            for sheet, frame in (("dispatch", res.dispatch), ("baseline", res.baseline)):
                flat = _timeless(frame)
                units = ["local time"] + [column_unit(c, cur) for c in frame.columns]
                _write_with_units(writer, flat, units, sheet)
            units_frame(res).to_excel(writer, sheet_name="units", index=False)
        tmp.replace(target)
    except OSError as exc:
        raise ResultsError(f"{target}: cannot write workbook: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
