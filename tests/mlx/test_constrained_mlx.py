"""Constrained decoding on the trained tiny models, alone (generate_step) and in a batch of 8.

The property tests draw JSON schemas from this documented subset: an object of 1-4 properties,
each a string (with ``maxLength``), an integer (with bounds), a number (with bounds and a
``multipleOf``), a boolean, an enum, or an array of one of those (with ``maxItems``); a
``required`` list; no additional properties. Lengths are bounded because a constraint bounds
whitespace, not what a model writes: an untrained model happily writes digits forever."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlxk_core import (
    Engine,
    GenerationRequest,
    GrammarCompiler,
    NamedToolChoice,
    ResolvedModel,
    ResponseFormat,
    Tool,
    ToolCallExtractor,
    request_grammar,
)
from mlxk_core.backends.masking import logits_processor
from mlxk_core.backends.mlx_tools import tool_format
from mlxk_core.generation.runner import resolve_model
from tests.factory import QA, REPO_IDS, WEATHER, snapshot_dir

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "member": {"type": "boolean"},
        "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
    },
    "required": ["name", "age", "member"],
    "additionalProperties": False,
}


class Loaded:
    """A factory model loaded once per module, with its grammar compiler."""

    def __init__(self, hub: Path, variant: str) -> None:
        import mlx_lm

        self.model, self.tokenizer = mlx_lm.load(str(snapshot_dir(hub, REPO_IDS[variant])))
        self.eos = set(self.tokenizer.eos_token_ids)
        self.compiler = GrammarCompiler(self.tokenizer, eos_token_ids=self.eos)

    def prompt(self, messages: list[Any], tools: Sequence[Tool] = ()) -> list[int]:
        return list(
            self.tokenizer.apply_chat_template(
                messages, tools=[t.as_dict() for t in tools] or None, add_generation_prompt=True
            )
        )

    def matcher(self, request: GenerationRequest) -> Any:
        special = [t.content for t in self.tokenizer.added_tokens_decoder.values()]
        grammar = request_grammar(request, tool_format(self.tokenizer), special)
        assert grammar is not None
        return self.compiler.matcher(grammar)

    def greedy(self, prompt: list[int], matcher: Any, cache: Any = None, skip: int = 0) -> str:
        """Constrained greedy text; if ``cache`` holds ``prompt[:skip]`` only the rest is fed."""
        import mlx.core as mx
        from mlx_lm.generate import generate_step

        out = []
        steps = generate_step(
            mx.array(prompt[skip:]),
            self.model,
            max_tokens=300,
            logits_processors=[logits_processor(matcher)],
            prompt_cache=cache,
        )
        for token, _ in steps:
            if token in self.eos:
                return str(self.tokenizer.decode(out))
            out.append(token)
        raise AssertionError(
            f"no end of sequence after {len(out)} tokens: {self.tokenizer.decode(out)!r}"
        )

    def batch(self, prompts: list[list[int]], matchers: list[Any]) -> list[str]:
        """Constrained greedy texts, all sequences decoded together by BatchGenerator."""
        from mlx_lm.generate import BatchGenerator

        generator = BatchGenerator(
            self.model,
            max_tokens=300,
            stop_tokens=[[t] for t in self.eos],
            completion_batch_size=len(prompts),
            prefill_batch_size=len(prompts),
        )
        try:
            uids = generator.insert(
                prompts, logits_processors=[[logits_processor(m)] for m in matchers]
            )
            tokens: dict[int, list[int]] = {uid: [] for uid in uids}
            done: dict[int, str] = {}
            while len(done) < len(uids):
                for response in generator.next_generated():
                    if response.finish_reason is None:
                        tokens[response.uid].append(response.token)
                    else:
                        text = self.tokenizer.decode(tokens[response.uid])
                        assert response.finish_reason == "stop", f"no end after {text!r}"
                        done[response.uid] = response.finish_reason
        finally:
            generator.close()
        return [str(self.tokenizer.decode(tokens[uid])) for uid in uids]


@pytest.fixture(scope="module")
def chat(model_factory: Path) -> Loaded:
    return Loaded(model_factory, "chat")


@pytest.fixture(scope="module")
def tools_model(model_factory: Path) -> Loaded:
    return Loaded(model_factory, "tools")


def schema_request(schema: dict[str, Any], question: str = QA.FRANCE.question) -> GenerationRequest:
    fmt = ResponseFormat("json_schema", schema, name="answer")
    return GenerationRequest.chat([("user", question)], response_format=fmt)


def valid(text: str, schema: dict[str, Any]) -> Any:
    value = json.loads(text)
    jsonschema.validate(value, schema)
    return value


def test_a_schema_answer_parses_and_validates(chat: Loaded) -> None:
    request = schema_request(PERSON)
    text = chat.greedy(chat.prompt(QA.FRANCE.messages), chat.matcher(request))
    valid(text, PERSON)
    assert text == json.dumps(json.loads(text))  # compact: no whitespace but the separators


def test_a_schema_answer_on_a_reused_prompt_cache(chat: Loaded) -> None:
    """The processor's first context begins mid-prompt when a prompt cache is reused."""
    from mlx_lm.models.cache import make_prompt_cache, trim_prompt_cache

    request = schema_request(PERSON, QA.NAME_RECALL.question)
    first = chat.prompt(QA.NAME_INTRO.messages)
    second = chat.prompt(QA.NAME_RECALL.messages)
    shared = len(first)
    assert second[:shared] == first  # the second turn extends the first conversation
    cache = make_prompt_cache(chat.model)
    chat.greedy(first, chat.matcher(request), cache=cache)
    trim_prompt_cache(cache, cache[0].offset - shared)
    reused = chat.greedy(second, chat.matcher(request), cache=cache, skip=shared)
    assert reused == chat.greedy(second, chat.matcher(request))
    valid(reused, PERSON)


def test_padding_ids_past_the_tokenizer_are_never_allowed(chat: Loaded) -> None:
    import mlx.core as mx

    prompt = chat.prompt(QA.FRANCE.messages)
    logits = chat.model(mx.array(prompt)[None])[:, -1, :]
    assert logits.shape[-1] > chat.compiler.vocab_size  # the factory pads its embeddings
    process = logits_processor(
        chat.matcher(
            GenerationRequest.chat(QA.FRANCE.turns, response_format=ResponseFormat("json_object"))
        )
    )
    masked = process(mx.array(prompt), logits)[0].tolist()
    assert all(v == float("-inf") for v in masked[chat.compiler.vocab_size :])
    (brace,) = chat.tokenizer.encode("{", add_special_tokens=False)
    assert [i for i, v in enumerate(masked) if v != float("-inf")] == [brace]


def closed(**properties: Any) -> dict[str, Any]:
    """An object schema with exactly these (required) properties."""
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def test_eight_sequences_with_different_schemas_decode_together(chat: Loaded) -> None:
    schemas = [
        PERSON,
        closed(ok={"type": "boolean"}),
        closed(n={"type": "integer", "minimum": 1, "maximum": 9}),
        closed(city={"enum": ["Paris", "Rome"]}),
        closed(xs={"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 2}),
        closed(s={"type": "string", "maxLength": 4}),
        closed(x={"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.125}),
        closed(),
    ]
    exchanges = [QA.ALL[i % len(QA.ALL)] for i in range(len(schemas))]
    prompts = [chat.prompt(e.messages) for e in exchanges]
    matchers = [
        chat.matcher(schema_request(s, e.question)) for s, e in zip(schemas, exchanges, strict=True)
    ]
    texts = chat.batch(prompts, matchers)
    for text, schema in zip(texts, schemas, strict=True):
        valid(text, schema)
    assert texts[0] == chat.greedy(
        prompts[0], chat.matcher(schema_request(PERSON, exchanges[0].question))
    )


def test_tool_choice_required_turns_a_greeting_into_a_call(tools_model: Loaded) -> None:
    weather = Tool(
        WEATHER.TOOL["function"]["name"], parameters=WEATHER.TOOL["function"]["parameters"]
    )
    request = GenerationRequest.chat(
        WEATHER.GREETING.turns, tools=[weather], tool_choice="required"
    )
    prompt = tools_model.prompt(WEATHER.GREETING.messages, [weather])
    text = tools_model.greedy(prompt, tools_model.matcher(request))
    out = ToolCallExtractor(tool_format(tools_model.tokenizer), [weather]).extract(text)
    assert out.text == "" and [c.name for c in out.calls] == ["get_weather"]
    jsonschema.validate(json.loads(out.calls[0].arguments), weather.parameters)


def test_a_named_function_is_called_though_the_model_never_learnt_it(tools_model: Loaded) -> None:
    weather = Tool("get_weather", parameters=WEATHER.TOOL["function"]["parameters"])
    clock = Tool(
        "get_time",
        parameters={
            "type": "object",
            "properties": {"zone": {"enum": ["UTC", "CET"]}},
            "required": ["zone"],
            "additionalProperties": False,
        },
    )
    request = GenerationRequest.chat(
        [("user", WEATHER.PARIS.question)],
        tools=[weather, clock],
        tool_choice=NamedToolChoice("get_time"),
    )
    prompt = tools_model.prompt(WEATHER.PARIS.messages(), [weather, clock])
    text = tools_model.greedy(prompt, tools_model.matcher(request))
    (call,) = (
        ToolCallExtractor(tool_format(tools_model.tokenizer), [weather, clock]).extract(text).calls
    )
    assert call.name == "get_time" and json.loads(call.arguments)["zone"] in ("UTC", "CET")


SCALARS = st.one_of(
    st.integers(1, 12).map(lambda n: {"type": "string", "maxLength": n}),
    st.tuples(st.integers(-50, 50), st.integers(0, 100)).map(
        lambda b: {"type": "integer", "minimum": b[0], "maximum": b[0] + b[1]}
    ),
    st.tuples(st.integers(-50, 50), st.integers(0, 100), st.sampled_from([0.5, 0.25])).map(
        lambda b: {"type": "number", "minimum": b[0], "maximum": b[0] + b[1], "multipleOf": b[2]}
    ),
    st.just({"type": "boolean"}),
    st.lists(
        st.one_of(st.text("abcxyz", min_size=1, max_size=5), st.integers(-9, 99)),
        min_size=1,
        max_size=4,
        unique=True,
    ).map(lambda values: {"enum": values}),
)
PROPERTIES = st.one_of(
    SCALARS,
    st.tuples(SCALARS, st.integers(0, 3)).map(
        lambda a: {"type": "array", "items": a[0], "maxItems": a[1]}
    ),
)


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, Any]:
    props = draw(
        st.dictionaries(
            st.from_regex(r"[a-z]{1,6}", fullmatch=True), PROPERTIES, min_size=1, max_size=4
        )
    )
    required = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


PROPERTY_SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def engine(model_factory: Path) -> Iterator[tuple[Engine, ResolvedModel]]:
    """The engine that serves requests (mlxk-serve's and the Runner's), on the chat model."""
    with Engine(max_batch=8) as running:
        target = resolve_model(snapshot_dir(model_factory, REPO_IDS["chat"]), None)
        running.load(target)
        yield running, target


def _alone(engine: tuple[Engine, ResolvedModel], schema: dict[str, Any]) -> None:
    running, target = engine
    valid(running.submit(target, schema_request(schema)).completion().text, schema)


def _batch(engine: tuple[Engine, ResolvedModel], batch: list[dict[str, Any]]) -> None:
    running, target = engine
    exchanges = [QA.ALL[i % len(QA.ALL)] for i in range(len(batch))]
    handles = [running.submit(target, schema_request(s, e.question))
               for s, e in zip(batch, exchanges, strict=True)]  # submitted together: one batch
    for handle, schema in zip(handles, batch, strict=True):
        valid(handle.completion().text, schema)


@settings(PROPERTY_SETTINGS, max_examples=20)
@given(schemas())
def test_every_answer_validates_alone(engine: Any, schema: dict[str, Any]) -> None:
    _alone(engine, schema)


@settings(PROPERTY_SETTINGS, max_examples=4)
@given(st.lists(schemas(), min_size=8, max_size=8))
def test_every_answer_validates_in_a_batch_of_eight(engine: Any, batch: list[dict[str, Any]]
                                                    ) -> None:
    _batch(engine, batch)


@pytest.mark.slow
@settings(PROPERTY_SETTINGS, max_examples=300)
@given(schemas())
def test_every_answer_validates_alone_many(engine: Any, schema: dict[str, Any]) -> None:
    _alone(engine, schema)


@pytest.mark.slow
@settings(PROPERTY_SETTINGS, max_examples=60)
@given(st.lists(schemas(), min_size=8, max_size=8))
def test_every_answer_validates_in_a_batch_of_eight_many(
    engine: Any, batch: list[dict[str, Any]]
) -> None:
    _batch(engine, batch)
