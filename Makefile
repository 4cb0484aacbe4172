# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/yiwuyima_test
export TEST_REDIS ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-embedded test-real test-slow test-browser test-fuzz bench lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Embedded default: SQLite in instance/, in-process Redis, jobs inline, demo data. Serves on
# 127.0.0.1 (the demo's password is public): `make run HOST=0.0.0.0` to expose it.
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo prints its URLs with this port (PUBLIC_BASE_URL from the environment wins).
run: install
	$(VENV)/bin/flask --app app db upgrade
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://localhost:$(PORT)} $(VENV)/bin/flask --app app demo
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://localhost:$(PORT)} LOG_FORMAT=text \
		$(VENV)/bin/flask --app app run --host $(HOST) --port $(PORT)

# Fast suite twice, both at once (they share nothing: the embedded run has SQLite in memory and
# an in-process Redis, the real one PostgreSQL and Redis): each run's output is printed whole
# when it ends, and the target fails if either does.
test: install
	$(MAKE) --no-print-directory -j2 --output-sync=target test-embedded test-real

FAST := not slow and not browser and not fuzz
REAL_ENV := TEST_DATABASE_URL=$(TEST_PG_URL) TEST_REDIS_URL=$(TEST_REDIS)
# pytest exits 5 when a marker selects no test: that is not a failure here.
NO_TESTS_OK := rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; exit 0; else exit $$rc; fi

test-embedded:
	$(VENV)/bin/pytest -m "$(FAST)"

test-real:
	$(REAL_ENV) $(VENV)/bin/pytest -m "$(FAST)"

# Load, crash and fault tests against the real servers (CI: a separate, bounded step).
test-slow: install
	$(REAL_ENV) $(VENV)/bin/pytest -m "slow and not browser and not fuzz"; $(NO_TESTS_OK)

# Pages in Debian's Chromium (apt-get install -y chromium); screenshots in test-artifacts/.
test-browser: install
	$(REAL_ENV) $(VENV)/bin/pytest -m browser; $(NO_TESTS_OK)

# Schemathesis over the OpenAPI document, against the real servers.
test-fuzz: install
	$(REAL_ENV) $(VENV)/bin/pytest -m fuzz; $(NO_TESTS_OK)

bench: install
	$(PY) bench/run_all.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
