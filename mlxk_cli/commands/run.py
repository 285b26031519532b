"""`mlxk run MODEL [PROMPT]`: answer one prompt, or chat interactively."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlxk_cli.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from mlxk_core import Runner, Settings, ShardGroup


def run_model(
    model: str = typer.Argument(..., help="org/name, a short name, name@revision or a folder."),
    prompt: str | None = typer.Argument(
        None, help="The prompt; `-` reads stdin. Omit it to chat (or to read piped stdin)."
    ),
    no_stream: bool = typer.Option(False, "--no-stream", help="Print the answer when complete."),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=1, help="Most tokens to generate [default: the full context]."
    ),
    temperature: float = typer.Option(0.7, "--temperature", min=0.0, help="0 is greedy."),
    top_p: float = typer.Option(0.9, "--top-p", min=0.0, max=1.0, help="Nucleus sampling."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed, for repeatable output."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    hide_reasoning: bool = typer.Option(
        False, "--hide-reasoning", help="Show only the answer of reasoning models."
    ),
    interactive: bool = typer.Option(
        False, "--interactive", "-i", help="Chat even when stdin is piped (one turn per line)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document per answer."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Tokens/s, time to first token and peak memory on stderr."
    ),
    dtype: str | None = typer.Option(
        None, "--dtype", help="Compute dtype: float32, bfloat16 or float16 [default: float32 on "
        "CPU, as stored on a GPU]."
    ),
    dequantize: bool | None = typer.Option(
        None, "--dequantize/--no-dequantize",
        help="Hold quantized weights dense in memory [default: on CPU with a fast BLAS, when "
        "they fit].",
    ),
    ranks: int | None = typer.Option(
        None, "--ranks", help="Shard the model over N processes on this machine (mlx.launch)."
    ),
    hosts: str | None = typer.Option(
        None, "--hosts", help="Shard over these hosts, one rank each: h1,h2 (ssh, mlx.launch)."
    ),
    hostfile: str | None = typer.Option(
        None, "--hostfile", help="Shard over the hosts of an mlx.launch hostfile."
    ),
    backend: str | None = typer.Option(
        None, "--backend", help="Distributed backend: ring, mpi, jaccl or nccl [default: "
        "mlx.launch's: nccl with CUDA, else ring]."
    ),
    sharding: str = typer.Option(
        "auto", "--sharding", help="auto, tensor or pipeline (auto: tensor where supported)."
    ),
    json_schema: str | None = typer.Option(
        None, "--json-schema", help="Answer with JSON that follows this JSON schema file."
    ),
    tools: str | None = typer.Option(
        None, "--tools", help="Offer these function tools (a JSON file, OpenAI's shape); the "
        "calls the model makes are printed."
    ),
    tool_choice: str = typer.Option(
        "auto", "--tool-choice", help="auto, none, required, or a function's name."
    ),
    tool_parser: str | None = typer.Option(
        None, "--tool-parser", help="mlx-lm tool parser for the model's call markup "
        "[default: inferred from its chat template]."
    ),
    rank_timeout: float = typer.Option(
        60.0, "--rank-timeout", min=1.0,
        help="Seconds to wait for the other ranks (to join, or for one step).",
    ),
) -> None:
    """Run a cached model: stream an answer to PROMPT, or chat without one.

    Without PROMPT and with a terminal on stdin, an interactive chat starts (exit, quit or
    Ctrl-D leave, /clear forgets the history). Ctrl-C stops a generation: in a chat you are back
    at the prompt, otherwise mlxk exits with 130. With --ranks, --hosts or --hostfile (or under
    mlx.launch) the model is split over several processes: memory per process shrinks, speed
    does not grow.
    """
    from mlxk_cli.agent_files import load_schema, load_tools
    from mlxk_cli.agent_files import tool_choice as choice_of
    from mlxk_cli.chat import RunOptions, chat_loop, single_shot
    from mlxk_cli.errors import cli_errors
    from mlxk_cli.group import plan_from, settle, take_part
    from mlxk_cli.output import write
    from mlxk_core import GenerationParams, Settings

    code, group = 0, None
    try:
        with cli_errors("run", json_mode=json_out):
            settings = Settings.from_env()
            plan = plan_from(ranks, hosts, hostfile, backend, sharding)
            group = take_part(settings, plan, timeout=rank_timeout, prompt=prompt,
                              interactive=interactive)
            opts = RunOptions(
                params=GenerationParams(
                    max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed
                ),
                tools=load_tools(Path(tools)) if tools else (),
                tool_choice=choice_of(tool_choice),
                response_format=load_schema(Path(json_schema)) if json_schema else None,
                stream=not no_stream,
                system=system,
                hide_reasoning=hide_reasoning,
                json_out=json_out,
                verbose=verbose,
            )
            chat = prompt is None and (interactive or sys.stdin.isatty())
            piped = prompt == "-" or (prompt is None and not chat)
            text = _without_final_newline(sys.stdin.read()) if piped else prompt
            layout = (dtype, dequantize, tool_parser)
            with _runner(model, settings, layout, group, sharding) as runner:
                _report_backend(runner.backend, verbose)
                code = chat_loop(runner, opts) if chat else single_shot(runner, text or "", opts)
    except KeyboardInterrupt:
        write("\n[interrupted]\n", err=True)
        code = EXIT_INTERRUPTED
    except typer.Exit as exc:
        code = exc.exit_code
        raise
    finally:
        if group is not None:
            settle(group, code)
    if code:
        raise typer.Exit(code)


def _runner(
    model: str, settings: Settings, overrides: tuple[str | None, bool | None, str | None],
    group: ShardGroup | None, sharding: str,
) -> Runner:
    """The Runner: one process, or rank 0 of a group with the model sharded over it.

    ``overrides``: the compute dtype, dequantizing, and the tool parser (None: automatic).
    """
    from mlxk_core import Runner, resolve_model

    dtype, dequantize, tool_parser = overrides
    if group is None:
        return Runner(model, settings=settings, dtype=dtype, dequantize=dequantize,
                      tool_parser=tool_parser)
    from mlxk_core import backend_factory

    resolved = resolve_model(model, settings)
    factory = backend_factory(settings, dtype=dtype, dequantize=dequantize,
                              tool_parser=tool_parser, group=group, sharding=sharding)
    return Runner(resolved, settings=settings, backend=factory(resolved))  # type: ignore[arg-type]


def _without_final_newline(text: str) -> str:
    """Piped input minus the one newline that ends it (``echo`` adds it; it is no prompt)."""
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def _report_backend(backend: object, verbose: bool) -> None:
    """With --verbose, which BLAS and weight layout serve the model; the BLAS hint, once."""
    from mlxk_cli.output import write

    blas, layout = getattr(backend, "blas", None), getattr(backend, "layout", None)
    if verbose and blas is not None:
        where = f" ({blas.path})" if blas.path else ""
        write(f"[mlxk] BLAS: {blas.kind}{where}\n", err=True, dim=True)
    if verbose and layout is not None:
        write(f"[mlxk] weights: {layout.reason}\n", err=True, dim=True)
    if verbose:
        from mlxk_cli.group import describe_ranks

        for line in describe_ranks(backend):
            write(f"[mlxk] {line}\n", err=True, dim=True)
    hint = getattr(backend, "blas_hint", None)
    text = hint() if callable(hint) else None
    if text:
        write(f"Note: {text}\n", err=True)


def register(app: typer.Typer) -> None:
    """Add `run` to the root app."""
    app.command("run")(run_model)
