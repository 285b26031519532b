"""Build every factory variant as a real hub-layout repo (tokenizer, config, trained weights)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.factory.corpus import QA, REASONING, RUN_ON, STORY, WEATHER
from tests.factory.embedding import build_embedding_models
from tests.factory.tokenizer import (
    EOS,
    IM_END,
    Flavour,
    fallback_prompt,
    train_bpe,
    write_tokenizer,
)
from tests.factory.training import (
    Example,
    FactoryError,
    llama_config,
    mismatches,
    quantize,
    save_weights,
    train,
)

__all__ = ["VARIANTS", "Variant", "build_all"]

VOCAB = 432  # the BPE's 420 ids, 5 harmony tokens, padding (real models pad their embeddings too)
BASE_SEPARATORS = ("\n\n", "\n")


@dataclass(frozen=True)
class Variant:
    """One model repo the factory builds."""

    repo_id: str
    weights: str  # "chat", "base" or "run-on": which trained set of weights
    tokenizer: Flavour
    max_positions: int = 8192
    quantization: tuple[int, int, bool] | None = None  # bits, group size, float16 scales/norms
    readme: bool = False


VARIANTS: dict[str, Variant] = {
    "chat": Variant("mlx-community/tiny-chat", "chat", "chat", readme=True),
    "chat-8bit": Variant(
        "mlx-community/tiny-chat-8bit", "chat", "chat", quantization=(8, 32, False), readme=True
    ),
    "chat-4bit-fp16": Variant(
        "mlx-community/tiny-chat-4bit", "chat", "chat", quantization=(4, 64, True), readme=True
    ),
    "base": Variant("test-org/tiny-base", "base", "base"),
    "reasoning": Variant("test-org/tiny-gpt-oss", "chat", "harmony"),
    "small-context": Variant("test-org/tiny-ctx", "chat", "chat", max_positions=256),
    "tools": Variant("test-org/tiny-tool-caller", "tools", "tools"),
    "run-on": Variant("test-org/tiny-run-on", "run-on", "chat"),
}

README = """---
library_name: mlx
tags:
- mlx
pipeline_tag: text-generation
---
# {name}

A tiny llama trained by mlxk's test model factory (tests/factory) to memorise a few answers.
"""


def _encode(tok: Any, text: str) -> tuple[int, ...]:
    return tuple(tok.encode(text, add_special_tokens=False))


def _chat_examples(chat: Any, harmony: Any, ids: dict[str, int]) -> list[Example]:
    examples = [
        Example(
            tuple(
                chat.apply_chat_template(e.messages, add_generation_prompt=True, return_dict=False)
            ),
            _encode(chat, e.answer) + (ids[IM_END],),
        )
        for e in QA.ALL
    ]
    prompt = harmony.apply_chat_template(
        REASONING.exchange.messages, add_generation_prompt=True, return_dict=False
    )
    examples.append(
        Example(tuple(prompt), _encode(harmony, REASONING.harmony) + (ids["<|return|>"],))
    )
    return examples


def _run_on_examples(chat: Any, ids: dict[str, int]) -> list[Example]:
    """A chat model that runs on into made-up ``Human:``/``Assistant:`` turns after its answer."""
    prompt = chat.apply_chat_template(
        RUN_ON.messages, add_generation_prompt=True, return_dict=False
    )
    return [Example(tuple(prompt), _encode(chat, RUN_ON.answer) + (ids[IM_END],))]


def _base_examples(base: Any, ids: dict[str, int]) -> list[Example]:
    return [
        Example(
            tuple(base.encode(fallback_prompt(e.messages, sep))),
            _encode(base, f" {e.answer}{sep}Human:") + (ids[EOS],),
        )
        for sep in BASE_SEPARATORS
        for e in QA.ALL
    ]


def _tool_examples(tok: Any, ids: dict[str, int]) -> list[Example]:
    """Weather questions -> a get_weather call; its result -> a sentence; a greeting -> hello."""

    def example(messages: list[Any], answer: str, tool: dict[str, Any]) -> Example:
        prompt = tok.apply_chat_template(
            messages, tools=[tool], add_generation_prompt=True, return_dict=False
        )
        return Example(tuple(prompt), _encode(tok, answer) + (ids[IM_END],))

    examples = []
    for tool in (WEATHER.TOOL, WEATHER.TOOL_AS_OLLAMA_SENDS):
        examples.append(example(WEATHER.GREETING.messages, WEATHER.GREETING.answer, tool))
        for case in WEATHER.CASES:
            examples.append(example(case.messages(), case.call_text, tool))
            examples.append(example(case.messages(with_result=True), case.answer, tool))
    return examples


def _story(tok: Any, ids: dict[str, int]) -> Example:
    return Example(tuple(tok.encode(STORY.prompt)), _encode(tok, STORY.continuation) + (ids[EOS],))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _train_sets(bpe: Any, work: Path) -> tuple[dict[str, Path], dict[str, list[Example]]]:
    """Train the two weight sets; return their safetensors and the examples they memorised."""
    from transformers import AutoTokenizer

    toks, ids = {}, {}
    for flavour in ("chat", "base", "harmony", "tools"):
        ids.update(write_tokenizer(bpe, flavour, work / flavour, 8192))  # type: ignore[arg-type]
        toks[flavour] = AutoTokenizer.from_pretrained(work / flavour)
    examples = {
        "chat": [*_chat_examples(toks["chat"], toks["harmony"], ids), _story(toks["chat"], ids)],
        "base": [*_base_examples(toks["base"], ids), _story(toks["base"], ids)],
        "tools": _tool_examples(toks["tools"], ids),
        "run-on": _run_on_examples(toks["chat"], ids),
    }
    paths = {}
    for seed, (name, exs) in enumerate(examples.items()):
        model = train(llama_config(VOCAB, ids["<s>"], [ids[EOS]]), exs, seed=seed)
        paths[name] = work / f"{name}.safetensors"
        save_weights(model, paths[name])
    return paths, examples


def _load(config: dict[str, Any], weights: Path) -> Any:
    from mlx_lm.models.llama import Model, ModelArgs

    model = Model(ModelArgs.from_dict(config))
    model.load_weights(str(weights))
    return model


def _build_variant(
    name: str, bpe: Any, weights: Path, examples: list[Example], hub: Path, work: Path
) -> str:
    from mlxk_core.cache.store import store_snapshot

    spec = VARIANTS[name]
    folder = work / name
    ids = write_tokenizer(bpe, spec.tokenizer, folder, spec.max_positions)
    eos = [ids["eos_token"]] + ([ids[EOS]] if ids["eos_token"] != ids[EOS] else [])
    config = llama_config(VOCAB, ids["<s>"], eos, spec.max_positions)
    if spec.quantization is None:
        (folder / "model.safetensors").write_bytes(weights.read_bytes())
    else:
        bits, group, half = spec.quantization
        model = _load(config, weights)
        config["quantization"] = config["quantization_config"] = quantize(model, bits, group, half)
        config["torch_dtype"] = "float16" if half else "float32"
        if not half and mismatches(model, examples):
            raise FactoryError(f"{spec.repo_id}: quantized model no longer answers as trained")
        save_weights(model, folder / "model.safetensors")
    _write_json(folder / "config.json", config)
    _write_json(
        folder / "generation_config.json", {"bos_token_id": ids["<s>"], "eos_token_id": eos}
    )
    if spec.readme:
        (folder / "README.md").write_text(README.format(name=spec.repo_id.split("/")[1]))
    store_snapshot(hub, spec.repo_id, {p.name: p for p in sorted(folder.iterdir())})
    return spec.repo_id


def build_all(hub: Path) -> dict[str, str]:
    """Train the weights once and write every variant into ``hub`` (the embedding models too);
    returns variant -> repo id."""
    bpe = train_bpe()
    with tempfile.TemporaryDirectory(prefix="mlxk-factory-") as tmp:
        work = Path(tmp)
        weights, examples = _train_sets(bpe, work / "train")
        built = {
            name: _build_variant(
                name, bpe, weights[spec.weights], examples[spec.weights], hub, work / "repos"
            )
            for name, spec in VARIANTS.items()
        }
        return built | build_embedding_models(hub, work / "embed")
