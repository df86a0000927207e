# pps-webhooks: `make test` sets everything up from a fresh clone and runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(abspath $(VENV))/bin
# The venv first on PATH: `sam build` looks for python3.13 there.
export PATH := $(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help install test lint typecheck validate unit integration events consumer build deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt scripts/find-python
	@rm -rf $(VENV)
	"$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed ## Create .venv (Python 3.13) with every dependency

test: lint typecheck validate unit integration build ## Everything CI runs: lint, types, template, tests, sam build

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy
	$(BIN)/mypy

validate: install ## sam validate --lint (cfn-lint) on template.yaml and the examples
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/sam validate --lint --template examples/subscriber-stack.yaml

unit: install ## Unit tests: pure decisions, no network
	$(BIN)/python -m pytest tests/unit

integration: install ## Integration tests: the real handler against a moto server and a loopback JWKS
	$(BIN)/python -m pytest tests/integration

events: install ## Re-create the sample events in events/ (signed by the development key)
	PYTHONPATH=.:layers/common $(BIN)/python -m local.events

consumer: install ## Add a consumer: make consumer NAME=invoice-sync TOPIC=orders/placed [SUB_TOPIC_PREFIX=product:adv/]
	PYTHONPATH=.:layers/common $(BIN)/python -m local.new_consumer "$(NAME)" "$(TOPIC)" --sub-topic-prefix "$(SUB_TOPIC_PREFIX)"

build: install ## sam build (needs only PyPI)
	$(BIN)/sam build

deploy: build ## sam deploy --guided
	$(BIN)/sam deploy --guided

clean: ## Remove the venv and build output
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
