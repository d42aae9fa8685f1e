# Two commands for a fresh machine: `make demo` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: demo test lint serve runtime-image clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The server with the built-in medical scenarios, their baselines scored, on embedded defaults.
demo: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py load_demo
	@echo "Serving on http://localhost:$(PORT)/"
	$(BIN)/daphne -b 0.0.0.0 -p $(PORT) config.asgi:application

serve: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/daphne -b 0.0.0.0 -p $(PORT) config.asgi:application

# The whole suite. Uses DATABASE_URL / REDIS_URL when set (CI sets both).
test: $(VENV)/.installed-test
	$(BIN)/pytest

# Style and types: ruff (pyflakes, pycodestyle, bugbear, isort, Django rules, complexity) and mypy
# with the Django and DRF stubs, both configured in pyproject.toml. CI runs it before the tests.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy

runtime-image:
	sandbox/runtime/build

clean:
	rm -rf var/ test-artifacts/
