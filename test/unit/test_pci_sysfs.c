/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/vfio_bus/pci_sysfs.c: PCI addresses, reserved_regions parsing, sysfs device view. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_sysfs.h"
#include "log_capture.h"
#include "upci/log.h"
#include "upci/pci.h"

/* --- PCI addresses --- */

static void addr_parse_valid(void **state)
{
	struct upci_pci_addr a;
	char buf[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(upci_pci_addr_parse("0000:00:02.0", &a), 0);
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 0);
	assert_int_equal(a.dev, 2);
	assert_int_equal(a.fn, 0);
	assert_int_equal(upci_pci_addr_parse("00:03.0", &a), 0);
	assert_int_equal(a.dev, 3);
	assert_int_equal(upci_pci_addr_parse("ABCD:Ef:1f.7", &a), 0);
	assert_int_equal(a.domain, 0xabcd);
	assert_int_equal(a.bus, 0xef);
	assert_int_equal(a.dev, 0x1f);
	assert_int_equal(a.fn, 7);
	assert_int_equal(upci_pci_addr_format(&a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abcd:ef:1f.7");
	/* VMD domains are above 0xffff and have five digits in sysfs. */
	assert_int_equal(upci_pci_addr_parse("10000:e0:00.0", &a), 0);
	assert_int_equal(a.domain, 0x10000);
	assert_int_equal(upci_pci_addr_format(&a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10000:e0:00.0");
}

static void addr_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", "0", "0000:00:02", "0000:00:02.", "0:00:02.0", "000:00:02.0", "123456789:00:02.0",
		"0000:00:20.0", "0000:00:02.8", "0000:0:02.0", "0000:00:2.0", "0000:000:02.0", "0000:00:02.00",
		" 0000:00:02.0", "0000:00:02.0 ", "0000:00:02.0\n", "0000-00:02.0", "0000:00.02.0", "g000:00:02.0",
		"00:02:0", "8086:10d3", "0000:00:02.0:1", "0x00:02.0",
	};
	struct upci_pci_addr a = { .domain = 42 };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (upci_pci_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted malformed address '%s'", bad[i]);
	}
	assert_int_equal(a.domain, 42); /* untouched on failure */
	assert_int_equal(upci_pci_addr_parse(NULL, &a), -EINVAL);
	assert_int_equal(upci_pci_addr_parse("00:02.0", NULL), -EINVAL);
}

static void addr_format_small_buffer(void **state)
{
	struct upci_pci_addr a = { 0, 0, 2, 0 };
	char buf[12];
	(void)state;

	assert_int_equal(upci_pci_addr_format(&a, buf, sizeof(buf)), -ENOSPC);
}

static void addr_cmp_orders(void **state)
{
	struct upci_pci_addr a = { 0, 0, 2, 0 }, b = { 0, 0, 3, 0 }, c = { 1, 0, 0, 0 }, d = { 0, 1, 0, 0 };
	(void)state;

	assert_true(upci_pci_addr_cmp(&a, &b) < 0);
	assert_true(upci_pci_addr_cmp(&b, &a) > 0);
	assert_int_equal(upci_pci_addr_cmp(&a, &a), 0);
	assert_true(upci_pci_addr_cmp(&d, &c) < 0);
	assert_true(upci_pci_addr_cmp(&b, &d) < 0);
}

/* --- reserved_regions --- */

static int parse(const char *text, struct upci_resv_region *r, size_t max)
{
	return upci_parse_reserved_regions(text, strlen(text), r, max);
}

static void resv_x86(void **state)
{
	struct upci_resv_region r[4];
	(void)state;

	assert_int_equal(parse("0x0000000000000000 0x0000000000ffffff direct-relaxable\n"
			       "0x00000000fee00000 0x00000000feefffff msi\n", r, 4), 2);
	assert_int_equal(r[0].type, UPCI_RESV_DIRECT_RELAXABLE);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 0xffffff);
	assert_int_equal(r[1].type, UPCI_RESV_MSI);
	assert_int_equal(r[1].start, 0xfee00000);
	assert_int_equal(r[1].end, 0xfeefffff);
	assert_string_equal(upci_resv_type_name(r[1].type), "msi");
}

static void resv_arm_and_all_types(void **state)
{
	struct upci_resv_region r[4];
	(void)state;

	assert_int_equal(parse("0x0000000008000000 0x00000000080fffff msi\n"
			       "0x0000000000100000 0x00000000001fffff direct\n"
			       "0x00000000ffe00000 0x00000000ffffffff reserved\n", r, 4), 3);
	assert_int_equal(r[0].start, 0x8000000);
	assert_int_equal(r[0].end, 0x80fffff);
	assert_int_equal(r[1].type, UPCI_RESV_DIRECT);
	assert_int_equal(r[2].type, UPCI_RESV_RESERVED);
	assert_int_equal(parse("0xffffffffffffffff 0xffffffffffffffff msi\n", r, 4), 1);
	assert_true(r[0].end == UINT64_MAX);
}

static void resv_empty(void **state)
{
	struct upci_resv_region r[1];
	(void)state;

	assert_int_equal(parse("", r, 1), 0);
	assert_int_equal(upci_parse_reserved_regions(NULL, 0, r, 1), 0);
	assert_int_equal(upci_parse_reserved_regions(NULL, 5, r, 1), -EINVAL);
}

static void resv_malformed(void **state)
{
	static const char *const bad[] = {
		"0x00000000fee00000 0x00000000feefffff msi",       /* truncated: no newline */
		"0x00000000fee00000 0x00000000feef",                /* cut inside a number */
		"0x00000000fee00000 0x00000000feefffff msi\n0x0",   /* second line cut */
		"0x00000000fee00000\n",
		"0x00000000fee00000 0x00000000feefffff\n",
		"0x00000000feefffff 0x00000000fee00000 msi\n",      /* start > end */
		"0x00000000fee00000 0x00000000feefffff ms\n",       /* unknown type */
		"0x00000000fee00000 0x00000000feefffff msi extra\n",
		"0x00000000fee00000 0x00000000feefffff msi \n",
		"00000000fee00000 0x00000000feefffff msi\n",        /* no 0x */
		"0x 0x00000000feefffff msi\n",
		" 0x00000000fee00000 0x00000000feefffff msi\n",
		"0x00000000fee00000  0x00000000feefffff msi\n",
		"0x10000000000000000 0x10000000000000000 msi\n",    /* overflows 64 bits */
		"0x00000000fee0000g 0x00000000feefffff msi\n",
		"\n",
		"0x00000000fee00000\t0x00000000feefffff msi\n",
	};
	struct upci_resv_region r[4];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], r, 4) != -EINVAL)
			fail_msg("accepted malformed reserved_regions text #%zu: '%s'", i, bad[i]);
	}
	/* An embedded NUL is not the end of the text. */
	assert_int_equal(upci_parse_reserved_regions("0x0 0x1 msi\n\0x", 14, r, 4), -EINVAL);
}

static void resv_too_many(void **state)
{
	struct upci_resv_region r[2];
	(void)state;

	assert_int_equal(parse("0x0 0x1 msi\n0x2 0x3 msi\n0x4 0x5 msi\n", r, 2), -ENOSPC);
	assert_int_equal(parse("0x0 0x1 msi\n0x2 0x3 msi\n", r, 2), 2);
}

/* --- the sysfs view, against a fake tree --- */

static void count_log(enum upci_log_level level, const char *line, void *arg)
{
	(void)level;
	(void)line;
	(*(int *)arg)++;
}

static int setup_tree(void **state)
{
	struct fake_sysfs *f = fake_sysfs_new();

	if (!f)
		return -1;
	/* Two NICs in their own groups, one bound to vfio-pci; a bridge; a device with no driver. */
	fake_sysfs_add_testbed(f, "e1000e");
	fake_sysfs_add_pci(f, "0000:00:1f.3", 0x8086, 0x2930, 0x0c0500, "i801_smbus", 5);
	fake_sysfs_add_pci(f, "0000:00:1f.0", 0x8086, 0x2918, 0x060100, "lpc_ich", 5);
	fake_sysfs_write(f, "sys/kernel/iommu_groups/3/reserved_regions",
			 "0x00000000fee00000 0x00000000feefffff msi\n");
	fake_sysfs_write(f, "sys/kernel/iommu_groups/4/reserved_regions",
			 "0x0000000000000000 0x0000000000ffffff direct-relaxable\n"
			 "0x00000000fee00000 0x00000000feefffff msi\n");
	fake_sysfs_write(f, "sys/kernel/iommu_groups/5/reserved_regions", "0x00000000fee00000 0x00000000fe");
	/* Entries in /sys/bus/pci/devices that are not PCI addresses are ignored. */
	fake_sysfs_mkdir(f, "sys/bus/pci/devices/not-a-bdf");
	*state = f;
	log_discard_start();
	return 0;
}

static int teardown_tree(void **state)
{
	fake_sysfs_free(*state);
	log_capture_stop();
	return 0;
}

static void info_bound_device(void **state)
{
	struct upci_pci_addr a;
	struct upci_pci_info info;
	(void)state;

	assert_int_equal(upci_pci_addr_parse("00:02.0", &a), 0);
	assert_int_equal(upci_pci_info_read(&a, &info), 0);
	assert_string_equal(info.name, "0000:00:02.0");
	assert_int_equal(info.vendor, 0x8086);
	assert_int_equal(info.device, 0x10d3);
	assert_int_equal(info.class_code, 0x020000);
	assert_string_equal(info.driver, "vfio-pci");
	assert_int_equal(info.iommu_group, 3);
	assert_int_equal(info.numa_node, -1);
}

static void info_no_driver_no_group(void **state)
{
	struct fake_sysfs *f = *state;
	struct upci_pci_addr a = { 0, 0, 4, 0 };
	struct upci_pci_info info;

	fake_sysfs_add_pci(f, "0000:00:04.0", 0x1af4, 0x1009, 0x000200, NULL, -1);
	assert_int_equal(upci_pci_info_read(&a, &info), 0);
	assert_string_equal(info.driver, "");
	assert_int_equal(info.iommu_group, -1);
}

static void info_absent_device(void **state)
{
	struct upci_pci_addr a = { 0, 0, 9, 0 };
	struct upci_pci_info info;
	(void)state;

	assert_int_equal(upci_pci_info_read(&a, &info), -ENODEV);
}

static void info_malformed_files(void **state)
{
	static const char *const bad_vendor[] = { "0x8086", "zzzz\n", "0x18086\n", "\n", "0x8086\n0x1\n", "" };
	struct fake_sysfs *f = *state;
	struct upci_pci_addr a = { 0, 0, 2, 0 };
	struct upci_pci_info info = { .vendor = 7 };
	int logged = 0;

	upci_log_set_sink(count_log, &logged);
	for (size_t i = 0; i < sizeof(bad_vendor) / sizeof(bad_vendor[0]); i++) {
		fake_sysfs_write(f, "sys/devices/pci0000:00/0000:00:02.0/vendor", bad_vendor[i]);
		if (upci_pci_info_read(&a, &info) != -EINVAL)
			fail_msg("accepted vendor file '%s'", bad_vendor[i]);
	}
	assert_int_equal(info.vendor, 7); /* output untouched on failure */
	assert_int_equal(logged, (int)(sizeof(bad_vendor) / sizeof(bad_vendor[0]))); /* one line per failure */
	/* A file larger than any sane attribute is refused, not truncated into a valid-looking value. */
	fake_sysfs_write(f, "sys/devices/pci0000:00/0000:00:02.0/vendor",
			 "0x8086                                                                       \n");
	assert_int_equal(upci_pci_info_read(&a, &info), -EFBIG);
	fake_sysfs_write(f, "sys/devices/pci0000:00/0000:00:02.0/vendor", "0x8086\n");
	fake_sysfs_write(f, "sys/devices/pci0000:00/0000:00:02.0/numa_node", "banana\n");
	assert_int_equal(upci_pci_info_read(&a, &info), 0);
	assert_int_equal(info.numa_node, -1);
	fake_sysfs_write(f, "sys/devices/pci0000:00/0000:00:02.0/numa_node", "1\n");
	assert_int_equal(upci_pci_info_read(&a, &info), 0);
	assert_int_equal(info.numa_node, 1);
	fake_sysfs_link(f, "sys/devices/pci0000:00/0000:00:02.0/iommu_group", "../../../kernel/iommu_groups/x3");
	assert_int_equal(upci_pci_info_read(&a, &info), -EINVAL);
}

static void list_sorted_pci_only(void **state)
{
	static const char *const expect[] = { "0000:00:00.0", "0000:00:02.0", "0000:00:03.0", "0000:00:1f.0",
					      "0000:00:1f.3" };
	struct upci_pci_addr *list = NULL;
	char name[UPCI_PCI_ADDR_STRLEN];
	int n = upci_pci_list(&list);
	(void)state;

	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++) {
		upci_pci_addr_format(&list[i], name, sizeof(name));
		assert_string_equal(name, expect[i]);
	}
	free(list);
}

static void list_no_bus(void **state)
{
	struct fake_sysfs g;
	struct upci_pci_addr *list = NULL;
	(void)state;

	assert_int_equal(fake_sysfs_init(&g), 0);
	assert_int_equal(upci_pci_list(&list), 0);
	assert_null(list);
	assert_int_equal(upci_iommu_group_count(), 0);
	fake_sysfs_cleanup(&g);
	upci_kernel_install(&((struct fake_sysfs *)*state)->ops);
}

static void group_members_and_drivers(void **state)
{
	struct upci_group_member *m = NULL;
	int n;
	(void)state;

	n = upci_iommu_group_members(5, &m);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].name, "0000:00:1f.0");
	assert_string_equal(m[0].driver, "lpc_ich");
	assert_true(m[0].is_pci);
	assert_string_equal(m[1].name, "0000:00:1f.3");
	assert_string_equal(m[1].driver, "i801_smbus");
	free(m);
	n = upci_iommu_group_members(0, &m);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].driver, "");
	free(m);
}

static void group_non_pci_member(void **state)
{
	struct fake_sysfs *f = *state;
	struct upci_group_member *m = NULL;

	fake_sysfs_mkdir(f, "sys/devices/platform/foo.0");
	fake_sysfs_link(f, "sys/kernel/iommu_groups/3/devices/foo.0", "../../../../devices/platform/foo.0");
	assert_int_equal(upci_iommu_group_members(3, &m), 2);
	assert_true(m[0].is_pci);
	assert_string_equal(m[0].name, "0000:00:02.0");
	assert_false(m[1].is_pci);
	assert_string_equal(m[1].name, "foo.0");
	free(m);
}

static void group_absent(void **state)
{
	struct upci_group_member *m = NULL;
	struct upci_resv_region r[4];
	(void)state;

	assert_int_equal(upci_iommu_group_members(77, &m), -ENOENT);
	assert_null(m);
	assert_int_equal(upci_iommu_group_members(-1, &m), -EINVAL);
	assert_int_equal(upci_iommu_group_reserved_regions(77, r, 4), -ENOENT);
	assert_int_equal(upci_iommu_group_reserved_regions(-3, r, 4), -EINVAL);
}

static void group_reserved_regions(void **state)
{
	struct upci_resv_region r[4];
	(void)state;

	assert_int_equal(upci_iommu_group_reserved_regions(3, r, 4), 1);
	assert_int_equal(r[0].type, UPCI_RESV_MSI);
	assert_int_equal(r[0].start, 0xfee00000);
	assert_int_equal(r[0].end, 0xfeefffff);
	assert_int_equal(upci_iommu_group_reserved_regions(4, r, 4), 2);
	assert_int_equal(upci_iommu_group_reserved_regions(4, r, 1), -ENOSPC);
	/* Group 5's file is truncated. */
	assert_int_equal(upci_iommu_group_reserved_regions(5, r, 4), -EINVAL);
}

static void group_count(void **state)
{
	(void)state;
	assert_int_equal(upci_iommu_group_count(), 4);
}

static int fail_open(const char *path, int flags, mode_t mode)
{
	(void)path, (void)flags, (void)mode;
	errno = EACCES;
	return -1;
}

static DIR *fail_opendir(const char *path)
{
	(void)path;
	errno = ENOMEM;
	return NULL;
}

static void kernel_errors_propagate(void **state)
{
	struct fake_sysfs *f = *state;
	struct upci_pci_addr a = { 0, 0, 2, 0 }, *list = NULL;
	struct upci_pci_info info;
	struct upci_group_member *m = NULL;
	struct upci_resv_region r[4];

	f->ops.open = fail_open;
	assert_int_equal(upci_pci_info_read(&a, &info), -EACCES);
	assert_int_equal(upci_iommu_group_reserved_regions(3, r, 4), -EACCES);
	f->ops.open = upci_kernel_real_ops()->open;
	f->ops.opendir = fail_opendir;
	assert_int_equal(upci_pci_list(&list), -ENOMEM);
	assert_int_equal(upci_iommu_group_members(3, &m), -ENOMEM);
	assert_int_equal(upci_iommu_group_count(), -ENOMEM);
	f->ops.opendir = upci_kernel_real_ops()->opendir;
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(addr_parse_valid),
		cmocka_unit_test(addr_parse_invalid),
		cmocka_unit_test(addr_format_small_buffer),
		cmocka_unit_test(addr_cmp_orders),
		cmocka_unit_test(resv_x86),
		cmocka_unit_test(resv_arm_and_all_types),
		cmocka_unit_test(resv_empty),
		cmocka_unit_test(resv_malformed),
		cmocka_unit_test(resv_too_many),
	};
	const struct CMUnitTest tree[] = {
		cmocka_unit_test_setup_teardown(info_bound_device, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(info_no_driver_no_group, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(info_absent_device, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(info_malformed_files, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(list_sorted_pci_only, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(list_no_bus, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(group_members_and_drivers, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(group_non_pci_member, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(group_absent, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(group_reserved_regions, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(group_count, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(kernel_errors_propagate, setup_tree, teardown_tree),
	};
	int failed = cmocka_run_group_tests_name("pci_addr_and_reserved_regions", pure, NULL, NULL);

	return failed + cmocka_run_group_tests_name("pci_sysfs_tree", tree, NULL, NULL);
}
