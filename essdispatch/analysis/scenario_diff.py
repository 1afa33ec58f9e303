"""Why results differ: the scenario keys whose values differ between runs
(:func:`scenario_diff`, on :func:`flatten_scenario`'s ``{key.path: value}``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from essdispatch.analysis.results_folder import Results, _as_results
from essdispatch.base.exceptions import ResultsError


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"

    __str__ = __repr__


#: stands for a key that one scenario file does not have
MISSING: Any = _Missing()


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        named = all(isinstance(v.get("name"), str) for v in obj)
        for i, v in enumerate(obj):
            tag = v["name"] if named else str(i)
            item = {k: x for k, x in v.items() if not (named and k == "name")}
            _flatten(item, f"{prefix}[{tag}]", out)
            if named and not item:
                out[f"{prefix}[{tag}]"] = {}
    else:
        out[prefix] = obj


def flatten_scenario(text: str) -> dict[str, Any]:
    """Scenario YAML -> ``{key.path: value}``; list items that have a ``name`` are
    keyed by it (``sites[yulin-pv-1].storage[bess-a].power_mw``)."""
    from essdispatch.base.exceptions import ScenarioError
    from essdispatch.base.yamlio import load_yaml_text

    try:
        doc = load_yaml_text(text, "scenario.yaml") if text.strip() else {}
    except ScenarioError as exc:
        raise ResultsError(f"scenario.yaml cannot be parsed: {exc}") from exc
    out: dict[str, Any] = {}
    _flatten(doc if doc is not None else {}, "", out)
    return out


def scenario_diff(runs: Sequence[str | Path | Results]) -> list[tuple[str, tuple[Any, ...]]]:
    """The scenario keys whose values differ between the runs.

    Returns ``[(key.path, (value in run 1, value in run 2, ...)), ...]`` in the
    order the keys first appear; a key a file does not have is :data:`MISSING`.
    A file that is not YAML is compared as a whole (key ``<scenario.yaml>``).
    """
    rs = _as_results(runs)
    flats: list[dict[str, Any]] = []
    for r in rs:
        try:
            flats.append(flatten_scenario(r.scenario_text))
        except ResultsError:
            texts = tuple(x.scenario_text for x in rs)
            return [] if len(set(texts)) <= 1 else [("<scenario.yaml>", texts)]
    keys: list[str] = []
    seen: set[str] = set()
    for flat in flats:
        for k in flat:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    out = []
    for k in keys:
        vals = tuple(f.get(k, MISSING) for f in flats)
        if any(not _same(vals[0], v) for v in vals[1:]):
            out.append((k, vals))
    return out


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=0) or (
            math.isnan(float(a)) and math.isnan(float(b))
        )
    return bool(a == b)
