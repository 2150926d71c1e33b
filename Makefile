# `make run` starts the app on a fresh machine (SQLite, no other setup); `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# PORT=N picks the port; by default `make run` (8501) and `make demo` (8502) can run side by side.
RUN_PORT = $(or $(PORT),8501)
DEMO_PORT = $(or $(PORT),8502)
# The address the app listens on: this machine only, unless exposed deliberately
# (e.g. TEXTEDIT_BIND=0.0.0.0; see README, Configuration). Not HOST: tcsh exports that as the host name.
TEXTEDIT_BIND ?= 127.0.0.1

.PHONY: messages run dev demo cluster bench bench-editor bench-edit bench-gc bench-failover bench-browsers bench-signups bench-flood lint typecheck test test-core test-pages test-browser mutate migrate check-ledger clean

# Installed with uv when pip can fetch it (seconds, with progress), else with pip; INSTALLER=pip
# uses pip only. Both take their packages from where pip is configured to (tools/install_requirements.py).
INSTALL_REQUIREMENTS = $(PY) tools/install_requirements.py$(if $(filter pip,$(INSTALLER)), --pip)
$(VENV)/.installed: requirements.txt
	@echo "Installing dependencies into $(VENV) (first run, under a minute)..."
	$(PYTHON) -m venv $(VENV)
	$(INSTALL_REQUIREMENTS) requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(INSTALL_REQUIREMENTS) requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m textedit_core migrate
	$(PY) -m streamlit run serve.py --server.port $(RUN_PORT) --server.address $(TEXTEDIT_BIND)

# `make run` for development: the page reruns when a source file is saved (the file watcher and
# runOnSave are off in .streamlit/config.toml, which `make run` and `make demo` use).
dev: $(VENV)/.installed
	$(PY) -m textedit_core migrate
	$(PY) -m streamlit run serve.py --server.port $(RUN_PORT) --server.address $(TEXTEDIT_BIND) \
		--server.fileWatcherType auto --server.runOnSave true

# A separate demo database with realistic data; never touches the main one.
DEMO_ENV = TEXTEDIT_DATABASE_URL=sqlite:///demo-data/demo.db TEXTEDIT_DATA_DIR=demo-data TEXTEDIT_DEMO_MODE=true
demo: $(VENV)/.installed
	$(DEMO_ENV) $(PY) -m textedit_core seed-demo --port $(DEMO_PORT)
	$(DEMO_ENV) $(PY) -m streamlit run serve.py --server.port $(DEMO_PORT) --server.address $(TEXTEDIT_BIND)

# Several app servers behind nginx on this machine, on one PostgreSQL (TEXTEDIT_DATABASE_URL):
# README, Behind a reverse proxy (CLUSTER_ARGS="--servers 3 --port 8090").
cluster: $(VENV)/.installed
	$(PY) deploy/run_cluster.py $(CLUSTER_ARGS)

# Admin queries and exports at 100,000 users / 1,000,000 transactions (BENCH_ARGS=--postgres URL).
bench: $(VENV)/.installed-dev
	$(PY) bench/admin_scale.py $(BENCH_ARGS)

bench-editor: $(VENV)/.installed-dev
	$(PY) bench/editor_page.py

bench-edit: $(VENV)/.installed-dev
	$(PY) bench/edit_path.py $(BENCH_ARGS)

# Streamlit's collection after every script run against runner.postScriptGC = false and gc.freeze():
# rerun latency with 10 signed-in sessions and memory per session.
bench-gc: $(VENV)/.installed-dev
	$(PY) bench/server_gc.py $(BENCH_ARGS)

# One of three stand-in Ollama hosts killed under load: answered or refunded, no double charge,
# the dead host out within one health interval (BENCH_ARGS=--postgres URL: a process per user).
bench-failover: $(VENV)/.installed-dev
	$(PY) bench/failover.py $(BENCH_ARGS)

# 10 Chromium users x 3 edits against one app server with a 1 s stand-in model (needs Debian's chromium).
bench-browsers: $(VENV)/.installed-dev
	$(PY) bench/browsers.py $(BENCH_ARGS)

# 32 sign-ups at once through the running app: the server's peak memory above idle, the
# accounts created and the sign-ups refused (BENCH_ARGS=--signups N or --app-dir another checkout).
bench-signups: $(VENV)/.installed-dev
	$(PY) bench/signup_flood.py $(BENCH_ARGS)

# One page floods its websocket: health and another page's run, with the limits and without.
bench-flood: $(VENV)/.installed-dev
	$(PY) bench/ws_flood.py $(BENCH_ARGS)

migrate: $(VENV)/.installed
	$(PY) -m textedit_core migrate

check-ledger: $(VENV)/.installed
	$(PY) -m textedit_core check-ledger

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy over textedit_core (settings in pyproject.toml [tool.mypy]).
typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy

test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

test-core: $(VENV)/.installed-dev
	$(PY) -m pytest tests/core $(PYTEST_ARGS)

test-pages: $(VENV)/.installed-dev
	$(PY) -m pytest tests/pages $(PYTEST_ARGS)

test-browser: $(VENV)/.installed-dev
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

# Mutation testing of money, billing, tokens, sessions, throttle and exports against tests/core
# (pyproject.toml [tool.mutmut]); PostgreSQL tests run too when TEXTEDIT_TEST_POSTGRES_URL is set.
# Results are kept in mutants/ (resumable; `$(VENV)/bin/mutmut browse` to inspect survivors).
MUTATE_CHILDREN ?= 2
mutate: $(VENV)/.installed-dev
	$(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN)
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache mutants

# Translations: extract every marked string (_, ngettext, N_) and merge it into the Russian
# catalogue (new entries come in empty; tests/test_translations.py fails until they are filled).
LOCALE_DIR = textedit_core/locale
messages: $(VENV)/.installed-dev
	$(VENV)/bin/pybabel extract --no-location --sort-output --omit-header --width=100 -o $(LOCALE_DIR)/textedit.pot \
		app.py serve.py app_pages textedit_core
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --width=100 -D textedit \
		-i $(LOCALE_DIR)/textedit.pot -d $(LOCALE_DIR) -l ru
