"""The Engine: submit requests from any thread; one worker thread runs every model call.

    with Engine(settings=Settings.from_env()) as engine:
        handle = engine.submit("org/name", GenerationRequest.chat([("user", "Hi")]))
        for chunk in handle.chunks():
            print(chunk.text, end="")

Requests for the same model are decoded together in a continuous batch (a new one joins at the
next step); models are keyed by snapshot, so ``org/name@old`` is its own model; a request for
another model is served within about ``fair_share`` seconds plus the time for the running batch
to finish. MLX streams are thread-local, so the model is loaded, stepped and released on the
worker thread alone; handles carry plain Python values across. ``engine.embed(model, texts)``
queues an embedding request for an embedding model: it runs a forward pass at a time between
generation steps, from the same pool of models.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from mlxk_core.backends.base import PromptTokens
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.embeddings.plan import check_dimensions, check_inputs
from mlxk_core.embeddings.types import EmbeddingInput, EmbedOptions
from mlxk_core.engine.embedding import EmbedEvent, EmbedHandle
from mlxk_core.engine.handle import Listener, RequestHandle, model_key
from mlxk_core.engine.loaded import BackendFactory
from mlxk_core.engine.pool import Loaded, ModelPool
from mlxk_core.engine.worker import LoadOrder, UnloadOrder, Worker
from mlxk_core.errors import EngineBusy, EngineStopped, GenerationError, InvalidRequest
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.tokens import TokenPolicy
from mlxk_core.settings import Settings

__all__ = ["DEFAULT_FAIR_SHARE", "DEFAULT_PREFILL_CHUNK", "Engine", "EngineStatus"]

log = logging.getLogger("mlxk.engine")

DEFAULT_PREFILL_CHUNK = 512
"""Prompt tokens fed per step: a long prompt holds the other streams for one chunk at a time."""

DEFAULT_FAIR_SHARE = 1.0
"""Seconds a request for an unloaded model waits before the busy model stops taking work."""


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot of the engine: loaded models, and requests waiting and running."""

    loaded: tuple[dict[str, object], ...]
    waiting: int
    active: int


class Engine:
    """The scheduler: a queue, a pool of loaded models and a continuous batch per model."""

    def __init__(
        self,
        backend_factory: BackendFactory | None = None,
        *,
        settings: Settings | None = None,
        policy: TokenPolicy | None = None,
        max_loaded_models: int = 1,
        max_batch: int = 32,
        max_queue: int = 64,
        prefill_chunk: int = DEFAULT_PREFILL_CHUNK,
        fair_share: float = DEFAULT_FAIR_SHARE,
        idle_unload: float | None = None,
        on_load: Callable[[Loaded], None] | None = None,
    ) -> None:
        """``backend_factory`` builds the backend of each model loaded (default: MLX).

        ``on_load`` is called on the engine thread after each load (to log it, say).
        """
        if backend_factory is None:
            from mlxk_core.backends.factory import backend_factory as default

            backend_factory = default(settings)
        self._settings = settings
        self.max_batch = max(1, max_batch)
        self.max_queue = max_queue
        self.fair_share = fair_share
        self.idle_unload = idle_unload
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._waiting = 0
        self._active = 0
        self._pool = ModelPool(
            backend_factory, max_loaded=max_loaded_models,
            policy=policy or TokenPolicy(mode="server"), max_batch=self.max_batch,
            prefill_chunk=max(1, prefill_chunk), on_load=on_load,
        )
        self._thread = threading.Thread(target=self._run, name="mlxk-engine", daemon=True)
        self._finalizer = weakref.finalize(self, _stop, self.stopping, self.inbox, self._thread)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Engine:
        """Start the worker thread (``with Engine(...)`` does it)."""
        if not self._thread.is_alive() and not self.stopping.is_set():
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """End running requests with what they have, refuse waiting ones, release the models."""
        _stop(self.stopping, self.inbox, self._thread, timeout)

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- work ----------------------------------------------------------------------------

    def submit(
        self, model: ResolvedModel | str, request: GenerationRequest, *,
        cancel: threading.Event | None = None, listener: Listener | None = None,
    ) -> RequestHandle:
        """Queue a request; EngineBusy when the queue is full, EngineStopped after ``stop``.

        ``cancel``: an event that stops the request when set. ``listener``: receives every
        event on the engine thread (instead of the handle's own queue).
        """
        resolved = self._resolve(model)
        if resolved.facts.model_type == "embedding":
            raise InvalidRequest(
                f"'{resolved.name}' is an embedding model: it makes vectors, not text",
                param="model", hint="embed with it (`mlxk embed`, POST /v1/embeddings)",
            )
        handle = RequestHandle(resolved, request, cancel=cancel, listener=listener,
                               wake=self._wake)
        self._queue(handle)
        return handle

    def embed(
        self, model: ResolvedModel | str, inputs: Sequence[EmbeddingInput],
        options: EmbedOptions | None = None, *, cancel: threading.Event | None = None,
        listener: Callable[[EmbedEvent], None] | None = None,
    ) -> EmbedHandle:
        """Queue an embedding request (texts, or token-id lists) for an embedding model.

        InvalidRequest at once for a model that is not an embedding model, or bad inputs;
        EngineBusy / EngineStopped as for ``submit``. ``listener`` receives the one outcome on
        the engine thread (instead of the handle's own queue).
        """
        resolved = self._resolve(model)
        facts = resolved.facts.embedding
        if facts is None:
            raise InvalidRequest(
                f"'{resolved.name}' is a {resolved.facts.model_type} model, not an embedding "
                "model", param="model", hint="generate with it (`mlxk run`, chat completions)",
            )
        options = options or EmbedOptions()
        checked = check_inputs(inputs)
        if facts.dimension is not None:
            check_dimensions(options.dimensions, facts.dimension, facts, resolved.name)
        handle = EmbedHandle(resolved, checked, options, cancel=cancel, listener=listener,
                             wake=self._wake)
        self._queue(handle)
        return handle

    def _queue(self, item: RequestHandle | EmbedHandle) -> None:
        with self._lock:  # the worker's last drain of the inbox holds it too: nothing is lost
            if self.stopping.is_set():
                raise EngineStopped()
            if self._waiting >= self.max_queue:
                raise EngineBusy(self._waiting)
            self._waiting += 1
            self.inbox.put(item)

    def load(self, model: ResolvedModel | str) -> Loaded:
        """Load a model now (before its first request) and wait; raises what loading raised."""
        held = self._order(LoadOrder(self._resolve(model)))
        assert not isinstance(held, PromptTokens)
        return held

    def encode(self, model: ResolvedModel | str, request: GenerationRequest) -> PromptTokens:
        """The prompt ``request`` becomes for ``model`` (template and tokenizer), without
        generating: to count its tokens. Loads the model first if needed, as ``load`` does."""
        prompt = self._order(LoadOrder(self._resolve(model), request))
        assert isinstance(prompt, PromptTokens)
        return prompt

    def _order(self, order: LoadOrder) -> Loaded | PromptTokens:
        with self._lock:
            if self.stopping.is_set():
                raise EngineStopped()
            self.inbox.put(order)
        while not order.done.wait(0.1):
            if not self._thread.is_alive():
                raise EngineStopped()
        result = order.result[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def unload(self, model: ResolvedModel | str) -> None:
        """Release a model once its running requests are done (now, if it has none)."""
        self.inbox.put(UnloadOrder(model_key(self._resolve(model))))

    def status(self) -> EngineStatus:
        """Loaded models and queue figures; safe from any thread."""
        with self._lock:
            waiting, active = self._waiting, self._active
        return EngineStatus(tuple(self._pool.describe()), waiting, active)

    # -- worker side ---------------------------------------------------------------------

    def count(self, *, waiting: int = 0, active: int = 0) -> None:
        """Adjust the queue figures (engine thread)."""
        with self._lock:
            self._waiting += waiting
            self._active += active

    def _wake(self) -> None:
        self.inbox.put(None)

    def _resolve(self, model: ResolvedModel | str) -> ResolvedModel:
        if isinstance(model, ResolvedModel):
            return model
        from mlxk_core.generation.runner import resolve_model

        return resolve_model(model, self._settings)

    def _run(self) -> None:
        worker = Worker(self, self._pool, time.monotonic)
        try:
            worker.loop()
        except Exception:  # never leave requests hanging if the loop itself breaks
            log.exception("engine worker failed")
            worker.fail_all(GenerationError("The generation engine failed"))
        finally:
            with self._lock:
                self.stopping.set()
                leftovers = _drain(self.inbox)
            worker.shutdown(leftovers)
            from mlxk_core.backends.mlx import release_thread

            release_thread()


def _stop(
    stopping: threading.Event, inbox: queue.SimpleQueue[Any], thread: threading.Thread,
    timeout: float | None = 10.0,
) -> None:
    stopping.set()
    inbox.put(None)
    if thread.is_alive() and thread is not threading.current_thread():
        thread.join(timeout)


def _drain(inbox: queue.SimpleQueue[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(inbox.get_nowait())
        except queue.Empty:
            return items
