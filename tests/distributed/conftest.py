"""Groups of real ranks on 127.0.0.1 (the ring backend), started the way a user starts them.

A group is ``mlxk run|serve ... --ranks 2`` (mlxk starts mlx.launch, which starts the ranks), or
``mlx.launch -n 2 -- mlxk ...``, or ranks started by hand with the variables mlx.launch sets
(``MLX_RANK``, ``MLX_HOSTFILE``), so that one rank can see another cache than the other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.factory import build_model
from tests.programs import console_script, free_port, wait_healthy

CHAT = "mlx-community/tiny-chat"


def env_for(cache: Path, **extra: str) -> dict[str, str]:
    """This process's environment with ``cache`` as the hub cache."""
    return {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent), **extra}


@pytest.fixture(scope="module")
def chat_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache of this module's own holding the factory's trained chat model."""
    cache = tmp_path_factory.mktemp("group") / "hub"
    cache.mkdir()
    build_model("chat", cache)
    return cache


def mlxk(*args: str, cache: Path, **popen: Any) -> subprocess.Popen[bytes]:
    """``mlxk ARGS`` in a subprocess with ``cache`` as its hub cache."""
    return subprocess.Popen([console_script("mlxk"), *args], env=env_for(cache), **popen)


def ranks_of(pid: int, expected: int = 2, within: float = 60.0) -> dict[int, psutil.Process]:
    """The rank processes under ``pid`` (by the MLX_RANK the launcher gave them)."""
    deadline = time.monotonic() + within
    while True:
        found: dict[int, psutil.Process] = {}
        for child in psutil.Process(pid).children(recursive=True):
            try:
                rank = child.environ().get("MLX_RANK")
                if rank is not None and "mlxk_cli" in " ".join(child.cmdline()):
                    found[int(rank)] = child
            except psutil.Error:
                continue
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def alive(procs: Sequence[psutil.Process]) -> list[psutil.Process]:
    """Those of ``procs`` still running (zombies count as gone)."""
    left = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.NoSuchProcess:
            continue
    return left


def wait_gone(procs: Sequence[psutil.Process], within: float) -> list[psutil.Process]:
    """Wait up to ``within`` seconds for ``procs`` to end; those still running then."""
    deadline = time.monotonic() + within
    while alive(procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(procs)


@dataclass
class Served:
    """A sharded server: the process the user started, its URL, and its log."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def everything(self) -> list[psutil.Process]:
        """The user's process and all it started."""
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]


@contextmanager
def serve_group(cache: Path, model: str, log: Path, *flags: str,
                command: Sequence[str] | None = None) -> Iterator[Served]:
    """``mlxk serve --model MODEL --ranks 2 FLAGS`` (or ``command``), until healthy; stopped
    (SIGTERM, then SIGKILL to what is left) at the end."""
    port = free_port()
    argv = list(command) if command is not None else [
        console_script("mlxk"), "serve", "--model", model, "--ranks", "2",
    ]
    argv += ["--port", str(port), *flags]
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, env=env_for(cache), stdout=sink, stderr=subprocess.STDOUT)
    served = Served(proc, f"http://127.0.0.1:{port}", log)
    everything: list[psutil.Process] = []
    try:
        wait_healthy(served.url, proc, within=180, log=log)
        everything = served.everything()
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for left in alive(everything):
            left.kill()


def hostfile(tmp_path: Path, ranks: int = 2) -> Path:
    """A ring hostfile for ``ranks`` ranks on 127.0.0.1 (what mlx.launch writes)."""
    path = tmp_path / "ring.json"
    path.write_text(json.dumps([[f"127.0.0.1:{free_port()}"] for _ in range(ranks)]))
    return path


def start_rank(rank: int, ring: Path, args: Sequence[str], *, cache: Path,
               **env: str) -> subprocess.Popen[str]:
    """One rank started by hand, as mlx.launch would start it, with its own cache and env."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlxk_cli", *args],
        env=env_for(cache, MLX_RANK=str(rank), MLX_HOSTFILE=str(ring), **env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def random_model(out_dir: Path, model_type: str, **shape: Any) -> Path:
    """An untrained model of ``model_type`` (an mlx-lm architecture) with the chat tokenizer."""
    import importlib

    import mlx.core as mx

    from tests.factory.tokenizer import train_bpe, write_tokenizer
    from tests.factory.training import llama_config, save_weights

    ids = write_tokenizer(train_bpe(), "chat", out_dir, 8192)
    config = llama_config(432, ids["bos_token"], [ids["eos_token"]], 8192)
    config.update(model_type=model_type, architectures=[], **shape)
    (out_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    module = importlib.import_module(f"mlx_lm.models.{model_type}")
    model = module.Model(module.ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    save_weights(model, out_dir / "model.safetensors")
    return out_dir
