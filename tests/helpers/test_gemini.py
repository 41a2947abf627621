"""Gemini generateContent normaliser: responses, streamed chunks, requests, SDK spellings, bad input."""

from __future__ import annotations

import base64
import copy
import enum
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from factories import SdkObject, at, without_chunks
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.helpers import gemini
from tracekit.helpers.base import ChunkKind, PayloadProblem
from tracekit.model import LLMContentPart, LLMMessage, ToolCallSpec, ToolDefinition

Load = Callable[[str, str], Any]


@pytest.fixture
def load(load_fixture: Load) -> Callable[[str], Any]:
    """`load(name)` -> tests/fixtures/gemini/<name>.json."""
    return lambda name: load_fixture("gemini", name)


def fold(chunks: list[dict[str, Any]]) -> tuple[list[ChunkKind], gemini.GeminiStreamState]:
    """Feed `chunks` to a fresh stream state; return the chunk kinds and the state."""
    state = gemini.new_stream_state()
    kinds = [gemini.add_chunk(state, chunk).kind for chunk in chunks]
    return kinds, state


def text_chunk(text: str, **candidate: Any) -> dict[str, Any]:
    """A streamed chunk carrying one visible text part (plus any extra candidate fields)."""
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, **candidate}]}


class FinishReason(enum.StrEnum):
    """Stands in for google-genai's FinishReason enum, which model_dump() leaves as an enum member."""

    STOP = "STOP"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def sdk_dump(value: Any) -> Any:
    """The REST payload as google-genai's model_dump() spells it: snake_case keys, bytes signatures,
    enum finish reasons."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "thoughtSignature":
                out["thought_signature"] = base64.b64decode(item)
            elif key == "finishReason":
                out["finish_reason"] = FinishReason(item)
            elif key in ("args", "response", "parameters"):
                out[key] = item
            else:
                out[_snake(key)] = sdk_dump(item)
        return out
    if isinstance(value, list):
        return [sdk_dump(item) for item in value]
    return value


# ---------------------------------------------------------------------------------------------
# Detection


def test_is_response_accepts_rest_and_sdk_shapes(load: Callable[[str], Any]) -> None:
    """Candidates, prompt feedback alone, and the SDK's snake_case dump are responses; others are not."""
    assert gemini.is_response(load("response_implicit_caching")) is True
    assert gemini.is_response(load("response_prompt_blocked")) is True
    assert gemini.is_response(sdk_dump(load("response_url_context"))) is True
    assert gemini.is_response({"usage_metadata": {"prompt_token_count": 1}, "model_version": "m"}) is True
    assert gemini.is_response({"type": "message", "content": []}) is False
    assert gemini.is_response({"choices": [], "object": "chat.completion"}) is False


def test_is_chunk_accepts_partial_responses_and_google_errors(load: Callable[[str], Any]) -> None:
    """Stream chunks and Google's error body are chunks; OpenAI's error body is not."""
    assert all(gemini.is_chunk(chunk) for chunk in load("stream_prompt_blocked"))
    google_error = {"error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}}
    assert gemini.is_chunk(google_error) is True
    openai_error = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    assert gemini.is_chunk(openai_error) is False


# ---------------------------------------------------------------------------------------------
# Complete responses


def test_implicit_caching_usage(load: Callable[[str], Any]) -> None:
    """promptTokenCount already includes cached tokens; thoughts are added to output."""
    parts = gemini.parse_response(load("response_implicit_caching"))
    usage = parts.usage
    assert usage is not None
    assert usage.input_tokens == 12013
    assert usage.cache_read_tokens == 11243
    assert usage.output_tokens == 15 + 73 == 88
    assert usage.reasoning_tokens == 73
    assert usage.total_tokens == 12101
    assert usage.tool_use_input_tokens is None
    assert usage.raw == load("response_implicit_caching")["usageMetadata"]
    assert parts.output_text == "Red Riding Hood is looking for **directions** in the forest."
    assert parts.finish_reason == "STOP"
    assert parts.model_name == "gemini-2.5-flash"
    assert parts.response_id is None
    assert parts.outcome == "success"


def test_tool_use_prompt_tokens_are_added_to_input(load: Callable[[str], Any]) -> None:
    """input = promptTokenCount + toolUsePromptTokenCount (15 + 424); output = 102 + 142 thoughts."""
    usage = gemini.parse_response(load("response_url_context")).usage
    assert usage is not None
    assert usage.input_tokens == 15 + 424 == 439
    assert usage.tool_use_input_tokens == 424
    assert usage.output_tokens == 102 + 142 == 244
    assert usage.reasoning_tokens == 142
    assert usage.total_tokens == 683 == usage.input_tokens + usage.output_tokens
    assert usage.cache_read_tokens is None


def test_thought_part_and_signed_function_call(load: Callable[[str], Any]) -> None:
    """A thought part is reasoning, not output text; the signed call keeps its signature, call_id None."""
    payload = load("response_thinking_function_call")
    parts = gemini.parse_response(payload)
    raw_parts = payload["candidates"][0]["content"]["parts"]
    assert parts.output_text is None
    assert parts.reasoning_text == raw_parts[0]["text"]
    assert parts.output_messages[0].parts == [LLMContentPart(type="thinking", text=raw_parts[0]["text"])]
    assert parts.output_tool_calls == [
        ToolCallSpec(
            name="now",
            arguments_json="{}",
            arguments={},
            call_id=None,
            index=0,
            metadata={"thought_signature": raw_parts[1]["thoughtSignature"]},
        )
    ]
    assert parts.response_id == "38CHaLjMG6TujrEPtvTiuQk"
    assert parts.model_name == "gemini-2.5-pro"
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (38, 8 + 501, 547)
    assert usage.reasoning_tokens == 501


def test_parallel_function_calls_keep_order_and_key_order(load: Callable[[str], Any]) -> None:
    """Three functionCall parts become three calls in order, args as compact JSON in sent key order."""
    parts = gemini.parse_response(load("response_parallel_calls"))
    assert [(c.name, c.arguments_json, c.arguments, c.index) for c in parts.output_tool_calls] == [
        ("sum", '{"y":1,"x":2}', {"y": 1, "x": 2}, 0),
        ("multiply", '{"y":3,"x":4}', {"y": 3, "x": 4}, 1),
        ("subtract", '{"y":5,"x":6}', {"y": 5, "x": 6}, 2),
    ]
    assert parts.usage is None
    assert parts.output_text is None


def test_function_call_id_becomes_call_id() -> None:
    """functionCall.id, when the API sends one, is the call_id results are matched by."""
    payload = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"id": "fc-1", "name": "now", "args": {}}}],
                }
            }
        ]
    }
    (call,) = gemini.parse_response(payload).output_tool_calls
    assert call.call_id == "fc-1"


def test_multiple_candidates_fill_outputs_in_index_order() -> None:
    """With candidateCount 2 every candidate goes to outputs; top-level fields come from index 0."""
    payload = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "B"}]},
                "finishReason": "MAX_TOKENS",
                "index": 1,
            },
            {"content": {"role": "model", "parts": [{"text": "A"}]}, "finishReason": "STOP", "index": 0},
        ],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6},
    }
    parts = gemini.parse_response(payload)
    first = LLMMessage(
        role="assistant", parts=[LLMContentPart(type="text", text="A")], metadata={"finish_reason": "STOP"}
    )
    second = LLMMessage(
        role="assistant",
        parts=[LLMContentPart(type="text", text="B")],
        metadata={"finish_reason": "MAX_TOKENS"},
    )
    assert parts.outputs == [first, second]
    assert parts.output_messages == [first]
    assert parts.output_text == "A"
    assert parts.finish_reason == "STOP"


def test_prompt_blocked_without_candidates_is_an_error(load: Callable[[str], Any]) -> None:
    """promptFeedback.blockReason with no candidates gives outcome error naming the reason."""
    parts = gemini.parse_response(load("response_prompt_blocked"))
    assert parts.outcome == "error"
    assert parts.error == {
        "type": "prompt_blocked",
        "message": "Gemini blocked the prompt: promptFeedback.blockReason is SAFETY",
        "block_reason": "SAFETY",
    }
    assert parts.output_messages == []
    assert parts.output_text is None
    assert parts.finish_reason is None
    assert parts.usage is None


def test_sdk_model_dump_spelling_gives_the_same_parts(load: Callable[[str], Any]) -> None:
    """snake_case keys, a bytes thought_signature and an enum finish_reason read like the REST JSON."""
    rest = gemini.parse_response(load("response_thinking_function_call"))
    sdk = gemini.parse_response(sdk_dump(load("response_thinking_function_call")))
    assert sdk.output_tool_calls == rest.output_tool_calls
    assert sdk.output_messages == rest.output_messages
    assert sdk.finish_reason == "STOP"
    assert (sdk.model_name, sdk.response_id, sdk.reasoning_text) == (
        rest.model_name,
        rest.response_id,
        rest.reasoning_text,
    )
    assert sdk.usage is not None
    assert rest.usage is not None
    assert (sdk.usage.input_tokens, sdk.usage.output_tokens, sdk.usage.total_tokens) == (38, 509, 547)
    assert sdk.usage.reasoning_tokens == rest.usage.reasoning_tokens == 501


def test_inline_data_output_is_kept_as_media_part() -> None:
    """An inlineData part (e.g. a generated image) becomes an image part with its base64 data."""
    payload = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}],
                }
            }
        ]
    }
    (message,) = gemini.parse_response(payload).output_messages
    assert message.parts == [LLMContentPart(type="image", mime_type="image/png", base64_data="iVBORw0KGgo=")]


def test_malformed_part_is_reported_and_the_rest_kept(load: Callable[[str], Any]) -> None:
    """A functionCall whose name is not a string is noted; the thought part and usage survive."""
    payload = copy.deepcopy(load("response_thinking_function_call"))
    payload["candidates"][0]["content"]["parts"][1]["functionCall"]["name"] = 5
    parts = gemini.parse_response(payload)
    assert parts.outcome == "error"
    assert parts.error == {
        "type": "malformed_payload",
        "path": "candidates[0].content.parts[1].functionCall.name",
        "message": "candidates[0].content.parts[1].functionCall.name: expected a string (got 5)",
    }
    assert parts.output_tool_calls == []
    assert parts.reasoning_text is not None
    assert parts.usage is not None
    assert parts.usage.total_tokens == 547


def test_malformed_usage_is_reported_and_content_kept(load: Callable[[str], Any]) -> None:
    """A token count sent as text is refused (input None, the text kept in raw) and named; the
    other counts and the answer are kept."""
    payload = copy.deepcopy(load("response_implicit_caching"))
    payload["usageMetadata"]["promptTokenCount"] = "12013"
    parts = gemini.parse_response(payload)
    assert parts.usage is not None
    assert (parts.usage.input_tokens, parts.usage.output_tokens, parts.usage.total_tokens) == (
        None,
        88,
        12101,
    )
    assert parts.usage.raw is not None
    assert parts.usage.raw["promptTokenCount"] == "12013"
    assert parts.error is not None
    assert parts.error["path"] == "usageMetadata.promptTokenCount"
    assert parts.outcome == "error"
    assert parts.output_text == "Red Riding Hood is looking for **directions** in the forest."


# ---------------------------------------------------------------------------------------------
# Streams


def test_text_stream_concatenates_and_takes_last_usage(load: Callable[[str], Any]) -> None:
    """Every chunk carries text (content); usage is the last cumulative snapshot, not a sum."""
    kinds, state = fold(load("stream_text"))
    assert kinds == ["content", "content", "content"]
    parts = gemini.finish_stream(state)
    assert parts.output_text == "The capital of Wyoming is **Cheyenne**.\n"
    assert parts.output_messages[0].parts == [
        LLMContentPart(type="text", text="The capital of Wyoming is **Cheyenne**.\n")
    ]
    assert parts.finish_reason == "STOP"
    assert parts.outcome == "success"
    assert parts.model_name == "gemini-3.1-flash-lite"
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, 10, 17)


def test_thinking_stream_keeps_thoughts_apart(load: Callable[[str], Any]) -> None:
    """Thought summaries merge into one reasoning part, answer text into one text part."""
    chunks = load("stream_thinking")
    kinds, state = fold(chunks)
    assert kinds == ["content"] * 5
    texts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks]
    parts = gemini.finish_stream(state)
    assert parts.reasoning_text == "".join(texts[:3])
    assert parts.output_text == "".join(texts[3:])
    assert [p.type for p in parts.output_messages[0].parts] == ["thinking", "text"]
    assert parts.response_id == "0J-HaJetAqv0jrEPwu-tsQ0"
    usage = parts.usage
    assert usage is not None
    assert usage.input_tokens == 10
    assert usage.output_tokens == 48 + 540 == 588
    assert usage.reasoning_tokens == 540
    assert usage.total_tokens == 598


def test_thinking_stream_with_signed_function_call(load: Callable[[str], Any]) -> None:
    """A functionCall chunk is content; the call keeps its thoughtSignature; no visible text."""
    chunks = load("stream_thinking_function_call")
    kinds, state = fold(chunks)
    assert kinds == ["content", "content", "content"]
    parts = gemini.finish_stream(state)
    signature = chunks[2]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert parts.output_tool_calls == [
        ToolCallSpec(
            name="now", arguments_json="{}", arguments={}, index=0, metadata={"thought_signature": signature}
        )
    ]
    assert parts.output_text is None
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (38, 6 + 168, 212)


def test_stream_blocked_midway_is_an_error_keeping_text(load: Callable[[str], Any]) -> None:
    """A closing promptFeedback.blockReason chunk is kind error; the streamed text is kept."""
    kinds, state = fold(load("stream_prompt_blocked"))
    assert kinds == ["content", "content", "content", "error"]
    parts = gemini.finish_stream(state)
    assert parts.outcome == "error"
    assert parts.error is not None
    assert parts.error["block_reason"] == "SAFETY"
    assert parts.output_text == "text1text2text3"
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, None, 7)


def test_stream_without_finish_reason_is_incomplete(load: Callable[[str], Any]) -> None:
    """A stream cut before any finishReason is incomplete, with the text and usage so far."""
    _, state = fold(load("stream_text")[:2])
    parts = gemini.finish_stream(state)
    assert parts.outcome == "incomplete"
    assert parts.error is None
    assert parts.output_text == "The capital of Wyoming"
    assert parts.finish_reason is None
    usage = parts.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, None, 7)


def test_chunk_kinds_for_finish_only_and_usage_only_chunks(load: Callable[[str], Any]) -> None:
    """A chunk with only finishReason is done, one with only usage is usage, an empty one is meta."""
    chunks = [
        text_chunk("Hi"),
        {"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}}]},
        {"candidates": [{"finishReason": "STOP"}]},
        {"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4}},
    ]
    kinds, state = fold(chunks)
    assert kinds == ["content", "meta", "done", "usage"]
    parts = gemini.finish_stream(state)
    assert parts.output_text == "Hi"
    assert parts.outcome == "success"
    assert parts.usage is not None
    assert parts.usage.total_tokens == 4


def test_unicode_split_across_chunks_is_rejoined_exactly() -> None:
    """Emoji + variation selector split over chunks, and UTF-16 halves sent as escapes, rejoin."""
    halves = json.loads('["\\ud83c", "\\udf26"]')
    pieces = ["Zü", "rich 🌦", "\ufe0f 天", "气 ", *halves]
    kinds, state = fold([text_chunk(p) for p in pieces] + [{"candidates": [{"finishReason": "STOP"}]}])
    assert kinds == ["content"] * 6 + ["done"]
    assert gemini.finish_stream(state).output_text == "Zürich 🌦\ufe0f 天气 🌦"


def test_malformed_chunk_part_is_noted_and_other_chunks_kept(load: Callable[[str], Any]) -> None:
    """A part that is not an object is noted in `error`; the other chunks' text is kept."""
    chunks = copy.deepcopy(load("stream_text"))
    chunks[1]["candidates"][0]["content"]["parts"][0] = "oops"
    _, state = fold(chunks)
    parts = gemini.finish_stream(state)
    assert parts.output_text == "The is **Cheyenne**.\n"
    assert parts.outcome == "error"
    assert parts.error is not None
    assert parts.error["path"] == "candidates[0].content.parts[0]"


def test_google_error_chunk_ends_the_stream_as_error() -> None:
    """An error body mid-stream is kind error; outcome error keeps the status and message."""
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    kinds, state = fold([text_chunk("Par"), error])
    assert kinds == ["content", "error"]
    parts = gemini.finish_stream(state)
    assert parts.outcome == "error"
    assert parts.error == {"type": "UNAVAILABLE", "message": "The model is overloaded.", "code": 503}
    assert parts.output_text == "Par"


# ---------------------------------------------------------------------------------------------
# Requests


def test_rest_request_with_function_calling(load: Callable[[str], Any]) -> None:
    """systemInstruction, a functionCall turn, a functionResponse, tools, toolConfig and config map."""
    request = load("request_function_calling")
    req = gemini.parse_request(request)
    system, user, model, tool = req.input_messages
    assert system == LLMMessage(
        role="system", parts=[LLMContentPart(type="text", text="You are a cat. Your name is Neko.")]
    )
    assert user == LLMMessage(
        role="user", parts=[LLMContentPart(type="text", text="Turn the lights down to a romantic level")]
    )
    assert model == LLMMessage(
        role="assistant",
        tool_calls=[
            ToolCallSpec(
                name="set_light_values",
                arguments_json='{"brightness":25,"color_temp":"warm"}',
                arguments={"brightness": 25, "color_temp": "warm"},
                index=0,
            )
        ],
    )
    assert tool == LLMMessage(
        role="user",
        parts=[
            LLMContentPart(
                type="tool_result",
                data={
                    "name": "set_light_values",
                    "response": {"result": {"brightness": 25, "colorTemperature": "warm"}},
                },
            )
        ],
    )
    decl = request["tools"][0]["functionDeclarations"][0]
    assert req.tools == [
        ToolDefinition(name=decl["name"], description=decl["description"], parameters=decl["parameters"])
    ]
    assert req.tool_choice == {"mode": "ANY", "allowedFunctionNames": ["set_light_values"]}
    params = req.request_params
    assert params.tool_config == request["toolConfig"]
    assert (params.temperature, params.top_p, params.top_k, params.max_tokens) == (1.0, 0.8, 10, 800)
    assert params.stop == ["Title"]
    assert params.thinking_budget_tokens == 1024
    assert params.raw_params == {"thinkingConfig": {"thinkingBudget": 1024}}
    assert req.model_name is None


def test_multimodal_request_keeps_inline_and_file_data(load: Callable[[str], Any]) -> None:
    """inline_data and file_data parts keep data, URI and MIME type; JSON mode and schema are read."""
    request = load("request_multimodal")
    req = gemini.parse_request(request)
    (user,) = req.input_messages
    assert user.parts == [
        LLMContentPart(type="image", mime_type="image/jpeg", base64_data="/9j/4AAQSkZJRg..."),
        LLMContentPart(
            type="video",
            mime_type="video/mp4",
            uri="https://generativelanguage.googleapis.com/v1beta/files/abc-123",
        ),
        LLMContentPart(type="text", text="Caption this image."),
    ]
    params = req.request_params
    assert params.response_format == {
        "mime_type": "application/json",
        "schema": request["generationConfig"]["responseSchema"],
    }
    assert params.json_mode is True
    assert (params.n, params.seed) == (2, 42)
    assert params.raw_params == {}


def test_sdk_kwargs_request_reads_config_and_string_contents(load: Callable[[str], Any]) -> None:
    """google-genai kwargs: string contents, config.system_instruction and thinking_config are read."""
    req = gemini.parse_request(load("request_sdk_kwargs"))
    assert req.model_name == "gemini-2.5-flash"
    assert req.input_messages == [
        LLMMessage(
            role="system", parts=[LLMContentPart(type="text", text="You are a cat. Your name is Neko.")]
        ),
        LLMMessage(role="user", parts=[LLMContentPart(type="text", text="How does AI work?")]),
    ]
    params = req.request_params
    assert params.temperature == 0.1
    assert params.thinking_budget_tokens == 0
    assert params.raw_params == {"thinking_config": {"thinking_budget": 0}}


def test_request_with_unknown_role_raises_payload_problem() -> None:
    """A content role Gemini does not know raises PayloadProblem naming the path."""
    with pytest.raises(PayloadProblem, match=r"contents\[0\]\.role: expected 'user' or 'model'"):
        gemini.parse_request({"contents": [{"role": "robot", "parts": [{"text": "hi"}]}]})


# ---------------------------------------------------------------------------------------------
# End to end through the recorder


def test_record_from_response_snapshot(load: Callable[[str], Any], snapshot: Any) -> None:
    """The implicit-caching response with SDK kwargs as request gives the snapshotted record."""
    record = tk.record_from_response(
        load("response_implicit_caching"),
        request=load("request_sdk_kwargs"),
        started_at=at(0),
        completed_at=at(640.25),
        call_id="call-gemini-1",
    )
    assert (record.provider, record.api_type) == ("google", "generate_content")
    assert record.to_dict() == snapshot


@pytest.mark.parametrize(
    "name", ["stream_thinking", "stream_thinking_function_call", "stream_prompt_blocked"]
)
def test_record_from_stream_snapshot(name: str, load: Callable[[str], Any], snapshot: Any) -> None:
    """Each recorded stream, chunks 100 ms apart after a 0.5 s wait, gives the snapshotted record."""
    chunks = load(name)
    received = [0.5 + 0.1 * i for i in range(len(chunks))]
    record = tk.record_from_stream(chunks, started_at=0.0, received_at=received, call_id=f"call-{name}")
    assert record.chunks is not None
    assert [c.metadata["kind"] for c in record.chunks] == fold(chunks)[0]
    assert record.to_dict() == snapshot


def test_record_from_stream_timing(load: Callable[[str], Any]) -> None:
    """TTFT is the first chunk (0.5 s); decode spans to the last; tpot divides by output - 1."""
    chunks = load("stream_thinking")
    received = [0.5 + 0.1 * i for i in range(len(chunks))]
    record = tk.record_from_stream(chunks, started_at=0.0, received_at=received, call_id="c")
    assert record.timing is not None
    assert record.timing.ttft_ms == 500.0
    assert record.timing.decode_ms == 400.0
    assert record.timing.tpot_ms == round(400.0 / 587, 6)
    assert record.timing.chunk_count == 5


def _resplit(chunks: list[dict[str, Any]], cuts: list[int]) -> list[dict[str, Any]]:
    """The stream's thought and answer texts re-split at `cuts` (per-mille positions), one piece per
    chunk; the last chunk keeps the original finishReason and usage."""
    texts: dict[bool, str] = {True: "", False: ""}
    for chunk in chunks:
        for sent in chunk["candidates"][0]["content"]["parts"]:
            texts[sent.get("thought") is True] += sent["text"]
    meta = {"modelVersion": chunks[-1]["modelVersion"], "responseId": chunks[-1]["responseId"]}
    out: list[dict[str, Any]] = []
    for thought in (True, False):
        whole = texts[thought]
        bounds = sorted({0, len(whole), *(c * len(whole) // 1000 for c in cuts)})
        for lo, hi in itertools.pairwise(bounds):
            part: dict[str, Any] = {"text": whole[lo:hi]}
            if thought:
                part["thought"] = True
            out.append({"candidates": [{"content": {"parts": [part], "role": "model"}, "index": 0}], **meta})
    out[-1]["candidates"][0]["finishReason"] = "STOP"
    out[-1]["usageMetadata"] = chunks[-1]["usageMetadata"]
    return out


@settings(deadline=None, max_examples=60)
@given(cuts=st.lists(st.integers(min_value=0, max_value=1000), max_size=12))
def test_resplitting_text_gives_the_same_record(load_fixture: Load, cuts: list[int]) -> None:
    """Re-splitting thought and answer text at other chunk boundaries yields the same record."""
    chunks = load_fixture("gemini", "stream_thinking")
    expected = without_chunks(tk.record_from_stream(chunks, call_id="c"))
    assert without_chunks(tk.record_from_stream(_resplit(chunks, cuts), call_id="c")) == expected


def test_sdk_response_object_gives_a_storable_record(load: Callable[[str], Any]) -> None:
    """A google-genai response object (snake_case, bytes, enums) gives the REST payload's numbers
    and a record that serialises to JSON."""
    rest = tk.record_from_response(load("response_thinking_function_call"), call_id="c")
    sdk = tk.record_from_response(SdkObject(sdk_dump(load("response_thinking_function_call"))), call_id="c")
    assert (sdk.provider, sdk.api_type, sdk.model_name) == ("google", "generate_content", "gemini-2.5-pro")
    assert sdk.output_tool_calls == rest.output_tool_calls
    assert sdk.finish_reason == "STOP"
    assert sdk.usage is not None
    assert (sdk.usage.input_tokens, sdk.usage.output_tokens, sdk.usage.total_tokens) == (38, 509, 547)
    assert json.loads(sdk.to_json())["output_tool_calls"][0]["metadata"] == {
        "thought_signature": load("response_thinking_function_call")["candidates"][0]["content"]["parts"][1][
            "thoughtSignature"
        ]
    }


def test_request_built_from_sdk_objects() -> None:
    """types.Content items and a GenerateContentConfig object inside the kwargs are read via model_dump."""
    request = {
        "model": "gemini-2.5-flash",
        "contents": [SdkObject({"role": "user", "parts": [{"text": "Hello there"}]})],
        "config": SdkObject({"system_instruction": "You are a cat. Your name is Neko.", "temperature": 0.2}),
    }
    req = gemini.parse_request(request)
    assert req.input_messages == [
        LLMMessage(
            role="system", parts=[LLMContentPart(type="text", text="You are a cat. Your name is Neko.")]
        ),
        LLMMessage(role="user", parts=[LLMContentPart(type="text", text="Hello there")]),
    ]
    assert req.request_params.temperature == 0.2


def test_built_in_tools_are_kept_as_their_own_tool_type() -> None:
    """googleSearch / codeExecution tools become definitions named and typed by their key."""
    req = gemini.parse_request(
        {"contents": "Who won Euro 2024?", "tools": [{"googleSearch": {}}, {"codeExecution": {}}]}
    )
    assert req.tools == [
        ToolDefinition(name="googleSearch", type="googleSearch", raw={"googleSearch": {}}),
        ToolDefinition(name="codeExecution", type="codeExecution", raw={"codeExecution": {}}),
    ]


def test_sdk_http_options_are_not_stored() -> None:
    """config.http_options (transport, may hold headers) stays out of the record."""
    request = {
        "contents": "Hi",
        "config": {"http_options": {"headers": {"x-goog-api-key": "secret"}}, "safety_settings": []},
    }
    candidate = {"content": {"role": "model", "parts": [{"text": "Hi"}]}, "finishReason": "STOP"}
    response = {"candidates": [candidate]}
    record = tk.record_from_response(response, request=request, call_id="c1")
    assert record.request_params.raw_params == {"safety_settings": []}
    assert "secret" not in record.to_json()


# ---------------------------------------------------------------------------------------------
# Vertex AI streamed function-call arguments (partialArgs)


def test_partial_args_are_assembled_into_the_call(load: Callable[[str], Any]) -> None:
    """A call opened with willContinue, fed partialArgs (a string in two pieces) and closed by an
    empty functionCall gives one tool call with the assembled arguments and no problem."""
    record = tk.record_from_stream(load("stream_partial_args"), call_id="c")
    assert record.output_tool_calls == [
        tk.ToolCallSpec(
            name="set_light_values",
            arguments_json='{"brightness":50,"color_temp":"daylight"}',
            arguments={"brightness": 50, "color_temp": "daylight"},
            index=0,
        )
    ]
    assert (record.outcome, record.error, record.finish_reason) == ("success", None, "STOP")
    assert record.chunks is not None
    assert [c.metadata["kind"] for c in record.chunks] == ["content"] * 5


def _partial(*args: dict[str, Any], name: str | None = None, more: bool = True) -> dict[str, Any]:
    call: dict[str, Any] = {"partialArgs": list(args)} if args else {}
    if name is not None:
        call["name"] = name
    if more:
        call["willContinue"] = True
    return {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": call}]}}]}


def test_partial_args_build_nested_objects_and_arrays() -> None:
    """JSON paths with members, indexes and quoted names build nested arguments of every value kind."""
    chunks = [
        _partial(name="plan"),
        _partial(
            {"jsonPath": "$.stops[1].city", "stringValue": "Ber", "willContinue": True},
            {"jsonPath": "$.stops[0].city", "stringValue": "Paris"},
        ),
        _partial({"jsonPath": "$.stops[1].city", "stringValue": "lin"}),
        _partial(
            {"jsonPath": "$['two words']", "boolValue": False},
            {"jsonPath": "$.note", "nullValue": "NULL_VALUE"},
        ),
        _partial({"jsonPath": "$.ratio", "numberValue": 0.25}),
        {**_partial(more=False), "usageMetadata": {"promptTokenCount": 3}},
    ]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    record = tk.record_from_stream(chunks)
    assert record.error is None
    assert record.output_tool_calls[0].arguments == {
        "stops": [{"city": "Paris"}, {"city": "Berlin"}],
        "two words": False,
        "note": None,
        "ratio": 0.25,
    }


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ({"jsonPath": "location", "stringValue": "x"}, "jsonPath must start with '$'"),
        ({"jsonPath": "$[0]", "stringValue": "x"}, "jsonPath must name an argument (e.g. '$.location')"),
        ({"jsonPath": "$.a", "numberValue": "5"}, "expected a number"),
        ({"jsonPath": "$.a"}, "PartialArg without a value"),
    ],
)
def test_malformed_partial_args_are_named(arg: dict[str, Any], message: str) -> None:
    """A PartialArg that cannot be placed is named in `error`; the call keeps what was readable."""
    chunks = [
        _partial(name="f"),
        _partial({"jsonPath": "$.ok", "boolValue": True}),
        _partial(arg),
        _partial(more=False),
    ]
    record = tk.record_from_stream(chunks)
    assert record.outcome == "error"
    assert record.error is not None
    assert record.error["path"].startswith("candidates[0].content.parts[0].functionCall.partialArgs[0]")
    assert message in record.error["message"]
    assert record.output_tool_calls[0].arguments == {"ok": True}
