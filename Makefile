# The two Quickstart commands (README.md) and a few helpers. Needs python3 >= 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
# Every plugin distribution in plugins/ (installed, not enabled: crmkit.toml enables them).
PLUGINS := $(foreach p,$(wildcard plugins/*/pyproject.toml),-e $(dir $(p)))
# setuptools warns on every editable install ("be careful with folders named like your
# package"): the warning is about running from a checkout, which is what we do; keep it out.
PIP    := PYTHONWARNINGS=ignore $(BIN)/pip

.PHONY: demo demo-reset test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(PIP) install --quiet -e '.[postgres]' $(PLUGINS)

install-test: $(BIN)/python
	$(PIP) install --quiet -e '.[postgres,test,bench]' -e tests/plugins/crmkit-testplugins $(PLUGINS)

# Install, create the demo deployment (window company, SQLite) unless ./demo holds one
# (your edits to it stay; `make demo-reset` starts over), print an API token for its admin
# and serve it at http://127.0.0.1:8000/ until Ctrl-C.
demo: install
	@if [ -f $(DEMO)/crmkit.toml ]; then \
	    echo "Using the existing ./$(DEMO) (make demo-reset recreates it with fresh demo data)"; \
	else $(BIN)/crmkit demo $(DEMO); fi
	@echo "API token for olivia.grant@brightwindows.example (admin):"
	@$(BIN)/crmkit --config $(DEMO)/crmkit.toml users token olivia.grant@brightwindows.example --name demo | tail -1
	$(BIN)/crmkit --config $(DEMO)/crmkit.toml serve

demo-reset: install
	$(BIN)/crmkit demo $(DEMO) --force

# Install the test dependencies and run the whole suite (PostgreSQL too when
# CRMKIT_TEST_POSTGRES_URL is set, as .ci/run does).
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
