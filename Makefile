# The two commands of the README: `make run` (the default scenario) and `make test` (the suite).
# Both build the virtual environment they need on first use; nothing else is set up by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := test,sweep,cluster,app,analysis
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast venv browser clean

run: $(STAMP)            ## the 2024 Amnok scenario, 1,000 worlds; pass overrides with ARGS="..."
	$(BIN)/aidsim $(ARGS)

test: $(STAMP) browser   ## the whole suite, slow tests included (what CI runs)
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP)      ## the suite without slow tests and browser tests
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "aidsim needs Python >= 3.12; found " + sys.version.split()[0] + " (set PYTHON=python3.12)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $@

browser:                 ## Debian's Chromium for the browser tests (Playwright cannot download its own here); the page's files come from solara-assets
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache
