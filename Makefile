# SPDX-License-Identifier: BSD-3-Clause
# A thin layer over meson/ninja and the VM test-bed. The two commands a new user needs:
#   make demo    install what is missing, build, boot the test VM, run the benchmark on the emulated 82574L NICs
#   make check   install what is missing, build, run every test (unit, unit under ASan+UBSan, TSan and valgrind,
#                bounded fuzzing, VM)

BUILD      := build
ASAN_BUILD := build-asan
TSAN_BUILD := build-tsan
ARM_BUILD  := build-aarch64
FUZZ_BUILD := build-fuzz
MESON_OPTS := -Dwerror=true
SANITIZE   := UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
TSANITIZE  := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# memcheck sees what ASan does not: reads of uninitialised memory. Any error or definite leak fails the test.
VALGRIND   := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite -q

.PHONY: all deps build asan tsan build-aarch64 build-fuzz check demo test-unit test-unit-aarch64 test-asan \
	test-tsan test-valgrind test-vm test-vm-x86_64 test-vm-aarch64 test-fuzz fuzz clean

all: build

deps:
	@echo "== checking the Debian packages upci needs"
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) $(MESON_OPTS) -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false

# ThreadSanitizer (gcc's libtsan): the unit tests with threads (test_dma's DMA free against device open, the
# packet pool, the port layer) prove the library's locking; halt_on_error makes any report a failure.
$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) $(MESON_OPTS) -Db_sanitize=thread -Db_lundef=false -Dvm_tests=false

# The fuzz build: clang, libFuzzer, ASan + UBSan, the library instrumented too (see meson.build).
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dvm_tests=false -Db_lundef=false -Ddpdk=disabled -Dverbs=disabled

# The aarch64 cross build: static binaries for the arm64 test guest (vmrun --arch aarch64), and DPDK's and
# rdma-core's programs linked dynamically, against an arm64 root of Debian packages under the cache
# (test/vm/cross/sysroot-aarch64), which the guest gets as its /usr. Its tests: the VM suite in the aarch64
# guest, and the unit tests as arm64 binaries under qemu-aarch64-static. The root's directory follows its
# package list: a build configured against another root (or none) is configured anew.
build-aarch64: deps
	@cross=$$(test/vm/cross/sysroot-aarch64) && \
	if [ ! -f $(ARM_BUILD)/build.ninja ] || [ "$$(cat $(ARM_BUILD)/.upci-cross 2>/dev/null)" != "$$cross" ]; then \
		echo "== configuring $(ARM_BUILD)/ against $$cross"; \
		rm -rf $(ARM_BUILD) && meson setup $(ARM_BUILD) $(MESON_OPTS) \
			--cross-file test/vm/cross/aarch64-linux-gnu.ini --cross-file "$$cross" -Dnuma=disabled && \
		echo "$$cross" > $(ARM_BUILD)/.upci-cross; \
	fi
	@echo "== cross-building for aarch64 in $(ARM_BUILD)/"
	ninja -C $(ARM_BUILD)

build: deps $(BUILD)/build.ninja
	@echo "== building in $(BUILD)/"
	ninja -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	@echo "== building with AddressSanitizer + UndefinedBehaviorSanitizer in $(ASAN_BUILD)/"
	ninja -C $(ASAN_BUILD)

tsan: deps $(TSAN_BUILD)/build.ninja
	@echo "== building with ThreadSanitizer in $(TSAN_BUILD)/"
	ninja -C $(TSAN_BUILD)

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	@echo "== building the fuzz harnesses (clang, libFuzzer + ASan/UBSan) in $(FUZZ_BUILD)/"
	ninja -C $(FUZZ_BUILD)

test-unit: build
	@echo "== unit tests"
	meson test -C $(BUILD) --suite unit --logbase unit --print-errorlogs

test-unit-aarch64: build-aarch64
	@echo "== unit tests, cross-built for aarch64, under qemu-aarch64-static"
	meson test -C $(ARM_BUILD) --suite unit --logbase unit --print-errorlogs

test-asan: asan
	@echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	$(SANITIZE) meson test -C $(ASAN_BUILD) --suite unit --logbase unit --print-errorlogs

test-tsan: tsan
	@echo "== unit tests under ThreadSanitizer"
	$(TSANITIZE) meson test -C $(TSAN_BUILD) --suite unit --logbase unit --print-errorlogs

test-valgrind: build
	@echo "== unit tests under valgrind memcheck"
	meson test -C $(BUILD) --suite unit --logbase memcheck --print-errorlogs --wrap '$(VALGRIND)'

# Each harness replays its regressions, then fuzzes a copy of its seed corpus for FUZZ_SECONDS (test/fuzz).
# Two at a time: 5 harnesses x 20 s is about 60 s on 2 cores.
test-fuzz: build-fuzz
	@echo "== fuzzing: each harness $${FUZZ_SECONDS:-20} s on a copy of its seed corpus (test/fuzz)"
	meson test -C $(FUZZ_BUILD) --suite fuzz --logbase fuzz --print-errorlogs --num-processes 2

# The long run (not part of check): 300 s per harness.
fuzz: build-fuzz
	@echo "== fuzzing: each harness $${FUZZ_SECONDS:-300} s"
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} meson test -C $(FUZZ_BUILD) --suite fuzz --logbase fuzz-long \
		--print-errorlogs --num-processes 2 -t 2

test-vm: test-vm-x86_64 test-vm-aarch64

test-vm-x86_64: build
	@echo "== VM tests, x86_64 (QEMU q35 + intel-iommu, two emulated 82574L; Debian 6.1 and iommufd 6.12 kernels)"
	@# Kernels and initramfs first (the iommufd one may be built: ~4 min), outside any test's timeout.
	test/vm/vmrun --kernel stable --prepare && test/vm/vmrun --kernel iommufd --prepare
	meson test -C $(BUILD) --suite vm --logbase vm --print-errorlogs

test-vm-aarch64: build-aarch64
	@echo "== VM tests, aarch64 (QEMU virt + SMMUv3 + GICv3 ITS, two emulated 82574L; Debian 6.1 and iommufd 6.12)"
	test/vm/vmrun --arch aarch64 --kernel stable --prepare && test/vm/vmrun --arch aarch64 --kernel iommufd --prepare
	meson test -C $(ARM_BUILD) --suite vm --logbase vm --print-errorlogs

# Every phase runs even when an earlier one fails; the summary line decides the exit status.
check: build asan tsan build-aarch64 build-fuzz
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory test-unit; \
	$(MAKE) --no-print-directory test-asan; \
	$(MAKE) --no-print-directory test-tsan; \
	$(MAKE) --no-print-directory test-valgrind; \
	$(MAKE) --no-print-directory test-fuzz; \
	$(MAKE) --no-print-directory test-unit-aarch64; \
	$(MAKE) --no-print-directory test-vm-x86_64; \
	$(MAKE) --no-print-directory test-vm-aarch64; \
	echo "== summary (make check took $$(( $$(date +%s) - start )) s)"; \
	scripts/test-summary unit=$(BUILD)/meson-logs/unit.json asan=$(ASAN_BUILD)/meson-logs/unit.json \
		tsan=$(TSAN_BUILD)/meson-logs/unit.json valgrind=$(BUILD)/meson-logs/memcheck-valgrind.json \
		fuzz=$(FUZZ_BUILD)/meson-logs/fuzz.json \
		unit-aarch64=$(ARM_BUILD)/meson-logs/unit.json vm=$(BUILD)/meson-logs/vm.json \
		vm-aarch64=$(ARM_BUILD)/meson-logs/vm.json

demo: build build-aarch64
	@echo "== the device report from inside the test VM (x86_64: intel-iommu with interrupt remapping)"
	test/vm/vmrun --kernel iommufd -- $(BUILD)/tools/upci-probe 0000:00:02.0
	@echo "== the same on aarch64 (SMMUv3 + GICv3 ITS: the MSI doorbell is an IOVA in the software-MSI window)"
	test/vm/vmrun --arch aarch64 --kernel iommufd -- $(ARM_BUILD)/tools/upci-probe 0000:00:02.0
	@echo "== the benchmark: interrupt latency, round trips, throughput, idle CPU (upci vs kernel driver vs DPDK)"
	app/bench/run-bench.sh --results $(BUILD)/results

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(ARM_BUILD) $(FUZZ_BUILD)
