# Quickstart targets. `make demo` and `make test` each install what they need into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PLUGINS := plugins/pve plugins/pbs plugins/notify_email plugins/notify_webhook plugins/storage_sqlite plugins/notify_apprise
STAMP := $(VENV)/.installed
UI_STAMP := pulse_core/web/static/dist/index.html

.PHONY: venv demo test build-ui clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

build-ui: $(UI_STAMP)

$(UI_STAMP): $(shell find web -type f -not -path '*/node_modules/*' 2>/dev/null)
	@if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund && npm run build; fi

demo: venv build-ui
	$(VENV)/bin/pulse demo

test: venv build-ui
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) pulse_core/web/static/dist web/node_modules
