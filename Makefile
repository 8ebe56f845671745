# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# No command echo: `make run`'s stdout is the one JSON line of `backinstock dev`.
.SILENT:
.PHONY: run test bench migrate shell-env promtool chromium clean

# Set-up output goes to stderr for the same reason.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) >&2
	$(BIN)/pip install -q --upgrade pip >&2

# `run` gets the embedded servers only (the `dev` extra); `test` the test tools too.
$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev]' >&2
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev,test]' >&2
	touch $@

run: $(VENV)/.installed-dev
	$(BIN)/backinstock dev

# promtool checks deploy/prometheus/alerts.yml (tests/test_monitoring.py):
# Debian's prometheus package, installed once when missing (CI runs as root).
promtool:
	command -v promtool >/dev/null 2>&1 || { \
	  echo "installing promtool (Debian package prometheus)" >&2; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq >&2 && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus >&2; }

# The public pages' and the widget's browser tests drive Debian's Chromium
# (tests/browser_setup.sh installs it once, when /usr/bin/chromium is missing).
chromium:
	sh tests/browser_setup.sh

# Parallel over TEST_WORKERS xdist workers (each its own template database and
# Redis db = TEST_REDIS_URL's db + worker index); TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 4
test: $(VENV)/.installed-test promtool chromium
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

migrate: $(VENV)/.installed-dev
	$(BIN)/backinstock migrate

# eval "$$(make shell-env)": DATABASE_URL, REDIS_URL, … of a running `make run`.
shell-env: $(VENV)/.installed-dev
	$(BIN)/backinstock shell-env

clean:
	rm -rf $(VENV) .data *.egg-info .pytest_cache
	find . -path ./.git -prune -o -name __pycache__ -type d -exec rm -rf {} +
