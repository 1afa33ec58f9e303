"""The blocks of ``summary.json`` that diagnostics and features write: diagnostics
(results/diagnostics.py), battery life (results/life.py), project finance
(results/finance.py), rolling operation (operate/rolling.py), the extension hook
(model/extend.py), data caveats (scenario/caveats.py) and a sweep case (sweeps/sweep.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictBool, StrictInt

from essdispatch.results.summary_blocks import _T, Block, Keyed, Num, OptNum, _f


# --------------------------------------------------------------------------- diagnostics
class Stamps(Block):
    periods: StrictInt | None = _f("periods")
    hours: OptNum = _f("[h]")
    first: list[str] | None = _f("first period stamps (ISO 8601)")
    more: StrictInt | None = _f("periods not listed")


class EnergyStamps(Stamps):
    mwh: OptNum = _f("[MWh]")


class LimitStamps(Stamps):
    limit_mw: OptNum = _f("[MW]")


Limits = dict[Literal["export", "import"], LimitStamps]


class EnergyBalance(Block):
    residual_max_mw: OptNum = _f("[MW]")
    per_site_mw: Keyed | None = _f("[MW]")


class Simultaneous(Block):
    total_mwh: OptNum = _f("[MWh]")
    per_unit_mwh: Keyed | None = _f("[MWh]")
    units: dict[str, EnergyStamps] | None = _f("units that charge and discharge at once")
    exclusive: StrictBool | None = _f("exclusive_charge_discharge (a MILP)")
    hint: str | None = _f("how to forbid it (exclusive_charge_discharge), when it happens")


class BindingLimits(Block):
    sites: dict[str, Limits] | None = _f("finite site limits that bind")
    groups: dict[str, Limits] | None = _f("finite group limits that bind")


class SocBounds(Block):
    at_min: Stamps | None = _f("periods ending at soc_min·E")
    at_max: Stamps | None = _f("periods ending at soc_max·E")


class Unserved(Block):
    total_mwh: OptNum = _f("[MWh]")
    sites: dict[str, EnergyStamps] | None = _f("sites with unserved energy")


class GroupPrice(Block):
    limit_mw: OptNum = _f("[MW]")
    unit: str | None = _f("currency/MWh")
    value_per_mw_horizon: OptNum = _f("−Σ dual [currency per MW]")
    mean: OptNum = _f("[currency/MWh]")
    max: OptNum = _f("[currency/MWh]")
    periods_binding: StrictInt | None = _f("periods")
    by_period: Keyed | None = _f("stamp → [currency/MWh]")
    more: StrictInt | None = _f("periods not listed")


class StoragePrice(Block):
    unit: str | None = _f("currency/MWh")
    mean: OptNum = _f("[currency/MWh]")
    min: OptNum = _f("[currency/MWh]")
    max: OptNum = _f("[currency/MWh]")
    end: OptNum = _f("at the end of the horizon [currency/MWh]")


class CyclesPerYear(Block):
    limit: OptNum = _f("[cycles/year]")
    horizon_limit_cycles: OptNum = _f("pro rata [cycles]")
    cycles: OptNum = _f("[cycles]")
    binding: StrictBool | None = _f("the limit binds")
    value_per_cycle: OptNum = _f("[currency/cycle]")
    unit: str | None = _f("currency/cycle")


class ThroughputPerYear(Block):
    limit_mwh: OptNum = _f("[MWh/year]")
    horizon_limit_mwh: OptNum = _f("pro rata [MWh]")
    discharge_mwh: OptNum = _f("[MWh]")
    binding: StrictBool | None = _f("the limit binds")
    value_per_mwh: OptNum = _f("[currency/MWh]")
    unit: str | None = _f("currency/MWh")


class CyclesPerDay(Block):
    limit: OptNum = _f("[cycles/day]")
    days: StrictInt | None = _f("local days")
    days_binding: StrictInt | None = _f("days")
    max_cycles_in_a_day: OptNum = _f("[cycles]")
    value_per_cycle_mean: OptNum = _f("[currency/cycle]")
    value_per_cycle_max: OptNum = _f("[currency/cycle]")
    value_per_cycle_total: OptNum = _f("[currency/cycle]")
    unit: str | None = _f("currency/cycle")


class CycleLimits(Block):
    cycles_per_year: CyclesPerYear | None = _f("MODEL.md 14")
    throughput_per_year: ThroughputPerYear | None = _f("MODEL.md 14")
    cycles_per_day: CyclesPerDay | None = _f("MODEL.md 14")


class FamilyDuals(Block):
    rows: StrictInt | None = _f("rows of the family")
    binding_rows: StrictInt | None = _f("rows with a nonzero dual")
    min: OptNum = _f("[currency per unit of the row]")
    max: OptNum = _f("[currency per unit of the row]")


class ShadowPrices(Block):
    available: StrictBool | None = _f("duals were returned (an LP)")
    reason: str | None = _f("why not")
    groups: dict[str, dict[Literal["export", "import"], GroupPrice]] | None = _f("group limits")
    storage_energy: dict[str, StoragePrice] | None = _f("value of one more MWh stored")
    cycle_limits: dict[str, CycleLimits] | None = _f("ageing limits per unit")
    user_families: dict[str, FamilyDuals] | None = _f("families an extension added")


class Diagnostics(Block):
    energy_balance: EnergyBalance | None = _f("balance residuals")
    simultaneous_charge_discharge: Simultaneous | None = _f("charge and discharge at once")
    binding_limits: BindingLimits | None = _f("binding grid limits")
    soc_bounds: dict[str, SocBounds] | None = _f("per unit")
    unserved_energy: Unserved | None = _f("load shed")
    shadow_prices: ShadowPrices | None = _f("LP duals")


# --------------------------------------------------------------------------- features
class Assessment(Block):
    model: str | None = _f("the life model")
    horizon_years: OptNum = _f("[years]")
    soh_end_of_horizon: OptNum = _f("[fraction]")
    soh_after_one_year: OptNum = _f("[fraction]")
    fade_per_year: OptNum = _f("[fraction/year]")
    calendar_fade_first_year: OptNum = _f("[fraction/year]")
    cycle_fade_first_year: OptNum = _f("[fraction/year]")
    equivalent_full_cycles_per_year: OptNum = _f("[cycles/year]")
    end_of_life_year: OptNum = _f("[years] (None: not within max_years)")
    end_of_life_soh: OptNum = _f("[fraction]")
    simulated_years: OptNum = _f("[years]")
    soh_by_year: list[Num] | None = _f("[fraction]")
    rainflow_cycles: OptNum = _f("[cycles]")
    rainflow_mean_depth: OptNum = _f("[fraction]")
    rainflow_max_depth: OptNum = _f("[fraction]")


class UnitLife(Block):
    cost_model: Literal["linear", "depth_aware"] | None = _f("ageing cost model")
    curve: str | None = _f("cycle-life curve")
    linear_ageing_cost: OptNum = _f("[currency]")
    depth_aware_ageing_cost: OptNum = _f("[currency]")
    life_share_priced: OptNum = _f("share of life the LP priced [fraction]")
    life_share_priced_per_year: OptNum = _f("[fraction/year]")
    segment_cost_per_mwh: list[Num] | None = _f("[currency/MWh]")
    segment_discharge_mwh: list[Num] | None = _f("[MWh]")
    equivalent_linear_cost_per_mwh: OptNum = _f("[currency/MWh]")
    assessment: Assessment | None = _f("BLAST-Lite assessment")
    lp_implied_fade_per_year: OptNum = _f("[fraction/year]")
    lp_vs_assessed_cycle_fade: OptNum = _f("ratio")


class AssessedFinance(Block):
    available: StrictBool | None = _f("a unit was assessed")
    reason: str | None = _f("why not")
    npv: OptNum = _f("[currency]")
    irr: OptNum = _f("[fraction/year]")
    simple_payback_years: OptNum = _f("[years]")
    discounted_payback_years: OptNum = _f("[years]")
    lcos_per_mwh: OptNum = _f("[currency/MWh]")
    capacity_by_year: list[Num] | None = _f("[fraction]")
    augmentation_years: list[StrictInt] | None = _f("project years")
    augmentation_cost: OptNum = _f("[currency]")
    augmentation_threshold_soh: OptNum = _f("[fraction]")
    redispatched_years: StrictBool | None = _f("every year re-solved")
    redispatch_solves: StrictInt | None = _f("solves")
    augmentation_years_by_unit: dict[str, list[StrictInt]] | None = _f("project years")
    gross_value_by_year: list[Num] | None = _f("[currency]")
    trajectory: str | None = _f("'sequential' or 'year-1 profile repeated'")
    soh_by_year_by_unit: dict[str, list[Num]] | None = _f(
        "unit → SOH at the start of each project year (sequential) [fraction]"
    )
    discharge_mwh_by_year_by_unit: dict[str, list[Num]] | None = _f(
        "unit → discharge per project year (sequential) [MWh/year]"
    )
    npv_year1_trajectory: OptNum = _f("NPV on year 1's fade repeated [currency]")
    note: str | None = _f("what differs from the economics block")


class Finance(Block):
    npv: OptNum = _f("[currency]")
    irr: OptNum = _f("[fraction/year] (None: no sign change)")
    simple_payback_years: OptNum = _f("[years]")
    discounted_payback_years: OptNum = _f("[years]")
    lcos_per_mwh: OptNum = _f("[currency/MWh discharged]")
    capex: OptNum = _f("year 0 [currency]")
    annual_gross_value: OptNum = _f("[currency/year]")
    annual_degradation_cost: OptNum = _f("[currency/year]")
    annual_fixed_om: OptNum = _f("[currency/year]")
    annual_discharge_mwh: OptNum = _f("[MWh/year]")
    annual_cycles: OptNum = _f("[cycles/year]")
    lifetime_years: StrictInt | None = _f("[years]")
    discount_rate: OptNum = _f("[1/year]")
    calendar_fade_per_year: OptNum = _f("[fraction/year]")
    cycle_fade_per_cycle: OptNum = _f("[fraction/cycle]")
    replacement_year: StrictInt | None = _f("0: none")
    replacement_cost: OptNum = _f("[currency]")
    price_escalation_per_year: OptNum = _f("[fraction/year]")
    om_escalation_per_year: OptNum = _f("[fraction/year]")
    annual_operating_value: OptNum = _f("[currency/year]")
    horizon_fraction: OptNum = _f("H, horizon / year")
    scale_factor: OptNum = _f("1/H")
    assumptions: list[str] | None = _f("stated assumptions")
    warnings: list[str] | None = _f("finance warnings")
    with_assessed_fade: AssessedFinance | None = _f("with the assessed state of health")


class Operation(Block):
    mode: str | None = _f("rolling")
    window: str | None = _f("e.g. 24h")
    lookahead: str | None = _f("e.g. 24h")
    terminal_value: str | None = _f("terminal rule")
    forecast: list[str] | None = _f("forecast signals")


class WindowRecord(Block):
    window: StrictInt | None = _f("index")
    start: str | None = _f("ISO 8601")
    committed_periods: StrictInt | None = _f("periods")
    planned_periods: StrictInt | None = _f("periods")
    plan_build_seconds: OptNum = _f(_T)
    plan_solve_seconds: OptNum = _f(_T)
    settle_seconds: OptNum = _f(_T)
    plan_objective: OptNum = _f("[currency]")
    settled_cost: OptNum = _f("[currency]")
    deviation_mwh: OptNum = _f("[MWh]")
    reused: StrictBool | None = _f("model reused")


class StateOfHealth(Block):
    by_window: dict[str, list[Num]] | None = _f("unit → SOH per window [fraction]")
    rule: str | None = _f("how SOH is carried")


class Windows(Block):
    count: StrictInt | None = _f("windows")
    solve_seconds_total: OptNum = _f(_T)
    solve_seconds_max: OptNum = _f(_T)
    build_seconds_total: OptNum = _f(_T)
    settle_seconds_total: OptNum = _f(_T)
    settle_seconds_max: OptNum = _f(_T)
    deviation_mwh: OptNum = _f("[MWh]")
    terminal_shortfall_mwh: OptNum = _f("[MWh]")
    terminal_shortfall_by_unit: Keyed | None = _f("[MWh]")
    relaxed_windows: list[StrictInt] | None = _f("window indices")
    soc_drift_below_min_mwh: OptNum = _f("[MWh]")
    terminal_value: str | None = _f("terminal rule")
    terminal_value_seconds: OptNum = _f(_T)
    model_reuse: StrictBool | None = _f("models reused between windows")
    total_seconds: OptNum = _f(_T)
    state_of_health: StateOfHealth | None = _f("ageing carried between windows")
    per_window: list[WindowRecord] | None = _f("one record per window")


class ExtensionRef(Block):
    module: str | None = _f("module of the hook")
    function: str | None = _f("function name")
    file: str | None = _f("source file")
    sha256: str | None = _f("SHA-256 of the source file [hex]")
    couples_sites: StrictBool | None = _f("the hook may couple sites")


class Caveat(Block):
    preset: str | None = _f("preset name")
    kind: str | None = _f("preset kind")
    confidence: str | None = _f("confidence grade")
    keys: list[str] | None = _f("scenario keys that use it")
    reason: str | None = _f("synthetic or low confidence")
    note: str | None = _f("the preset's note")
    text: str | None = _f("the warning shown")


class SweepRef(Block):
    name: str | None = _f("sweep name")
    case: str | None = _f("case name")
    hash: str | None = _f("case hash")
    overrides: dict[str, Any] | None = _f("scenario key → value (open-ended)")
    worker: str | None = _f("worker")
    seconds: OptNum = _f(_T)
