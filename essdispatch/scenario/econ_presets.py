"""China economics reference values with provenance (``essdispatch/data/economics.yaml``).

Each entry carries its value (``None`` where no number was found), unit, source,
confidence and note, and names the scenario key it feeds. The example scenarios
cite these names beside the numbers they use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

CONFIDENCE_LEVELS = ("H", "M", "L-M", "L", "UNCONFIRMED")


@dataclass(frozen=True)
class EconomicsValue:
    """One reference value: ``value`` in ``unit`` (None: not found), with provenance."""

    name: str
    value: float | None
    unit: str
    source: str
    confidence: str
    note: str
    scenario_key: str


@cache
def economics_values() -> dict[str, EconomicsValue]:
    """Every entry of ``economics.yaml``, checked: a source and a known confidence each;
    a value below confidence H says so in its note; UNCONFIRMED entries carry no value."""
    text = resources.files("essdispatch.data").joinpath("economics.yaml").read_text("utf-8")
    from essdispatch.base.yamlio import load_yaml_text  # the one bounded, duplicate-refusing reader

    raw = load_yaml_text(text, "essdispatch/data/economics.yaml")
    out: dict[str, EconomicsValue] = {}
    for name, entry in raw.items():
        conf = str(entry["confidence"])
        if conf not in CONFIDENCE_LEVELS:
            raise ValueError(f"economics.yaml: {name}.confidence: unknown level {conf!r}")
        value = entry.get("value")
        if conf == "UNCONFIRMED" and value is not None:
            raise ValueError(f"economics.yaml: {name}.value: an UNCONFIRMED entry ships no value")
        note = " ".join(str(entry.get("note", "")).split())
        if value is not None and conf != "H" and not note.startswith(f"confidence {conf}"):
            raise ValueError(f"economics.yaml: {name}.note: must begin 'confidence {conf}'")
        out[name] = EconomicsValue(
            name=name,
            value=None if value is None else float(value),
            unit=str(entry["unit"]),
            source=" ".join(str(entry["source"]).split()),
            confidence=conf,
            note=note,
            scenario_key=str(entry.get("scenario_key", "")),
        )
    return out


def economics_value(name: str) -> EconomicsValue:
    """The reference value called ``name`` (KeyError lists the names)."""
    values = economics_values()
    if name not in values:
        raise KeyError(f"unknown economics value {name!r}; known: {', '.join(values)}")
    return values[name]


def economics_table() -> pd.DataFrame:
    """All reference values as a table (name, value, unit, confidence, scenario key, source)."""
    return pd.DataFrame(
        [
            {
                "name": v.name,
                "value": v.value,
                "unit": v.unit,
                "confidence": v.confidence,
                "scenario_key": v.scenario_key,
                "source": v.source,
            }
            for v in economics_values().values()
        ]
    ).set_index("name")
