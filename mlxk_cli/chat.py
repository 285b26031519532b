"""`mlxk run` sessions: render a generation for people (or JSON), single-shot or interactive.

Reasoning models are shown as ``format_reasoning`` lays them out — a ``**[Reasoning]**``
section (dimmed on a terminal), a ``---`` rule, then ``**[Answer]**`` — streamed piece by piece
so the streamed bytes equal the ``--no-stream`` output. Ctrl-C during a generation sets the
Runner's cancel event (the core installs no handlers): the answer so far stays, and
``[interrupted]`` goes to stderr.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mlxk_cli.errors import EXIT_INTERRUPTED, EXIT_OK
from mlxk_cli.output import emit_json, write
from mlxk_core import (
    ChatMessage,
    Chunk,
    Completion,
    GenerationParams,
    GenerationRequest,
    ResponseFormat,
    Runner,
    Tool,
    ToolChoice,
    collect,
    format_reasoning,
)

EXIT_WORDS = {"exit", "quit", "/exit", "/quit", "/bye"}
CLEAR_WORDS = {"/clear", "/reset"}


@dataclass(frozen=True)
class RunOptions:
    """How `mlxk run` renders and samples."""

    params: GenerationParams
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = "auto"
    response_format: ResponseFormat | None = None
    stream: bool = True
    system: str | None = None
    hide_reasoning: bool = False
    json_out: bool = False
    verbose: bool = False


@contextmanager
def sigint_cancels(cancel: threading.Event) -> Iterator[None]:
    """While generating, Ctrl-C sets ``cancel`` instead of raising KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: cancel.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Renderer:
    """Writes chunks as they come; holds trailing whitespace so the layout matches the batch one."""

    def __init__(self, *, reasoning: bool, hide_reasoning: bool) -> None:
        self.reasoning = reasoning and not hide_reasoning
        self.section: str | None = None
        self._held = ""

    def feed(self, chunk: Chunk) -> None:
        if chunk.reasoning and self.reasoning:
            if self.section is None:
                write("**[Reasoning]**\n")
                self.section = "reasoning"
            if self.section == "reasoning":
                self._emit(chunk.reasoning, dim=True)
        if chunk.text:
            if self.section == "reasoning":
                self._held = ""
                write("\n\n---\n\n**[Answer]**\n")
            self.section = "answer"
            self._emit(chunk.text, dim=False)

    def _emit(self, text: str, *, dim: bool) -> None:
        text = self._held + text
        body = text.rstrip() if self.reasoning else text
        self._held = text[len(body):]
        write(body, dim=dim)

    def end(self, *, calls: bool = False) -> None:
        """End the answer's line (an answer that is only tool calls printed nothing yet)."""
        if self.section is not None or not calls:
            write("\n")


def _request(turns: tuple[ChatMessage, ...], opts: RunOptions) -> GenerationRequest:
    return GenerationRequest(
        messages=turns, params=opts.params, tools=opts.tools, tool_choice=opts.tool_choice,
        response_format=opts.response_format,
    )


def _generate(runner: Runner, request: GenerationRequest, opts: RunOptions) -> Completion:
    cancel = threading.Event()
    with sigint_cancels(cancel):
        chunks = runner.stream(request, cancel=cancel)
        if opts.json_out or not opts.stream:
            completion = collect(chunks, reasoning=runner.is_reasoning)
            if not opts.json_out:
                _print_whole(completion, opts)
            return completion
        renderer = _Renderer(reasoning=runner.is_reasoning, hide_reasoning=opts.hide_reasoning)
        seen: list[Chunk] = []
        for chunk in chunks:
            renderer.feed(chunk)
            seen.append(chunk)
        completion = collect(seen, reasoning=runner.is_reasoning)
        renderer.end(calls=bool(completion.tool_calls))
        _print_calls(completion)
        return completion


def _print_calls(completion: Completion) -> None:
    """The tool calls a model made, one line each: ``[tool call] name({...})``."""
    for call in completion.tool_calls:
        write(f"[tool call] {call.name}({call.arguments})\n")


def _print_whole(completion: Completion, opts: RunOptions) -> None:
    reasoning = completion.reasoning
    if completion.tool_calls and not completion.text:
        _print_calls(completion)
    elif reasoning is None:
        write(completion.text + "\n")
    elif opts.hide_reasoning or not reasoning.strip():
        write(format_reasoning(reasoning, completion.text, hide_reasoning=True) + "\n")
    else:
        write("**[Reasoning]**\n")
        write(reasoning.strip(), dim=True)
        write("\n\n---\n\n**[Answer]**\n" + completion.text.strip() + "\n")


def completion_data(completion: Completion, model: str) -> dict[str, Any]:
    """The ``data`` of `mlxk run --json`."""
    usage, timings = completion.usage, completion.timings
    return {
        "model": model,
        "text": completion.text,
        "reasoning": completion.reasoning,
        "finish_reason": completion.finish_reason,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.parsed_arguments()}
            for c in completion.tool_calls
        ],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cached_tokens,
            "total_tokens": usage.total_tokens,
        },
        "timings": {
            "time_to_first_token": timings.time_to_first_token,
            "prompt_tps": timings.prompt_tps,
            "generation_tps": timings.generation_tps,
            "peak_memory": timings.peak_memory,
        },
    }


def _report(runner: Runner, completion: Completion, opts: RunOptions) -> None:
    if opts.json_out:
        emit_json("run", completion_data(completion, runner.model.name))
    if completion.finish_reason == "cancelled":
        write("[interrupted]\n", err=True)
    if opts.verbose:
        u, t = completion.usage, completion.timings
        ttft = f"{t.time_to_first_token:.3f} s" if t.time_to_first_token is not None else "n/a"
        write(
            f"prompt: {u.prompt_tokens} tokens ({u.cached_tokens} cached), {t.prompt_tps:.1f} tok/s"
            f" | generation: {u.completion_tokens} tokens, {t.generation_tps:.1f} tok/s"
            f" | time to first token: {ttft} | peak memory: {t.peak_memory / 1e6:.1f} MB"
            f" | finish: {completion.finish_reason}\n",
            err=True,
        )


def _messages(system: str | None, turns: list[ChatMessage]) -> tuple[ChatMessage, ...]:
    head = (ChatMessage("system", system),) if system else ()
    return head + tuple(turns)


def single_shot(runner: Runner, prompt: str, opts: RunOptions) -> int:
    """Answer one prompt; 130 when Ctrl-C cut it short."""
    request = _request(_messages(opts.system, [ChatMessage("user", prompt)]), opts)
    completion = _generate(runner, request, opts)
    _report(runner, completion, opts)
    return EXIT_INTERRUPTED if completion.finish_reason == "cancelled" else EXIT_OK


def _read_turn(tty: bool) -> str:
    if tty:
        return input(">>> ")
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def chat_loop(runner: Runner, opts: RunOptions) -> int:
    """Interactive chat: one user turn per line; history kept; exit/quit/Ctrl-D leave."""
    tty = sys.stdin.isatty()
    if tty:
        write(f"Chatting with {runner.model.name}. Type /clear to forget, exit or Ctrl-D to "
              "leave.\n", err=True)
    turns: list[ChatMessage] = []
    while True:
        try:
            line = _read_turn(tty).strip()
        except EOFError:
            if tty:
                write("\n")
            return EXIT_OK
        except KeyboardInterrupt:
            write("\n")
            return EXIT_INTERRUPTED
        if not line:
            continue
        if line.lower() in EXIT_WORDS:
            return EXIT_OK
        if line.lower() in CLEAR_WORDS:
            turns.clear()
            write("[history cleared]\n", err=True)
            continue
        turns.append(ChatMessage("user", line))
        completion = _generate(runner, _request(_messages(opts.system, turns), opts), opts)
        _report(runner, completion, opts)
        if completion.finish_reason == "cancelled":
            turns.pop()  # an interrupted turn is forgotten, question and partial answer alike
        else:
            turns.append(ChatMessage("assistant", completion.text,
                                     tool_calls=completion.tool_calls))
