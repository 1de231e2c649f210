# The README's two commands. Each first installs what is missing (scripts/bootstrap.sh).
# Output: build progress (no make "Entering directory" noise), then the result;
# test runs print the failures and the ctest summary, the full log is in
# build/<preset>/test.log (scripts/ctest.sh).
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: demo test bench asan tsan clang deb ci clean

demo:
	@scripts/bootstrap.sh build
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target goro_demo
	@build/release/examples/goro_demo

test:
	@scripts/bootstrap.sh build
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@scripts/ctest.sh release -j $(JOBS)

asan tsan clang:
	@scripts/bootstrap.sh build
	@cmake --preset $@ >/dev/null
	@cmake --build --preset $@ -j $(JOBS)
	@scripts/ctest.sh $@ -j $(JOBS)

# The Debian package libgoro-dev (library only, installed under /usr), then
# a check that it holds what `cmake --install` installs and that a consumer
# builds against it with find_package and pkg-config.
deb:
	@scripts/bootstrap.sh build
	@cmake -S . -B build/deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
	  -DCMAKE_INSTALL_PREFIX=/usr -DGORO_BUILD_TESTS=OFF -DGORO_BUILD_BENCH=OFF \
	  -DGORO_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build build/deb -j $(JOBS)
	@rm -f build/deb/libgoro-dev_*.deb
	@cd build/deb && { cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }; } && grep generated cpack.log
	@tests/install/run.sh --build build/deb --src "$(CURDIR)" --cxx c++ \
	  --work build/deb/install-test --deb "$$(ls build/deb/libgoro-dev_*.deb)"

bench:
	@scripts/bootstrap.sh bench
	@bench/run.sh

ci:
	@.ci/run

clean:
	rm -rf build
