"""Turn huggingface_hub's tqdm bars into byte counts for a progress callback, and stop on cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ByteTracker", "TransferCancelled"]


class TransferCancelled(Exception):
    """Raised inside a download thread to stop it (the pull was interrupted)."""


class ByteTracker:
    """Counts transferred bytes across snapshot_download calls; hands out a silent tqdm class.

    snapshot_download makes several bars per call (a file counter and one or two byte bars fed
    with the same chunks); the first byte bar made after ``begin_phase`` is the one counted.
    """

    def __init__(self, on_bytes: Callable[[int], None]) -> None:
        self.cancel = threading.Event()
        self.downloaded = 0
        self._on_bytes = on_bytes
        self._lock = threading.Lock()
        self._primary: object | None = None

    def begin_phase(self) -> None:
        """Call before each snapshot_download: its first byte bar becomes the counted one."""
        self._primary = None

    def register(self, bar: object) -> None:
        """A byte bar was made."""
        with self._lock:
            if self._primary is None:
                self._primary = bar

    def add(self, bar: object, n: int) -> None:
        """Bytes reported on ``bar`` (negative when a restarted transfer rolls back)."""
        if self.cancel.is_set():
            raise TransferCancelled
        if bar is not self._primary or not n:
            return
        with self._lock:  # report under the lock so counts arrive in order
            self.downloaded = max(0, self.downloaded + n)
            self._on_bytes(self.downloaded)

    def tqdm_class(self) -> type[Any]:
        """A tqdm subclass that draws nothing and reports to this tracker."""
        from tqdm.auto import tqdm as base  # type: ignore[import-untyped]

        tracker = self

        class _Bar(base):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.pop("name", None)
                kwargs["disable"] = True
                self._counts_bytes = kwargs.get("unit") == "B"
                super().__init__(*args, **kwargs)
                if self._counts_bytes:
                    tracker.register(self)

            def update(self, n: float | None = 1) -> bool | None:
                if self._counts_bytes:
                    tracker.add(self, int(n or 0))
                elif tracker.cancel.is_set():
                    raise TransferCancelled
                result: bool | None = super().update(n)
                return result

        return _Bar
