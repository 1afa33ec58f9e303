"""Several results folders -> one table of figures and differences.

A results folder (written by :func:`essdispatch.run.write_results`) is plain files:
``summary.json`` (its presence marks a complete run), ``dispatch.parquet``,
``baseline.parquet`` and ``scenario.yaml``. :func:`load_results` reads one;
:func:`compare_table` puts every figure of docs/MODEL.md side by side for
two or more runs, with absolute and relative differences against the first;
:func:`scenario_diff` lists the scenario keys whose values differ, so a user
sees why the results differ.

Runs are *comparable* when they cover the same horizon and report money in the
same currency; :func:`comparability` says how runs differ and which figures
can therefore not be subtracted. A different resolution is reported but does
not block: the figures are energy, emission and money totals over the same
horizon.

Everything returns plain objects (DataFrames, lists) for notebook use; the
``essdispatch compare`` command only formats them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.base.exceptions import ResultsError, ResultsInputError
from essdispatch.results.extract import DELTA_FIGURES, FIGURE_UNITS, OPTIONAL_FIGURE_UNITS
from essdispatch.results.stored_carbon import ACCOUNTING_FIGURE_UNITS, accounting_rows
from essdispatch.results.summary import Summary, SummaryError, as_summary, read_summary

#: figures that are zero in the no-storage baseline by construction (no baseline row)
UNITS = {**FIGURE_UNITS, **OPTIONAL_FIGURE_UNITS, **ACCOUNTING_FIGURE_UNITS}

STORAGE_ONLY_FIGURES = frozenset(
    {
        "charge_mwh",
        "discharge_mwh",
        "grid_charge_mwh",
        "storage_losses_mwh",
        "degradation_cost",
        "equivalent_full_cycles",
        "simultaneous_charge_discharge_mwh",
        "value_of_foresight",
        # MODEL.md economics table: the baseline omits the figures of 9, 11 and 12
        "investment_cost",
        "compensation_revenue",
        "capacity_revenue",
        "sized_power_mw",
        "sized_energy_mwh",
    }
)

#: the ``basis`` level of :func:`compare_table`'s index
BASIS_RUN, BASIS_BASELINE, BASIS_DELTA = "run", "baseline", "delta"

#: relative differences are left empty when the first run's value is this small
REL_TOL = 1e-9


# --------------------------------------------------------------------------- loading
@dataclass(frozen=True, eq=False)
class Results:
    """One results folder, read lazily.

    Attributes
    ----------
    folder : the results folder
    summary : the parsed ``summary.json``, typed (:class:`essdispatch.results.summary.Summary`)
    scenario_text : the exact scenario file that was run (``""`` when absent)
    dispatch, baseline : the run's and the baseline's per-period frames (read on
        first access from ``dispatch.parquet`` / ``baseline.parquet``) [MW, fractions,
        currency/MWh, tCO2/MWh; see :meth:`essdispatch.results.extract.DispatchResult.to_frame`]
    """

    folder: Path
    summary: Summary
    scenario_text: str = ""
    label: str = field(default="")

    def __post_init__(self) -> None:  # a plain dict (a notebook, an older caller) is read
        object.__setattr__(self, "summary", as_summary(self.summary))

    @property
    def name(self) -> str:
        return str(self.summary.scenario.name or self.folder.name)

    @property
    def currency(self) -> str:
        return str(self.summary.currency or "")

    @property
    def dt_h(self) -> float:
        """Period length [h]."""
        dt_h = self.summary.horizon.dt_h
        return float(dt_h) if dt_h is not None else float("nan")

    @property
    def sites(self) -> list[str]:
        return list(self.summary.sites or [])

    @property
    def unit_sites(self) -> dict[str, str]:
        """Storage unit name -> site name."""
        return dict(self.summary.unit_sites or {})

    @cached_property
    def dispatch(self) -> pd.DataFrame:
        return self._read_frame("dispatch.parquet")

    @cached_property
    def baseline(self) -> pd.DataFrame:
        return self._read_frame("baseline.parquet")

    def _read_frame(self, name: str) -> pd.DataFrame:
        path = self.folder / name
        if not path.is_file():
            raise ResultsInputError(
                f"{self.folder}: {name} is missing (not a complete results folder)"
            )
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise ResultsInputError(f"{path}: cannot read: {exc}") from exc


def load_results(folder: str | Path) -> Results:
    """Read a results folder (``summary.json`` and ``scenario.yaml``; frames on demand).

    Raises
    ------
    ResultsError : the folder does not exist, or is not a complete run (no
        ``summary.json``), or its summary cannot be read.
    """
    path = Path(folder)
    if not path.is_dir():
        raise ResultsInputError(f"{path}: no such results folder")
    summary_path = path / "summary.json"
    if not summary_path.is_file():
        if (path / "index.parquet").is_file():
            raise ResultsInputError(
                f"{path}: is a sweep folder (index.parquet), not a single run; "
                "compare its case folders"
            )
        raise ResultsInputError(f"{path}: not a complete run (no summary.json)")
    try:
        doc = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a damaged folder, like the checks below (exit 4)
        raise ResultsError(f"{summary_path}: cannot read: {exc}") from exc
    if not isinstance(doc, dict) or "baseline" not in doc:
        raise ResultsError(f"{summary_path}: not an essdispatch summary (no baseline figures)")
    try:  # the schema of summary.json (essdispatch.results.summary)
        summary = read_summary(doc)
    except SummaryError as exc:
        raise ResultsError(f"{summary_path}: damaged summary: {exc}") from None
    for name in ("dispatch.parquet", "baseline.parquet"):
        if not (path / name).is_file():
            raise ResultsError(f"{path}: {name} is missing (not a complete results folder)")
        try:  # the footer only: cheap, and a damaged file is named before anything is shown
            import pyarrow.parquet as pq

            pq.read_metadata(path / name)
        except ImportError:
            pass
        except Exception as exc:  # pyarrow raises its own types
            raise ResultsError(f"{path / name}: damaged ({type(exc).__name__})") from None
    scenario_path = path / "scenario.yaml"
    try:
        text = scenario_path.read_text(encoding="utf-8") if scenario_path.is_file() else ""
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{scenario_path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ResultsError(f"{scenario_path}: cannot read: {exc.strerror or exc}") from None
    return Results(folder=path, summary=summary, scenario_text=text, label=path.name)


def _as_results(runs: Iterable[str | Path | Results]) -> list[Results]:
    return [r if isinstance(r, Results) else load_results(r) for r in runs]


def run_labels(runs: Sequence[Results]) -> list[str]:
    """Short unique labels: the folder names, with parent folders added where they clash."""
    parts = [r.folder.resolve().parts for r in runs]
    depth = 1
    while True:
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels) or depth >= max(len(p) for p in parts):
            break
        depth += 1
    if len(set(labels)) != len(labels):  # the same folder twice
        labels = [f"{lab}#{i + 1}" for i, lab in enumerate(labels)]
    return labels


# --------------------------------------------------------------------------- comparability
@dataclass(frozen=True)
class Difference:
    """One way in which runs differ that matters for comparing their figures.

    ``blocks`` names the figures that cannot be subtracted: ``"all"`` (different
    horizon), ``"currency"`` (money figures) or ``None`` (a notice only).
    """

    aspect: str
    values: dict[str, Any]
    blocks: str | None
    message: str


def _horizon(r: Results) -> tuple[Any, Any]:
    h = r.summary.horizon
    start, end = h.start, h.end
    return (
        pd.Timestamp(start) if start else None,
        pd.Timestamp(end) if end else None,
    )


def _stamp(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t is not None else "?"


def comparability(runs: Sequence[str | Path | Results]) -> list[Difference]:
    """How ``runs`` differ in horizon, resolution and currency.

    A different horizon blocks every difference (all figures are totals over
    the horizon); a different currency blocks the money figures; a different
    resolution is a notice only.
    """
    rs = _as_results(runs)
    labels = [r.label for r in rs]
    out: list[Difference] = []

    def values(fn: Any) -> dict[str, Any]:
        return {lab: fn(r) for lab, r in zip(labels, rs, strict=True)}

    def show(vals: dict[str, Any]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in vals.items())

    horizons = values(_horizon)
    if len(set(horizons.values())) > 1:
        shown = {k: f"{_stamp(s)} to {_stamp(e)}" for k, (s, e) in horizons.items()}
        out.append(
            Difference("horizon", shown, "all", f"runs cover different horizons ({show(shown)})")
        )
    dts = values(lambda r: r.dt_h)
    if len({round(v, 9) for v in dts.values() if not math.isnan(v)}) > 1:
        shown = {k: f"{v * 60:g} min" for k, v in dts.items()}
        out.append(
            Difference(
                "resolution",
                shown,
                None,
                f"runs differ in resolution ({show(shown)}); totals are still compared",
            )
        )
    currencies = values(lambda r: r.currency)
    if len(set(currencies.values())) > 1:
        out.append(
            Difference(
                "currency",
                currencies,
                "currency",
                f"runs report money in different currencies ({show(currencies)})",
            )
        )
    return out


def check_comparable(runs: Sequence[str | Path | Results]) -> list[Difference]:
    """Raise :class:`ResultsError` (one line) when any figure cannot be subtracted.

    Returns the notices (differences that do not block) otherwise.
    """
    diffs = comparability(runs)
    blocking = [d for d in diffs if d.blocks]
    if blocking:
        raise ResultsInputError(
            "runs are not comparable: "
            + "; ".join(d.message for d in blocking)
            + " (use force=True / --force to show them side by side without those differences)"
        )
    return diffs


# --------------------------------------------------------------------------- the table
def _rows(summary: Summary) -> list[tuple[str, str, str, float]]:
    """(figure, key, basis, value) for every figure of one summary, in MODEL.md order."""
    base = summary.baseline
    written = summary.model_fields_set
    out: list[tuple[str, str, str, float]] = []

    def add(fig: str, basis: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, v in value.items():
                out.append((fig, str(key), basis, _num(v)))
        elif value is not None or fig in written:
            out.append((fig, "", basis, _num(value)))

    # figures by name (results/extract.FIGURE_UNITS): attribute access by name
    for fig in (*FIGURE_UNITS, *(f for f in OPTIONAL_FIGURE_UNITS if f in written)):
        if fig in DELTA_FIGURES:
            add(fig, BASIS_DELTA, summary.figure(fig))
            continue
        add(fig, BASIS_RUN, summary.figure(fig))
        if fig not in STORAGE_ONLY_FIGURES:
            add(fig, BASIS_BASELINE, getattr(base, fig, None))
    out.extend(accounting_rows(summary))  # stored carbon, split, 24/7 (stored_carbon.py)
    return out


def _num(v: Any) -> float:
    try:
        return float(v) if v is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def diff_column(label: str) -> str:
    """Name of the absolute-difference column of run ``label`` (value minus the first run's)."""
    return f"diff:{label}"


def rel_column(label: str) -> str:
    """Name of the relative-difference column of run ``label`` (fraction of the first run's)."""
    return f"rel:{label}"


def compare_table(
    runs: Sequence[str | Path | Results],
    labels: Sequence[str] | None = None,
    *,
    force: bool = False,
) -> pd.DataFrame:
    """Every figure of MODEL.md for each run, with differences against the first.

    Parameters
    ----------
    runs : results folders (or :class:`Results`); one run gives the figures alone
    labels : column names for the runs (default: the folder names, made unique)
    force : when runs are not comparable, show them side by side anyway and
        leave the differences that cannot be computed empty (NaN) instead of
        raising

    Returns
    -------
    DataFrame indexed by ``(figure, key, basis)``: ``key`` is the carbon series
    (``emissions_*``) or the storage unit (``equivalent_full_cycles``), ``""``
    otherwise; ``basis`` is ``run``, ``baseline`` or ``delta`` (baseline minus
    run, the Δ figures). Columns: ``unit`` (the currency code for money), one
    value column per run label, then for every run after the first
    ``diff:<label>`` (value − first) and ``rel:<label>`` (diff / |first|, a
    fraction; NaN when the first is 0). ``attrs["notices"]`` lists the ways the
    runs differ (:class:`Difference` messages), ``attrs["folders"]`` the folders.

    Raises
    ------
    ResultsError : a folder is not a complete run, or the runs are not
        comparable (different horizon or currency) and ``force`` is False.
    """
    rs = _as_results(runs)
    if not rs:
        raise ResultsInputError("compare: no results folders given")
    names = list(labels) if labels is not None else run_labels(rs)
    if len(names) != len(rs) or len(set(names)) != len(names):
        raise ResultsInputError("compare: need one unique label per results folder")
    rs = [
        Results(r.folder, r.summary, r.scenario_text, lab) for r, lab in zip(rs, names, strict=True)
    ]
    diffs = comparability(rs) if force else check_comparable(rs)
    blocks = {d.blocks for d in diffs if d.blocks}

    index: list[tuple[str, str, str]] = []
    data: dict[str, dict[tuple[str, str, str], float]] = {}
    for lab, r in zip(names, rs, strict=True):
        col = data.setdefault(lab, {})
        for fig, key, basis, value in _rows(r.summary):
            idx = (fig, key, basis)
            if idx not in col and idx not in index:
                index.append(idx)
            col[idx] = value
    # keep MODEL.md order, keys in first-seen order
    order = {
        fig: i
        for i, fig in enumerate((*FIGURE_UNITS, *OPTIONAL_FIGURE_UNITS, *ACCOUNTING_FIGURE_UNITS))
    }
    basis_order = {BASIS_RUN: 0, BASIS_BASELINE: 1, BASIS_DELTA: 2}
    key_pos: dict[tuple[str, str], int] = {}
    for fig, key, _ in index:
        key_pos.setdefault((fig, key), len(key_pos))
    index.sort(
        key=lambda t: (order.get(t[0], len(order)), key_pos[(t[0], t[1])], basis_order[t[2]])
    )
    mi = pd.MultiIndex.from_tuples(index, names=["figure", "key", "basis"])
    frame = pd.DataFrame(index=mi)

    currencies = sorted({r.currency for r in rs})
    currency = "/".join(currencies) or "currency"
    frame["unit"] = [
        currency if UNITS.get(f) == "currency" else UNITS.get(f, "") for f, _, _ in index
    ]
    for lab in names:
        frame[lab] = [data[lab].get(idx, np.nan) for idx in index]

    first = frame[names[0]].to_numpy(dtype=float)
    money = np.array([UNITS.get(f) == "currency" for f, _, _ in index], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for lab, r in zip(names[1:], rs[1:], strict=True):
            d = frame[lab].to_numpy(dtype=float) - first
            # only what this run cannot share with the first one is left blank
            if _horizon(r) != _horizon(rs[0]):
                d[:] = np.nan
            elif r.currency != rs[0].currency:
                d[money] = np.nan
            rel = np.where(np.abs(first) > REL_TOL, d / np.abs(first), np.nan)
            frame[diff_column(lab)] = d
            frame[rel_column(lab)] = rel
    frame.attrs["notices"] = [d.message for d in diffs]
    frame.attrs["blocked"] = sorted(blocks)
    frame.attrs["folders"] = {lab: str(r.folder) for lab, r in zip(names, rs, strict=True)}
    frame.attrs["labels"] = list(names)
    return frame


# --------------------------------------------------------------------------- scenario diff
class _Missing:
    def __repr__(self) -> str:
        return "(absent)"

    __str__ = __repr__


#: stands for a key that one scenario file does not have
MISSING: Any = _Missing()


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        named = all(isinstance(v.get("name"), str) for v in obj)
        for i, v in enumerate(obj):
            tag = v["name"] if named else str(i)
            item = {k: x for k, x in v.items() if not (named and k == "name")}
            _flatten(item, f"{prefix}[{tag}]", out)
            if named and not item:
                out[f"{prefix}[{tag}]"] = {}
    else:
        out[prefix] = obj


def flatten_scenario(text: str) -> dict[str, Any]:
    """Scenario YAML -> ``{key.path: value}``; list items that have a ``name`` are
    keyed by it (``sites[yulin-pv-1].storage[bess-a].power_mw``)."""
    from essdispatch.base.exceptions import ScenarioError
    from essdispatch.base.yamlio import load_yaml_text

    try:
        doc = load_yaml_text(text, "scenario.yaml") if text.strip() else {}
    except ScenarioError as exc:
        raise ResultsError(f"scenario.yaml cannot be parsed: {exc}") from exc
    out: dict[str, Any] = {}
    _flatten(doc if doc is not None else {}, "", out)
    return out


def scenario_diff(runs: Sequence[str | Path | Results]) -> list[tuple[str, tuple[Any, ...]]]:
    """The scenario keys whose values differ between the runs.

    Returns ``[(key.path, (value in run 1, value in run 2, ...)), ...]`` in the
    order the keys first appear; a key a file does not have is :data:`MISSING`.
    A file that is not YAML is compared as a whole (key ``<scenario.yaml>``).
    """
    rs = _as_results(runs)
    flats: list[dict[str, Any]] = []
    for r in rs:
        try:
            flats.append(flatten_scenario(r.scenario_text))
        except ResultsError:
            texts = tuple(x.scenario_text for x in rs)
            return [] if len(set(texts)) <= 1 else [("<scenario.yaml>", texts)]
    keys: list[str] = []
    seen: set[str] = set()
    for flat in flats:
        for k in flat:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    out = []
    for k in keys:
        vals = tuple(f.get(k, MISSING) for f in flats)
        if any(not _same(vals[0], v) for v in vals[1:]):
            out.append((k, vals))
    return out


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=0) or (
            math.isnan(float(a)) and math.isnan(float(b))
        )
    return bool(a == b)


# --------------------------------------------------------------------------- formatting
_FORMATS = {
    "MWh": "{:,.1f}",
    "tCO2": "{:,.1f}",
    "cycles": "{:,.2f}",
    "tCO2/MWh": "{:,.4f}",
    "fraction": "{:,.4f}",
}


def format_number(value: float, unit: str, signed: bool = False) -> str:
    """A figure value for a table cell: MWh and tCO2 to 0.1, cycles to 0.01, intensities and
    fractions to 0.0001, money whole."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    spec = _FORMATS.get(unit, "{:,.0f}")  # money: whole currency units
    if signed:
        spec = spec.replace("{:", "{:+")
    text = spec.format(value)
    return text.lstrip("+-") if _is_zero(text) else text


def _is_zero(text: str) -> bool:
    return text.strip("+-").replace("0", "").replace(".", "").replace(",", "") == ""


def _fmt_rel(value: float) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:+.1%}" if abs(value) >= 5e-4 else "0.0%"


_BASIS_TEXT = {BASIS_RUN: "run", BASIS_BASELINE: "baseline", BASIS_DELTA: "Δ base−run"}


def format_value(value: Any) -> str:
    """A scenario value, short enough for one table cell."""
    if value is MISSING:
        return "(absent)"
    text = (
        json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    )
    return text if len(text) <= 40 else text[:37] + "..."


#: human labels of the figures (tables, report, plots); units come from ``UNITS``
FIGURE_LABELS = {
    "solar_available_mwh": "solar available",
    "curtailed_mwh": "solar curtailed",
    "curtailment_absorbed_mwh": "curtailment absorbed",
    "charge_mwh": "charged",
    "discharge_mwh": "discharged",
    "grid_charge_mwh": "charged from the grid",
    "storage_losses_mwh": "storage losses",
    "import_mwh": "imported",
    "export_mwh": "exported",
    "unserved_mwh": "unserved energy",
    "emissions_tco2": "emissions",
    "emissions_displaced_tco2": "emissions displaced",
    "energy_cost": "energy cost",
    "carbon_cost": "carbon cost",
    "degradation_cost": "degradation cost",
    "total_cost": "total cost",
    "savings": "savings",
    "equivalent_full_cycles": "full cycles",
    "simultaneous_charge_discharge_mwh": "simultaneous charge/discharge",
    "value_of_foresight": "value of foresight",
}

#: the longest row header of a narrow table [characters]
MAX_LABEL = 40


def figure_label(fig: str, key: str = "", unit: str = "", limit: int | None = None) -> str:
    """``"emissions displaced (marginal) [tCO2]"``: the human label of a figure."""
    text = FIGURE_LABELS.get(fig, fig.replace("_", " "))
    tail = f" [{unit}]" if unit else ""
    if key:
        room = None if limit is None else limit - len(text) - len(tail) - 3
        if room is not None and len(key) > room:
            key = key[: max(1, room - 1)] + "…"
        text += f" ({key})"
    return text + tail


#: ``essdispatch compare`` keeps its tables this wide unless asked for ``--wide``
TERMINAL_WIDTH = 100

_SHORT_BASIS = {BASIS_RUN: "run", BASIS_BASELINE: "base", BASIS_DELTA: "Δ"}


def _table_cells(
    table: pd.DataFrame, labels: list[str], short: bool
) -> tuple[list[str], list[list[str]], list[list[list[str]]]]:
    """Row-header cells, and per run (first run: one column; others: value, Δ, Δ%) the
    cells of each row: ``(heads, row_heads, groups)``."""
    basis_text = _SHORT_BASIS if short else _BASIS_TEXT
    row_heads: list[list[str]] = []
    groups: list[list[list[str]]] = [[] for _ in labels]
    last_fig = None
    for (fig, key, basis), rec in table.iterrows():
        unit = str(rec["unit"])
        name = fig + (f"[{key}]" if key else "")
        label = figure_label(fig, key, unit, MAX_LABEL) if short else f"{name} [{unit}]"
        shown = label if (fig, key) != last_fig else ""
        last_fig = (fig, key)
        row_heads.append([shown, basis_text.get(basis, basis)])
        groups[0].append([format_number(rec[labels[0]], unit)])
        for i, lab in enumerate(labels[1:], start=1):
            groups[i].append(
                [
                    format_number(rec[lab], unit),
                    format_number(rec[diff_column(lab)], unit, signed=True),
                    _fmt_rel(rec[rel_column(lab)]),
                ]
            )
    return ["figure [unit]" if not short else "figure", "basis"], row_heads, groups


def _render(header: list[str], rows: list[list[str]], n_left: int = 2) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [c.ljust(w) for c, w in zip(cells[:n_left], widths[:n_left], strict=True)]
        out += [c.rjust(w) for c, w in zip(cells[n_left:], widths[n_left:], strict=True)]
        return "  ".join(out).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]]


def format_table(table: pd.DataFrame, width: int | None = TERMINAL_WIDTH) -> str:
    """:func:`compare_table`'s result as a plain-text table (units in the row header).

    ``width=None``: one table, one column per run and per difference (``--wide``).
    Otherwise the runs are named by letters (A, B, ...) with a legend, and the columns
    of the runs are wrapped into as many blocks as it takes to keep every line within
    ``width`` characters (the figure column repeated in each block).
    """
    labels: list[str] = table.attrs.get("labels") or [
        c for c in table.columns if c != "unit" and not c.startswith(("diff:", "rel:"))
    ]
    first = labels[0]
    short = width is not None
    heads, row_heads, groups = _table_cells(table, labels, short)
    if not short:
        header = [*heads, *labels]
        for lab in labels[1:]:
            header += [f"Δ {lab}", "Δ%"]
        rows = [[*rh, *[c for g in groups for c in g[i]]] for i, rh in enumerate(row_heads)]
        lines = _render(header, rows)
        if len(labels) > 1:
            lines.append(f"(Δ: difference against {first}; Δ%: relative to |{first}|)")
        return "\n".join(lines)

    letters = [_letter(i) for i in range(len(labels))]
    group_heads = [[letters[0]]] + [[x, f"Δ {x}", f"Δ% {x}"] for x in letters[1:]]
    left = max(len(c) for rh in [heads, *row_heads] for c in rh[:1])
    left += 2 + max(len(rh[1]) for rh in [heads, *row_heads]) + 2

    def group_width(i: int) -> int:
        return sum(
            max(len(c) for c in [group_heads[i][j], *(cells[j] for cells in groups[i])]) + 2
            for j in range(len(group_heads[i]))
        )

    blocks: list[list[int]] = [[]]
    used = left
    for i in range(len(labels)):
        w = group_width(i)
        if blocks[-1] and used + w > width:
            blocks.append([])
            used = left
        blocks[-1].append(i)
        used += w
    lines = [f"{x}  {lab}" for x, lab in zip(letters, labels, strict=True)]
    for block in blocks:
        header = [*heads, *[h for i in block for h in group_heads[i]]]
        rows = [[*rh, *[c for i in block for c in groups[i][r]]] for r, rh in enumerate(row_heads)]
        lines += ["", *_render(header, rows)]
    if len(labels) > 1:
        lines.append(
            f"(Δ X: X − {letters[0]}; Δ% X: relative to |{letters[0]}|; --wide: one table)"
        )
    lines.append("(base: the no-storage baseline; basis Δ: baseline − run)")
    return "\n".join(lines)


def _letter(i: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def format_scenario_diff(
    diff: list[tuple[str, tuple[Any, ...]]],
    labels: Sequence[str],
    width: int | None = TERMINAL_WIDTH,
) -> str:
    """:func:`scenario_diff`'s result as a plain-text table (one row per differing key).

    When the table would be wider than ``width``, each key is listed with one line per run
    (the runs lettered as in :func:`format_table`)."""
    if not diff:
        return "scenario files: no differences"
    header = ["scenario key", *labels]
    rows = [[k, *(format_value(v) for v in vals)] for k, vals in diff]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if width is not None and sum(widths) + 2 * (len(widths) - 1) > width:
        letters = [_letter(i) for i in range(len(labels))]
        lines = ["scenario keys that differ (runs lettered as above):"]
        for key, *vals in rows:
            lines.append(f"  {key}")
            lines += [f"    {x}  {v}" for x, v in zip(letters, vals, strict=True)]
        return "\n".join(lines)
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-safe records (NaN -> None), one per row."""
    flat = table.reset_index()
    recs = flat.to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        for rec in recs
    ]


def write_table(
    table: pd.DataFrame,
    *,
    csv: str | Path | None = None,
    json_path: str | Path | None = None,
    scenario_differences: list[tuple[str, tuple[Any, ...]]] | None = None,
) -> None:
    """Write the table as CSV (one row per figure row) and/or JSON (with notices and
    the scenario differences)."""
    try:
        if csv is not None:
            table.reset_index().to_csv(csv, index=False)
        if json_path is not None:
            labels = table.attrs.get("labels", [])
            doc = {
                "runs": [
                    {"label": lab, "folder": table.attrs.get("folders", {}).get(lab)}
                    for lab in labels
                ],
                "notices": table.attrs.get("notices", []),
                "figures": table_records(table),
                "scenario_differences": [
                    {
                        "key": k,
                        "values": {
                            lab: (None if v is MISSING else v)
                            for lab, v in zip(labels, vals, strict=False)
                        },
                        "absent": [
                            lab for lab, v in zip(labels, vals, strict=False) if v is MISSING
                        ],
                    }
                    for k, vals in (scenario_differences or [])
                ],
            }
            Path(json_path).write_text(
                json.dumps(doc, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
            )
    except OSError as exc:
        raise ResultsError(f"cannot write comparison table: {exc.strerror or exc}") from exc
