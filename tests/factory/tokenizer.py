"""A real byte-level BPE tokenizer (trained with `tokenizers`): chat, base and harmony flavours."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from tests.factory.corpus import FILLER, QA, REASONING, STORY

__all__ = [
    "BOS",
    "CHAT_TEMPLATE",
    "EOS",
    "HARMONY_TEMPLATE",
    "HARMONY_TOKENS",
    "IM_END",
    "TOOL_TOKENS",
    "TOOLS_TEMPLATE",
    "Flavour",
    "fallback_prompt",
    "train_bpe",
    "write_tokenizer",
]

Flavour = Literal["chat", "base", "harmony", "tools"]

BOS, EOS, IM_START, IM_END = "<s>", "</s>", "<|im_start|>", "<|im_end|>"
SPECIALS = (BOS, EOS, IM_START, IM_END)
HARMONY_TOKENS = ("<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|return|>")
TOOL_TOKENS = ("<tool_call>", "</tool_call>")  # added but not special, as in Qwen's tokenizers
VOCAB_SIZE = 420

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HARMONY_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|start|>assistant<|channel|>final<|message|>{{ message['content'] }}<|end|>"
    "{% else %}<|start|>{{ message['role'] }}<|message|>{{ message['content'] }}<|end|>"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|start|>assistant{% endif %}"
)
# Qwen2.5/Hermes style: tools as JSON in a system turn, calls in <tool_call> tags, results as a
# user turn in <tool_response> tags. mlx-lm infers its json_tools parser from "<tool_call>" and
# "tool_call.name" in the template.
TOOLS_TEMPLATE = (
    "{{ bos_token }}{% if tools %}<|im_start|>system\n# Tools\n<tools>\n"
    "{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}</tools><|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'tool' %}"
    "<|im_start|>user\n<tool_response>\n{{ message['content'] }}\n</tool_response><|im_end|>\n"
    "{% else %}<|im_start|>{{ message['role'] }}\n{{ message['content'] or '' }}"
    "{% for tool_call in message['tool_calls'] or [] %}"
    "{% if tool_call.function is defined %}{% set tool_call = tool_call.function %}{% endif %}"
    '<tool_call>\n{"name": "{{ tool_call.name }}", "arguments": '
    "{{ tool_call.arguments | tojson }}}\n</tool_call>{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
FALLBACK_ROLES = {"system": "System", "user": "Human", "assistant": "Assistant"}


def fallback_prompt(
    messages: Iterable[Mapping[str, str]], sep: str = "\n\n", trailing_space: bool = False
) -> str:
    """The ``Human:`` / ``Assistant:`` transcript the base model was trained on."""
    lines = "".join(f"{FALLBACK_ROLES[m['role']]}: {m['content']}{sep}" for m in messages)
    return lines + ("Assistant: " if trailing_space else "Assistant:")


def _training_texts() -> list[str]:
    texts = [FILLER, STORY.prompt + STORY.continuation, REASONING.analysis]
    for exchange in QA.ALL:
        texts += [c for _, c in exchange.turns] + [exchange.answer]
        texts.append(fallback_prompt(exchange.messages) + " " + exchange.answer)
    return texts


def train_bpe() -> object:
    """Train the shared byte-level BPE (specials first, so every flavour has the same ids)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_texts(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, 0)]
    )
    return tok


def write_tokenizer(
    bpe: object, flavour: Flavour, out_dir: Path, max_length: int
) -> dict[str, int]:
    """Write tokenizer.json, tokenizer_config.json, special_tokens_map.json; return special ids."""
    from tokenizers import AddedToken, Tokenizer

    tok = Tokenizer.from_str(bpe.to_str())  # type: ignore[attr-defined]
    eos = {"chat": IM_END, "base": EOS, "harmony": HARMONY_TOKENS[-1], "tools": IM_END}[flavour]
    if flavour == "harmony":
        tok.add_special_tokens(
            [AddedToken(t, special=True, normalized=False) for t in HARMONY_TOKENS]
        )
    if flavour == "tools":
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_TOKENS])
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    special = {"bos_token": BOS, "eos_token": eos, "pad_token": EOS}
    config: dict[str, object] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special,
        "unk_token": None,
        "model_max_length": max_length,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(t["id"]): {k: v for k, v in t.items() if k != "id"}
            for t in json.loads(tok.to_str())["added_tokens"]
        },
    }
    if flavour != "base":
        templates = {"chat": CHAT_TEMPLATE, "harmony": HARMONY_TEMPLATE, "tools": TOOLS_TEMPLATE}
        config["chat_template"] = templates[flavour]
    _dump(out_dir / "tokenizer_config.json", config)
    _dump(out_dir / "special_tokens_map.json", special)
    ids = {name: tok.token_to_id(token) for name, token in special.items()}
    ids.update(
        {token: tok.token_to_id(token) for token in (*SPECIALS, *HARMONY_TOKENS, *TOOL_TOKENS)}
    )
    return {k: v for k, v in ids.items() if v is not None}


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
