"""Every ``<series>`` form of SCENARIOS.md, in one registry.

A series spec is validated into a small frozen pydantic model (a plain ``float``
for the constant form) and evaluated on the horizon into a float64 numpy array
of length T, one value per period ``[t, t+Δt)``. The unit of the values is the
unit of the key the series sits under (currency/MWh for a price, tCO2/MWh for a
carbon intensity, MW for a load, per-unit for a solar profile or availability).

=============  ==========================================================
form           evaluation
=============  ==========================================================
``number``     the constant, every period
``hourly``     24 values by local wall-clock hour, time-weighted over the period
``tou``        time-of-use periods by local wall-clock ranges (with seasons)
``csv``        a column of a CSV file: mean over ``[t, t+Δt)`` or forward-filled
``pvlib``      clear-sky plane-of-array irradiance / 1000 W/m², solar only
``preset``     a named built-in series (:func:`essdispatch.scenario.presets.resolve_preset`)
=============  ==========================================================

The forms live in :data:`SERIES_FORMS` (name -> :class:`SeriesForm`); the
pydantic type of a series is :data:`SeriesSpec`, a tagged union built from that
registry whose tags are ``"series=<form>"`` (:func:`loc_to_path` strips them
from error key paths). :func:`evaluate_series` evaluates a spec through the
registry, so there is no chain of ``if`` branches over the forms.

This module holds the ``preset`` form, the union and :func:`evaluate_series`; the other
forms and what they share are in ``series_base`` (errors, context, registry, ``number``),
``series_clock`` (``hourly``, ``tou``), ``series_csv`` and ``series_pvlib``, imported here
in registry order. Their public names are re-exported from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any, Union

import numpy as np
from pydantic import Discriminator, Field, Tag, TypeAdapter, ValidationError

from essdispatch.base.exceptions import ScenarioError
from essdispatch.scenario.series_base import (  # re-export
    MINUTES_PER_DAY,
    SERIES_FORMS,
    TAG_PREFIX,
    FiniteFloat,
    SeriesContext,
    SeriesForm,
    _eval_number,
    _Form,
    _register,
    format_timestamp,
    join_key,
    loc_to_path,
    refuse_bool_numbers,
    rule_error,
    validation_problems,
)
from essdispatch.scenario.series_clock import (  # re-export
    Bound,
    HourlySeries,
    HourRange,
    TouSeason,
    TouSeries,
    TouSpec,
)
from essdispatch.scenario.series_csv import CARBON_UNITS, CsvSeries  # re-export
from essdispatch.scenario.series_pvlib import (  # re-export
    DAILY_CLEARNESS_CONCENTRATION,
    PvlibSeries,
    PvlibSpec,
    full_load_scale,
    pvlib_cache_dir,
)

__all__ = [
    "DAILY_CLEARNESS_CONCENTRATION",
    "SERIES_FORMS",
    "TAG_PREFIX",
    "CsvSeries",
    "HourlySeries",
    "PresetSeries",
    "PvlibSeries",
    "PvlibSpec",
    "SeriesContext",
    "SeriesForm",
    "SeriesSpec",
    "TouSeason",
    "TouSeries",
    "TouSpec",
    "evaluate_series",
    "Bound",
    "HourRange",
    "MINUTES_PER_DAY",
    "join_key",
    "pvlib_cache_dir",
    "CARBON_UNITS",
    "FiniteFloat",
    "SeriesMemo",
    "full_load_scale",
    "refuse_bool_numbers",
    "format_timestamp",
    "loc_to_path",
    "parse_series",
    "rule_error",
    "validation_problems",
]

MAX_PRESET_DEPTH = 5


# --------------------------------------------------------------------------- preset
class PresetSeries(_Form):
    """A named built-in series: ``{preset: NAME, params: {key: number}}``.

    :func:`essdispatch.scenario.presets.resolve_preset` returns a number or a series
    mapping (evaluated through this registry) or a callable
    ``(index, dt_h) -> array`` of length T.
    """

    preset: str = Field(min_length=1, description="preset name")
    params: dict[str, FiniteFloat] = Field(
        default_factory=dict, description="preset parameters [units per preset]"
    )


def _exc_text(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


@_register("preset", PresetSeries, "{preset: NAME, params: {key: number}}")
def _eval_preset(spec: PresetSeries, ctx: SeriesContext) -> np.ndarray:
    if ctx.depth >= MAX_PRESET_DEPTH:
        raise ctx.error(f"preset {spec.preset!r}: presets nested too deeply")
    try:
        from essdispatch.scenario.presets import resolve_preset
    except ImportError as e:
        raise ctx.error(f"presets are not available: {e}") from None
    name = spec.preset
    try:
        result = resolve_preset(name, dict(spec.params))
    except ScenarioError as e:
        raise ctx.error(f"preset {name!r}: {'; '.join(m for _, m in e.problems)}") from None
    except (ValueError, KeyError) as e:
        raise ctx.error(f"preset {name!r}: {_exc_text(e)}") from None
    if isinstance(result, bool):
        raise ctx.error(f"preset {name!r} returned {result!r}, not a series")
    if isinstance(result, (int, float, np.number)):
        return _eval_number(float(result), ctx)
    if isinstance(result, Mapping):
        inner = ctx.at(ctx.key, depth=ctx.depth + 1)
        try:
            parsed = parse_series(result, inner)
        except ScenarioError as e:
            detail = "; ".join(f"{k}: {m}" if k else m for k, m in e.problems)
            raise ctx.error(f"preset {name!r} returned an invalid series: {detail}") from None
        return evaluate_series(parsed, inner)
    if callable(result):
        try:
            values = result(ctx.index, ctx.dt_h)
            return np.asarray(values, dtype=np.float64)
        except (ValueError, KeyError, TypeError, ArithmeticError) as e:
            raise ctx.error(f"preset {name!r}: {_exc_text(e)}") from None
    raise ctx.error(f"preset {name!r} returned {type(result).__name__}, not a series")


# --------------------------------------------------------------------------- union
def _form_tag(value: Any) -> str | None:
    """Union tag of a raw or parsed series value; ``None`` when no form matches."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return TAG_PREFIX + "number"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return None
        return TAG_PREFIX + "number"
    if isinstance(value, Mapping):
        names = [name for name in SERIES_FORMS if name in value]
        return TAG_PREFIX + names[0] if len(names) == 1 else None
    for name, form in SERIES_FORMS.items():
        if isinstance(form.model, type) and isinstance(value, form.model):
            return TAG_PREFIX + name
    return None


_ACCEPTED = ", ".join(n for n in SERIES_FORMS if n != "number")

SeriesSpec = Annotated[
    Union[tuple(Annotated[f.model, Tag(TAG_PREFIX + n)] for n, f in SERIES_FORMS.items())],  # type: ignore[valid-type]  # noqa: UP007
    Discriminator(
        _form_tag,
        custom_error_type="series_form",
        custom_error_message=(
            f"not a series: expected a number or a mapping with exactly one of the keys {_ACCEPTED}"
        ),
    ),
]
"""The pydantic type of a ``<series>``: one of the registered forms."""

_ADAPTER: TypeAdapter[Any] = TypeAdapter(SeriesSpec)
_FORM_BY_TYPE: dict[Any, SeriesForm] = {f.model: f for f in SERIES_FORMS.values()}
_FORM_BY_TYPE[float] = SERIES_FORMS["number"]


def parse_series(value: Any, ctx: SeriesContext) -> Any:
    """Validate a raw ``<series>`` value; ScenarioError with key paths under ``ctx.key``."""
    try:
        return _ADAPTER.validate_python(value)
    except ValidationError as e:
        raise ScenarioError(ctx.file, validation_problems(e, ctx.key, SeriesSpec)) from None


def evaluate_series(spec: Any, ctx: SeriesContext) -> np.ndarray:
    """Evaluate a parsed series spec: float64 array of length T, every value finite.

    Dispatches through :data:`SERIES_FORMS`; raises :class:`ScenarioError` at
    ``ctx.key`` for any problem with the data the spec points to.
    """
    if ctx.memo is not None:
        return ctx.memo.evaluate(spec, replace(ctx, memo=None))
    form = _FORM_BY_TYPE.get(type(spec))
    if form is None:
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            form = SERIES_FORMS["number"]
        else:
            raise TypeError(f"not a parsed series spec: {spec!r}")
    values = np.asarray(form.evaluate(spec, ctx), dtype=np.float64)
    if values.shape != (ctx.n,):
        raise ctx.error(f"series has shape {values.shape}, expected ({ctx.n},) (one per period)")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise ctx.error(f"value {values[i]} is not finite at {format_timestamp(ctx.index[i])}")
    return values


class SeriesMemo:
    """Evaluate each distinct series once across several scenarios (the cases of a sweep).

    Cases usually change numbers, not series, yet every case is validated in full; a
    pvlib profile costs ~0.2 s per site. Pass one memo to
    :func:`essdispatch.scenario.load.scenario_from_dict` for every case. The key is the
    spec and everything the value depends on: the horizon (first period, length,
    frequency, time zone) and every field of the :class:`SeriesContext` but the
    per-scenario cache and the file name (so a field added to the context is part of
    the key). Errors are not memoised, so each case reports its own.
    """

    _SKIP = frozenset({"index", "cache", "memo", "file"})

    def __init__(self) -> None:
        self.values: dict[tuple[Any, ...], np.ndarray] = {}
        self.hits = 0

    def key(self, spec: Any, ctx: SeriesContext) -> tuple[Any, ...] | None:
        """The memo key of ``spec`` at ``ctx``; None when it cannot be formed."""
        import json
        from dataclasses import fields

        try:
            plain = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else spec
            text = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)
            index = ctx.index
            where = (
                str(index[0]) if len(index) else "",
                len(index),
                index.freqstr,
                str(index.tz),
            )
            rest = tuple(
                (f.name, str(getattr(ctx, f.name))) for f in fields(ctx) if f.name not in self._SKIP
            )
        except (TypeError, ValueError, AttributeError):
            return None
        return (type(spec).__name__, text, where, rest)

    def evaluate(self, spec: Any, ctx: SeriesContext) -> np.ndarray:
        """:func:`evaluate_series`, from the memo when this series was evaluated before."""
        key = self.key(spec, ctx)
        if key is None:
            return evaluate_series(spec, ctx)
        if key in self.values:
            self.hits += 1
        else:
            self.values[key] = evaluate_series(spec, ctx)
        return self.values[key]
