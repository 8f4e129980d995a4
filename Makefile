# veilgate — the two entry points are `make dev` and `make test`; each installs what it needs.
PORT  ?= 8787
STATE ?= .state
SHELL := /bin/bash

.PHONY: dev test build setup lint unit e2e bench fuzz clean

## Run the worker locally on workerd with local R2/KV/DO state and the seeded demo projects.
dev: build
	bash tools/seed.sh "$(STATE)"
	source tools/env.sh && node tools/assets/build.mjs --demo
	@echo "veilgate dev: open http://127.0.0.1:$(PORT)/ (demo shop at /demo/, project key demo)"
	source tools/env.sh && VEILGATE_PREBUILT=1 exec wrangler dev --local --ip 127.0.0.1 \
	  --port "$(PORT)" --inspector-port 0 --persist-to "$(STATE)" --assets build/public-dev

## Every test: format and lint, native unit tests, end-to-end tests against wrangler dev.
test: build
	bash tools/setup.sh --test
	bash tools/build.sh --faults
	cargo fmt --check
	python3 tools/modcycles.py
	cargo clippy --all-targets -- -D warnings
	cargo clippy --features cli --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --features faults -- -D warnings
	bash tools/bench/run.sh --smoke
	cargo test --benches
	cargo test --lib --tests

## All seven benchmarks, full length (about 10 minutes): writes BENCHMARKS.md.
bench: build
	bash tools/bench/run.sh

## Fuzz every target for FUZZ_SECONDS each (libFuzzer on nightly if installed, else the stable driver).
FUZZ_SECONDS ?= 60
fuzz:
	bash tools/fuzz.sh $(FUZZ_SECONDS)

setup:
	bash tools/setup.sh

build: setup
	bash tools/build.sh

clean:
	rm -rf build target/wasm32-unknown-unknown .state
