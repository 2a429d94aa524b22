# Two commands do everything (see README):
#   make demo   set up, then run RACT detection on AG News with 30% injected symmetric noise
#   make test   set up, then run the test suite
# Setup installs torch==2.13.0 (CPU build) first, so that nothing pulls a multi-GB CUDA build of torch.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ract-installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/ract detect ag_news --inject-noise symmetric --noise-rate 0.3 --output-dir out/ag_news_sym30

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf out .pytest_cache
