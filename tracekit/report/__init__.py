"""The HTML report and the store statistics behind `tracekit stats`, `show` and `report`."""

from tracekit.report.data import ReportData, collect_report
from tracekit.report.html import render_html
from tracekit.report.stats import DIMENSIONS, SessionFilters, StoreStats, collect_stats, iter_sessions
from tracekit.report.timeline import TimelineEntry, session_timeline

__all__ = [
    "DIMENSIONS",
    "ReportData",
    "SessionFilters",
    "StoreStats",
    "TimelineEntry",
    "collect_report",
    "collect_stats",
    "iter_sessions",
    "render_html",
    "session_timeline",
]
