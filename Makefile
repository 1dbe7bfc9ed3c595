# Two commands do all the set-up on a fresh machine:
#   make run    — install, convert the multilingual model, import the seeds, build the index,
#                 then start the bot (terminal chat when TELEGRAM_BOT_TOKEN is unset)
#   make test   — install, then run the whole test suite and the linter
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
E5 := data/models/multilingual-e5-small/modules.json

.PHONY: run test setup model index lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

$(E5): $(VENV)/.installed
	$(PY) -m index model import-e5
	$(PY) -m index model export-onnx

model: $(E5)

index: setup model
	$(PY) -m index build

run: index
	$(PY) -m bot

test: setup
	$(PY) -m pytest -q
	$(VENV)/bin/ruff check index bot tests bench
	$(VENV)/bin/lint-imports

lint: setup
	$(VENV)/bin/ruff check index bot tests bench
	$(VENV)/bin/lint-imports
