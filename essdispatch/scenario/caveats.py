"""Which built-in data a result rests on, and which of it a reader must be warned about.

A headline figure is only as good as its inputs. :func:`presets_used` finds every
``{preset: NAME}`` in a scenario text; :func:`data_caveats` names those that are
synthetic (``spot-synthetic``) or of low confidence (``L-M``, ``L``, ``UNCONFIRMED``),
with one line each, so that the console and the report can say so next to the
result.
"""

from __future__ import annotations

from typing import Any

import yaml

#: confidence levels that are flagged next to a result (see essdispatch.scenario.presets)
LOW_CONFIDENCE = ("L-M", "L", "UNCONFIRMED")
#: preset kinds that are flagged whatever their confidence
SYNTHETIC_KINDS = ("spot-synthetic",)


def _walk(node: Any, path: str, out: dict[str, list[str]]) -> None:
    if isinstance(node, dict):
        name = node.get("preset")
        if isinstance(name, str):
            out.setdefault(name, []).append(path)
        for key, value in node.items():
            _walk(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk(value, f"{path}[{i}]", out)


def presets_used(scenario_text: str) -> dict[str, list[str]]:
    """Preset name -> the scenario keys that use it (``{}`` when the text is not YAML)."""
    try:
        doc = yaml.safe_load(scenario_text) if scenario_text else None
    except yaml.YAMLError:
        return {}
    out: dict[str, list[str]] = {}
    _walk(doc, "", out)
    return out


def data_caveats(scenario_text: str) -> list[dict[str, Any]]:
    """The synthetic or low-confidence presets a scenario uses, one record each.

    Each record: ``preset`` (canonical name), ``kind``, ``confidence``, ``keys`` (where
    the scenario uses it), ``reason`` (``synthetic`` or ``low confidence``), ``note``
    (the preset's caveat) and ``text`` (one line for the console).
    """
    from essdispatch.base.exceptions import EssDispatchError
    from essdispatch.scenario.presets_data import preset_info

    found: dict[str, dict[str, Any]] = {}
    for name, keys in presets_used(scenario_text).items():
        try:
            info = preset_info(name)
        except (EssDispatchError, KeyError, ValueError):
            continue  # an unknown preset fails validation elsewhere
        synthetic = info.kind in SYNTHETIC_KINDS
        low = info.confidence in LOW_CONFIDENCE
        if not (synthetic or low):
            continue
        rec = found.setdefault(
            info.name,
            {
                "preset": info.name,
                "kind": info.kind,
                "confidence": info.confidence,
                "keys": [],
                "reason": "synthetic" if synthetic else "low confidence",
                "note": info.note,
            },
        )
        rec["keys"].extend(keys)
    for rec in found.values():
        what = "a synthetic series" if rec["reason"] == "synthetic" else "low-confidence data"
        rec["text"] = (
            f"this result rests on {what}: preset {rec['preset']} ({rec['kind']}, confidence "
            f"{rec['confidence']}) used by {', '.join(rec['keys'])}; "
            f"see `essdispatch presets {rec['preset']}`"
        )
    return list(found.values())
