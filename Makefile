VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint bench screenshots clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/rcm demo

test: bootstrap lint
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=10

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy chain tokens oracle market service sim rcm risk examples

bench: bootstrap
	$(BIN)/python benchmarks/gas.py --json

# The README's pictures of the dashboard, retaken by its browser test.
screenshots: bootstrap
	RCM_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/service/test_dashboard_browser.py

clean:
	rm -rf $(VENV) node_modules build
