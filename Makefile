# Two commands for a new user: `make demo` and `make test`. Each builds .venv itself.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/simulator$(if $(PYTHONPATH),:$(PYTHONPATH))
# Never let a developer's real AWS settings leak into the simulator runs.
export AWS_CONFIG_FILE := /dev/null
export AWS_SHARED_CREDENTIALS_FILE := /dev/null

.PHONY: venv test test-simulator demo clean

venv: $(STAMP)

$(STAMP): requirements/dev.txt scripts/find-python.sh
	@test -x $(PY) || "$$(./scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

test: venv test-simulator

test-simulator: venv
	$(PY) -m pytest tests/simulator -n 2 -q

demo: venv
	$(PY) scripts/demo.py

clean:
	rm -rf $(VENV) tests/output .pytest_cache
