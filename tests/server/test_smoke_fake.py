from __future__ import annotations

import httpx
import openai


def test_chat_roundtrip(serve_fake):
    with serve_fake() as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x")
        r = client.chat.completions.create(model="fake/chat", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content == "Hello, world!"
        chunks = list(client.chat.completions.create(
            model="fake/chat", messages=[{"role": "user", "content": "hi"}], stream=True,
            stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Hello, world!"
        assert httpx.get(url + "/health").json()["status"] == "ok"
