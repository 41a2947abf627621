"""The recorded multi-agent run `tracekit demo` replays: sessions, agents, calls, tools, rewards.

Every LLM answer is a bundled vendor payload (tracekit/demo/payloads/, provenance in PROVENANCE.md);
this module only says which agent sends which request, in which order, and how long the vendor
took. Tests build their expected numbers from the same payloads through `load_payload`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

__all__ = [
    "EXPERIMENT",
    "SESSIONS",
    "Call",
    "Reward",
    "Session",
    "ToolRun",
    "Turn",
    "load_payload",
]

EXPERIMENT = "tracekit-demo"
"""The experiment every demo session is linked to (`--fresh` deletes its sessions)."""

Api = Literal["chat", "responses", "messages", "generate_content"]


def load_payload(name: str) -> Any:
    """The bundled payload `name` ("<vendor>/<file>" without .json): a dict, or a list of stream chunks."""
    path = resources.files("tracekit.demo") / "payloads" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A tool the agent runs after a call asked for it: the call id, and its result (or failure)."""

    name: str
    call_id: str | None
    result: Any = None
    fails_with: str | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """One LLM call: who sends what to which API, the payload that answers, and how long it takes.

    `latency_s` is the vendor's time to the full answer (non-streamed) or to the first chunk
    (streamed); `chunk_gap_s` the time between chunks. `cut_after` stops reading a stream after
    that many chunks; `fails` marks a call whose answer is an error (the agent catches it).
    """

    agent: str
    api: Api
    model: str
    prompt: str
    payload: str
    stream: bool = False
    latency_s: float = 0.5
    chunk_gap_s: float = 0.03
    cut_after: int | None = None
    fails: bool = False
    tools: tuple[str, ...] = ()
    tool_runs: tuple[ToolRun, ...] = ()


@dataclass(frozen=True, slots=True)
class Reward:
    """The environment's reward for a turn."""

    value: float
    reason: str


@dataclass(frozen=True, slots=True)
class Turn:
    """One timestep: its calls in order, then the environment's reward."""

    calls: tuple[Call, ...]
    reward: Reward


@dataclass(frozen=True, slots=True)
class Session:
    """One episode: a task, its turns and the outcome reward."""

    task: str
    turns: tuple[Turn, ...]
    outcome_reward: float
    metadata: dict[str, Any] = field(default_factory=dict)


_WEATHER_TOOLS = ("get_weather", "send_email")

SESSIONS: tuple[Session, ...] = (
    Session(
        task="trip-planning",
        metadata={"task": "trip-planning", "difficulty": "easy"},
        outcome_reward=1.0,
        turns=(
            Turn(
                calls=(
                    Call(
                        agent="planner",
                        api="chat",
                        model="gpt-4o-mini",
                        payload="openai_chat/response_parallel_tools",
                        prompt="What's the weather like in Paris and Bogotá today? "
                        "Email the summary to bob@email.com.",
                        latency_s=0.54,
                        tools=_WEATHER_TOOLS,
                        tool_runs=(
                            ToolRun(
                                "get_weather", "call_12345xyz", {"location": "Paris, France", "temp_c": 14}
                            ),
                            ToolRun(
                                "get_weather", "call_67890abc", {"location": "Bogotá, Colombia", "temp_c": 19}
                            ),
                            ToolRun(
                                "send_email", "call_99999def", fails_with="SMTP relay refused the connection"
                            ),
                        ),
                    ),
                    Call(
                        agent="researcher",
                        api="messages",
                        model="claude-opus-4-7",
                        payload="anthropic/response_tool_use",
                        prompt="What is the weather like in San Francisco?",
                        latency_s=0.66,
                        tools=("get_weather",),
                        tool_runs=(
                            ToolRun(
                                "get_weather",
                                "toolu_01A09q90qw90lq917835lq9",
                                {"location": "San Francisco, CA", "temp_f": 59},
                            ),
                        ),
                    ),
                ),
                reward=Reward(0.5, "two of three tool calls succeeded"),
            ),
            Turn(
                calls=(
                    Call(
                        agent="researcher",
                        api="messages",
                        model="claude-3-opus-latest",
                        payload="anthropic/stream_text",
                        prompt="Say hello.",
                        stream=True,
                        latency_s=0.27,
                        chunk_gap_s=0.04,
                    ),
                    Call(
                        agent="writer",
                        api="generate_content",
                        model="gemini-3.1-flash-lite",
                        payload="gemini/stream_text",
                        prompt="Write a one-line trip summary.",
                        stream=True,
                        latency_s=0.21,
                        chunk_gap_s=0.08,
                    ),
                ),
                reward=Reward(1.0, "summary delivered"),
            ),
        ),
    ),
    Session(
        task="weather-report",
        metadata={"task": "weather-report", "difficulty": "medium"},
        outcome_reward=0.0,
        turns=(
            Turn(
                calls=(
                    Call(
                        agent="analyst",
                        api="responses",
                        model="gpt-4.1",
                        payload="openai_responses/response_function_call",
                        prompt="What is the weather like in Paris and Bogotá?",
                        latency_s=0.48,
                        tools=("get_weather",),
                        tool_runs=(
                            ToolRun(
                                "get_weather", "call_12345xyz", {"location": "Paris, France", "temp_c": 14}
                            ),
                            ToolRun(
                                "get_weather", "call_67890abc", {"location": "Bogotá, Colombia", "temp_c": 19}
                            ),
                        ),
                    ),
                    Call(
                        agent="analyst",
                        api="responses",
                        model="o4-mini",
                        payload="openai_responses/stream_function_call",
                        prompt="What's the weather in Paris?",
                        stream=True,
                        latency_s=0.42,
                        chunk_gap_s=0.02,
                        tools=("get_weather",),
                        tool_runs=(
                            ToolRun(
                                "get_weather",
                                "call_Ff2Ys3Ah2bL6Tc2kqZJm1G9X",
                                {"location": "Paris, France", "temp_c": 14},
                            ),
                        ),
                    ),
                ),
                reward=Reward(1.0, "forecast gathered"),
            ),
            Turn(
                calls=(
                    Call(
                        agent="critic",
                        api="messages",
                        model="claude-sonnet-4-6",
                        payload="anthropic/stream_thinking",
                        prompt="Are there an infinite number of prime numbers such that n mod 4 == 3?",
                        stream=True,
                        latency_s=0.36,
                        chunk_gap_s=0.05,
                    ),
                    Call(
                        agent="scheduler",
                        api="generate_content",
                        model="gemini-2.5-pro",
                        payload="gemini/response_thinking_function_call",
                        prompt="How many days until New Year's Eve?",
                        latency_s=0.78,
                        tools=("now",),
                        tool_runs=(ToolRun("now", None, {"now": "2026-12-01T20:00:00Z"}),),
                    ),
                    Call(
                        agent="critic",
                        api="messages",
                        model="claude-3-opus-latest",
                        payload="anthropic/stream_error",
                        prompt="Review the report.",
                        stream=True,
                        latency_s=0.3,
                        chunk_gap_s=0.05,
                        fails=True,
                    ),
                ),
                reward=Reward(0.0, "the review failed: the vendor was overloaded"),
            ),
        ),
    ),
    Session(
        task="support-desk",
        metadata={"task": "support-desk", "difficulty": "hard"},
        outcome_reward=0.5,
        turns=(
            Turn(
                calls=(
                    Call(
                        agent="planner",
                        api="chat",
                        model="gpt-4o",
                        payload="openai_chat/stream_tool_calls",
                        prompt="What's the weather like in Paris and Bogotá today?",
                        stream=True,
                        latency_s=0.33,
                        chunk_gap_s=0.03,
                        tools=("get_weather",),
                        tool_runs=(
                            ToolRun(
                                "get_weather", "call_12345xyz", {"location": "Paris, France", "temp_c": 14}
                            ),
                            ToolRun(
                                "get_weather", "call_67890abc", {"location": "Bogotá, Colombia", "temp_c": 19}
                            ),
                        ),
                    ),
                    Call(
                        agent="planner",
                        api="chat",
                        model="gpt-4o",
                        payload="openai_chat/stream_text_usage",
                        prompt="Draft the answer to the customer.",
                        stream=True,
                        latency_s=0.24,
                        chunk_gap_s=0.06,
                        cut_after=3,
                    ),
                ),
                reward=Reward(0.5, "draft stopped early by the user"),
            ),
            Turn(
                calls=(
                    Call(
                        agent="summarizer",
                        api="generate_content",
                        model="gemini-2.5-flash",
                        payload="gemini/response_implicit_caching",
                        prompt="Summarise the ticket history.",
                        latency_s=0.54,
                    ),
                    Call(
                        agent="analyst",
                        api="chat",
                        model="o3-mini",
                        payload="openai_chat/response_cached_reasoning",
                        prompt="Classify the ticket.",
                        latency_s=0.84,
                    ),
                    Call(
                        agent="analyst",
                        api="responses",
                        model="o4-mini",
                        payload="openai_responses/response_reasoning",
                        prompt="Decide whether to escalate.",
                        latency_s=0.96,
                    ),
                    Call(
                        agent="summarizer",
                        api="generate_content",
                        model="gemini-2.0-flash",
                        payload="gemini/response_parallel_calls",
                        prompt="Compute 2+1, 4*3 and 6-5.",
                        latency_s=0.3,
                        tools=("sum", "multiply", "subtract"),
                        tool_runs=(
                            ToolRun("sum", None, 3),
                            ToolRun("multiply", None, 12),
                            ToolRun("subtract", None, 1),
                        ),
                    ),
                    Call(
                        agent="writer",
                        api="messages",
                        model="claude-3-5-sonnet-20240620",
                        payload="anthropic/response_prompt_cached",
                        prompt="Write the final reply.",
                        latency_s=0.72,
                    ),
                    Call(
                        agent="writer",
                        api="responses",
                        model="gpt-4.1",
                        payload="openai_responses/stream_text",
                        prompt="Tell me a three sentence bedtime story about a unicorn.",
                        stream=True,
                        latency_s=0.3,
                        chunk_gap_s=0.04,
                    ),
                ),
                reward=Reward(0.75, "escalation decided, reply sent"),
            ),
        ),
    ),
)
"""Three sessions, six agents, four vendor APIs: streamed and not, tool calls (one failing),
environment rewards, one failed call and one stream cut short."""
