# Every target sets up what it needs: a fresh clone runs `make demo` or `make test` as is.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint venv services clean

venv:
	@PYTHON=$(PY) scripts/bootstrap.sh

services:
	@scripts/ensure-services.sh

demo: venv
	@$(BIN)/strangler demo

test: venv services
	@$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
