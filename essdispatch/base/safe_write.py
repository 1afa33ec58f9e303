"""Crash-safe replacement of a results folder ``<out>/<name>``.

A complete new folder is first written as ``.<name>.tmp-<id>`` beside the target. Then:

* **swap** (:func:`swap_into_place`): on Linux the two directory entries are exchanged in
  one system call (``renameat2(RENAME_EXCHANGE)``), so ``<name>`` always exists and is
  always either the earlier or the new folder, whatever kills the process (SIGKILL, OOM
  kill, power loss). Elsewhere (or when the kernel refuses the exchange) the earlier
  entry is renamed to ``.<name>.old-<id>`` and the new one into place: a crash between
  the two renames leaves no ``<name>`` for a moment, which :func:`recover` repairs;
* **recovery** (:func:`recover`, run before every write of ``<name>`` and when a sweep
  resumes): with ``<name>`` missing, a complete ``.tmp`` (its ``summary.json`` is
  written last) is renamed into place, else the newest ``.old``; every other leftover
  of ``<name>`` (``.tmp-*``, ``.old-*``, whether folders, files or symlinks) is removed;
* **one writer per name** (:func:`name_lock`): held from before the solve to after the
  swap; a second run of the same name fails cleanly instead of racing the first. On
  Linux it is an abstract socket named after the folder (nothing on disk, released by
  the kernel even when the holder is killed); elsewhere an exclusive ``flock`` on
  ``.<name>.lock``, removed on release.

``ESSDISPATCH_DEBUG_SWAP_DELAY`` (seconds) sleeps inside the swap window, and
``ESSDISPATCH_DEBUG_SWAP=rename`` forces the two-rename swap and
``ESSDISPATCH_DEBUG_SWAP_MARK`` (a file path) is touched on entering the window; they
exist so tests can kill a child process inside the window.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from essdispatch.base.exceptions import ResultsError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
COMPLETE_MARKER = "summary.json"


def _libc_renameat2() -> object | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _libc_renameat2()


def _debug_pause() -> None:
    mark = os.environ.get("ESSDISPATCH_DEBUG_SWAP_MARK")
    if mark:
        with contextlib.suppress(OSError):
            Path(mark).touch()
    delay = os.environ.get("ESSDISPATCH_DEBUG_SWAP_DELAY")
    if delay:
        with contextlib.suppress(ValueError):
            time.sleep(float(delay))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the entries ``a`` and ``b``; False when not supported."""
    if _RENAMEAT2 is None or os.environ.get("ESSDISPATCH_DEBUG_SWAP") == "rename":
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)  # type: ignore[operator]
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False  # file system or kernel without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(b))


def remove_entry(path: Path) -> None:
    """Remove a folder, file or symlink (a symlink itself, never what it points to)."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exists(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def swap_into_place(tmp: Path, target: Path) -> None:
    """Put the complete folder ``tmp`` at ``target``; the earlier entry (folder, file or
    symlink) is removed afterwards. See the module docstring for the crash guarantees."""
    if _exists(target) and _exchange(tmp, target):
        _fsync_dir(target.parent)
        _debug_pause()  # target is the new folder; tmp holds the earlier one
        remove_entry(tmp)
        return
    old = target.with_name(f".{target.name}.old-{os.urandom(4).hex()}")
    moved = False
    try:
        if _exists(target):
            os.rename(target, old)
            moved = True
        _debug_pause()  # with moved: the window a crash leaves without <name> (recover())
        os.rename(tmp, target)
    except BaseException:
        if moved and not _exists(target):
            os.rename(old, target)
        raise
    _fsync_dir(target.parent)
    if moved:
        remove_entry(old)


def _leftovers(out_dir: Path, name: str) -> tuple[list[Path], list[Path]]:
    tmps, olds = [], []
    try:
        entries = list(os.scandir(out_dir))
    except OSError:
        return [], []
    for entry in entries:
        if entry.name.startswith(f".{name}.tmp-"):
            tmps.append(out_dir / entry.name)
        elif entry.name.startswith(f".{name}.old-"):
            olds.append(out_dir / entry.name)
    return tmps, olds


def _complete(path: Path) -> bool:
    return not path.is_symlink() and path.is_dir() and (path / COMPLETE_MARKER).is_file()


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def recover(out_dir: Path, name: str) -> str | None:
    """Repair what a crash inside a swap of ``<out_dir>/<name>`` left; returns a note or None.

    Call only while holding :func:`name_lock` (or when no other process writes ``name``).
    """
    tmps, olds = _leftovers(out_dir, name)
    if not tmps and not olds:
        return None
    target = out_dir / name
    note = None
    if not _exists(target):
        complete = sorted((p for p in tmps if _complete(p)), key=_mtime, reverse=True)
        earlier = sorted(olds, key=_mtime, reverse=True)
        pick = complete[0] if complete else (earlier[0] if earlier else None)
        if pick is not None:
            os.rename(pick, target)
            note = f"{target}: restored from {pick.name} left by an interrupted write"
    for path in (*tmps, *olds):
        if _exists(path):
            remove_entry(path)
    return note


_HELD: set[tuple[str, str]] = set()


def _busy(out_dir: Path, name: str) -> ResultsError:
    return ResultsError(
        f"{out_dir / name}: another essdispatch run is writing these results; "
        "wait for it or choose another --out"
    )


def _abstract_lock(out_dir: Path, name: str) -> socket.socket | None:
    """A lock with no file: a Linux abstract socket named after the folder's real path,
    released by the kernel when its holder ends, even by SIGKILL. None where abstract
    sockets do not exist (the caller falls back to a lock file)."""
    if not sys.platform.startswith("linux"):
        return None
    digest = hashlib.sha256(f"{os.path.realpath(out_dir)}\0{name}".encode()).hexdigest()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"\0essdispatch-results-{digest[:40]}")
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise _busy(out_dir, name) from None
        return None
    return sock


@contextlib.contextmanager
def name_lock(out_dir: Path, name: str) -> Iterator[None]:
    """Hold the exclusive lock of ``<out_dir>/<name>``; :class:`ResultsError` if another
    process holds it. Re-entrant within a process. On Linux an abstract socket (nothing on
    disk, released even by a kill); elsewhere ``.<name>.lock``, removed on release."""
    key = (os.path.realpath(out_dir), name)
    if key in _HELD:
        yield
        return
    sock = _abstract_lock(out_dir, name)
    if sock is not None:
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            sock.close()
        return
    with _file_lock(out_dir, name):
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)


@contextlib.contextmanager
def _file_lock(out_dir: Path, name: str) -> Iterator[None]:
    import fcntl

    path = out_dir / f".{name}.lock"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise ResultsError(
                f"{out_dir / name}: cannot lock the results folder: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _busy(out_dir, name) from None
        try:  # the file may have been removed by the previous holder after we opened it
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
