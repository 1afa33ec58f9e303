"""Scenario files: YAML -> validated, frozen pydantic models -> :class:`~essdispatch.base.inputs.Inputs`.

The format is docs/SCENARIOS.md. :func:`load_scenario` reads a file with
:func:`essdispatch.base.yamlio.read_yaml_file` (bounded, duplicate keys refused), validates it once (unknown keys are errors), checks every
cross-field rule and evaluates every series on the horizon, and raises one
:class:`~essdispatch.base.exceptions.ScenarioError` listing every problem found, each
with its key path (``sites[2].storage[0].soc_min: must be <= soc_initial (0.5),
got 0.7``). :func:`prepare_inputs` turns the validated scenario into the arrays
the model builders read.

The models are in :mod:`~essdispatch.scenario.spec_base` (field types, the horizon) and
:mod:`~essdispatch.scenario.spec` (the blocks), the checks that span blocks in
:mod:`~essdispatch.scenario.checks`; their public names are re-exported here.

Units: power [MW], energy [MWh], money [currency, default CNY], prices
[currency/MWh], carbon intensity [tCO2/MWh], carbon price [currency/tCO2],
fractions [-] (0.95, never 95).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from essdispatch.base.exceptions import ScenarioError
from essdispatch.base.inputs import Inputs, default_voll
from essdispatch.model.ageing import build_ageing
from essdispatch.model.econ import build_economics
from essdispatch.model.numerics import size_problems
from essdispatch.scenario.checks import (
    _name_problems,
    _resolve_series,
    _scenario_size,
    _signal_problems,
    _site_signals,
    _steer_by,
)
from essdispatch.scenario.series import SeriesMemo
from essdispatch.scenario.series_base import validation_problems
from essdispatch.scenario.spec import (  # re-export
    CarbonSignals,
    Grid,
    Group,
    Location,
    Objective,
    ScenarioSpec,
    Signals,
    Site,
    Solar,
    SolverSettings,
    Storage,
)
from essdispatch.scenario.spec_base import (  # re-export
    MAX_CARBON_PRICE,
    MAX_COUNT,
    MAX_ENERGY_MWH,
    MAX_INTENSITY,
    MAX_NAME_LENGTH,
    MAX_POWER_MW,
    MAX_PRICE,
    MAX_VOLL,
    MAX_YEAR,
    MIN_YEAR,
    Efficiency,
    EnergyMWh,
    Fraction,
    Horizon,
    LocalDateTime,
    Money,
    PowerMW,
    horizon_index,
    period_hours,
)

#: libyaml's safe loader when PyYAML was built with it (several times faster), else PyYAML's

__all__ = [
    "CarbonSignals",
    "Grid",
    "Group",
    "MAX_CARBON_PRICE",
    "MAX_COUNT",
    "MAX_ENERGY_MWH",
    "MAX_INTENSITY",
    "MAX_NAME_LENGTH",
    "MAX_POWER_MW",
    "MAX_PRICE",
    "MAX_VOLL",
    "MAX_YEAR",
    "MIN_YEAR",
    "Efficiency",
    "EnergyMWh",
    "Fraction",
    "LocalDateTime",
    "Money",
    "PowerMW",
    "Horizon",
    "Location",
    "Objective",
    "Scenario",
    "ScenarioSpec",
    "Signals",
    "Site",
    "Solar",
    "SolverSettings",
    "Storage",
    "horizon_index",
    "load_scenario",
    "period_hours",
    "prepare_inputs",
    "scenario_from_dict",
]


# --------------------------------------------------------------------------- scenario
@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario: the parsed model plus where it came from.

    Attributes
    ----------
    model : the validated :class:`ScenarioSpec` (attributes are also reachable on
        the scenario itself: ``scenario.name`` is ``scenario.model.name``)
    path : the scenario file, ``None`` for :func:`scenario_from_dict`
    base_dir : folder relative data paths are resolved against
    sha256 : hex digest of the file bytes (of ``raw_text`` for a dict)
    raw_text : exact file text, for copying into results
    file : name used in error messages
    series : every resolved series, key path -> (T,) array (read-only)
    """

    model: ScenarioSpec
    path: Path | None
    base_dir: Path
    sha256: str
    raw_text: str
    file: str
    series: Mapping[str, np.ndarray] = field(repr=False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def to_dict(self) -> dict[str, Any]:
        """The keys the scenario set, as plain data: edit and pass to :func:`scenario_from_dict`."""
        return self.model.model_dump(mode="json", exclude_unset=True)


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and check a scenario file.

    Raises
    ------
    ScenarioError
        Listing every problem found (file name and key path in one line): malformed
        YAML, YAML tags, unknown keys, bad values, broken cross-field rules, and
        series that cannot be evaluated or break their ranges.
    """
    from essdispatch.base.yamlio import read_yaml_file

    path = Path(path)
    file = str(path)
    data, text, data_bytes = read_yaml_file(path, file)  # bounded; refuses duplicate keys
    if data is None:
        raise ScenarioError(file, [("", "the file is empty")])
    if not isinstance(data, dict):
        raise ScenarioError(
            file,
            [("", f"expected a mapping (name:, horizon:, sites: ...), got {type(data).__name__}")],
        )
    return _build(
        data,
        base_dir=path.resolve().parent,
        file=file,
        path=path,
        sha256=hashlib.sha256(data_bytes).hexdigest(),
        raw_text=text,
        extra_problems=[],
    )


def scenario_from_dict(
    data: dict, base_dir: Path, file: str = "<dict>", *, memo: SeriesMemo | None = None
) -> Scenario:
    """Validate a scenario given as plain data (sweeps, tests); same checks as a file.

    ``raw_text`` is the YAML dump of the keys the validated scenario set and
    ``sha256`` its digest. ``memo`` (:class:`essdispatch.scenario.series.SeriesMemo`) shares
    series evaluations between scenarios, e.g. the cases of a sweep.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(file, [("", f"expected a mapping, got {type(data).__name__}")])
    return _build(
        dict(data),
        base_dir=Path(base_dir),
        file=file,
        path=None,
        sha256=None,
        raw_text=None,
        extra_problems=[],
        memo=memo,
    )


def _build(
    data: dict,
    *,
    base_dir: Path,
    file: str,
    path: Path | None,
    sha256: str | None,
    raw_text: str | None,
    extra_problems: list[tuple[str, str]],
    memo: SeriesMemo | None = None,
) -> Scenario:
    problems = list(extra_problems)
    try:
        model = ScenarioSpec.model_validate(data)
    except ValidationError as e:
        problems = validation_problems(e, "", ScenarioSpec) + problems + _name_problems(data)
        raise ScenarioError(file, problems) from None
    problems += _name_problems(data)
    problems += size_problems(_scenario_size(model))
    if problems:  # an enormous horizon: evaluate no series of that length
        raise ScenarioError(file, problems)
    series, more = _resolve_series(model, base_dir, file, memo)
    problems += more + _signal_problems(model, series)
    if problems:
        raise ScenarioError(file, problems)
    if raw_text is None:
        dumped = model.model_dump(mode="json", exclude_unset=True)
        try:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available
            raw_text = yaml.dump(dumped, Dumper=dumper, sort_keys=False, allow_unicode=True)
        except yaml.YAMLError:
            raw_text = json.dumps(dumped, indent=2, default=str)
        sha256 = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    for values in series.values():
        values.setflags(write=False)
    return Scenario(
        model=model,
        path=path,
        base_dir=base_dir,
        sha256=str(sha256),
        raw_text=raw_text,
        file=file,
        series=series,
    )


# --------------------------------------------------------------------------- inputs
def prepare_inputs(scenario: Scenario) -> Inputs:
    """The arrays of the dispatch problem (MODEL.md parameters), vectorised.

    Units with ``count: k`` are scaled to k× power, charge power, energy and aux
    (``count`` kept); absent grid and group limits are ``inf``; ``voll`` defaults
    to :func:`essdispatch.base.inputs.default_voll` over every site's buy price. The
    carbon dict has ``"average"`` (zeros when no carbon series is given anywhere)
    and, when any marginal series is given, ``"marginal"`` (a site without one
    reports its average there; it cannot steer then).
    """
    model = scenario.model
    series = scenario.series
    index = horizon_index(model.horizon)
    n_t = len(index)
    problems = _signal_problems(model, series)
    if problems:
        raise ScenarioError(scenario.file, problems)
    sources = _site_signals(model)
    zeros = np.zeros(n_t)

    def get(key: str | None, default: np.ndarray = zeros) -> np.ndarray:
        return series[key] if key is not None else default

    pv_rows, load_rows = [], []
    for i, site in enumerate(model.sites):
        solar = site.solar
        if solar is None:
            pv_rows.append(zeros)
        elif solar.profile is not None:
            pv_rows.append(series[f"sites[{i}].solar.profile"] * float(solar.capacity_mw or 0.0))
        else:
            pv_rows.append(series[f"sites[{i}].solar.mw"])
        load_rows.append(get(f"sites[{i}].load" if site.load is not None else None))
    buy = np.vstack([series[s.buy] for s in sources])
    sell = np.vstack([series[s.sell] for s in sources])
    average = np.vstack([get(s.average) for s in sources])
    carbon = {"average": average}
    if any(s.marginal for s in sources):
        carbon["marginal"] = np.vstack([get(s.marginal, average[i]) for i, s in enumerate(sources)])
    carbon_free_share = (
        np.vstack([get(s.carbon_free_share) for s in sources])
        if any(s.carbon_free_share for s in sources)
        else None
    )

    def limit(value: float | None) -> float:
        return np.inf if value is None else float(value)

    grids = [site.grid or Grid() for site in model.sites]
    units = [
        (i, j, unit) for i, site in enumerate(model.sites) for j, unit in enumerate(site.storage)
    ]
    count = np.array([u.count for _, _, u in units], dtype=np.int64)

    def per_unit(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(len(units))

    # a sized unit enters with its maximum ratings (essdispatch.model.econ)
    power = per_unit([_rating(u, "power_mw") for _, _, u in units])
    charge = per_unit(
        [
            _rating(u, "power_mw") if u.charge_power_mw is None else u.charge_power_mw
            for _, _, u in units
        ]
    )
    availability = (
        np.vstack(
            [
                get(
                    f"sites[{i}].storage[{j}].availability" if u.availability is not None else None,
                    np.ones(n_t),
                )
                for i, j, u in units
            ]
        )
        if units
        else np.zeros((0, n_t))
    )
    site_of = {site.name: i for i, site in enumerate(model.sites)}
    return Inputs(
        name=model.name,
        index=index,
        dt_h=period_hours(model.horizon),
        currency=model.currency,
        carbon_price=float(model.objective.carbon_price),
        steer_by=_steer_by(model, sources),
        exclusive=bool(model.objective.exclusive_charge_discharge),
        voll=float(model.objective.voll) if model.objective.voll is not None else default_voll(buy),
        site_names=tuple(site.name for site in model.sites),
        pv=np.vstack(pv_rows),
        load=np.vstack(load_rows),
        buy_price=buy,
        sell_price=sell,
        carbon=carbon,
        carbon_free_share=carbon_free_share,
        export_limit=np.array([limit(g.export_limit_mw) for g in grids]),
        import_limit=np.array([limit(g.import_limit_mw) for g in grids]),
        unit_names=tuple(u.name for _, _, u in units),
        unit_site=np.array([i for i, _, _ in units], dtype=np.int64),
        count=count,
        power=power * count,
        charge_power=charge * count,
        energy=per_unit([_rating(u, "energy_mwh") for _, _, u in units]) * count,
        eta_charge=per_unit([u.charge_efficiency for _, _, u in units]),
        eta_discharge=per_unit([u.discharge_efficiency for _, _, u in units]),
        self_discharge=per_unit([u.self_discharge_per_hour for _, _, u in units]),
        soc_min=per_unit([u.soc_min for _, _, u in units]),
        soc_max=per_unit([u.soc_max for _, _, u in units]),
        soc_initial=per_unit([u.soc_initial for _, _, u in units]),
        availability=availability,
        degradation_cost=per_unit([u.degradation_cost for _, _, u in units]),
        grid_charging=np.array([u.grid_charging for _, _, u in units], dtype=bool),
        aux=per_unit([u.aux_mw for _, _, u in units]) * count,
        terminal=tuple(u.terminal for _, _, u in units),
        group_names=tuple(g.name for g in model.groups),
        group_sites=tuple(
            np.array([site_of[s] for s in g.sites], dtype=np.int64) for g in model.groups
        ),
        group_export_limit=np.array([limit(g.export_limit_mw) for g in model.groups]),
        group_import_limit=np.array([limit(g.import_limit_mw) for g in model.groups]),
        econ=build_economics(model, index, period_hours(model.horizon)),
        ageing=build_ageing(
            model,
            per_unit([u.discharge_efficiency for _, _, u in units]),
            per_unit([u.soc_min for _, _, u in units]),
            per_unit([u.soc_max for _, _, u in units]),
        ),
    )


def _rating(unit: Storage, key: str) -> float:
    """``power_mw`` or ``energy_mwh`` of a unit; a sized unit's maximum."""
    if unit.sizing is not None:
        return float(getattr(unit.sizing, key).max)
    return float(getattr(unit, key))
