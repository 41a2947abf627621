"""The bundled, recorded multi-agent run behind `tracekit demo` (see run.py and script.py)."""

from tracekit.demo.run import DemoRun, clear_demo, run_demo, sdks_available

__all__ = ["DemoRun", "clear_demo", "run_demo", "sdks_available"]
