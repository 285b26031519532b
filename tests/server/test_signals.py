"""SignalWatch: SIGTERM reaches the server's handler whichever thread the kernel picks."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import signal, threading, time
    from mlxk_server.signals import SignalWatch

    ready = threading.Event()
    early = threading.Thread(target=lambda: (ready.set(), time.sleep(30)), daemon=True)
    early.start()  # like a library's pool started at import: it does not block the signals
    ready.wait()
    got = threading.Event()
    with SignalWatch() as watch:
        watch.connect(lambda sig: (print("handled", sig, flush=True), got.set()))
        signal.pthread_kill(early.ident, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not got.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
    print("exited cleanly", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX thread signals")
def test_sigterm_delivered_to_a_thread_that_does_not_block_it_is_handled() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout.splitlines() == [f"handled {int(signal.SIGTERM)}", "exited cleanly"]
