"""Ollama's model endpoints: version, tags (the cache), ps (what is loaded), show, and refusals.

This server never downloads, creates or deletes models: ``pull``, ``push``, ``create``,
``delete``, ``copy`` and blob uploads are refused with a 403 that says what to do instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mlxk_core import CachedModel, ModelFacts, ResolvedModel, __version__
from mlxk_server.bodies import app_state
from mlxk_server.errors import ApiError
from mlxk_server.handling import read_body
from mlxk_server.ollama_names import iso_time, ollama_name, to_mlxk
from mlxk_server.ollama_wire import ShowRequest

__all__ = ["ps", "refuse", "show", "tags", "version"]


# mlxk's capability names -> Ollama's ("chat" has no Ollama name: every model chats there)
_CAPABILITIES = {"completion": "completion", "tools": "tools", "reasoning": "thinking",
                 "embedding": "embedding"}


def _family(facts: ModelFacts) -> str:
    """``LlamaForCausalLM`` -> ``llama``, as Ollama names families."""
    arch = facts.architecture or "unknown"
    for suffix in ("ForCausalLM", "ForConditionalGeneration", "LMHeadModel", "Model"):
        if arch.endswith(suffix) and arch != suffix:
            arch = arch[: -len(suffix)]
            break
    return arch.lower()


def _details(facts: ModelFacts) -> dict[str, Any]:
    quant = facts.quantization.description if facts.quantization else facts.precision
    family = _family(facts)
    return {"parent_model": "", "format": "mlx", "family": family, "families": [family],
            "parameter_size": "", "quantization_level": quant or ""}


def _tag(model: CachedModel) -> dict[str, Any] | None:
    rev = model.latest
    if rev is None:
        return None
    name = ollama_name(model.repo_id)
    return {"name": name, "model": name, "modified_at": iso_time(model.last_modified),
            "size": model.size_on_disk, "digest": rev.commit_hash, "details": _details(rev.facts)}


async def version(request: Request) -> Response:
    """``GET /api/version``: this server's version."""
    return JSONResponse({"version": __version__})


async def tags(request: Request) -> Response:
    """``GET /api/tags``: the models this server offers."""
    models = await run_in_threadpool(app_state(request).catalog.models)
    return JSONResponse({"models": [t for t in map(_tag, models) if t is not None]})


async def ps(request: Request) -> Response:
    """``GET /api/ps``: the loaded models, with when a keep-alive or idle unload is due."""
    state = app_state(request)
    out = []
    for held in state.engine.status().loaded:
        repo = str(held["id"])
        doc: dict[str, Any] = {"name": ollama_name(repo), "model": ollama_name(repo),
                               "size": held["size_bytes"], "digest": held["revision"] or "",
                               "context_length": held["context_length"]}
        due = state.keep_alive.expires_at(repo)
        if due is None and state.settings.idle_unload:
            due = float(held["last_used"]) + state.settings.idle_unload
        if due is not None:
            doc["expires_at"] = iso_time(due)
        out.append(doc)
    return JSONResponse({"models": out})


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _template(snapshot: Path) -> str:
    try:
        return (snapshot / "chat_template.jinja").read_text(encoding="utf-8", errors="replace")
    except OSError:
        pass
    config = _read(snapshot / "tokenizer_config.json")
    template = config.get("chat_template") if isinstance(config, dict) else None
    return template if isinstance(template, str) else ""


def _show(model: ResolvedModel) -> dict[str, Any]:
    facts = model.facts
    template = _template(model.path)
    family = _family(facts)
    info: dict[str, Any] = {"general.architecture": family}
    if facts.context_length:
        info[f"{family}.context_length"] = facts.context_length
    capabilities = [_CAPABILITIES[c] for c in facts.capabilities if c in _CAPABILITIES]
    doc = {"modelfile": "", "parameters": "", "template": template, "details": _details(facts),
           "model_info": info, "capabilities": capabilities}
    try:
        return doc | {"modified_at": iso_time(model.path.stat().st_mtime)}
    except OSError:  # removed since it was resolved
        return doc


async def show(request: Request) -> Response:
    """``POST /api/show``: a model's details, template and capabilities."""
    body = await read_body(request, ShowRequest)
    name = body.model or body.name
    if not name:
        raise ApiError(400, "Give the model to show", param="model")
    model = await run_in_threadpool(app_state(request).catalog.resolve, to_mlxk(name))
    return JSONResponse(await run_in_threadpool(_show, model))


async def refuse(request: Request) -> Response:
    """``pull``, ``push``, ``create``, ``delete``, ``copy``, blobs: never done by this server."""
    raise ApiError(403, "This server never downloads, creates, copies or deletes models: run "
                   "`mlxk pull org/name` (or `mlxk rm`, `mlxk import`) where it runs, and it "
                   "serves what is in the cache", type="permission_error", code="not_supported")
