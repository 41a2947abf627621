"""Generate the committed files in `schemas/` (JSON Schemas of the model; `make schemas`).

A test regenerates them in memory and fails when the committed copies have drifted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import TypeAdapter

from tracekit import model

#: file name -> model type whose JSON Schema (validation mode) it holds
JSON_SCHEMA_TYPES: dict[str, type] = {
    "session_trace.schema.json": model.SessionTrace,
    "llm_call_record.schema.json": model.LLMCallRecord,
}


def generate() -> dict[str, str]:
    """Every file of `schemas/` as name -> text."""
    files: dict[str, str] = {}
    for name, cls in JSON_SCHEMA_TYPES.items():
        with model.builtin_event_types_only():
            schema = TypeAdapter(cls).json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        files[name] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return files


def write(directory: Path) -> list[Path]:
    """Write every generated file into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        sys.stdout.write(f"wrote {path}\n")
