"""The one YAML reader of essdispatch: bounded, duplicate-refusing, YAML-1.1-trap-free.

Every YAML file the tool reads (scenarios, sweep files, a results folder's
``scenario.yaml``) goes through :func:`load_yaml_text` (or :func:`read_yaml_file`),
which, before anything walks the data:

* refuses files larger than :data:`MAX_YAML_BYTES`, nesting deeper than
  :data:`MAX_DEPTH` (checked while composing, so 3 000 nested brackets never reach
  Python's recursion limit), a recursive alias, and alias expansion beyond
  :data:`MAX_NODES` nodes (a "billion laughs" file is refused in milliseconds);
* refuses a key given twice in one mapping (``yaml.safe_load`` keeps the last silently);
* refuses integers longer than :data:`MAX_INT_DIGITS` digits;
* reads no YAML 1.1 sexagesimal number (``1:30`` is the text ``"1:30"``, not 90) and
  no leading-zero octal (``010`` is the text ``"010"``, not 8), and constructs no
  Python object from a tag (safe loader).

Errors are :class:`~essdispatch.base.exceptions.ScenarioError` naming the file and, where
there is one, the key path.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from essdispatch.base.exceptions import ScenarioError

MAX_YAML_BYTES = 32 * 2**20
MAX_DEPTH = 64
MAX_NODES = 2_000_000
MAX_INT_DIGITS = 40

_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Bounded:
    """The nesting bound of :data:`MAX_DEPTH`, checked while composing (a mixin)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


class _Loader(_Bounded, yaml.SafeLoader):
    """SafeLoader without sexagesimal/octal numbers, with a nesting bound."""


_CParser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", None)
if getattr(yaml, "__with_libyaml__", False) and _CParser is not None:

    class _FastLoader(  # type: ignore[misc, valid-type]
        _Bounded,
        yaml.composer.Composer,
        _CParser,
        yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    ):
        """:class:`_Loader` with libyaml's scanner and parser: the same composer (and
        nesting bound), resolvers and constructor over libyaml's events, about five times
        faster. Used only when it succeeds (see :func:`load_yaml_text`)."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

else:  # PyYAML without libyaml: the pure-Python reader only
    _FastLoader = None

_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
if _FastLoader is not None:
    _FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """One-line text of a YAML error, with its position."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if "constructor for the tag" in problem:
        problem += " (YAML tags are not allowed)"
    return " ".join(f"invalid YAML{_where(mark)}: {problem}".split())


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check(root: yaml.Node) -> list[tuple[str, str]]:
    """Expanded size, cycles, duplicate keys and long integers of a composed document."""
    problems: list[tuple[str, str]] = []
    size: dict[int, int] = {}
    open_: set[int] = set()
    checked: set[int] = set()

    def walk(node: yaml.Node, path: str) -> int:
        key = id(node)
        if key in size:
            return size[key]
        if key in open_:
            raise ScenarioError(None, [(path, f"recursive YAML alias{_where(node.start_mark)}")])
        open_.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                if isinstance(key_node, yaml.ScalarNode) and name != "<<":
                    line = key_node.start_mark.line + 1
                    if name in seen:
                        problems.append(
                            (_join(path, name), f"key given twice (lines {seen[name]} and {line})")
                        )
                    seen.setdefault(name, line)
                total += walk(key_node, path) + walk(value_node, _join(path, name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += walk(item, f"{path}[{i}]")
        elif node.tag == "tag:yaml.org,2002:int":
            digits = sum(ch.isalnum() for ch in str(node.value))
            if digits > MAX_INT_DIGITS:
                problems.append(
                    (path, f"a number with {digits} digits{_where(node.start_mark)} is not a value")
                )
        checked.add(key)
        open_.discard(key)
        size[key] = total
        if total > MAX_NODES:
            raise ScenarioError(
                None,
                [("", f"YAML aliases expand to more than {MAX_NODES:,} values (an alias bomb?)")],
            )
        return total

    walk(root, "")
    return problems


def load_yaml_text(text: str, file: str | None) -> Any:
    """Parse YAML text with every bound of this module; :class:`ScenarioError` otherwise."""
    if len(text) > MAX_YAML_BYTES:
        raise ScenarioError(file, [("", f"file larger than {MAX_YAML_BYTES // 2**20} MiB")])
    fast = _load_fast(text)
    if fast is not _FALLBACK:
        return fast
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad:  # PyYAML's reader refuses it while being made (was a traceback)
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise ScenarioError(
            file,
            [
                (
                    "",
                    f"invalid YAML at line {line}, column {column}: character"
                    f" #x{ord(bad.group()):04x} is not allowed (a control character?)",
                )
            ],
        )
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise ScenarioError(file, [("", "YAML nested too deeply")]) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(file, [("", yaml_error_text(exc))]) from None
        if root is None:
            return None
        try:
            problems = _check(root)
        except ScenarioError as exc:
            raise ScenarioError(file, exc.problems) from None
        if problems:
            raise ScenarioError(file, problems)
        try:
            return loader.construct_document(root)
        except yaml.YAMLError as exc:
            raise ScenarioError(file, [("", yaml_error_text(exc))]) from None
        except (ValueError, OverflowError, RecursionError) as exc:
            raise ScenarioError(file, [("", f"invalid YAML value: {exc}")]) from None
    finally:
        loader.dispose()


_FALLBACK = object()


def _load_fast(text: str) -> Any:
    """The document of ``text`` read with libyaml (:class:`_FastLoader`), or ``_FALLBACK``.

    Only a clean success is returned: text with a character PyYAML's reader refuses, a
    libyaml error, or any problem of :func:`_check` (duplicate key, long integer, alias
    bomb) falls back to the pure-Python reader, so every error and its message are those
    of :class:`_Loader`. Tested to give the same data on every YAML file of the project.
    """
    if _FastLoader is None or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return _FALLBACK
    loader = _FastLoader(text)
    try:
        root = loader.get_single_node()
        if root is None or _check(root):
            return _FALLBACK
        return loader.construct_document(root)
    except (yaml.YAMLError, ScenarioError, ValueError, OverflowError, RecursionError):
        return _FALLBACK
    finally:
        loader.dispose()


def read_input_bytes(path: str | Path, file: str | None = None, limit: int | None = None) -> bytes:
    """The bytes of an input file: a regular file (no FIFO, device or folder), no symlink
    loop, at most ``limit`` bytes; :class:`ScenarioError` naming the file otherwise."""
    path = Path(path)
    file = str(path) if file is None else file
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ScenarioError(file, [("", _os_error_text(exc))]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(file, [("", "cannot read the file: is a folder, not a file")])
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            file, [("", "cannot read the file: not a regular file (a pipe, socket or device)")]
        )
    if limit is not None and info.st_size > limit:
        raise ScenarioError(
            file,
            [("", f"file is {info.st_size / 2**20:,.1f} MiB, more than {limit / 2**20:g} MiB")],
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1 if limit is not None else -1)
    except OSError as exc:
        raise ScenarioError(file, [("", _os_error_text(exc))]) from None
    if limit is not None and len(data) > limit:
        raise ScenarioError(file, [("", f"file larger than {limit / 2**20:g} MiB")])
    return data


def _os_error_text(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the path resolves to itself)"
    if exc.errno == errno.ENAMETOOLONG:
        return "path too long"
    return f"cannot read the file: {exc.strerror or exc}"


def read_yaml_file(path: str | Path, file: str | None = None) -> tuple[Any, str, bytes]:
    """Read and parse a YAML file: (data, text, bytes). The file must be UTF-8."""
    file = str(path) if file is None else file
    data_bytes = read_input_bytes(path, file, MAX_YAML_BYTES)
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(file, [("", f"not UTF-8 text (byte {exc.start})")]) from None
    if "\x00" in text:
        raise ScenarioError(file, [("", "contains NUL bytes (not a text file)")])
    return load_yaml_text(text, file), text, data_bytes
