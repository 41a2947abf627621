"""StreamRecorder.add keeps an immutable snapshot of each chunk and folds it in finish().

The SDK objects come from the official clients over the fake transport (tests/sdk_transport.py),
for all four vendor APIs. The oracle is the record made from the same chunks dumped by `sdk_json`
(the slow, exact path `add` took before it read SDK objects field by field).
"""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client

from tracekit.errors import RecordingError
from tracekit.helpers._snapshot import Unsnappable, copy_json, freeze_dict, sdk_chunk, thaw_dict
from tracekit.helpers.recorder import StreamRecorder
from tracekit.helpers.sdk import sdk_json
from tracekit.model import LLMCallRecord

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
HI = [{"role": "user", "content": "hi"}]
STREAMS = {
    "openai_chat": ("stream_text_usage", "stream_tool_calls", "stream_n2", "stream_azure"),
    "openai_responses": ("stream_text", "stream_function_call", "stream_incomplete", "stream_failed"),
    "anthropic": ("stream_text", "stream_tool_use", "stream_thinking", "stream_server_tool_use"),
    "gemini": ("stream_text", "stream_thinking", "stream_partial_args", "stream_thinking_function_call"),
}
CASES = [(vendor, name) for vendor, names in STREAMS.items() for name in names]


def load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def sdk_objects(vendor: str, chunks: list[Any]) -> list[Any]:
    """The vendor client's own stream objects for `chunks`, over the fake transport."""
    server = VendorServer().reply_stream(vendor, chunks)
    if vendor == "openai_chat":
        return list(openai_client(server).chat.completions.create(model="gpt-4.1", messages=HI, stream=True))
    if vendor == "openai_responses":
        return list(openai_client(server).responses.create(model="gpt-4.1", input="hi", stream=True))
    if vendor == "anthropic":
        messages = anthropic_client(server).messages
        return list(messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI, stream=True))
    client = gemini_client(server)
    return list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))


def recorder(strict: bool = False) -> StreamRecorder:
    """A recorder with a fixed call id, start and wall clock, so two runs give equal records."""
    return StreamRecorder(call_id="call-1", clock=lambda: 1.0, now=lambda: T0, strict=strict)


def record_of(chunks: list[Any], strict: bool = False) -> LLMCallRecord:
    """The record of `chunks`, the i-th arriving at 2.0 + i seconds."""
    rec = recorder(strict)
    for i, chunk in enumerate(chunks):
        rec.add(chunk, 2.0 + i)
    return rec.finish()


def mutate_model(obj: Any, depth: int = 0) -> None:
    """Overwrite every text field of an SDK object tree and empty its lists (what a caller that
    reuses or edits chunk objects after reading them might do)."""
    if depth > 20:
        return
    for name, value in list(vars(obj).items()):
        if type(value) is str:
            setattr(obj, name, "MUTATED")
        elif type(value) is int and type(value) is not bool:
            setattr(obj, name, 999)
        elif isinstance(value, list):
            for item in value:
                if hasattr(item, "__pydantic_fields__"):
                    mutate_model(item, depth + 1)
            value.clear()
        elif hasattr(value, "__pydantic_fields__"):
            mutate_model(value, depth + 1)


def mutate_dict(value: Any) -> None:
    """Overwrite every text value of a dict tree in place and empty its lists."""
    if isinstance(value, dict):
        for key, item in list(value.items()):
            if type(item) is str:
                value[key] = "MUTATED"
            else:
                mutate_dict(item)
    elif isinstance(value, list):
        for item in value:
            mutate_dict(item)
        value.clear()


@pytest.mark.parametrize(("vendor", "name"), CASES)
def test_sdk_chunk_read_equals_the_sdk_dump(vendor: str, name: str) -> None:
    """Reading an SDK chunk field by field gives exactly `sdk_json`'s dump, keys in the same order."""
    for obj in sdk_objects(vendor, load(vendor, name)):
        assert json.dumps(sdk_chunk(obj)) == json.dumps(sdk_json(obj))


@pytest.mark.parametrize(("vendor", "name"), CASES)
def test_sdk_objects_record_equals_their_dumps_record(vendor: str, name: str) -> None:
    """A stream of SDK objects gives the record its dumped dicts give."""
    objects = sdk_objects(vendor, load(vendor, name))
    dumped = [sdk_json(obj) for obj in objects]
    assert record_of(objects) == record_of(dumped)


@pytest.mark.parametrize("vendor", list(STREAMS))
def test_mutating_sdk_chunks_after_add_leaves_the_record(vendor: str) -> None:
    """Changing every SDK chunk object after add() (text, numbers, lists) does not change the record."""
    chunks = load(vendor, STREAMS[vendor][1])
    expected = record_of(sdk_objects(vendor, chunks))
    objects = sdk_objects(vendor, chunks)
    rec = recorder()
    for i, obj in enumerate(objects):
        rec.add(obj, 2.0 + i)
    for obj in objects:
        mutate_model(obj)
    assert json.dumps(sdk_json(objects[0])) != json.dumps(sdk_json(sdk_objects(vendor, chunks)[0]))
    assert rec.finish() == expected


@pytest.mark.parametrize("vendor", list(STREAMS))
def test_mutating_dict_chunks_after_add_leaves_the_record(vendor: str) -> None:
    """Changing every dict chunk in place after add() does not change the record or its raw chunks."""
    chunks = load(vendor, STREAMS[vendor][1])
    expected = record_of(copy.deepcopy(chunks))
    rec = recorder()
    for i, chunk in enumerate(chunks):
        rec.add(chunk, 2.0 + i)
    for chunk in chunks:
        mutate_dict(chunk)
    record = rec.finish()
    assert record == expected
    assert record.chunks is not None
    assert record.chunks[0].raw == load(vendor, STREAMS[vendor][1])[0]


def test_copy_json_copies_plain_json_and_refuses_the_rest() -> None:
    """copy_json gives an equal dict sharing no container; any value `clean` would replace is refused."""
    value: dict[str, Any] = {"a": [1, -2.5, None, True, {"b": "c"}, [["d"]]], "e": {"f": {"g": 2**63 - 1}}}
    copied = copy_json(value)
    assert copied == value
    assert copied["a"] is not value["a"]
    assert copied["a"][4] is not value["a"][4]
    assert copied["a"][5][0] is not value["a"][5][0]
    assert copied["e"]["f"] is not value["e"]["f"]

    class Text(str):
        """A str subclass (not a JSON string)."""

    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["n"] = {}
        node = node["n"]
    for bad in (
        {"a": math.nan},
        {"a": [math.inf]},
        {"a": 2**63},
        {"a": [-(2**63) - 1]},
        {"a": (1, 2)},
        {"a": Text("x")},
        {1: "x"},
        {"a": [{"b": {2: None}}]},
        deep,
    ):
        with pytest.raises(Unsnappable):
            copy_json(bad)


def test_freeze_dict_copies_exact_builtins_and_refuses_others() -> None:
    """A plain dict comes back equal with nothing shared; a str subclass or an object is refused."""
    value = {"a": [1, 2.5, None, True, {"b": "c"}], "big": 2**70, "nan": math.nan, 1: (1, 2)}
    thawed = thaw_dict(freeze_dict(value))
    assert repr(thawed) == repr(value)
    assert thawed["a"] is not value["a"]
    assert thawed["a"][4] is not value["a"][4]

    class Text(str):
        """A str subclass (not a JSON string to marshal)."""

    with pytest.raises(Unsnappable):
        freeze_dict({"a": Text("x")})
    with pytest.raises(Unsnappable):
        freeze_dict({"a": [object()]})


def test_sdk_chunk_refuses_values_it_cannot_read_exactly() -> None:
    """A non-finite float or an out-of-range integer inside an SDK chunk is Unsnappable (dumped instead)."""
    chunks = load("openai_chat", "stream_text_usage")
    nan_obj, big_obj = sdk_objects("openai_chat", chunks)[-1], sdk_objects("openai_chat", chunks)[-1]
    nan_obj.usage.prompt_tokens = math.nan
    big_obj.usage.prompt_tokens = 2**70
    with pytest.raises(Unsnappable):
        sdk_chunk(nan_obj)
    with pytest.raises(Unsnappable):
        sdk_chunk(big_obj)


def test_unreadable_sdk_values_take_the_exact_slow_path() -> None:
    """SDK chunks holding an out-of-range integer, a datetime or a set give the record their dumps give."""
    objects = sdk_objects("anthropic", load("anthropic", "stream_text"))
    objects[0].message.usage.input_tokens = 2**70
    objects[1].__pydantic_extra__["when"] = datetime(2026, 1, 1, tzinfo=UTC)
    objects[2].__pydantic_extra__["tags"] = {"x"}
    record = record_of(objects)
    assert record == record_of([sdk_json(obj) for obj in objects])
    assert record.error is not None
    assert record.error["replaced"] == [
        {
            "path": "chunks[0].message.usage.input_tokens",
            "value": str(2**70),
            "replaced_by": "text (outside 64-bit integers)",
        }
    ]
    assert record.outcome == "error"


def test_sdk_chunk_whose_dump_fails_is_noted_not_raised() -> None:
    """An SDK chunk its own model_dump cannot serialise is noted in the record, never raised from add()."""

    class Thing:
        """A value pydantic cannot serialise."""

        def __repr__(self) -> str:
            return "<thing>"

    objects = sdk_objects("anthropic", load("anthropic", "stream_text"))
    objects[2].__pydantic_extra__["thing"] = Thing()
    record = record_of(objects)
    assert record.error is not None
    assert record.error["path"] == "chunks[2]"
    assert record.error["message"].startswith(
        "stream chunk of type RawContentBlockDeltaEvent could not be read as JSON "
        "by its own model_dump() (PydanticSerializationError: "
    )
    assert record.error["replaced"][0]["replaced_by"] == "null (its model_dump failed)"
    assert record.output_text == record_of(objects[:2] + objects[3:]).output_text
    with pytest.raises(RecordingError, match="stream chunk 2"):
        record_of(objects, strict=True)


def test_unreadable_chunk_is_noted_at_finish_and_raised_at_add_when_strict() -> None:
    """A chunk that is no object never raises from add(); finish() notes it; strict=True raises at add()."""
    chunks = load("openai_chat", "stream_text_usage")
    rec = recorder()
    rec.add(chunks[0], 2.0)
    rec.add(42, 3.0)
    rec.add(chunks[1], 4.0)
    record = rec.finish()
    assert record.error is not None
    assert record.error["path"] == "chunks[1]"
    note = {"path": "chunks[1]", "value": "42", "replaced_by": "null (not an object)"}
    assert record.error["replaced"] == [note]
    strict = recorder(strict=True)
    strict.add(chunks[0], 2.0)
    with pytest.raises(RecordingError, match="stream chunk 1"):
        strict.add(42, 3.0)


def test_bad_arrival_time_is_noted_in_chunk_order() -> None:
    """A non-finite received_at is noted at its chunk's place among the other notes, and timing is dropped."""
    chunks = load("openai_chat", "stream_text_usage")
    rec = recorder()
    rec.add({**chunks[0], "extra": math.inf}, 2.0)
    rec.add(chunks[1], math.nan)
    rec.add({**chunks[2], "extra": 2**64}, 4.0)
    record = rec.finish()
    assert record.error is not None
    assert [(note["path"], note["value"]) for note in record.error["replaced"]] == [
        ("chunks[0].extra", "Infinity"),
        ("chunks[1].received_at", "nan"),
        ("chunks[2].extra", str(2**64)),
    ]
    assert record.timing is not None
    assert record.timing.ttft_ms is None
