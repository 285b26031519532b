"""Model faults: removed while generating, corrupted weights, prompts past the context."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core.cache.health import check_health
from mlxk_core.errors import MlxkError, ModelNotFound
from mlxk_core.generation.events import Chunk
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from mlxk_core.settings import Settings
from tests.factory import QA, snapshot_dir
from tests.reliability.pulltools import assert_told, mlxk
from tests.reliability.recorder import Figures

Install = Callable[[str], str]
WAIT_S = 60


def _generate_paused(runner: Runner, request: GenerationRequest, gate: threading.Event,
                     started: threading.Event, out: dict[str, object]) -> None:
    """Stream ``request``; after the first chunk, wait at ``gate`` (the generation is live)."""
    chunks: list[Chunk] = []
    try:
        for chunk in runner.stream(request):
            chunks.append(chunk)
            if len(chunks) == 1:
                started.set()
                gate.wait(WAIT_S)
        out["text"] = "".join(c.text for c in chunks)
        out["finish"] = chunks[-1].finish_reason
    except BaseException as exc:  # reported to the test thread
        out["error"] = exc
    finally:
        started.set()


def test_rm_while_a_runner_is_generating(
    install_model: Install, hf_cache: Path, figures: Figures
) -> None:
    """`mlxk rm` mid-generation: the running answer completes (or fails with an MlxkError),
    the model is gone from the cache, the loaded Runner keeps answering, a new load is refused."""
    repo = install_model("chat")
    request = GenerationRequest.chat(QA.FRANCE.turns)
    with Runner(repo, settings=Settings.from_env()) as runner:
        alone = runner.generate(request).text
        assert alone == QA.FRANCE.answer
        figures.answer()
        gate, started, out = threading.Event(), threading.Event(), {}
        worker = threading.Thread(
            target=_generate_paused, args=(runner, request, gate, started, out), daemon=True
        )
        worker.start()
        assert started.wait(WAIT_S)
        removed = mlxk("rm", repo, "--force")
        figures.fault("model removed while in use")
        gate.set()
        worker.join(WAIT_S)
        assert not worker.is_alive()
        assert removed.exit_code == 0, removed.stderr
        assert not (hf_cache / ("models--" + repo.replace("/", "--"))).exists()
        if "error" in out:
            assert isinstance(out["error"], MlxkError), out["error"]
        else:
            assert out["text"] == alone and out["finish"] == "stop"
            figures.answer()
        assert runner.generate(GenerationRequest.chat(QA.GREETING.turns)).text == QA.GREETING.answer
        figures.answer()
    with pytest.raises(ModelNotFound):
        Runner(repo, settings=Settings.from_env()).open()
    figures.refusal("library: ModelNotFound")


def test_rm_from_another_thread_during_free_running_generations(
    install_model: Install, hf_cache: Path, figures: Figures
) -> None:
    """Generations running flat out while the model is removed and reinstalled, over and over:
    every generation ends with its full answer, none crashes."""
    repo = install_model("chat")
    request = GenerationRequest.chat(QA.PIRATE.turns)
    stop = threading.Event()
    answers: list[str] = []
    errors: list[BaseException] = []

    def generate(runner: Runner) -> None:
        while not stop.is_set():
            try:
                answers.append(runner.generate(request).text)
            except BaseException as exc:  # any non-MlxkError is a crash
                errors.append(exc)
                return

    with Runner(repo, settings=Settings.from_env()) as runner:
        worker = threading.Thread(target=generate, args=(runner,), daemon=True)
        worker.start()
        for _ in range(5):
            assert mlxk("rm", repo, "--force").exit_code == 0
            figures.fault("model removed while in use")
            install_model("chat")
        stop.set()
        worker.join(WAIT_S)
    assert not worker.is_alive()
    assert all(isinstance(e, MlxkError) for e in errors), errors
    assert answers and set(answers) == {QA.PIRATE.answer}
    figures.answer(len(answers))


def _long_prompt(words: int) -> str:
    return " ".join(["the cat sat on the mat"] * (words // 6 + 1))


@pytest.mark.parametrize("words", [300, 2_000, 60_000])
def test_a_prompt_past_the_context_is_a_clear_error(
    words: int, install_model: Install, figures: Figures
) -> None:
    """`mlxk run` on the 256-token model with a prompt longer than its context: exit 1, one
    clear line naming both lengths, no traceback, no attempt to generate."""
    repo = install_model("small-context")
    result = mlxk("run", repo, _long_prompt(words), "--temperature", "0")
    assert_told(result, "tokens", "context is 256 tokens")
    assert result.stdout == ""
    figures.refusal("CLI: exit 1, prompt past the context")


def _truncate_weights(cache: Path, repo: str) -> Path:
    blob = Path(os.path.realpath(snapshot_dir(cache, repo) / "model.safetensors"))
    os.truncate(blob, blob.stat().st_size // 2)
    return blob


def test_truncated_weights_fail_cleanly_and_health_names_the_file(
    install_model: Install, hf_cache: Path, figures: Figures
) -> None:
    """Weights cut in half on disk: `mlxk run` exits 1 with a clear error, `mlxk health`
    names the truncated file and exits 1."""
    repo = install_model("chat")
    _truncate_weights(hf_cache, repo)
    figures.fault("file damaged on disk")
    run = mlxk("run", repo, "hello", "--temperature", "0")
    assert_told(run, repo)
    health = mlxk("health", repo)
    assert health.exit_code == 1
    assert "model.safetensors" in health.stdout and "truncated" in health.stdout
    figures.answer()  # health's verdict: unhealthy, naming the file
    everything = mlxk("health")
    assert everything.exit_code == 1 and "truncated" in everything.stdout
    figures.answer()
    verdict = check_health(snapshot_dir(hf_cache, repo))
    assert not verdict.healthy and any("truncated" in r for r in verdict.reasons)


@pytest.mark.parametrize(
    "damage",
    ["zero-length", "garbage header", "header only", "config not json", "tokenizer missing"],
)
def test_damaged_model_files_never_crash_run_or_health(
    damage: str, install_model: Install, hf_cache: Path, figures: Figures
) -> None:
    """Other damage to a model's files: run exits 1 with a clear error, health exits 1."""
    repo = install_model("chat")
    snap = snapshot_dir(hf_cache, repo)
    weights = Path(os.path.realpath(snap / "model.safetensors"))
    if damage == "zero-length":
        os.truncate(weights, 0)
    elif damage == "garbage header":
        weights.write_bytes(b"\xff" * 64 + weights.read_bytes()[64:])
    elif damage == "header only":
        data = weights.read_bytes()
        weights.write_bytes(data[: 8 + int.from_bytes(data[:8], "little")])
    elif damage == "config not json":
        Path(os.path.realpath(snap / "config.json")).write_text("{not json")
    else:
        os.unlink(os.path.realpath(snap / "tokenizer.json"))
    figures.fault("file damaged on disk")
    run = mlxk("run", repo, "hello", "--temperature", "0")
    health = mlxk("health", repo)
    assert_told(run)
    assert health.exit_code == 1, health.stdout
    figures.answer()  # health's verdict: unhealthy
