# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= results/default
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export NEUROSIG_MIRRORS ?= $(SHARED_DATA)
endif

.PHONY: install run test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/neurosig run --out $(OUT)

test: install
	$(PY) -m ruff check neurosig tests scripts benchmarks
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) results .pytest_cache
