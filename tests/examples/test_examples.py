"""Each script in examples/ runs as a user would run it, on the factory's tiny trained models."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.factory import QA, REASONING
from tests.factory.variants import make_missing_shard
from tests.programs import console_script, free_port, wait_healthy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Install = Callable[[str], str]


def run_example(name: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` in a fresh interpreter (the isolated cache is in the env)."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=120, cwd=EXAMPLES.parent.parent,
    )
    assert (done.returncode == 0) == ok, done.stderr
    return done


def test_every_example_is_short_documented_and_tested() -> None:
    source = Path(__file__).read_text()
    for script in EXAMPLES.glob("*.py"):
        text = script.read_text()
        assert text.startswith('"""') and "Run:" in text, script.name
        assert len(text.splitlines()) <= 60, script.name
        assert f'"{script.name}"' in source, f"{script.name} has no test"


def test_list_cache_shows_framework_type_size_and_health(
    install_model: Install, hf_cache: Path
) -> None:
    chat = install_model("chat")
    make_missing_shard(hf_cache)
    out = run_example("list_cache.py").stdout
    assert out.startswith(f"2 model(s) in {hf_cache}\n")
    assert re.search(rf"^{chat}\s+mlx\s+chat\s+\d+\.\d KB\s+healthy$", out, re.M), out
    assert re.search(r"^mlx-community/Tiny-Missing-Shard .* unhealthy: .*missing shard", out, re.M)


def test_engine_threads_answers_each_question_from_its_own_thread(install_model: Install) -> None:
    questions = [QA.FRANCE, QA.GREETING, QA.NAME_INTRO, QA.NAME_UNKNOWN]
    out = run_example("engine_threads.py", install_model("chat"),
                      *(q.question for q in questions)).stdout
    lines = out.splitlines()
    assert len(lines) == len(questions)
    for line, qa in zip(lines, questions, strict=True):
        assert re.fullmatch(rf"{re.escape(qa.question)} -> {re.escape(qa.answer)} \(\d+ tokens\)",
                            line), line


def test_chat_stream_prints_the_answer_then_usage_and_timings(install_model: Install) -> None:
    out = run_example("chat_stream.py", install_model("chat"), QA.FRANCE.question).stdout
    answer, finish, timings = out.splitlines()
    assert answer == QA.FRANCE.answer
    match = re.fullmatch(r"finish: stop; tokens: (\d+) prompt, (\d+) completion", finish)
    assert match is not None, finish
    assert int(match[1]) > len(QA.FRANCE.question.split()) and 0 < int(match[2]) < 20
    speed = r"first token after \d\.\d{3}s; [\d.]+ tokens/s; peak memory [\d.]+ MB"
    assert re.fullmatch(speed, timings), timings


def test_default_model_that_is_not_cached_is_never_downloaded(hf_cache: Path) -> None:
    done = run_example("chat_stream.py", ok=False)
    assert done.returncode == 1
    assert "mlxk pull mlx-community/" in done.stderr
    assert list(hf_cache.iterdir()) == []


def test_multi_turn_remembers_the_first_turn_and_reuses_its_cache(install_model: Install) -> None:
    turns = (QA.NAME_INTRO.question, QA.NAME_RECALL.question)
    out = run_example("multi_turn.py", install_model("chat"), *turns).stdout
    lines = out.splitlines()
    assert lines[1] == f"[1] assistant: {QA.NAME_INTRO.answer}"
    assert lines[4] == f"[2] assistant: {QA.NAME_RECALL.answer}"
    cached = [re.search(r"after \d\.\d{3}s; (\d+) of (\d+) prompt tokens", line) for line in lines]
    (first_cached, first_prompt), (second_cached, second_prompt) = (
        (int(m[1]), int(m[2])) for m in cached if m
    )
    assert first_cached == 0
    assert first_prompt <= second_cached < second_prompt


def test_reasoning_split_prints_the_reasoning_then_the_answer(install_model: Install) -> None:
    repo = install_model("reasoning")
    out = run_example("reasoning_split.py", repo, REASONING.exchange.question).stdout
    assert out == f"=== Reasoning ===\n{REASONING.analysis}\n=== Answer ===\n{REASONING.answer}\n"


def test_cancel_from_the_reader_thread_ends_the_stream_early(install_model: Install) -> None:
    out = run_example("cancel.py", install_model("chat"), QA.FRANCE.question, "2").stdout
    shown, finish = out.splitlines()
    assert shown and QA.FRANCE.answer.startswith(shown) and shown != QA.FRANCE.answer
    match = re.fullmatch(r"finish_reason: cancelled after (\d+) tokens", finish)
    assert match is not None and 2 <= int(match[1]) <= 4, finish


@pytest.fixture
def serve(install_model: Install, hf_cache: Path) -> Iterator[tuple[str, str]]:
    """``mlxk-serve`` as a process over a cache with the chat model; yields (its /v1 URL, model)."""
    repo = install_model("chat")
    url = f"http://127.0.0.1:{free_port()}"
    log = hf_cache.parent / "serve.log"
    proc = subprocess.Popen(
        [console_script("mlxk-serve"), "--port", url.rsplit(":", 1)[1], "--log-level", "warning"],
        env={**os.environ}, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    try:
        wait_healthy(url, proc, log=log)
        yield url + "/v1", repo
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_openai_client_streams_from_mlxk_serve(serve: tuple[str, str]) -> None:
    url, repo = serve
    out = run_example("openai_client.py", repo, QA.FRANCE.question, url).stdout
    models, answer, usage = out.splitlines()
    assert models == f"models: {repo}"
    assert answer == QA.FRANCE.answer
    assert re.fullmatch(r"usage: \d+ prompt, [1-9]\d* completion tokens", usage)


def test_openai_client_without_a_server_says_so(hf_cache: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    done = run_example("openai_client.py", "some-model", "question", nobody, ok=False)
    assert done.stderr.startswith("error: Connection error")
