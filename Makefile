# Two commands do all the set-up: `make run` (local stack) and `make test` (whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY312 := $(shell command -v python3.12 2>/dev/null && python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && command -v python3.12)
ifeq ($(PY312),)
PY312 := $(PYENV_ROOT)/versions/3.12.1/bin/python3.12
endif
PY312_BIN := $(dir $(PY312))

VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# checkov has its own virtualenv too (its pins would downgrade the app's); BC_SKIP_MAPPING keeps it offline.
CHECKOV_VENV := .venv-checkov
CHECKOV := BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov
# SAM CLI: no telemetry, no state in the home folder, the runtime's python first on PATH, offline validation region.
SAM_ENV := SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(CURDIR)/.sam-app AWS_DEFAULT_REGION=us-east-1 PATH="$(PY312_BIN):$$PATH"
PYTEST_ARGS ?=
# `make sam-local`: the functions in Lambda containers for this machine's architecture.
LOCAL_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
SAM_LOCAL_BUILD := .aws-sam/sam-local
# The official Flutterwave Node SDK, which tests drive the Flutterwave emulator with (npm ci from the lock file).
FLW_SDK := localdev/flutterwave/sdk

.PHONY: help run demo test lint fmt typecheck unit integration validate checkov build bench check-ledger clean venv sam-venv openapi redrive \
	checkov-venv lambda-image sam-local-build sam-local test-sam-local flutterwave-sdk

help:
	@echo "make run        start the local stack (API :3000, Paystack :3001, Flutterwave :3004, AWS emulator :5000)"
	@echo "make demo       with \`make run\` going in another terminal: the whole story over HTTP, step by step"
	@echo "make test       the whole suite: lint, types, template checks, unit and integration tests"
	@echo "make sam-local  the same functions in Lambda containers (sam local start-api :3000, start-lambda :3002)"
	@echo "make test-sam-local  the integration suite against the sam-local stack"
	@echo "make redrive    with a stack running: move the DLQs' messages back to their queues (REDRIVE_ARGS=--queue PaymentsDLQ)"
	@echo "make lint | typecheck | unit | integration | validate | checkov | build | bench | openapi | flutterwave-sdk | clean"

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt functions/auth/requirements.txt
	@test -x $(PY312) || { echo "Python 3.12 not found (looked for python3.12 and $(PY312))"; exit 1; }
	@test -x $(PY) || $(PY312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	@test -x $(SAM_VENV)/bin/python || $(PY312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -x $(PY312) || { echo "Python 3.12 not found (looked for python3.12 and $(PY312))"; exit 1; }
	@test -x $(CHECKOV_VENV)/bin/python || $(PY312) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

venv: $(VENV)/.installed
sam-venv: $(SAM_VENV)/.installed
checkov-venv: $(CHECKOV_VENV)/.installed

# Without npm (or node) there is nothing to install: the SDK-driven tests then skip, saying why.
$(FLW_SDK)/node_modules/.installed: $(FLW_SDK)/package.json $(FLW_SDK)/package-lock.json
	@if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then \
		cd $(FLW_SDK) && npm ci --omit=peer --ignore-scripts --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "node/npm not found: the Flutterwave SDK tests will skip"; fi

flutterwave-sdk: $(FLW_SDK)/node_modules/.installed

run: venv
	$(PY) -m localdev

# Plays the story against a running `make run` (other ports: LOCAL_API_PORT=..., or DEMO_ARGS="--api URL --gateway URL").
demo: venv
	$(PY) -m localdev.demo $(DEMO_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv
	$(VENV)/bin/mypy layers/common/python/market localdev functions

# The OpenAPI 3.1 document, from the functions' resolvers (GET /openapi.json serves the file; a test fails when stale).
openapi: venv
	$(PY) -m localdev.openapi

# In-process tests run with template.yaml's IAM policies enforced on the handlers' AWS calls (moto enforces none).
IAM_ENFORCED := -p tests.template.iam_enforcer

unit: venv flutterwave-sdk
	$(PY) -m pytest $(IAM_ENFORCED) tests/unit tests/localdev tests/property -q -n 2 $(PYTEST_ARGS)

integration: venv
	$(PY) -m pytest $(IAM_ENFORCED) tests/integration tests/security tests/load tests/e2e tests/reliability -q $(PYTEST_ARGS)

validate: sam-venv
	$(SAM_ENV) $(SAM) validate --lint
	$(SAM_ENV) $(SAM) validate

# The template's security scan, offline (tests/security/test_template_checkov.py asserts 0 failed).
checkov: checkov-venv
	$(CHECKOV) -f template.yaml --framework cloudformation --skip-download --compact

build: sam-venv
	$(SAM_ENV) $(SAM) build --parallel --cached

# ---- sam local: Docker, a locally built Lambda base image, and an x86_64 (this machine's) build.
lambda-image:
	bash localdev/lambda-image

sam-local-build: sam-venv
	LAYER_ARCH=$(LOCAL_ARCH) $(SAM_ENV) $(SAM) build --parallel --cached \
		--build-dir $(SAM_LOCAL_BUILD)/build --cache-dir $(SAM_LOCAL_BUILD)/cache \
		--parameter-overrides Architecture=$(LOCAL_ARCH)

# localdev/sam_local.py runs `make sam-local-build` itself (not while a sam-local stack runs on that build).
sam-local: venv sam-venv
	$(PY) -m localdev.sam_local

# The same integration tests, against the functions in Lambda containers (skips what cannot reach them);
# the same short visibility timeout as the embedded stack the tests start themselves.
test-sam-local: venv sam-venv
	LOCAL_SQS_VISIBILITY_TIMEOUT=$${LOCAL_SQS_VISIBILITY_TIMEOUT:-2} $(PY) -m localdev.sam_local \
		--run $(PY) -m pytest tests/integration -q -p no:cacheprovider $(PYTEST_ARGS)

# In-process tests on two workers; then the tests that share one local stack, in one process
# (tests/e2e drives Debian's /usr/bin/chromium through Playwright; it skips where none is installed;
# tests/reliability is the fault storm, on a stack of its own, a few minutes).
test: venv sam-venv checkov-venv lint typecheck flutterwave-sdk
	$(PY) -m pytest $(IAM_ENFORCED) tests/unit tests/localdev tests/property tests/template -q -n 2 $(PYTEST_ARGS)
	$(PY) -m pytest $(IAM_ENFORCED) tests/integration tests/security tests/load tests/e2e tests/reliability -q $(PYTEST_ARGS)

bench: venv
	$(PY) -m bench

check-ledger: venv
	$(PY) -m localdev.check_ledger

# The local stack's dead-letter queues back to their source queues (on AWS: aws sqs start-message-move-task).
redrive: venv
	$(PY) -m localdev.redrive $(REDRIVE_ARGS)

clean:
	rm -rf .aws-sam .sam-app .localdev .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf .schemathesis
	find . -path ./.venv -prune -o -path ./.venv-sam -prune -o -path ./.venv-checkov -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
