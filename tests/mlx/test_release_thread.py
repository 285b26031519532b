"""Threads that ran a model and call release_thread() last leave a process that exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.factory import QA, build_model

# Each worker thread loads, generates, closes and hands its Runner back (as an engine would).
# Without release_thread() MLX aborts at exit (134, "terminate called without an active
# exception"), for one thread some of the time, for four threads every time here.
SCRIPT = """
import sys, threading
from pathlib import Path
from mlxk_core import GenerationRequest, Runner
from mlxk_core.backends.mlx import release_thread
from mlxk_core.settings import Settings

kept = []

def work():
    runner = Runner(sys.argv[2], settings=Settings(cache_dir=Path(sys.argv[1])))
    runner.open()
    request = GenerationRequest.chat([("user", sys.argv[3])], max_tokens=4)
    print(runner.generate(request).text, flush=True)
    runner.close()
    kept.append(runner)
    release_thread()

for _ in range(4):
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
"""


def test_worker_threads_that_release_their_streams_let_the_process_exit_zero(
    hf_cache: Path,
) -> None:
    repo = build_model("chat", hf_cache)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(hf_cache), repo, QA.FRANCE.turns[-1][1]],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    answers = done.stdout.splitlines()
    assert len(answers) == 4 and all(QA.FRANCE.answer.startswith(a) for a in answers)
