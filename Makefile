# Outpost — developer entry points. See README.md.
SWIFT ?= swift
PIDS_DIR := $(CURDIR)/.build/test-pids

.PHONY: all deps build test test-fast test-swift test-prometheus test-api-schema test-console test-live test-chaos test-fuzz test-deb test-vm test-vm-centre deb demo demo-stop demo-ha demo-ha-stop chaos chaos-build chaos-failover bench clean

all: build

## deps: install the Debian packages needed to build and test (idempotent).
deps:
	@packaging/dev/install-deps.sh

## build: debug build of both executables.
build: deps
	$(SWIFT) build

## test: every test: the Swift suites against real mosquitto, PostgreSQL, SQLite, ffmpeg and
## GStreamer, Schemathesis against a live admin API, the console and live view in headless
## Chromium (live view through a real Janus), the quick fault campaign, then (as root, on a
## disposable host such as CI) the Debian package test and the device and centre journeys
## under systemd in qemu VMs.
test: test-swift test-prometheus test-api-schema test-console test-live test-chaos test-fuzz
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) --no-print-directory test-deb && $(MAKE) --no-print-directory test-vm \
		&& $(MAKE) --no-print-directory test-vm-centre; \
	else echo "test-deb, test-vm and test-vm-centre skipped: they install packages and need root (run them in CI)"; fi

# The source folder of every module whose folders must not form a cycle (docs/architecture.md).
MODULE_DIRS = Common/Support Common/Wire Common/MQTT Common/Process Common/Streaming Common/SRTP \
	Agent/Sources/OutpostAgent Aggregator/Sources/OutpostAggregator Tools/Simulator/Sources/OutpostSimulator \
	Tools/LocalServers Tools/Chaos/Sources/ChaosCampaign

## test-fast: the fast tier (docs/testing.md): no folder cycle in any module, then pure logic and
## in-process router tests, no servers, no TLS; Swift Testing runs its suites in parallel (SwiftPM's --parallel is for XCTest and only
## adds a listing pass). About 30 s once built.
FAST_TESTS = AgentTests AggregatorTests SupportTests WireTests MQTTTests StreamingTests SimulatorTests
FAST_FILTER = ^($(subst $(eval) ,|,$(strip $(FAST_TESTS))))\.
test-fast: deps
	@packaging/dev/folder-deps.py --quiet $(MODULE_DIRS)
	@$(SWIFT) test --filter '$(FAST_FILTER)'

## test-swift: every Swift suite: the fast tier in parallel, then the integration tier (real
## servers and processes) in two runs: its suites side by side, at most INTEGRATION_WIDTH tests
## at once, then SERIAL_SUITES one test at a time (docs/testing.md).
# Integration suites (or single tests, `Suite/function`) that need the machine to themselves:
# Patroni clusters (etcd, two PostgreSQL nodes and HAProxy each, on eight consecutive ports found
# by probing; failover gaps measured), real-time media on two cores (RTP receivers, bitrate
# adaptation, SRTP, Janus, recorded segment lengths, network namespaces), latency bounds (ingest
# fairness p99, alert rule windows, the agent process's 8 s graceful stop after a large backlog,
# which once took longer with three tests and a build sharing the cores) and the year-long export,
# which bounds the growth of the test process's own resident memory.
SERIAL_SUITES = PatroniFailoverTests ReadReplicaTests FairnessTests PrometheusAlertTests \
	StreamReceiverTests LiveSourceTests SRTPTests StopStreamTargetTests StreamCommandTests \
	LiveViewEndToEndTests RecordingEndToEndTests RecordingWithLiveViewTests OrphanedEngineTests \
	KilledAggregatorEngineTests RecordingRecoveryTests ReadingsAPITests/exportOfAYearStreams AgentProcessTests
SERIAL_FILTER = \.($(subst $(eval) ,|,$(strip $(SERIAL_SUITES))))\b
# How many integration tests run at once (Swift Testing's experimental width; 1 is one at a
# time): each may start its own PostgreSQL, mosquitto and aggregator, and the machine has two
# cores (docs/testing.md).
INTEGRATION_WIDTH ?= 3
test-swift: deps
	@mkdir -p $(PIDS_DIR)
	@packaging/dev/folder-deps.py --quiet $(MODULE_DIRS)
	@$(SWIFT) test --filter '$(FAST_FILTER)'
	@status=0; export TEST_HARNESS_PIDS_DIR=$(PIDS_DIR); \
		SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(INTEGRATION_WIDTH) $(SWIFT) test --skip '$(FAST_FILTER)|$(SERIAL_FILTER)' \
			|| status=$$?; \
		$(SWIFT) test --no-parallel --filter '$(SERIAL_FILTER)' || status=$$?; \
		packaging/dev/reap-test-processes.sh $(PIDS_DIR); exit $$status
	@packaging/dev/check-agent-footprint.sh

## test-prometheus: `promtool check rules` and `promtool test rules` on the shipped alert rules,
## and the Grafana dashboards: JSON shape and every PromQL query parses (packaging/prometheus/,
## packaging/grafana/). Seconds.
test-prometheus: deps
	@promtool check rules packaging/prometheus/outpost.rules.yml
	@cd packaging/prometheus && promtool test rules outpost.rules.test.yml
	@packaging/dev/check-grafana.py

## test-api-schema: Schemathesis (pinned, from PyPI into a venv under .build/) against a live
## aggregator with every check and phase, as an admin and as a viewer API key; each run is bounded
## by API_SCHEMA_SECONDS (default 150). Configuration: packaging/dev/schemathesis/.
# The two runs go side by side, each on a stack of its own (API_SCHEMA_SIDE_BY_SIDE=0: one after
# the other): 228 s instead of 340 s for the stage, measured back to back at load 8-16, the admin
# run generating a third fewer cases (docs/testing.md, "Where CI time goes").
test-api-schema: deps
	@packaging/dev/api-schema-test.sh

## test-console: the operator console in headless Chromium (Selenium, pinned, in a venv under
## .build/) against a real aggregator, PostgreSQL, mosquitto and three enrolled agents (~2 min).
## Screenshots go to .build/console-test/screenshots.
test-console: deps
	@packaging/dev/console-test.sh

## test-live: live view in headless Chromium through a real Janus (Selenium, pinned, in a venv
## under .build/), in a network namespace with a veth pair; needs root. Figures and screenshots
## go to .build/live-test.
test-live: deps
	@packaging/dev/live-test.sh

## chaos-build: the debug executables the campaigns run. Once per `make` run: test-chaos's three
## campaigns reuse it (`-o chaos-build`) instead of four SwiftPM up-to-date checks each.
chaos-build: deps
	@$(SWIFT) build -q --product outpost-agent && $(SWIFT) build -q --product outpost-simulator \
		&& $(SWIFT) build -q --product outpost-aggregator && $(SWIFT) build -q --product outpost-chaos

## chaos: the fault campaign (docs/chaos.md): 10 minutes of kill -9 of agents, simulators,
## aggregators, mosquitto and PostgreSQL while devices stream, then the exactly-once check.
## QUICK=1: about 2 minutes. SEED=n replays the faults of an earlier run. BROKERS=2: two
## mosquitto brokers. Then chaos-failover, unless FAILOVER=0.
CHAOS_FLAGS = $(if $(filter-out 0 no false,$(QUICK)),--quick) $(if $(SEED),--seed $(SEED)) $(if $(BROKERS),--brokers $(BROKERS))
chaos: chaos-build
	@mkdir -p $(PIDS_DIR)
	@status=0; TEST_HARNESS_PIDS_DIR=$(PIDS_DIR) "$$($(SWIFT) build --show-bin-path)/outpost-chaos" --source-root $(CURDIR) \
		$(CHAOS_FLAGS) || status=$$?; packaging/dev/reap-test-processes.sh $(PIDS_DIR); exit $$status
	@$(if $(filter 0 no false,$(FAILOVER)),true,$(MAKE) --no-print-directory chaos-failover -o chaos-build)

## chaos-failover: the PostgreSQL failover campaign (part of `chaos` and `test-chaos`, ~3 min): the
## fleet on a Patroni cluster (ha/cluster.sh), kill -9 of the leader with the replica streaming,
## then lagging; ingest gap and drain per failover, then the exactly-once check. Unprivileged (as
## root the cluster runs as `postgres`).
chaos-failover: chaos-build
	@mkdir -p $(PIDS_DIR)
	@status=0; TEST_HARNESS_PIDS_DIR=$(PIDS_DIR) "$$($(SWIFT) build --show-bin-path)/outpost-chaos" --source-root $(CURDIR) \
		--failover $(if $(SEED),--seed $(SEED)) || status=$$?; packaging/dev/reap-test-processes.sh $(PIDS_DIR); exit $$status

## test-fuzz: libFuzzer over the wire decoders for FUZZ_SECONDS (default 60; part of `make test`).
test-fuzz: deps
	@packaging/dev/fuzz-wire.sh

## test-chaos: the quick campaign, as a test (part of `make test`), with one broker and then with
## two (BROKERS=2: two mosquitto, devices spread over them, kill -9 of either).
test-chaos: chaos-build
	@$(MAKE) --no-print-directory chaos QUICK=1 -o chaos-build
	@$(MAKE) --no-print-directory chaos QUICK=1 BROKERS=2 FAILOVER=0 -o chaos-build

## demo: PostgreSQL, mosquitto (TLS), an aggregator and three enrolled agents, under .state/demo.
demo: deps
	@packaging/dev/demo.sh start

## demo-stop: end every process the demo started, by PID.
demo-stop:
	@packaging/dev/demo.sh stop

## demo-ha: a PostgreSQL HA cluster under .state/ha: etcd, two Patroni-managed PostgreSQL nodes
## (primary and synchronous replica, TLS on) and HAProxy with /primary and /replica checks, all on
## 127.0.0.1 (ports from HA_PORT, default 15400), as an unprivileged user. See docs/scale.md.
HA_PORT ?= 15400
demo-ha: deps
	@ha/cluster.sh start $(CURDIR)/.state/ha $(HA_PORT)

## demo-ha-stop: end every process demo-ha started, by PID.
demo-ha-stop:
	@ha/cluster.sh stop $(CURDIR)/.state/ha

## bench: release builds, then ingest, baseline, agent footprint, buffer, API and RTP figures
## side by side; a table and bench/results/latest.json (see docs/performance.md). ~20-25 min.
bench: deps
	@bench/run.sh

## deb: release builds, static Swift stdlib, stripped; packages into dist/ with their sizes.
deb: deps
	@packaging/deb/build-deb.sh

## test-deb: install, check, upgrade and purge both packages on this (disposable) machine.
test-deb: deps
	@packaging/tests/test-deb.sh

## test-vm: the README's device journey on a Debian 12 guest with systemd as PID 1 (qemu, TCG),
## against a centre on 127.0.0.1; reuses dist/*.deb from test-deb. Root. See packaging/tests/vm/.
test-vm: deps
	@packaging/tests/vm/run.sh

## test-vm-centre: docs/operations.md's centre install on a Debian 12 guest (qemu, TCG) with Debian's
## postgresql and mosquitto, a device enrolled against it, revoked, refused by the system mosquitto
## through outpost-aggregator-broker-reload.path; uses dist/*.deb from `make deb`. Root.
test-vm-centre: deps
	@packaging/tests/vm/run-centre.sh

clean:
	$(SWIFT) package clean
