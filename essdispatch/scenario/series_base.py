"""What every series form shares: errors as key paths, the evaluation context, the registry.

:func:`rule_error` / :func:`validation_problems` turn pydantic errors into
``(key_path, message)`` problems (:func:`loc_to_path` drops the union tags of
:data:`essdispatch.scenario.series.SeriesSpec`); :class:`SeriesContext` is what a series
needs to be evaluated and where it sits; :data:`SERIES_FORMS` is the registry of forms
(``_register``), which starts with the constant ``number`` form. The other forms live in
``series_clock`` (hourly, tou), ``series_csv``, ``series_pvlib`` and ``series`` (preset,
the union, :func:`~essdispatch.scenario.series.evaluate_series`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic import FiniteFloat as _FiniteFloat
from pydantic_core import PydanticCustomError

from essdispatch.base.exceptions import ScenarioError

if TYPE_CHECKING:
    from essdispatch.scenario.series import SeriesMemo

TAG_PREFIX = "series="
"""Prefix of the union tags of :data:`SeriesSpec`; never part of a key path."""

MINUTES_PER_DAY = 1440


# --------------------------------------------------------------------------- errors
def rule_error(problems: Sequence[tuple[str, str]]) -> PydanticCustomError:
    """A validation error carrying ``(sub_key, message)`` problems of one model.

    Raised from a ``model_validator``; :func:`validation_problems` appends each
    ``sub_key`` (e.g. ``"soc_min"``, ``"hours.peak[0]"``) to the model's key path.
    """
    problems = list(problems)
    summary = "; ".join(f"{k}: {m}" if k else m for k, m in problems)
    return PydanticCustomError(
        "essdispatch_rule", "{summary}", {"summary": summary, "problems": problems}
    )


def join_key(prefix: str, sub: str) -> str:
    """Join key-path pieces: ``join_key("a.b", "c[0]") == "a.b.c[0]"``."""
    if not sub:
        return prefix
    if not prefix:
        return sub
    return prefix + sub if sub.startswith("[") else f"{prefix}.{sub}"


def loc_to_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """Render a pydantic error location as a key path, ``sites[2].storage[0].soc_min``.

    Union tags of :data:`SeriesSpec` (``"series=tou"``) are dropped.
    """
    path = prefix
    for seg in loc:
        if isinstance(seg, int):
            path += f"[{seg}]"
        elif isinstance(seg, str) and seg.startswith(TAG_PREFIX):
            continue
        else:
            path = join_key(path, str(seg))
    return path


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` from a type."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin is Union or origin is types.UnionType:
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _model_at(root: Any, loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model class found by walking ``loc`` from ``root`` (best effort)."""
    tp = root
    for seg in loc:
        tp = _unwrap(tp)
        if isinstance(seg, str) and seg.startswith(TAG_PREFIX):
            form = SERIES_FORMS.get(seg[len(TAG_PREFIX) :])
            if form is None:
                return None
            tp = form.model
            continue
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(seg))
            if info is None:
                return None
            tp = info.annotation
        elif get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


_SHOW_INPUT = {
    "literal_error",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "float_parsing",
    "float_type",
    "int_parsing",
    "int_type",
    "string_type",
    "bool_parsing",
    "bool_type",
    "finite_number",
    "string_pattern_mismatch",
    "series_form",
    "dict_type",
    "list_type",
    "model_type",
    "tuple_type",
}


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_problems(
    exc: ValidationError, prefix: str = "", root: Any = None
) -> list[tuple[str, str]]:
    """Turn a pydantic ``ValidationError`` into ``(key_path, message)`` problems.

    ``prefix`` is the key path of the validated value; ``root`` its type, used to
    list the allowed keys when an unknown key is met.
    """
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        ctx = err.get("ctx") or {}
        if kind == "essdispatch_rule":
            base = loc_to_path(loc, prefix)
            out.extend((join_key(base, sub), msg) for sub, msg in ctx["problems"])
            continue
        key = loc_to_path(loc, prefix)
        msg = str(err.get("msg", "invalid"))
        for head in ("Value error, ", "Assertion failed, "):
            if msg.startswith(head):
                msg = msg[len(head) :]
        if kind == "missing":
            msg = "required key missing"
        elif kind == "extra_forbidden":
            msg = "unknown key"
            model = _model_at(root, loc[:-1]) if root is not None else None
            if model is not None:
                msg += f" (allowed here: {', '.join(model.model_fields)})"
        elif kind in _SHOW_INPUT and "input" in err:
            msg += f", got {_short_repr(err['input'])}"
        out.append((key, msg))
    return out


# --------------------------------------------------------------------------- context
@dataclass(frozen=True)
class SeriesContext:
    """What a series needs to be evaluated, and where it sits (for errors).

    Attributes
    ----------
    index : period starts, tz-aware ``DatetimeIndex`` of length T
    dt_h : period length Δt [h]
    base_dir : folder that relative CSV paths are relative to
    file : scenario file name used in error messages
    key : key path of the series, e.g. ``sites[0].solar.profile``
    lat, lon : site location [degrees north, degrees east]; ``None`` if not given
    solar : whether the series is a solar per-unit profile (``pvlib`` allowed)
    carbon : whether the series is a carbon intensity (a ``csv`` series may give ``unit:``)
    cache : shared by every series of one scenario (minute grid, parsed CSVs)
    depth : preset nesting depth
    memo : a :class:`SeriesMemo` shared by several scenarios (the cases of a sweep)
    """

    index: pd.DatetimeIndex
    dt_h: float
    base_dir: Path
    file: str | None = None
    key: str = ""
    lat: float | None = None
    lon: float | None = None
    solar: bool = False
    carbon: bool = False
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    depth: int = 0
    memo: SeriesMemo | None = field(default=None, compare=False, repr=False)

    @property
    def n(self) -> int:
        """Number of periods T."""
        return len(self.index)

    @property
    def tz(self) -> str:
        """The scenario time zone name."""
        return str(self.index.tz)

    def at(self, key: str, **changes: Any) -> SeriesContext:
        """The same context for the series at another key path (shares the cache)."""
        return replace(self, key=key, **changes)

    def error(self, message: str, sub: str = "") -> ScenarioError:
        """A one-problem :class:`ScenarioError` at ``key`` (+ ``sub``)."""
        return ScenarioError(self.file, [(join_key(self.key, sub), message)])


def format_timestamp(ts: pd.Timestamp) -> str:
    """``2026-06-01 14:00+08:00``: a period start as shown in messages."""
    text = ts.isoformat(sep=" ", timespec="minutes")
    return text


# --------------------------------------------------------------------------- base
def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(
            f"expected a number, got {str(value).lower()} (true/false is not a number)"
        )
    return value


FiniteFloat = Annotated[_FiniteFloat, BeforeValidator(_not_bool)]
"""A finite float that is not a YAML ``true``/``false`` (pydantic would read them as 1/0)."""


def _accepts_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    return any(_accepts_bool(a) for a in get_args(annotation) if not isinstance(a, str))


def refuse_bool_numbers(model: type[BaseModel], name: str | None, value: Any) -> Any:
    """``true``/``false`` (or a list holding them) given for a field that takes no bool."""
    if name is None or name not in model.model_fields:
        return value
    annotation = model.model_fields[name].annotation
    if isinstance(value, bool) and not _accepts_bool(annotation):
        raise ValueError(
            f"expected a number, got {str(value).lower()} (true/false is not a number)"
        )
    if isinstance(value, list) and not _accepts_bool(annotation):
        for i, item in enumerate(value):
            if isinstance(item, bool):
                raise ValueError(
                    f"item {i}: expected a number, got {str(item).lower()}"
                    " (true/false is not a number)"
                )
    return value


class _Form(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class SeriesForm:
    """One entry of :data:`SERIES_FORMS`: the spec type, its evaluator and an example."""

    name: str
    model: Any
    evaluate: Callable[[Any, SeriesContext], np.ndarray]
    example: str


SERIES_FORMS: dict[str, SeriesForm] = {}
"""The registry of series forms, keyed by form name (also the spec's mapping key)."""


def _register(name: str, model: Any, example: str) -> Callable[[Callable], Callable]:
    def deco(fn: Callable[[Any, SeriesContext], np.ndarray]) -> Callable:
        SERIES_FORMS[name] = SeriesForm(name, model, fn, example)
        return fn

    return deco


# --------------------------------------------------------------------------- number
@_register("number", FiniteFloat, "3.5")
def _eval_number(spec: float, ctx: SeriesContext) -> np.ndarray:
    """Constant: ``x[t] = value``."""
    return np.full(ctx.n, float(spec))
