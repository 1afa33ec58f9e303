"""Sweep files: the format, key paths, case expansion and validation before anything runs.

A sweep file (docs/SWEEPS.md) names a base scenario and the changes to make to it: a
``grid`` of key paths and values (cartesian product) and/or named ``cases``, each a set of
overrides by key path (:mod:`essdispatch.sweeps.key_paths`). :func:`load_sweep` expands
every case, applies its overrides to the base scenario's plain data and validates each with
:func:`~essdispatch.scenario.load.scenario_from_dict`; all problems of all cases come back as
one :class:`~essdispatch.base.exceptions.ScenarioError`. Running the cases is
:mod:`essdispatch.sweeps.sweep`.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from essdispatch.base.exceptions import ScenarioError
from essdispatch.scenario.load import Scenario, load_scenario, scenario_from_dict
from essdispatch.scenario.series import SeriesMemo
from essdispatch.scenario.series_base import validation_problems
from essdispatch.scenario.spec_base import MAX_NAME_LENGTH
from essdispatch.sweeps.key_paths import apply_override, parse_key_path

#: hex digits of the case hash that name its folder
HASH_DIGITS = 12
#: problems listed before the rest are summarised in one line
MAX_PROBLEMS = 30

_NAME = re.compile(r"[a-z0-9_-]+")  # used with fullmatch: no trailing newline


# --------------------------------------------------------------------------- the file
class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ScaleSpec(_Model):
    """``{scale: [0.5, 1, 2]}``: multiply the value(s) at the key path by each factor."""

    scale: list[float] = Field(min_length=1, description="factors [-]")


class CaseSpec(_Model):
    """One named case: ``{name, set: {key.path: value | {scale: factor}}}``."""

    name: str = Field(min_length=1, description="case name, unique in the sweep")
    description: str | None = Field(None, description="free text")
    set: dict[str, Any] = Field(default_factory=dict, description="key path -> value")


class SweepSpec(_Model):
    """A whole sweep file (docs/SWEEPS.md)."""

    name: str = Field(description="[a-z0-9_-]+, names <out>/sweeps/<name>/")
    description: str | None = Field(None, description="free text")
    base: str = Field(min_length=1, description="base scenario file, relative to the sweep file")
    grid: dict[str, list[Any] | ScaleSpec] = Field(
        default_factory=dict, description="key path -> values (cartesian product)"
    )
    cases: list[CaseSpec] = Field(default_factory=list, description="named cases")
    combine: Literal["product", "union"] = Field(
        "product",
        description="product: every named case x every grid point; union: the named cases "
        "and the grid points (on the base) side by side",
    )
    workers: int | None = Field(
        None, ge=1, le=256, description="worker processes of the local cluster"
    )
    memory_per_worker: str | int | None = Field(
        None, description="memory limit per local worker, bytes or text such as 4GB"
    )
    retries: int = Field(0, ge=0, le=100, description="re-runs of a case whose worker was lost [-]")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"must use only a-z, 0-9, '_' and '-', got {value!r}")
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(f"at most {MAX_NAME_LENGTH} characters, got {len(value)}")
        return value

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, values in value.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"{key}: give at least one value")
        return value

    @field_validator("memory_per_worker")
    @classmethod
    def _memory(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, str):
            try:
                _parse_bytes(value)
            except ValueError:
                raise ValueError(f"not a size: {value!r}; write e.g. 4GB or 512MiB") from None
        return value


def _parse_bytes(value: str | int) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(value))


# --------------------------------------------------------------------------- cases
def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def case_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved case: its validated plain data and every resolved series.

    Canonical JSON (sorted keys, no spaces) of ``{"scenario": to_dict(), "series":
    {key: sha256 of the float64 values}}``; a changed data file changes the hash.
    """
    series = {
        key: hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()
        for key, values in sorted(scenario.series.items())
    }
    doc = {"format": 1, "scenario": scenario.to_dict(), "series": series}
    return hashlib.sha256(_canonical(doc).encode("utf-8")).hexdigest()


@dataclass(frozen=True, eq=False)
class Case:
    """One case of a sweep: its name, overrides (key path -> value or ``{"scale": f}``),
    validated scenario and hash."""

    name: str
    overrides: dict[str, Any]
    scenario: Scenario
    hash: str

    @property
    def key(self) -> str:
        """Folder name: the first :data:`HASH_DIGITS` hex digits of the hash."""
        return self.hash[:HASH_DIGITS]


@dataclass(frozen=True, eq=False)
class Sweep:
    """A loaded, validated sweep: the file, its base scenario and every case."""

    spec: SweepSpec
    file: Path
    text: str
    base: Scenario
    cases: list[Case]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def parameters(self) -> list[str]:
        """Swept key paths, in file order (grid first, then case keys)."""
        seen: dict[str, None] = {}
        for key in self.spec.grid:
            seen[key] = None
        for case in self.spec.cases:
            for key in case.set:
                seen[key] = None
        return list(seen)


def _value_label(value: Any) -> str:
    if (
        isinstance(value, Mapping)
        and set(value) == {"scale"}
        and isinstance(value["scale"], int | float)
        and not isinstance(value["scale"], bool)
    ):
        return f"x{value['scale']:g}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str | int | bool) or value is None:
        return str(value)
    return hashlib.sha256(_canonical(value).encode()).hexdigest()[:6]


def _grid_points(grid: Mapping[str, list[Any] | ScaleSpec]) -> list[dict[str, Any]]:
    axes = []
    for key, values in grid.items():
        if isinstance(values, ScaleSpec):
            axes.append([(key, {"scale": f}) for f in values.scale])
        else:
            axes.append([(key, v) for v in values])
    return [dict(point) for point in itertools.product(*axes)]


def _grid_label(point: Mapping[str, Any]) -> str:
    short = [re.sub(r"\[[^\]]*\]", "", k).rsplit(".", 1)[-1] for k in point]
    names = short if len(set(short)) == len(short) else list(point)
    return ",".join(f"{n}={_value_label(v)}" for n, v in zip(names, point.values(), strict=True))


def expand_cases(spec: SweepSpec) -> list[tuple[str, dict[str, Any]]]:
    """Every case as ``(name, overrides)``, overrides in the order they are applied."""
    points = _grid_points(spec.grid) if spec.grid else []
    named = [(c.name, dict(c.set)) for c in spec.cases]
    if not points and not named:
        return [("base", {})]
    if not points:
        return named
    grid = [(_grid_label(p), p) for p in points]
    if not named:
        return grid
    if spec.combine == "union":
        return named + grid
    return [(f"{n},{label}", {**sets, **p}) for n, sets in named for label, p in grid]


def _plain(value: Any, where: str, problems: list[tuple[str, str]]) -> Any:
    """Sweep data as plain JSON-able values: a YAML date or date-time becomes its ISO text
    (what a scenario accepts too); a binary or set value is a problem."""
    if isinstance(value, dict):
        return {
            k: _plain(v, f"{where}.{k}" if where else str(k), problems) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_plain(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    problems.append(
        (where, f"a {type(value).__name__} value cannot be swept; write text or a number")
    )
    return None


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep file, load its base scenario, expand and validate every case.

    Raises
    ------
    ScenarioError
        One error for the whole sweep: bad sweep keys, a bad base scenario, and every
        bad case, each problem keyed ``case <name>: <key path>``.
    """
    from essdispatch.base.yamlio import read_yaml_file

    path = Path(path)
    file = str(path)
    try:
        data, text, _ = read_yaml_file(path, file)  # bounded; refuses duplicate keys
    except ScenarioError as e:
        if any("got '['" in m for _, m in e.problems):
            raise ScenarioError(
                file,
                [
                    (k, m + " (inside { } quote key paths with brackets: {'sites[0].load': 1})")
                    for k, m in e.problems
                ],
            ) from None
        raise
    if not isinstance(data, dict):
        raise ScenarioError(file, [("", "expected a mapping (name:, base:, grid:, cases:)")])
    plain_problems: list[tuple[str, str]] = []
    data = _plain(data, "", plain_problems)
    if plain_problems:
        raise ScenarioError(file, plain_problems)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(file, validation_problems(e, "", SweepSpec)) from None
    problems: list[tuple[str, str]] = []
    for key in [*spec.grid, *(k for c in spec.cases for k in c.set)]:
        try:
            parse_key_path(key)
        except ValueError as e:
            problems.append((key, str(e)))
    names = [c.name for c in spec.cases]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append((f"cases[{i}].name", f"duplicate case name {name!r}"))
    if spec.combine == "product":
        for i, c in enumerate(spec.cases):
            for key in set(c.set) & set(spec.grid):
                problems.append(
                    (f"cases[{i}].set.{key}", "also swept by grid (with combine: product)")
                )
    if problems:
        raise ScenarioError(file, problems)

    base_path = (path.parent / spec.base).resolve()
    if not base_path.exists():
        raise ScenarioError(file, [("base", f"scenario file not found: {base_path}")])
    base = load_scenario(base_path)  # its own errors name the base file

    expanded = expand_cases(spec)
    seen: dict[str, int] = {}
    for i, (name, _) in enumerate(expanded):
        if name in seen:
            problems.append((f"case {name}", f"two cases have this name (#{seen[name]}, #{i})"))
        seen.setdefault(name, i)
    cases = _validate_cases(expanded, base, file, problems)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(("", f"... and {len(problems) - MAX_PROBLEMS} more problems"))
        raise ScenarioError(file, shown)
    return Sweep(spec=spec, file=path, text=text, base=base, cases=cases)


def _validate_cases(
    expanded: list[tuple[str, dict[str, Any]]],
    base: Scenario,
    file: str,
    problems: list[tuple[str, str]],
) -> list[Case]:
    """Apply each case's overrides to the base and validate it; problems are appended.

    The cases share one :class:`~essdispatch.scenario.series.SeriesMemo`: each distinct series
    is evaluated once for the whole sweep.
    """
    memo = SeriesMemo()
    base_data = base.to_dict()
    defaults = base.model.model_dump(mode="json")
    cases: list[Case] = []
    for name, overrides in expanded:
        data = copy.deepcopy(base_data)
        bad = False
        for key, value in overrides.items():
            try:
                apply_override(data, key, value, defaults)
            except ValueError as e:  # PathError or a bad key path
                problems.append((f"case {name}: {key}", str(e)))
                bad = True
        if bad:
            continue
        try:
            scenario = scenario_from_dict(
                data, base_dir=base.base_dir, file=f"{file} case {name}", memo=memo
            )
        except ScenarioError as e:
            problems.extend(
                (f"case {name}: {k}" if k else f"case {name}", m) for k, m in e.problems
            )
            continue
        cases.append(Case(name, overrides, scenario, case_hash(scenario)))
    return cases
