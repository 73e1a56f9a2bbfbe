# Two commands do all set-up: `make run` (the app) and `make test` (the suite).
# Both create .venv and install everything from this repo's files on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PIP    := $(PY) -m pip -q --disable-pip-version-check

.PHONY: install run test lint unit clean-index

$(STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	# torch first and pinned: 2.13.0 is the CPU build; an unpinned torch would pull a multi-GB CUDA build
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/rag serve

lint: install
	$(VENV)/bin/ruff check rag ui tests bench train
	$(VENV)/bin/mypy rag ui

test: lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

unit: install
	$(PY) -m pytest -q -m "not model and not browser"

clean-index:
	rm -rf index
