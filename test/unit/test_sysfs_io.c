/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/common/sysfs_io.c: whole-file reads, strict number parsing, symlink names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_sysfs.h"
#include "lib/common/sysfs_io.h"

static int setup(void **state)
{
	struct fake_sysfs *f = fake_sysfs_new();

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fake_sysfs_free(*state);
	return 0;
}

static void parse_u64_strict(void **state)
{
	uint64_t v;
	(void)state;

	assert_int_equal(upci_parse_u64("0x10", 4, 0, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(upci_parse_u64("10", 2, 0, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(upci_parse_u64("ffffffffffffffff", 16, 16, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(upci_parse_u64("18446744073709551615", 20, 10, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(upci_parse_u64("18446744073709551616", 20, 10, &v), -ERANGE);
	assert_int_equal(upci_parse_u64("10000000000000000", 17, 16, &v), -ERANGE);
	assert_int_equal(upci_parse_u64("0x", 2, 0, &v), -EINVAL);
	assert_int_equal(upci_parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(upci_parse_u64("12a", 3, 10, &v), -EINVAL);
	assert_int_equal(upci_parse_u64("-1", 2, 10, &v), -EINVAL);
	assert_int_equal(upci_parse_u64(" 1", 2, 10, &v), -EINVAL);
	/* Only the given span is parsed. */
	assert_int_equal(upci_parse_u64("12junk", 2, 10, &v), 0);
	assert_int_equal(v, 12);
}

static void read_file_fits_exactly(void **state)
{
	char buf[8];

	fake_sysfs_write(*state, "f", "1234567");
	assert_int_equal(upci_read_file("/f", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "1234567");
	fake_sysfs_write(*state, "f", "12345678");
	assert_int_equal(upci_read_file("/f", buf, sizeof(buf)), -EFBIG);
	fake_sysfs_write(*state, "f", "");
	assert_int_equal(upci_read_file("/f", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(upci_read_file("/missing", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(upci_read_file("/f", buf, 0), -EINVAL);
}

static void read_numbers(void **state)
{
	uint64_t v;
	int i;

	fake_sysfs_write(*state, "n", "0x10d3\n");
	assert_int_equal(upci_read_u64("/n", &v), 0);
	assert_int_equal(v, 0x10d3);
	fake_sysfs_write(*state, "n", "-1\n");
	assert_int_equal(upci_read_int("/n", &i), 0);
	assert_int_equal(i, -1);
	assert_int_equal(upci_read_u64("/n", &v), -EINVAL);
	fake_sysfs_write(*state, "n", "2147483647\n");
	assert_int_equal(upci_read_int("/n", &i), 0);
	assert_int_equal(i, 2147483647);
	fake_sysfs_write(*state, "n", "-2147483648\n");
	assert_int_equal(upci_read_int("/n", &i), 0);
	assert_int_equal(i, INT32_MIN);
	fake_sysfs_write(*state, "n", "2147483648\n");
	assert_int_equal(upci_read_int("/n", &i), -EINVAL);
	fake_sysfs_write(*state, "n", "-\n");
	assert_int_equal(upci_read_int("/n", &i), -EINVAL);
	fake_sysfs_write(*state, "n", "7");
	assert_int_equal(upci_read_int("/n", &i), -EINVAL); /* truncated: no newline */
	fake_sysfs_write(*state, "n", "7\n8\n");
	assert_int_equal(upci_read_int("/n", &i), -EINVAL);
}

static void link_names(void **state)
{
	char name[16];

	fake_sysfs_link(*state, "l", "../../bus/pci/drivers/vfio-pci");
	assert_int_equal(upci_read_link_name("/l", name, sizeof(name)), 0);
	assert_string_equal(name, "vfio-pci");
	fake_sysfs_link(*state, "l", "plain");
	assert_int_equal(upci_read_link_name("/l", name, sizeof(name)), 0);
	assert_string_equal(name, "plain");
	fake_sysfs_link(*state, "l", "../x/a-driver-name-longer-than-16");
	assert_int_equal(upci_read_link_name("/l", name, sizeof(name)), -ENAMETOOLONG);
	fake_sysfs_link(*state, "l", "trailing/");
	assert_int_equal(upci_read_link_name("/l", name, sizeof(name)), -ENAMETOOLONG);
	assert_int_equal(upci_read_link_name("/nolink", name, sizeof(name)), -ENOENT);
	fake_sysfs_write(*state, "file", "x\n");
	assert_int_equal(upci_read_link_name("/file", name, sizeof(name)), -EINVAL);
}

static void path_too_long(void **state)
{
	char big[UPCI_PATH_MAX + 8], buf[8];
	(void)state;

	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(upci_read_file(big, buf, sizeof(buf)), -ENAMETOOLONG);
	assert_int_equal(upci_read_link_name(big, buf, sizeof(buf)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_u64_strict),
		cmocka_unit_test_setup_teardown(read_file_fits_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(read_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(link_names, setup, teardown),
		cmocka_unit_test_setup_teardown(path_too_long, setup, teardown),
	};

	return cmocka_run_group_tests_name("sysfs_io", tests, NULL, NULL);
}
