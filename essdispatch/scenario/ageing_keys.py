"""Scenario keys of the battery-life extensions: a storage unit's ``ageing:`` block
(docs/SCENARIOS.md "Ageing keys"; MODEL.md 13–14; read by :mod:`essdispatch.model.ageing`).

Frozen pydantic models, unknown keys forbidden, one message per broken rule with its key
path (the scenario loader prefixes ``sites[i].storage[j]`` and the file).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from essdispatch.model.ageing import curve_presets
from essdispatch.scenario.econ_keys import CostPerKWh
from essdispatch.scenario.series_base import rule_error


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CycleLife(_Model):
    """A cycle-life-vs-depth curve given in the scenario: points, or a power law."""

    depth: list[Annotated[float, Field(gt=0, le=1)]] | None = Field(
        None, description="depths of discharge, fractions of the usable window, increasing"
    )
    cycles: list[Annotated[float, Field(gt=0)]] | None = Field(
        None, description="cycles to end of life at each depth"
    )
    cycles_at_full_depth: Annotated[float, Field(gt=0)] | None = Field(
        None, description="power law N(δ) = N1·δ^(−k): N1, cycles at 100 % depth"
    )
    exponent: Annotated[float, Field(ge=0, le=5)] | None = Field(
        None, description="power law N(δ) = N1·δ^(−k): k (k ≥ 1 keeps Φ convex)"
    )

    @model_validator(mode="after")
    def _check(self) -> CycleLife:
        points = self.depth is not None or self.cycles is not None
        power = self.cycles_at_full_depth is not None or self.exponent is not None
        if points == power:
            raise rule_error(
                [
                    (
                        "cycle_life",
                        "give either depth and cycles, or cycles_at_full_depth and exponent",
                    )
                ]
            )
        if points:
            if self.depth is None or self.cycles is None or len(self.depth) != len(self.cycles):
                raise rule_error([("cycle_life.cycles", "must have one entry per depth")])
            if len(self.depth) < 2 or bool(np.any(np.diff(self.depth) <= 0)):
                raise rule_error(
                    [("cycle_life.depth", "must be at least two strictly increasing depths")]
                )
            phi = np.asarray(self.depth) / np.asarray(self.cycles)
            if np.any(np.diff(phi) < 0):
                raise rule_error(
                    [("cycle_life.cycles", "depth/cycles must not fall as depth rises")]
                )
        elif self.cycles_at_full_depth is None or self.exponent is None:
            raise rule_error(
                [("cycle_life", "a power law needs both cycles_at_full_depth and exponent")]
            )
        return self


class AgeingSpec(_Model):
    """A storage unit's ``ageing:`` block (MODEL.md 13–14 and the life assessment)."""

    cost: Literal["linear", "depth_aware"] = Field(
        "linear", description="ageing cost in the LP: degradation_cost, or SOC segments"
    )
    curve: str = Field("lfp_nrel_250ah", description="cycle-life preset (data/ageing_curves.yaml)")
    cycle_life: CycleLife | None = Field(None, description="own cycle-life curve (replaces curve)")
    replacement_cost_per_kwh: CostPerKWh = Field(
        0.0, description="R, cell replacement cost [currency/kWh of capacity]"
    )
    segments: int = Field(10, ge=1, le=50, description="J, number of SOC segments")
    end_of_life_soh: float = Field(
        0.8, gt=0.3, lt=1.0, description="state of health at end of life [fraction]"
    )
    temperature_c: float = Field(25.0, ge=-20, le=60, description="cell temperature [°C]")
    max_cycles_per_day: Annotated[float, Field(gt=0, le=100)] | None = Field(
        None, description="equivalent full cycles per local calendar day (MODEL.md 14)"
    )
    max_cycles_per_year: Annotated[float, Field(gt=0, le=36500)] | None = Field(
        None, description="equivalent full cycles per year, pro rata (MODEL.md 14)"
    )
    max_throughput_mwh_per_year: Annotated[float, Field(gt=0, le=1e9)] | None = Field(
        None, description="discharged MWh per year (whole unit), pro rata (MODEL.md 14)"
    )
    assess: bool = Field(
        True, description="life assessment after the solve (essdispatch.results.life)"
    )
    max_years: Annotated[float, Field(gt=0, le=50)] = Field(
        30.0, description="longest life the assessment simulates [years]"
    )

    @model_validator(mode="after")
    def _check(self) -> AgeingSpec:
        problems = []
        if self.cycle_life is None and self.curve not in curve_presets():
            known = ", ".join(sorted(curve_presets()))
            problems.append(("curve", f"unknown preset {self.curve!r} (known: {known})"))
        if self.cost == "depth_aware" and self.replacement_cost_per_kwh <= 0:
            problems.append(
                ("replacement_cost_per_kwh", "must be > 0 for cost: depth_aware (R of MODEL.md 13)")
            )
        if problems:
            raise rule_error(problems)
        return self


class LifeBlock(_Model):
    """The top-level ``life:`` block: project-level settings of the life assessment."""

    redispatch_years: bool | Literal["sequential"] = Field(
        False,
        description="with economics: re-solve the horizon for every project year at the"
        " usable energy the assessment leaves (one solve per distinct capacity); sequential:"
        " each year's fade assessed from that year's own dispatch",
    )

    @field_validator("redispatch_years", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        if isinstance(value, bool) or value == "sequential":
            return value
        raise ValueError(f"must be true, false or sequential, got {value!r}")
