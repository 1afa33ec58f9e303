"""The blocks of a scenario file (docs/SCENARIOS.md) as frozen pydantic models, each with
its own cross-field rules: objective, signals, solar, grid, storage, site, group, solver
settings and the whole :class:`ScenarioSpec`. Field types and the horizon are in
:mod:`essdispatch.scenario.spec_base`; rules that span blocks in
:mod:`essdispatch.scenario.checks`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from essdispatch.scenario.ageing_keys import AgeingSpec, LifeBlock
from essdispatch.scenario.econ_keys import CostPerKW, EconomicsBlock, Hours, Sizing, sizing_problems
from essdispatch.scenario.series import SeriesSpec
from essdispatch.scenario.series_base import rule_error
from essdispatch.scenario.spec_base import (
    MAX_CARBON_PRICE,
    MAX_COUNT,
    MAX_ENERGY_MWH,
    MAX_POWER_MW,
    MAX_VOLL,
    Efficiency,
    EnergyMWh,
    Fraction,
    Horizon,
    Money,
    PowerMW,
    _at_most,
    _Model,
    _scenario_name,
)


# --------------------------------------------------------------------------- blocks
class Objective(_Model):
    """Weights of the grid-carbon-weighted cost (MODEL.md, Objective)."""

    carbon_price: Annotated[float, _at_most(MAX_CARBON_PRICE, "currency/tCO2")] = Field(
        0.0, ge=0, description="λ, weight on grid carbon [currency/tCO2]"
    )
    steer_by: Literal["average", "marginal"] | None = Field(
        None,
        description="carbon series in the objective; default marginal if one is given, else average",
    )
    exclusive_charge_discharge: bool = Field(
        False, description="forbid charging and discharging in the same period (MILP)"
    )
    voll: Annotated[float, _at_most(MAX_VOLL, "currency/MWh")] | None = Field(
        None,
        gt=0,
        description="value of lost load [currency/MWh]; default max(10000, 10 × highest buy price)",
    )


class CarbonSignals(_Model):
    """Grid carbon intensity series [tCO2/MWh]."""

    average: SeriesSpec | None = Field(None, description="average intensity [tCO2/MWh]")
    marginal: SeriesSpec | None = Field(None, description="marginal intensity [tCO2/MWh]")
    carbon_free_share: SeriesSpec | None = Field(
        None,
        description="hourly carbon-free share of grid imports [fraction 0..1]; for the 24/7"
        " carbon-free matching figure (docs/MODEL.md, extensions)",
    )


class Signals(_Model):
    """Grid signals: ``price`` (buy = sell) or ``buy_price`` and ``sell_price``, and carbon."""

    price: SeriesSpec | None = Field(None, description="buy and sell price [currency/MWh]")
    buy_price: SeriesSpec | None = Field(None, description="price to import [currency/MWh]")
    sell_price: SeriesSpec | None = Field(None, description="price paid for export [currency/MWh]")
    carbon: CarbonSignals | None = Field(None, description="carbon intensity [tCO2/MWh]")

    @model_validator(mode="after")
    def _check(self) -> Signals:
        problems: list[tuple[str, str]] = []
        buy, sell = self.buy_price is not None, self.sell_price is not None
        if self.price is not None and (buy or sell):
            problems.append(("price", "give price, or buy_price and sell_price, not both"))
        elif buy != sell:
            missing = "sell_price" if buy else "buy_price"
            problems.append((missing, f"required with {'buy_price' if buy else 'sell_price'}"))
        if problems:
            raise rule_error(problems)
        return self


class Location(_Model):
    """Site location (for the pvlib series form)."""

    lat: float = Field(ge=-90, le=90, description="latitude [degrees north]")
    lon: float = Field(ge=-180, le=180, description="longitude [degrees east]")


class Solar(_Model):
    """The site's solar plant: ``profile`` (per-unit of ``capacity_mw``) or ``mw``."""

    capacity_mw: PowerMW | None = Field(None, ge=0, description="AC-side peak available [MW]")
    profile: SeriesSpec | None = Field(None, description="available power per unit (0..1) [-]")
    mw: SeriesSpec | None = Field(None, description="available power [MW]")

    @model_validator(mode="after")
    def _check(self) -> Solar:
        problems: list[tuple[str, str]] = []
        if self.profile is not None and self.mw is not None:
            problems.append(("", "give profile or mw, not both"))
        elif self.profile is None and self.mw is None:
            problems.append(("", "give profile (per-unit, with capacity_mw) or mw (MW)"))
        elif self.profile is not None and self.capacity_mw is None:
            problems.append(("capacity_mw", "required with profile"))
        if problems:
            raise rule_error(problems)
        return self


class Grid(_Model):
    """The site's grid connection; an absent limit is unlimited."""

    export_limit_mw: PowerMW | None = Field(None, ge=0, description="export limit X[s] [MW]")
    import_limit_mw: PowerMW | None = Field(None, ge=0, description="import limit M[s] [MW]")
    demand_charge_per_kw_month: CostPerKW = Field(
        0.0, description="d, demand charge on the monthly peak import [currency/kW·month] (10)"
    )


class Storage(_Model):
    """One storage unit (or ``count`` identical units acting together)."""

    name: str = Field(min_length=1, description="unit name, unique in the scenario")
    power_mw: PowerMW | None = Field(
        None, ge=0, description="discharge rating P per unit [MW]; required unless sizing"
    )
    energy_mwh: EnergyMWh | None = Field(
        None, ge=0, description="energy capacity E per unit [MWh]; required unless sizing"
    )
    count: int = Field(1, ge=1, le=MAX_COUNT, description="number of identical units [-]")
    charge_power_mw: PowerMW | None = Field(
        None, ge=0, description="charge rating Pc per unit [MW]; default power_mw"
    )
    charge_efficiency: Efficiency = Field(description="ηc, fraction in (0, 1] [-]")
    discharge_efficiency: Efficiency = Field(description="ηd, fraction in (0, 1] [-]")
    soc_min: Fraction = Field(0.0, description="lowest state of charge, fraction of E [-]")
    soc_max: Fraction = Field(1.0, description="highest state of charge, fraction of E [-]")
    soc_initial: Fraction = Field(0.5, description="state of charge at start, fraction of E [-]")
    terminal: Literal["at_least_initial", "cyclic", "free"] = Field(
        "at_least_initial", description="end-of-horizon energy: >= initial, = initial, or free"
    )
    self_discharge_per_hour: Fraction = Field(
        0.0, description="σ, fraction of stored energy lost per hour [1/h]"
    )
    aux_mw: PowerMW = Field(0.0, ge=0, description="constant auxiliary consumption per unit [MW]")
    degradation_cost: Money = Field(0.0, ge=0, description="cdeg [currency/MWh discharged]")
    grid_charging: bool = Field(True, description="may charge from the grid")
    availability: SeriesSpec | None = Field(
        None, description="fraction 0..1 of both power ratings available; default 1 [-]"
    )
    # economics extensions (MODEL.md 9, 11, 12; essdispatch.scenario.econ_keys)
    sizing: Sizing | None = Field(None, description="decide power and energy (constraint 9)")
    compensation_per_mwh_discharged: Money = Field(
        0.0, ge=0, description="q, discharge compensation [currency/MWh] (constraint 11)"
    )
    compensated_cycles_per_year: Annotated[float, Field(gt=0), _at_most(1e5, "cycles")] | None = (
        Field(None, description="n, compensated full cycles per year (constraint 11)")
    )
    capacity_payment_per_kw_year: CostPerKW = Field(
        0.0, description="c, capacity payment [currency/kW·year] (constraint 12)"
    )
    capacity_reference_hours: Hours = Field(
        4.0, description="h, hours of discharge for full capacity credit (constraint 12)"
    )
    # battery life (MODEL.md 13–14; essdispatch.model.ageing, essdispatch.results.life)
    ageing: AgeingSpec | None = Field(
        None, description="depth-aware ageing cost, cycle limits, life assessment"
    )

    @model_validator(mode="after")
    def _check(self) -> Storage:
        problems: list[tuple[str, str]] = sizing_problems(self)
        if self.soc_min > self.soc_max:
            problems.append(
                (
                    "soc_max",
                    f"must be >= soc_min ({self.soc_min:g}), got {self.soc_max:g}"
                    " (the state-of-charge bounds are crossed)",
                )
            )
        elif self.soc_min > self.soc_initial:
            problems.append(
                ("soc_min", f"must be <= soc_initial ({self.soc_initial:g}), got {self.soc_min:g}")
            )
        elif self.soc_initial > self.soc_max:
            problems.append(
                ("soc_initial", f"must be <= soc_max ({self.soc_max:g}), got {self.soc_initial:g}")
            )
        for key, per_unit, limit, unit in (
            ("power_mw", self.power_mw or 0.0, MAX_POWER_MW, "MW"),
            ("charge_power_mw", self.charge_power_mw or 0.0, MAX_POWER_MW, "MW"),
            ("energy_mwh", self.energy_mwh or 0.0, MAX_ENERGY_MWH, "MWh"),
        ):
            if per_unit * self.count > limit:
                problems.append(
                    (
                        "count",
                        f"count {self.count} × {key} {per_unit:g} = {per_unit * self.count:g}"
                        f" {unit} is beyond any sane value (at most {limit:g})",
                    )
                )
        if problems:
            raise rule_error(problems)
        return self


class Site(_Model):
    """A site: at most one solar plant, one grid connection, a load, storage units."""

    name: str = Field(min_length=1, description="site name, unique in the scenario")
    location: Location | None = Field(None, description="latitude/longitude (pvlib)")
    solar: Solar | None = Field(None, description="the solar plant")
    grid: Grid | None = Field(None, description="grid connection limits; absent = unlimited")
    load: SeriesSpec | None = Field(None, description="site load [MW]; default 0")
    storage: list[Storage] = Field(default_factory=list, description="storage units")
    signals: Signals | None = Field(
        None, description="this site's signals, overriding leaf by leaf"
    )


class Group(_Model):
    """Sites sharing an export and/or import limit (a substation, a tie)."""

    name: str = Field(min_length=1, description="group name, unique in the scenario")
    sites: list[str] = Field(min_length=1, description="names of the member sites")
    export_limit_mw: PowerMW | None = Field(None, ge=0, description="group export limit X[g] [MW]")
    import_limit_mw: PowerMW | None = Field(None, ge=0, description="group import limit M[g] [MW]")


def _number_or_text(item: Any) -> Any:
    """YAML 1.1 reads ``1e-6`` as text: turn numeric text into a number."""
    if isinstance(item, str):
        for kind in (int, float):
            try:
                return kind(item)
            except ValueError:
                pass
    return item


def _solver_options(value: Any) -> Any:
    if isinstance(value, Mapping):
        value = {key: _number_or_text(item) for key, item in value.items()}
        for key, item in value.items():
            ok = isinstance(item, (str, int, float, bool)) and not (
                isinstance(item, float) and not np.isfinite(item)
            )
            if not ok:
                raise ValueError(
                    f"option {key!r} must be a string, number or true/false, got {item!r}"
                )
    return value


class SolverSettings(_Model):
    """Solver settings (HiGHS)."""

    time_limit_s: float | None = Field(None, gt=0, description="wall-clock limit per solve [s]")
    threads: int | None = Field(None, ge=1, description="solver threads [-]")
    options: Annotated[dict[str, str | int | float | bool], BeforeValidator(_solver_options)] = (
        Field(default_factory=dict, description="HiGHS options passed through, name -> value")
    )
    allow_loose_gap: bool = Field(
        False,
        description="accept mip_rel_gap/mip_abs_gap looser than 1e-6 (results then carry"
        " their achieved gap)",
    )


class ScenarioSpec(_Model):
    """A whole scenario file (SCENARIOS.md)."""

    name: Annotated[str, AfterValidator(_scenario_name)] = Field(
        description="[a-z0-9_-]+, names the results folder"
    )
    description: str | None = Field(None, description="free text")
    currency: str = Field("CNY", min_length=1, description="currency of all money figures")
    horizon: Horizon
    objective: Objective = Field(default_factory=Objective)
    signals: Signals | None = Field(None, description="grid signals shared by all sites")
    sites: list[Site] = Field(min_length=1, description="the sites")
    groups: list[Group] = Field(default_factory=list, description="shared grid limits")
    operation: dict[str, Any] | None = Field(
        None, description="operation settings (free-form, read by other modules)"
    )
    solver: SolverSettings | None = Field(None, description="solver settings")
    economics: EconomicsBlock | None = Field(
        None, description="project finance: life, discount rate, capex, fade (docs/ECONOMICS.md)"
    )
    life: LifeBlock | None = Field(
        None, description="life assessment settings (docs/MODEL.md battery-life extensions)"
    )
