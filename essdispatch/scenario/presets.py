"""Built-in China reference data with provenance: the ``{preset: NAME}`` series form.

Every number comes from a data file in ``essdispatch/data/`` that carries its ``source`` and
``confidence`` next to it (see ``essdispatch/data/README.md``):

- ``emission_factors.csv``: MEE/NBS average grid CO2 factors (national, residual mix,
  fossil-only, the seven regional grids, Shaanxi and Jiangxi), the ETS compliance factor and the
  CCER operating-margin (OM) factors used as *marginal proxies* [tCO2/MWh];
- ``coal_benchmark.csv``: coal-fired on-grid benchmark prices [CNY/kWh, resolved to CNY/MWh];
- ``tariffs.yaml``: Shaanxi and Jiangxi time-of-use (TOU) tariffs;
- ``spot.yaml``: Shaanxi day-ahead market statistics and the parameters of a *synthetic* hourly
  price shape calibrated to them.

No official hourly (or marginal) carbon-intensity series exists for China: the ``cn-grid-om/*``
factors and the fossil-only average are proxies for the marginal factor, not measurements.

Public API
----------
``resolve_preset(name, params)``
    A float (a constant series), a dict (a ``tou`` series spec) or a callable
    ``f(index, dt_h) -> ndarray`` (a generated series).
``list_presets()``, ``describe_preset(name)``, ``preset_info(name)``, ``presets_table_text(filter)``
    What is available, with sources (``essdispatch presets [FILTER]`` prints the last).
``tou_period_at(name, timestamp)``, ``tou_periods(name, index)``
    The TOU period name in force at a local wall-clock time.
``shaanxi_spot_synthetic(index, dt_h, seed, year)``
    The synthetic Shaanxi spot shape (its docstring documents the method).
``daylight_weight(index, dt_h)``
    The clear-sky-like daylight weight used to define the solar-weighted spot price.

Everything is loaded lazily on first use and cached; nothing is built at import time.

This module holds :func:`resolve_preset`; the registry and the data files are read in
``presets_data``, the generated series made in ``presets_series``, the listings written in
``presets_text``. Their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping

from essdispatch.scenario.presets_data import (  # re-export
    CONFIDENCE_LEVELS,
    KIND_EMISSION_FACTOR,
    KIND_ETS_FACTOR,
    KIND_MARGINAL_PROXY,
    KIND_MODELLED_AVERAGE,
    KIND_MODELLED_CF_SHARE,
    KIND_MODELLED_MARGINAL,
    KIND_PRICE_BENCHMARK,
    KIND_SPOT,
    KIND_TOU,
    PresetInfo,
    PresetValue,
    SeriesFunction,
    _registry,
    list_aliases,
    preset_info,
)
from essdispatch.scenario.presets_series import (  # re-export
    _check_params,
    _modelled,
    _spot,
    _tou_spec,
    daylight_weight,
    shaanxi_spot_synthetic,
    tou_period_at,
    tou_periods,
)
from essdispatch.scenario.presets_text import (  # re-export
    describe_preset,
    list_presets,
    presets_table_text,
)

__all__ = [
    "CONFIDENCE_LEVELS",
    "KIND_EMISSION_FACTOR",
    "KIND_ETS_FACTOR",
    "KIND_MARGINAL_PROXY",
    "KIND_MODELLED_AVERAGE",
    "KIND_MODELLED_CF_SHARE",
    "KIND_MODELLED_MARGINAL",
    "KIND_PRICE_BENCHMARK",
    "KIND_SPOT",
    "KIND_TOU",
    "PresetInfo",
    "SeriesFunction",
    "daylight_weight",
    "describe_preset",
    "list_aliases",
    "list_presets",
    "preset_info",
    "presets_table_text",
    "resolve_preset",
    "shaanxi_spot_synthetic",
    "tou_period_at",
    "tou_periods",
]


# --------------------------------------------------------------------------------------------
# Public API


def resolve_preset(name: str, params: Mapping[str, float] | None = None) -> PresetValue:
    """Resolve ``{preset: NAME, ...params}`` to something the series layer can evaluate.

    Parameters
    ----------
    name : preset name or alias (case-insensitive); see ``list_presets()``
    params : preset parameters (all numbers):

        - emission factors, OM proxies, coal benchmarks: none;
        - TOU tariffs: ``floating`` [CNY/MWh] (the floating energy component, default the
          illustrative level in ``tariffs.yaml``), ``adder`` [CNY/MWh] (non-floating components:
          T&D, funds, system-operation fee, line loss), ``multiplier_only`` (0/1: return the bare
          multipliers instead of prices);
        - ``shaanxi-spot-synthetic``: ``seed`` (int >= 0, default 0), ``year`` (2025: floor 40;
          2026: floor 0 CNY/MWh; default: follow the calendar year of each timestamp).

    Returns
    -------
    float
        A constant: tCO2/MWh for emission factors, CNY/MWh for prices (coal benchmarks are
        published in CNY/kWh and converted).
    dict
        ``{"tou": {"periods": {period: CNY/MWh}, "hours": ..., "default": ..., "seasons": [...]}}``
        with prices ``adder + floating * multiplier``.
    callable
        ``f(index, dt_h) -> ndarray`` [CNY/MWh] for the synthetic spot shape; ``index`` holds
        period starts (tz-aware), ``dt_h`` the period length [h].

    Raises
    ------
    KeyError
        Unknown name (the message suggests close names).
    ValueError
        Bad or unknown parameters.
    """
    reg = _registry()
    key = reg.canonical(name)
    if key in reg.constants:
        _check_params(key, params, set())
        return float(reg.constants[key].value or 0.0)
    if key in reg.tariffs:
        return _tou_spec(reg.tariffs[key], key, params)
    if key in reg.modelled:
        return _modelled(key, reg.modelled[key][1], reg.modelled[key][2], params)
    return _spot(key, reg.spot[key][1], params)
