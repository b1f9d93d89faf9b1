# The two commands of the quickstart: `make demo` and `make test`.
# Only Python 3.11 needs to be present: uv is bootstrapped from PyPI if missing.
PYTHON ?= python3
UV := $(PYTHON) -m uv
SHELL := /bin/bash

.PHONY: demo test test-postgres lint typecheck bootstrap install assets browser bench

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user "uv>=0.5" || $(PYTHON) -m pip install --quiet "uv>=0.5"

install: bootstrap
	$(UV) sync --frozen

NHSUK_CSS := .assets/nhsuk/nhsuk-frontend.min.css
# The FHIR R4 element definitions and required value sets the validator reads, from the npm `fhir`
# package (src/careweave/fhir/r4/generate.py)
FHIR_R4 := .assets/fhir-r4/definitions.json

assets:
	@if [ ! -d node_modules/nhsuk-frontend ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	@$(MAKE) --no-print-directory $(NHSUK_CSS) $(FHIR_R4)

# The NHS.UK styles without the web font from assets.nhs.uk (see src/careweave/web/scss/nhsuk.scss).
$(NHSUK_CSS): src/careweave/web/scss/nhsuk.scss package-lock.json
	@mkdir -p $(dir $@)
	npx --no-install sass --no-source-map --style=compressed --quiet-deps --load-path=node_modules $< $@

$(FHIR_R4): src/careweave/fhir/r4/generate.py package-lock.json
	$(UV) run --frozen python -m careweave.fhir.r4.generate --write

# Browser tests use Debian's chromium (never a downloaded browser); installed here when missing and we may.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium"; fi

demo: install assets
	$(UV) run --frozen careweave demo

test: install assets browser
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports
	$(UV) run --frozen pytest -q

# The population engines touch no database, so their Spark cases run once, in `make test`.
test-postgres: install assets browser
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(UV) run --frozen pytest -q -m "not spark"

lint: install
	$(UV) run --frozen ruff check src tests bench

typecheck: install
	$(UV) run --frozen mypy

bench: install
	$(UV) run --frozen python bench/bench_synth.py --people 20000
	$(UV) run --frozen python bench/bench_import.py --people 2000
	$(UV) run --frozen python bench/bench_segment.py --people 100000 --engine duckdb
	$(UV) run --frozen python bench/bench_lca.py
