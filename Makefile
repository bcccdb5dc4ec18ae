# The two commands a new user needs: `make app` (install + run) and `make test`.
# While developing: `make test-fast` (no browser, no fine-tuning, no full-corpus build or server).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install app test test-fast lint bench bench-scale build

$(BIN)/kb: pyproject.toml
	PYTHON=$(PY) bash scripts/install.sh $(VENV)
	touch $(BIN)/kb

install: $(BIN)/kb

app: install
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.headless true --browser.gatherUsageStats false

test:
	bash scripts/setup_test_env.sh $(VENV)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -rs --durations=15

# Needs the test dependencies (`make test` installs them once); VENV=path uses another venv.
test-fast:
	$(BIN)/python -m pytest -q -rs -m "not slow and not browser" --durations=15

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

build: install
	$(BIN)/kb build

bench: install
	$(BIN)/python -m bench.run_all

bench-scale: install
	$(BIN)/python -m bench.run_all --scale
