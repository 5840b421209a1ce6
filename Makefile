# Two commands do all the set-up on a fresh machine:
#   make run   — kiosk web page with the shipped model on http://127.0.0.1:8000
#   make test  — the whole test suite (installs the [train,dev,keras,llm-local] extras first)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint install install-dev browser-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

# The page's on-device mode runs the model in the browser with onnxruntime-web, fetched once from the npm
# registry (pinned, integrity-checked). Without it the page still works, in server mode.
WEB_RUNTIME := src/skindoctor/web/static/vendor/onnxruntime-web/VERSION
$(WEB_RUNTIME): src/skindoctor/web/browser_runtime.py | $(VENV)/.runtime
	$(BIN)/skindoctor fetch-browser-runtime || echo "on-device mode unavailable: the page runs in server mode"

# llama-cpp-python builds from source once per machine (pip keeps the wheel in its cache).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -e '.[train,dev,keras,llm-local]'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: $(VENV)/.runtime $(WEB_RUNTIME)
	$(BIN)/skindoctor serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium; Korean text needs a CJK font. Installed when running as root.
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "CJK"; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-noto-cjk) || echo "could not install chromium: browser tests will skip"; \
	else echo "chromium or a CJK font is missing (apt-get install chromium fonts-noto-cjk): browser tests will skip"; fi

# pytest exits 5 when nothing was collected; that is not a failure of the product.
test: $(VENV)/.dev $(WEB_RUNTIME) browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

# ruff, configured in pyproject.toml
lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
