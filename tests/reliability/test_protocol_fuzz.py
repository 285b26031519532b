"""Protocol fuzzing: random and malformed Anthropic Messages, OpenAI Responses and Ollama bodies.

The same rules as ``test_server_fuzz``: every answer is below 500, every error is in the shape
of its path's protocol, every stream is whole, and the server still serves each protocol
afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.recorder import Figures
from tests.reliability.servertools import health, serve_fakes
from tests.reliability.test_server_fuzz import (
    FAST,
    RAW,
    SLOW,
    _examples,
    anything,
    bodies,
    judge,
    numbers,
    post,
    post_raw,
    roles,
    stops,
    texts,
)

models = st.sampled_from(["fake/chat", "fake/chat:latest", "fake/chat:v1", "", "nope:latest",
                          "../x", "a:b:c"]) | anything
schemas = st.sampled_from([{"type": "object"}, {"type": "strnig"}, {"$ref": "#/nope"},
                           {"type": "object", "properties": {"a": {"type": "integer"}}}]) | anything
tool_names = st.sampled_from(["get_weather", "", "bad name", "x" * 80]) | texts
block = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image", "tool_use", "tool_result", "thinking",
                              "document", ""]) | texts},
    optional={"text": texts | anything, "id": texts, "name": tool_names, "input": anything,
              "tool_use_id": texts | anything, "content": texts | anything},
)
blocks = st.lists(block, max_size=3)
ANTHROPIC = {"model": "fake/chat", "max_tokens": 16, "messages": [{"role": "user",
                                                                   "content": "hi"}]}
anthropic_fields = {
    "model": models, "max_tokens": numbers | anything, "stream": st.booleans() | anything,
    "messages": st.lists(st.fixed_dictionaries({"role": roles, "content": texts | blocks}),
                         max_size=4) | anything,
    "system": texts | blocks | anything, "stop_sequences": stops,
    "temperature": numbers | anything, "top_p": numbers | anything, "top_k": numbers | anything,
    "tools": st.lists(st.fixed_dictionaries({"name": tool_names},
                                            optional={"input_schema": schemas,
                                                      "type": texts}), max_size=2) | anything,
    "tool_choice": st.fixed_dictionaries(
        {"type": st.sampled_from(["auto", "any", "tool", "none", "x"])},
        optional={"name": tool_names, "disable_parallel_tool_use": anything}) | anything,
    "thinking": st.fixed_dictionaries({"type": st.sampled_from(["enabled", "disabled", "x"])},
                                      optional={"budget_tokens": numbers}) | anything,
    "output_config": st.fixed_dictionaries({"format": st.fixed_dictionaries(
        {"type": st.sampled_from(["json_schema", "x"]), "schema": schemas})}) | anything,
}
item = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["message", "function_call", "function_call_output", "reasoning",
                             "item_reference"]) | texts,
    "role": roles, "content": texts | st.lists(st.fixed_dictionaries({
        "type": st.sampled_from(["input_text", "input_image", "output_text"]),
        "text": texts}), max_size=2) | anything,
    "call_id": texts, "name": tool_names, "arguments": texts | anything,
    "output": texts | anything,
})
RESPONSES = {"model": "fake/chat", "input": "hi"}
responses_fields = {
    "model": models, "input": texts | st.lists(item, max_size=4) | anything,
    "instructions": texts | anything, "max_output_tokens": numbers | anything,
    "temperature": numbers | anything, "top_p": numbers | anything,
    "stream": st.booleans() | anything, "store": anything,
    "previous_response_id": st.none() | texts, "parallel_tool_calls": anything,
    "tools": st.lists(st.fixed_dictionaries(
        {"type": st.sampled_from(["function", "web_search", "x"])},
        optional={"name": tool_names, "parameters": schemas}), max_size=2) | anything,
    "tool_choice": st.sampled_from(["auto", "none", "required", "x"]) | st.fixed_dictionaries(
        {"type": st.sampled_from(["function", "x"]), "name": tool_names}) | anything,
    "text": st.fixed_dictionaries({"format": st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "json_object", "json_schema", "x"])},
        optional={"name": tool_names, "schema": schemas, "strict": anything})}) | anything,
}
options = st.fixed_dictionaries({}, optional={
    name: numbers | anything for name in ("temperature", "top_p", "top_k", "min_p",
                                          "num_predict", "seed", "repeat_penalty", "num_ctx")
} | {"stop": stops})
keep_alive = st.sampled_from([0, "0", "5m", "-1", "1h30m", "1e9", "soon", -5, 10**30]) | anything
OLLAMA_CHAT = {"model": "fake/chat", "messages": [{"role": "user", "content": "hi"}]}
ollama_fields = {
    "model": models, "stream": st.booleans() | anything, "options": options | anything,
    "format": st.sampled_from(["json", "", "xml"]) | schemas | anything,
    "keep_alive": keep_alive, "think": anything,
    "messages": st.lists(st.fixed_dictionaries({"role": roles}, optional={
        "content": texts | anything, "images": anything, "tool_name": texts,
        "tool_calls": st.lists(st.fixed_dictionaries({"function": st.fixed_dictionaries(
            {"name": tool_names, "arguments": anything})}), max_size=2) | anything,
    }), max_size=4) | anything,
    "tools": st.lists(st.fixed_dictionaries({"type": st.just("function"), "function":
                                             st.fixed_dictionaries({"name": tool_names})}),
                      max_size=2) | anything,
    "prompt": texts | anything, "system": texts | anything, "raw": anything,
    "suffix": texts, "template": texts, "context": anything, "images": anything,
}
OLLAMA_GENERATE = {"model": "fake/chat", "prompt": "hi"}
POSTS = ["/v1/messages", "/v1/messages/count_tokens", "/v1/responses", "/api/chat",
         "/api/generate", "/api/show", "/api/pull", "/api/delete"]


def run_protocol_fuzz(cache: Path, figures: Figures, n: int) -> None:
    """Every protocol's strategies against one server; afterwards it still serves them all."""
    with serve_fakes(cache) as url, httpx.Client(base_url=url, timeout=30) as client:

        def strategy(path: str, base: dict[str, Any], pool: dict[str, Any]) -> Any:
            @_examples(n)
            @given(bodies(base, pool))
            def run(body: dict[str, Any]) -> None:
                judge(post(client, path, body), figures)

            return run

        @_examples(n)
        @given(anything, st.sampled_from(POSTS))
        def any_json(body: Any, path: str) -> None:
            judge(post(client, path, body), figures)

        @_examples(n)
        @given(st.binary(max_size=500) | st.sampled_from(RAW), st.sampled_from(POSTS))
        def raw(data: bytes, path: str) -> None:
            judge(post_raw(client, path, data), figures)

        @_examples(n)
        @given(st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]),
               st.sampled_from([*POSTS, "/api/tags", "/api/ps", "/api/version"]))
        def methods(method: str, path: str) -> None:
            judge(client.request(method, path), figures)

        for run in (
            strategy("/v1/messages", ANTHROPIC, anthropic_fields),
            strategy("/v1/messages/count_tokens", ANTHROPIC, anthropic_fields),
            strategy("/v1/responses", RESPONSES, responses_fields),
            strategy("/api/chat", OLLAMA_CHAT, ollama_fields),
            strategy("/api/generate", OLLAMA_GENERATE, ollama_fields),
            strategy("/api/show", {"model": "fake/chat"}, {"model": models, "name": models}),
            any_json, raw, methods,
        ):
            run()
        assert health(url)["status"] == "ok"
        for path, body in [("/v1/messages", ANTHROPIC), ("/v1/responses", RESPONSES),
                           ("/api/chat", OLLAMA_CHAT | {"stream": False})]:
            ok = client.post(path, json=body)
            assert ok.status_code == 200 and "Hello, world!" in ok.text, (path, ok.text)
            figures.answer()


def test_fuzz_protocol_endpoints_quick(hf_cache: Path, figures: Figures) -> None:
    """Random and malformed Anthropic, Responses and Ollama bodies (a quick sample): no 5xx,
    errors in each protocol's shape, whole streams, and the server still serves."""
    run_protocol_fuzz(hf_cache, figures, FAST // 2)


@pytest.mark.reliability
def test_fuzz_protocol_endpoints(hf_cache: Path, figures: Figures) -> None:
    """Random and malformed Anthropic, Responses and Ollama bodies (a long run): no 5xx,
    errors in each protocol's shape, whole streams, and the server still serves."""
    run_protocol_fuzz(hf_cache, figures, SLOW)
