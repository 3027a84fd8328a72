# Outpost — developer entry points. See README.md.
SWIFT ?= swift
PIDS_DIR := $(CURDIR)/.build/test-pids

.PHONY: all deps build test test-unit clean

all: build

## deps: install the Debian packages needed to build and test (idempotent).
deps:
	@packaging/dev/install-deps.sh

## build: debug build of both executables.
build: deps
	$(SWIFT) build

## test: every test, against real mosquitto, PostgreSQL and SQLite.
test: deps
	@mkdir -p $(PIDS_DIR)
	@status=0; OUTPOST_TEST_PIDS=$(PIDS_DIR) $(SWIFT) test || status=$$?; \
		packaging/dev/reap-test-processes.sh $(PIDS_DIR); exit $$status

clean:
	$(SWIFT) package clean
