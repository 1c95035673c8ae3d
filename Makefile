# Two commands for a new machine: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RUNTIME_STAMP := $(VENV)/.runtime-installed
STAMP := $(VENV)/.installed
REF_VENV := .venv-ref
REF_PY := $(REF_VENV)/bin/python

.PHONY: demo test test-fast lint format docs bench parity-fixtures wheel-check clean env

env: $(STAMP)

# The demo needs only the runtime (torch, typing-extensions), scikit-learn for its bundled data set
# and the package itself; `make test` adds the development tools on top.
$(RUNTIME_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt torch typing-extensions numpy scikit-learn setuptools wheel
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PIP) install --quiet -c constraints.txt -r requirements-dev.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(RUNTIME_STAMP)
	$(PY) examples/train_digits.py

test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory wheel-check

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# The lint and format gate (configured in pyproject.toml): import order, pyflakes, unused arguments,
# and a format check. `make format` applies the formatter and the safe fixes.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Builds the wheel and installs it non-editably into a scratch environment, so that missing package
# data (the API snapshots, py.typed) is caught.
wheel-check: $(STAMP)
	rm -rf build/wheel-check && mkdir -p build/wheel-check
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w build/wheel-check .
	$(PYTHON) -m venv --system-site-packages build/wheel-check/venv
	build/wheel-check/venv/bin/python -m pip install --quiet --no-deps --no-index build/wheel-check/tvexp-*.whl
	cd build/wheel-check && PYTHONPATH=$(CURDIR)/$(VENV)/lib/python3.11/site-packages venv/bin/python $(CURDIR)/.ci/wheel_smoke.py

# The Sphinx site, offline, warnings as errors: HTML into docs/_build/html, then the guide pages'
# examples run as doctests (docstring examples run under pytest --doctest-modules).
SPHINX := $(PY) -m sphinx -W --keep-going -q
docs: $(STAMP)
	$(SPHINX) -b html -d docs/_build/doctrees docs docs/_build/html
	$(SPHINX) -b doctest -d docs/_build/doctrees-doctest docs docs/_build/doctest

$(REF_VENV)/.installed: requirements-ref.txt
	test -x $(REF_PY) || $(PYTHON) -m venv $(REF_VENV)
	$(REF_PY) -m pip install --quiet -r requirements-ref.txt
	touch $@

# Benchmarks (not timed tests): tvexp against torchvision, timm and the bare tensor ops, in the
# reference environment; writes build/bench/results.md and results.png.
$(REF_VENV)/.tvexp-installed: $(REF_VENV)/.installed pyproject.toml
	$(REF_PY) -m pip install --quiet --no-deps -e .
	touch $@

bench: $(REF_VENV)/.tvexp-installed
	$(REF_PY) benchmarks/run.py --out build/bench

parity-fixtures: $(REF_VENV)/.installed
	$(REF_PY) tests/parity/make_fixtures.py

clean:
	rm -rf $(VENV) $(REF_VENV) build dist docs/_build *.egg-info
