# mlgate — the two commands a new user needs:
#   make demo   generate a project with the default answers and run its pipeline end to end
#   make test   run the test suite (what CI runs)
# Needs only python3, git and make: uv is bootstrapped into .uv/ when it is not installed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.uv/bin/uv)
BUILD := $(CURDIR)/build
WHEELS := $(BUILD)/wheel
DEMO := $(BUILD)/demo
PYTEST_ARGS ?=
# outside the checkout: generated projects must not sit inside this git repository
PYTEST_TMP ?= $(or $(TMPDIR),/tmp)/mlgate-pytest

.PHONY: help setup demo test test-quick lint lint-env docs bench release clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(CURDIR)/.uv/bin/uv:
	python3 -m venv .uv
	.uv/bin/pip install --quiet "uv==$(UV_VERSION)"

setup: $(if $(findstring /.uv/,$(UV)),$(CURDIR)/.uv/bin/uv) ## install mlgate and its development tools into .venv
	$(UV) sync --locked --all-extras

wheel: setup
	@# same version, new code: drop uv's cached copies of mlgate so the demo installs this checkout
	$(UV) cache clean mlgate
	rm -rf $(WHEELS) && $(UV) build --wheel --quiet --out-dir $(WHEELS)

demo: wheel ## generate build/demo/fraud-detection with the default answers, run its pipeline and its gates
	rm -rf $(DEMO)
	UV_FIND_LINKS=$(WHEELS) $(UV) run cookiecutter . --no-input --output-dir $(DEMO)
	cd $(DEMO)/fraud-detection && UV_FIND_LINKS=$(WHEELS) $(MAKE) --no-print-directory setup pipeline validate UV=$(UV)
	@echo
	@echo "Demo project: $(DEMO)/fraud-detection"
	@echo "  metrics:    $(DEMO)/fraud-detection/metrics.json"
	@echo "  registry:   $(DEMO)/fraud-detection/mlruns.db (mlflow ui --backend-store-uri sqlite:///mlruns.db)"
	@echo "  gates:      $(DEMO)/fraud-detection/.mlgate/reports/ (validate-data, drift, eval-gate: JSON + Markdown)"
	@echo "  data docs:  $(DEMO)/fraud-detection/gx/uncommitted/data_docs/local_site/index.html"

test: setup ## the full test suite (unit, template matrix, act workflow runs)
	$(UV) cache clean mlgate  # generated projects must install this checkout, not a cached 0.1.0
	@# a private temp root: other pytest sessions on the machine never prune it mid-run
	mkdir -p $(PYTEST_TMP)
	$(UV) run pytest -n 2 --dist loadgroup --basetemp=$(PYTEST_TMP)/full $(PYTEST_ARGS)

test-quick: setup ## unit tests and the default project only: no act runs, no slow tests
	$(UV) cache clean mlgate
	mkdir -p $(PYTEST_TMP)
	MLGATE_QUICK=1 $(UV) run pytest -m "not slow" --basetemp=$(PYTEST_TMP)/quick $(PYTEST_ARGS)

# only the `lint` group and mlgate's core (no extras, no pyspark/GX/MLflow); --inexact keeps whatever
# `make setup` installed, so `make lint` then `make test` reinstalls nothing
LINT_RUN := $(UV) run --no-sync

lint-env: $(if $(findstring /.uv/,$(UV)),$(CURDIR)/.uv/bin/uv)
	$(UV) sync --locked --inexact --no-default-groups --group lint

lint: lint-env ## ruff, mypy --strict, zizmor, actionlint, generated docs up to date
	$(LINT_RUN) ruff check src tests tools benchmarks hooks
	$(LINT_RUN) ruff format --check src tests tools benchmarks
	$(LINT_RUN) mypy src
	$(LINT_RUN) zizmor --offline --no-progress actions .github/workflows
	$(LINT_RUN) actionlint .github/workflows/*.yml
	$(LINT_RUN) python tools/docgen.py --check
	$(LINT_RUN) python tools/options_table.py --check

docs: setup ## build the documentation site into build/site (strict)
	$(UV) run mkdocs build --strict --site-dir $(BUILD)/site

bench: setup ## run every benchmark in quick mode and print its figures
	for b in benchmarks/*.py; do echo "== $$b"; $(UV) run python "$$b" --quick; done

release: setup ## VERSION=X.Y.Z: bump every place the version lives, re-lock, regenerate docs, check
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z"; exit 2; }
	$(UV) run python tools/release.py bump $(VERSION)
	$(UV) lock
	$(UV) run mlgate config schema --output schema/mlgate.schema.json
	$(UV) run python tools/docgen.py --write
	$(UV) run python tools/options_table.py --write
	$(UV) run python tools/release.py check
	@echo
	@echo "Next: review the diff, then"
	@echo "  git commit -am 'release v$(VERSION)' && git tag -a v$(VERSION) -m v$(VERSION) && git push origin main v$(VERSION)"
	@echo "The tag runs .github/workflows/release.yml (build, test, attest, PyPI, GitHub release)."

clean:
	rm -rf $(BUILD) .uv
