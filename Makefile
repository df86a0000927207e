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

.PHONY: help install test lint typecheck validate unit integration e2e events consumer run send orders replay redrive find pause resume status build build-check rehearsal scan local-invoke local-invoke-if-docker bench deploy clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The pinned requirements first (a new venv when they change), then this repository and ops/ as editable projects,
# with their console commands (again only when a pyproject.toml changes).
$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt ops/requirements.txt scripts/find-python
	@rm -rf $(VENV)
	"$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(VENV)/.editable: $(VENV)/.installed pyproject.toml ops/pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . -e ./ops
	@touch $@

install: $(VENV)/.editable ## Create .venv (Python 3.13) with every dependency

test: lint typecheck validate unit integration rehearsal e2e build build-check scan local-invoke-if-docker ## Everything CI runs: lint, types, template, tests, deploy rehearsal, sam build + import check, security scans, sam local invoke

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

rehearsal: install ## Deploy rehearsal: template.yaml transformed and created as a stack in moto; wiring and IAM checked
	$(BIN)/python -m pytest tests/deploy

events: install ## Re-create the sample events in events/ (signed by the development key)
	$(BIN)/pps-events

consumer: install ## Add a consumer: make consumer NAME=invoice-sync TOPIC=orders/placed [SUB_TOPIC_PREFIX=product:adv/] [MAXIMUM_CONCURRENCY=5]
	$(BIN)/pps-consumer "$(NAME)" "$(TOPIC)" --sub-topic-prefix "$(SUB_TOPIC_PREFIX)" \
		--maximum-concurrency "$(or $(MAXIMUM_CONCURRENCY),5)"

e2e: install ## End-to-end tests: `make run` in a subprocess, real HTTP in, OrdersTable and dead letters out
	$(BIN)/python -m pytest tests/e2e

# The local run: template.yaml's resources in an embedded moto, the real handlers, on 127.0.0.1.
# Each make variable is an option of the command (make passes command-line variables on as environment variables):
# `.venv/bin/pps-run --help`, `.venv/bin/pps-send --help` list them.
run: install ## Run the whole pipeline locally on http://127.0.0.1:3000 (PORT=, LOCAL_AWS_PORT=, LOG_LEVEL=)
	@$(BIN)/pps-run

send: install ## POST a signed webhook to `make run` (TOPIC=, BODY='{...}' or @file, REPEAT=, WEBHOOK_ID=, URL=)
	@$(BIN)/pps-send

orders: install ## Show the OrdersTable of `make run`
	@$(BIN)/pps-orders

# The operator tools (ops/) read these variables as the options they stand for: `.venv/bin/pps-replay --help`.
replay: install ## Re-deliver archived webhooks to ONE consumer: TOPIC= SINCE= [UNTIL=] TARGET=<queue URL|function> [TENANT= SUB_TOPIC_PREFIX= WEBHOOK_IDS=<ids|@file>] [RATE=<per s>] [DRY_RUN=1] [RESTART=1]
	@$(BIN)/pps-replay

find: install ## Find one webhook: archive (Athena) and queues: WEBHOOK_ID= [TENANT=] [SINCE=<date>, default 30 days ago]
	@$(BIN)/pps-find

redrive: install ## Move a dead-letter queue's messages back: QUEUE=<DLQ URL> [FUNCTION=|STREAM=<name>] [DRY_RUN=1] [MAX=N]
	@$(BIN)/pps-redrive

pause: install ## Pause a consumer (its webhooks wait in its queue): CONSUMER=<function logical id|name> [STACK=]
	@$(BIN)/pps-pause

resume: install ## Resume a paused consumer: CONSUMER=<function logical id|name> [STACK=]
	@$(BIN)/pps-resume

status: install ## Each consumer: running/paused, queue depth, oldest message's age, dead letters [STACK=]
	@$(BIN)/pps-status

build: install ## sam build, then drop runtime-provided packages from the layer and precompile bytecode
	$(BIN)/sam build
	$(BIN)/pps-slim-build

build-check: build ## Import each built function as Lambda lays it out; check the layer's contents and bytecode
	$(BIN)/python -m pytest tests/build

# `sam local invoke` for real: SAM CLI and a container engine run every sample in events/ (tools/build/local_invoke.py).
# How the functions' SDK reaches moto: SAM CLI hands a function only the variables its template declares (--env-vars
# sets their values, never adds one; --container-env-vars is for debugging sessions only). So every function
# declares AWS_ENDPOINT_URL, empty, which botocore reads as unset (tests/unit/test_sam_local_invoke.py): AWS itself
# when deployed, http://moto.local:<port> in the env file here. moto listens on the host side of a Docker network of
# the target's own, joined with --docker-network and named with --add-host: `--docker-network host` is not applied
# by this SAM CLI, and this way nothing listens on 0.0.0.0 or publishes a port.
# Built for this machine's architecture (ARCH=), apart from `make build`'s: under arm64 emulation no function starts
# within its timeout (15 s, 30 s). AWS's image when Docker can pull it, else tools/build/lambda_image's, built once.
local-invoke: install ## Every sample in events/ through the real `sam local invoke` in Docker, against moto (ARCH=)
	$(BIN)/pps-local-invoke

# In `make test`: a SKIP line with the reason when no Docker daemon answers (.ci/run starts one).
local-invoke-if-docker: install
	LOCAL_INVOKE_SKIP_WITHOUT_DOCKER=1 $(BIN)/pps-local-invoke

# checkov pins boto3 and networkx below what aws-sam-cli and the layer need, so it gets a venv of its own
# (inside .venv: rebuilt with it, removed by `make clean`).
SCAN_VENV := $(VENV)/scan
$(SCAN_VENV)/.installed: requirements-scan.txt $(VENV)/.installed
	@rm -rf $(SCAN_VENV)
	"$$(scripts/find-python)" -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@touch $@

scan: install $(SCAN_VENV)/.installed ## Security scans, failing on any finding not suppressed where it is: checkov, bandit
	$(SCAN_VENV)/bin/checkov --framework cloudformation --file template.yaml --file examples/subscriber-stack.yaml \
		--skip-download --compact --quiet
	$(BIN)/bandit -c pyproject.toml --quiet -r layers functions ops tools bench

bench: build ## Measure the receiver against the floor of its job (bench/results.json, README table)
	$(BIN)/python -m bench.run

deploy: build ## sam deploy --guided
	$(BIN)/sam deploy --guided

clean: ## Remove the venv and build output
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
