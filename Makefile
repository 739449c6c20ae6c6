# Two entry points that work on a machine with only python3 and make:
#   make demo   full audit against the bundled simulator
#   make test   ruff, mypy and pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint typecheck pytest bench clean package container

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/neon-governor demo

# Slack on this machine: the simulator, the fake Slack, the daemon; Alice presses Approve
.PHONY: try-slack
try-slack: $(STAMP)
	$(BIN)/python examples/try_slack.py

lint: $(STAMP)
	$(BIN)/ruff check governor tests benchmarks
	$(BIN)/ruff format --check governor tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

# sweep.py: 100 and 1,000 projects (add 10,000 with BENCH_SIZES=100,1000,10000)
BENCH_SIZES ?= 100,1000
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/sweep.py --sizes $(BENCH_SIZES)
	$(BIN)/python benchmarks/sweep_pacing.py
	$(BIN)/python benchmarks/loop_stall.py
	$(BIN)/python benchmarks/store_upsert.py
	$(BIN)/python benchmarks/consumption_read.py
	$(BIN)/python benchmarks/slack_click_latency.py
	$(BIN)/python benchmarks/startup.py

# the wheel and sdist in dist/, installed into a new venv outside the checkout and run
package:
	bash .ci/package-check

# the image on a Debian base made here (no registry needed), run against the simulator
container:
	bash .ci/container-check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
