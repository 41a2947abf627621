"""One call record -> one OpenAI fine-tuning example, for every vendor, from the real fixtures."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import tracekit as tk
from tracekit.sft import convert_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load(vendor: str, name: str) -> Any:
    """The parsed JSON of tests/fixtures/<vendor>/<name>.json."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def example(vendor: str, response: str, request: Any = None, **options: Any) -> dict[str, Any]:
    """The example for a fixture response (and request), asserting that one was made."""
    record = tk.record_from_response(load(vendor, response), request=request)
    converted = convert_record(record, **options)
    assert converted.reason is None
    assert converted.example is not None
    return converted.example


# The same conversation as each vendor's request takes it: system prompt, user turn, one tool
# call, its result. Every vendor must come out as SHARED_PREFIX below, exactly.
PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
RESULT = '{"temperature":"18C"}'
REQUESTS: dict[str, dict[str, Any]] = {
    "openai_chat": {
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": RESULT},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "description": "Current weather", "parameters": PARAMS},
            }
        ],
    },
    "openai_responses": {
        "model": "gpt-4.1",
        "instructions": "You are terse.",
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": RESULT},
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Current weather",
                "parameters": PARAMS,
            }
        ],
    },
    "anthropic": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": RESULT}],
            },
        ],
        "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": PARAMS}],
    },
    "gemini": {
        "system_instruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "get_weather", "response": {"temperature": "18C"}}}],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "get_weather", "description": "Current weather", "parameters": PARAMS}
                ]
            }
        ],
    },
}
SHARED_PREFIX = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
        "weight": 0,
    },
    {"role": "tool", "content": RESULT, "tool_call_id": "call_1"},
]
SHARED_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Current weather", "parameters": PARAMS},
    }
]
ANSWERS = {
    "openai_chat": ("response_basic", "Hello! How can I assist you today?"),
    "openai_responses": (
        "response_text",
        load("openai_responses", "response_text")["output"][0]["content"][0]["text"],
    ),
    "anthropic": ("response_text", "Hi! My name is Claude."),
    "gemini": ("response_implicit_caching", "Red Riding Hood is looking for **directions** in the forest."),
}


@pytest.mark.parametrize("vendor", sorted(REQUESTS))
def test_every_vendor_gives_the_same_shape(vendor: str) -> None:
    """The same conversation recorded from any vendor becomes the same example, line for line."""
    response, answer = ANSWERS[vendor]
    made = example(vendor, response, REQUESTS[vendor])
    assert made == {
        "messages": [*SHARED_PREFIX, {"role": "assistant", "content": answer}],
        "tools": SHARED_TOOLS,
    }


def test_openai_chat_parallel_tool_calls_keep_vendor_order() -> None:
    """An assistant turn with three tool calls keeps them, ids and raw arguments, in the vendor's order."""
    request = copy.deepcopy(REQUESTS["openai_chat"])
    request["messages"] = request["messages"][:2]
    made = example("openai_chat", "response_parallel_tools", request)
    assert made["messages"][-1] == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_12345xyz",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Paris, France"}'},
            },
            {
                "id": "call_67890abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Bogotá, Colombia"}'},
            },
            {
                "id": "call_99999def",
                "type": "function",
                "function": {"name": "send_email", "arguments": '{"to":"bob@email.com","body":"Hi bob"}'},
            },
        ],
    }
    assert made["messages"][:2] == SHARED_PREFIX[:2]


def test_anthropic_fixture_request_with_images_and_tool_result() -> None:
    """Anthropic's documented request: two system blocks, base64 and URL images, tool_use then tool_result."""
    made = example("anthropic", "response_text", load("anthropic", "request_tool_result"))
    request = load("anthropic", "request_tool_result")
    assert made["messages"] == [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": request["system"][0]["text"]},
                {"type": "text", "text": "<the entire contents of 'Pride and Prejudice'>"},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg..."}},
                {
                    "type": "image_url",
                    "image_url": {
                        "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
                    },
                },
                {"type": "text", "text": "What's the weather like in San Francisco?"},
            ],
        },
        {
            "role": "assistant",
            "content": "I'll check the current weather in San Francisco for you.",
            "tool_calls": [
                {
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"location":"San Francisco, CA","unit":"celsius"}',
                    },
                }
            ],
            "weight": 0,
        },
        {"role": "tool", "content": "15 degrees", "tool_call_id": "toolu_01A09q90qw90lq917835lq9"},
        {"role": "assistant", "content": "Hi! My name is Claude."},
    ]
    assert made["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather in a given location",
                "parameters": request["tools"][0]["input_schema"],
            },
        }
    ]


def test_gemini_calls_without_ids_get_ids_matched_by_name() -> None:
    """Gemini function calls carry no id: each gets call_<n>, and each response answers its call."""
    request = load("gemini", "request_function_calling")
    made = example("gemini", "response_parallel_calls", request)
    assert [m["role"] for m in made["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert made["messages"][3] == {
        "role": "tool",
        "content": '{"result":{"brightness":25,"colorTemperature":"warm"}}',
        "tool_call_id": "call_1",
    }
    assert made["messages"][-1] == {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "sum", "arguments": '{"y":1,"x":2}'}},
            {
                "id": "call_3",
                "type": "function",
                "function": {"name": "multiply", "arguments": '{"y":3,"x":4}'},
            },
            {
                "id": "call_4",
                "type": "function",
                "function": {"name": "subtract", "arguments": '{"y":5,"x":6}'},
            },
        ],
    }


def test_reasoning_is_dropped_or_kept_as_asked() -> None:
    """Reasoning summaries: dropped by default, a reasoning_content key, or inline <think> tags."""
    request = copy.deepcopy(REQUESTS["openai_responses"])
    request["input"] = request["input"][:1]
    summary = (
        "**Answering a simple question**\n\nI'm looking at a straightforward question: the capital of "
        "France is Paris.\n\n**Confirming the answer**\n\nParis it is."
    )
    answer = "The capital of France is Paris."
    dropped = example("openai_responses", "response_reasoning", request)
    field = example("openai_responses", "response_reasoning", request, reasoning="field")
    inline = example("openai_responses", "response_reasoning", request, reasoning="inline")
    assert dropped["messages"][-1] == {"role": "assistant", "content": answer}
    assert field["messages"][-1] == {"role": "assistant", "content": answer, "reasoning_content": summary}
    assert inline["messages"][-1] == {"role": "assistant", "content": f"<think>{summary}</think>{answer}"}


def test_train_on_all_leaves_earlier_turns_unweighted() -> None:
    """train_on='all' drops the weight 0 marking on earlier assistant turns."""
    made = example("openai_chat", "response_basic", REQUESTS["openai_chat"], train_on="all")
    assert "weight" not in made["messages"][2]
    assert made["messages"][2]["tool_calls"][0]["id"] == "call_1"


@pytest.mark.parametrize(
    ("vendor", "response", "edit", "reason"),
    [
        ("openai_chat", "response_refusal", None, "refusal"),
        ("openai_chat", "response_basic", lambda r: r["messages"].pop(2), "orphan_tool_result"),
        (
            "openai_responses",
            "response_text",
            lambda r: r["tools"].append({"type": "web_search_preview"}),
            "non_function_tool",
        ),
        (
            "openai_responses",
            "response_text",
            lambda r: r["input"].insert(
                0, {"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}
            ),
            "unsupported_content",
        ),
    ],
)
def test_what_the_format_cannot_hold_is_dropped_with_a_reason(
    vendor: str, response: str, edit: Any, reason: str
) -> None:
    """Refusals, tool results without a call, built-in tools and files are dropped, never approximated."""
    request = copy.deepcopy(REQUESTS[vendor])
    if edit is not None:
        edit(request)
    converted = convert_record(tk.record_from_response(load(vendor, response), request=request))
    assert (converted.example, converted.reason) == (None, reason)
    assert converted.orphan_tool_results == (1 if reason == "orphan_tool_result" else 0)


def test_failed_call_without_output_is_empty() -> None:
    """A call with no text and no tool calls gives no example (reason empty_output)."""
    record = tk.LLMCallRecord(call_id="c", api_type="chat_completions", outcome="error")
    assert convert_record(record).reason == "empty_output"


def test_several_text_parts_stay_separate_parts() -> None:
    """Several text parts become a list of text parts (no separator invented), for any role."""
    two = [tk.LLMContentPart(type="text", text="a"), tk.LLMContentPart(type="text", text="b")]
    record = tk.LLMCallRecord(
        call_id="c",
        api_type="messages",
        input_messages=[tk.LLMMessage(role="user", parts=two)],
        output_messages=[tk.LLMMessage(role="assistant", parts=two)],
        reasoning_text="hmm",
    )
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    made = convert_record(record, reasoning="inline").example
    assert made == {
        "messages": [
            {"role": "user", "content": parts},
            {"role": "assistant", "content": [{"type": "text", "text": "<think>hmm</think>"}, *parts]},
        ]
    }
