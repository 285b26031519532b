"""The pure rules of embeddings: what the files declare, valid inputs, truncation, passes,
Matryoshka shortening."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlxk_core import EmbeddingFacts, InvalidRequest, read_facts
from mlxk_core.embeddings.plan import (
    MAX_INPUTS,
    check_dimensions,
    check_inputs,
    fit,
    passes,
    shorten,
)


def _folder(tmp_path: Path, config: dict[str, object], files: dict[str, object]) -> Path:
    root = tmp_path / "model"
    for name, doc in {"config.json": config, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return root


def _pool(mode: str, dim: int = 384) -> dict[str, object]:
    return {"word_embedding_dimension": dim, f"pooling_mode_{mode}": True}


MODULES = [{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
BERT = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 768}
QWEN3 = {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "hidden_size": 1024}


@pytest.mark.parametrize(("mode", "pooling"), [
    ("cls_token", "cls"), ("mean_tokens", "mean"), ("lasttoken", "last"),
])
def test_pooling_comes_from_the_sentence_transformers_pooling_module(
    tmp_path: Path, mode: str, pooling: str
) -> None:
    files = {"modules.json": MODULES, "1_Pooling/config.json": _pool(mode),
             "sentence_bert_config.json": {"max_seq_length": 256}}
    facts = read_facts(_folder(tmp_path, BERT, files))
    assert facts.model_type == "embedding"
    assert facts.embedding == EmbeddingFacts(
        family="encoder", pooling=pooling, dimension=384, max_tokens=256  # type: ignore[arg-type]
    )


def test_without_sentence_transformers_files_the_family_decides(tmp_path: Path) -> None:
    # an MLX conversion that kept modules.json but not the 1_Pooling folder
    qwen = read_facts(_folder(tmp_path / "q", QWEN3, {"modules.json": MODULES}))
    assert qwen.embedding == EmbeddingFacts("decoder", "last", 1024, matryoshka=True)
    bert = read_facts(_folder(tmp_path / "b", BERT, {"modules.json": MODULES}))
    assert bert.embedding == EmbeddingFacts("encoder", "mean", 768)
    modern = {"model_type": "modernbert", "hidden_size": 768, "classifier_pooling": "cls"}
    assert read_facts(_folder(tmp_path / "m", modern, {"modules.json": MODULES})).embedding == (
        EmbeddingFacts("encoder", "cls", 768)
    )


def test_what_mlxk_cannot_run_is_said_in_the_facts(tmp_path: Path) -> None:
    dense = [*MODULES, {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
    with_dense = read_facts(_folder(tmp_path / "d", QWEN3, {"modules.json": dense}))
    assert with_dense.embedding is not None
    assert with_dense.embedding.unsupported == (
        "it projects vectors with a Dense module (2_Dense) that mlxk lacks"
    )
    files = {"modules.json": MODULES, "1_Pooling/config.json": _pool("max_tokens")}
    maxed = read_facts(_folder(tmp_path / "x", BERT, files)).embedding
    assert maxed is not None and maxed.unsupported == "its pooling (max_tokens) is not supported"
    mpnet = {"model_type": "mpnet", "hidden_size": 768}
    other = read_facts(_folder(tmp_path / "p", mpnet, {"modules.json": MODULES})).embedding
    assert other is not None and "'mpnet' architecture" in str(other.unsupported)


def test_an_mlx_lm_conversion_is_known_by_its_card(tmp_path: Path) -> None:
    """mlx-lm's convert keeps the card's tags but drops modules.json and 1_Pooling."""
    config = {**QWEN3, "quantization": {"group_size": 64, "bits": 4}}
    card = ("---\nlibrary_name: mlx\npipeline_tag: text-generation\ntags:\n- transformers\n"
            "- sentence-transformers\n- feature-extraction\n- mlx\n---\n")
    files = {"README.md": card, "tokenizer_config.json": {"chat_template": "{{ messages }}"}}
    root = _folder(tmp_path, config, files)
    facts = read_facts(root, name="mlx-community/Qwen3-Embedding-0.6B-4bit-DWQ")
    assert facts.model_type == "embedding"
    assert facts.embedding == EmbeddingFacts("decoder", "last", 1024, matryoshka=True)
    assert read_facts(root, name="mlx-community/Qwen3-0.6B-4bit").model_type == "chat"


def test_a_matryoshka_tag_on_the_card_allows_shorter_vectors(tmp_path: Path) -> None:
    card = "---\ntags:\n- sentence-transformers\n- matryoshka\n---\n# x\n"
    facts = read_facts(_folder(tmp_path, BERT, {"modules.json": MODULES, "README.md": card}))
    assert facts.embedding is not None and facts.embedding.matryoshka


def test_chat_models_have_no_embedding_facts(tmp_path: Path) -> None:
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
    template = {"chat_template": "{{ messages }}"}
    facts = read_facts(_folder(tmp_path, config, {"tokenizer_config.json": template}))
    assert (facts.model_type, facts.embedding) == ("chat", None)


def test_inputs_are_checked() -> None:
    assert check_inputs("one text") == ["one text"]
    assert check_inputs(["a", [1, 2]]) == ["a", (1, 2)]
    with pytest.raises(InvalidRequest, match="no input"):
        check_inputs([])
    with pytest.raises(InvalidRequest, match="Input 1 is empty"):
        check_inputs(["a", ""])
    with pytest.raises(InvalidRequest, match="Input 0 is empty"):
        check_inputs([[]])
    with pytest.raises(InvalidRequest, match="neither a text nor"):
        check_inputs([[1, "x"]])  # type: ignore[list-item]
    with pytest.raises(InvalidRequest, match="Too many inputs"):
        check_inputs(["a"] * (MAX_INPUTS + 1))


def test_long_inputs_are_cut_or_refused() -> None:
    assert fit([3, 10, 4], 5, truncate=True) == [False, True, False]
    assert fit([3, 10], None, truncate=False) == [False, False]
    with pytest.raises(InvalidRequest, match=r"Input 1 has 10 tokens \(and 1 more\).* at most 5"):
        fit([3, 10, 6], 5, truncate=False)


@given(st.lists(st.integers(1, 300), min_size=1, max_size=200), st.integers(1, 64),
       st.integers(1, 4096))
def test_passes_hold_every_input_once_within_the_caps(
    lengths: list[int], rows: int, tokens: int
) -> None:
    groups = passes(lengths, rows, tokens)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for group in groups:
        assert 1 <= len(group) <= rows
        assert len(group) == 1 or len(group) * max(lengths[i] for i in group) <= tokens


def test_similar_lengths_share_a_pass() -> None:
    assert passes([50, 2, 49, 3], max_rows=2) == [[1, 3], [2, 0]]


@given(st.lists(st.floats(-1, 1, allow_nan=False), min_size=2, max_size=64), st.data())
def test_shortened_vectors_are_unit_length_prefixes(raw: list[float], data: st.DataObject) -> None:
    full = math.sqrt(sum(v * v for v in raw))
    assume(full > 1e-3)
    vector = [v / full for v in raw]  # the backend's vectors are unit length
    dims = data.draw(st.integers(1, len(vector)))
    short = shorten(vector, dims)
    assert len(short) == dims
    norm = math.sqrt(sum(v * v for v in vector[:dims]))
    if norm > 1e-6:
        assert math.isclose(math.sqrt(sum(v * v for v in short)), 1.0, rel_tol=1e-9)
        pairs = zip(short, vector[:dims], strict=True)
        assert all(math.isclose(s * norm, v, abs_tol=1e-9) for s, v in pairs)
    assert shorten(vector, None) == tuple(vector)


def test_dimensions_need_a_matryoshka_model() -> None:
    mrl = EmbeddingFacts("decoder", "last", 64, matryoshka=True)
    plain = EmbeddingFacts("encoder", "cls", 64)
    check_dimensions(16, 64, mrl, "m")
    check_dimensions(64, 64, plain, "m")  # the full size is always fine
    with pytest.raises(InvalidRequest, match="not trained to be shortened"):
        check_dimensions(16, 64, plain, "m")
    with pytest.raises(InvalidRequest, match="between 1 and 64"):
        check_dimensions(65, 64, mrl, "m")
