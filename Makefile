# The two commands: `make run` and `make test` (see README.md). Everything else is a helper.
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
HOST       ?= 127.0.0.1
PORT       ?= 8000
CMAKE_ARGS ?=
# 1: compile each target's sources in batches of up to 16 (a CMake unity build,
# SMMF_UNITY_BUILD): a cold build takes about half the CPU, since most of it is Asio/Beast
# template code that each source would instantiate again. 0: one object per source.
# UNITY is for `build` and defaults to 0: the unity binary runs ~12% more instructions per
# gateway call (GCC inlines less in a large translation unit; docs/BENCHMARKS.md, round 6).
# ASAN_UNITY is for build-asan, a test build, and defaults to 1 (see docs/testing.md, "CI time").
# build-tsan and build-fuzz: per source.
UNITY      ?= 0
ASAN_UNITY ?= 1
UNITY_ARG = -DSMMF_UNITY_BUILD=$(if $(filter 1,$(UNITY)),ON,OFF)
ASAN_UNITY_ARG = -DSMMF_UNITY_BUILD=$(if $(filter 1,$(ASAN_UNITY)),ON,OFF)
# Fuzzing: seconds per target for `make fuzz`, and for the short run inside `make test`.
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 10
# 1: `make test` also runs the unit and integration suites under ASan+UBSan (build-asan; the e2e
# tests only in `make test-asan`). 0 skips it (see docs/testing.md, "Sanitizers" and "CI time").
TEST_ASAN ?= 1
# ccache (installed by scripts/install_deps.sh) keeps compiled objects in ~/.cache/smmf/ccache,
# beside the cached llama.cpp build: a second `make test` on a machine (or a CI runner that keeps
# ~/.cache) recompiles only what changed, in the Release, sanitizer and fuzz builds alike.
export CCACHE_DIR     ?= $(HOME)/.cache/smmf/ccache
export CCACHE_MAXSIZE ?= 4G
# Paths under the checkout are hashed relative to it: clones and worktrees share cache entries.
export CCACHE_BASEDIR ?= $(CURDIR)
LAUNCHER = $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# Extra ctest arguments of `make test-asan` / `make test-tsan` (e.g. -R, -L, -LE).
SAN_CTEST_ARGS ?=
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:quarantine_size_mb=32:suppressions=$(CURDIR)/sanitizers/asan.supp \
  LSAN_OPTIONS=suppressions=$(CURDIR)/sanitizers/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/sanitizers/ubsan.supp \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/sanitizers/tsan.supp

.PHONY: all deps llama configure build e2e-deps run test format clean bench-engine bench-deps \
  bench-gateway fuzz test-fuzz fuzz-build test-asan test-tsan

all: build

deps:
	@scripts/install_deps.sh

# Builds the pinned llama.cpp once per machine into ~/.cache/smmf (keyed by version and flags).
llama: deps
	@scripts/build_llama.sh > /dev/null

configure: llama
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(LAUNCHER) $(UNITY_ARG) \
	  -DCMAKE_PREFIX_PATH="$$(scripts/build_llama.sh)" $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

e2e-deps: deps
	@cd tests/e2e && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }

run: build
	$(BUILD)/src/smmf serve --host $(HOST) --port $(PORT)

test: build e2e-deps
	ctest --test-dir $(BUILD) --output-on-failure -j2
	$(MAKE) --no-print-directory test-fuzz
ifeq ($(TEST_ASAN),1)
	$(MAKE) --no-print-directory test-asan SAN_CTEST_ARGS='-LE e2e'
endif

# libFuzzer targets (clang; ASan+UBSan; only the rooms they parse, no llama.cpp) in build-fuzz.
# Always one object per source (UNITY does not apply; ~15 s more): the parser rooms' sources are
# still compiled one by one with -Werror, where a missing #include that a batch hides shows up.
fuzz-build: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ $(LAUNCHER) \
	  -DSMMF_FUZZ=ON -DSMMF_WITH_LLAMACPP=OFF -DSMMF_BUILD_TESTS=OFF -DSMMF_FUZZ_SECONDS=$(SECONDS_EACH) $(CMAKE_ARGS)
	cmake --build build-fuzz --target smmf_fuzzers -j$(JOBS)

# Each target for FUZZ_SECONDS (new inputs stay in build-fuzz/fuzz/work/<target>/).
fuzz:
	$(MAKE) --no-print-directory fuzz-build SECONDS_EACH=$(FUZZ_SECONDS)
	ctest --test-dir build-fuzz -L fuzz --output-on-failure -j2

test-fuzz:
	$(MAKE) --no-print-directory fuzz-build SECONDS_EACH=$(FUZZ_TEST_SECONDS)
	ctest --test-dir build-fuzz -L fuzz --output-on-failure -j2

# The whole CTest suite (unit, integration, e2e) with SMMF's code under ASan+UBSan (build-asan)
# or TSan (build-tsan); llama.cpp stays the uninstrumented shared library. Suppressions: sanitizers/.
# OMP_THREAD_LIMIT=1 (TSan only): ggml computes on the model thread alone, without an OpenMP team
# whose barriers (inside uninstrumented libgomp) TSan cannot see (sanitizers/tsan.supp says more).
test-asan: llama e2e-deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMMF_SANITIZE=address $(LAUNCHER) $(ASAN_UNITY_ARG) \
	  -DCMAKE_PREFIX_PATH="$$(scripts/build_llama.sh)" $(CMAKE_ARGS)
	cmake --build build-asan -j$(JOBS)
	$(SAN_ENV) SMMF_FAULT_RSS_BOUND_KB=65536 ctest --test-dir build-asan --output-on-failure -j2 \
	  $(SAN_CTEST_ARGS)

test-tsan: llama e2e-deps
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMMF_SANITIZE=thread $(LAUNCHER) \
	  -DCMAKE_PREFIX_PATH="$$(scripts/build_llama.sh)" $(CMAKE_ARGS)
	cmake --build build-tsan -j$(JOBS)
	$(SAN_ENV) SMMF_FAULT_RSS_BOUND_KB=131072 OMP_THREAD_LIMIT=1 setarch $$(uname -m) -R \
	  ctest --test-dir build-tsan --output-on-failure -j2 $(SAN_CTEST_ARGS)

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
	rm -rf $(BUILD) build-fuzz build-asan build-tsan
