"""Operate on forecasts, settle on actuals: rolling-horizon simulation (``operation:``).

A perfect-foresight solve (:func:`essdispatch.dispatch.solve_dispatch`) knows every
signal of the horizon in advance. An operator does not: each day it schedules the
storage on forecasts and is paid on what actually happens. :func:`run_rolling`
simulates that, window by window (docs/OPERATION.md has the user's view):

1. **Plan.** Solve the LP of docs/MODEL.md on the *forecast* signals over
   ``[a, c)``: the committed window ``[a, b)`` (``window`` long) plus
   ``lookahead``, starting from the settled stored energy ``e[a]``. The end
   state ``e[c]`` is free within the SOC bounds and valued at the
   ``terminal_value``, except when ``c = N`` (the window reaches the end of the
   horizon): then the scenario's terminal rule applies, relative to the
   horizon's initial state (budgets carry across windows; no terminal
   constraint is re-imposed per window).
2. **Commit** the plan's ``ch`` and ``dis`` of ``[a, b)``.
3. **Settle** ``[a, b)`` on the *actual* signals with a settlement LP (see
   :func:`settlement_lp`): the same LP on actuals, with the storage actions tied
   to the committed values by deviation variables that cost ``π`` per MWh. The
   schedule is therefore kept wherever it is physically possible; where it is
   not (a no-grid-charging unit meets less actual solar surplus than
   forecast; a reduced charge later leaves too little energy for a committed
   discharge), it deviates by the least energy possible. Curtailment, import,
   export and, last, shedding absorb the rest at the actual prices. The
   settled ``e[b]`` is the next window's start: SOC carries over exactly.

The result is a :class:`~essdispatch.results.DispatchResult` on the actual
signals, whose objective is the actual cost of the settled dispatch (the MODEL.md
objective evaluated on it). The energy balance closes on actuals in every period
to solver precision, because every settlement LP contains constraint 1.

Forecasts are one trajectory per signal for the whole horizon (as issued once;
they are not re-issued per window): a series, or a seeded AR(1) error applied
to the actual signal (:func:`build_forecasts`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from essdispatch.ageing import HealthTracker, segment_initial, segment_width
from essdispatch.exceptions import ScenarioError, SolveError
from essdispatch.inputs import Inputs
from essdispatch.lp import Layout, LinearProgram, assemble_lp
from essdispatch.results import DispatchResult, extract, recomputed_objective
from essdispatch.rolling_segments import carry_segments, tie_segments
from essdispatch.series import (
    SeriesContext,
    SeriesSpec,
    evaluate_series,
    refuse_bool_numbers,
    rule_error,
    validation_problems,
)
from essdispatch.solve import (
    SolverOptions,
    Termination,
    highs_for,
    highs_said,
    run_highs,
    solve_lp,
    termination_of,
)

__all__ = [
    "ErrorModel",
    "ForecastSignal",
    "Forecasts",
    "OperationSpec",
    "RollingStats",
    "WindowStats",
    "ar1_errors",
    "Operation",
    "OperationOutcome",
    "build_forecasts",
    "parse_operation",
    "prepare_operation",
    "run_rolling",
    "settlement_lp",
    "storage_energy_value",
]

FORECAST_SIGNALS = ("solar", "load", "price", "buy_price", "sell_price", "carbon")
"""Signals that may be forecast; the others are known exactly."""

#: the settlement penalty per MWh of deviation is DEVIATION_FACTOR × the largest
#: per-MWh money coefficient of the window (plus 1): larger than anything a deviation can earn
DEVIATION_FACTOR = 2.0
#: the penalty per MWh of missing the terminal rule at the end of the horizon, × π
TERMINAL_FACTOR = 2.0
#: a terminal shortfall above this [MWh] breaks the terminal rule and is reported
TERMINAL_SHORTFALL_TOL_MWH = 1e-6
#: largest forecast error standard deviation: multiplicative (a fraction: 5 = 500 %) and
#: additive (the unit of the signal: MW, currency/MWh or tCO2/MWh)
MAX_MULTIPLICATIVE_SD = 5.0
MAX_ADDITIVE_SD = 1e6


# =========================================================================== spec
class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return refuse_bool_numbers(cls, info.field_name, value)


class ErrorModel(_Spec):
    """A seeded AR(1) forecast error on the actual signal.

    ``ε[0] ~ N(0, sd²)``, ``ε[t] = rho·ε[t−1] + sd·√(1−rho²)·η[t]``, ``η ~ N(0, 1)``
    (stationary: every ``ε[t]`` has standard deviation ``sd``).
    ``multiplicative``: ``forecast = actual·max(0, 1 + ε)`` (``sd`` a fraction);
    ``additive``: ``forecast = actual + ε`` (``sd`` in the signal's unit).
    """

    model: Literal["ar1"] = Field(description="error process (only ar1)")
    sd: float = Field(ge=0, description="stationary standard deviation of ε")
    rho: float = Field(default=0.0, ge=0, lt=1, description="lag-1 autocorrelation of ε")
    seed: int = Field(default=0, ge=0, description="seed of the numpy Generator")
    kind: Literal["multiplicative", "additive"] = Field(
        default="multiplicative", description="how ε is applied to the actual signal"
    )

    @model_validator(mode="after")
    def _sane_sd(self) -> ErrorModel:
        limit = MAX_MULTIPLICATIVE_SD if self.kind == "multiplicative" else MAX_ADDITIVE_SD
        if self.sd > limit:
            what = "a fraction of the signal" if self.kind == "multiplicative" else "signal units"
            raise rule_error(
                [
                    (
                        "sd",
                        f"{self.sd:g} is beyond any sane forecast error (at most {limit:g}, {what})",
                    )
                ]
            )
        return self


class ForecastSignal(_Spec):
    """The forecast of one signal: ``series`` or ``error`` (exactly one)."""

    series: SeriesSpec | None = Field(
        default=None,
        description="the forecast itself, any <series> form (solar: per-unit of capacity_mw)",
    )
    error: ErrorModel | None = Field(default=None, description="an error model on the actuals")

    @model_validator(mode="after")
    def _one(self) -> ForecastSignal:
        if (self.series is None) == (self.error is None):
            raise rule_error([("", "give exactly one of 'series' or 'error'")])
        return self


class Forecasts(_Spec):
    """Forecast per signal; a signal not listed is forecast perfectly.

    ``price`` applies to both buy and sell price (a series sets both; an error
    model applies the same ε to both, so buy ≥ sell is kept); ``buy_price`` /
    ``sell_price`` override one side. ``carbon`` applies to every carbon series.
    """

    solar: ForecastSignal | None = None
    load: ForecastSignal | None = None
    price: ForecastSignal | None = None
    buy_price: ForecastSignal | None = None
    sell_price: ForecastSignal | None = None
    carbon: ForecastSignal | None = None


def _duration(value: Any) -> pd.Timedelta:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 24h, 15min or 1d")
    if isinstance(value, int | float):  # a bare number means hours
        value = f"{value}h"
    if isinstance(value, str) and value.strip().lower() in ("0", "none"):
        value = "0h"
    try:
        out = pd.Timedelta(str(value))
    except (ValueError, TypeError):
        raise ValueError(f"expected a duration such as 24h, 15min or 1d, got {value!r}") from None
    if out < pd.Timedelta(0):
        raise ValueError("must not be negative")
    return out


class OperationSpec(_Spec):
    """The scenario's ``operation:`` key (docs/OPERATION.md)."""

    mode: Literal["perfect_foresight", "rolling"] = Field(
        default="perfect_foresight", description="perfect_foresight (one solve) | rolling"
    )
    window: pd.Timedelta = Field(
        default=pd.Timedelta(hours=24), description="decisions committed per step [duration]"
    )
    lookahead: pd.Timedelta = Field(
        default=pd.Timedelta(hours=24),
        description="extra horizon optimised but not committed [duration]",
    )
    forecast: Forecasts = Field(default_factory=Forecasts)
    terminal_value: Literal["none", "perfect_foresight"] | float = Field(
        default="perfect_foresight",
        description="value of stored energy at the end of each planning horizon: none | "
        "perfect_foresight | currency/MWh",
    )

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True
    )

    @field_validator("window", "lookahead", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> pd.Timedelta:
        return _duration(value)

    @field_validator("window")
    @classmethod
    def _positive(cls, value: pd.Timedelta) -> pd.Timedelta:
        if value <= pd.Timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @property
    def rolling(self) -> bool:
        return self.mode == "rolling"

    def periods(self, dt_h: float, file: str | None = None) -> tuple[int, int]:
        """(window, lookahead) in periods of ``dt_h`` hours; ScenarioError unless whole."""
        problems = []
        out = []
        for key in ("window", "lookahead"):
            n = getattr(self, key) / pd.Timedelta(hours=dt_h)
            if abs(n - round(n)) > 1e-9:
                problems.append(
                    (
                        f"operation.{key}",
                        f"{getattr(self, key)} is not a whole number of periods of {dt_h:g} h",
                    )
                )
            out.append(round(n))
        if problems:
            raise ScenarioError(file, problems)
        return out[0], out[1]

    def describe(self) -> dict:
        """The ``operation`` block of summary.json."""
        return {
            "mode": self.mode,
            "window": _fmt_duration(self.window),
            "lookahead": _fmt_duration(self.lookahead),
            "terminal_value": self.terminal_value,
            "forecast": sorted(k for k in FORECAST_SIGNALS if getattr(self.forecast, k)),
        }


def _fmt_duration(td: pd.Timedelta) -> str:
    hours = td / pd.Timedelta(hours=1)
    return f"{hours:g}h" if hours == int(hours) else f"{td / pd.Timedelta(minutes=1):g}min"


def parse_operation(raw: Mapping[str, Any] | None, file: str | None = None) -> OperationSpec:
    """Validate the scenario's ``operation:`` mapping (None: perfect foresight).

    Raises
    ------
    ScenarioError naming ``file`` and every bad key as ``operation.<path>``.
    """
    if raw is None:
        return OperationSpec()
    if isinstance(raw, OperationSpec):
        return raw
    if not isinstance(raw, Mapping):
        raise ScenarioError(file, [("operation", "expected a mapping")])
    try:
        return OperationSpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise ScenarioError(file, validation_problems(exc, "operation", OperationSpec)) from None


# =========================================================================== forecasts
def ar1_errors(
    rng: np.random.Generator, shape: tuple[int, int], sd: float, rho: float
) -> np.ndarray:
    """(rows, T) stationary AR(1) draws with standard deviation ``sd`` and lag-1 ``rho``."""
    eta = rng.standard_normal(shape)
    scale = np.full(shape[1], sd * math.sqrt(1.0 - rho * rho))
    if shape[1]:
        scale[0] = sd
    from scipy.signal import lfilter  # imported here: scipy.signal costs ~0.9 s to import

    return lfilter([1.0], [1.0, -rho], eta * scale, axis=-1)


def _apply_error(actual: np.ndarray, err: ErrorModel, shared: bool) -> np.ndarray:
    """The forecast of ``actual`` (S, T) under ``err``; ``shared``: one ε for every site."""
    rng = np.random.default_rng(err.seed)
    rows = 1 if shared else actual.shape[0]
    eps = ar1_errors(rng, (rows, actual.shape[1]), err.sd, err.rho)
    if err.kind == "multiplicative":
        return actual * np.maximum(0.0, 1.0 + eps)
    return actual + eps


@dataclass(frozen=True)
class SiteInfo:
    """What a forecast series needs to know about the sites beyond :class:`Inputs`.

    capacity_mw : (S,) solar capacity [MW] (solar forecasts are clipped to it;
        a ``series`` forecast of solar is a per-unit profile of it)
    lat, lon : per site, or None
    """

    capacity_mw: np.ndarray
    lat: tuple[float | None, ...]
    lon: tuple[float | None, ...]

    @classmethod
    def of(cls, inputs: Inputs, scenario: Any = None) -> SiteInfo:
        """From the scenario's sites when available, else capacity = the peak of ``pv``."""
        S = inputs.n_sites
        cap = inputs.pv.max(axis=1, initial=0.0) if inputs.n_periods else np.zeros(S)
        lat: list[float | None] = [None] * S
        lon: list[float | None] = [None] * S
        sites = getattr(scenario, "sites", None) or ()
        by_name = {getattr(s, "name", None): s for s in sites}
        for i, name in enumerate(inputs.site_names):
            site = by_name.get(name)
            if site is None:
                continue
            solar = getattr(site, "solar", None)
            c = getattr(solar, "capacity_mw", None) if solar is not None else None
            if c is not None:
                cap[i] = max(float(c), cap[i])
            loc = getattr(site, "location", None)
            lat[i] = getattr(loc, "lat", None)
            lon[i] = getattr(loc, "lon", None)
        return cls(np.asarray(cap, dtype=float), tuple(lat), tuple(lon))


def build_forecasts(
    inputs: Inputs,
    spec: OperationSpec,
    *,
    base_dir: str | Path = ".",
    file: str | None = None,
    sites: SiteInfo | None = None,
) -> Inputs:
    """The forecast problem: ``inputs`` with forecast solar, load, prices and carbon.

    Rules (docs/OPERATION.md): a ``series`` applies to every site (solar: a
    per-unit profile × each site's capacity); an ``error`` draws independent
    ε per site for solar and load and one shared ε for price and carbon (grid
    signals). Solar forecasts are clipped to ``[0, capacity]``, load and carbon
    to ``≥ 0``; multiplicative factors to ``≥ 0``, so buy ≥ sell is kept when
    both sides move together. A forecast with buy < sell in some period is an
    error (``operation.forecast``).
    """
    sites = sites or SiteInfo.of(inputs)
    fc = spec.forecast
    S, T = inputs.n_sites, inputs.n_periods

    def series(sig: str, f: ForecastSignal, solar: bool = False) -> np.ndarray:
        key = f"operation.forecast.{sig}.series"
        from essdispatch.scenario import _preset_kind_problem

        kind = {"solar": "profile", "load": "load", "carbon": "carbon"}.get(sig, "price")
        wrong = _preset_kind_problem(f.series, kind, inputs.currency)
        if wrong:
            raise ScenarioError(file, [(key, wrong)])
        rows = []
        for s in range(S):
            ctx = SeriesContext(
                index=inputs.index,
                dt_h=inputs.dt_h,
                base_dir=Path(base_dir),
                file=file,
                key=key,
                lat=sites.lat[s],
                lon=sites.lon[s],
                solar=solar,
                carbon=sig.startswith("carbon"),
            )
            rows.append(evaluate_series(f.series, ctx))
        return np.vstack(rows) if rows else np.zeros((0, T))

    def forecast(sig: str, actual: np.ndarray, shared: bool, solar: bool = False) -> np.ndarray:
        f: ForecastSignal | None = getattr(fc, sig)
        if f is None:
            return actual
        if f.error is not None:
            return _apply_error(actual, f.error, shared)
        out = series(sig, f, solar)
        return out * sites.capacity_mw[:, None] if solar else out

    pv = np.clip(forecast("solar", inputs.pv, False, True), 0.0, sites.capacity_mw[:, None])
    load = np.maximum(0.0, forecast("load", inputs.load, False))
    buy = forecast("price", inputs.buy_price, True)
    sell = buy if fc.price is not None and fc.price.series is not None else None
    if sell is None:
        sell = forecast("price", inputs.sell_price, True)
    buy = forecast("buy_price", buy, True) if fc.buy_price else buy
    sell = forecast("sell_price", sell, True) if fc.sell_price else sell
    carbon = {k: np.maximum(0.0, forecast("carbon", v, True)) for k, v in inputs.carbon.items()}
    bad = buy < sell - 1e-9
    if bad.any():
        s, t = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise ScenarioError(
            file,
            [
                (
                    "operation.forecast",
                    f"forecast buy price {buy[s, t]:g} is below the sell price {sell[s, t]:g} "
                    f"at {inputs.index[t]} (site {inputs.site_names[s]!r}); forecast both "
                    "sides with 'price' or keep buy ≥ sell",
                )
            ],
        )
    return replace(
        inputs, pv=pv, load=load, buy_price=buy, sell_price=np.array(sell), carbon=carbon
    )


# =========================================================================== helpers
def window_inputs(inputs: Inputs, a: int, c: int, e_start: np.ndarray) -> Inputs:
    """``inputs`` restricted to periods ``[a, c)``, starting from stored energy ``e_start``.

    The terminal rule is ``free`` (the caller sets the end-state bounds), and a
    MILP stays a MILP.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        soc0 = np.where(inputs.energy > 0, e_start / inputs.energy, 0.0)
    return replace(
        inputs,
        index=inputs.index[a:c],
        pv=inputs.pv[:, a:c],
        load=inputs.load[:, a:c],
        buy_price=inputs.buy_price[:, a:c],
        sell_price=inputs.sell_price[:, a:c],
        carbon={k: v[:, a:c] for k, v in inputs.carbon.items()},
        availability=inputs.availability[:, a:c],
        carbon_free_share=None
        if inputs.carbon_free_share is None
        else inputs.carbon_free_share[:, a:c],
        soc_initial=soc0,
        terminal=("free",) * inputs.n_units,
    )


def terminal_targets(inputs: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """(B,) lower and upper bounds of ``e[N]`` from each unit's terminal rule [MWh]."""
    e_lo = inputs.soc_min * inputs.energy
    e_hi = inputs.soc_max * inputs.energy
    e0 = inputs.soc_initial * inputs.energy
    term = np.asarray(inputs.terminal, dtype=object)
    lo = np.where(term == "free", e_lo, np.maximum(e_lo, e0))
    hi = np.where(term == "cyclic", e0, e_hi)
    return lo, hi


def storage_energy_value(
    forecasts: Inputs, options: SolverOptions | None = None
) -> tuple[np.ndarray, float]:
    """(B, N+1) value of stored energy at each time [currency/MWh], and the solve time [s].

    The shadow price of the storage energy equation (constraint 4) in a
    perfect-foresight solve of the whole horizon *on the forecasts* (what the
    operator knows): ``value[b, t+1] = −dual(storage row b, t)``, the cost saved
    by one more MWh stored at the start of period t+1. Solved site by site
    (sites couple only through group limits; for a terminal value the per-site
    prices are a good enough approximation when a group limit binds).
    ``value[:, 0]`` repeats ``value[:, 1]``.
    """
    B, T = forecasts.n_units, forecasts.n_periods
    value = np.zeros((B, T + 1))
    seconds = 0.0
    for s in np.unique(forecasts.unit_site):
        sub = forecasts.subset_sites(np.array([s]))
        lp = assemble_lp(replace(sub, exclusive=False))
        sol = solve_lp(lp, options)
        seconds += sol.solve_seconds
        units = np.flatnonzero(forecasts.unit_site == s)
        duals = sol.row_dual[lp.row_families["storage"]].reshape(sub.n_units, T)
        value[units, 1:] = -duals
    if T:
        value[:, 0] = value[:, 1]
    return value, seconds


# =========================================================================== solving
class _Planner:
    """Solves the window LPs, reusing one HiGHS model per window length when allowed.

    With ``reuse``, the first LP of each length is passed to HiGHS in full; the
    next ones change only the column costs, column bounds and row bounds (the
    matrix of two windows of the same length is identical unless the problem
    is a MILP, whose exclusive rows carry the availability), and HiGHS starts
    from the previous basis.
    """

    def __init__(self, options: SolverOptions, reuse: bool) -> None:
        self.options = options
        self.reuse = reuse
        self.models: dict[tuple[int, int], highspy.Highs] = {}

    def solve(self, lp: LinearProgram, label: str) -> tuple[np.ndarray, float, float, bool]:
        """(x, objective, seconds, reused) of an optimal solution; SolveError otherwise."""
        key = (lp.n_cols, lp.n_rows)
        h = self.models.get(key) if self.reuse and not lp.is_mip else None
        t0 = time.perf_counter()
        reused = h is not None
        if h is None:
            h = highs_for(lp, self.options)
            if self.reuse and not lp.is_mip:
                self.models[key] = h
        else:
            cols = np.arange(lp.n_cols, dtype=np.int32)
            rows = np.arange(lp.n_rows, dtype=np.int32)
            h.changeColsCost(lp.n_cols, cols, lp.c)
            h.changeColsBounds(lp.n_cols, cols, lp.col_lower, lp.col_upper)
            if lp.n_rows:
                h.changeRowsBounds(lp.n_rows, rows, lp.row_lower, lp.row_upper)
        run_highs(h)
        seconds = time.perf_counter() - t0
        term = termination_of(h)
        if term is not Termination.OPTIMAL and reused:  # a stale basis: retry from scratch
            h.clearSolver()
            run_highs(h)
            seconds = time.perf_counter() - t0
            term = termination_of(h)
        if term is not Termination.OPTIMAL:
            said = highs_said(h) if term is Termination.ERROR else None
            raise SolveError(
                f"{label}: solver stopped: {term.value}"
                + (f": HiGHS said: {said}" if said else ""),
                term.value,
            )
        x = np.asarray(h.getSolution().col_value, dtype=float)
        return x, float(h.getInfo().objective_function_value), seconds, reused


def settlement_lp(
    actual: Inputs,
    ch_plan: np.ndarray,
    dis_plan: np.ndarray,
    terminal: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    assemble: Callable[[Inputs], LinearProgram] | None = None,
    seg_plan: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[LinearProgram, float]:
    """The LP that settles a committed storage schedule on the actual signals.

    Columns: the LP of ``actual`` (a window, MILP rows dropped: the committed
    schedule already respects them), then ``d⁻, d⁺ ≥ 0`` for every ``ch`` and
    ``dis`` column, tied by ``x + d⁻ − d⁺ = x*`` (``x*`` the committed value),
    then for the last window ``z, w ≥ 0`` per unit with a terminal rule,
    ``e[end] + z − w = goal`` (``terminal = (units, goal, cyclic)``: unit indices,
    target energy [MWh], whether ``w`` is penalised too).
    Objective: the actual cost of MODEL.md plus ``π·Δt·Σ(d⁻ + d⁺)`` plus
    ``TERMINAL_FACTOR·π`` per MWh of ``z`` (and of ``w`` for a cyclic unit), where
    ``π = DEVIATION_FACTOR · (max |price + λ·ci| + max cdeg) + 1`` over the window
    [currency/MWh]: more than any deviation can earn, less than the default VoLL,
    so the schedule is kept unless it is physically impossible or would shed load.

    ``assemble`` builds the LP of ``actual`` (default :func:`assemble_lp`; an
    extension's program, whose own columns follow the layout).

    ``seg_plan = (seg_ch, seg_dis)``: the committed flows of the SOC segments (MODEL.md
    13), tied like ``ch`` and ``dis`` by columns appended after ``z, w`` (rows after the
    terminal rows), so the settled segment energies are the planned ones: the split of
    charge over segments costs nothing inside the window, and left free the settlement
    could end the window on any split (the next window starts from it).

    Returns
    -------
    (lp, π). The first ``Layout.of(actual).n_cols`` columns are the usual layout.
    """
    base = (assemble or assemble_lp)(replace(actual, exclusive=False))
    lay = base.layout
    T, dt = actual.n_periods, actual.dt_h
    ci = actual.carbon_price * actual.steer_carbon
    money = np.concatenate(
        [np.abs(actual.buy_price + ci).ravel(), np.abs(actual.sell_price + ci).ravel(), [0.0]]
    )
    pi = DEVIATION_FACTOR * (float(money.max()) + float(actual.degradation_cost.max(initial=0.0)))
    pi += 1.0
    tied = np.concatenate([lay.idx("ch").ravel(), lay.idx("dis").ravel()])
    target = np.concatenate([np.asarray(ch_plan).ravel(), np.asarray(dis_plan).ravel()])
    units, goal, cyclic = terminal if terminal is not None else (np.zeros(0, int), [], [])
    units = np.asarray(units, dtype=np.int64)
    K, U, n0 = tied.size, units.size, base.n_cols
    n = n0 + 2 * K + 2 * U
    r, u = np.arange(K), np.arange(U)
    one_k, one_u = np.ones(K), np.ones(U)
    # x + d⁻ − d⁺ = x*  (K rows);  e[end] + z − w = goal  (U rows)
    extra = sp.coo_array(
        (
            np.concatenate([one_k, one_k, -one_k, one_u, one_u, -one_u]),
            (
                np.concatenate([r, r, r, K + u, K + u, K + u]),
                np.concatenate(
                    [
                        tied,
                        n0 + r,
                        n0 + K + r,
                        lay.idx("e")[units, T],
                        n0 + 2 * K + u,
                        n0 + 2 * K + U + u,
                    ]
                ),
            ),
        ),
        shape=(K + U, n),
    )
    A = sp.csc_array(sp.vstack([sp.hstack([base.A, sp.csc_array((base.n_rows, n - n0))]), extra]))
    rhs = np.concatenate([target, np.asarray(goal, dtype=float)])
    z_cost = np.full(U, TERMINAL_FACTOR * pi)
    w_cost = np.where(np.asarray(cyclic, dtype=bool), TERMINAL_FACTOR * pi, 0.0)
    lp = LinearProgram(
        c=np.concatenate([base.c, np.full(2 * K, pi * dt), z_cost, w_cost]),
        offset=0.0,
        A=A,
        row_lower=np.concatenate([base.row_lower, rhs]),
        row_upper=np.concatenate([base.row_upper, rhs]),
        col_lower=np.concatenate([base.col_lower, np.zeros(n - n0)]),
        col_upper=np.concatenate([base.col_upper, np.full(n - n0, np.inf)]),
        integrality=np.zeros(n, dtype=bool),
        layout=lay,
        row_families={
            **base.row_families,
            "settle_tie": slice(base.n_rows, base.n_rows + K),
            "settle_terminal": slice(base.n_rows + K, base.n_rows + K + U),
        },
    )
    if seg_plan is not None and actual.n_segments:
        lp = tie_segments(lp, seg_plan, pi * dt)
    return lp, pi


# =========================================================================== stats
@dataclass
class WindowStats:
    """One step of the rolling simulation (times [s], energy [MWh], money [currency])."""

    window: int
    start: str
    committed_periods: int
    planned_periods: int
    plan_build_seconds: float
    plan_solve_seconds: float
    settle_seconds: float
    plan_objective: float
    settled_cost: float
    deviation_mwh: float
    reused: bool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RollingStats:
    """How the rolling simulation went, window by window."""

    windows: list[WindowStats] = field(default_factory=list)
    reuse: bool = True
    terminal_value: str = "none"
    terminal_value_seconds: float = 0.0
    terminal_shortfall_mwh: float = 0.0
    terminal_shortfall_by_unit: dict[str, float] = field(default_factory=dict)
    relaxed_windows: list[int] = field(default_factory=list)
    soc_drift_mwh: float = 0.0
    total_seconds: float = 0.0
    state_of_health: dict = field(default_factory=dict)  # essdispatch.ageing.HealthTracker
    #: (K,) segment energies each window's plan started from (MODEL.md 13), not in summary
    segment_starts: list[np.ndarray] = field(default_factory=list, repr=False)

    def summary(self, per_window: bool = True) -> dict:
        """The ``windows`` block of summary.json."""
        solve = [w.plan_solve_seconds for w in self.windows]
        out: dict[str, Any] = {
            "count": len(self.windows),
            "solve_seconds_total": float(sum(solve)),
            "solve_seconds_max": float(max(solve, default=0.0)),
            "build_seconds_total": float(sum(w.plan_build_seconds for w in self.windows)),
            "settle_seconds_total": float(sum(w.settle_seconds for w in self.windows)),
            "settle_seconds_max": float(max((w.settle_seconds for w in self.windows), default=0)),
            "deviation_mwh": float(sum(w.deviation_mwh for w in self.windows)),
            "terminal_shortfall_mwh": self.terminal_shortfall_mwh,
            "terminal_shortfall_by_unit": dict(self.terminal_shortfall_by_unit),
            "relaxed_windows": sorted(set(self.relaxed_windows)),
            "soc_drift_below_min_mwh": self.soc_drift_mwh,
            "terminal_value": self.terminal_value,
            "terminal_value_seconds": self.terminal_value_seconds,
            "model_reuse": self.reuse,
            "total_seconds": self.total_seconds,
        }
        if self.state_of_health:
            out["state_of_health"] = self.state_of_health
        if per_window:
            out["per_window"] = [w.as_dict() for w in self.windows]
        return out


# =========================================================================== the loop
def energy_floor(inputs: Inputs, e_start: np.ndarray, steps: int) -> np.ndarray:
    """(B, steps+1) lower bound of stored energy in a window starting at ``e_start`` [MWh].

    ``smin·E``, except for a unit that may not charge from the grid whose energy
    self-discharge can carry below ``smin·E`` before any solar surplus comes:
    there the bound follows the drift ``(1−σ)^(Δt·t)·e_start``. A
    perfect-foresight plan never gets there; a myopic one can (it ends a window
    at ``smin`` before a night), and physics cannot be infeasible.
    """
    floor = np.broadcast_to((inputs.soc_min * inputs.energy)[:, None], (inputs.n_units, steps + 1))
    decay = (1.0 - inputs.self_discharge) ** inputs.dt_h
    drift = e_start[:, None] * decay[:, None] ** np.arange(steps + 1)[None, :]
    no_gc = ~inputs.grid_charging.astype(bool)
    return np.where(no_gc[:, None], np.minimum(floor, drift), floor)


def _set_floor(lp: LinearProgram, floor: np.ndarray) -> None:
    """Lower bounds of ``e[:, 1:]`` of a window LP (``e[:, 0]`` is fixed)."""
    cols = lp.layout.idx("e")[:, 1:]
    lp.col_lower[cols] = np.minimum(lp.col_lower[cols], floor[:, 1:])


def _reachable(inputs: Inputs, e_start: np.ndarray, a: int, c: int) -> np.ndarray:
    """(B,) the most energy each unit can hold at ``c`` charging at full power from ``e[a]``."""
    dt = inputs.dt_h
    decay = (1.0 - inputs.self_discharge) ** dt
    gain = inputs.eta_charge[:, None] * inputs.charge_power[:, None] * inputs.availability[:, a:c]
    steps = c - a
    powers = decay[:, None] ** np.arange(steps - 1, -1, -1)[None, :]
    e = decay**steps * e_start + dt * (gain * powers).sum(axis=1)
    return np.minimum(e, inputs.soc_max * inputs.energy)


def _relax_terminal(
    lp: LinearProgram,
    fc: Inputs,
    e_cols: np.ndarray,
    final_lo: np.ndarray,
    e_lo: np.ndarray,
) -> None:
    """Make the terminal rule of a plan LP soft: ``e[end]`` up to the target, rewarded.

    The reward per MWh is ``TERMINAL_FACTOR · π`` (π of :func:`settlement_lp` on the
    forecasts), so the plan reaches as close to the rule as it physically can.
    """
    ci = fc.carbon_price * fc.steer_carbon
    money = max(
        float(np.abs(fc.buy_price + ci).max(initial=0.0)),
        float(np.abs(fc.sell_price + ci).max(initial=0.0)),
    )
    pi = DEVIATION_FACTOR * (money + float(fc.degradation_cost.max(initial=0.0))) + 1.0
    ruled = final_lo > e_lo  # units with a binding terminal rule (free: final_lo = smin·E)
    cols = e_cols[ruled]
    lp.col_lower[cols] = e_lo[ruled]
    lp.col_upper[cols] = final_lo[ruled]
    lp.c[cols] -= TERMINAL_FACTOR * pi


def run_rolling(
    inputs: Inputs,
    spec: OperationSpec,
    forecasts: Inputs | None = None,
    options: SolverOptions | None = None,
    progress: bool = False,
    *,
    reuse: bool = True,
    energy_value: np.ndarray | None = None,
    extension: Any = None,
) -> tuple[DispatchResult, RollingStats]:
    """Simulate operation on forecasts with settlement on actuals (module docstring).

    Parameters
    ----------
    inputs : the actual signals (what settles)
    spec : the ``operation:`` block (window, lookahead, terminal_value)
    forecasts : the same problem with forecast signals (None: perfect forecasts)
    options : HiGHS options
    progress : show a tqdm progress bar over the windows
    reuse : keep one HiGHS model per window length and change its data, instead
        of passing a new model every window
    energy_value : (B, N+1) value of stored energy [currency/MWh] for
        ``terminal_value: perfect_foresight`` (default: :func:`storage_energy_value`
        of the forecasts)
    extension : an :class:`essdispatch.extend.Extension` applied to every window's
        plan and settlement LP (no model reuse then: its rows may change with the data)

    Returns
    -------
    (result on the actual signals, stats). ``result.objective`` is the actual
    cost of the settled dispatch.
    """
    t_start = time.perf_counter()
    options = options or SolverOptions()
    forecasts = inputs if forecasts is None else forecasts
    N, B = inputs.n_periods, inputs.n_units
    W, L = spec.periods(inputs.dt_h)
    assemble = extension.assemble if extension is not None else assemble_lp
    reuse = reuse and extension is None
    stats = RollingStats(reuse=reuse, terminal_value=str(spec.terminal_value))

    if spec.terminal_value == "perfect_foresight" and B and energy_value is None:
        energy_value, stats.terminal_value_seconds = storage_energy_value(forecasts, options)
    if spec.terminal_value == "none" or not B:
        unit_value = None
    elif spec.terminal_value == "perfect_foresight":
        unit_value = energy_value
    else:
        unit_value = np.full((B, N + 1), float(spec.terminal_value))

    final_lo, final_hi = terminal_targets(inputs)
    e_lo, e_hi = inputs.soc_min * inputs.energy, inputs.soc_max * inputs.energy
    starts = np.arange(0, N, W)
    arrays = {k: np.zeros((inputs.n_sites, N)) for k in ("cur", "imp", "exp", "shed")}
    arrays.update(ch=np.zeros((B, N)), dis=np.zeros((B, N)), e=np.zeros((B, N + 1)))
    seg_names = ("seg_ch", "seg_dis") if inputs.n_segments else ()  # MODEL.md 13
    arrays.update({k: np.zeros((inputs.n_segments, N)) for k in seg_names})
    seg_now = None  # settled segment energies carried between windows (MODEL.md 13)
    if seg_names:
        arrays["seg_e"] = np.zeros((inputs.n_segments, N + 1))
        arrays["seg_e"][:, 0] = seg_now = segment_initial(inputs)
    e_now = inputs.soc_initial * inputs.energy
    arrays["e"][:, 0] = e_now
    health = HealthTracker.of(inputs)  # SOH from realised cycles between windows (MODEL.md 13)
    actual_cost = 0.0
    planner = _Planner(options, reuse)
    settler = _Planner(options, reuse)
    term = np.asarray(inputs.terminal, dtype=object)

    iterator: Any = starts
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(starts, desc="windows", unit="window", leave=False)
    for k, a in enumerate(iterator):
        a = int(a)
        b = min(a + W, N)
        c = min(b + L, N)
        # ---------------------------------------------------------- plan on forecasts
        t0 = time.perf_counter()
        fc = carry_segments(window_inputs(forecasts, a, c, e_now), seg_now)
        fc = health.apply(fc) if health is not None else fc
        lp = assemble(fc)
        if seg_names:
            stats.segment_starts.append(lp.col_lower[lp.layout.idx("seg_e")[:, 0]].copy())
        e_cols = lp.layout.idx("e")[:, c - a] if B else np.zeros(0, dtype=np.int64)
        final = c == N and B > 0
        if final:  # the scenario's terminal rule, capped at what can be reached
            reach = _reachable(inputs, e_now, a, c)
            lp.col_lower[e_cols] = np.minimum(final_lo, reach)
            lp.col_upper[e_cols] = np.maximum(final_hi, lp.col_lower[e_cols])
        elif unit_value is not None:
            lp.c[e_cols] -= unit_value[:, c]
        build = time.perf_counter() - t0
        # relaxations, tried in turn only when the plan is infeasible on the forecasts:
        # the self-discharge floor (energy_floor), then a soft terminal rule (_relax_terminal)
        relax: list[Callable[[], None]] = []
        if B:
            relax.append(partial(_set_floor, lp, energy_floor(inputs, e_now, c - a)))
        if final:
            relax.append(partial(_relax_terminal, lp, fc, e_cols, final_lo, e_lo))
        while True:
            try:
                x, plan_obj, plan_seconds, reused = planner.solve(lp, f"window {k} (plan)")
                break
            except SolveError as exc:
                if not relax or exc.termination != Termination.INFEASIBLE.value:
                    raise
                relax.pop(0)()
                stats.relaxed_windows.append(k)
        ch_plan = lp.layout.take(x, "ch")[:, : b - a]
        dis_plan = lp.layout.take(x, "dis")[:, : b - a]
        # ---------------------------------------------------------- settle on actuals
        t1 = time.perf_counter()
        act = carry_segments(window_inputs(inputs, a, b, e_now), seg_now)
        act = health.apply(act) if health is not None else act
        terminal = None
        if b == N and B:
            units = np.flatnonzero(term != "free")
            goal = np.where(term == "cyclic", final_hi, final_lo)[units]
            terminal = (units, goal, term[units] == "cyclic")
        seg_plan = (
            tuple(lp.layout.take(x, name)[:, : b - a] for name in seg_names) if seg_names else None
        )
        slp, _pi = settlement_lp(act, ch_plan, dis_plan, terminal, assemble, seg_plan)
        if B:
            floor = energy_floor(inputs, e_now, b - a)
            _set_floor(slp, floor)
        xs, _obj, _settle_solve, _ = settler.solve(slp, f"window {k} (settlement)")
        lay = slp.layout
        n0 = lay.n_cols
        K = 2 * B * (b - a)
        for name in ("cur", "imp", "exp", "shed", "ch", "dis", *seg_names):
            arrays[name][:, a:b] = lay.take(xs, name)
        e_win = lay.take(xs, "e")
        if B:
            e_win = np.clip(e_win, floor, e_hi[:, None])
            stats.soc_drift_mwh = max(
                stats.soc_drift_mwh, float((e_lo[:, None] - e_win).max(initial=0.0))
            )
            arrays["e"][:, a + 1 : b + 1] = e_win[:, 1:]
            e_now = e_win[:, -1].copy()
        if seg_names:
            seg_win = np.clip(lay.take(xs, "seg_e"), 0.0, segment_width(act)[:, None])
            arrays["seg_e"][:, a + 1 : b + 1] = seg_win[:, 1:]
            seg_now = seg_win[:, -1].copy()
        if health is not None:
            health.update(act, lay.take(xs, "dis"), lay.take(xs, "seg_dis") if seg_names else None)
        window_cost = float(slp.c[:n0] @ xs[:n0])
        actual_cost += window_cost
        deviation = float(xs[n0 : n0 + 2 * K].sum()) * inputs.dt_h
        if terminal is not None:
            U = terminal[0].size
            short = xs[n0 + 2 * K : n0 + 2 * K + U]
            stats.terminal_shortfall_mwh = float(short.sum())
            stats.terminal_shortfall_by_unit = {
                inputs.unit_names[int(u)]: float(v)
                for u, v in zip(terminal[0], short, strict=True)
                if v > TERMINAL_SHORTFALL_TOL_MWH
            }
        t2 = time.perf_counter()
        stats.windows.append(
            WindowStats(
                window=k,
                start=inputs.index[a].isoformat(),
                committed_periods=b - a,
                planned_periods=c - a,
                plan_build_seconds=build,
                plan_solve_seconds=plan_seconds,
                settle_seconds=t2 - t1,
                plan_objective=plan_obj,
                settled_cost=window_cost,
                deviation_mwh=deviation,
                reused=reused,
            )
        )
    layout = Layout.of(inputs)
    x_full = np.zeros(layout.n_cols)
    for name, arr in arrays.items():
        x_full[layout.idx(name).ravel()] = arr.ravel()
    result = extract(inputs, layout, x_full, actual_cost)
    result.figures["total_cost"] = recomputed_objective(result)
    result = replace(result, objective=result.figures["total_cost"])
    stats.total_seconds = time.perf_counter() - t_start
    if health is not None:
        stats.state_of_health = health.describe(inputs.unit_names)
    return result, stats


# =========================================================================== run.py hook
@dataclass
class OperationOutcome:
    """What a rolling run adds to :func:`essdispatch.run.run_scenario`; ``warnings``
    (a broken terminal rule) join the summary's warnings."""

    run: DispatchResult
    stats: RollingStats
    summary: dict
    warnings: list[str] = field(default_factory=list)


def terminal_warnings(stats: RollingStats, inputs: Inputs) -> list[str]:
    """A broken terminal rule, as loudly as unserved energy: the settlement on actuals
    ends below a unit's terminal target when keeping it would have cost more than the
    shortfall penalty (TERMINAL_FACTOR × π, below the value of lost load)."""
    if stats.terminal_shortfall_mwh <= TERMINAL_SHORTFALL_TOL_MWH:
        return []
    rule = dict(zip(inputs.unit_names, inputs.terminal, strict=True))
    units = ", ".join(
        f"{name} {mwh:.3g} MWh short of {rule.get(name, '?')}"
        for name, mwh in stats.terminal_shortfall_by_unit.items()
    )
    return [
        f"terminal rule broken: the rolling operation ends {stats.terminal_shortfall_mwh:.3g}"
        f" MWh below the end-of-horizon energy the scenario requires ({units})"
    ]


@dataclass
class Operation:
    """A scenario's validated ``operation: {mode: rolling}`` with its forecasts built."""

    spec: OperationSpec
    forecasts: Inputs
    file: str | None = None

    def run(
        self,
        inputs: Inputs,
        perfect: DispatchResult,
        options: SolverOptions | None = None,
        progress: Callable[[str], None] | None = None,
        extension: Any = None,
    ) -> OperationOutcome:
        """Simulate operation; ``perfect`` is the perfect-foresight run on the actuals.

        ``value_of_foresight`` = rolling objective − perfect-foresight objective
        [currency], what perfect information would have been worth (≥ 0 up to
        solver tolerance whenever the terminal rule is met at the end).
        """
        if progress is not None:
            progress("rolling-horizon operation")
        bar = progress is not None and not getattr(progress, "quiet", False)
        result, stats = run_rolling(
            inputs, self.spec, self.forecasts, options, bar, extension=extension
        )
        warnings = terminal_warnings(stats, inputs)
        summary = {
            "value_of_foresight": result.objective - perfect.objective,
            "operation": self.spec.describe(),
            "windows": stats.summary(),
            "perfect_foresight": dict(perfect.figures),
        }
        return OperationOutcome(result, stats, summary, warnings)


def prepare_operation(scenario: Any, inputs: Inputs) -> Operation | None:
    """Validate the scenario's ``operation:`` and build its forecasts; None unless rolling.

    Cheap (no solve), so that a bad ``operation:`` key fails before anything is solved.
    """
    raw = getattr(scenario, "operation", None)
    file = getattr(scenario, "file", None)
    spec = parse_operation(raw, file)
    if not spec.rolling:
        return None
    spec.periods(inputs.dt_h, file)
    forecasts = build_forecasts(
        inputs,
        spec,
        base_dir=getattr(scenario, "base_dir", None) or Path("."),
        file=file,
        sites=SiteInfo.of(inputs, scenario),
    )
    return Operation(spec, forecasts, file)
