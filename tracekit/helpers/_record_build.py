"""LLMCallRecord (and the records inside it: usage, messages, content parts) built from the
normaliser's own values without the keyword call: generated straight-line code that stores each
field in its slot, exactly as the dataclass `__init__` does.

The model's `__init__` checks nothing (no `__post_init__`), so storing the same values in the same
order with the same defaults (factories called afresh) gives an equal object; it only spends its
time matching keyword arguments against the class's parameters (38 for a call record). Should a
class ever gain a `__post_init__`, an init-less field, an InitVar (which needs a `__post_init__`) or
`frozen=True`, its builder is the class's own constructor instead (same result, no speed-up).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tracekit.model import LLMCallRecord

__all__ = ["builder", "record_builder"]

T = TypeVar("T")


def _plain_init(cls: type) -> bool:
    """Whether `cls.__init__` is the dataclass's own: every field stored as given or defaulted, by
    plain attribute stores (not frozen)."""
    if hasattr(cls, "__post_init__"):
        return False
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or params.frozen:
        return False
    return all(f.init for f in dataclasses.fields(cls))


def record_builder(names: Sequence[str]) -> Callable[..., LLMCallRecord]:
    """A function taking the values of `names` positionally and returning the LLMCallRecord that
    `LLMCallRecord(**dict(zip(names, values)))` returns."""
    return _make(LLMCallRecord, names, "record_builder")


def builder(cls: type[T], names: Sequence[str]) -> Callable[..., T]:
    """A function taking the values of `names` positionally and returning the object that
    `cls(**dict(zip(names, values)))` returns; `cls` is a dataclass."""
    return _make(cls, names, "builder")


def _make(cls: type[T], names: Sequence[str], label: str) -> Callable[..., T]:
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # a dataclass, checked here at run time
    known = {f.name for f in fields}
    if len(set(names)) != len(names) or not set(names) <= known:
        raise ValueError(f"{label}: {list(names)!r} are not distinct {cls.__name__} fields")
    params = ", ".join(names)
    if not _plain_init(cls):
        keywords = ", ".join(f"{n}={n}" for n in names)
        source = f"def build({params}):\n    return cls({keywords})\n"
        namespace: dict[str, Any] = {"cls": cls}
    else:
        given = set(names)
        lines = [f"def build({params}):", "    record = new(cls)"]
        namespace = {"new": object.__new__, "cls": cls}
        for f in fields:
            if f.name in given:
                lines.append(f"    record.{f.name} = {f.name}")
            elif f.default_factory is not dataclasses.MISSING:
                namespace[f"factory_{f.name}"] = f.default_factory
                lines.append(f"    record.{f.name} = factory_{f.name}()")
            elif f.default is not dataclasses.MISSING:
                namespace[f"default_{f.name}"] = f.default
                lines.append(f"    record.{f.name} = default_{f.name}")
            else:
                raise ValueError(f"{label}: required field {f.name!r} missing from {list(names)!r}")
        lines.append("    return record")
        source = "\n".join(lines) + "\n"
    # the source is generated from the dataclass's own field names, never from outside input
    exec(compile(source, f"<builder {cls.__name__} {params}>", "exec"), namespace)
    build: Callable[..., T] = namespace["build"]
    return build
