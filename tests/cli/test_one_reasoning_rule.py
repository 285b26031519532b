"""One reasoning verdict per model: `show` says what `run` and the server do.

Models: the plain chat model (no), the harmony model (its template), a copy of the chat model
whose name marks it as gpt-oss, and the same copy as a local folder. `run --json` reports
``reasoning`` (null for models it does not split) and the server adds ``reasoning_content``
only for reasoning models.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openai
import pytest

from mlxk_core.cache.store import store_snapshot
from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.cli.programs import GREEDY, mlxk
from tests.factory import QA, build_model, snapshot_dir
from tests.server.conftest import running

NAMED = "acme/tiny-gpt-oss-lookalike"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hub = tmp_path_factory.mktemp("reasoning") / "hub"
    hub.mkdir()
    for variant in ("chat", "reasoning"):
        build_model(variant, hub)
    chat = snapshot_dir(hub, "mlx-community/tiny-chat")
    store_snapshot(hub, NAMED, {p.name: p for p in chat.iterdir()})
    shutil.copytree(chat, hub.parent / "gpt-oss-folder", symlinks=False)
    return hub


def _show(cache: Path, name: str) -> bool:
    result = mlxk(cache, "show", name, "--json")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)["data"]["reasoning"]
    text = mlxk(cache, "show", name).stdout
    assert f"Reasoning      {'yes' if verdict else 'no'}" in text.splitlines()
    return bool(verdict)


def _run(cache: Path, name: str) -> bool:
    result = mlxk(cache, "run", name, QA.FRANCE.question, *GREEDY, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]["reasoning"] is not None


@pytest.mark.parametrize(
    ("name", "reasoning"),
    [("mlx-community/tiny-chat", False), ("test-org/tiny-gpt-oss", True), (NAMED, True)],
)
def test_show_run_and_the_server_agree(cache: Path, name: str, reasoning: bool) -> None:
    assert _show(cache, name) is _run(cache, name) is reasoning
    app = create_app(ServerSettings(core=Settings(cache_dir=cache)))
    with running(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        reply = client.chat.completions.create(
            model=name, messages=QA.FRANCE.messages, temperature=0, max_tokens=40
        )
    extra = reply.choices[0].message.model_extra or {}
    assert ("reasoning_content" in extra) is reasoning


def test_a_local_folder_named_as_reasoning_gets_one_verdict(cache: Path) -> None:
    folder = str(cache.parent / "gpt-oss-folder")
    assert _show(cache, folder) is _run(cache, folder) is True
