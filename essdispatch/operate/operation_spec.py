"""The ``operation:`` block of a scenario, validated: perfect foresight or rolling horizon
(window, lookahead, terminal value) and the forecast of each signal (a series, or a seeded
error model on the actual signal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from essdispatch.base.exceptions import ScenarioError
from essdispatch.scenario.series import (
    SeriesSpec,
    refuse_bool_numbers,
    rule_error,
    validation_problems,
)

FORECAST_SIGNALS = ("solar", "load", "price", "buy_price", "sell_price", "carbon")
"""Signals that may be forecast; the others are known exactly."""

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
