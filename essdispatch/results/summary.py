"""The schema of ``summary.json``: frozen pydantic models, one per block.

``summary.json`` (docs/SCENARIOS.md "Running and results" and "More in the results
folder") is written by :func:`essdispatch.run.write_results` from a plain dict that
:func:`essdispatch.run.build_summary` and the block builders assemble (extract,
diagnostics, stored_carbon, finance, life, operate/rolling, model/extend,
scenario/caveats). :class:`Summary` states every block with its types and units;
the writer validates the dict through it before anything is written
(:func:`check_summary`), and the readers (compare, report, plots, export, the console,
sweeps) get a :class:`Summary` from :func:`read_summary` and read attributes.

Known blocks forbid unknown keys when written (a misspelt key fails the run); a reader
drops unknown keys in known blocks (:func:`read_summary`), so a summary written by a
newer version still reads. Open-ended blocks (the top level, ``sweep.overrides``,
an extension's family duals) keep what they hold. ``None`` stands for a figure that is
not finite (NaN/inf are written as ``null``). Field descriptions give the units; they
are the documented schema (:func:`schema_table`, docs/SCENARIOS.md).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from essdispatch.results.summary_blocks import (
    Block,
    CarbonAccounting,
    Checks,
    Deltas,
    Figures,
    Horizon,
    Keyed,
    Num,
    OptNum,
    PerSite,
    PerUnit,
    RevenueStreams,
    ScenarioRef,
    Solver,
    SolverStats,
    Streams,
    Timings,
    _f,
)
from essdispatch.results.summary_features import (
    Caveat,
    Diagnostics,
    ExtensionRef,
    Finance,
    Operation,
    SweepRef,
    UnitLife,
    Windows,
)

__all__ = [
    "Block",
    "CarbonAccounting",
    "Caveat",
    "Checks",
    "Deltas",
    "Diagnostics",
    "ExtensionRef",
    "Figures",
    "Finance",
    "Horizon",
    "Keyed",
    "Num",
    "Operation",
    "OptNum",
    "PerSite",
    "PerUnit",
    "RevenueStreams",
    "ScenarioRef",
    "Solver",
    "SolverStats",
    "Streams",
    "Summary",
    "SummaryError",
    "SweepRef",
    "Timings",
    "UnitLife",
    "Windows",
    "as_summary",
    "check_summary",
    "read_summary",
    "schema_table",
]


# --------------------------------------------------------------------------- the document
class Summary(Deltas, Figures):
    """``summary.json``: the run's figures at the top level, and the blocks."""

    model_config = ConfigDict(frozen=True, extra="allow")

    scenario: ScenarioRef = Field(description="the scenario that was run")
    essdispatch_version: str | None = _f("version that wrote it")
    currency: str | None = _f("currency of every money figure")
    horizon: Horizon = Field(description="the horizon")
    carbon_price: OptNum = _f("[currency/tCO2]")
    steer_by: str | None = _f("carbon series the objective prices")
    carbon_series: list[str] | None = _f("carbon series names")
    voll: OptNum = _f("value of lost load [currency/MWh]")
    sites: list[str] | None = _f("site names")
    unit_sites: dict[str, str] | None = _f("unit → site")
    baseline: Figures = Field(description="the no-storage baseline's figures")
    revenue_streams: RevenueStreams | None = _f("cash savings by stream")
    carbon_accounting: CarbonAccounting | None = _f("MODEL.md carbon accounting")
    per_site: dict[str, PerSite] | None = _f("per site")
    per_unit: dict[str, PerUnit] | None = _f("per unit")
    checks: Checks | None = _f("balance residuals")
    solver: Solver | None = _f("the run's solve")
    timings: Timings | None = _f("phase times")
    diagnostics: Diagnostics | None = _f("diagnostics of the run")
    warnings: list[str] | None = _f("warnings shown with the run")
    value_of_foresight: OptNum = _f("rolling − perfect-foresight objective [currency]")
    operation: Operation | None = _f("rolling operation settings")
    windows: Windows | None = _f("rolling windows")
    perfect_foresight: Figures | None = _f("figures of the perfect-foresight solve")
    extension: ExtensionRef | None = _f("the extension hook used")
    life: dict[str, UnitLife] | None = _f("per unit with ageing")
    finance: Finance | None = _f("project finance (docs/ECONOMICS.md)")
    data_caveats: list[Caveat] | None = _f("synthetic or low-confidence presets used")
    sweep: SweepRef | None = _f("the sweep case")

    def figure(self, name: str) -> Any:
        """A figure by name (``None`` when absent): for tables that iterate figure names."""
        return getattr(self, name, None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as written."""
        return self.model_dump(mode="json", exclude_unset=True)


class SummaryError(ValueError):
    """A summary that does not match the schema; ``key`` names the first bad key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key!r}: {message}" if key else message)
        self.key = key


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith(("function-", "union[")))


def _first_error(exc: ValidationError) -> SummaryError:
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if p not in ("int", "float", "str", "bool", "none"))
    kind = err["type"]
    if kind == "missing":
        return SummaryError("", f"no {_key(loc)!r} block")
    got = type(err.get("input")).__name__
    msg = str(err["msg"]).removeprefix("Value error, ")
    return SummaryError(_key(loc), f"{msg} (got {got})")


def check_summary(doc: dict[str, Any]) -> Summary:
    """Validate a summary being written (unknown keys in known blocks are errors).

    Raises :class:`SummaryError` naming the first bad key."""
    try:
        return Summary.model_validate(doc)
    except ValidationError as exc:
        raise _first_error(exc) from None


def read_summary(doc: Any) -> Summary:
    """A summary read from a file: as :func:`check_summary`, but unknown keys inside known
    blocks (a newer writer) are dropped instead of refused."""
    if not isinstance(doc, dict):
        raise SummaryError("", f"is {type(doc).__name__}, expected an object")
    try:
        return Summary.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] != "extra_forbidden" for e in errors):
            raise _first_error(exc) from None
        doc = copy.deepcopy(doc)
        for e in errors:
            *path, last = e["loc"]
            node = doc
            for p in path:
                node = node[p]
            node.pop(last, None)
        return check_summary(doc)


def schema_table(model: type[BaseModel] = Summary, prefix: str = "") -> list[tuple[str, str]]:
    """``(key path, description)`` for every field, blocks expanded (docs/SCENARIOS.md)."""
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        out.append((key, info.description or ""))
        sub = _block_of(info.annotation)
        if sub is not None and sub is not model and not (model is Summary and sub is Figures):
            out.extend(schema_table(sub, key + _nesting(info.annotation)))
    return out


def schema_markdown() -> str:
    """The table of docs/SCENARIOS.md ("summary.json, key by key"): one row per key."""
    rows = ["| key | meaning [unit] |", "|---|---|"]
    rows += [f"| `{key}` | {text.replace('|', '/')} |" for key, text in schema_table()]
    return "\n".join(rows)


def _block_of(annotation: Any) -> type[BaseModel] | None:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _block_of(arg)
        if found is not None:
            return found
    return None


def _nesting(annotation: Any) -> str:
    """How a field's blocks are reached: ``.``, ``.<name>.`` (keyed by name), ``[].``
    (a list), ``.<name>.<key>.`` (two levels of names)."""
    from typing import get_args, get_origin

    origin = get_origin(annotation)
    if origin is dict:
        return ".<name>" + _nesting(get_args(annotation)[1])
    if origin is list:
        return "[]" + _nesting(get_args(annotation)[0])
    for arg in get_args(annotation):
        if arg is not type(None):
            inner = _nesting(arg)
            if inner != ".":
                return inner
    return "."


def as_summary(doc: Summary | Mapping[str, Any]) -> Summary:
    """``doc`` as a :class:`Summary` (a dict, e.g. :attr:`essdispatch.run.RunOutcome.summary`,
    is read with :func:`read_summary`)."""
    return doc if isinstance(doc, Summary) else read_summary(dict(doc))
