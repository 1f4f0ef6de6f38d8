# The two commands: `make run` and `make test` (see README.md). Everything else is a helper.
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
HOST       ?= 127.0.0.1
PORT       ?= 8000
CMAKE_ARGS ?=

.PHONY: all deps llama configure build e2e-deps run test format clean bench-engine bench-deps \
  bench-gateway

all: build

deps:
	@scripts/install_deps.sh

# Builds the pinned llama.cpp once per machine into ~/.cache/smmf (keyed by version and flags).
llama: deps
	@scripts/build_llama.sh > /dev/null

configure: llama
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_PREFIX_PATH="$$(scripts/build_llama.sh)" $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

e2e-deps: deps
	@cd tests/e2e && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }

run: build
	$(BUILD)/src/smmf serve --host $(HOST) --port $(PORT)

test: build e2e-deps
	ctest --test-dir $(BUILD) --output-on-failure -j2

# SMMF's llama.cpp engine vs llama-server side by side (a few minutes; not part of `make test`).
bench-engine: build
	BUILD=$(BUILD) bench/engine/run.sh

# Gateway benchmark (not part of `make test`): wrk and nginx are its only extra packages.
bench-deps:
	@command -v wrk > /dev/null && command -v nginx > /dev/null || \
	  { apt-get update -qq && apt-get install -y --no-install-recommends wrk nginx; }

bench-gateway: configure bench-deps
	cmake --build $(BUILD) -j$(JOBS) --target gateway_bench
	BUILD=$(abspath $(BUILD)) bench/gateway/run.sh

format:
	find src tools tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
