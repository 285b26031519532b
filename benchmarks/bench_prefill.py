"""A short request behind a long prefill: does one long prompt stall everyone else?

``mlxk-serve`` on the GGUF import. A client sends a chat with a prompt of about 2,000 fresh
tokens; shortly after, a second client sends a short chat. Its time to first token is compared
with the same kind of short request on the idle server. Both streaming, greedy, fresh text each
time, the median of the repeats.
"""

from __future__ import annotations

import statistics
import threading
import time

from benchmarks.context import Context, console_script
from benchmarks.http import Stream, chat_stream, free_port, server
from benchmarks.report import Row
from benchmarks.text import fresh_text

TITLE = "Time to first token of a short request while a long prompt prefills (mlxk-serve)"
SHORT_TOKENS = 16  # the short request's prompt
DELAY_S = 0.3  # the short request leaves this long after the long one
REPEATS = 3


def _behind(url: str, model: str, long_prompt: str, short_prompt: str) -> tuple[float, float,
                                                                                  bool]:
    """The short request's time to first token, the long one's, and whether the short one was
    sent before the long one's first token arrived (else it was not behind a prefill)."""
    long: list[Stream] = []
    started = time.perf_counter()
    thread = threading.Thread(target=lambda: long.append(
        chat_stream(url, model, long_prompt, 4, started)))
    thread.start()
    time.sleep(DELAY_S)
    short = chat_stream(url, model, short_prompt, 4)
    thread.join()
    return short.first_s, long[0].first_s, long[0].first_s > DELAY_S


def run(ctx: Context) -> list[Row]:
    """Alone, then behind the long prompt; the row."""
    models, sizes = ctx.models(), ctx.sizes
    tok, model = models.tokenizer_json, models.gguf_repo
    repeats = 1 if ctx.quick else REPEATS
    argv = [console_script("mlxk-serve"), "--port", str(port := free_port()), "--model", model,
            "--log-level", "warning"]
    with server(argv, port, models.env(), ctx.work / "mlxk-serve-prefill.log") as url:
        chat_stream(url, model, "Warm up the kernels.", 4)
        alone = [chat_stream(url, model, fresh_text(tok, SHORT_TOKENS, ctx.seed()), 4).first_s
                 for _ in range(repeats)]
        behind = [_behind(url, model, fresh_text(tok, sizes.long_prompt, ctx.seed()),
                          fresh_text(tok, SHORT_TOKENS, ctx.seed())) for _ in range(repeats)]
    overlapped = sum(b[2] for b in behind)
    return [Row(
        "prefill.short_behind_long",
        f"short request's time to first token while a {sizes.long_prompt:,}-token prompt "
        "prefills", "s", statistics.median(b[0] for b in behind),
        "the same kind of short request alone", statistics.median(alone), "lower",
        note=f"median of {repeats}; the long prompt's own time to first token: "
        f"{statistics.median(b[1] for b in behind):.2f} s; the short request left "
        f"{DELAY_S} s after it, before its first token in {overlapped} of {repeats} repeats",
        headline=f"short request behind a {sizes.long_prompt:,}-token prefill, time to first "
        "token vs alone",
    )]
