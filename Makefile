# Two commands do everything: `make demo` (set up, run the sample city up to the approval in
# Airflow) and `make test` (set up, run every test). Both create .venv on first use.
PYTHON ?= python3.11
PORT ?= 8080
CLUSTER_PORT ?= 8790
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo demo-reset cluster cluster-stop test lint format constraints

$(BIN)/dispenser: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null \
		|| { echo "Dispenser needs Python 3.11: install it or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

install: $(BIN)/dispenser

demo: install
	$(BIN)/dispenser demo --port $(PORT)

# The production topology from .venv: CeleryExecutor, two workers, Redis and PostgreSQL on
# 127.0.0.1 (see "Deploying" in README.md). It keeps running until `make cluster-stop`.
cluster: install
	$(BIN)/dispenser cluster start --port $(CLUSTER_PORT)

cluster-stop: install
	$(BIN)/dispenser cluster stop

demo-reset:
	rm -rf data/airflow data/dispenser.sqlite* data/notifications.jsonl data/sample-city

test: install
	scripts/ensure-postgres.sh
	scripts/ensure-redis.sh
	scripts/ensure-browser.sh
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every package after changing the dependencies in pyproject.toml.
constraints:
	rm -rf .venv-pin && $(PYTHON) -m venv .venv-pin
	.venv-pin/bin/pip install --quiet -e '.[dev]'
	{ echo '# Exact versions of every package, so an install is reproducible. Regenerate after changing'; \
	  echo '# pyproject.toml with: make constraints'; \
	  .venv-pin/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .venv-pin
