# gif-chat and actix-socketio. `make run` starts the app, `make test` runs every test.
CARGO ?= cargo
NPM ?= npm

.PHONY: run deps build test lint test-rust test-js fmt cluster-fixtures conformance-server clean

run: deps
	$(CARGO) run --release -p gif-chat

# The official socket.io client (served at /socket.io/socket.io.js) and the browser driver,
# at the versions package-lock.json pins.
deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund

build:
	$(CARGO) build --workspace --all-targets

test: deps lint test-rust test-js

# No two source files of a crate may import each other, directly or around a ring
# (.ci/import-cycles.py, stdlib Python; --self-test checks the checker first).
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 .ci/import-cycles.py --self-test && python3 .ci/import-cycles.py

test-rust:
	$(CARGO) test --workspace

# Node interop (official client) and browser (Debian's chromium via playwright-core) tests
# against the debug builds; the cluster and emitter tests need Redis on 127.0.0.1:6379.
test-js: deps
	$(CARGO) build -p gif-chat
	$(CARGO) build -p actix-socketio --example interop
	$(CARGO) build -p actix-socketio-redis --example emitter --example cluster_node
	node --test tests/js/*.test.mjs

fmt:
	$(CARGO) fmt --all

# Captures again the bytes Node's Redis adapters and emitter publish (needs Redis on
# 127.0.0.1:6379) into crates/actix-socketio-redis/tests/fixtures/node-wire.json.
cluster-fixtures: deps
	node tests/js/cluster/capture.mjs

# The server the official Engine.IO v4 / Socket.IO v5 test suites expect, on port 3000.
conformance-server:
	$(CARGO) run -p actix-socketio --example conformance -- 3000

clean:
	$(CARGO) clean

# Benchmarks side by side with the peers (bench/README.md): ours, Node socket.io,
# socketioxide and two bare floors (actix-ws, tokio-tungstenite), servers pinned to core 0
# and the load generator to core 1. `make bench` takes medians of 3 runs (~25 min), then
# runs bench-cluster and bench-recovery (below), and writes bench/results/;
# `make bench-smoke` (CI) runs every scenario once at tiny sizes. Neither is part of `test`.
define BENCH_BUILD
	$(CARGO) build --release -p loadgen --bin loadgen --example floor --example floor_tungstenite
	$(CARGO) build --release -p actix-socketio --example bench_server
	cd bench/socketioxide && CARGO_TARGET_DIR=target $(CARGO) build --release --locked
	cd bench/node && $(NPM) ci --no-audit --no-fund
endef

.PHONY: bench bench-smoke

bench:
	$(BENCH_BUILD)
	$(CARGO) run --release -q -p loadgen --bin loadgen -- suite
	$(MAKE) bench-cluster
	$(MAKE) bench-recovery

bench-smoke:
	$(BENCH_BUILD)
	$(CARGO) run --release -q -p loadgen --bin loadgen -- suite --smoke

# Cross-node fan-out (crates/loadgen/src/bin/cluster_fanout.rs): homogeneous clusters of 3
# nodes on a Redis of their own, ours (actix-socketio-redis), Node's (@socket.io/redis-adapter)
# and socketioxide's (socketioxide-redis, its own project in crates/loadgen/cluster-peers).
# Medians of 3 runs to bench/results/<date>-cluster.md; CLUSTER_BENCH_ARGS=--smoke for a
# quick check. Needs redis-server on the PATH; not part of `test`.
CLUSTER_BENCH_ARGS ?=

.PHONY: bench-cluster

bench-cluster: deps
	$(CARGO) build --release -p loadgen --bin cluster_fanout
	$(CARGO) build --release -p actix-socketio-redis --example cluster_node
	cd crates/loadgen/cluster-peers/socketioxide && CARGO_TARGET_DIR=target $(CARGO) build --release --locked
	$(CARGO) run --release -q -p loadgen --bin cluster_fanout -- $(CLUSTER_BENCH_ARGS)

# Delivery under faults with connection state recovery (crates/loadgen/src/bin/
# recovery_faults.rs): 3-node streams clusters of ours and Node's
# (@socket.io/redis-streams-adapter) on a Redis of their own, a steady stream to the
# clients' rooms while their TCP connections are killed, or their nodes SIGKILLed; delivery
# %, duplicates, order, recovered reconnections, to bench/results/<date>-recovery.md
# (~5 min). RECOVERY_BENCH_ARGS=--smoke for a quick check. Not part of `test`.
RECOVERY_BENCH_ARGS ?=

.PHONY: bench-recovery

bench-recovery: deps
	$(CARGO) build --release -p loadgen --bin recovery_faults
	$(CARGO) build --release -p actix-socketio-redis --example cluster_node
	$(CARGO) run --release -q -p loadgen --bin recovery_faults -- $(RECOVERY_BENCH_ARGS)

# Coverage-guided fuzzing (cargo-fuzz, nightly; crates/actix-socketio/fuzz/README.md) of the
# Engine.IO and Socket.IO codecs and of the Engine.IO session state machine, FUZZ_SECONDS
# each. Not part of `test`. Needs `cargo install cargo-fuzz --locked` once.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = engine_packet socketio_packet engine_session

.PHONY: fuzz

fuzz:
	cd crates/actix-socketio/fuzz && for target in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$target && \
		$(CARGO) +nightly fuzz run $$target corpus/$$target \
			$$(test -d seeds/$$target && echo seeds/$$target) \
			-- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# Churn against the release soak server (connects, disconnects, rooms, acks, polling and
# WebSocket clients) for SOAK_SECONDS (10 minutes by default); fails if its RSS ends more
# than 10% over its working size (reached within the first half; runs of less than a few
# minutes may not reach it) or if sessions, sockets or tasks leak. Not part of `test`.
SOAK_SECONDS ?= 600

.PHONY: soak

soak:
	$(CARGO) build --release -p loadgen --bin loadgen
	$(CARGO) build --release -p actix-socketio --example soak_server
	$(CARGO) run --release -q -p loadgen --bin loadgen -- soak --seconds $(SOAK_SECONDS)
