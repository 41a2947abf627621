"""The fake vendor transport drives each official SDK client exactly as the network would."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def test_openai_chat_create_and_stream_sync() -> None:
    """The openai client parses a served completion and every served stream chunk, and its request is kept."""
    server = VendorServer().reply_json(load("openai_chat", "response_basic"))
    chunks = load("openai_chat", "stream_text_usage")
    server.reply_stream("openai_chat", chunks)
    client = openai_client(server)
    resp = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "Hello! How can I assist you today?"
    got = list(client.chat.completions.create(model="gpt-4.1", messages=[], stream=True))
    assert [c.model_dump(mode="json", exclude_unset=True) for c in got] == chunks
    assert server.requests[0].path == "/v1/chat/completions"
    assert server.requests[0].body["messages"] == [{"role": "user", "content": "hi"}]


def test_openai_responses_stream_async() -> None:
    """The async openai client yields one typed event per served Responses API event."""
    chunks = load("openai_responses", "stream_text")
    server = VendorServer().reply_stream("openai_responses", chunks)

    async def run() -> list[str]:
        client = openai_client(server, is_async=True)
        stream = await client.responses.create(model="gpt-4.1", input="hi", stream=True)
        return [event.type async for event in stream]

    assert asyncio.run(run()) == [c["type"] for c in chunks]


def test_anthropic_messages_stream_sync() -> None:
    """The anthropic client yields one typed event per served Messages stream event."""
    chunks = load("anthropic", "stream_text")
    server = VendorServer().reply_stream("anthropic", chunks)
    client = anthropic_client(server)
    events = client.messages.create(model="claude-x", max_tokens=10, messages=[], stream=True)
    # the SDK skips pings
    assert [e.type for e in events] == [c["type"] for c in chunks if c["type"] != "ping"]
    assert server.requests[0].path == "/v1/messages"


def test_gemini_generate_content_stream_sync_and_async() -> None:
    """The google-genai client parses every served streamGenerateContent chunk, sync and async."""
    chunks = load("gemini", "stream_text")
    server = VendorServer().reply_stream("gemini", chunks, repeat=True)
    client = gemini_client(server)
    got = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert len(got) == len(chunks)
    assert "".join(c.text or "" for c in got) == "".join(
        p["text"] for c in chunks for cand in c.get("candidates", []) for p in cand["content"]["parts"]
    )

    async def run() -> int:
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        return len([c async for c in stream])

    assert asyncio.run(run()) == len(chunks)
    assert "/models/gemini-2.5-flash:streamGenerateContent?alt=sse" in server.requests[0].path
