# The README's two commands. Each first installs what is missing (scripts/bootstrap.sh).
# Output: build progress (no make "Entering directory" noise), then the result;
# test runs print the failures and the ctest summary, the full log is in
# build/<preset>/test.log (scripts/ctest.sh).
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: demo test bench bench-threads asan tsan clang deb ci clean

# make demo [DIR=/some/tree] [ARGS='--rounds 5 ...']: md5all over DIR
# (default /usr/include), checked against md5sum and timed beside its Go twin
# (bench/go/md5all, built offline as bench/run.sh does, when Go is installed),
# then a short tour of the pattern examples (examples/patterns/). Full
# listing: build/demo/md5all.txt; build output: build/release/build.log.
GO_ENV = GOCACHE=$(CURDIR)/build/go-cache GOPATH=$(CURDIR)/build/gopath GOENV=off \
  GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
demo:
	@scripts/bootstrap.sh build
	@cmake --preset release >/dev/null
	@scripts/build.sh release $(JOBS) goro_demo
	@mkdir -p build/demo build/bench-go
	@if command -v go >/dev/null; then \
	  (cd bench/go && $(GO_ENV) go build -o $(CURDIR)/build/bench-go/ ./md5all) >build/demo/go-build.log 2>&1 || \
	  echo "demo: building the Go twin failed, see build/demo/go-build.log"; fi
	@build/release/examples/goro_demo --out build/demo --go build/bench-go/md5all $(DIR) $(ARGS)

test:
	@scripts/bootstrap.sh build
	@cmake --preset release >/dev/null
	@scripts/build.sh release $(JOBS) all
	@scripts/ctest.sh release -j $(JOBS)

asan tsan clang:
	@scripts/bootstrap.sh build
	@cmake --preset $@ >/dev/null
	@scripts/build.sh $@ $(JOBS) all
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

# make bench: every goro benchmark against its Go twin, 5 interleaved runs
# (about 10 minutes; run it on a quiet machine, see bench/RESULTS.md). The
# thread-form channel suite takes minutes per run: make bench-threads.
bench:
	@scripts/bootstrap.sh bench
	@bench/run.sh -x '_threads$$'

bench-threads:
	@scripts/bootstrap.sh bench
	@bench/run.sh -r 3 -f '_threads$$'

ci:
	@.ci/run

clean:
	rm -rf build
