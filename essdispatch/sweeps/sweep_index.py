"""The index of a sweep folder: every case's status, parameters and scalar figures in
``index.parquet`` (with ``sweep.json``), rebuilt from the case folders, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from essdispatch.base.exceptions import ResultsError
from essdispatch.results.extract import FIGURE_UNITS
from essdispatch.sweeps.key_paths import _lookup, parse_key_path
from essdispatch.sweeps.sweep_file import Case, ScaleSpec, Sweep, _canonical

if TYPE_CHECKING:
    from essdispatch.results.summary import Summary


# --------------------------------------------------------------------------- the index
def sweep_folder(sweep: Sweep, out: str | Path = "results") -> Path:
    """``<out>/sweeps/<sweep name>``."""
    return Path(out) / "sweeps" / sweep.name


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, int | float) or value is None:
        out[prefix] = float("nan") if value is None else float(value)


def flatten_figures(summary: Summary | Mapping[str, Any]) -> dict[str, float]:
    """Every scalar figure of a ``summary.json``: ``savings``, ``emissions_tco2.average``,
    ``equivalent_full_cycles.<unit>``, ``baseline.<figure>``, ``solver.solve_seconds``.

    Raises :class:`essdispatch.results.summary.SummaryError` (a ValueError) on a summary
    off its schema."""
    from essdispatch.results.summary import as_summary

    if isinstance(summary, Mapping) and not summary:
        return {}
    s = as_summary(summary)
    out: dict[str, Any] = {}
    for fig in FIGURE_UNITS:  # figures by name (results/extract.FIGURE_UNITS)
        if fig in s.model_fields_set:
            _flatten(fig, s.figure(fig), out)
    base = s.baseline
    for fig in FIGURE_UNITS:
        if fig in base.model_fields_set:
            _flatten(f"baseline.{fig}", getattr(base, fig), out)
    split = s.carbon_accounting.emissions_displaced_split_tco2 if s.carbon_accounting else None
    if split:
        parts = {k: v.model_dump(exclude_unset=True) for k, v in split.items()}
        _flatten("emissions_displaced_split_tco2", parts, out)
    solver = s.solver
    for key in ("solve_seconds", "build_seconds", "variables", "constraints", "iterations"):
        if solver is not None and key in solver.model_fields_set:
            _flatten(f"solver.{key}", getattr(solver, key), out)
    if s.timings is not None and "total_seconds" in s.timings.model_fields_set:
        _flatten("solver.total_seconds", s.timings.total_seconds, out)
    # sized units and project finance (docs/ECONOMICS.md): sized_energy_mwh.<unit>, finance.npv
    for fig in ("sized_power_mw", "sized_energy_mwh"):
        if fig in s.model_fields_set:
            _flatten(fig, s.figure(fig), out)
    finance = s.finance
    for key in FINANCE_FIGURES:
        if finance is not None and key in finance.model_fields_set:
            _flatten(f"finance.{key}", getattr(finance, key), out)
    return out


#: the scalar finance figures a sweep index carries
FINANCE_FIGURES = (
    "npv",
    "irr",
    "simple_payback_years",
    "discounted_payback_years",
    "lcos_per_mwh",
    "capex",
    "annual_operating_value",
)


def _effective(case: Case, path: str, value: Any) -> Any:
    """The value in effect at ``path`` for ``case`` (the factor for a scale override)."""
    if isinstance(value, Mapping) and set(value) == {"scale"}:
        return float(value["scale"])
    found = _lookup(case.scenario.model.model_dump(mode="json"), parse_key_path(path))
    if not found:
        return None
    if all(_canonical(v) == _canonical(found[0]) for v in found):
        return found[0]
    return None


def _parameter_columns(sweep: Sweep) -> dict[str, str]:
    """key path -> index column (``<path>`` for set values, ``<path> (scale)`` for factors)."""
    out: dict[str, str] = {}
    for key in sweep.parameters:
        scaled = isinstance(sweep.spec.grid.get(key), ScaleSpec) or any(
            isinstance(c.set.get(key), Mapping) and set(c.set[key]) == {"scale"}
            for c in sweep.spec.cases
        )
        out[key] = f"{key} (scale)" if scaled else key
    return out


def _column(values: list[Any]) -> pd.Series:
    """Numbers stay numbers; anything else (mixed, lists) becomes JSON text."""
    if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if all(isinstance(v, bool) for v in values):
        return pd.Series(values, dtype="bool")
    if all(isinstance(v, str) or v is None for v in values):
        return pd.Series(values, dtype="object")
    return pd.Series(
        [None if v is None else json.dumps(v, sort_keys=True) for v in values], dtype="object"
    )


def _case_rows(sweep: Sweep) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """Fixed per-case columns (name, hash, folder) and the parameter columns."""
    columns = _parameter_columns(sweep)
    rows = [{"case": c.name, "hash": c.hash, "folder": f"cases/{c.key}"} for c in sweep.cases]
    params: dict[str, list[Any]] = {
        col: [
            _effective(c, key, c.overrides.get(key, {"scale": 1.0} if "(scale)" in col else None))
            for c in sweep.cases
        ]
        for key, col in columns.items()
    }
    return rows, params


def _read_state(folder: Path, key: str) -> dict[str, Any]:
    """Status and figures of one case from disk."""
    from essdispatch.base.safe_write import name_lock, recover

    with contextlib.suppress(ResultsError, OSError), name_lock(folder / "cases", key):
        recover(folder / "cases", key)  # a write cut off by a crash
    summary_path = folder / "cases" / key / "summary.json"
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"status": "pending"}
        if not isinstance(summary, dict):  # damaged: run the case again
            return {"status": "pending"}
        try:
            return {"status": "finished", **flatten_figures(summary)}
        except (TypeError, ValueError, AttributeError):
            return {"status": "pending"}
    failure = folder / "failures" / f"{key}.json"
    if failure.exists():
        try:
            info = json.loads(failure.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        return {
            "status": "failed",
            "failure_type": info.get("type", ""),
            "reason": info.get("reason", ""),
        }
    return {"status": "pending"}


def _index_frame(
    sweep: Sweep,
    base_rows: list[dict[str, Any]],
    params: dict[str, list[Any]],
    states: Mapping[str, dict[str, Any]],
) -> pd.DataFrame:
    records = []
    for row, case in zip(base_rows, sweep.cases, strict=True):
        state = states.get(case.key, {"status": "pending"})
        rec = {
            **row,
            "status": state.get("status", "pending"),
            "failure_type": state.get("failure_type", ""),
            "reason": state.get("reason", ""),
        }
        records.append((rec, {k: v for k, v in state.items() if k not in rec}))
    frame = pd.DataFrame([r for r, _ in records])
    for col, values in params.items():
        frame[col] = _column(values).to_numpy()
    figure_cols: dict[str, None] = {}
    for _, figs in records:
        figure_cols.update(dict.fromkeys(figs))
    figures = pd.DataFrame(
        [{c: figs.get(c, np.nan) for c in figure_cols} for _, figs in records],
        columns=list(figure_cols),
        dtype="float64",
    )
    return pd.concat([frame, figures], axis=1)


def _write_atomic(path: Path, writer: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_text_atomic(path: Path, text: str) -> None:
    _write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def _write_index(folder: Path, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
    _write_atomic(folder / "index.parquet", lambda p: frame.to_parquet(p, index=False))
    _write_text_atomic(folder / "sweep.json", json.dumps(meta, indent=2, ensure_ascii=False))


def read_index(folder: str | Path) -> pd.DataFrame:
    """A sweep's ``index.parquet``; ``attrs["parameters"]`` lists the parameter columns."""
    folder = Path(folder)
    path = folder / "index.parquet"
    if not path.exists():
        raise ResultsError(f"{folder}: not a sweep folder (no index.parquet)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own types for a damaged file
        raise ResultsError(
            f"{path}: damaged sweep index ({type(exc).__name__}); run the sweep again to"
            " rebuild it from the case folders"
        ) from None
    meta_path = folder / "sweep.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    frame.attrs["parameters"] = meta.get("parameters", [])
    frame.attrs["sweep"] = meta.get("name", folder.name)
    return frame
