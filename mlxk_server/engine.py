"""The engine: one dedicated thread owns every model call; asyncio jobs bridge to it.

Requests wait in a queue; the thread loads the model of the oldest waiting request (one load at
a time, so every request for that model shares it), admits every waiting request for the loaded
model into the running set, and then advances all of them one token per step, checking for
new work and cancellations between steps. A request for another model waits for the running
set to drain, then the swap happens.

Shutdown (``stop``): waiting requests get a 503, running ones end at once with what they have
(a final chunk with finish reason ``stop``, so every stream still ends with ``[DONE]``), the
models are released and the thread frees its MLX streams before it ends.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from typing import Any

from mlxk_core.cache.records import ResolvedModel
from mlxk_core.errors import GenerationError, MlxkError
from mlxk_core.generation.events import FinishReason
from mlxk_core.generation.request import GenerationRequest
from mlxk_server.errors import ApiError, QueueFull
from mlxk_server.jobs import Job
from mlxk_server.models import LoadedModel, ModelPool, model_key
from mlxk_server.slots import Slot, SlotSet, make_set, open_slot

__all__ = ["Engine", "Job"]

log = logging.getLogger("mlxk.server")
_IDLE_POLL = 1.0


class Engine:
    """Owns the worker thread, the model pool and the waiting queue."""

    def __init__(
        self, pool: ModelPool, *, max_queue: int = 64, max_batch: int = 32,
        idle_unload: float | None = None,
    ) -> None:
        self._pool = pool
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._idle_unload = idle_unload
        self._inbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._waiting_count = 0
        self._active_count = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlxk-engine", daemon=True)
        self._keys = itertools.count()

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End every running request, release the models and join the thread."""
        self._stopping.set()
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wake(self) -> None:
        """Make an idle worker look at its queue again."""
        self._inbox.put(None)

    def submit(self, model: ResolvedModel, request: GenerationRequest) -> Job:
        """Queue a request; QueueFull when too many are already waiting."""
        job = Job(model, request, self.wake)
        with self._lock:  # the worker's last drain of the inbox holds it too: no job is lost
            if self._stopping.is_set():
                raise _shutting_down()
            if self._waiting_count >= self._max_queue:
                raise QueueFull()
            self._waiting_count += 1
            self._inbox.put(job)
        return job

    def preload(self, model: ResolvedModel) -> None:
        """Load a model before the first request (runs on the worker thread, waits for it)."""
        done = threading.Event()
        errors: list[BaseException] = []
        with self._lock:
            if self._stopping.is_set():
                raise _shutting_down()
            self._inbox.put(_Preload(model, done, errors))  # type: ignore[arg-type]
        done.wait()
        if errors:
            raise errors[0]

    def status(self) -> dict[str, Any]:
        """Loaded models and queue figures, safe to call from any thread."""
        with self._lock:
            waiting, active = self._waiting_count, self._active_count
        return {"loaded": self._pool.describe(), "waiting": waiting, "active": active}

    # --- worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        worker = _Worker(self)
        try:
            worker.loop()
        except Exception:  # never leave requests hanging if the worker itself breaks
            log.exception("engine worker failed")
            worker.fail_all(GenerationError("The generation engine failed"))
        finally:
            worker.shutdown()
            self._pool.close()
            from mlxk_core.backends.mlx import release_thread

            release_thread()

    def _admitted(self, n: int) -> None:
        with self._lock:
            self._waiting_count -= n
            self._active_count += n

    def _finished(self, n: int) -> None:
        with self._lock:
            self._active_count -= n

    def _dropped(self, n: int) -> None:
        with self._lock:
            self._waiting_count -= n


def _shutting_down() -> ApiError:
    return ApiError(503, "The server is shutting down", type="server_error",
                    code="shutting_down", headers={"Retry-After": "5"})


def _drain(inbox: queue.SimpleQueue[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(inbox.get_nowait())
        except queue.Empty:
            return items


class _Preload:
    def __init__(self, model: ResolvedModel, done: threading.Event, errors: list[BaseException]):
        self.model, self.done, self.errors = model, done, errors


class _Worker:
    """State that only the worker thread touches."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self.waiting: deque[Job] = deque()
        self.loaded: LoadedModel | None = None
        self.running: SlotSet | None = None
        self.slots: dict[int, tuple[Slot, Job]] = {}

    def loop(self) -> None:
        e = self.e
        while not e._stopping.is_set():
            self._take(block=not self.slots and not self.waiting)
            if e._stopping.is_set():
                break
            self._drop_cancelled_waiting()
            if not self.slots and self.waiting:
                self._switch_to(self.waiting[0].model)
            if self.loaded is not None:
                self._admit()
            if self.slots:
                self._step()
            elif e._idle_unload and not self.waiting:
                freed = e._pool.unload_idle(e._idle_unload)
                if self.loaded is not None and model_key(self.loaded.model) in freed:
                    self._release_running()

    def _take(self, *, block: bool) -> None:
        timeout = _IDLE_POLL if self.e._idle_unload else None
        try:
            item = self.e._inbox.get(block=block, timeout=timeout if block else None)
            while True:
                self._accept(item)
                item = self.e._inbox.get_nowait()
        except queue.Empty:
            return

    def _accept(self, item: Any) -> None:
        if isinstance(item, Job):
            self.waiting.append(item)
        elif isinstance(item, _Preload):
            try:
                self._switch_to(item.model, raise_errors=True)
            except BaseException as exc:
                item.errors.append(exc)
            item.done.set()

    def _drop_cancelled_waiting(self) -> None:
        kept = deque(j for j in self.waiting if not j.cancelled.is_set())
        if len(kept) != len(self.waiting):
            self.e._dropped(len(self.waiting) - len(kept))
            self.waiting = kept

    def _release_running(self) -> None:
        if self.running is not None:
            self.running.close()
        self.running, self.loaded = None, None

    def _switch_to(self, model: ResolvedModel, *, raise_errors: bool = False) -> None:
        key = model_key(model)
        if self.loaded is not None and self.loaded.model.path == model.path:
            return
        self._release_running()
        try:
            self.loaded = self.e._pool.get(model)
        except MlxkError as exc:
            if raise_errors:
                raise
            self._fail_waiting(key, exc)
            return
        self.running = make_set(self.loaded, self.e._max_batch)

    def _fail_waiting(self, key: str, exc: BaseException) -> None:
        failed = [j for j in self.waiting if j.key == key]
        self.waiting = deque(j for j in self.waiting if j.key != key)
        self.e._dropped(len(failed))
        for job in failed:
            job.push(exc)

    def _admit(self) -> None:
        assert self.loaded is not None and self.running is not None
        room = self.e._max_batch - len(self.slots)
        chosen = [j for j in self.waiting if j.key == model_key(self.loaded.model)][: max(room, 0)]
        if not chosen:
            return
        self.waiting = deque(j for j in self.waiting if j not in chosen)
        self.e._admitted(len(chosen))
        self.loaded.last_used = time.time()
        for job in chosen:
            key = next(self.e._keys)
            try:
                slot = open_slot(key, self.loaded, job.request)
                self.running.add(slot)
            except MlxkError as exc:
                self.e._finished(1)
                job.push(exc)
                continue
            except Exception as exc:
                log.exception("could not start a generation")
                self.e._finished(1)
                job.push(GenerationError(f"Generation failed to start: {exc}"))
                continue
            self.slots[key] = (slot, job)
            job.reasoning = slot.decoder.reasoning
            job.start()

    def _step(self) -> None:
        assert self.running is not None
        for key, (_slot, job) in list(self.slots.items()):
            if job.cancelled.is_set():
                self._end(key, "cancelled")
        if not self.slots:
            return
        try:
            result = self.running.step()
        except Exception as exc:
            log.exception("generation failed")
            self.fail_all(GenerationError(f"Generation failed: {exc}"))
            if self.loaded is not None:  # a model that failed mid-generation is reloaded afresh
                name = model_key(self.loaded.model)
                self._release_running()
                self.e._pool.unload(name)
            return
        for key, tokens in result.tokens.items():
            entry = self.slots.get(key)
            if entry is None:
                continue
            slot, job = entry
            for token in tokens:
                chunk = slot.decoder.add(token)
                if chunk is not None:
                    job.push(chunk)
                if slot.decoder.done:
                    break
            if slot.decoder.done:
                self._end(key, None)
        for key in result.exhausted:
            if key in self.slots:
                self._end(key, "length")
        if self.loaded is not None:
            self.loaded.last_used = time.time()

    def _end(self, key: int, reason: FinishReason | None) -> None:
        slot, job = self.slots.pop(key)
        if self.running is not None:
            self.running.remove(slot)
        self.e._finished(1)
        job.push(slot.decoder.finish(reason))

    def fail_all(self, exc: MlxkError) -> None:
        for _key, (_slot, job) in list(self.slots.items()):
            job.push(exc)
        self.e._finished(len(self.slots))
        self.slots.clear()

    def shutdown(self) -> None:
        for key in list(self.slots):
            self._end(key, "cancelled")
        with self.e._lock:
            left = _drain(self.e._inbox)
        for item in left:
            if isinstance(item, Job):
                self.waiting.append(item)
            elif isinstance(item, _Preload):
                item.errors.append(_shutting_down())
                item.done.set()
        self.e._dropped(len(self.waiting))
        for job in self.waiting:
            job.push(_shutting_down())
        self.waiting.clear()
        self._release_running()


