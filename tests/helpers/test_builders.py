"""The generated positional builders of the records inside a call (usage, messages, content parts)
give exactly the object their own constructors give; a class whose `__init__` is not plain (frozen,
with a `__post_init__`) is built by that constructor."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.helpers._record_build import builder
from tracekit.model import LLMContentPart, LLMMessage, LLMUsage

SETTINGS = settings(
    derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CLASSES = (LLMUsage, LLMMessage, LLMContentPart)
anything = (
    st.none() | st.text(max_size=3) | st.integers() | st.floats() | st.booleans() | st.just([]) | st.just({})
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[type, list[str], list[Any]]:
    cls = draw(st.sampled_from(CLASSES))
    names = [f.name for f in dataclasses.fields(cls)]
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    optional = draw(st.lists(st.sampled_from([n for n in names if n not in required]), unique=True))
    chosen = [*required, *optional]
    return cls, chosen, [draw(anything) for _ in chosen]


@SETTINGS
@given(cases())
def test_builder_equals_the_constructor(case: tuple[type, list[str], list[Any]]) -> None:
    """Any subset of a record's fields, values of any type: equal objects, the given values stored
    as they are, fresh defaults for the rest."""
    cls, names, values = case
    built = builder(cls, names)(*values)
    made = cls(**dict(zip(names, values, strict=True)))
    assert type(built) is cls
    assert built == made
    for name, value in zip(names, values, strict=True):
        assert getattr(built, name) is value
    other = builder(cls, names)(*values)
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING and f.name not in names:
            assert getattr(built, f.name) is not getattr(other, f.name)


def test_a_class_with_its_own_init_work_is_built_by_its_constructor() -> None:
    """Frozen classes and classes with a `__post_init__` go through their constructor."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Frozen:
        a: int
        b: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            self.a = self.a * 2

    assert builder(Frozen, ["a"])(1) == Frozen(1)
    assert builder(Checked, ["a"])(3).a == 6
