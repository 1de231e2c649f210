# The README's two commands. Each first installs what is missing (scripts/bootstrap.sh).
JOBS ?= $(shell nproc)

.PHONY: demo test bench asan tsan clang ci clean

demo:
	@scripts/bootstrap.sh build
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target goro_demo
	@build/release/examples/goro_demo

test:
	@scripts/bootstrap.sh build
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@ctest --preset release -j $(JOBS)

asan tsan clang:
	@scripts/bootstrap.sh build
	@cmake --preset $@ >/dev/null
	@cmake --build --preset $@ -j $(JOBS)
	@ctest --preset $@ -j $(JOBS)

bench:
	@scripts/bootstrap.sh bench
	@bench/run.sh

ci:
	@.ci/run

clean:
	rm -rf build
