# Makefile — the README's two front doors. Each target installs dependencies, configures and builds.
#   make demo   the main job on the default OpenCL device: synth -> preprocess -> DCGAN -> samples
#   make test   the whole test suite: unit tests, the same under ASan+UBSan, kernels under Oclgrind,
#               kernels compiled for AMD/NVIDIA ISAs and device tests under GPU profiles
# A test lacking a dependency exits 77 (ctest: skipped); CLGAN_REQUIRE=torch,data,... (or all) in the
# environment, which make and ctest pass on, makes such a skip a failure (.ci/run sets it).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
CTEST = ctest --output-on-failure --timeout 900

PYDEPS = $(CURDIR)/$(BUILD)/pydeps

.PHONY: all deps test-deps build build-tests build-asan demo test test-unit test-asan test-oclgrind test-portability test-install clean

all: build

deps:
	@scripts/install-deps

# Test-only dependencies: Debian's PyTorch/numpy/scipy and Oclgrind, then pytorch-fid and
# torch-fidelity (pip wheels, --no-deps) unpacked into the build tree for the metric parity tests.
test-deps:
	@scripts/install-deps --test
	@scripts/install-pydeps $(PYDEPS) >/dev/null
	@scripts/mtcnn-weights $(PYDEPS)/site

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLGAN_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-tests: test-deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLGAN_WERROR=ON -DCLGAN_PYDEPS=$(PYDEPS)/site >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: test-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCLGAN_SANITIZE=ON -DCLGAN_WERROR=ON \
	  -DCLGAN_PYDEPS=$(PYDEPS)/site >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@scripts/mtcnn-weights $(PYDEPS)/site
	$(BUILD)/clgan devices
	$(BUILD)/clgan demo

test-asan: build-asan
	@echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	cd $(ASAN_BUILD) && $(CTEST) -L unit

test-oclgrind: build-tests
	@echo "== kernel tests under Oclgrind"
	cd $(BUILD) && $(CTEST) -L oclgrind

# Every kernel compiled offline for AMD and NVIDIA ISAs, and device tests on PoCL under GPU profiles.
test-portability: build-tests
	@echo "== kernels compiled for AMD/NVIDIA ISAs; device tests under GPU profiles"
	cd $(BUILD) && $(CTEST) -j $(JOBS) -L 'portability|profile'

# cmake --install into a scratch DESTDIR, examples/ built against it both ways and run on a tiny
# checkpoint, then the .deb from cpack installed with apt-get, run from /usr/bin and removed.
test-install: build-tests
	@echo "== install tree, examples, Debian package"
	scripts/check-install $(BUILD)

test-unit: build-tests
	@echo "== unit tests"
	cd $(BUILD) && $(CTEST) -L unit

# The unit run comes last so its ctest summary ends the output.
test: test-asan test-oclgrind test-portability test-install test-unit

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
