# jarvis.maintenance — the two commands of the README and the steps behind them.
#   make run    venv + collection + local stack + daily playbook, prints the report path
#   make test   every test layer; fails on the first failing step
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV ?= $(ROOT)/.venv
# Newest Python >= 3.12 on the machine (pyenv keeps one under /root/.pyenv), else python3.
PYTHON ?= $(shell $(ROOT)/tools/find-python)
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# Playbooks run from the working tree: the collection is wired in by a symlink.
COLLECTIONS := $(ROOT)/.build/collections
# ansible-test needs a real copy at .../ansible_collections/jarvis/maintenance.
TEST_TREE := $(ROOT)/.build/test/ansible_collections/jarvis/maintenance
STACK := $(PY) $(ROOT)/tools/jarvis-stack
DOCKER_STACK := $(PY) $(ROOT)/tools/jarvis-docker-stack
PYVER = $(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
# Where the local stack lives; the local inventory and molecule read its env.json there.
export JARVIS_STACK_DIR ?= $(ROOT)/.stack
export PATH := $(BIN):$(PATH)

.PHONY: help venv collection stack-up stack-down stack-status run test lint ruff ansible-lint \
        sanity units integration molecule stack-tests changelog-lint docs docs-lint clean \
        docker-stack-up docker-stack-down docker-stack-status docker-tests awx-tests bench-tests live-load \
        security-tests prometheus-tests smoke-2.16

help:
	@echo "make run   - run the daily maintenance against the embedded local Jarvis stack"
	@echo "make test  - run every test (lint, sanity, unit, stack, integration, molecule, docker)"
	@echo "make stack-up | stack-down | stack-status - manage the local stack"
	@echo "make docker-stack-up | docker-stack-down | docker-stack-status - the runbook's containers"
	@echo "make docker-tests - the docker scenario alone (needs root: it starts a private dockerd)"
	@echo "make live-load - benchmark: maintenance under live traffic (benchmarks/live_load)"
	@echo "make security-tests - the adversarial tests of docs/security.md (root)"
	@echo "make prometheus-tests - promtool check and unit tests of the alerting rules (prometheus/)"
	@echo "make docs  - the docs site (guides and the modules', filters' and roles' reference) into .build/docs/"
	@echo "make docs-lint - antsibull-docs' lint of the collection's documentation, and the Markdown files' links"
	@echo "make smoke-2.16 - smoke tests on the oldest supported ansible-core (2.16) and community collections"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# The link is only made when it is missing or wrong: make test runs layers that depend on this target
# side by side, and `ln -sfn` removes the link for a moment.
collection: venv
	@mkdir -p $(COLLECTIONS)/ansible_collections/jarvis
	@[ "$$(readlink $(COLLECTIONS)/ansible_collections/jarvis/maintenance)" = "$(ROOT)" ] || \
	    ln -sfn $(ROOT) $(COLLECTIONS)/ansible_collections/jarvis/maintenance
	@# requirements.yml lists what the content needs. The ansible package we pin bundles all of it but awx.awx
	@# (for awx/configure.yml): without Galaxy, taken from ansible 12.3.0's wheel on PyPI. Then ansible-galaxy,
	@# offline, checks that every requirement and its version range is met (it fails naming the one that is not).
	@$(PY) $(ROOT)/tools/fetch-collections $(COLLECTIONS) --ansible-version 12.3.0 awx.awx >/dev/null
	@$(BIN)/ansible-galaxy collection install --offline -r $(ROOT)/requirements.yml -p $(COLLECTIONS) >/dev/null

stack-up: venv
	$(STACK) up

stack-down:
	$(STACK) down

stack-status: venv
	$(STACK) status

# The stack is started when none of it runs; a component stopped on purpose stays down
# so that the run reports it (stack-up starts everything).
run: collection
	$(STACK) ensure
	$(BIN)/ansible-playbook -i inventories/local playbooks/daily.yml
	$(BIN)/ansible-playbook -i inventories/local playbooks/prometheus_rules.yml
	@echo "Health report:   $$($(STACK) report-path health)"
	@echo "PostgreSQL:      $$($(STACK) report-path postgres-daily)"
	@echo "Redis:           $$($(STACK) report-path redis-daily)"
	@echo "Backup check:    $$($(STACK) report-path backup-verification)"
	@echo "Backup sets:     $$(ls -d $(JARVIS_STACK_DIR)/backups/jarvis-* | tail -1) (newest)"
	@echo "Metrics today:   $$(ls $(JARVIS_STACK_DIR)/metrics/localhost/metrics-*.json | tail -1)"
	@echo "(Markdown for people beside each, .md)"
	@# Debian's Prometheus serves only the classic web UI, under /classic/.
	@url=$$($(STACK) env --get prometheus_url); echo "Prometheus:      $$url (alerts: $$url/classic/alerts)"

# The oldest ansible-core meta/runtime.yml supports (requires_ansible >=2.16.0), beside the 2.21 of the
# other layers: its own venv on Python 3.10-3.12 (2.16's controller range; PYTHON_216=... to choose),
# the community collections at the floor versions galaxy.yml declares (those the ansible 10.7.0
# package bundles) in a collections path of their own, and tests/smoke: ansible-doc of every plugin
# and role, --syntax-check of every playbook, real runs of modules, db_health.yml and the health_check
# role on the local stack (~26 s with the venv to build, ~16 s after).
VENV_216 := $(ROOT)/.venv-2.16
COLLECTIONS_216 := $(ROOT)/.build/collections-2.16
SMOKE_ANSIBLE_VERSION := 10.7.0
SMOKE_COLLECTIONS := community.general community.postgresql community.docker community.crypto
PYTHON_216 ?=

$(VENV_216)/.installed: tests/smoke/requirements-2.16.txt
	@python="$(PYTHON_216)"; \
	if [ -z "$$python" ] && ! python=$$($(ROOT)/tools/find-python --range 3.10 3.12); then \
	    echo "smoke-2.16: no Python 3.10, 3.11 or 3.12 with venv here (ansible-core 2.16 runs on those): install one" \
	         "(pyenv install 3.12, or Debian's python3-venv for a python3 of 3.10-3.12) or set PYTHON_216=/path/to/python3.12" >&2; \
	    exit 1; \
	fi; \
	echo "smoke-2.16: $(VENV_216) with $$python ($$($$python --version))"; \
	$$python -m venv --clear $(VENV_216)
	$(VENV_216)/bin/pip install --quiet --disable-pip-version-check -r tests/smoke/requirements-2.16.txt
	touch $@

smoke-2.16: $(VENV_216)/.installed stack-up
	@mkdir -p $(COLLECTIONS_216)/ansible_collections/jarvis
	@ln -sfn $(ROOT) $(COLLECTIONS_216)/ansible_collections/jarvis/maintenance
	@$(VENV_216)/bin/python $(ROOT)/tools/fetch-collections $(COLLECTIONS_216) \
	    --ansible-version $(SMOKE_ANSIBLE_VERSION) $(SMOKE_COLLECTIONS) >/dev/null
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_216) $(VENV_216)/bin/pytest -q -p no:cacheprovider tests/smoke

# make integration TARGETS=module_redis_maintenance runs one target.
# Each layer timed (tools/timed-layers prints a table at the end), so the slow one is visible.
# The layers that run playbooks go one after another: run side by side (tools/timed-layers a+b),
# the load of stack-tests and docker-tests made the real playbooks' health check judge the machine's
# load critical and fail (CI, 2026-12-04). ansible-lint and sanity run no playbook against a host
# and share no file (sanity works in its own copy under .build/test): side by side, and so do docs-lint and
# docs (they read the collection and write only under .build/docs* and a temporary directory).
TEST_LAYERS := venv collection stack-up ruff ansible-lint+sanity+docs-lint+docs changelog-lint prometheus-tests units \
               awx-tests bench-tests smoke-2.16 stack-tests integration molecule docker-tests
test:
	@MAKE="$(MAKE)" $(ROOT)/tools/timed-layers $(TEST_LAYERS)
	@echo "make test: all layers passed"

lint: ruff ansible-lint

ruff: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ansible-lint: collection
	$(BIN)/ansible-lint --profile production --offline

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# The collection's documentation as antsibull-docs builds it (every module's DOCUMENTATION, EXAMPLES and
# RETURN, the filters' docs, each role's meta/argument_specs.yml): schema, markup, rstcheck of the generated
# RST, and every reference to a plugin, role, option or return value of this collection and of the ones
# galaxy.yml depends on (ansible.builtin included); a reference to any other collection is an error
# (--disallow-unknown-collection-refs): galaxy.yml must name every collection the docs refer to.
# GIT_CEILING_DIRECTORIES: antsibull-docs copies each dependency with `git ls-files` when git says it is in
# a work tree, and .venv (where the ansible package keeps them) is inside this one, git-ignored: no files.
# Then tests/docs: the Markdown files' links and anchors, and no mention of files this repository lacks.
docs-lint: collection
	GIT_CEILING_DIRECTORIES=$(VENV) $(BIN)/antsibull-docs lint-collection-docs --plugin-docs \
	    --validate-collection-refs dependent --disallow-unknown-collection-refs $(COLLECTIONS)/ansible_collections/jarvis/maintenance
	$(BIN)/pytest -q -p no:cacheprovider tests/docs

# The docs site, from the working tree: the Markdown guides and the reference antsibull-docs generates from
# the collection, built with Sphinx (docs/site/) into .build/docs/ (open .build/docs/index.html).
docs: collection
	$(PY) $(ROOT)/docs/site/build.py $(ROOT) $(ROOT)/.build/docs-src $(ROOT)/.build/docs

# The alerting rules (prometheus/): promtool's syntax check and unit tests
# (tests/prometheus/*.test.yml), then the rules' runbook links and metric names (pytest).
# promtool comes with Debian's prometheus package (.ci/run installs it).
PROMTOOL ?= promtool
prometheus-tests: venv
	@command -v $(PROMTOOL) >/dev/null || { echo "prometheus-tests: promtool not found: install Debian's prometheus package (apt-get install prometheus) or set PROMTOOL=/path/to/promtool" >&2; exit 1; }
	$(PROMTOOL) check rules prometheus/*.rules.yml
	$(PROMTOOL) test rules tests/prometheus/*.test.yml
	$(BIN)/pytest -q -p no:cacheprovider tests/prometheus

$(TEST_TREE): FORCE venv
	$(PY) $(ROOT)/tools/ansible-test-tree $(ROOT) $(TEST_TREE)

sanity: $(TEST_TREE)
	cd $(TEST_TREE) && $(BIN)/ansible-test sanity --venv --python $(PYVER) --color no

units: $(TEST_TREE)
	cd $(TEST_TREE) && $(BIN)/ansible-test units --venv --requirements --python $(PYVER) --color no

# AWX config-as-code: the schedules' rrules (next runs, first Sunday) and the playbook's options.
awx-tests: collection
	$(BIN)/pytest -q -p no:cacheprovider tests/awx

# The pure parts of the benchmarks (benchmarks/live_load's parsing, statistics and plot).
bench-tests: venv
	$(BIN)/pytest -q -p no:cacheprovider tests/benchmarks

# Maintenance under live traffic: pgbench and a Redis load while the collection's PostgreSQL and
# Redis work runs, then the runbook's (benchmarks/live_load; LIVE_LOAD_ARGS="--scale 20" ...).
live-load: collection
	$(STACK) ensure
	$(PY) $(ROOT)/benchmarks/live_load $(LIVE_LOAD_ARGS)

stack-tests: collection stack-up
	$(BIN)/pytest -q --durations=10 tests/stack

integration: $(TEST_TREE) stack-up
	$(STACK) integration-config > $(TEST_TREE)/tests/integration/integration_config.yml
	cd $(TEST_TREE) && $(BIN)/ansible-test integration --local --allow-root --python $(PYVER) --color no $(TARGETS)

# The adversarial tests of docs/security.md alone (root: runuser -u nobody, tmpfs mounts); make test runs them too.
SECURITY_UNITS := tests/unit/plugins/module_utils/test__safe_fs.py tests/unit/plugins/module_utils/test__log_cleanup.py \
                  tests/unit/plugins/module_utils/test__redact.py tests/unit/plugins/module_utils/test__config_values.py \
                  tests/unit/plugins/module_utils/test__log_analysis.py tests/unit/plugins/module_utils/test__run_lock.py \
                  tests/unit/plugins/modules
SECURITY_TARGETS := module_log_cleanup run_lock maintenance_mode pg_backup backup_verify role_dr_test role_schedule \
                    supervisor_status module_log_analysis http_check role_notify
security-tests: collection stack-up
	PYTHONPATH=$(COLLECTIONS) $(BIN)/pytest -q -p no:cacheprovider $(SECURITY_UNITS)
	$(MAKE) --no-print-directory integration TARGETS="$(SECURITY_TARGETS)"

# The scenarios on the local stack; the docker scenario is docker-tests.
molecule: collection stack-up
	@# a scenario stopped half-way keeps molecule's "prepared" state: reset, so that prepare always runs
	$(BIN)/molecule reset --scenario-name default
	$(BIN)/molecule test --scenario-name default
	$(BIN)/molecule test --scenario-name fleet

docker-stack-up: venv
	$(DOCKER_STACK) up

docker-stack-down:
	$(DOCKER_STACK) down

docker-stack-status: venv
	$(DOCKER_STACK) status

# The runbook's real setup (molecule/docker): runs when a private Docker engine can start here.
# When it cannot, it says why and is skipped, except under CI=true, where that is a failure.
docker-tests: collection
	@if reason=$$($(DOCKER_STACK) check); then \
	    echo "$$reason"; \
	    $(BIN)/molecule reset --scenario-name docker; \
	    $(BIN)/molecule test --scenario-name docker; \
	else \
	    echo "************************************************************************"; \
	    echo "docker-tests SKIPPED: $$reason"; \
	    echo "************************************************************************"; \
	    if [ "$${CI:-}" = true ]; then echo "docker-tests: CI must run the docker suite" >&2; exit 1; fi; \
	fi

clean: stack-down
	rm -rf $(ROOT)/.build

FORCE:
