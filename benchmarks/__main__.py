"""`python -m benchmarks [--quick] [NAME ...]` (`nox -s bench`): measure, then write the report.

Runs the ``bench_*`` modules (those whose name contains a NAME, or all) on the real
SmolLM2-135M-Instruct and writes the raw figures as JSON and the Markdown report rendered from
them. A full run of every bench writes ``build/benchmarks.json``, ``docs/benchmarks.md`` and
README's headline block; a ``--quick`` or partial run (or one where a bench failed) writes
``build/benchmarks-partial.json`` and ``.md`` only, so the committed report always comes from
a whole, full run. ``--render JSON`` measures nothing and renders a run's JSON again (after a
change to the report's layout). A bench module defines ``TITLE`` and ``run(ctx) -> list[Row]``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import environment
from benchmarks.context import FULL, QUICK, ROOT, Context
from benchmarks.report import FORMULAS, render, update_readme
from tests.reliability.recorder import git_commit

ORDER = ("bench_runner", "bench_cpu", "bench_server", "bench_prefill", "bench_cache",
         "bench_engine", "bench_agent", "bench_embed")


def _about(module: Any) -> str:
    paragraphs = inspect.cleandoc(module.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _section(name: str, ctx: Context) -> dict[str, Any]:
    module = importlib.import_module(f"benchmarks.{name}")
    start = time.perf_counter()
    section: dict[str, Any] = {"key": name, "title": module.TITLE, "about": _about(module)}
    print(f"== {module.TITLE}", file=sys.stderr, flush=True)
    try:
        section["rows"] = [row.as_dict() for row in module.run(ctx)]
    except Exception:  # the other benches still run; the run is then partial
        section["rows"] = []
        section["error"] = traceback.format_exc()
        print(section["error"], file=sys.stderr)
    section["seconds"] = time.perf_counter() - start
    print(f"   {section['seconds']:.0f} s", file=sys.stderr, flush=True)
    return section


def measure(names: Sequence[str], quick: bool) -> dict[str, Any]:
    """Run the named benches and return the whole document."""
    started = time.time()
    facts = {"machine": environment.machine(), "versions": environment.versions(),
             "commit": git_commit(ROOT)}
    facts["blas"] = environment.blas_facts(environment.mlxk_blas())
    preload = facts["blas"]["preload"]
    with tempfile.TemporaryDirectory(prefix="mlxk-bench-") as work:
        ctx = Context(QUICK if quick else FULL, Path(work), quick=quick, preload=preload)
        sections = [_section(name, ctx) for name in names]
        model = ctx.model_description
    facts["machine"]["load_end"] = os.getloadavg()[0]
    return {**facts, "schema": 1, "quick": quick, "benches": list(names), "model": model,
            "formulas": FORMULAS, "started": started, "finished": time.time(),
            "duration_s": time.time() - started, "sections": sections}


def _whole(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is a full run of every bench without a failure."""
    failed = any("error" in s for s in doc["sections"])
    return not doc["quick"] and doc["benches"] == list(ORDER) and not failed


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, write JSON and Markdown; exit 1 when a bench failed or none matched."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n")[0])
    parser.add_argument("names", nargs="*", help="run only benches whose name contains one")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: render the report from a run's JSON again")
    args = parser.parse_args(argv)
    names = [n for n in ORDER if not args.names or any(f in n for f in args.names)]
    if not names:
        print(f"no bench matches {args.names}; the benches: {', '.join(ORDER)}",
              file=sys.stderr)
        return 1
    if args.render:
        doc = json.loads(args.render.read_text(encoding="utf-8"))
    else:
        doc = measure(names, args.quick)
    failed = [s["key"] for s in doc["sections"] if "error" in s]
    whole = _whole(doc)
    stem = ROOT / "build" / ("benchmarks" if whole else "benchmarks-partial")
    stem.parent.mkdir(parents=True, exist_ok=True)
    if not args.render:
        stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    page = render(doc)
    target = ROOT / "docs" / "benchmarks.md" if whole else stem.with_suffix(".md")
    target.write_text(page, encoding="utf-8")
    print(page)
    print(f"wrote {target} (figures: {args.render or stem.with_suffix('.json')})",
          file=sys.stderr)
    if whole and update_readme(ROOT / "README.md", doc):
        print("updated README.md's headline block", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
