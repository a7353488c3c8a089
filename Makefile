# Two commands on a fresh machine with only Python 3.11 and pip:
#   make demo   — create .venv, install everything, run the whole path offline
#   make test   — same install, then ruff and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEEP_TESTS = $(wildcard tests/test_deep_*.py)

.PHONY: install demo test lint lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: install
	$(BIN)/mlpilot demo --project build/demo

# The whole suite on the default Keras backend (JAX), then the neural-network tests again on
# TensorFlow, the book's backend.
test: install lint
	$(BIN)/python -m pytest -q
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q -p no:cacheprovider $(DEEP_TESTS)

lint: install
	$(BIN)/ruff check src tests benchmarks

# Re-pin every dependency (run after changing pyproject.toml's dependencies).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet ".[dev]"
	.lock-venv/bin/python -m pip freeze --exclude mlpilot | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
