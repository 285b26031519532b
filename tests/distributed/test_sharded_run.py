"""`mlxk run` with the model sharded over two ranks gives the text one process gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from mlxk_core.settings import Settings
from tests.distributed.conftest import CHAT, env_for, random_model
from tests.factory import QA
from tests.programs import console_script

STORY = "Tell me a story about a dragon."


def one_process(cache: Path, question: str, **params: object) -> str:
    """What a single process answers (the engine on the plain MLX backend)."""
    with Runner(CHAT, settings=Settings(cache_dir=cache)) as runner:
        request = GenerationRequest.chat([("user", question)], **params)  # type: ignore[arg-type]
        return runner.generate(request).text


def run(
    cache: Path, *args: str, command: list[str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    argv = command or [console_script("mlxk")]
    return subprocess.run([*argv, "run", CHAT, *args], env=env_for(cache), capture_output=True,
                          text=True, timeout=240, input=stdin)


def test_greedy_text_over_two_ranks_is_the_one_process_text(chat_cache: Path) -> None:
    question = QA.FRANCE.question
    expected = one_process(chat_cache, question, temperature=0)
    done = run(chat_cache, question, "--temperature", "0", "--ranks", "2", "-v")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected == QA.FRANCE.answer
    assert "tensor parallel over 2 ranks" in done.stderr
    assert "rank 0 (" in done.stderr and "rank 1 (" in done.stderr  # each rank's memory


@pytest.mark.slow
def test_sampled_text_with_a_seed_is_the_one_process_text(chat_cache: Path) -> None:
    expected = one_process(chat_cache, STORY, temperature=1.5, top_p=1.0, seed=7, max_tokens=40)
    done = run(chat_cache, STORY, "--temperature", "1.5", "--top-p", "1", "--seed", "7",
               "--max-tokens", "40", "--ranks", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected.strip()


@pytest.mark.slow
def test_under_mlx_launch_itself(chat_cache: Path) -> None:
    question = QA.NAME_UNKNOWN.question
    launcher = [console_script("mlx.launch"), "-n", "2", "--backend", "ring", "--",
                sys.executable, "-m", "mlxk_cli"]
    done = run(chat_cache, question, "--temperature", "0", command=launcher)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == one_process(chat_cache, question, temperature=0)


@pytest.mark.slow
def test_a_piped_prompt_and_a_piped_chat(chat_cache: Path) -> None:
    done = run(chat_cache, "--temperature", "0", "--ranks", "2", stdin=QA.FRANCE.question + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == QA.FRANCE.answer
    turns = "".join(f"{text}\n" for role, text in QA.NAME_RECALL.turns if role == "user")
    done = run(chat_cache, "-i", "--temperature", "0", "--ranks", "2", stdin=turns)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [QA.NAME_INTRO.answer, QA.NAME_RECALL.answer]


@pytest.mark.slow
def test_pipeline_parallel_gives_the_one_process_text(tmp_path: Path) -> None:
    """An architecture with ``pipeline()`` (an untrained ministral3: each rank runs half of
    its layers), sampling with a seed so that any difference in the logits shows."""
    folder = random_model(tmp_path / "m3", "ministral3", num_hidden_layers=4, rope_parameters={
        "rope_type": "default", "rope_theta": 10000.0, "llama_4_scaling_beta": 0.1,
        "original_max_position_embeddings": 8192,
    })
    cache = tmp_path / "hub"
    cache.mkdir()
    args = ["run", str(folder), "Hello there", "--temperature", "1.0", "--top-p", "1",
            "--seed", "3", "--max-tokens", "30"]

    def mlxk(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([console_script("mlxk"), *args, *flags], env=env_for(cache),
                              capture_output=True, text=True, timeout=240)

    alone, sharded = mlxk(), mlxk("--ranks", "2", "--sharding", "pipeline", "-v")
    assert alone.returncode == 0 and sharded.returncode == 0, sharded.stderr
    assert "pipeline parallel over 2 ranks" in sharded.stderr
    assert sharded.stdout == alone.stdout and len(alone.stdout.strip()) > 10
