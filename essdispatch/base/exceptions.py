"""Exceptions raised by essdispatch.

Every error a user can cause or meet derives from :class:`EssDispatchError`, so a
caller (or the CLI) can catch one type and print one line.
"""

from __future__ import annotations

from collections.abc import Iterable


class EssDispatchError(Exception):
    """Base class of every error essdispatch raises on purpose."""


class ScenarioError(EssDispatchError, ValueError):
    """Bad input: the scenario file, a series or a data file is wrong.

    Holds every problem found (``problems``, each ``(key_path, message)``) and
    renders them as one line: ``file: key.path: message; other.key: message``.
    """

    def __init__(self, file: str | None, problems: Iterable[tuple[str, str]]) -> None:
        self.file = file
        self.problems: list[tuple[str, str]] = list(problems) or [("", "invalid scenario")]
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [f"{key}: {msg}" if key else msg for key, msg in self.problems]
        head = f"{self.file}: " if self.file else ""
        text = head + "; ".join(parts)
        return " ".join(text.split())  # always one line

    def __reduce__(self):  # keep file and problems across processes (sweeps, pools)
        return (type(self), (self.file, self.problems))

    @classmethod
    def single(cls, file: str | None, key: str, message: str) -> ScenarioError:
        return cls(file, [(key, message)])


class SolveError(EssDispatchError):
    """The solver did not return an optimal solution.

    ``termination`` is the :class:`essdispatch.solve.highs.Termination` value name
    (``infeasible``, ``unbounded``, ``time_limit``, ...).
    """

    def __init__(self, message: str, termination: str = "error") -> None:
        self.termination = termination
        super().__init__(" ".join(message.split()))

    def __reduce__(self):  # keep the termination across processes (per-site pools, sweeps)
        return (type(self), (str(self), self.termination))


class ResultsError(EssDispatchError):
    """A results folder cannot be written or read."""


class ResultsInputError(ResultsError, ValueError):
    """A results folder, site, window or other argument given to read results is wrong
    (bad input: exit status 2), as opposed to results that cannot be written."""


def close_names(name: str, names: Iterable[str], n: int = 3) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the names close to ``name`` (``""`` if none)."""
    import difflib

    close = difflib.get_close_matches(name, list(names), n=n, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
