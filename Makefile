# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/yiwuyima_test
export TEST_REDIS ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-embedded test-real test-slow bench lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Embedded default: SQLite in instance/, in-process Redis, jobs inline, demo data.
run: install
	$(VENV)/bin/flask --app app db upgrade
	$(VENV)/bin/flask --app app demo
	$(VENV)/bin/flask --app app run --host 0.0.0.0 --port 5000

# Fast suite twice: embedded (SQLite + in-process Redis), then real PostgreSQL + Redis.
test: install test-embedded test-real

test-embedded:
	$(VENV)/bin/pytest -m "not slow"

test-real:
	TEST_DATABASE_URL=$(TEST_PG_URL) TEST_REDIS_URL=$(TEST_REDIS) $(VENV)/bin/pytest -m "not slow"

test-slow: install
	TEST_DATABASE_URL=$(TEST_PG_URL) TEST_REDIS_URL=$(TEST_REDIS) $(VENV)/bin/pytest -m slow; \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "no slow tests"; exit 0; else exit $$rc; fi

bench: install
	$(PY) bench/run_all.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
