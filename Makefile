# Two commands matter: `make demo` and `make test`. Each builds its own virtualenv in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean image image-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/whisperer demo

test: $(STAMP)
	$(BIN)/ruff check bot watchers handlers storage tests bench
	$(BIN)/ruff format --check bot watchers handlers storage tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check --fix bot watchers handlers storage tests bench
	$(BIN)/ruff format bot watchers handlers storage tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/command_latency.py
	$(BIN)/python bench/delivery_faults.py
	$(BIN)/python bench/knowledge.py
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/browser.py
	$(BIN)/python bench/growth.py
	$(BIN)/python bench/ops.py

# The container image (Docker with BuildKit). TARGET=slim|browser; BASE=another base image; LOCAL_BASE=1 makes
# a Debian bookworm base with debootstrap first (for machines that cannot pull from Docker Hub).
TARGET ?= slim
image:
	TARGET=$(TARGET) deploy/image.sh $(TARGET)

# Builds the slim image, runs `whisperer demo` and `whisperer health` in it, checks it runs as non-root and
# that its health check turns healthy. IMAGE_TEST_BROWSER=1 also checks the browser image on a JavaScript page.
image-test:
	deploy/image-test.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
