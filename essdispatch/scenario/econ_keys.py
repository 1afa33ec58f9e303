"""Scenario keys of the economics extensions (docs/SCENARIOS.md "Economics keys").

Frozen pydantic models, unknown keys forbidden, one message per broken rule with
its key path (the scenario loader prefixes ``sites[i].storage[j]`` and the file):

- :class:`Sizing` — a storage unit's ``sizing:`` block (MODEL.md constraint 9);
- :class:`EconomicsBlock` — the scenario's ``economics:`` block (project finance,
  docs/ECONOMICS.md), read by :mod:`essdispatch.results.finance`.

The unit keys of constraints 11 and 12 (``compensation_per_mwh_discharged``,
``compensated_cycles_per_year``, ``capacity_payment_per_kw_year``,
``capacity_reference_hours``) and the grid key of constraint 10
(``demand_charge_per_kw_month``) are plain fields on the storage and grid models
of :mod:`essdispatch.scenario.load`, typed here.

Money is in the scenario's currency; per-kW and per-kWh costs use 1 MW = 1000 kW.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from essdispatch.model.econ import capital_recovery_factor  # noqa: F401  (re-exported)
from essdispatch.scenario.series_base import rule_error

#: beyond these a number is a unit mistake, not a cost
MAX_COST_PER_KW = 1e6  # currency/kW (capex, capacity payment per year, demand charge per month)
MAX_COST_PER_KWH = 1e6  # currency/kWh
MAX_SIZE = 1e7  # MW or MWh
MAX_HOURS = 1e4  # duration, reference hours
MAX_LIFETIME = 100.0  # years


def _not_above(limit: float, unit: str) -> AfterValidator:
    def check(value: float) -> float:
        if value > limit:
            raise ValueError(f"{value:g} {unit} is beyond any sane value (at most {limit:g})")
        return value

    return AfterValidator(check)


def _rate(value: float) -> float:
    if not 0.0 <= value < 1.0:
        hint = f" (looks like a percent; write {value / 100:g})" if 1.0 <= value <= 100.0 else ""
        raise ValueError(f"must be in [0, 1), got {value:g}{hint}")
    return value


def _escalation(value: float) -> float:
    if not -1.0 < value < 1.0:
        hint = f" (looks like a percent; write {value / 100:g})" if 1.0 <= value <= 100.0 else ""
        raise ValueError(f"must be a fraction per year in (-1, 1), got {value:g}{hint}")
    return value


def _fade(value: float) -> float:
    if not 0.0 <= value < 1.0:
        hint = f" (looks like a percent; write {value / 100:g})" if 1.0 <= value <= 100.0 else ""
        raise ValueError(f"must be a fraction in [0, 1), got {value:g}{hint}")
    return value


CostPerKW = Annotated[float, Field(ge=0), _not_above(MAX_COST_PER_KW, "currency/kW")]
CostPerKWh = Annotated[float, Field(ge=0), _not_above(MAX_COST_PER_KWH, "currency/kWh")]
Rate = Annotated[float, AfterValidator(_rate)]
Escalation = Annotated[float, AfterValidator(_escalation)]
Fade = Annotated[float, AfterValidator(_fade)]
Hours = Annotated[float, Field(gt=0), _not_above(MAX_HOURS, "h")]
Lifetime = Annotated[float, Field(ge=1), _not_above(MAX_LIFETIME, "years")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SizeRange(_Model):
    """``{min: …, max: …}`` with ``0 ≤ min ≤ max``."""

    min: Annotated[float, Field(ge=0), _not_above(MAX_SIZE, "")] = Field(
        0.0, description="lower bound (≥ 0)"
    )
    max: Annotated[float, Field(ge=0), _not_above(MAX_SIZE, "")] = Field(
        description="upper bound (≥ min)"
    )

    @model_validator(mode="after")
    def _check(self) -> SizeRange:
        if self.min > self.max:
            raise rule_error([("min", f"must be <= max ({self.max:g}), got {self.min:g}")])
        return self


class DurationRange(_Model):
    """``{min: …, max: …}`` energy-to-power ratio [h]; either may be omitted."""

    min: Annotated[float, Field(ge=0), _not_above(MAX_HOURS, "h")] | None = Field(
        None, description="dmin [h]: En ≥ dmin·Pn"
    )
    max: Annotated[float, Field(gt=0), _not_above(MAX_HOURS, "h")] | None = Field(
        None, description="dmax [h]: En ≤ dmax·Pn"
    )

    @model_validator(mode="after")
    def _check(self) -> DurationRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise rule_error([("min", f"must be <= max ({self.max:g}), got {self.min:g}")])
        if self.min is None and self.max is None:
            raise rule_error([("", "give min and/or max [h]")])
        return self


class Sizing(_Model):
    """MODEL.md constraint 9: power and energy decided by the optimisation.

    ``investment_cost = H·1000·[CRF·(capex_per_kw·Pn + capex_per_kwh·En) + fixed_om_per_kw_year·Pn]``
    with ``CRF = r(1+r)^L/((1+r)^L − 1)`` (``1/L`` when ``r = 0``).
    """

    power_mw: SizeRange = Field(description="Pmin ≤ Pn ≤ Pmax [MW]")
    energy_mwh: SizeRange = Field(description="Emin ≤ En ≤ Emax [MWh]")
    duration_h: DurationRange | None = Field(None, description="dmin·Pn ≤ En ≤ dmax·Pn [h]")
    capex_per_kw: CostPerKW = Field(description="power-related capex [currency/kW]")
    capex_per_kwh: CostPerKWh = Field(description="energy-related capex [currency/kWh]")
    fixed_om_per_kw_year: CostPerKW = Field(0.0, description="fixed O&M [currency/kW·year]")
    lifetime_years: Lifetime = Field(description="L, annualisation period [years] (≥ 1)")
    discount_rate: Rate = Field(0.0, description="r, fraction per year in [0, 1)")

    @model_validator(mode="after")
    def _check(self) -> Sizing:
        problems: list[tuple[str, str]] = []
        d = self.duration_h
        if d is not None:
            if d.min is not None and d.min * self.power_mw.min > self.energy_mwh.max:
                problems.append(
                    (
                        "duration_h.min",
                        f"{d.min:g} h × power_mw.min {self.power_mw.min:g} MW exceeds"
                        f" energy_mwh.max {self.energy_mwh.max:g} MWh: no size is feasible",
                    )
                )
            if d.max is not None and d.max * self.power_mw.max < self.energy_mwh.min:
                problems.append(
                    (
                        "duration_h.max",
                        f"{d.max:g} h × power_mw.max {self.power_mw.max:g} MW is below"
                        f" energy_mwh.min {self.energy_mwh.min:g} MWh: no size is feasible",
                    )
                )
        if problems:
            raise rule_error(problems)
        return self


class Replacement(_Model):
    """A replacement or augmentation: paid in ``year``, restores the usable capacity to 100 %."""

    year: int = Field(ge=1, description="project year in which it is paid (1 = first year)")
    cost_per_kwh: CostPerKWh = Field(description="cost per kWh of energy capacity [currency/kWh]")
    cost_per_kw: CostPerKW = Field(0.0, description="cost per kW of power [currency/kW]")


class EconomicsBlock(_Model):
    """The ``economics:`` block: project finance over the units' life (docs/ECONOMICS.md).

    The simulated horizon's operating value is scaled to a year (÷ H) and projected
    over ``lifetime_years`` with capacity fade and escalation. Sized units bring
    their own capex and fixed O&M (``sizing:``); ``capex_per_kw``, ``capex_per_kwh``
    and ``fixed_om_per_kw_year`` here apply to the fixed-size units.
    """

    lifetime_years: Annotated[int, Field(ge=1, le=int(MAX_LIFETIME))] = Field(
        description="project life [years] (≥ 1)"
    )
    discount_rate: Rate = Field(description="discount rate per year in [0, 1)")
    capex_per_kw: CostPerKW = Field(0.0, description="fixed-size units: capex [currency/kW]")
    capex_per_kwh: CostPerKWh = Field(0.0, description="fixed-size units: capex [currency/kWh]")
    fixed_om_per_kw_year: CostPerKW = Field(
        0.0, description="fixed-size units: fixed O&M [currency/kW·year]"
    )
    calendar_fade_per_year: Fade = Field(
        0.0, description="usable capacity lost per year of age [fraction]"
    )
    cycle_fade_per_cycle: Fade = Field(
        0.0, description="usable capacity lost per equivalent full cycle [fraction]"
    )
    replacement: Replacement | None = Field(None, description="replacement or augmentation")
    price_escalation_per_year: Escalation = Field(
        0.0, description="growth of the operating value (prices, charges) [fraction per year]"
    )
    om_escalation_per_year: Escalation = Field(
        0.0, description="growth of fixed O&M [fraction per year]"
    )

    @model_validator(mode="after")
    def _check(self) -> EconomicsBlock:
        if self.replacement is not None and self.replacement.year > self.lifetime_years:
            raise rule_error(
                [
                    (
                        "replacement.year",
                        f"must be <= lifetime_years ({self.lifetime_years}),"
                        f" got {self.replacement.year}",
                    )
                ]
            )
        return self


def sizing_problems(unit: BaseModel) -> list[tuple[str, str]]:
    """The rules between a storage unit's fixed-size keys and ``sizing:`` (SCENARIOS.md).

    A unit has ``power_mw`` and ``energy_mwh`` or ``sizing``, never both; a sized
    unit has no ``count`` and no ``charge_power_mw``; a compensated-cycles cap needs
    a compensation price.
    """
    given = unit.model_fields_set
    problems: list[tuple[str, str]] = []
    if getattr(unit, "sizing", None) is not None:
        both = [key for key in ("power_mw", "energy_mwh") if key in given]
        if both:
            problems.append(
                (
                    both[0],
                    "give power_mw and energy_mwh, or sizing:, not both (sizing decides them)",
                )
            )
        if "count" in given:
            problems.append(
                ("count", "a sized unit is one unit: remove count (sizing decides P, E)")
            )
        if "charge_power_mw" in given:
            problems.append(
                (
                    "charge_power_mw",
                    "a sized unit charges at its sized power: remove charge_power_mw",
                )
            )
    else:
        for key in ("power_mw", "energy_mwh"):
            if getattr(unit, key, None) is None:
                problems.append(
                    (key, "required key missing (or give sizing: to let the optimisation decide)")
                )
    if (
        getattr(unit, "compensated_cycles_per_year", None) is not None
        and getattr(unit, "compensation_per_mwh_discharged", 0.0) == 0.0
    ):
        problems.append(
            (
                "compensated_cycles_per_year",
                "caps compensation_per_mwh_discharged, which is not given (or 0)",
            )
        )
    return problems
