# confsvc — the two commands a newcomer types are `make run` and `make test`.
# Both build what is missing first: the virtualenv and the Asterisk runtime.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed-stamp

.PHONY: run run-cluster test lint asterisk-cli clean venv runtime bench browser kamailio

$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(VENV_STAMP)

runtime:
	asterisk/ctl build

## Debian's chromium for the console test (installed with apt-get when missing).
browser:
	scripts/browser

## Debian's kamailio for the multi-node tests and run-cluster (apt-get when missing).
kamailio:
	scripts/kamailio install

## Start Asterisk and the controller in the foreground (Ctrl-C stops both). DB=postgres:
## on a local PostgreSQL (scripts/pg) instead of SQLite. NODES=3: make run-cluster.
run: venv runtime
	$(if $(NODES),NODES=$(NODES) DB=$(DB) scripts/run-cluster,DB=$(DB) scripts/run)

## Kamailio on 5060 in front of NODES (3) Asterisk media nodes and one controller
## (README "Running several media nodes"); DB=postgres as for run.
run-cluster: venv runtime kamailio
	NODES=$(NODES) DB=$(DB) scripts/run-cluster

## The whole suite, real Asterisk and softphones included.
test: venv runtime browser kamailio
	scripts/test

## confsvc (ARI) vs plain ConfBridge on one Asterisk, driven by a second Asterisk, then the
## controller's event latency and webhook backlog (~11 min, a progress line per step);
## writes bench/results/<date>.{json,md} and the README table. PROFILE=1: py-spy the
## controller; DB=postgres: the controller on a private PostgreSQL (results named -custom,
## README table untouched); BENCH_ARGS: more options (python -m bench --help).
bench: venv runtime
	$(VENV)/bin/python -m bench $(if $(PROFILE),--profile) $(if $(DB),--db $(DB)) $(BENCH_ARGS)

lint: venv
	$(VENV)/bin/ruff check confsvc tests bench
	$(VENV)/bin/ruff format --check confsvc tests bench
	$(VENV)/bin/mypy --strict confsvc/ari
	$(VENV)/bin/python scripts/openapi.py | $(VENV)/bin/openapi-spec-validator -
	$(VENV)/bin/hadolint docker/asterisk.Dockerfile docker/confsvc.Dockerfile docker/kamailio.Dockerfile

## An interactive Asterisk CLI on the running dev instance.
asterisk-cli:
	asterisk/ctl cli

clean:
	-asterisk/ctl stop
	rm -rf .runtime $(VENV) .pytest_cache .ruff_cache .mypy_cache
