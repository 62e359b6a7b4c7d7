# Two commands: `make run` (serve the API with demo data) and `make test` (the whole suite, SQLite + PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite bench bench-http setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt package.json package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	npm ci --no-audit --no-fund --loglevel=error  # ECharts for /showcase, served by the app (node_modules/)
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	bash scripts/run_demo.sh

test: $(STAMP)
	bash scripts/run_tests.sh

test-sqlite: $(STAMP)
	SKIP_POSTGRES=1 bash scripts/run_tests.sh

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-http: $(STAMP)  # gunicorn + wrk against a Flask hello (issue 12's targets); installs wrk when missing
	bash scripts/install_stack.sh
	$(BIN)/python -m benchmarks.http

clean:
	rm -rf $(VENV) node_modules instance/*.db
