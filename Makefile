# The two Quickstart commands (README.md) and a few helpers. Needs python3 >= 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
# Every plugin distribution in plugins/ (installed, not enabled: crmkit.toml enables them), and the
# example product distributions in distributions/ (crmkit init --distribution NAME; docs/distributions.md).
PLUGINS := $(foreach p,$(wildcard plugins/*/pyproject.toml distributions/*/pyproject.toml),-e $(dir $(p)))
# setuptools warns on every editable install ("be careful with folders named like your
# package"): the warning is about running from a checkout, which is what we do; keep it out.
PIP    := PYTHONWARNINGS=ignore $(BIN)/pip

.PHONY: demo demo-reset test install install-test install-deep test-deep coverage bench clean i18n ui-vendor
DEMO_PASSWORD ?= demo-password

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
	    $(BIN)/crmkit --config $(DEMO)/crmkit.toml db upgrade; \
	else $(BIN)/crmkit demo $(DEMO); fi
	@echo "API token for olivia.grant@brightwindows.example (admin):"
	@$(BIN)/crmkit --config $(DEMO)/crmkit.toml users token olivia.grant@brightwindows.example --name demo | tail -1
	@for who in olivia.grant anna.lee tom.baker; do \
	    $(BIN)/crmkit --config $(DEMO)/crmkit.toml users set-password $$who@brightwindows.example --password $(DEMO_PASSWORD) >/dev/null; done
	@echo "Web UI: http://127.0.0.1:8000/  log in as olivia.grant@brightwindows.example (admin), anna.lee@... (manager)"
	@echo "        or tom.baker@... (measurer, try it on a phone) with the password $(DEMO_PASSWORD)"
	$(BIN)/crmkit --config $(DEMO)/crmkit.toml serve

demo-reset: install
	$(BIN)/crmkit demo $(DEMO) --force

# Install the test dependencies and run the whole suite (PostgreSQL too when
# CRMKIT_TEST_POSTGRES_URL is set, as .ci/run does).
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python -m bench $(BENCH_ARGS)

install-deep: install-test
	$(PIP) install --quiet -e '.[postgres,test,bench,deep]'

# The suite's deep mode (docs/reliability.md): schemathesis with 100 examples per operation and long
# stateful runs, field fuzz with 3000 examples, 50 SIGKILLs of a server under write load (SQLite),
# 20 rounds of killed PostgreSQL connections (when CRMKIT_TEST_POSTGRES_URL is set), mutation testing.
# Figures: bench/results/deep.json and bench/results/mutation.json.
DEEP_OUT ?= bench/results/deep.json
test-deep: install-deep
	mkdir -p bench/results && rm -f $(DEEP_OUT)
	CRMKIT_DEEP=1 CRMKIT_DEEP_REPORT=$(DEEP_OUT) $(BIN)/python -m pytest -p no:cacheprovider -q \
	    tests/test_api_schemathesis.py tests/test_api_field_fuzz.py
	$(BIN)/python scripts/crash_safety.py sqlite --kills 50 --out $(DEEP_OUT)
	if [ -n "$$CRMKIT_TEST_POSTGRES_URL" ]; then \
	    $(BIN)/python scripts/crash_safety.py postgres --kills 20 --database "$$CRMKIT_TEST_POSTGRES_URL" --out $(DEEP_OUT); fi
	$(BIN)/python scripts/mutation.py --out bench/results/mutation.json

# The suite under coverage. `coverage run` starts measuring before pytest loads crmkit.testing (a
# pytest plugin, so crmkit is imported before pytest-cov would start): the core is counted whole.
coverage: install-deep
	$(BIN)/python -m coverage run --source=crmkit,crmkit_installments,crmkit_telephony -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m coverage report --skip-covered --sort=cover

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache

# The catalogs (web UI, errors and e-mails, each plugin): extract the strings and update every language (docs/languages.md)
# (then translate the new entries; the UI compiles the .po files when it starts).
i18n: install-test
	scripts/ui-i18n.sh

# Refresh the web UI's vendored JavaScript (pinned versions) and the tests' axe-core from npm.
HTMX_VERSION ?= 2.0.11
SORTABLE_VERSION ?= 1.15.7
AXE_VERSION ?= 4.14.1
ui-vendor:
	rm -rf .ui-vendor && mkdir .ui-vendor
	cd .ui-vendor && npm pack --silent htmx.org@$(HTMX_VERSION) sortablejs@$(SORTABLE_VERSION) axe-core@$(AXE_VERSION) >/dev/null
	cd .ui-vendor && for f in *.tgz; do mkdir -p $${f%.tgz} && tar xzf $$f -C $${f%.tgz}; done
	cp .ui-vendor/htmx.org-$(HTMX_VERSION)/package/dist/htmx.min.js crmkit/ui/static/vendor/htmx-$(HTMX_VERSION).min.js
	cp .ui-vendor/htmx.org-$(HTMX_VERSION)/package/LICENSE crmkit/ui/static/vendor/LICENSE.htmx
	cp .ui-vendor/sortablejs-$(SORTABLE_VERSION)/package/Sortable.min.js crmkit/ui/static/vendor/Sortable-$(SORTABLE_VERSION).min.js
	cp .ui-vendor/sortablejs-$(SORTABLE_VERSION)/package/LICENSE crmkit/ui/static/vendor/LICENSE.sortablejs
	cp .ui-vendor/axe-core-$(AXE_VERSION)/package/axe.min.js tests/ui/vendor/axe-$(AXE_VERSION).min.js
	cp .ui-vendor/axe-core-$(AXE_VERSION)/package/LICENSE tests/ui/vendor/LICENSE.axe-core
	rm -rf .ui-vendor
	@echo "Vendored; a new version's file name must also change in crmkit/ui/templates/base.html and tests/ui/conftest.py"
