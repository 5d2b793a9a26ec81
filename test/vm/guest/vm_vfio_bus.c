/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the lib/vfio_bus VM test: opens the emulated 82574L through VFIO and checks what only a
 * real kernel can show. TAP on stdout.
 *
 *   vm_vfio_bus check BDF OTHER_BDF BACKEND ISOLATED   backend, isolation, mapping policy, accessors, config,
 *                                                     IRQ info, IOVA ranges, shared IOMMU context, reset
 *   vm_vfio_bus hold BDF READY_FILE                   hold the device until the kernel asks for it back
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest_tap.h"
#include "upci/io.h"
#include "upci/vfio.h"

/* 82574L registers used here (Intel 82574 datasheet, section 10.2). */
enum {
	E1000_STATUS = 0x0008, /* Device Status: LU (bit 1), speed, duplex */
	STATUS_LU = 1u << 1,
};

/* Time @n STATUS reads through the mapping and through the trapped accessor, interleaved in blocks. */
static void time_mmio(const struct upci_bar *bar0)
{
	enum { BLOCK = 1000, BLOCKS = 10 };
	double mapped = 0, trapped = 0;
	volatile uint32_t sink = 0;

	for (int b = 0; b < BLOCKS; b++) {
		double t0 = (double)now_ns();

		for (int i = 0; i < BLOCK; i++)
			sink += upci_bar_read32(bar0, E1000_STATUS);
		double t1 = (double)now_ns();

		for (int i = 0; i < BLOCK; i++)
			sink += (uint32_t)upci_bar_read_slow(bar0, E1000_STATUS, 4);
		double t2 = (double)now_ns();

		mapped += t1 - t0;
		trapped += t2 - t1;
	}
	(void)sink;
	mapped /= BLOCK * BLOCKS;
	trapped /= BLOCK * BLOCKS;
	printf("# mmio: STATUS read through the mapping %.1f ns, through the region fd %.1f ns, ratio %.1fx "
	       "(%d reads each, same run, CLOCK_MONOTONIC)\n", mapped, trapped, trapped / mapped, BLOCK * BLOCKS);
	check(trapped > mapped, "a trapped register read costs more than a mapped one");
}

static void check_msix(struct upci_dev *dev, bool isolated)
{
	const struct upci_msix_layout *m = upci_dev_msix(dev);
	const struct upci_bar *tb;
	uint32_t vctrl;

	check(m->present && m->vectors == 5 && m->table_bar == 3 && m->pba_bar == 3,
	      "MSI-X: 5 vectors, table and PBA in BAR 3 (got %u vectors, BARs %u/%u)", m->vectors, m->table_bar,
	      m->pba_bar);
	check(upci_cfg_find_cap(dev, 0x11) == m->cap_offset, "the capability walk finds MSI-X at 0x%x", m->cap_offset);
	check(m->table_mapped == isolated, "table mapped = %d with isolation = %d (%s)", m->table_mapped, isolated, m->why);
	tb = upci_dev_bar(dev, m->table_bar);
	check(upci_bar_is_mapped(tb, m->pba_offset, 8), "the PBA page is mapped either way");
	check(upci_bar_read64(tb, m->pba_offset) == 0, "the PBA reads 0 (nothing pending) through the mapping");
	if (isolated) {
		/* Entry 0's Vector Control: after reset the Mask bit is set. */
		vctrl = *(volatile uint32_t *)(tb->base + m->table_offset + 12);
		check(vctrl & 1, "the mapped table is readable: entry 0 vector control 0x%x has Mask set", vctrl);
	} else {
		check(!upci_bar_is_mapped(tb, m->table_offset, 4), "the table's page is left out of the mapping");
		vctrl = upci_bar_read32(tb, m->table_offset + 12);
		check(vctrl == 0xffffffffu, "a read of the hole goes through the region fd without a fault and the kernel "
		      "answers all-ones (got 0x%x)", vctrl);
	}
	/* Through the region fd the kernel never exposes the table, mapped or not. */
	check(upci_bar_read_slow(tb, m->table_offset, 4) == 0xffffffffu, "the region fd answers all-ones for the table");
}

static void check_irqs(struct upci_dev *dev)
{
	struct upci_irq_info msix, req;
	/* 6.1 reports NORESIZE for MSI-X; 6.12 supports dynamic MSI-X on x86, not through the arm64 ITS. */
	bool stable = getenv("UPCI_VM_KERNEL") && !strcmp(getenv("UPCI_VM_KERNEL"), "stable");
	bool noresize = stable;

#if defined(__aarch64__)
	noresize = true;
#endif

	check(upci_dev_irq_info(dev, VFIO_PCI_MSIX_IRQ_INDEX, &msix) == 0 && msix.count == 5 &&
	      (msix.flags & VFIO_IRQ_INFO_EVENTFD), "IRQ info: MSI-X has 5 vectors with eventfd support");
	check(!!(msix.flags & VFIO_IRQ_INFO_NORESIZE) == noresize, "MSI-X NORESIZE is %s on this kernel",
	      noresize ? "set" : "clear");
	check(upci_dev_irq_info(dev, VFIO_PCI_REQ_IRQ_INDEX, &req) == 0 && req.count == 1, "the REQ interrupt exists");
	check(upci_dev_event_fd(dev) >= 0, "an event fd watches REQ/ERR");
}

static void check_ranges(struct upci_dev *dev)
{
	struct upci_iova_range r[16];
	int n = upci_iommu_iova_ranges(upci_dev_iommu(dev), r, 16);
	bool doorbell_free = n > 0;

	const struct testbed_window *w = &testbed_msi_window;

	for (int i = 0; i < n; i++)
		if (r[i].start <= w->last && r[i].last >= w->start)
			doorbell_free = false;
	check(doorbell_free, "%d valid IOVA range(s), none touching the %s 0x%" PRIx64 "-0x%" PRIx64, n, w->what,
	      w->start, w->last);
}

static int cmd_check(const char *bdf, const char *other, const char *want_backend, bool want_isolated)
{
	struct upci_dev *dev = NULL, *dev2 = NULL;
	const struct upci_bar *bar0;
	const char *why;
	uint32_t mapped, trapped;
	uint16_t cmd;
	int rc = upci_dev_open(bdf, NULL, &dev);

	if (!check(rc == 0, "open %s (%s)", bdf, strerror(-rc)))
		return 1;
	check(!strcmp(upci_backend_name(upci_dev_backend(dev)), want_backend), "backend is %s (got %s)", want_backend,
	      upci_backend_name(upci_dev_backend(dev)));
	bool isolated = upci_dev_msi_isolated(dev, &why);

	check(isolated == want_isolated, "isolated = %d: %s", want_isolated, why);
	check(upci_dev_enable(dev) == 0 && upci_cfg_read16(dev, 4, &cmd) == 0 && (cmd & 6) == 6,
	      "memory space and bus mastering enabled (command 0x%x)", cmd);
	bar0 = upci_dev_bar(dev, 0);
	check(bar0->size == 0x20000 && upci_bar_is_mapped(bar0, 0, bar0->size), "BAR 0 (128 KiB) is mapped whole");
	mapped = upci_bar_read32(bar0, E1000_STATUS);
	trapped = (uint32_t)upci_bar_read_slow(bar0, E1000_STATUS, 4);
	check(mapped == trapped && (mapped & STATUS_LU), "STATUS through the mapping 0x%08x == through the accessor "
	      "0x%08x, link up", mapped, trapped);
	check(upci_bar_read32(bar0, bar0->size) == 0xffffffffu, "a read past the BAR end is refused with all-ones");
	check(!upci_dev_bar(dev, 2)->n_pieces && upci_region_read(dev, 2, 0, &trapped, 4) == 0,
	      "the I/O BAR (not mmap-able) is read through the region fd");
	check_msix(dev, want_isolated);
	check_irqs(dev);
	check_ranges(dev);
	time_mmio(bar0);
	check(upci_dev_reset(dev) == 0, "VFIO_DEVICE_RESET");
	check(upci_bar_read32(bar0, E1000_STATUS) != 0xffffffffu, "registers answer after the reset");
	rc = upci_dev_open(other, NULL, &dev2);
	check(rc == 0 && upci_dev_iommu(dev2) == upci_dev_iommu(dev), "a second device joins the same %s context",
	      want_backend);
	check(upci_dev_open(bdf, NULL, &(struct upci_dev *){ NULL }) == -EBUSY, "opening a device twice is refused");
	upci_dev_close(dev2);
	upci_dev_close(dev);
	rc = upci_dev_open("8086:10d3#1", NULL, &dev);
	check(rc == 0 && !strcmp(upci_dev_name(dev), other), "8086:10d3#1 resolves to %s after a clean close", other);
	upci_dev_close(dev);
	setenv("PCIDEVICE_INTEL_COM_E1000E", other, 1);
	rc = upci_dev_open(NULL, NULL, &dev);
	check(rc == 0 && !strcmp(upci_dev_name(dev), other), "no argument: the device comes from PCIDEVICE_*");
	upci_dev_close(dev);
	return tap_done();
}

static void on_event(struct upci_dev *dev, enum upci_dev_event ev, void *arg)
{
	(void)arg;
	printf("event: %s on %s\n", ev == UPCI_DEV_EVENT_REMOVE ? "remove" : "error", upci_dev_name(dev));
	fflush(stdout);
}

/* Hold the device, poll a register, and let go when the kernel asks (unbind). */
static int cmd_hold(const char *bdf, const char *ready_file)
{
	struct upci_dev_opts opts = { .on_event = on_event };
	struct upci_dev *dev;
	const struct upci_bar *bar0;
	volatile const uint32_t *status;
	FILE *f;
	int rc = upci_dev_open(bdf, &opts, &dev);

	if (rc) {
		printf("hold: open failed: %s\n", strerror(-rc));
		return 1;
	}
	bar0 = upci_dev_bar(dev, 0);
	status = (volatile const uint32_t *)(bar0->base + E1000_STATUS);
	f = fopen(ready_file, "w");
	if (f)
		fclose(f);
	for (int i = 0; i < 200 && !upci_dev_removed(dev); i++) /* up to 20 s */
		if (upci_dev_wait_events(dev, 100) < 0)
			break;
	if (!upci_dev_removed(dev)) {
		printf("hold: the kernel never asked for the device\n");
		upci_dev_close(dev);
		return 1;
	}
	/* A pointer taken before the removal must not fault; it reads what a removed device answers. */
	printf("after removal: pointer read 0x%08x, accessor read 0x%08x, config read %s\n", *status,
	       upci_bar_read32(bar0, E1000_STATUS), upci_cfg_read16(dev, 0, &(uint16_t){ 0 }) == -ENODEV ? "-ENODEV" : "?");
	upci_dev_close(dev);
	printf("hold: released cleanly\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], argv[3], argv[4], !strcmp(argv[5], "1"));
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "now")) { /* for the guest script: busybox date has no %N */
		printf("%" PRIu64 "\n", now_ns());
		return 0;
	}
	fprintf(stderr, "usage: vm_vfio_bus check BDF OTHER_BDF BACKEND ISOLATED | hold BDF READY_FILE | now\n");
	return 2;
}
