# Two commands on a fresh machine with python3 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: setup demo serve migrate test test-postgres lint format bench clean

$(STAMP): pyproject.toml
	@echo "== installing into $(VENV): the first run downloads about 600 MB of packages (a minute or more); later runs skip this"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/invoicing demo

serve: setup
	$(BIN)/invoicing migrate
	$(BIN)/invoicing serve

migrate: setup
	$(BIN)/invoicing migrate

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-postgres: setup
	DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test $(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check app sandbox tests bench migrations
	$(BIN)/ruff format --check app sandbox tests bench migrations
	$(BIN)/mypy app sandbox
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff check --fix app sandbox tests bench migrations
	$(BIN)/ruff format app sandbox tests bench migrations

bench: setup
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
