"""What presets are available, as a table and as text: :func:`list_presets` (a DataFrame
with sources), :func:`describe_preset` (one preset in full) and :func:`presets_table_text`
(``essdispatch presets [FILTER]``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.scenario.presets_data import (
    CONFIDENCE_LEVELS,
    KIND_EMISSION_FACTOR,
    KIND_ETS_FACTOR,
    KIND_MARGINAL_PROXY,
    KIND_MODELLED_AVERAGE,
    KIND_MODELLED_CF_SHARE,
    KIND_MODELLED_MARGINAL,
    KIND_SPOT,
    KIND_TOU,
    PresetInfo,
    _registry,
    list_aliases,
)
from essdispatch.scenario.presets_series import _tou_spec


def list_presets() -> pd.DataFrame:
    """All presets, one row each, with their sources.

    Columns: name, kind, value (float, NaN unless constant), description, unit, year (Int64),
    source, confidence, note.
    """
    reg = _registry()
    infos = [
        *reg.constants.values(),
        *(t.info for t in reg.tariffs.values()),
        *(s[0] for s in reg.spot.values()),
        *(m[0] for m in reg.modelled.values()),
    ]
    frame = pd.DataFrame(
        {
            "name": [i.name for i in infos],
            "kind": [i.kind for i in infos],
            "value": [np.nan if i.value is None else i.value for i in infos],
            "description": [i.description for i in infos],
            "unit": [i.unit for i in infos],
            "year": pd.array([i.year for i in infos], dtype="Int64"),
            "source": [i.source for i in infos],
            "confidence": [i.confidence for i in infos],
            "note": [i.note for i in infos],
        }
    )
    return frame.sort_values("name", kind="stable", ignore_index=True)


def _fmt_range(pair: list[Any]) -> str:
    def fmt(b: Any) -> str:
        return f"{b:02d}:00" if isinstance(b, int) else str(b)

    return f"{fmt(pair[0])}-{fmt(pair[1])}"


def _fmt_schedule(hours: Mapping[str, Any], default: str) -> str:
    parts = [f"{p} {', '.join(_fmt_range(r) for r in ranges)}" for p, ranges in hours.items()]
    return "; ".join(parts) + f"; otherwise {default}"


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _usage(info: PresetInfo) -> str:
    if info.kind in (KIND_MODELLED_AVERAGE, KIND_MODELLED_MARGINAL, KIND_MODELLED_CF_SHARE):
        leaf = {
            KIND_MODELLED_AVERAGE: "average",
            KIND_MODELLED_MARGINAL: "marginal",
            KIND_MODELLED_CF_SHARE: "carbon_free_share",
        }[info.kind]
        return f"carbon: {{{leaf}: {{preset: {info.name}, params: {{seed: 7}}}}}}"
    if info.kind in (KIND_EMISSION_FACTOR, KIND_MARGINAL_PROXY, KIND_ETS_FACTOR):
        which = "marginal" if info.kind == KIND_MARGINAL_PROXY else "average"
        return f"carbon: {{{which}: {{preset: {info.name}}}}}"
    return f"price: {{preset: {info.name}}}"


def describe_preset(name: str) -> str:
    """Multi-line description of one preset: value or schedule, source, confidence, notes."""
    reg = _registry()
    info = reg.info(name)
    lines = [f"{info.name}  [{info.kind}]"]
    if name.strip().lower() != info.name:
        lines.append(f"  alias:       {name.strip().lower()} -> {info.name}")
    if info.value is not None:
        lines.append(f"  value:       {info.value:g} {info.unit}")
    lines.append(f"  description: {info.description}")
    if info.year is not None:
        lines.append(f"  year:        {info.year}")
    if info.kind == KIND_TOU:
        tariff = reg.tariffs[info.name]
        spec = _tou_spec(tariff, info.name, None)["tou"]
        mult = ", ".join(f"{k} x{v:g}" for k, v in tariff.raw["multipliers"].items())
        prices = ", ".join(f"{k} {v:.1f}" for k, v in spec["periods"].items())
        lines += [
            f"  multipliers: {mult} (on the floating energy component only)",
            f"  default:     floating {tariff.floating_cny_per_mwh:g} + adder "
            f"{tariff.adder_cny_per_mwh:g} CNY/MWh -> {prices} CNY/MWh",
            "  params:      floating, adder [CNY/MWh]; multiplier_only: 1 for bare multipliers",
        ]
        season_months = {m for s in tariff.raw.get("seasons", []) for m in s["months"]}
        base_months = [_MONTHS[m - 1] for m in range(1, 13) if m not in season_months]
        lines.append(
            f"  hours {'/'.join(base_months)}: {_fmt_schedule(tariff.raw['hours'], tariff.raw['default'])}"
        )
        for season in tariff.raw.get("seasons", []):
            months = "/".join(_MONTHS[m - 1] for m in season["months"])
            lines.append(f"  hours {months}: {_fmt_schedule(season['hours'], season['default'])}")
    if info.kind == KIND_SPOT:
        stats = reg.spot[info.name][1]["statistics"]
        monthly = ", ".join(
            f"{m} {v:g}" for m, v in zip(_MONTHS, stats["monthly_mean_cny_per_mwh"], strict=True)
        )
        floors = ", ".join(f"{y}: {v:g}" for y, v in stats["floor_cny_per_mwh"].items())
        lines += [
            f"  statistics:  {stats['year']} day-ahead mean {stats['annual_mean_cny_per_mwh']:g} CNY/MWh; "
            f"monthly means {monthly}",
            f"               floor {floors} CNY/MWh; cap {stats['cap_cny_per_mwh']:g}; solar-weighted / mean "
            f"{stats['solar_weighted_ratio']:g}; share of days at the cap {stats['cap_hit_day_share']:g}",
            "  params:      seed (int, default 0); year (2025 or 2026: selects the floor; "
            "default follows the calendar)",
            "  method:      SYNTHETIC, seeded; see help(essdispatch.scenario.presets.shaanxi_spot_synthetic) and data/spot.yaml",
        ]
    if info.name in reg.modelled:
        from essdispatch.scenario.grid_model import grid_year

        region = reg.modelled[info.name][1]
        cal = grid_year(region, 0, 2022).calibration()
        lines += [
            "  params:      seed (int, default 0; the same seed as shaanxi-spot-synthetic shares"
            " its weather)",
            f"  calibration: seed 0, 2022: annual average {cal['average_annual_tco2_per_mwh']:.4f}"
            f" (target {cal['average_target_tco2_per_mwh']:.4f}) tCO2/MWh; curtailed share"
            f" {cal['curtailment_share']:.4f} (target {cal['curtailment_target']:.4f}) in"
            f" {cal['curtailed_hours']} h; must-run floor {cal['floor_fraction']:.3f} of thermal"
            f" capacity; accounting scale {cal['accounting_scale']:.3f}; carbon-free share"
            f" {cal['carbon_free_share_energy_weighted']:.3f}",
            f"  mix:         modelled generation thermal {cal['thermal_twh']:.1f}, hydro"
            f" {cal['hydro_twh']:.1f}, wind {cal['wind_twh']:.1f}, solar {cal['solar_twh']:.1f} TWh;"
            f" net import {cal['net_import_twh']:.1f} TWh",
            "  method:      MODELLED, seeded; see help(essdispatch.scenario.grid_model) and data/grid_model.yaml",
        ]
    lines += [
        f"  unit:        {info.unit}",
        f"  source:      {info.source}",
        f"  confidence:  {info.confidence} ({CONFIDENCE_LEVELS[info.confidence]})",
    ]
    if info.note:
        lines.append(f"  note:        {info.note}")
    aliases = [a for a, target in reg.aliases.items() if target == info.name]
    if aliases:
        lines.append(f"  aliases:     {', '.join(sorted(aliases))}")
    lines.append(f"  scenario:    {_usage(info)}")
    if info.kind in (KIND_EMISSION_FACTOR, KIND_MARGINAL_PROXY):
        lines.append(
            "  caveat:      China publishes no official hourly or marginal emission factor; "
            "annual averages are constant series, and OM / fossil-only factors are proxies."
        )
    return "\n".join(lines)


def presets_table_text(filter: str | None = None) -> str:  # noqa: A002 - the CLI argument name
    """Text for ``essdispatch presets [FILTER]``.

    With no filter: every preset as a table with numbered source footnotes. A filter that names
    one preset (or alias) exactly prints its full description; otherwise presets whose name or
    kind contains the filter (case-insensitive) are listed. Raises ``KeyError`` (with a
    suggestion when a name is close) when nothing matches.
    """
    reg = _registry()
    if filter:
        try:
            return describe_preset(filter)
        except KeyError:
            pass
    table = list_presets()
    if filter:
        needle = filter.strip().lower()
        mask = table["name"].str.contains(needle, regex=False) | table["kind"].str.contains(
            needle, regex=False
        )
        table = table[mask]
        if table.empty:
            known = sorted([*list_presets()["name"], *reg.aliases])
            close = difflib.get_close_matches(needle, known, n=4, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no preset matches {filter!r}{hint}")
    sources: dict[str, int] = {}
    rows = [("name", "value", "unit", "year", "conf", "src")]
    for r in table.itertuples(index=False):
        src = sources.setdefault(str(r.source), len(sources) + 1)
        value = (
            "(tou)" if r.kind == KIND_TOU else "(series)" if pd.isna(r.value) else f"{r.value:g}"
        )
        year = "" if pd.isna(r.year) else str(r.year)
        rows.append((str(r.name), value, str(r.unit), year, str(r.confidence), f"[{src}]"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    out.append("")
    out.append("Sources:")
    out += [f"  [{n}] {s}" for s, n in sources.items()]
    out.append("")
    out.append(
        "Confidence: "
        + "; ".join(f"{k} = {v.split(':')[0]}" for k, v in CONFIDENCE_LEVELS.items())
        + ". Values below H carry a note: `essdispatch presets NAME` shows it."
    )
    out.append(
        "No official hourly or marginal emission factor exists for China: cn-grid-om/* and the "
        "fossil-only factor are proxies. shaanxi-spot-synthetic is a synthetic shape; the"
        " cn-grid-hourly-* and cn-grid-carbon-free-share/* series are MODELLED (grid_model)."
    )
    if not filter:
        out.append("Aliases: " + ", ".join(f"{a} -> {t}" for a, t in list_aliases().items()))
    return "\n".join(out)
