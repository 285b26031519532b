"""`mlxk run --json-schema / --tools` and the capabilities `show` reports, as a user meets them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import openai

from tests.cli.programs import GREEDY, mlxk
from tests.factory import QA, WEATHER
from tests.reliability.servertools import serve_factory

Install = Callable[[str], str]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 20},
                                           "sure": {"type": "boolean"}},
          "required": ["answer", "sure"], "additionalProperties": False}


def test_json_schema_answers_validate(install_model: Install, hf_cache: Path,
                                      tmp_path: Path) -> None:
    repo = install_model("chat")
    schema = tmp_path / "answer.json"
    schema.write_text(json.dumps(SCHEMA))
    for question in (QA.FRANCE.question, QA.GREETING.question):
        done = mlxk(hf_cache, "run", repo, question, "--json-schema", str(schema), *GREEDY,
                    "--max-tokens", "80")
        assert done.returncode == 0, done.stderr
        jsonschema.validate(json.loads(done.stdout), SCHEMA)


def test_tools_print_the_calls_the_model_makes(install_model: Install, hf_cache: Path,
                                               tmp_path: Path) -> None:
    repo = install_model("tools")
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([WEATHER.TOOL]))
    done = mlxk(hf_cache, "run", repo, WEATHER.PARIS.question, "--tools", str(tools), *GREEDY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '[tool call] get_weather({"city": "Paris"})\n'
    as_json = mlxk(hf_cache, "run", repo, WEATHER.ROME.question, "--tools", str(tools),
                   "--json", *GREEDY)
    data = json.loads(as_json.stdout)["data"]
    assert data["finish_reason"] == "tool_calls" and data["text"] == ""
    (call,) = data["tool_calls"]
    assert call["name"] == "get_weather" and call["arguments"] == {"city": "Rome"}
    forced = mlxk(hf_cache, "run", repo, WEATHER.GREETING.question, "--tools", str(tools),
                  "--tool-choice", "required", *GREEDY)
    assert forced.stdout.startswith("[tool call] get_weather(")


def test_bad_agent_input_is_a_clear_error(install_model: Install, hf_cache: Path,
                                          tmp_path: Path) -> None:
    chat = install_model("chat")
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([WEATHER.TOOL]))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    cases = [
        (("--tools", str(tools)), "cannot call tools"),
        (("--json-schema", str(broken)), "not valid JSON"),
        (("--json-schema", str(tmp_path / "missing.json")), "Cannot read"),
        (("--tool-parser", "no_such_parser"), "Unknown tool parser"),
    ]
    for args, message in cases:
        done = mlxk(hf_cache, "run", chat, "Hi", *args, *GREEDY)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_capabilities_in_show_and_in_the_model_list(install_model: Install,
                                                    hf_cache: Path) -> None:
    expected = {
        "tools": ["completion", "chat", "tools"],
        "chat": ["completion", "chat"],
        "reasoning": ["completion", "chat", "reasoning"],
        "base": ["completion"],
    }
    repos = {variant: install_model(variant) for variant in expected}
    for variant, capabilities in expected.items():
        shown = json.loads(mlxk(hf_cache, "show", repos[variant], "--json").stdout)
        assert shown["data"]["capabilities"] == capabilities, variant
    text = mlxk(hf_cache, "show", repos["tools"]).stdout
    assert any(line.startswith("Capabilities") and line.endswith("completion, chat, tools")
               for line in text.splitlines()), text
    with serve_factory(hf_cache) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="none")
        listed = {m.id: m.model_extra["capabilities"] for m in client.models.list()}
    assert listed == {repos[v]: caps for v, caps in expected.items()}
