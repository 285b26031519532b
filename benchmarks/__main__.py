"""`python -m benchmarks [FILTER]`: run every ``bench_*`` module here and print its table.

A bench module defines ``TITLE: str`` and ``run() -> list[dict[str, object]]`` (one dict per
table row, same keys in each). FILTER keeps the modules whose name contains it. Figures only:
nothing here asserts.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def bench_modules(name_filter: str = "") -> list[str]:
    """Names of the bench modules in this package, filtered by substring, sorted."""
    here = [str(Path(__file__).parent)]
    names = (m.name for m in pkgutil.iter_modules(here) if m.name.startswith("bench_"))
    return sorted(n for n in names if name_filter in n)


def format_table(rows: Sequence[dict[str, object]]) -> str:
    """Rows as an aligned plain-text table; floats with 3 decimals."""
    if not rows:
        return "(no rows)"
    headers = list(rows[0])
    cells = [[_cell(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    for cell in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main(argv: Sequence[str]) -> int:
    """Run the selected benches; exit 1 only when none matched the filter."""
    names = bench_modules(argv[0] if argv else "")
    if not names:
        print(f"no bench module matches {argv[0]!r}", file=sys.stderr)
        return 1
    for name in names:
        module = importlib.import_module(f"{__package__ or 'benchmarks'}.{name}")
        start = time.perf_counter()
        rows = module.run()
        print(f"\n== {module.TITLE} ({time.perf_counter() - start:.1f} s) ==")
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
