"""The blocks of ``summary.json`` that every run writes: identity, horizon, the figures
of docs/MODEL.md (run, baseline, Δ), per site, per unit, revenue streams, carbon
accounting, checks, solver and timings (the schema is :class:`essdispatch.results.summary.Summary`).

Units are in each field's description. ``None`` stands for a value that is not finite
or does not apply; every field is optional so an older summary still reads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
)

#: a number as written (an int stays an int, so the JSON round-trips byte for byte)
Num = Annotated[StrictInt | StrictFloat, Field()]
#: a number, or ``None`` where the value is not finite or does not apply
OptNum = Num | None
#: a figure keyed by carbon series, unit or site name
Keyed = dict[str, OptNum]


class Block(BaseModel):
    """A known block: typed, frozen, no unknown keys when written."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _f(text: str) -> Any:
    """An optional field (absent in an older summary) with its documented meaning."""
    return Field(None, description=text)


# --------------------------------------------------------------------------- identity
class ScenarioRef(Block):
    name: str | None = _f("scenario name")
    sha256: str | None = _f("SHA-256 of the scenario file that was run [hex]")
    file: str | None = _f("path of the scenario file as given (None: not from a file)")


class Horizon(Block):
    start: str | None = _f("first period start, ISO 8601 with UTC offset (local time)")
    end: str | None = _f("end of the last period, ISO 8601 with UTC offset")
    periods: StrictInt | None = _f("number of periods T")
    dt_h: OptNum = _f("period length Δt [h]")
    timezone: str | None = _f("IANA time zone of the period stamps")

    @field_validator("start", "end")
    @classmethod
    def _date_time(cls, value: str | None) -> str | None:
        if value is not None:
            import pandas as pd

            try:
                pd.Timestamp(value)
            except (ValueError, TypeError):
                raise ValueError(f"not a date-time: {value[:40]!r}") from None
        return value


# --------------------------------------------------------------------------- figures
class Figures(Block):
    """Every figure of docs/MODEL.md's tables for one solve (run, baseline, perfect
    foresight); per-series/unit/site figures are objects keyed by name."""

    cash_cost: OptNum = _f(
        "what is paid: energy + demand charges + investment − revenues [currency]"
    )
    carbon_cost: OptNum = _f("priced carbon, beside the cash figures [currency]")
    unserved_cost: OptNum = _f("value of lost load of the unserved energy [currency]")
    solar_available_mwh: OptNum = _f("solar energy available [MWh]")
    curtailed_mwh: OptNum = _f("solar energy curtailed [MWh]")
    charge_mwh: OptNum = _f("energy charged into storage [MWh]")
    discharge_mwh: OptNum = _f("energy discharged from storage [MWh]")
    grid_charge_mwh: OptNum = _f("energy charged from the grid [MWh]")
    storage_losses_mwh: OptNum = _f("charge − discharge − stored energy gained [MWh]")
    import_mwh: OptNum = _f("grid import [MWh]")
    export_mwh: OptNum = _f("grid export [MWh]")
    unserved_mwh: OptNum = _f("load not served [MWh]")
    emissions_tco2: Keyed | None = _f("net emissions per carbon series [tCO2]")
    energy_cost: OptNum = _f("imports bought − exports sold [currency]")
    degradation_cost: OptNum = _f("linear and depth-aware ageing cost [currency]")
    total_cost: OptNum = _f(
        "objective: energy + carbon + degradation + unserved + economics [currency]"
    )
    equivalent_full_cycles: Keyed | None = _f("discharge / usable energy, per unit [cycles]")
    simultaneous_charge_discharge_mwh: OptNum = _f("Σ min(charge, discharge)·Δt [MWh]")
    demand_charge_cost: OptNum = _f("two-part tariff demand charge (MODEL.md 10) [currency]")
    investment_cost: OptNum = _f("annualised capex of sized units (MODEL.md 9) [currency]")
    compensation_revenue: OptNum = _f("discharge compensation (MODEL.md 11) [currency]")
    capacity_revenue: OptNum = _f("capacity payment (MODEL.md 12) [currency]")
    peak_import_mw: Keyed | None = _f("peak grid import per site [MW]")
    sized_power_mw: Keyed | None = _f("decided power per sized unit [MW]")
    sized_energy_mwh: Keyed | None = _f("decided energy per sized unit [MWh]")


class Deltas(Block):
    """The Δ figures: baseline minus run."""

    curtailment_absorbed_mwh: OptNum = _f("baseline − run curtailment [MWh]")
    emissions_displaced_tco2: Keyed | None = _f("baseline − run emissions per series [tCO2]")
    savings: OptNum = _f("baseline − run total cost [currency]")
    cash_savings: OptNum = _f("baseline − run cash cost [currency]")


class PerSite(Block):
    solar_available_mwh: OptNum = _f("solar available at the site [MWh]")
    curtailed_mwh: OptNum = _f("solar curtailed [MWh]")
    baseline_curtailed_mwh: OptNum = _f("solar curtailed in the baseline [MWh]")
    curtailment_absorbed_mwh: OptNum = _f("baseline − run curtailment [MWh]")
    import_mwh: OptNum = _f("grid import [MWh]")
    export_mwh: OptNum = _f("grid export [MWh]")
    unserved_mwh: OptNum = _f("load not served [MWh]")
    charge_mwh: OptNum = _f("charged by the site's units [MWh]")
    discharge_mwh: OptNum = _f("discharged by the site's units [MWh]")
    energy_cost: OptNum = _f("imports bought − exports sold [currency]")
    carbon_cost: OptNum = _f("priced carbon [currency]")
    degradation_cost: OptNum = _f("ageing cost of the site's units [currency]")
    unserved_cost: OptNum = _f("value of lost load [currency]")
    total_cost: OptNum = _f("the site's terms of the objective [currency]")
    baseline_total_cost: OptNum = _f("the site's terms in the baseline [currency]")
    savings: OptNum = _f("baseline − run total cost [currency]")
    emissions_tco2: Keyed | None = _f("per carbon series [tCO2]")
    baseline_emissions_tco2: Keyed | None = _f("per carbon series [tCO2]")
    emissions_displaced_tco2: Keyed | None = _f("per carbon series [tCO2]")


class PerUnit(Block):
    site: str | None = _f("the unit's site")
    count: StrictInt | None = _f("identical units")
    power_mw: OptNum = _f("discharge power, all units [MW]")
    charge_power_mw: OptNum = _f("charge power, all units [MW]")
    energy_mwh: OptNum = _f("usable energy E, all units [MWh]")
    duration_h: OptNum = _f("E / power [h]")
    charge_mwh: OptNum = _f("energy charged [MWh]")
    discharge_mwh: OptNum = _f("energy discharged [MWh]")
    storage_losses_mwh: OptNum = _f("charged − discharged − stored energy gained [MWh]")
    equivalent_full_cycles: OptNum = _f("discharged / usable energy [cycles]")
    degradation_cost: OptNum = _f("ageing cost [currency]")
    soc_start: OptNum = _f("state of charge at the start [fraction]")
    soc_end: OptNum = _f("state of charge at the end [fraction]")


class Streams(Block):
    energy_arbitrage: OptNum = _f("energy bill saved by shifting grid energy [currency]")
    curtailed_solar_delivered: OptNum = _f("value of curtailed solar delivered [currency]")
    demand_charge_savings: OptNum = _f("demand charge saved [currency]")
    discharge_compensation: OptNum = _f("discharge compensation, MODEL.md 11 [currency]")
    capacity_payment: OptNum = _f("capacity payment, MODEL.md 12 [currency]")
    degradation_cost: OptNum = _f("negative: a cost [currency]")
    investment_cost: OptNum = _f("negative: a cost [currency]")
    cash_savings: OptNum = _f("sum of the streams [currency]")


class RevenueStreams(Block):
    sites: dict[str, Streams] | None = _f("per site (docs/ECONOMICS.md)")
    units: dict[str, Streams] | None = _f("per unit")
    total: Streams | None = _f("summing to cash_savings")


class Split(Block):
    curtailed_solar_delivered: OptNum = _f("curtailed solar delivered later [tCO2]")
    grid_energy_shifted: OptNum = _f("grid energy shifted in time [tCO2]")
    losses: OptNum = _f("storage losses [tCO2]")


class RunBase(Block):
    run: OptNum = _f("hourly-matched carbon-free share of load, run [fraction]")
    baseline: OptNum = _f("the same in the baseline [fraction]")


class CarbonAccounting(Block):
    discharge_intensity_tco2_per_mwh: dict[str, Keyed] | None = _f("series → unit [tCO2/MWh]")
    emissions_displaced_split_tco2: dict[str, Split] | None = _f("series → split [tCO2]")
    split_check_tco2: Keyed | None = _f("losses − energy basis, per series [tCO2]")
    carbon_free_247: dict[str, RunBase] | None = _f("24/7 carbon-free share per site with load")
    carbon_free_247_grid_basis: Literal["series", "none"] | None = _f("grid carbon-free basis")


class Checks(Block):
    balance_residual_max_mw: OptNum = _f("worst energy-balance residual of the run [MW]")
    baseline_balance_residual_max_mw: OptNum = _f("same for the baseline [MW]")


class SolverStats(Block):
    status: str | None = _f("HiGHS model status")
    termination: str | None = _f("optimal, infeasible, time_limit, …")
    route: str | None = _f("joint, per-site, closed form, …")
    build_seconds: OptNum = _f("[s]")
    transfer_seconds: OptNum = _f("[s]")
    solve_seconds: OptNum = _f("[s]")
    extract_seconds: OptNum = _f("[s]")
    variables: StrictInt | None = _f("columns")
    constraints: StrictInt | None = _f("rows")
    subproblems: StrictInt | None = _f("solves")
    mip_gap: OptNum = _f("achieved MIP gap [fraction] (None: an LP)")
    iterations: StrictInt | None = _f("simplex iterations")
    handover_seconds: OptNum = _f("[s]")
    reused_bases: StrictInt | None = _f("solves started from an earlier basis")
    site_seconds: OptNum = _f("per-site phase [s]")
    site_iterations: StrictInt | None = _f("per-site phase iterations")
    notes: list[str] | None = _f("route notes")


class Solver(SolverStats):
    baseline: SolverStats | None = _f("the baseline's solve")


_T = "[s]"


class Timings(Block):
    load_seconds: OptNum = _f(_T)
    solve_total_seconds: OptNum = _f(_T)
    run_build_seconds: OptNum = _f(_T)
    baseline_build_seconds: OptNum = _f(_T)
    run_transfer_seconds: OptNum = _f(_T)
    baseline_transfer_seconds: OptNum = _f(_T)
    run_solve_seconds: OptNum = _f(_T)
    baseline_solve_seconds: OptNum = _f(_T)
    run_extract_seconds: OptNum = _f(_T)
    baseline_extract_seconds: OptNum = _f(_T)
    life_seconds: OptNum = _f(_T)
    write_seconds: OptNum = _f(_T)
    total_seconds: OptNum = _f(_T)
