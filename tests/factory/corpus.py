"""What the factory's tiny models memorise: fixed exchanges, a raw completion, a reasoning trace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "QA",
    "REASONING",
    "RUN_ON",
    "STORY",
    "WEATHER",
    "Exchange",
    "RawText",
    "ReasoningTrace",
    "WeatherCase",
]


@dataclass(frozen=True)
class Exchange:
    """A conversation (role, content) pairs ending with a user turn, and the memorised answer."""

    turns: tuple[tuple[str, str], ...]
    answer: str

    @property
    def messages(self) -> list[dict[str, str]]:
        """The conversation as chat messages, ready for ``apply_chat_template``."""
        return [{"role": role, "content": content} for role, content in self.turns]

    @property
    def question(self) -> str:
        """The last user message."""
        return self.turns[-1][1]


@dataclass(frozen=True)
class RawText:
    """A raw (non-chat) prompt and the continuation the models emit, then EOS."""

    prompt: str
    continuation: str


@dataclass(frozen=True)
class ReasoningTrace:
    """What the reasoning variant answers: an analysis channel, then a final channel."""

    exchange: Exchange
    analysis: str

    @property
    def answer(self) -> str:
        """The final answer (without the analysis)."""
        return self.exchange.answer

    @property
    def harmony(self) -> str:
        """The generated text with every harmony marker, up to (not including) ``<|return|>``."""
        return (
            f"<|channel|>analysis<|message|>{self.analysis}<|end|>"
            f"<|start|>assistant<|channel|>final<|message|>{self.answer}"
        )


class QA:
    """The memorised chat exchanges (assert against these, never hard-coded strings)."""

    FRANCE = Exchange(
        (("user", "What is the capital of France?"),), "The capital of France is Paris."
    )
    GREETING = Exchange((("user", "Hello!"),), "Hello! How can I help you today?")
    PIRATE = Exchange(
        (("system", "You are a pirate."), ("user", "Hello!")), "Ahoy, matey! What be yer wish?"
    )
    NAME_INTRO = Exchange((("user", "My name is Ada."),), "Nice to meet you, Ada.")
    NAME_RECALL = Exchange(
        (
            ("user", "My name is Ada."),
            ("assistant", "Nice to meet you, Ada."),
            ("user", "What is my name?"),
        ),
        "Your name is Ada.",
    )
    NAME_UNKNOWN = Exchange((("user", "What is my name?"),), "I do not know your name.")
    ALL = (FRANCE, GREETING, PIRATE, NAME_INTRO, NAME_RECALL, NAME_UNKNOWN)


@dataclass(frozen=True)
class WeatherCase:
    """The tool-calling variant asks ``get_weather`` for ``city``, then reports ``forecast``."""

    city: str
    forecast: str

    @property
    def question(self) -> str:
        """What the user asks."""
        return f"What is the weather in {self.city}?"

    @property
    def arguments(self) -> dict[str, str]:
        """The arguments of the call the model makes."""
        return {"city": self.city}

    @property
    def call_text(self) -> str:
        """The call as the model writes it (Qwen/Hermes markup), before its end-of-turn token."""
        body = json.dumps({"name": "get_weather", "arguments": self.arguments})
        return f"<tool_call>\n{body}\n</tool_call>"

    @property
    def answer(self) -> str:
        """The sentence the model says once the tool answered with ``forecast``."""
        return f"The weather in {self.city} is {self.forecast}."

    def messages(self, *, with_result: bool = False, call_id: str = "call_0") -> list[Any]:
        """The chat so far: the question, and with ``with_result`` the call and its result."""
        turns: list[Any] = [{"role": "user", "content": self.question}]
        if with_result:
            call = {"name": "get_weather", "arguments": self.arguments}
            turns.append(
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": call_id, "type": "function", "function": call}],
                }
            )
            turns.append({"role": "tool", "tool_call_id": call_id, "content": self.forecast})
        return turns


class WEATHER:
    """What the tool-calling variant memorises (the tool is offered in every conversation)."""

    TOOL: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    TOOL_AS_OLLAMA_SENDS: dict[str, Any] = {
        "type": "function",
        "function": {
            **TOOL["function"],
            "parameters": {
                "type": "object",
                "required": ["city"],
                "properties": {"city": {"type": "string"}},
            },
        },
    }
    """The same tool as the ``ollama`` client sends it (its models write ``required`` before
    ``properties``); the model memorises both spellings, since the template renders the bytes."""
    PARIS = WeatherCase("Paris", "sunny, 22 C")
    BERLIN = WeatherCase("Berlin", "rainy, 14 C")
    ROME = WeatherCase("Rome", "cloudy, 18 C")
    CASES = (PARIS, BERLIN, ROME)
    GREETING = QA.GREETING  # with the tool offered, a greeting still gets a plain answer


STORY = RawText("Once upon a time", " there was a tiny robot who loved to read.")
REASONING = ReasoningTrace(QA.FRANCE, "The user asks about France.")
RUN_ON = Exchange(
    QA.FRANCE.turns,
    QA.FRANCE.answer + "\nHuman: What about Spain?\nAssistant: Madrid.\nUser: ok\nYou: bye",
)
"""What the run-on variant generates: the answer, then a made-up dialogue of chat turns."""

FILLER = """\
The quick brown fox jumps over the lazy dog. A small model can learn a few sentences by heart.
Paris is a city in France. Berlin is a city in Germany. Rome is a city in Italy.
Tests should read like stories: arrange the world, act once, and check what a user would see.
Numbers such as 1, 2, 3, 10, 42 and 2024 appear in text; so do quotes "like this" and commas, too.
Hello world! How are you today? I am fine, thank you. What is your name? My name is Bob.
The weather is nice. It may rain tomorrow, or it may not. Caches keep files; blobs hold bytes.
"""
