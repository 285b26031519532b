"""A real ``mlxk-serve`` process, behind an API key, on the factory's tiny trained models."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.factory import REPO_IDS, build_model, snapshot_dir
from tests.programs import console_script, free_port, wait_healthy

KEY = "sk-test-key"
CHAT = REPO_IDS["chat"]
BASE = REPO_IDS["base"]
REASONER = REPO_IDS["reasoning"]
TOOLS = REPO_IDS["tools"]


@dataclass(frozen=True)
class Served:
    """The running server: its base URL and the hub cache it serves."""

    url: str
    cache: Path

    def snapshot(self, repo_id: str) -> Path:
        """A served model's snapshot folder (to check what the server says against its files)."""
        return snapshot_dir(self.cache, repo_id)


@contextmanager
def mlxk_serve(root: Path, *variants: str) -> Iterator[Served]:
    """``mlxk-serve --api-key KEY`` on a fresh cache holding ``variants``; stopped afterwards."""
    cache = root / "hub"
    cache.mkdir(parents=True)
    for variant in variants:
        build_model(variant, cache)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLXK_", "HF_"))}
    env |= {"HF_HOME": str(root), "HF_HUB_CACHE": str(cache), "HF_ENDPOINT": "http://127.0.0.1:9"}
    port = free_port()
    log = root / "serve.log"
    proc = subprocess.Popen(
        [console_script("mlxk-serve"), "--port", str(port), "--api-key", KEY,
         "--max-loaded-models", str(len(variants)), "--log-level", "warning"],
        env=env, stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log=log)
        yield Served(url, cache)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
