# Everything installs itself: a .venv from the pinned requirements, and the CDK CLI plus a
# jsii-supported Node.js (22) from package-lock.json into node_modules/. Stamps make reruns fast.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ENV ?=
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/node_modules/.bin
# Node 22 from node_modules first: jsii (inside aws-cdk-lib) and the CDK CLI both run on it.
export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
CDK := $(NODE_BIN)/cdk
CDK_CONTEXT := $(if $(ENV),-c env=$(ENV),)

.PHONY: help install synth test check-config bench-synth clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Install the Python and Node toolchains (idempotent)

check-config: $(VENV)/.installed ## Validate config/<env>.yaml (ENV=name, default all)
	$(PY) -m kit_config $(ENV)

synth: install check-config ## Synthesize every environment (or ENV=name) into cdk.out/ and write compliance reports
	$(CDK) synth --quiet $(CDK_CONTEXT) '**'
	@echo "Compliance reports: cdk.out/compliance/"; ls cdk.out/compliance/

test: install ## Run the test suite (synthesizes the app once, checks snapshots, nag, cfn-lint)
	$(PY) -m pytest

bench-synth: install ## Wall time: synth of all envs with all packs vs. a bare one-stack CDK app
	$(PY) tools/bench_synth.py

clean: ## Remove build output (keeps the installed toolchains)
	rm -rf cdk.out .pytest_cache
