"""Vertex AI streamed function-call arguments (`functionCall.partialArgs`) assembled into `args`.

With `toolConfig.functionCallingConfig.streamFunctionCallArguments`, Vertex AI opens a call with
`{"name": ..., "willContinue": true}`, then sends parts whose functionCall holds only
`partialArgs`: each a `jsonPath` (RFC 9535, e.g. "$.location" or "$.stops[0].city") and one of
`stringValue` / `numberValue` / `boolValue` / `nullValue`. A string whose PartialArg says
`willContinue: true` goes on in the next PartialArg of the same path (the pieces concatenate).
An empty `functionCall: {}` (no willContinue) closes the call.
Sources: googleapis/googleapis `FunctionCall.partial_args` / `will_continue` and `PartialArg`
(commit 286c66a), the google-genai `PartialArg` reference, vercel/ai PR #13929.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracekit.helpers._gemini_content import pick
from tracekit.helpers.base import PayloadProblem

__all__ = ["PartialCall", "is_partial_call"]

_STEP: Final = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")
_MAX_INDEX: Final = 100_000
"""Largest array index a path may name (a bigger one is a malformed payload, not an argument)."""
_VALUE_KEYS: Final = (
    ("stringValue", "string_value"),
    ("numberValue", "number_value"),
    ("boolValue", "bool_value"),
    ("nullValue", "null_value"),
)


def is_partial_call(call: Mapping[str, Any], open_call: bool) -> bool:
    """Whether a functionCall belongs to a streamed call: it opens or continues one
    (`willContinue`), carries `partialArgs`, or is the empty part closing an open one."""
    if pick(call, "partialArgs", "partial_args") is not None:
        return True
    if pick(call, "willContinue", "will_continue") is True:
        return True
    return open_call and call.get("name") is None and call.get("args") is None


def _steps(json_path: str, path: str) -> list[str | int]:
    """The keys and indexes of a JSON path such as `$.a.b[0]['c d']`."""
    if not json_path.startswith("$"):
        raise PayloadProblem(path, "jsonPath must start with '$'", json_path)
    steps: list[str | int] = []
    position = 1
    while position < len(json_path):
        match = _STEP.match(json_path, position)
        if match is None:
            raise PayloadProblem(path, "unreadable jsonPath", json_path)
        name, index, single, double = match.groups()
        if index is not None:
            number = int(index)
            if number > _MAX_INDEX:
                raise PayloadProblem(path, f"jsonPath index above {_MAX_INDEX}", json_path)
            steps.append(number)
        else:
            steps.append(name if name is not None else (single if single is not None else double))
        position = match.end()
    if not steps or type(steps[0]) is not str:
        raise PayloadProblem(path, "jsonPath must name an argument (e.g. '$.location')", json_path)
    return steps


def _value(arg: Mapping[str, Any], path: str) -> Any:
    for camel, snake in _VALUE_KEYS:
        if camel in arg or snake in arg:
            value = pick(arg, camel, snake)
            if camel == "nullValue":
                return None
            if camel == "stringValue" and type(value) is not str:
                raise PayloadProblem(f"{path}.{camel}", "expected a string", value)
            if camel == "boolValue" and type(value) is not bool:
                raise PayloadProblem(f"{path}.{camel}", "expected true or false", value)
            if camel == "numberValue":
                if type(value) not in (int, float):
                    raise PayloadProblem(f"{path}.{camel}", "expected a number", value)
                # a proto double: its JSON prints 50 for 50.0, and the SDK reads it back as 50.0
                if type(value) is float and value.is_integer() and abs(value) <= 2**53:
                    return int(value)
            return value
    raise PayloadProblem(path, "PartialArg without a value", arg)


@dataclass(slots=True)
class PartialCall:
    """One streamed call: its opening fields (name, id) and the arguments assembled so far."""

    call: dict[str, Any]
    args: dict[str, Any] = field(default_factory=dict)
    continuing: set[str] = field(default_factory=set)
    """JSON paths whose last string piece said willContinue (the next piece is appended)."""
    signature: Any = None
    open: bool = True

    def add(self, call: Mapping[str, Any], path: str) -> None:
        """Fold one functionCall of the stream: its name/id, its partialArgs, and whether it ends."""
        for key in ("name", "id"):
            if call.get(key) is not None and self.call.get(key) is None:
                self.call[key] = call[key]
        partial = pick(call, "partialArgs", "partial_args")
        if partial is not None:
            if type(partial) is not list:
                raise PayloadProblem(f"{path}.partialArgs", "expected a list", partial)
            for i, arg in enumerate(partial):
                self._apply(arg, f"{path}.partialArgs[{i}]")
        if pick(call, "willContinue", "will_continue") is not True:
            self.open = False

    def _apply(self, arg: Any, path: str) -> None:
        if not isinstance(arg, Mapping):
            raise PayloadProblem(path, "expected an object", arg)
        json_path = pick(arg, "jsonPath", "json_path")
        if type(json_path) is not str:
            raise PayloadProblem(f"{path}.jsonPath", "expected a string", json_path)
        steps = _steps(json_path, f"{path}.jsonPath")
        value = _value(arg, path)
        target: Any = self.args
        for step, after in itertools.pairwise(steps):
            target = _child(target, step, [] if type(after) is int else {})
        last = steps[-1]
        if json_path in self.continuing and type(value) is str:
            earlier = _get(target, last)
            if type(earlier) is str:
                value = earlier + value
        _put(target, last, value)
        if pick(arg, "willContinue", "will_continue") is True:
            self.continuing.add(json_path)
        else:
            self.continuing.discard(json_path)

    def part(self) -> dict[str, Any]:
        """The call as a complete response part would hold it (`functionCall` with `args`)."""
        rebuilt: dict[str, Any] = {"functionCall": {**self.call, "args": self.args}}
        if self.signature is not None:
            rebuilt["thoughtSignature"] = self.signature
        return rebuilt


def _get(container: Any, step: str | int) -> Any:
    if type(step) is int:
        return container[step] if step < len(container) else None
    return container.get(step)


def _put(container: Any, step: str | int, value: Any) -> None:
    if type(step) is int:
        while len(container) <= step:
            container.append(None)
    container[step] = value


def _child(container: Any, step: str | int, empty: dict[str, Any] | list[Any]) -> Any:
    """The dict/list under `step`, made (of the kind the next step needs) when missing."""
    current = _get(container, step)
    if type(current) is not type(empty):
        _put(container, step, empty)
        return empty
    return current
