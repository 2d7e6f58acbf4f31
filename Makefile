# sohoa — two commands do all the set-up on a fresh Debian 12 machine:
#   make run    installs what is missing, creates the data home, ingests the sample scans
#   make test   installs what is missing and runs the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_HOME ?= sohoa-data
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie poppler-utils fonts-liberation2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench system-deps clean

run: system-deps $(VENV)/.installed
	$(BIN)/sohoa --home $(DATA_HOME) init
	$(BIN)/python -m tests.fixtures.scans --out $(DATA_HOME)/samples
	$(BIN)/sohoa --home $(DATA_HOME) ingest $(DATA_HOME)/samples/*
	$(BIN)/sohoa --home $(DATA_HOME) search "văn bản điện tử"
	@echo
	@echo "Kho dữ liệu: $(DATA_HOME)   Tìm kiếm: $(BIN)/sohoa --home $(DATA_HOME) search \"từ khóa\""

test: system-deps $(VENV)/.installed
	$(BIN)/python -m pytest

bench: system-deps $(VENV)/.installed
	$(BIN)/python bench/pipeline_cpu.py --pages 16

# Debian packages, installed only when missing (apt-get update first, once).
system-deps:
	@if ! command -v dpkg-query >/dev/null; then \
	  echo "Không phải Debian/Ubuntu: hãy tự cài $(APT_PACKAGES)"; exit 0; fi; \
	missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Cài các gói hệ thống còn thiếu:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
