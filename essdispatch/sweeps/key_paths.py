"""Key paths into scenario plain data (``sites[*].storage[0].energy_mwh``): parsed, looked
up, and overridden in place (set, or scaled by ``{scale: f}``)."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# --------------------------------------------------------------------------- key paths
_TOKEN = re.compile(r"\.?([A-Za-z0-9_\-]+)|\[([^\[\]]*)\]")

Token = tuple[str, Any]  # ("key", name) | ("index", i) | ("all", None) | ("named", name)


def parse_key_path(path: str) -> list[Token]:
    """``sites[*].storage[0].energy_mwh`` -> tokens.

    ``name`` a mapping key; ``[i]`` a list element (negative counts from the end);
    ``[*]`` every element; ``[text]`` the element whose ``name`` is ``text``.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or (m.group(0).startswith(".") and pos == 0):
            raise ValueError(f"bad key path {path!r} at character {pos + 1}")
        key, sel = m.group(1), m.group(2)
        if key is not None:
            if pos > 0 and not m.group(0).startswith("."):
                raise ValueError(f"bad key path {path!r} at character {pos + 1} (missing '.')")
            tokens.append(("key", key))
        else:
            sel = sel.strip()
            if sel == "*":
                tokens.append(("all", None))
            elif re.fullmatch(r"-?\d+", sel):
                tokens.append(("index", int(sel)))
            elif sel:
                tokens.append(("named", sel))
            else:
                raise ValueError(f"bad key path {path!r}: empty []")
        pos = m.end()
    if not tokens or tokens[0][0] != "key":
        raise ValueError(f"bad key path {path!r}: must start with a key")
    return tokens


def _path_text(tokens: Sequence[Token]) -> str:
    out = ""
    for kind, val in tokens:
        if kind == "key":
            out += f".{val}" if out else str(val)
        elif kind == "index":
            out += f"[{val}]"
        elif kind == "all":
            out += "[*]"
        else:
            out += f"[{val}]"
    return out


class PathError(ValueError):
    """A key path that does not fit the scenario data."""


def _lookup(node: Any, tokens: Sequence[Token]) -> list[Any]:
    """Every value at ``tokens`` under ``node`` (missing keys skipped)."""
    if not tokens:
        return [node]
    (kind, val), rest = tokens[0], tokens[1:]
    if kind == "key":
        return _lookup(node[val], rest) if isinstance(node, Mapping) and val in node else []
    if not isinstance(node, list):
        return []
    if kind == "index":
        return _lookup(node[val], rest) if -len(node) <= val < len(node) else []
    items = node if kind == "all" else [x for x in node if _named(x, val)]
    return [v for x in items for v in _lookup(x, rest)]


def _named(item: Any, name: str) -> bool:
    return isinstance(item, Mapping) and item.get("name") == name


def apply_override(
    data: dict[str, Any],
    path: str,
    value: Any,
    defaults: Mapping[str, Any] | None = None,
) -> list[str]:
    """Set (or scale, for ``{"scale": f}``) the value(s) at ``path`` in ``data``, in place.

    ``data`` is scenario plain data (``Scenario.to_dict()``), which holds only the
    keys a file set: a missing key is created when its parent mapping exists (and
    missing parent mappings are created too; an unknown key is then reported by
    validation). A scaled key that is not set is read from ``defaults`` (the
    scenario with its defaults, ``model_dump()``) at the same place.

    Returns the concrete key paths changed. Raises :class:`PathError`.
    """
    tokens = parse_key_path(path)
    scale = _scale_factor(value)
    changed: list[str] = []

    def walk(node: Any, i: int, done: list[Token]) -> None:
        kind, val = tokens[i]
        last = i == len(tokens) - 1
        where = _path_text(done) or "the scenario"
        if kind == "key":
            if not isinstance(node, dict):
                raise PathError(f"{where} is a {type(node).__name__}, not a mapping")
            here = [*done, (kind, val)]
            if last:
                if scale is None:
                    node[val] = copy.deepcopy(value)
                else:
                    node[val] = _scaled(node.get(val), here, scale, defaults)
                changed.append(_path_text(here))
                return
            if node.get(val) is None:
                if tokens[i + 1][0] != "key":
                    raise PathError(f"{_path_text(here)} is not set (no list to index)")
                node[val] = {}
            walk(node[val], i + 1, here)
            return
        if not isinstance(node, list):
            raise PathError(f"{where} is a {type(node).__name__}, not a list")
        if kind == "index":
            if not -len(node) <= val < len(node):
                raise PathError(f"{where}[{val}]: index out of range ({len(node)} elements)")
            picks = [val % len(node)]
        elif kind == "all":
            picks = list(range(len(node)))
            if not picks:
                raise PathError(f"{where}[*] matches nothing (empty list)")
        else:
            picks = [k for k, x in enumerate(node) if _named(x, val)]
            if not picks:
                names = ", ".join(str(x.get("name")) for x in node if isinstance(x, Mapping))
                raise PathError(f"{where}[{val}]: no element named {val!r} (names: {names})")
        for k in picks:
            here = [*done, ("index", k)]
            if last:
                if scale is None:
                    node[k] = copy.deepcopy(value)
                else:
                    node[k] = _scaled(node[k], here, scale, defaults)
                changed.append(_path_text(here))
            else:
                walk(node[k], i + 1, here)

    walk(data, 0, [])
    return changed


def _scale_factor(value: Any) -> float | None:
    if isinstance(value, Mapping) and set(value) == {"scale"}:
        f = value["scale"]
        if isinstance(f, bool) or not isinstance(f, int | float) or not math.isfinite(f):
            raise PathError(f"scale must be a finite number, got {f!r}")
        return float(f)
    return None


def _scaled(
    current: Any, where: Sequence[Token], factor: float, defaults: Mapping[str, Any] | None
) -> float:
    if current is None and defaults is not None:
        found = _lookup(defaults, where)
        current = found[0] if found else None
    if isinstance(current, bool) or not isinstance(current, int | float):
        what = "not set" if current is None else f"not a number ({current!r})"
        raise PathError(f"{_path_text(where)} is {what}; scale needs a number")
    return float(current) * factor
