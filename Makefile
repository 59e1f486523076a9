# pairing-eval — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATASET ?= demo
JOBS ?= 2
LANG_REPORT ?= zh en

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned versions (done automatically by the other targets)

# Chinese pages in reports/<dataset>/, English beside them in reports/<dataset>/en/; with a headless
# Chromium (Debian's chromium, or PAIRING_EVAL_CHROMIUM) every page is also printed to an A4 PDF.
reports: $(STAMP) ## the main job: validate + build + every county and city report (zh, en; A4 PDFs with Chromium)
	$(BIN)/pairing-eval validate data/raw/$(DATASET)
	$(BIN)/pairing-eval build data/raw/$(DATASET)
	@pdf=$$($(BIN)/python -c 'from analysis.reports.pdf import find_chromium; print("--pdf" if find_chromium() else "")'); \
	if [ -z "$$pdf" ]; then \
	  echo "No headless Chromium found: HTML reports only."; \
	  $(BIN)/python -c 'from analysis.reports.pdf import INSTALL_HINT; print(INSTALL_HINT)'; \
	fi; \
	for lang in $(LANG_REPORT); do \
	  echo "$(BIN)/pairing-eval report --dataset $(DATASET) --all --jobs $(JOBS) --lang $$lang $$pdf"; \
	  $(BIN)/pairing-eval report --dataset $(DATASET) --all --jobs $(JOBS) --lang $$lang $$pdf || exit 1; \
	done

# The suite must run everything on a fresh clone: -rs lists skips, and the junit report is counted
# so that a skipped test fails the target (browser and spreadsheet tests are deselected here, not
# skipped).
PYTEST_FAST := -m "not slow and not browser and not spreadsheet" -n 2 -rs
NO_SKIPS = $(1)/python -c 'import sys, xml.etree.ElementTree as ET; \
	n = sum(int(s.get("skipped", 0)) for s in ET.parse(sys.argv[1]).getroot().iter("testsuite")); \
	sys.exit(f"{n} test(s) skipped (reasons above): the suite must not skip" if n else 0)' $(2)

test: $(STAMP) ## run the test suite (slow notebook runs excluded: see test-all); fails if a test skips
	$(BIN)/python -m pytest $(PYTEST_FAST) --junitxml=$(VENV)/junit-test.xml
	@$(call NO_SKIPS,$(BIN),$(VENV)/junit-test.xml)

test-all: $(STAMP) ## the whole suite including slow notebook runs
	$(BIN)/python -m pytest -n 2

# JupyterLab on this computer only (127.0.0.1), with a fresh token printed as a URL to open; as
# root (how JupyterLab runs in most containers) it needs --allow-root, which is passed then only.
LAB_IP ?= 127.0.0.1
LAB_PORT ?= 8888
LAB_UID ?= $(shell id -u)
LAB_FLAGS = --ip=$(LAB_IP) --port=$(LAB_PORT) --ServerApp.port_retries=0 --no-browser \
	$(if $(filter 0,$(LAB_UID)),--allow-root)

lab: $(STAMP) ## open JupyterLab on 127.0.0.1 (as root too, e.g. in a container) and print its URL with the token
	$(BIN)/python -m ipykernel install --sys-prefix --name pairing-eval --display-name "pairing-eval (.venv)" >/dev/null
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))') && \
	echo "JupyterLab: http://$(LAB_IP):$(LAB_PORT)/lab?token=$$token" && \
	echo "(Ctrl-C stops it; LAB_PORT=8890 make lab if port $(LAB_PORT) is taken)" && \
	exec $(BIN)/jupyter lab notebooks/ $(LAB_FLAGS) --IdentityProvider.token=$$token

lint: $(STAMP) ## ruff on code and notebooks; notebooks stripped; import layers (lint-imports)
	$(BIN)/ruff check src tests benchmarks validation notebooks
	$(BIN)/nbstripout --verify notebooks/*.ipynb
	$(BIN)/lint-imports --no-logo

# The newest releases of every dependency pyproject.toml allows (requirements.lock not applied), in
# their own venv, so that an upgrade that breaks something shows before the lock is regenerated.
LATEST := .venv-latest
test-latest: ## the same suite against the newest releases of the dependencies (own venv, no lock)
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet -e '.[dev]'
	@echo "== installed versions that differ from requirements.lock (< installed, > lock):"
	@diff <($(LATEST)/bin/python -m pip freeze --exclude pairing-eval | sort -f) <(sort -f requirements.lock) \
	  | grep '^[<>]' || echo "  none"
	$(LATEST)/bin/python -m pytest $(PYTEST_FAST) --junitxml=$(LATEST)/junit-test.xml
	@$(call NO_SKIPS,$(LATEST)/bin,$(LATEST)/junit-test.xml)
	$(LATEST)/bin/lint-imports --no-logo

demo: $(STAMP) ## regenerate the synthetic demo world into data/raw/demo
	$(BIN)/pairing-eval synth --out data/raw/demo --seed 20210101

bench: $(STAMP) ## run the benchmark scripts (prints side-by-side ratios)
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

browser-check: $(STAMP) ## headless Chromium: pages render, A4 PDFs, phone width, screenshots (PE_SCREENSHOTS=dir keeps them)
	$(BIN)/python -m pytest -m browser -p no:xdist

spreadsheet-check: $(STAMP) ## open the template and a problems list in LibreOffice: cells stay text (needs libreoffice-calc)
	$(BIN)/python -m pytest -m spreadsheet -p no:xdist

lock: ## regenerate requirements.lock from pyproject.toml in a throw-away venv
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude pairing-eval > requirements.lock
	rm -rf .lock-venv

clean: ## remove processed data and reports (raw data is never touched)
	rm -rf data/processed/*/ reports/

.PHONY: help venv reports test test-all test-latest lab lint demo bench browser-check spreadsheet-check lock clean
