# The two commands a new user needs: `make app` (install + run) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install app test lint bench bench-scale build

$(BIN)/kb: pyproject.toml
	PYTHON=$(PY) bash scripts/install.sh $(VENV)
	touch $(BIN)/kb

install: $(BIN)/kb

app: install
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.headless true --browser.gatherUsageStats false

test:
	bash scripts/setup_test_env.sh $(VENV)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -rs

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

build: install
	$(BIN)/kb build

bench: install
	$(BIN)/python -m bench.run_all

bench-scale: install
	$(BIN)/python -m bench.run_all --scale
