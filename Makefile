VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint bench clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/rcm demo

test: bootstrap lint
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=10

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy chain tokens oracle market service rcm risk examples

bench: bootstrap
	$(BIN)/python benchmarks/gas.py --json

clean:
	rm -rf $(VENV) node_modules build
