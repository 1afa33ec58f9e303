"""The HTML pieces of the report page: its style (a CJK-safe font stack), escaping,
numbers and units in cells, tables, headline cards with ``data-key``/``data-value``,
embedded PNG figures, and the generic per-site / per-unit and key/value tables."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

from matplotlib.figure import Figure

from essdispatch.analysis.compare_format import (
    format_number,
)
from essdispatch.results.summary import (
    Block,
)

#: a font stack that renders Chinese, Japanese and Korean names on every common system
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK JP", "Noto Sans CJK KR", '
    "sans-serif"
)

_CSS = """
body { font-family: %FONTS%; margin: 1.5em auto; max-width: 1250px; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.1em; } .sub { color: #555; margin-top: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e3e3e3; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f4f4f4; }
.scroll td { white-space: nowrap; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.card { flex: 1 1 210px; border: 1px solid #dde3ea; border-radius: 8px; padding: 0.7em 0.9em;
        background: #fafcff; }
.card .label { color: #555; font-size: 0.88em; }
.card .value { font-size: 1.55em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .unit { color: #555; font-size: 0.9em; margin-left: 0.2em; }
.card .more { color: #555; font-size: 0.82em; margin-top: 0.2em; }
.caution { border-left: 4px solid #d08700; background: #fff8e6; padding: 0.6em 1em;
           margin: 1em 0; }
.warn { border-left: 4px solid #c0392b; background: #fdf0ee; padding: 0.6em 1em; margin: 1em 0; }
.muted { color: #666; font-size: 0.9em; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: 600; }
""".replace("%FONTS%", FONT_STACK)


def figure_to_base64(fig: Figure, dpi: float | None = None) -> str:
    """PNG bytes of ``fig`` as base64 text (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(fig: Figure, caption: str) -> str:
    data = figure_to_base64(fig)
    return (
        f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _num(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return format_number(float(value), unit)


def _unit(unit: str, currency: str) -> str:
    return unit.replace("currency", currency) if unit else ""


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    """An HTML table; cells are already escaped HTML; columns from ``numeric_from`` right."""
    head = "".join(
        f'<th class="num">{h}</th>' if i >= numeric_from else f"<th>{h}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _value_span(key: str, value: float, text: str) -> str:
    return f'<span class="value" data-key="{_esc(key)}" data-value="{value!r}">{_esc(text)}</span>'


def _card(label: str, key: str, value: float | None, unit: str, more: str = "") -> str:
    if value is None:
        return ""
    text = format_number(float(value), unit)
    return (
        f'<div class="card"><div class="label">{_esc(label)}</div>'
        f"{_value_span(key, float(value), text)}"
        f'<span class="unit">{_esc(unit)}</span>'
        + (f'<div class="more">{more}</div>' if more else "")
        + "</div>"
    )


def _plain(block: Block) -> dict[str, Any]:
    """A block as written (for the generic tables that iterate its keys)."""
    return block.model_dump(mode="json", exclude_unset=True)


def _rows_of(table: dict[str, Block] | None) -> dict[str, dict[str, Any]]:
    """Per-site / per-unit blocks as written, by name (the generic table's rows)."""
    return {name: _plain(row) for name, row in (table or {}).items()}


def _per_table(
    table: dict[str, dict],
    units: dict[str, str],
    cur: str,
    first: str,
    only: tuple[str, ...] | None = None,
) -> str:
    if not table:
        return '<p class="muted">Not in this results folder (written by an older version).</p>'
    columns: list[tuple[str, str]] = []
    for row in table.values():
        for fig, value in row.items():
            if only is not None and fig not in only:
                continue
            if fig == "unserved_mwh" and not any(r.get(fig) for r in table.values()):
                continue
            keys = [(fig, k) for k in value] if isinstance(value, dict) else [(fig, "")]
            for col in keys:
                if col not in columns:
                    columns.append(col)
    header = [first]
    for fig, key in columns:
        unit = _unit(units.get(fig, ""), cur)
        label = fig
        for suffix in ("_mwh", "_tco2", "_mw", "_h"):
            label = label.removesuffix(suffix)
        label = label.replace("_", " ")
        label += f" ({key})" if key else ""
        header.append(_esc(label) + (f" [{_esc(unit)}]" if unit else ""))
    rows = []
    for name, row in table.items():
        cells = [_esc(name)]
        for fig, key in columns:
            value = row.get(fig)
            value = value.get(key) if key and isinstance(value, dict) else value
            unit = units.get(fig, "")
            if isinstance(value, int | float) and not isinstance(value, bool):
                cells.append(_esc(_cell(value, unit)))
            else:
                cells.append(_esc("—" if value is None else value))
        rows.append(cells)
    return _table(header, rows)


def _cell(value: float, unit: str) -> str:
    """A per-site / per-unit value: MW to 0.1, hours and counts as given, fractions to 0.001."""
    if not math.isfinite(value):
        return "—"
    if unit == "MW":
        return f"{value:,.1f}"
    if unit in ("h", ""):
        return f"{value:,.4g}"
    if unit == "fraction":
        return f"{value:.3f}"
    return _num(value, unit)


def _or0(value: Any) -> Any:
    return 0 if value is None else value


def _show(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1 else f"{v:,.3f}".rstrip("0").rstrip(".")
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "—"
    return str(v)


def _kv_table(items: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(_show(v))}</td></tr>" for k, v in items)
    return f"<table>{rows}</table>"
