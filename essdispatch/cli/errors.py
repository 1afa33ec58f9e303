"""Library errors turned into one line on stderr and an exit status; the click pieces every
command shares (``--debug``, choices that suggest close names).

Exit status: 0 on success; 2 bad input (scenario, series, data, a bad argument or
results folder to read); 3 the solver did not reach an optimum; 4 results could not be
written; 130 interrupted.
"""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable
from typing import Any

import click

from essdispatch.base.exceptions import (
    EssDispatchError,
    ResultsError,
    ResultsInputError,
    ScenarioError,
    SolveError,
)

EXIT_BAD_INPUT = 2
EXIT_SOLVE = 3
EXIT_RESULTS = 4
EXIT_INTERRUPTED = 130


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, ScenarioError | ResultsInputError):
        return EXIT_BAD_INPUT
    if isinstance(exc, SolveError):
        return EXIT_SOLVE
    if isinstance(exc, ResultsError):
        return EXIT_RESULTS
    return 1


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that clean-up code runs."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def handle_errors(func: Callable) -> Callable:
    """Turn library errors into one line on stderr and an exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug")) or bool(kwargs.pop("debug", False))
        previous = None
        try:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not in the main thread (e.g. inside a test runner thread)
            previous = None
        try:
            return func(*args, **kwargs)
        except EssDispatchError as exc:
            if debug:
                raise
            click.echo(f"essdispatch: error: {exc}", err=True)
            ctx.exit(_exit_code(exc))
        except MemoryError:
            if debug:
                raise
            click.echo(
                "essdispatch: error: out of memory (shorten the horizon, coarsen the resolution"
                " or split the run)",
                err=True,
            )
            ctx.exit(EXIT_SOLVE)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo(
                "essdispatch: interrupted (a results folder is either complete or untouched)",
                err=True,
            )
            ctx.exit(EXIT_INTERRUPTED)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


class _Choice(click.Choice):
    """A choice whose error suggests the close names (``did you mean 'pyomo'?``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            from essdispatch.base.exceptions import close_names

            hint = close_names(str(value), [str(c) for c in self.choices])
            if hint:
                exc.message = f"{exc.message.rstrip('.')}{hint}"
            raise


def debug_option(func: Callable) -> Callable:
    return click.option("--debug", is_flag=True, help="Show the full traceback on errors.")(func)
