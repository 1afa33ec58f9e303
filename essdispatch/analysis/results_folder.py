"""A results folder, read: :class:`Results` (``summary.json`` typed by its schema,
:class:`essdispatch.results.summary.Summary`; the frames read on first use) and
:func:`load_results`, which names the damaged file and key in one line.

A results folder (written by :func:`essdispatch.run.write_results`) is plain files:
``summary.json`` (its presence marks a complete run), ``dispatch.parquet``,
``baseline.parquet`` and ``scenario.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from essdispatch.base.exceptions import ResultsError, ResultsInputError
from essdispatch.results.summary import Summary, SummaryError, as_summary, read_summary


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
