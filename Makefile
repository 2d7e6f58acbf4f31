# sohoa — two commands do all the set-up on a fresh Debian 12 machine:
#   make run    installs what is missing, creates the data home and a first administrator, drops
#               the sample scans in an inbox, and runs sohoa serve (web application + watch service)
#   make test   installs what is missing and runs the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_HOME ?= sohoa-data
# where the web application listens: this machine only; make run BIND=0.0.0.0:8000 opens it to the LAN
BIND ?= 127.0.0.1:8000
ADMIN_PASSWORD := $(DATA_HOME)/mat-khau-quan-tri.txt
# softhsm2: the PKCS#11 token the signing tests create (as a real agency USB token would be);
# chromium: the browser the web tests drive through Playwright (never a downloaded one)
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie poppler-utils fonts-liberation2 softhsm2 chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench bench-quick bench-ocr bench-search bench-extraction bench-intake bench-cli system-deps clean

run: system-deps $(VENV)/.installed
	$(BIN)/sohoa --home $(DATA_HOME) init
	$(BIN)/python -m tests.fixtures.scans --out $(DATA_HOME)/samples
	@# the sample scans dropped into an inbox, as a clerk would: the service takes them at start
	cp $(DATA_HOME)/samples/* $(DATA_HOME)/inbox/luu-tru/
	@# the first administrator, when the home has no user yet: a generated password in a file
	@# only the owner reads (never on a command line, never in the terminal's scrollback)
	@if $(BIN)/sohoa --home $(DATA_HOME) user list --json | grep -qx '\[\]'; then \
	  ( umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(12))" > $(ADMIN_PASSWORD) ) && \
	  $(BIN)/sohoa --home $(DATA_HOME) user add quantri --role quản-trị --clearance tuyệt-mật --password-stdin \
	    < $(ADMIN_PASSWORD); \
	fi
	@echo
	@echo "Đã thả các bản quét mẫu vào $(DATA_HOME)/inbox/luu-tru/. Ở cửa sổ khác, thử:"
	@echo "  $(BIN)/sohoa --home $(DATA_HOME) status"
	@echo "  $(BIN)/sohoa --home $(DATA_HOME) search \"văn bản điện tử\""
	@if [ -f $(ADMIN_PASSWORD) ]; then \
	  echo "Trang web: mở địa chỉ in dưới đây, đăng nhập tên quantri, mật khẩu trong tệp $(ADMIN_PASSWORD)"; \
	  echo "  (chỉ chủ máy đọc được). Đổi mật khẩu: $(BIN)/sohoa --home $(DATA_HOME) user password quantri"; \
	  echo "  rồi xóa tệp đó. Thêm người dùng: $(BIN)/sohoa --home $(DATA_HOME) user add TÊN --role cán-bộ"; \
	fi
	@echo
	$(BIN)/sohoa --home $(DATA_HOME) serve --bind $(BIND)

test: system-deps $(VENV)/.installed
	@# the layer contract first (pyproject's [tool.importlinter]): imports only run downwards
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

# CPU and throughput beside the OCR floor (the loaded libtesseract, same pages, same run) and
# the tesseract command as a second reference; signing beside pyHanko. See bench/README.md.
bench: system-deps $(VENV)/.installed
	$(BIN)/python bench/pipeline_cpu.py --pages 16
	$(BIN)/python bench/signing.py --documents 20
	$(BIN)/python bench/watch_throughput.py --documents 100

# Each bench's short mode (a minute or two each): checks they run and print sane figures.
bench-quick: system-deps $(VENV)/.installed
	$(BIN)/python bench/pipeline_cpu.py --pages 4 --rounds 1
	$(BIN)/python bench/watch_throughput.py --quick
	$(BIN)/python bench/ocr_accuracy.py --quick
	$(BIN)/python bench/search_quality.py --quick
	$(BIN)/python bench/search_speed.py --quick
	$(BIN)/python bench/extraction.py --quick
	$(BIN)/python bench/signing.py --documents 3

# OCR accuracy against plain Tesseract and OCRmyPDF. OCRmyPDF is only a reference: it lives
# in its own environment with the Debian tools it needs (ghostscript, unpaper for --clean).
bench-ocr: system-deps $(VENV)/.installed
	@for p in ghostscript unpaper; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	  || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$p; done
	[ -x bench/.venv-ocrmypdf/bin/ocrmypdf ] || { $(PYTHON) -m venv bench/.venv-ocrmypdf && bench/.venv-ocrmypdf/bin/pip install -q ocrmypdf; }
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/ocr_accuracy.py --ablation

# Search: quality of the labelled query set, then speed at 100,000 and 1,000,000 generated
# documents (Tantivy; Whoosh at 100,000 for comparison). The speed part takes tens of minutes.
bench-search: system-deps $(VENV)/.installed
	$(BIN)/python bench/search_quality.py
	$(BIN)/python bench/search_speed.py --sizes 100000,1000000 --whoosh-sizes 100000

# Header reading: per-field accuracy on the 45 labelled documents, clean and degraded, the
# tuned and the held-back ones (bench/extraction_heldback.txt) apart, then the labelled real
# scans; extraction time per document. OCRs about 150 pages first (a few minutes on 2 cores).
bench-extraction: system-deps $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/extraction.py

# Watch intake: files per second taken from an inbox the hardened way (no symlink followed,
# hashed and copied from one descriptor, fsynced), beside cp + sha256sum of the same files.
# About 160 MB written on the current folder's disk, under a minute.
bench-intake: system-deps $(VENV)/.installed
	$(BIN)/python bench/intake.py

# CLI start-up: sohoa --version, --help, search --help beside python -c pass (target 0.3 s), ~20 s.
bench-cli: $(VENV)/.installed
	$(BIN)/python bench/cli_startup.py

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
