# gif-chat and actix-socketio. `make run` starts the app, `make test` runs every test.
CARGO ?= cargo

.PHONY: run build test test-rust lint fmt conformance-server clean

run:
	$(CARGO) run --release -p gif-chat

build:
	$(CARGO) build --workspace --all-targets

test: lint test-rust

test-rust:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The server the official Engine.IO v4 / Socket.IO v5 test suites expect, on port 3000.
conformance-server:
	$(CARGO) run -p actix-socketio --example conformance -- 3000

clean:
	$(CARGO) clean
