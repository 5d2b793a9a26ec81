/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of opening devices (lib/vfio_bus/device.c, iommu.c, group.c, region.c, config.c) against the
 * fake VFIO kernel: backends, viability, isolation, the MSI-X mapping policy, the hole accessor, events,
 * and that every error path leaks no fd and no mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_vfio.h"
#include "log_capture.h"
#include "upci/io.h"
#include "upci/log.h"
#include "upci/vfio.h"

static int setup(void **state)
{
	struct fake_vfio *f = calloc(1, sizeof(*f));

	if (!f || fake_vfio_init(f))
		return -1;
	log_capture_start();
	unsetenv("UPCI_BACKEND");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake_vfio *f = *state;

	fake_vfio_cleanup(f);
	free(f);
	log_capture_stop();
	unsetenv("UPCI_BACKEND");
	return 0;
}

static struct upci_dev *open_ok(enum upci_backend backend)
{
	struct upci_dev_opts opts = { .backend = backend };
	struct upci_dev *dev = NULL;
	int rc = upci_dev_open(FAKE_BDF, &opts, &dev);

	if (rc)
		fail_msg("open failed: %s; log:\n%s", strerror(-rc), log_text);
	return dev;
}

static void assert_no_leaks(struct fake_vfio *f)
{
	assert_int_equal(f->live_fds, 0);
	assert_int_equal(f->live_reservations, 0);
}

static void type1_isolated_maps_table(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = open_ok(UPCI_BACKEND_TYPE1);
	const struct upci_msix_layout *m = upci_dev_msix(dev);
	const struct upci_bar *bar0 = upci_dev_bar(dev, 0), *bar3 = upci_dev_bar(dev, 3);
	const char *why;

	assert_int_equal(upci_dev_backend(dev), UPCI_BACKEND_TYPE1);
	assert_true(upci_dev_msi_isolated(dev, &why));
	assert_non_null(strstr(why, "allow_unsafe_interrupts=N"));
	assert_int_equal(upci_dev_iommu_group(dev), FAKE_GROUP);
	assert_true(m->present);
	assert_int_equal(m->vectors, 5);
	assert_int_equal(m->table_bar, 3);
	assert_int_equal(m->pba_offset, 0x2000);
	assert_int_equal(m->cap_offset, 0xa0);
	assert_true(m->table_mapped);
	assert_true(upci_bar_is_mapped(bar3, 0, bar3->size));
	assert_true(upci_bar_is_mapped(bar0, 0, bar0->size));
	/* The mapping and the region fd see the same register file. */
	assert_int_equal(upci_bar_read32(bar0, 8), 0x00080283);
	assert_int_equal(upci_bar_read_slow(bar0, 8, 4), 0x00080283);
	upci_bar_write32(bar0, 0x10, 0x12345678);
	assert_int_equal(upci_bar_read_slow(bar0, 0x10, 4), 0x12345678);
	assert_int_equal(upci_bar_read32(bar3, 12) & 1, 1); /* vector 0 masked, through the mapping */
	assert_int_equal(f->set_iommu_calls, 1);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void not_isolated_leaves_table_out(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev;
	const struct upci_bar *bar3;
	const char *why;
	int preads;

	fake_vfio_set_unsafe(f, true);
	dev = open_ok(UPCI_BACKEND_TYPE1);
	bar3 = upci_dev_bar(dev, 3);
	assert_false(upci_dev_msi_isolated(dev, &why));
	assert_non_null(strstr(why, "allow_unsafe_interrupts=Y"));
	assert_false(upci_dev_msix(dev)->table_mapped);
	assert_non_null(strstr(upci_dev_msix(dev)->why, "not isolated"));
	/* The table's page is a hole; the PBA page is mapped. */
	assert_int_equal(bar3->n_pieces, 1);
	assert_int_equal(bar3->lo[0], 0x1000);
	assert_int_equal(bar3->hi[0], 0x4000);
	assert_false(upci_bar_is_mapped(bar3, 0, 4));
	assert_true(upci_bar_is_mapped(bar3, 0x2000, 8));
	/* A read of the hole goes through the region fd (the fake answers all-ones, like the kernel). */
	preads = f->pread_calls;
	assert_int_equal(upci_bar_read32(bar3, 12), 0xffffffff);
	assert_int_equal(f->pread_calls, preads + 1);
	/* The reservation keeps the hole PROT_NONE: nothing else can land in the BAR's span. */
	assert_non_null(bar3->base);
	assert_int_equal(upci_bar_read64(bar3, 0x2000), 0);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

/* A kernel with 64 KiB pages: the MSI-X table's hole is a whole page, which covers all of the 16 KiB BAR 3
 * (with 4 KiB pages its PBA page was mapped); BAR 0 is mapped at a 64 KiB-aligned address. */
static void msix_hole_is_a_host_page(void **state)
{
	struct fake_vfio *f = *state;
	const struct upci_bar *bar0, *bar3;
	struct upci_dev *dev;
	int preads;

	f->page_size = 64 * 1024;
	fake_vfio_set_unsafe(f, true);
	dev = open_ok(UPCI_BACKEND_TYPE1);
	bar0 = upci_dev_bar(dev, 0);
	bar3 = upci_dev_bar(dev, 3);
	assert_false(upci_dev_msix(dev)->table_mapped);
	assert_int_equal(bar3->n_pieces, 0);
	assert_false(upci_bar_is_mapped(bar3, 0x2000, 8));
	preads = f->pread_calls;
	assert_int_equal(upci_bar_read64(bar3, 0x2000), 0); /* the PBA, through the region fd */
	assert_int_equal(f->pread_calls, preads + 1);
	assert_true(upci_bar_is_mapped(bar0, 0, bar0->size));
	assert_int_equal((uintptr_t)bar0->base % (64 * 1024), 0);
	assert_int_equal(upci_bar_read32(bar0, 8), 0x00080283);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void no_msix_mappable_cap(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev;

	f->regions[3].caps_len = 0;
	dev = open_ok(UPCI_BACKEND_TYPE1);
	assert_true(upci_dev_msi_isolated(dev, NULL));
	assert_false(upci_dev_msix(dev)->table_mapped);
	assert_non_null(strstr(upci_dev_msix(dev)->why, "MSIX_MAPPABLE"));
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void unreadable_param_is_not_isolated(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev;
	const char *why;
	char path[512];

	snprintf(path, sizeof(path), "%s/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", f->sys.root);
	unlink(path);
	dev = open_ok(UPCI_BACKEND_TYPE1);
	assert_false(upci_dev_msi_isolated(dev, &why));
	assert_non_null(strstr(why, "assumed absent"));
	assert_false(upci_dev_msix(dev)->table_mapped);
	upci_dev_close(dev);
}

static void iommufd_chosen_when_present(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev;
	struct upci_iova_range r[4];

	fake_vfio_enable_iommufd(f);
	dev = open_ok(UPCI_BACKEND_AUTO);
	assert_int_equal(upci_dev_backend(dev), UPCI_BACKEND_IOMMUFD);
	assert_true(upci_dev_msi_isolated(dev, NULL));
	assert_true(upci_dev_msix(dev)->table_mapped);
	assert_int_equal(upci_iommu_iova_ranges(upci_dev_iommu(dev), r, 4), 2);
	assert_true(r[0].last == 0xfedfffff && r[1].start == 0xfef00000);
	assert_int_equal(upci_iommu_iova_ranges(upci_dev_iommu(dev), r, 1), -ENOSPC);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void env_forces_backend(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;

	fake_vfio_enable_iommufd(f);
	setenv("UPCI_BACKEND", "type1", 1);
	dev = open_ok(UPCI_BACKEND_AUTO);
	assert_int_equal(upci_dev_backend(dev), UPCI_BACKEND_TYPE1);
	upci_dev_close(dev);
	setenv("UPCI_BACKEND", "vfio-please", 1);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &dev), -EINVAL);
	assert_null(dev);
	assert_non_null(strstr(log_text, "UPCI_BACKEND='vfio-please'"));
	/* An explicit backend beats the environment. */
	dev = open_ok(UPCI_BACKEND_IOMMUFD);
	assert_int_equal(upci_dev_backend(dev), UPCI_BACKEND_IOMMUFD);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void type1_ranges(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = open_ok(UPCI_BACKEND_TYPE1);
	struct upci_iova_range r[4];

	assert_int_equal(upci_iommu_iova_ranges(upci_dev_iommu(dev), r, 4), 2);
	assert_true(r[0].start == 0 && r[0].last == 0xfedfffff);
	assert_true(r[1].start == 0xfef00000 && r[1].last == 0x7fffffffff);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

/* An IOVA_RANGE that states 3 ranges and holds 2 before the next capability (DMA_AVAIL, whose header and count
 * would read as a plausible range [0x10002, 0xffffffff]): refused, not read as a third range. The open falls
 * back to the conservative space with one warning line. */
static void type1_ranges_overstated_count(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev;
	struct upci_iova_range r[4];

	f->type1_claim_iovas = 3;
	f->dma_entry_limit = 0xffffffff;
	log_capture_start();
	dev = open_ok(UPCI_BACKEND_TYPE1);
	assert_non_null(strstr(log_text, "no valid IOVA ranges (Invalid argument)"));
	assert_int_equal(strchr(log_text, '\n') - log_text + 1, (long)strlen(log_text)); /* one line */
	assert_int_equal(upci_iommu_iova_ranges(upci_dev_iommu(dev), r, 4), -EINVAL);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void set_iommu_eperm(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_TYPE1 };

	f->set_iommu_errno = EPERM;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), -EPERM);
	assert_null(dev);
	assert_non_null(strstr(log_text, "allow_unsafe_interrupts=1"));
	assert_non_null(strstr(log_text, FAKE_BDF));
	assert_no_leaks(f);
}

static void bind_eperm(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_IOMMUFD };

	fake_vfio_enable_iommufd(f);
	f->bind_errno = EPERM;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), -EPERM);
	assert_non_null(strstr(log_text, "iommufd.allow_unsafe_interrupts=1"));
	assert_no_leaks(f);
}

static void non_viable_group_names_offenders(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;

	fake_sysfs_add_pci(&f->sys, "0000:00:03.0", 0x8086, 0x10d3, 0x020000, "e1000e", FAKE_GROUP);
	fake_sysfs_add_pci(&f->sys, "0000:00:04.0", 0x8086, 0x10d3, 0x020000, NULL, FAKE_GROUP);
	fake_sysfs_add_pci(&f->sys, "0000:00:05.0", 0x8086, 0x10d3, 0x020000, "snd_hda_intel", FAKE_GROUP);
	fake_sysfs_add_pci(&f->sys, "0000:00:06.0", 0x8086, 0x1234, 0x060400, "pcieport", FAKE_GROUP);
	f->group_viable = false;
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &dev), -EBUSY);
	assert_non_null(strstr(log_text, "IOMMU group 7 is not viable"));
	assert_non_null(strstr(log_text, "0000:00:03.0 (bound to e1000e)"));
	assert_non_null(strstr(log_text, "0000:00:05.0 (bound to snd_hda_intel)"));
	assert_null(strstr(log_text, "0000:00:04.0 (")); /* unbound members are fine */
	assert_null(strstr(log_text, "0000:00:06.0 (")); /* and so are bridge ports */
	assert_non_null(strstr(log_text, "echo vfio-pci > /sys/bus/pci/devices/0000:00:03.0/driver_override"));
	assert_int_equal(strchr(log_text, '\n') - log_text + 1, (long)strlen(log_text)); /* one line */
	assert_no_leaks(f);
}

static void kernel_says_not_viable(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_TYPE1 };

	f->group_viable = false; /* sysfs shows nothing wrong, the kernel still refuses */
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), -EBUSY);
	assert_no_leaks(f);
}

static void wrong_driver_and_no_group(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;

	fake_sysfs_add_pci(&f->sys, "0000:00:03.0", 0x8086, 0x10d3, 0x020000, "e1000e", 8);
	assert_int_equal(upci_dev_open("0000:00:03.0", NULL, &dev), -EACCES);
	assert_non_null(strstr(log_text, "bound to e1000e, not vfio-pci"));
	fake_sysfs_add_pci(&f->sys, "0000:00:04.0", 0x8086, 0x10d3, 0x020000, "vfio-pci", -1);
	assert_int_equal(upci_dev_open("0000:00:04.0", NULL, &dev), -ENODEV);
	assert_non_null(strstr(log_text, "intel_iommu=on"));
	assert_int_equal(upci_dev_open("0000:00:09.0", NULL, &dev), -ENODEV);
	assert_int_equal(upci_dev_open("not-a-device", NULL, &dev), -EINVAL);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, NULL), -EINVAL);
	assert_no_leaks(f);
}

static void sparse_areas_with_argsz_regrow(void **state)
{
	struct fake_vfio *f = *state;
	struct {
		uint32_t nr_areas, reserved;
		struct vfio_region_sparse_mmap_area areas[2];
	} sp = { 2, 0, { { 0, 0x8000 }, { 0x10000, 0x10000 } } };
	struct upci_dev *dev;
	const struct upci_bar *bar0;
	const struct upci_region *r;
	uint32_t v = 0xcafef00d;

	fake_region_add_cap(f, 0, VFIO_REGION_INFO_CAP_SPARSE_MMAP, &sp, sizeof(sp));
	fake_region_poke(f, 0, 0x9000, &v, 4);
	dev = open_ok(UPCI_BACKEND_TYPE1);
	r = upci_dev_region(dev, 0);
	assert_int_equal(r->n_sparse, 2);
	bar0 = upci_dev_bar(dev, 0);
	assert_int_equal(bar0->n_pieces, 2);
	assert_true(upci_bar_is_mapped(bar0, 0x7ffc, 4));
	assert_false(upci_bar_is_mapped(bar0, 0x8000, 4));
	assert_false(upci_bar_is_mapped(bar0, 0x7ffe, 4)); /* straddles the end of a piece */
	assert_int_equal(upci_bar_read32(bar0, 0x9000), 0xcafef00d); /* between areas: through the fd */
	assert_int_equal(upci_bar_read32(bar0, 8), 0x00080283);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

/* A SPARSE_MMAP capability listing no area means nothing of the region may be mapped. */
static void sparse_cap_without_areas_maps_nothing(void **state)
{
	struct fake_vfio *f = *state;
	uint32_t none[2] = { 0, 0 };
	struct upci_dev *dev;
	const struct upci_bar *bar0;

	fake_region_add_cap(f, 0, VFIO_REGION_INFO_CAP_SPARSE_MMAP, none, sizeof(none));
	dev = open_ok(UPCI_BACKEND_TYPE1);
	bar0 = upci_dev_bar(dev, 0);
	assert_true(upci_dev_region(dev, 0)->has_sparse);
	assert_int_equal(bar0->n_pieces, 0);
	assert_null(bar0->base);
	assert_int_equal(upci_bar_read32(bar0, 8), 0x00080283); /* served through the region fd */
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void malformed_region_caps_fail_cleanly(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;
	struct vfio_info_cap_header *h;

	h = (void *)f->regions[3].caps;
	h->next = sizeof(struct vfio_region_info); /* points at itself: a loop */
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &dev), -EINVAL);
	assert_non_null(strstr(log_text, "malformed capability chain"));
	assert_no_leaks(f);
}

static void msix_outside_bar_refused(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;
	uint32_t table = 0x00004003; /* BAR 3 + 0x4000: past the 16 KiB BAR */

	fake_region_poke(f, 7, 0xa4, &table, 4);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &dev), -EIO);
	assert_non_null(strstr(log_text, "outside its BAR"));
	assert_no_leaks(f);
}

/*
 * A region offset from VFIO_DEVICE_GET_REGION_INFO that wraps or leaves the device fd (past INT64_MAX) is
 * refused at open with one line: offset 0xffffffffffffffff would turn a config read at 6 into a pread at 5,
 * inside BAR 0, and an offset near INT64_MAX makes off_t negative.
 */
static void region_offset_past_the_fd_refused(void **state)
{
	static const struct {
		unsigned index;
		uint64_t offset;
	} bad[] = {
		{ 7, UINT64_MAX },                      /* config: offset + 6 wraps to 5 (BAR 0) */
		{ 0, UINT64_MAX - 0x1000 },             /* BAR 0: offset + size wraps (the mmap offset too) */
		{ 2, (uint64_t)INT64_MAX - 0x10 },      /* BAR 2 (0x20 bytes): no wrap, but past INT64_MAX */
		{ 3, (uint64_t)INT64_MAX + 1 },         /* not an off_t at all */
	};
	struct fake_vfio *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct upci_dev *dev = NULL;
		int preads = f->pread_calls, rc;

		for (unsigned r = 0; r < FAKE_NUM_REGIONS; r++)
			f->regions[r].offset = 0;
		f->regions[bad[i].index].offset = bad[i].offset;
		log_capture_start();
		rc = upci_dev_open(FAKE_BDF, NULL, &dev);
		if (rc != -EINVAL)
			fail_msg("region %u offset 0x%llx: open returned %d, not -EINVAL; log:\n%s", bad[i].index,
				 (unsigned long long)bad[i].offset, rc, log_text);
		assert_null(dev);
		assert_int_equal(f->pread_calls, preads); /* nothing was read through the bad offset */
		assert_non_null(strstr(log_text, FAKE_BDF));
		assert_non_null(strstr(log_text, "offset"));
		assert_int_equal(strchr(log_text, '\n') - log_text + 1, (long)strlen(log_text)); /* one line */
		assert_no_leaks(f);
	}
	/* The largest offset that still fits: the region ends exactly at INT64_MAX. */
	for (unsigned r = 0; r < FAKE_NUM_REGIONS; r++)
		f->regions[r].offset = 0;
	f->regions[2].offset = (uint64_t)INT64_MAX - 0x20;
	{
		struct upci_dev *dev = open_ok(UPCI_BACKEND_TYPE1);

		assert_int_equal(upci_dev_region(dev, 2)->offset, (uint64_t)INT64_MAX - 0x20);
		assert_int_equal(upci_region_read(dev, 2, 0x20, &(uint8_t){ 0 }, 1), -EINVAL); /* past the end */
		upci_dev_close(dev);
	}
	assert_no_leaks(f);
}

/* A failed read of the capability pointer is an error, not "no capabilities" (that opened the device without
 * its MSI-X capability, silently). */
static void cap_pointer_read_failure_is_an_error(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = NULL;

	f->fail_at[FAKE_PREAD] = 2; /* the first read is the status register, the second the pointer at 0x34 */
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &dev), -EIO);
	assert_null(dev);
	assert_non_null(strstr(log_text, FAKE_BDF ": config space read at 0x034 failed"));
	assert_int_equal(strchr(log_text, '\n') - log_text + 1, (long)strlen(log_text)); /* one line */
	assert_no_leaks(f);
}

/* Fail the Nth call of each kind in turn: open must fail cleanly, or succeed, and never leak; a failed open
 * says so in exactly one line (log.h: every failure is logged, once). */
static void every_error_path_leaks_nothing(void **state)
{
	struct fake_vfio *f = *state;

	for (int backend = UPCI_BACKEND_TYPE1; backend <= UPCI_BACKEND_IOMMUFD; backend++) {
		struct upci_dev_opts opts = { .backend = (enum upci_backend)backend };

		if (backend == UPCI_BACKEND_IOMMUFD)
			fake_vfio_enable_iommufd(f);
		for (int kind = 0; kind < FAKE_NCALLS; kind++) {
			for (int n = 1; n < 200; n++) {
				struct upci_dev *dev = NULL;
				int rc;

				memset(f->calls, 0, sizeof(f->calls));
				memset(f->fail_at, 0, sizeof(f->fail_at));
				f->fail_at[kind] = n;
				log_capture_start();
				rc = upci_dev_open(FAKE_BDF, &opts, &dev);
				if (rc == 0) {
					assert_non_null(dev);
					upci_dev_close(dev);
				} else {
					assert_null(dev);
					if (!log_text[0] || strchr(log_text, '\n') + 1 != log_text + strlen(log_text))
						fail_msg("backend %d: failing call %d of kind %d: open returned %d (%s) and "
							 "logged not one line but:\n%s", backend, n, kind, rc, strerror(-rc),
							 log_text);
				}
				if (f->live_fds || f->live_reservations)
					fail_msg("backend %d: failing call %d of kind %d (rc %d) leaked %d fds, %d reservations",
						 backend, n, kind, rc, f->live_fds, f->live_reservations);
				if (f->calls[kind] < n)
					break; /* fewer calls than n: every failure point of this kind was tried */
			}
		}
	}
}

static void count_removals(struct upci_dev *d, enum upci_dev_event ev, void *arg)
{
	(void)d;
	if (ev == UPCI_DEV_EVENT_REMOVE)
		(*(int *)arg)++;
}

static void remove_request_releases(void **state)
{
	struct fake_vfio *f = *state;
	int calls = 0;
	struct upci_dev_opts opts = { .on_event = NULL };
	struct upci_dev *dev;
	const struct upci_bar *bar0;
	volatile const uint32_t *status;
	uint16_t vendor;

	opts.on_event = count_removals;
	opts.event_arg = &calls;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), 0);
	bar0 = upci_dev_bar(dev, 0);
	status = (volatile const uint32_t *)(bar0->base + 8);
	assert_int_equal(*status, 0x00080283);
	assert_int_equal(upci_dev_process_events(dev), 0); /* nothing pending */
	assert_true(f->req_eventfd >= 0);
	assert_int_equal(eventfd_write(f->req_eventfd, 1), 0);
	assert_int_equal(upci_dev_wait_events(dev, 1000), 1);
	assert_int_equal(calls, 1);
	assert_true(upci_dev_removed(dev));
	assert_int_equal(*status, 0xffffffff);            /* a stale pointer reads all-ones, no fault */
	assert_int_equal(upci_bar_read32(bar0, 8), 0xffffffff);
	assert_int_equal(upci_cfg_read16(dev, 0, &vendor), -ENODEV);
	assert_int_equal(upci_dev_reset(dev), -ENODEV);
	assert_int_equal(f->live_fds, 0);                 /* the device fd and its group are given back */
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void reset_and_shared_context(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = open_ok(UPCI_BACKEND_TYPE1), *again = NULL;

	assert_int_equal(upci_dev_reset(dev), 0);
	assert_int_equal(f->resets, 1);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &again), -EBUSY);
	assert_non_null(strstr(log_text, "already open"));
	upci_dev_close(dev);
	f->dev_flags &= ~VFIO_DEVICE_FLAGS_RESET;
	dev = open_ok(UPCI_BACKEND_TYPE1);
	assert_int_equal(upci_dev_reset(dev), -ENOTTY);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

/* A VFIO_DEVICE_RESET the kernel fails: its errno, one line naming the device; the device stays usable. */
static void reset_failure_is_one_line(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = open_ok(UPCI_BACKEND_TYPE1);
	uint16_t vendor = 0;
	unsigned lines = 0;

	log_text[0] = '\0';
	f->fail_at[FAKE_IOCTL] = f->calls[FAKE_IOCTL] + 1;
	assert_int_equal(upci_dev_reset(dev), -EIO);
	assert_int_equal(f->resets, 0);
	for (const char *p = log_text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1);
	assert_non_null(strstr(log_text, FAKE_BDF));
	assert_non_null(strstr(log_text, "VFIO_DEVICE_RESET"));
	assert_int_equal(upci_cfg_read16(dev, 0, &vendor), 0);
	assert_int_equal(vendor, 0x8086);
	assert_int_equal(upci_dev_reset(dev), 0); /* the next one goes through */
	assert_int_equal(f->resets, 1);
	upci_dev_close(dev);
	assert_no_leaks(f);
}

static void explicit_iommu_context(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_iommu *ctx = NULL;
	struct upci_iova_range r[2];
	struct upci_dev *dev;
	struct upci_dev_opts opts = { 0 };

	assert_int_equal(upci_iommu_open(UPCI_BACKEND_TYPE1, &ctx), 0);
	assert_int_equal(upci_iommu_iova_ranges(ctx, r, 2), -EAGAIN); /* no group yet */
	opts.iommu = ctx;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), 0);
	assert_ptr_equal(upci_dev_iommu(dev), ctx);
	upci_dev_close(dev);
	assert_int_equal(f->live_fds, 1); /* the caller still holds the container */
	upci_iommu_put(ctx);
	assert_no_leaks(f);
}

static void config_space_walks(void **state)
{
	struct fake_vfio *f = *state;
	struct upci_dev *dev = open_ok(UPCI_BACKEND_TYPE1);
	uint8_t loop = 0xa0, low = 0x20;
	uint16_t cmd, no_caps = 0;
	uint32_t ext_loop = 0x0001 | 1u << 16 | 0x100u << 20;

	assert_int_equal(upci_cfg_find_cap(dev, 0x11), 0xa0);
	assert_int_equal(upci_cfg_find_cap(dev, 0x10), 0xe0);
	assert_int_equal(upci_cfg_find_cap(dev, 0x09), -ENOENT);
	assert_int_equal(upci_cfg_find_ext_cap(dev, 0x0003), 0x140);
	assert_int_equal(upci_cfg_find_ext_cap(dev, 0x0010), -ENOENT);
	assert_int_equal(upci_dev_enable(dev), 0);
	assert_int_equal(upci_cfg_read16(dev, 4, &cmd), 0);
	assert_int_equal(cmd & 6, 6);
	/* A capability that points back at itself. */
	fake_region_poke(f, 7, 0xa1, &loop, 1);
	assert_int_equal(upci_cfg_find_cap(dev, 0x09), -EIO);
	/* A pointer into the header. */
	fake_region_poke(f, 7, 0xa1, &low, 1);
	assert_int_equal(upci_cfg_find_cap(dev, 0x09), -EIO);
	/* Extended capability loop. */
	fake_region_poke(f, 7, 0x100, &ext_loop, 4);
	assert_int_equal(upci_cfg_find_ext_cap(dev, 0x0003), -EIO);
	/* No capability list at all. */
	fake_region_poke(f, 7, 0x06, &no_caps, 2);
	assert_int_equal(upci_cfg_find_cap(dev, 0x11), -ENOENT);
	assert_int_equal(upci_cfg_read32(dev, 0xffe, &(uint32_t){ 0 }), -EINVAL); /* past the region */
	upci_dev_close(dev);
	assert_no_leaks(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(type1_isolated_maps_table, setup, teardown),
		cmocka_unit_test_setup_teardown(not_isolated_leaves_table_out, setup, teardown),
		cmocka_unit_test_setup_teardown(msix_hole_is_a_host_page, setup, teardown),
		cmocka_unit_test_setup_teardown(no_msix_mappable_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(unreadable_param_is_not_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(iommufd_chosen_when_present, setup, teardown),
		cmocka_unit_test_setup_teardown(env_forces_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(type1_ranges_overstated_count, setup, teardown),
		cmocka_unit_test_setup_teardown(type1_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(set_iommu_eperm, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_eperm, setup, teardown),
		cmocka_unit_test_setup_teardown(non_viable_group_names_offenders, setup, teardown),
		cmocka_unit_test_setup_teardown(kernel_says_not_viable, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_driver_and_no_group, setup, teardown),
		cmocka_unit_test_setup_teardown(sparse_areas_with_argsz_regrow, setup, teardown),
		cmocka_unit_test_setup_teardown(sparse_cap_without_areas_maps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_region_caps_fail_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(msix_outside_bar_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(region_offset_past_the_fd_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_pointer_read_failure_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(every_error_path_leaks_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_request_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_and_shared_context, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_failure_is_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(explicit_iommu_context, setup, teardown),
		cmocka_unit_test_setup_teardown(config_space_walks, setup, teardown),
	};

	return cmocka_run_group_tests_name("vfio_device", tests, NULL, NULL);
}
