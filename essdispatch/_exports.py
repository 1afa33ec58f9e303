"""Lazy re-exports for the stage packages (PEP 562): importing a package imports nothing.

A stage package (``essdispatch.model``, ``essdispatch.scenario``, …) names its public
objects in a table ``name -> module``; the module is imported on first access, so
``import essdispatch.model.lp`` does not pull Pyomo in and ``essdispatch validate`` stays
cheap. ``fallback`` keeps the names of a module that used to be the package's flat
predecessor (``essdispatch.scenario`` was ``scenario.py``) reachable under the package.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str,
    exports: dict[str, str],
    path: list[str],
    fallback: str | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a public name to the
    dotted module that defines it; the package's modules (found on ``path``, its
    ``__path__``) are imported on attribute access; ``fallback`` (a submodule) answers any
    other public name."""
    submodules = frozenset(m.name for m in pkgutil.iter_modules(path))

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return import_module(f"{package}.{name}")
        if name in exports:
            return getattr(import_module(exports[name]), name)
        if fallback is not None and not name.startswith("__"):
            module = import_module(f"{package}.{fallback}")
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*exports, *submodules})

    return __getattr__, __dir__


def lazy_names(module: str, table: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` answering the names of ``table`` (name -> the dotted module
    that defines it) on first access: names that moved out of ``module`` into a module that
    imports it back (so it cannot re-export them at import time), or whose home is too
    heavy to import with it."""

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(import_module(table[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
