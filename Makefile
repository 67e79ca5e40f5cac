# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2
CONFIG ?= workflows/config.yaml
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export NEUROSIG_MIRRORS ?= $(SHARED_DATA)
endif

.PHONY: install browser run test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian's chromium, for the test that opens the HTML report in a real browser.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	        echo "apt-get could not install chromium: the browser test will fail if required"; \
	    else echo "chromium not found and cannot be installed here: the browser test will be skipped"; fi; }

# The workflow over every dataset available offline (the default dataset at least):
# results/workflow/<dataset>/ and the pooled results/workflow/{report.html,evidence.csv,...}
run: install
	$(VENV)/bin/neurosig workflow --config $(CONFIG) --cores $(CORES)

test: install browser
	$(PY) -m ruff check neurosig tests scripts benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) results .snakemake .pytest_cache
