"""HiGHS objects in a process: one thread scheduler per process (applied per run, made
safe across forks), the captured log, a start-up banner kept off stdout, and a solve that
SIGINT/SIGTERM stop promptly (:func:`run_highs`)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import highspy

# ----------------------------------------------------------------------------- HiGHS objects
# HiGHS keeps one thread scheduler per process. From highspy 1.16 on, ``run()`` fails when the
# ``threads`` option differs from the count the scheduler was started with ("... the scheduler
# has already been initialized to use N threads"), and a forked child inherits the parent's
# scheduler without its worker threads. So the thread count is applied here, per process: the
# scheduler is restarted (``Highs.resetGlobalScheduler``) only while no other solve of this
# process runs on it; otherwise the running count is kept and a note says so.

_SCHEDULER_LOCK = threading.Lock()
_scheduler: dict[str, Any] = {"threads": None, "pid": os.getpid(), "active": 0, "fork_clean": True}


def _before_fork() -> None:
    # A child would copy the scheduler without its threads, and any lock such a thread held
    # at that moment: calling into it (even to reset it) can hang the child. So a parent
    # whose scheduler is idle shuts it down first (joining its threads) and the child starts
    # a fresh one; the parent starts its own again at its next solve.
    if not _SCHEDULER_LOCK.acquire(blocking=False):
        _scheduler["fork_clean"] = False
        return
    try:
        idle = _scheduler["active"] == 0 and _scheduler["pid"] == os.getpid()
        if idle and _scheduler["threads"] not in (None, "inherited"):
            _reset_scheduler()
            _scheduler["threads"] = None
        _scheduler["fork_clean"] = idle and _scheduler["threads"] is None
    finally:
        _SCHEDULER_LOCK.release()


def _after_fork_in_child() -> None:
    # a clean fork: nothing to inherit; else the child has a copy of the parent's scheduler
    # but none of its threads
    clean = bool(_scheduler.get("fork_clean"))
    _scheduler.update(threads=None if clean else "inherited", pid=os.getpid(), active=0)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _reset_scheduler() -> None:
    reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
    if reset is not None:  # highspy < 1.8 has none and no per-process check either
        reset(True)


def _claim_scheduler(h: highspy.Highs, threads: int | None) -> str | None:
    """Make ``h`` run on this process's scheduler with ``threads`` where that is safe.

    Returns a note when the requested count could not be applied. Call with the lock held.
    """
    current = _scheduler["threads"]  # None: not started here; "inherited", "auto" or a count
    if _scheduler["pid"] != os.getpid():
        current = "inherited"
    stale = current == "inherited"
    differs = threads is not None and current is not None and current != threads
    if stale or differs:
        if _scheduler["active"] == 0:  # no solve of this process runs on it: restart it
            _reset_scheduler()
            current = None
        elif threads is not None:
            h.setOptionValue("threads", 0)  # 0: run on the scheduler as it is
            return (
                f"threads={threads} not applied: another solve in this process runs "
                f"HiGHS's scheduler with {current} threads"
            )
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if current is None:
        _scheduler.update(threads=threads if threads is not None else "auto", pid=os.getpid())
    return None


class _Log:
    """HiGHS's log lines, captured through its logging callback (and echoed when verbose)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.lines: list[str] = []

    def __call__(self, event: Any) -> None:
        text = str(getattr(event, "message", event))
        self.lines.append(text)
        if len(self.lines) > 2000:  # keep the first lines and the newest ones
            del self.lines[200:1200]
        if self.verbose:
            sys.stderr.write(text)

    def error_line(self) -> str | None:
        """HiGHS's last ERROR (or WARNING) line, stripped, if it logged one."""
        for tag in ("ERROR", "WARNING"):
            for line in reversed(self.lines):
                if line.lstrip().startswith(tag):
                    return " ".join(line.split(":", 1)[1].split()) if ":" in line else line.strip()
        return None


_BANNER_SILENCED = False


class _Highs(highspy.Highs):
    """``highspy.Highs`` that carries its captured log and requested thread count (older
    highspy objects take no new attributes)."""

    _essdispatch_log: _Log | None = None
    _essdispatch_threads: int | None = None


def _new_highs(banner_to: str | None = None) -> _Highs:
    """A ``highspy.Highs`` whose start-up banner does not reach stdout.

    HiGHS prints its banner from C++ on the first construction in a process, before any
    option can be set; standard output is pointed at the null device for that moment, so piped
    output and the terminal stay clean (the solver's log is shown, on stderr, only when
    ``verbose``).
    """
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        return _Highs()
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return _Highs()
    try:
        sink = os.open(banner_to or os.devnull, os.O_WRONLY)
    except OSError:
        sink = 2
    try:
        os.dup2(sink, 1)
        h = _Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        if sink != 2:
            os.close(sink)
    _BANNER_SILENCED = True
    return h


class _Interrupt:
    """HiGHS's interrupt callbacks: stop the solve as soon as SIGINT or SIGTERM arrives.

    Python runs signal handlers only between bytecodes of the main thread, so a signal
    that arrives while HiGHS solves would otherwise wait for the solve to end. While
    :func:`_interruptible` is active the signals are recorded (by a handler that only
    records, and through ``signal.set_wakeup_fd``, which the C-level handler writes to
    from any thread); each HiGHS interrupt callback (simplex, IPM, MIP) checks and sets
    ``user_interrupt``. The signal is delivered again, to the handler that was in place
    before, as soon as ``run()`` returns.
    """

    def __init__(self, read_fd: int) -> None:
        self.read_fd = read_fd
        self.signum: int | None = None

    def record(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum

    def pending(self) -> bool:
        if self.signum is None:
            try:
                data = os.read(self.read_fd, 64)
            except (BlockingIOError, InterruptedError, OSError):
                data = b""
            if data:
                self.signum = data[0]
        return self.signum is not None

    def __call__(self, event: Any) -> None:
        if self.pending() and getattr(event, "data_in", None) is not None:
            event.data_in.user_interrupt = True


_INTERRUPT_CALLBACKS = ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt")
_INTERRUPT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)
)


@contextlib.contextmanager
def _interruptible(h: highspy.Highs) -> Iterator[None]:
    """Let SIGINT/SIGTERM stop ``h.run()`` promptly (main thread only; see :class:`_Interrupt`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    watcher = _Interrupt(read_fd)
    previous: dict[int, Any] = {}
    subscribed = []
    try:
        old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(read_fd)
        os.close(write_fd)
        yield
        return
    try:
        for signum in _INTERRUPT_SIGNALS:
            previous[signum] = signal.signal(signum, watcher.record)
        for name in _INTERRUPT_CALLBACKS:
            cb = getattr(h, name, None)
            if cb is not None:
                cb.subscribe(watcher)
                subscribed.append(cb)
        yield
    finally:
        for cb in subscribed:
            with contextlib.suppress(Exception):
                cb.unsubscribe(watcher)
        signal.set_wakeup_fd(old_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        watcher.pending()
        os.close(read_fd)
        os.close(write_fd)
        if watcher.signum is not None:
            signal.raise_signal(watcher.signum)  # the earlier handler acts on it now


def run_highs(h: highspy.Highs) -> list[str]:
    """``h.run()`` on this process's thread scheduler with the thread count of
    :func:`highs_for`; returns notes (e.g. a thread count that could not be applied)."""
    notes: list[str] = []
    with _SCHEDULER_LOCK:
        note = _claim_scheduler(h, getattr(h, "_essdispatch_threads", None))
        _scheduler["active"] += 1
    if note:
        notes.append(note)
    try:
        with _interruptible(h):
            h.run()
    finally:
        with _SCHEDULER_LOCK:
            _scheduler["active"] -= 1
    return notes
