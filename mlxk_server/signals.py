"""SIGINT and SIGTERM for the server process, taken by a thread of their own with ``sigwait``.

A Python signal handler only runs if the kernel delivers the signal, and C code can change a
signal's disposition behind Python's back: glibc's ``system()``, which MLX's CPU backend calls
to compile fused kernels on first use, ignores SIGINT process-wide while the compiler runs, so
a Ctrl-C in that window was silently dropped and the server kept running. A signal that every
thread blocks is never dropped for its disposition: it waits until ``sigwait`` takes it.
One narrow window is left: ``system()`` setting SIG_IGN discards a signal that is already
queued, so a signal can still be lost if a kernel compile starts in the instant between its
arrival and the watcher taking it (only while MLX compiles kernels it has not cached yet).
Threads that a library started before the mask was set (numpy's or a BLAS's pool, at import)
do not block the signals; one delivered to such a thread reaches the same handler through an
ordinary Python handler, instead of ending the process by the default disposition.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["SIGNALS", "SignalWatch"]

SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})

Handler = Callable[[int], None]


class SignalWatch:
    """``with SignalWatch() as w:`` blocks SIGINT/SIGTERM and hands them to ``w.connect(fn)``.

    Enter it before any thread starts: threads inherit the blocked mask, so the signals reach
    only the watching thread. Where the platform lacks ``pthread_sigmask`` it does nothing
    (``active`` is False) and the caller keeps ordinary signal handlers.
    """

    def __init__(self) -> None:
        self.active = hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigwait")
        self.received: list[int] = []
        self._handler: Handler | None = None
        self._lock = threading.RLock()  # the Python handler may run while the main thread holds it
        self._done = False
        self._previous: set[int | signal.Signals] = set()
        self._dispositions: dict[int, Any] = {}
        self._thread = threading.Thread(target=self._watch, name="mlxk-signals", daemon=True)

    def __enter__(self) -> SignalWatch:
        if self.active:
            self._previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
            for sig in SIGNALS:
                self._dispositions[sig] = signal.signal(sig, self._delivered)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.active:
            return
        with self._lock:
            self._done = True
        if self._thread.ident is not None and self._thread.is_alive():
            signal.pthread_kill(self._thread.ident, signal.SIGTERM)  # wakes its sigwait
            self._thread.join()
        while SIGNALS & signal.sigpending():  # a late signal must not fire once unblocked
            signal.sigwait(SIGNALS)
        signal.pthread_sigmask(signal.SIG_SETMASK, self._previous)
        for sig, disposition in self._dispositions.items():
            signal.signal(sig, disposition)

    def connect(self, handler: Handler) -> None:
        """Call ``handler(signum)`` on the watching thread for every signal, earlier ones first."""
        with self._lock:
            self._handler = handler
            early = list(self.received)
        for sig in early:
            handler(sig)

    def _watch(self) -> None:
        while True:
            sig = signal.sigwait(SIGNALS)
            with self._lock:
                if self._done:
                    return
            self._dispatch(sig)

    def _delivered(self, sig: int, _frame: object) -> None:
        """A signal that reached a thread not blocking it (on the main thread, as Python runs
        signal handlers)."""
        with self._lock:
            if self._done:
                return
        self._dispatch(sig)

    def _dispatch(self, sig: int) -> None:
        with self._lock:
            self.received.append(sig)
            handler = self._handler
        if handler is not None:
            handler(sig)
