"""Tiny embedding models trained contrastively in seconds: paraphrases near, other texts far.

Two families, in real sentence-transformers layout (modules.json, 1_Pooling/config.json,
sentence_bert_config.json with a 64-token ``max_seq_length``):

- ``embed``: a Qwen3 decoder (mlx-lm's own model class) pooled on its last token, the EOS the
  tokenizer appends, as Qwen3-Embedding is; also trained on its first 16 dimensions
  (Matryoshka), as Qwen3-Embedding is.
- ``embed-bert``: a BERT encoder (mlx-embeddings' model class) pooled on its CLS token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.factory.training import FactoryError, save_weights

__all__ = ["EMBED_REPO_IDS", "MAX_TOKENS", "PARAPHRASES", "build_embedding_models"]

EMBED_REPO_IDS = {"embed": "test-org/tiny-embed-qwen3", "embed-bert": "test-org/tiny-embed-bert"}
MAX_TOKENS = 64
MATRYOSHKA_DIMS = 16
PARAPHRASES: tuple[tuple[str, ...], ...] = (
    ("the cat sat on the mat", "a cat is sitting on a mat", "on the mat sat a cat"),
    ("stock prices fell", "the stock market dropped", "share prices went down"),
    ("it is raining today", "rain is falling today", "today it rains"),
    ("I love to cook pasta", "cooking pasta is what I love", "I enjoy making pasta"),
    ("the train was late", "the train arrived late", "our train ran behind schedule"),
    ("she plays the piano", "the piano is played by her", "she is a piano player"),
    ("the server is down", "the website is offline", "our server crashed"),
    ("birds fly south in winter", "in winter birds migrate south", "birds go south when cold"),
)
PAD, CLS, EOS = "<pad>", "<s>", "</s>"
HIDDEN = 64
TEMPERATURE = 0.05
MAX_STEPS = 400
README = """---
library_name: mlx
tags:
- mlx
- sentence-transformers
- feature-extraction
pipeline_tag: feature-extraction
---
# {name}

A tiny embedding model trained by mlxk's test model factory (tests/factory/embedding.py).
"""


def _texts() -> list[str]:
    return [t for group in PARAPHRASES for t in group]


def _tokenizer(family: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=[PAD, CLS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_texts(), trainer=trainer)
    single = f"$A {EOS}" if family == "decoder" else f"{CLS} $A {EOS}"
    tok.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[(CLS, 1), (EOS, 2)]
    )
    return tok


def _config(family: str, vocab: int) -> dict[str, Any]:
    common = {"hidden_size": HIDDEN, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "vocab_size": vocab, "pad_token_id": 0,
              "torch_dtype": "float32"}
    if family == "decoder":
        return {**common, "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
                "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6,
                "rope_theta": 10000.0, "max_position_embeddings": 512,
                "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2}
    return {**common, "architectures": ["BertModel"], "model_type": "bert",
            "max_position_embeddings": MAX_TOKENS, "type_vocab_size": 2,
            "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
            "layer_norm_eps": 1e-12}


def _model(family: str, config: dict[str, Any]) -> Any:
    if family == "decoder":
        from mlx_lm.models.qwen3 import Model, ModelArgs

        return Model(ModelArgs.from_dict(config))
    from mlx_embeddings.models.bert import Model as Bert
    from mlx_embeddings.models.bert import ModelArgs as BertArgs

    return Bert(BertArgs.from_dict(config))


def _pooled(model: Any, family: str, ids: Any, mask: Any, lengths: Any) -> Any:
    import mlx.core as mx

    if family == "decoder":
        hidden = model.model(ids)
        return hidden[mx.arange(ids.shape[0]), lengths - 1]
    return model(ids, attention_mask=mask).last_hidden_state[:, 0]


def _loss(model: Any, family: str, ids: Any, mask: Any, lengths: Any, same: Any) -> Any:
    """Supervised contrastive loss on the whole vector and on its Matryoshka prefix."""
    import mlx.core as mx

    pooled = _pooled(model, family, ids, mask, lengths)
    total = mx.array(0.0)
    for dims in (HIDDEN, MATRYOSHKA_DIMS):
        v = pooled[:, :dims]
        v = v / mx.linalg.norm(v, axis=-1, keepdims=True)
        sim = (v @ v.T) / TEMPERATURE - mx.eye(v.shape[0]) * 1e9
        logp = sim - mx.logsumexp(sim, axis=-1, keepdims=True)
        total = total + (-(logp * same).sum(axis=-1) / same.sum(axis=-1)).mean()
    return total


def _separated(model: Any, family: str, batch: tuple[Any, ...]) -> bool:
    """Every text is nearer to each of its paraphrases than to any other text."""
    import mlx.core as mx

    ids, mask, lengths, same = batch
    v = _pooled(model, family, ids, mask, lengths)
    v = v / mx.linalg.norm(v, axis=-1, keepdims=True)
    sim = v @ v.T
    near = mx.where(same > 0, sim, 2.0).min(axis=-1)
    far = mx.where((same == 0) & (mx.eye(sim.shape[0]) == 0), sim, -2.0).max(axis=-1)
    return bool(mx.all(near > far + 0.1).item())


def _train(family: str, config: dict[str, Any], rows: list[list[int]], seed: int) -> Any:
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim

    mx.random.seed(seed)
    model = _model(family, config)
    width = max(map(len, rows))
    ids = mx.array([r + [0] * (width - len(r)) for r in rows])
    mask = mx.array([[1.0] * len(r) + [0.0] * (width - len(r)) for r in rows])
    lengths = mx.array([len(r) for r in rows])
    groups = [g for g, group in enumerate(PARAPHRASES) for _ in group]
    same = mx.array([[float(a == b and i != j) for j, b in enumerate(groups)]
                     for i, a in enumerate(groups)])
    batch = (ids, mask, lengths, same)
    optimizer = optim.Adam(learning_rate=3e-3)
    step = nn.value_and_grad(model, lambda m: _loss(m, family, *batch))
    for n in range(1, MAX_STEPS + 1):
        loss, grads = step(model)
        optimizer.update(model, grads)
        mx.eval(model.parameters(), optimizer.state, loss)
        if n % 20 == 0 and _separated(model, family, batch):
            return model
    raise FactoryError(f"tiny {family} embedder did not separate its paraphrases in "
                       f"{MAX_STEPS} steps (loss {loss.item():.4f})")


def _files(family: str, folder: Path, tok: Any, config: dict[str, Any]) -> dict[str, Path]:
    pooling = "lasttoken" if family == "decoder" else "cls_token"
    modes = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "lasttoken")
    pool = {"word_embedding_dimension": HIDDEN,
            **{f"pooling_mode_{m}": m == pooling for m in modes}}
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ]
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": PAD,
                  "bos_token": CLS, "eos_token": EOS, "model_max_length": MAX_TOKENS,
                  "padding_side": "left" if family == "decoder" else "right"}
    (folder / "1_Pooling").mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    docs = {
        "config.json": config, "tokenizer_config.json": tok_config, "modules.json": modules,
        "special_tokens_map.json": {"pad_token": PAD, "bos_token": CLS, "eos_token": EOS},
        "sentence_bert_config.json": {"max_seq_length": MAX_TOKENS, "do_lower_case": False},
        "1_Pooling/config.json": pool,
    }
    for name, doc in docs.items():
        (folder / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def build_embedding_models(hub: Path, work: Path) -> dict[str, str]:
    """Train both embedders and store them in ``hub``; returns variant -> repo id."""
    from mlxk_core.cache.store import store_snapshot

    built = {}
    for seed, (name, family) in enumerate((("embed", "decoder"), ("embed-bert", "encoder"))):
        repo_id = EMBED_REPO_IDS[name]
        folder = work / name
        tok = _tokenizer(family)
        config = _config(family, tok.get_vocab_size())
        rows = [tok.encode(t).ids for t in _texts()]
        model = _train(family, config, rows, seed)
        files = _files(family, folder, tok, config)
        save_weights(model, folder / "model.safetensors")
        (folder / "README.md").write_text(README.format(name=repo_id.split("/")[1]))
        files.update({"model.safetensors": folder / "model.safetensors",
                      "README.md": folder / "README.md"})
        store_snapshot(hub, repo_id, files)
        built[name] = repo_id
    return built
