"""A threaded HTTP server on 127.0.0.1 speaking the part of the hub API huggingface_hub uses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from tests.fakehub.payloads import model_info, tree_listing
from tests.fakehub.repos import FakeRepo, Fault, Gated, RepoFileEntry

__all__ = ["FakeHub", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake hub received."""

    method: str
    path: str
    headers: Mapping[str, str]
    status: int


class FakeHub:
    """A fake Hugging Face hub on a random loopback port; use as a context manager.

    ``url`` is what HF_ENDPOINT should be. LFS files redirect to ``http://localhost:<port>``
    (another origin, like the hub's CDN), so the client drops its token there as it does
    for the real CDN.
    """

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- repos -------------------------------------------------------------------------
    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, bytes | str | Path],
        *,
        gated: Gated = False,
        granted_tokens: tuple[str, ...] = (),
    ) -> FakeRepo:
        """Create ``repo_id`` with one commit of ``files`` on ``main``."""
        repo = FakeRepo(repo_id, gated=gated, granted_tokens=set(granted_tokens))
        repo.commit(files)
        self.repos[repo_id] = repo
        return repo

    def fault(self, repo_id: str, path: str, fault: Fault) -> Fault:
        """Make fetching ``path`` of ``repo_id`` misbehave as ``fault`` says."""
        self.repos[repo_id].faults[path] = fault
        return fault

    def file_gets(self, path_suffix: str) -> list[RequestRecord]:
        """The GETs of file bytes (resolve or LFS) whose URL path ends with ``path_suffix``."""
        return [
            r
            for r in self.requests
            if r.method == "GET"
            and ("/resolve/" in r.path or r.path.startswith("/_lfs/"))
            and r.path.endswith(path_suffix)
        ]

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "FakeHub is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The endpoint to put in HF_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_url(self) -> str:
        """Where LFS files are redirected to (a different origin than ``url``)."""
        return f"http://localhost:{self.port}"

    def start(self) -> FakeHub:
        """Start serving in a background thread."""
        handler = type("BoundHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self, method: str, path: str, headers: Mapping[str, str], status: int) -> None:
        """Log one answered request (thread-safe)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests.append(RequestRecord(method, path, lowered, status))


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head=True)

    # -- routing -----------------------------------------------------------------------
    def _dispatch(self, *, head: bool) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/api/models/"):
            self._api(path[len("/api/models/") :])
        elif path.startswith("/_lfs/"):
            self._lfs(path[len("/_lfs/") :], head=head)
        elif "/resolve/" in path:
            self._resolve(path.lstrip("/"), head=head)
        else:
            self._error(404, "EntryNotFound", "Not found")

    def _find_repo(self, rest: str) -> tuple[FakeRepo | None, str]:
        for repo_id in sorted(self.hub.repos, key=len, reverse=True):
            if rest == repo_id or rest.startswith(repo_id + "/"):
                return self.hub.repos[repo_id], rest[len(repo_id) :]
        return None, rest

    def _api(self, rest: str) -> None:
        repo, tail = self._find_repo(rest)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        revision: str | None = None
        if tail.startswith("/revision/"):
            revision = unquote(tail[len("/revision/") :])
            tail = ""
        elif tail.startswith("/tree/"):
            revision = unquote(tail[len("/tree/") :].split("/", 1)[0])
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        if tail.startswith("/tree/"):
            return self._json(tree_listing(repo.commits[commit]))
        self._json(model_info(repo, commit))

    def _resolve(self, rest: str, *, head: bool) -> None:
        repo_part, _, tail = rest.partition("/resolve/")
        repo = self.hub.repos.get(unquote(repo_part))
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        revision, _, filename = tail.partition("/")
        commit = repo.resolve(unquote(revision))
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(revision)}")
        if not repo.allows(self.headers.get("Authorization")):
            status = 403 if self.headers.get("Authorization") else 401
            return self._error(
                status, "GatedRepo", f"Access to model {repo.repo_id} is restricted."
            )
        entry = repo.commits[commit].get(unquote(filename))
        if entry is None:
            return self._error(404, "EntryNotFound", "Entry not found", commit=commit)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.git_oid}"'}
        if entry.lfs:
            headers |= {
                "X-Linked-Etag": f'"{entry.sha256}"',
                "X-Linked-Size": str(len(entry.data)),
                "Location": f"{self.hub.cdn_url}/_lfs/{entry.sha256}",
            }
            return self._send(302, headers, b"")
        self._file(repo, entry, headers, head=head)

    def _lfs(self, sha256: str, *, head: bool) -> None:
        for repo in self.hub.repos.values():
            for files in repo.commits.values():
                for entry in files.values():
                    if entry.lfs and entry.sha256 == sha256:
                        return self._file(repo, entry, {"ETag": f'"{sha256}"'}, head=head)
        self._error(404, "EntryNotFound", "Entry not found")

    # -- responses ---------------------------------------------------------------------
    def _file(
        self, repo: FakeRepo, entry: RepoFileEntry, headers: dict[str, str], *, head: bool
    ) -> None:
        fault = repo.faults.get(entry.path)
        active = fault is not None and not head and fault.active()
        data = fault.body if active and fault is not None and fault.body is not None else entry.data
        start, end = 0, len(data) - 1
        status = 200
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes="):
            first, _, last = ranged[len("bytes=") :].partition("-")
            start, end = int(first), int(last) if last else len(data) - 1
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        headers["Accept-Ranges"] = "bytes"
        body = data[start : end + 1]
        if head:
            return self._send(status, headers, b"", length=len(body))
        if not active or fault is None:
            return self._send(status, headers, body)
        if fault.drop_at is not None:
            self._send(status, headers, body[: max(0, fault.drop_at - start)], length=len(body))
            self.close_connection = True
            return
        half = len(body) // 2
        self._send(status, headers, body[:half], length=len(body))
        time.sleep(fault.stall_s)
        self.wfile.write(body[half:])
        self.wfile.flush()

    def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(
            status, headers, json.dumps({"error": message}).encode(), ctype="application/json"
        )

    def _json(self, payload: object) -> None:
        self._send(200, {}, json.dumps(payload).encode(), ctype="application/json")

    def _send(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        length: int | None = None,
        ctype: str = "application/octet-stream",
    ) -> None:
        self.hub.record(self.command, urlsplit(self.path).path, self.headers, status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()
