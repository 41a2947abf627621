"""SFT export: filter good traces and write OpenAI chat fine-tuning JSONL, with a report.

from tracekit.sft import export_sft
report = export_sft("file:traces.db", "train.jsonl", validation_out="val.jsonl",
                    validation_fraction=0.1, min_outcome_reward=1.0, max_tokens=16000)
report.to_dict()   # kept / dropped by reason, token lengths, orphan tool results
"""

from tracekit.sft.convert import ConvertedExample, Reasoning, convert_record
from tracekit.sft.export import calls_of, export_sft, export_sft_async, in_validation
from tracekit.sft.options import CallContext, SFTOptions
from tracekit.sft.report import DROP_REASONS, SFTReport

__all__ = [
    "DROP_REASONS",
    "CallContext",
    "ConvertedExample",
    "Reasoning",
    "SFTOptions",
    "SFTReport",
    "calls_of",
    "convert_record",
    "export_sft",
    "export_sft_async",
    "in_validation",
]
