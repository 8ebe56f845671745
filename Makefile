# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench migrate chromium clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/backinstock dev

# The public pages' browser tests drive Debian's Chromium (tests/browser_setup.sh
# installs it once, when /usr/bin/chromium is missing).
chromium:
	sh tests/browser_setup.sh

test: $(VENV)/.installed chromium
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python -m bench

migrate: $(VENV)/.installed
	$(BIN)/backinstock migrate

clean:
	rm -rf $(VENV) .data
