"""How the server names a model it will not run (the real server and catalog, `openai` client).

A model outside ``--models`` is "not served here" (cached or not, never "not found in the
cache"); a short name that matches several cached repos is a 400 that lists the candidates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest

from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.factory import variants as v
from tests.server.conftest import running

MESSAGES = [{"role": "user", "content": "hi"}]


@contextmanager
def client(cache: Path, *allowed: str) -> Iterator[openai.OpenAI]:
    app = create_app(ServerSettings(core=Settings(cache_dir=cache), models=allowed))
    with running(app) as url:
        yield openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("name", ["acme/Tiny-Other", "acme/never-cached"])
def test_a_model_outside_the_allow_list_is_not_served_here(hf_cache: Path, name: str) -> None:
    v.make_mlx_model(hf_cache, "mlx-community/Tiny-Chat-4bit")
    v.make_mlx_model(hf_cache, "acme/Tiny-Other")
    with client(hf_cache, "mlx-community/Tiny-Chat-4bit") as api:
        assert [m.id for m in api.models.list()] == ["mlx-community/Tiny-Chat-4bit"]
        with pytest.raises(openai.NotFoundError) as caught:
            api.chat.completions.create(model=name, messages=MESSAGES)  # type: ignore[arg-type]
    error = caught.value.body
    assert isinstance(error, dict)
    assert "not served here" in error["message"] and "--models" in error["message"]
    assert "not found in the cache" not in error["message"]
    assert (error["code"], error["param"]) == ("model_not_found", "model")


def test_a_name_not_in_the_cache_is_still_not_found(hf_cache: Path) -> None:
    with client(hf_cache) as api, pytest.raises(openai.NotFoundError) as caught:
        api.completions.create(model="acme/never-cached", prompt="hi")
    assert isinstance(caught.value.body, dict)
    assert "not found in the cache" in caught.value.body["message"]


def test_an_ambiguous_name_is_a_400_that_lists_the_candidates(hf_cache: Path) -> None:
    v.make_mlx_model(hf_cache, "org-a/Tiny-Twin")
    v.make_mlx_model(hf_cache, "org-b/Tiny-Twin")
    with client(hf_cache) as api, pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="Tiny-Twin", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    error = caught.value.body
    assert isinstance(error, dict)
    assert "ambiguous" in error["message"]
    assert "org-a/Tiny-Twin" in error["message"] and "org-b/Tiny-Twin" in error["message"]
    assert (error["code"], error["param"]) == ("ambiguous_model", "model")
