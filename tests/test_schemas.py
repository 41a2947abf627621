"""The committed files in schemas/ are exactly what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from tracekit import schemagen

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_committed_schemas_match_the_code() -> None:
    """Each generated file is in schemas/ with identical text (after a model change: `make schemas`)."""
    generated = schemagen.generate()
    for name, text in generated.items():
        path = SCHEMAS / name
        assert path.exists(), f"schemas/{name} is missing: run `make schemas`"
        assert path.read_text(encoding="utf-8") == text, f"schemas/{name} is stale: run `make schemas`"


def test_no_stale_files_in_schemas() -> None:
    """schemas/ holds nothing the generator no longer makes."""
    assert {p.name for p in SCHEMAS.iterdir()} == set(schemagen.generate())


def test_trace_schema_accepts_every_event_type() -> None:
    """The trace JSON Schema lists exactly the built-in event classes, each named by its event_type."""
    schema = json.loads(schemagen.generate()["session_trace.schema.json"])
    choices = schema["properties"]["event_history"]["items"]["oneOf"]
    refs = {choice["$ref"].rsplit("/", 1)[-1] for choice in choices}
    assert refs == {"BaseEvent", "RuntimeEvent", "EnvironmentEvent", "LMCAISEvent"}
    consts = {name: schema["$defs"][name]["properties"]["event_type"]["const"] for name in refs}
    assert consts == {
        "BaseEvent": "base",
        "RuntimeEvent": "runtime",
        "EnvironmentEvent": "environment",
        "LMCAISEvent": "cais",
    }
    mapping = schema["properties"]["event_history"]["items"]["discriminator"]["mapping"]
    assert mapping == {tag: f"#/$defs/{name}" for name, tag in consts.items()}
