"""Forecast trajectories for rolling operation: seeded AR(1) errors applied to the actual
signals, or forecast series evaluated like the scenario's own (:func:`build_forecasts`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from essdispatch.base.exceptions import ScenarioError
from essdispatch.base.inputs import Inputs
from essdispatch.operate.operation_spec import ErrorModel, ForecastSignal, OperationSpec
from essdispatch.scenario.series import SeriesContext, evaluate_series


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
        from essdispatch.scenario.checks import _preset_kind_problem

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
