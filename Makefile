# The two commands of the README:
#   make demo   sets up, builds and starts the standalone demo (sidecars + sample app)
#   make test   sets up, builds and runs every test (what CI runs)
# Everything else is a building block.

JOBS ?= $(shell nproc)
PRESET ?= ci
BUILD := build/$(PRESET)

.PHONY: demo test setup build release clean format bench

setup:
	./scripts/setup.sh

build: setup
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

release: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target warden warden-echo-app

test: build
	ctest --preset $(PRESET) -j $(JOBS)

demo: PRESET = release
demo: release
	./scripts/demo-standalone.sh build/release

bench: release
	./bench/e2e/run.sh

format:
	find src tests tools bench -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build
