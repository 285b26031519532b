"""The real `mlxk pull` program: HF_ENDPOINT and HF_HUB_OFFLINE honoured, Ctrl-C exits 130."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from mlxk_core.cache.index import CacheIndex
from tests.fakehub import FakeHub, Fault, fixtures, samples
from tests.programs import console_script

hub = fixtures.hub


def _mlxk(*args: str) -> list[str]:
    return [console_script("mlxk"), *args]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _mlxk(*args),
        env={**os.environ, "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_the_cli_honours_hf_endpoint(hub: FakeHub, hf_cache: Path) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    proc = _run("pull", "org/tiny", "--json", HF_ENDPOINT=hub.url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["data"]["health"]["healthy"]
    assert any(r.path == "/api/models/org/tiny" for r in hub.requests)
    model, _ = CacheIndex(hf_cache).get("org/tiny")
    assert model.healthy


def test_offline_mode_is_a_clear_error_without_network(hub: FakeHub, hf_cache: Path) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    proc = _run("pull", "org/tiny", HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="1")
    assert proc.returncode == 1
    assert "HF_HUB_OFFLINE" in proc.stderr and "Traceback" not in proc.stderr
    assert hub.requests == []
    assert os.listdir(hf_cache) == []


def test_ctrl_c_exits_130_leaves_no_healthy_half_model_and_pull_resumes(
    hub: FakeHub, hf_cache: Path
) -> None:
    files = samples.mlx_model()
    hub.add_repo("org/tiny", files)
    hub.fault("org/tiny", "model.safetensors", Fault(stall_s=6.0))  # ample time, even loaded
    env = {**os.environ, "NO_COLOR": "1", "HF_ENDPOINT": hub.url}
    proc = subprocess.Popen(
        _mlxk("pull", "org/tiny"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    blobs = hf_cache / "models--org--tiny" / "blobs"
    small = len(files) - 2  # all but the stalled weights and config.json (fetched last)
    deadline = time.monotonic() + 30
    while not (
        hub.file_gets("/_lfs/" + _sha256(files["model.safetensors"])) and _count(blobs) == small
    ):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # while the weights are half sent
    out, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert "[interrupted]" in err and "Traceback" not in out + err
    assert not (hf_cache / "models--org--tiny" / "refs").exists()
    assert not any(m.healthy for m in CacheIndex(hf_cache).models())

    again = _run("pull", "org/tiny", "--json", HF_ENDPOINT=hub.url)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)["data"]
    assert data["health"]["healthy"]
    assert data["downloaded_bytes"] == len(files["model.safetensors"]) + len(files["config.json"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _count(blobs: Path) -> int:
    """Complete blobs (huggingface_hub renames a download into place only when it is whole)."""
    if not blobs.is_dir():
        return 0
    return sum(1 for p in blobs.iterdir() if not p.name.endswith(".incomplete"))
