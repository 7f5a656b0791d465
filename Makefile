# Two commands for a new user: `make demo` and `make test`. Each builds .venv itself.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/simulator$(if $(PYTHONPATH),:$(PYTHONPATH))
# Never let a developer's real AWS settings leak into the simulator runs.
export AWS_CONFIG_FILE := /dev/null
export AWS_SHARED_CREDENTIALS_FILE := /dev/null

.PHONY: venv test test-simulator test-unit test-integration demo bench clean sanity lint collection-tree docs

# ansible-test and ansible-lint run offline on a copy of the collection under build/ (see
# docs/DEVELOPMENT.md): ansible-test only works from <root>/ansible_collections/<ns>/<name>/.
BUILD := build
COLLECTION_DIR := $(BUILD)/ansible_collections/$(shell sed -n 's/^namespace: *//p' galaxy.yml)/$(shell sed -n 's/^name: *//p' galaxy.yml)
SANITY_PYTHON ?= 3.12
SANITY_ARGS ?=
LINT_ARGS ?=
# Where ansible-test --venv looks for its pip bootstrap script, which it cannot download here:
# ~/.ansible/test/cache/get_pip_<pip version>.py (get_pip_25_2.py for ansible-core 2.21).
define GET_PIP_PATH
import os, types, ansible_test._internal.python_requirements as r
v = r.get_venv_packages(types.SimpleNamespace(version="$(SANITY_PYTHON)"))["pip"]
print(os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % v.replace(".", "_")))
endef
export GET_PIP_PATH
# The tools must not see the simulator on PYTHONPATH; ansible-lint wants the venv on PATH.
TOOL_ENV := env -u PYTHONPATH PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

venv: $(STAMP)

$(STAMP): requirements/dev.txt scripts/find-python.sh
	@test -x $(PY) || "$$(./scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

test: venv test-unit test-simulator test-integration sanity lint

# pytest-ansible would build its own collection tree inside the repository: keep it out.
PYTEST := $(PY) -m pytest -q -p no:pytest-ansible

test-unit: venv
	$(PYTEST) tests/unit -n 2

test-simulator: venv
	$(PYTEST) tests/simulator -n 2

test-integration: venv
	$(PYTEST) tests/integration -n 2

# Re-sync the collection copy (only changed files), link amazon.aws beside it, and put the
# offline get-pip stand-in where ansible-test looks for it (a real get-pip script is left alone).
collection-tree: venv
	@$(TOOL_ENV) $(PY) scripts/sync-collection.py $(BUILD) >/dev/null
	@getpip=$$($(PY) -c "$$GET_PIP_PATH") && \
	if [ ! -f "$$getpip" ] || grep -q 'Offline stand-in for the get-pip.py' "$$getpip"; then \
	  cmp -s scripts/ansible-test-get-pip.py "$$getpip" || install -D -m 644 scripts/ansible-test-get-pip.py "$$getpip"; \
	fi

sanity: collection-tree
	cd $(COLLECTION_DIR) && $(TOOL_ENV) "$(CURDIR)/$(VENV)/bin/ansible-test" sanity --venv --python $(SANITY_PYTHON) $(SANITY_ARGS)

lint: collection-tree
	$(TOOL_ENV) ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/$(BUILD)" $(VENV)/bin/ansible-lint $(LINT_ARGS)

demo: venv
	$(PY) scripts/demo.py

# The performance figures and their budgets (docs/PERFORMANCE.md), written to benchmarks/results.json. Heavy:
# about 40 minutes on two cores. `make test` runs it at tiny sizes (tests/integration/test_bench_smoke.py).
bench: venv
	$(PY) scripts/bench.py

# The module reference: a reStructuredText page per module, role and plugin, made by antsibull-docs from their own
# documentation, in build/docs/collections/. The collection is reached through the build/collections symlink tree.
DOCS_DIR ?= $(BUILD)/docs
docs: venv
	@mkdir -p $(BUILD)/collections/ansible_collections/elasticdr
	@test -e $(BUILD)/collections/ansible_collections/elasticdr/orchestration || \
	  ln -s ../../../.. $(BUILD)/collections/ansible_collections/elasticdr/orchestration
	@rm -rf $(DOCS_DIR) && install -d -m 755 $(DOCS_DIR)
	$(TOOL_ENV) ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/$(BUILD)/collections" $(VENV)/bin/antsibull-docs collection \
	  --use-current --dest-dir $(DOCS_DIR) elasticdr.orchestration

clean:
	rm -rf $(VENV) tests/output .pytest_cache $(BUILD)/ansible_collections
