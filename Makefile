# Tanpuhui: one command runs the platform, one runs every test. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PORT ?= 8000

.PHONY: run test setup setup-test browser topology translations lint format migrate clean

## run: set up, migrate the embedded SQLite database, add demo data on first start, serve on :8000
## beside the scheduler (stopped when the web server stops); a day of partner data and one demo
## bank (consent, summary, verified statement) are played against it (instance/simulate.log)
run: setup
	$(BIN)/tanpuhui db upgrade
	$(BIN)/tanpuhui seed-demo --if-empty
	$(BIN)/tanpuhui scheduler & scheduler=$$!; \
	  mkdir -p instance; { $(BIN)/tanpuhui simulate --demo --url http://127.0.0.1:$(PORT); \
	    $(BIN)/tanpuhui simulate-bank --url http://127.0.0.1:$(PORT) \
	      --credentials-file instance/demo-bank.json; } >instance/simulate.log 2>&1 & \
	  trap 'kill $$scheduler 2>/dev/null; wait $$scheduler' EXIT; \
	  $(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

## test: set up (test tools and chromium too), lint, then the whole suite on SQLite and PostgreSQL
test: setup-test browser topology
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	TANPUHUI_TEST_POSTGRES_URL=$${TANPUHUI_TEST_POSTGRES_URL-$(TEST_POSTGRES_URL)} $(BIN)/pytest $(PYTEST_ARGS)

## setup: a virtualenv with the platform installed and its translations compiled
setup: $(VENV)/.installed translations

setup-test: $(VENV)/.installed-test translations

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml tests/plugins/third_party_dist/pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	# A third-party methodology distribution the end-to-end tests credit (tests/plugins/third_party)
	$(BIN)/pip install --quiet --no-deps -e tests/plugins/third_party_dist
	touch $@

## translations: compile the message catalogues (Simplified Chinese, English)
translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d app/translations -f --statistics 2>&1 | tail -n 2

## browser: Debian's chromium and CJK fonts for the browser tests (skipped where apt-get is not ours)
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null) \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium is not installed: browser tests will be skipped"; fi; }

## topology: Debian's HAProxy and PgBouncer for the production topology's test and load benchmark
## (skipped where apt-get is not ours)
topology:
	@{ command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy; } && \
	  { command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      haproxy pgbouncer >/dev/null) \
	      || echo "haproxy and pgbouncer could not be installed: topology tests will be skipped"; \
	  else echo "haproxy and pgbouncer are not installed: topology tests will be skipped"; fi; }

## extract-messages: refresh the catalogues after changing UI text
extract-messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l en \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l zh_Hans_CN \
	  --no-fuzzy-matching --ignore-obsolete -w 100  # the Chinese catalogue keeps 100-column lines

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache
