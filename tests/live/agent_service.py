"""A small agent service, run as its own process by test_end_to_end.py.

It makes instrumented and decorated LLM calls (official SDK clients over the fake vendor
transport, replaying recorded fixtures) and runs traced tools, and streams what a real service
would send its client, one JSON message a line on stdout: agent messages carrying `llm_metrics`
packets, then a last message with its own aggregate per agent (the numbers to match).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from sdk_transport import VendorServer, openai_client
from trace_checks import load

import tracekit as tk


def send(message: dict[str, Any]) -> None:
    """One message on the stream to the client."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    openai_server = (
        VendorServer()
        .reply_json(load("openai_chat", "response_parallel_tools"))
        .reply_stream("openai_chat", load("openai_chat", "stream_text_usage"))
        .reply_json({"error": {"message": "overloaded", "type": "server_error"}}, status=500)
    )
    responses_server = (
        VendorServer()
        .reply_json(load("openai_responses", "response_reasoning"))
        .reply_json(load("openai_responses", "response_text"))
    )
    planner = tk.instrument(openai_client(openai_server), agent="planner")
    responses = openai_client(responses_server).responses

    @tk.trace_llm_call(agent="writer")
    def write(**request: Any) -> Any:
        return responses.create(**request)

    @tk.trace_tool()
    def get_weather(location: str) -> str:
        return f"sunny in {location}"

    tracer = tk.SessionTracer(strict=True)
    # the few lines a service adds: a packet per recorded LLM call, attached to its stream message
    tracer.add_hook(
        "event_recorded",
        lambda event, trace: [
            send(
                {"type": "agent_message", "agent": event.system_instance_id, "llm_metrics": tk.llm_metrics(r)}
            )
            for r in event.call_records
        ],
        event_types={"cais"},
    )
    hi = [{"role": "user", "content": "What's the weather in Paris?"}]
    with tracer.session(session_id="service") as trace:
        with tracer.timestep("turn-1", turn_number=1):
            reply = planner.chat.completions.create(model="gpt-4o-mini", messages=hi)
            for call in reply.choices[0].message.tool_calls:
                if call.function.name == "get_weather":
                    get_weather(json.loads(call.function.arguments)["location"], call_id=call.id)
            for _ in planner.chat.completions.create(model="gpt-4o", messages=hi, stream=True):
                pass
        with tracer.timestep("turn-2", turn_number=2):
            try:
                planner.chat.completions.create(model="gpt-4o", messages=hi)
            except Exception as exc:  # the vendor's 500: recorded as an error call, the agent goes on
                send({"type": "agent_message", "agent": "planner", "error": type(exc).__name__})
            write(model="o4-mini", input="Plan the trip.", reasoning={"effort": "high"})
            write(model="gpt-4.1", input="Write it up.")
    send({"type": "done", "aggregate": tk.aggregate([trace], by="agent").to_dict()})


if __name__ == "__main__":
    main()
