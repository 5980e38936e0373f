VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` listens on this port; `PORT=9000 make run` (or `make run PORT=9000`) changes it.
PORT ?= 8000

.PHONY: install run test bench lint format clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,vision]"
	$(BIN)/pip install --quiet --no-deps "face_recognition>=1.3,<2"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/nebulo db upgrade
	$(BIN)/nebulo demo
	$(BIN)/nebulo serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) instance/*.db*
