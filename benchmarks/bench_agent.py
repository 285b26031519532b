"""Structured output's cost: decoding under a JSON schema against the same requests without one.

Through the core Engine on the GGUF import, greedy chat requests asking for a long story; with a
JSON schema (one string field of 2,000 to 4,000 characters, so the constrained answer cannot end
early) every token is masked by llguidance, computed with numpy and applied with ``mx.where``.
Alone, the figure is the stream's decode tok/s; at 8 concurrent streams, the aggregate tok/s.
"""

from __future__ import annotations

from benchmarks.context import Context, worker
from benchmarks.report import Row

TITLE = "Structured output: decoding with a JSON schema vs without"


def run(ctx: Context) -> list[Row]:
    """Alone and at 8 concurrent streams, constrained against free."""
    models, sizes = ctx.models(), ctx.sizes
    rows = []
    for threads in (1, 8):
        out = worker("schema", {
            "cache": str(models.cache), "repo": models.gguf_repo,
            "snapshot": str(models.gguf_snapshot), "tokenizer_json": str(models.tokenizer_json),
            "threads": threads, "prompt_tokens": 32, "decode_tokens": sizes.decode_tokens,
            "seed": ctx.seed() * 100,
        }, models.env())
        figure = "decode" if threads == 1 else "aggregate"
        label = ("alone: decode tok/s" if threads == 1 else
                 f"{threads} concurrent streams: aggregate tok/s")
        rows.append(Row(
            f"agent.schema.{threads}", f"{label} over {sizes.decode_tokens} tokens",
            "tok/s", out["schema"][figure], "the same requests without a schema",
            out["free"][figure], "higher", 0.8,
            note=f"tokens generated: {out['schema']['generated']} (schema), "
            f"{out['free']['generated']} (free)",
            headline="JSON-schema decoding vs free decoding, alone" if threads == 1 else "",
        ))
    return rows
