"""When a rank dies or stops answering, clients get a 503 that says so, soon, and nothing hangs;
a signal ends the whole group, leaving no process behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from mlxk_core.cache.store import store_snapshot
from tests.distributed.conftest import Served, env_for, ranks_of, serve_group, wait_gone
from tests.factory.random_llama import build_random_llama
from tests.programs import assert_port_free, console_script

pytestmark = pytest.mark.slow

BABBLER = "test-org/babbler"


@pytest.fixture(scope="module")
def babble_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with an untrained llama: greedy decoding runs on through its whole budget."""
    root = tmp_path_factory.mktemp("babble")
    folder = build_random_llama(root / "model")
    cache = root / "hub"
    store_snapshot(cache, BABBLER, {p.name: p for p in sorted(folder.iterdir())})
    return cache


def _client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0,
                         timeout=60)


def _messages() -> Any:
    return [{"role": "user", "content": "Tell me a long story."}]


class Streaming(threading.Thread):
    """A long streamed generation; records its chunks and how (and when) it ended."""

    def __init__(self, served: Served) -> None:
        super().__init__(daemon=True)
        self.client = _client(served)
        self.chunks = 0
        self.error: BaseException | None = None
        self.ended = 0.0

    def run(self) -> None:
        try:
            for _ in self.client.chat.completions.create(
                model=BABBLER, messages=_messages(), temperature=0, max_tokens=6000, stream=True
            ):
                self.chunks += 1
        except BaseException as exc:  # what the client saw is the finding
            self.error = exc
        self.ended = time.monotonic()

    @classmethod
    def begin(cls, served: Served, chunks: int = 5) -> Streaming:
        """A streamed generation, once it has produced ``chunks`` chunks."""
        stream = cls(served)
        stream.start()
        deadline = time.monotonic() + 60
        while stream.chunks < chunks:
            assert time.monotonic() < deadline, "the stream did not start"
            time.sleep(0.05)
        return stream


def _whole(served: Served, into: list[Any]) -> Callable[[], None]:
    def ask() -> None:
        try:
            _client(served).chat.completions.create(
                model=BABBLER, messages=_messages(), temperature=0, max_tokens=6000
            )
            into.append("completed")
        except BaseException as exc:
            into.append(exc)
        into.append(time.monotonic())

    return ask


def test_a_killed_rank_gives_503s_within_10_s_then_the_group_ends(
    babble_cache: Path, tmp_path: Path
) -> None:
    with serve_group(babble_cache, BABBLER, tmp_path / "log", "--rank-timeout", "10") as served:
        ranks = ranks_of(served.proc.pid)
        everything = served.everything()
        stream = Streaming.begin(served)
        whole: list[Any] = []
        waiter = threading.Thread(target=_whole(served, whole), daemon=True)
        waiter.start()
        time.sleep(0.5)  # the whole request is running too
        ranks[1].kill()
        killed = time.monotonic()
        stream.join(30)
        waiter.join(30)
        assert isinstance(stream.error, openai.APIError), stream.error
        assert "The sharded model is unavailable" in str(stream.error)
        assert stream.ended - killed < 10
        error, ended = whole
        assert isinstance(error, openai.APIStatusError) and error.status_code == 503, error
        assert "unavailable" in error.message and ended - killed < 10
        # mlx.launch ends a group whose rank died: every process is gone, none hangs
        assert wait_gone(everything, within=10) == []
        assert served.proc.returncode != 0


def test_a_rank_that_stops_answering_gives_503s_and_health_says_so(
    babble_cache: Path, tmp_path: Path
) -> None:
    with serve_group(babble_cache, BABBLER, tmp_path / "log", "--rank-timeout", "3") as served:
        ranks = ranks_of(served.proc.pid)
        everything = served.everything()
        stream = Streaming.begin(served)
        ranks[1].send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        stream.join(30)
        assert isinstance(stream.error, openai.APIError), stream.error
        assert stream.ended - stopped < 10
        health = httpx.get(served.url + "/health", timeout=5)
        assert health.status_code == 503
        assert health.json()["group"]["status"] == "broken"
        assert "stopped answering" in health.json()["problem"]
        asked = time.monotonic()
        with pytest.raises(openai.APIStatusError) as refused:
            _client(served).chat.completions.create(model=BABBLER, messages=_messages())
        assert refused.value.status_code == 503 and time.monotonic() - asked < 5
        # a signal still ends the whole group, the stopped rank included
        served.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert wait_gone(everything, within=10) == []
        assert time.monotonic() - signalled < 10
        assert served.proc.wait(5) == 128 + signal.SIGTERM


def test_sigterm_to_the_launcher_leaves_no_process(babble_cache: Path, tmp_path: Path) -> None:
    launcher = [console_script("mlx.launch"), "-n", "2", "--backend", "ring", "--",
                sys.executable, "-m", "mlxk_cli", "serve", "--model", BABBLER]
    with serve_group(babble_cache, BABBLER, tmp_path / "log", command=launcher) as served:
        assert len(ranks_of(served.proc.pid)) == 2
        everything = served.everything()
        stream = Streaming.begin(served)
        served.proc.send_signal(signal.SIGTERM)  # mlx.launch dies at once; its ranks see it
        assert wait_gone(everything, within=10) == []
        stream.join(10)
        assert not stream.is_alive()
        assert_port_free(int(served.url.rsplit(":", 1)[1]))


def test_sigterm_to_mlxk_ends_a_busy_group_cleanly(babble_cache: Path, tmp_path: Path) -> None:
    with serve_group(babble_cache, BABBLER, tmp_path / "log") as served:
        everything = served.everything()
        stream = Streaming.begin(served)
        served.proc.send_signal(signal.SIGTERM)
        assert wait_gone(everything, within=10) == []
        assert served.proc.wait(5) == 128 + signal.SIGTERM
        stream.join(10)
        assert not stream.is_alive()


def test_run_reports_a_lost_rank_and_exits(babble_cache: Path) -> None:
    proc = subprocess.Popen(
        [console_script("mlxk"), "run", BABBLER, "Tell me a story.", "--temperature", "0",
         "--max-tokens", "6000", "--ranks", "2"],
        env=env_for(babble_cache),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    ranks = ranks_of(proc.pid)
    everything = [*ranks.values()]
    assert proc.stdout is not None
    proc.stdout.read(20)  # it is generating
    ranks[1].kill()
    killed = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - killed < 10
    assert proc.returncode != 0
    assert b"unavailable" in err or b"rank 1" in err
    assert wait_gone(everything, within=5) == []
