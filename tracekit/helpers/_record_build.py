"""LLMCallRecord built from the normaliser's own values without the keyword call: generated
straight-line code that stores each field in its slot, exactly as the dataclass `__init__` does.

The record's `__init__` checks nothing (no `__post_init__`), so storing the same values in the same
order with the same defaults (factories called afresh) gives an equal object; it only spends its
time matching ~20 keyword arguments against 38 parameters. Should the class ever gain a
`__post_init__`, an init-less field or an InitVar (which needs a `__post_init__`), the builder is
the class's own constructor instead (same result, no speed-up).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from tracekit.model import LLMCallRecord

__all__ = ["record_builder"]


def _plain_init(cls: type) -> bool:
    """Whether `cls.__init__` is the dataclass's own: every field stored as given or defaulted."""
    if hasattr(cls, "__post_init__"):
        return False
    return all(f.init for f in dataclasses.fields(cls))


def record_builder(names: Sequence[str]) -> Callable[..., LLMCallRecord]:
    """A function taking the values of `names` positionally and returning the LLMCallRecord that
    `LLMCallRecord(**dict(zip(names, values)))` returns."""
    fields = dataclasses.fields(LLMCallRecord)
    known = {f.name for f in fields}
    if len(set(names)) != len(names) or not set(names) <= known:
        raise ValueError(f"record_builder: {list(names)!r} are not distinct LLMCallRecord fields")
    params = ", ".join(names)
    if not _plain_init(LLMCallRecord):
        keywords = ", ".join(f"{n}={n}" for n in names)
        source = f"def build({params}):\n    return cls({keywords})\n"
        namespace: dict[str, Any] = {"cls": LLMCallRecord}
    else:
        given = set(names)
        lines = [f"def build({params}):", "    record = new(cls)"]
        namespace = {"new": object.__new__, "cls": LLMCallRecord}
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
                raise ValueError(f"record_builder: required field {f.name!r} missing from {list(names)!r}")
        lines.append("    return record")
        source = "\n".join(lines) + "\n"
    # the source is generated from the dataclass's own field names, never from outside input
    exec(compile(source, f"<record_builder {params}>", "exec"), namespace)
    build: Callable[..., LLMCallRecord] = namespace["build"]
    return build
