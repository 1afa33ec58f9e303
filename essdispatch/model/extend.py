"""User extensions of the model, through the whole pipeline (as PyPSA's ``extra_functionality``).

An extension is a function ``fn(model, inputs)`` that adds Pyomo components
(variables, constraints, objective terms) to the model of
:func:`essdispatch.model.pyomo_view.build_model`::

    def ramp_limit(m, inputs):
        \"\"\"|dis[b,t] − dis[b,t−1]| ≤ 0.5 MW for unit bess-a.\"\"\"
        if "bess-a" not in m.unit_names:
            return  # the baseline, or a part of the fleet without the unit
        b = m.unit_names.index("bess-a")
        steps = [t for t in m.T if t > 0]
        m.ramp_up = pyo.Constraint(steps, rule=lambda m, t: m.dis[b, t] - m.dis[b, t - 1] <= 0.5)
        m.ramp_down = pyo.Constraint(steps, rule=lambda m, t: m.dis[b, t - 1] - m.dis[b, t] <= 0.5)

    ramp_limit.couples_sites = False  # optional: it links no two sites

and is used with ``run_scenario(path, extend=ramp_limit)`` or
``essdispatch run SCENARIO --extend module:function`` (a module on the Python
path or a file, ``path/to/file.py:function``).

``fn`` is called on every model the pipeline builds, with that model's inputs:

* the run; with ``fn.couples_sites = False`` and more than one site, each site's
  part separately (``inputs`` and ``m.site_names`` hold that site only), as in
  the per-site route of :mod:`essdispatch.solve.dispatch`; otherwise (the default) the
  whole fleet, solved jointly;
* the baseline: the same inputs without storage (``m.B`` is empty, so ``m.ch``,
  ``m.dis`` and ``m.e`` have no entries and there is no ``m.y``);
* each rolling window (``operation: rolling``), for the plan on forecasts and the
  settlement on actuals (``inputs`` is the window, whose period 0 is the window's
  first period: a constraint between periods reaches no further back than the
  window; settlement has no ``m.y``). The value of stored energy for
  ``terminal_value: perfect_foresight`` comes from the declared model without the
  hook, and the rolling ``total_cost`` is MODEL.md's objective on the settled
  dispatch (objective terms the hook adds are not in it);
* the infeasibility explanation, whose elastic re-solve names a user's
  constraint that cannot hold as ``user constraint <component>[<index>]``.

It must therefore look units and sites up by name and do nothing when they are
absent. A user's constraint component becomes a row family named after it, with
its duals in ``result.duals``. The extension is recorded in ``summary.json``
(``extension``: module, function, file, sha256 of the file). A hook that raises,
or adds a non-linear or non-Pyomo term, is an :class:`ExtensionError` (one line
naming the hook; the CLI exits with status 2 and writes nothing).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from essdispatch.base.exceptions import ScenarioError
from essdispatch.base.inputs import Inputs
from essdispatch.model.lp import LinearProgram

Hook = Callable[[Any, Inputs], Any]


class ExtensionError(ScenarioError):
    """A user's extension could not be loaded or applied (bad input: exit status 2)."""


@dataclass(frozen=True)
class Extension:
    """A loaded extension hook and where it came from."""

    fn: Hook
    module: str
    function: str
    file: str | None = None
    sha256: str | None = None

    @property
    def label(self) -> str:
        return f"{self.module}:{self.function}"

    @property
    def couples_sites(self) -> bool:
        """Whether the hook may link sites (the default); ``fn.couples_sites = False`` says not."""
        return bool(getattr(self.fn, "couples_sites", True))

    @classmethod
    def of(cls, hook: Hook | str | Extension) -> Extension:
        """An :class:`Extension` from a callable, a ``module:function`` string or itself."""
        if isinstance(hook, Extension):
            return hook
        if isinstance(hook, str):
            return load_extension(hook)
        if not callable(hook):
            raise ExtensionError(None, [("extend", f"{hook!r} is not callable")])
        module = getattr(hook, "__module__", None) or "?"
        function = getattr(hook, "__qualname__", None) or getattr(hook, "__name__", repr(hook))
        file = None
        try:
            file = inspect.getsourcefile(hook)
        except TypeError:
            file = None
        return cls(hook, module, function, file, _sha256(file))

    def describe(self) -> dict[str, Any]:
        """The ``extension`` block of summary.json."""
        return {
            "module": self.module,
            "function": self.function,
            "file": self.file,
            "sha256": self.sha256,
            "couples_sites": self.couples_sites,
        }

    def build(self, inputs: Inputs) -> Any:
        """The Pyomo model of ``inputs`` with the hook applied."""
        from essdispatch.model.pyomo_view import build_model

        m = build_model(inputs)
        try:
            self.fn(m, inputs)
        except Exception as exc:
            raise ExtensionError(
                None, [("", f"extension {self.label} raised {type(exc).__name__}: {exc}")]
            ) from exc
        return m

    def assemble(self, inputs: Inputs) -> LinearProgram:
        """The LinearProgram of ``inputs`` with the hook applied (compiled from Pyomo)."""
        from essdispatch.model.pyomo_view import compile_model

        m = self.build(inputs)
        try:
            return compile_model(m)
        except (ValueError, TypeError) as exc:
            raise ExtensionError(
                None,
                [("", f"extension {self.label} made the model not linear or not Pyomo: {exc}")],
            ) from exc


def _sha256(file: str | None) -> str | None:
    if not file:
        return None
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest()
    except OSError:
        return None


def load_extension(spec: str) -> Extension:
    """Import ``module:function`` (or ``path/to/file.py:function``) as an :class:`Extension`."""
    module_name, sep, function = spec.rpartition(":")
    if not sep or not module_name or not function:
        raise ExtensionError(
            None, [("--extend", f"{spec!r}: expected module:function or file.py:function")]
        )
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            name = f"essdispatch_extension_{path.stem}"
            loader = importlib.util.spec_from_file_location(name, path)
            if loader is None or loader.loader is None or not path.is_file():
                raise ImportError(f"no such file {path}")
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module  # so that worker processes can pickle the hook
            loader.loader.exec_module(module)
        else:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name.split(".")[0] or "" in sys.path:
                    raise
                sys.path.insert(0, "")  # a module beside the caller, as `python -m` finds it
                module = importlib.import_module(module_name)
    except Exception as exc:
        raise ExtensionError(
            None,
            [("--extend", f"{spec}: cannot import {module_name}: {type(exc).__name__}: {exc}")],
        ) from exc
    fn = getattr(module, function, None)
    if not callable(fn):
        raise ExtensionError(
            None, [("--extend", f"{spec}: {module_name} has no function {function}")]
        )
    file = getattr(module, "__file__", None)
    return Extension(fn, module_name, function, file, _sha256(file))
