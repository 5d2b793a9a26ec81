/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/vfio_bus/resolve.c: BDF, vendor:device[#n] and PCIDEVICE_* device strings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_sysfs.h"
#include "log_capture.h"
#include "upci/log.h"
#include "upci/pci.h"
#include "upci/vfio.h"

extern char **environ;

/* Unset every PCIDEVICE_* variable, so the environment tests do not depend on the caller's. */
static void clear_pcidevice_env(void)
{
	char name[256];
	bool again = true;

	while (again) {
		again = false;
		for (char **e = environ; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			size_t len = eq ? (size_t)(eq - *e) : strlen(*e);

			if (strncmp(*e, "PCIDEVICE_", 10) || len >= sizeof(name))
				continue;
			memcpy(name, *e, len);
			name[len] = '\0';
			unsetenv(name); /* environ changes: start over */
			again = true;
			break;
		}
	}
}

static int setup_tree(void **state)
{
	struct fake_sysfs *f = fake_sysfs_new();

	if (!f)
		return -1;
	/* Added out of order: resolution counts in address order, not in creation order. */
	fake_sysfs_add_testbed(f, "vfio-pci");
	clear_pcidevice_env();
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

/* upci_dev_resolve(@spec) and its result in canonical form; "" when it failed. */
static int resolve(const char *spec, char name[UPCI_PCI_ADDR_STRLEN])
{
	struct upci_pci_addr a;
	int rc = upci_dev_resolve(spec, &a);

	name[0] = '\0';
	if (rc == 0)
		assert_int_equal(upci_pci_addr_format(&a, name, UPCI_PCI_ADDR_STRLEN), 0);
	return rc;
}

static void bdf_long_and_short(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(resolve("0000:00:02.0", name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(resolve("00:03.0", name), 0);
	assert_string_equal(name, "0000:00:03.0");
	assert_int_equal(resolve("0000:00:00.0", name), 0);
	assert_string_equal(name, "0000:00:00.0");
}

static void id_first_match(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(resolve("8086:10d3", name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(resolve("8086:10D3", name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(resolve("8086:29c0", name), 0);
	assert_string_equal(name, "0000:00:00.0");
}

static void id_nth_match(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(resolve("8086:10d3#0", name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(resolve("8086:10d3#1", name), 0);
	assert_string_equal(name, "0000:00:03.0");
	assert_int_equal(resolve("8086:10d3#2", name), -ENODEV);
	assert_int_equal(resolve("8086:29c0#1", name), -ENODEV);
}

static void id_absent(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(resolve("8086:1234", name), -ENODEV);
	assert_int_equal(resolve("1af4:10d3", name), -ENODEV);
}

static void malformed_specs(void **state)
{
	static const char *const bad[] = {
		"8086:10d", "8086:10d3#", "8086:10d3#x", "zz:02.0", "8086-10d3", "8086:10d3#99999",
		"8086:10d3x", "8086:10d3#1#2", "8086:10d3#-1", "808g:10d3", " 8086:10d3", "8086:10d3 ",
		"0000:00:02.0,0000:00:03.0", "#", "#x", "#1x", "#-1", "#256", "# 1",
	};
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = resolve(bad[i], name);

		if (rc != -EINVAL)
			fail_msg("'%s': %d (%s), expected -EINVAL", bad[i], rc, name);
	}
}

static void env_first_variable_first_address(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	/* B is set first, but A comes first by name; A's first address wins. */
	assert_int_equal(setenv("PCIDEVICE_INTEL_COM_B", "0000:00:03.0", 1), 0);
	assert_int_equal(setenv("PCIDEVICE_INTEL_COM_A", "0000:00:02.0,0000:00:03.0", 1), 0);
	assert_int_equal(resolve(NULL, name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(resolve("", name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(unsetenv("PCIDEVICE_INTEL_COM_A"), 0);
	assert_int_equal(resolve(NULL, name), 0);
	assert_string_equal(name, "0000:00:03.0");
	assert_int_equal(unsetenv("PCIDEVICE_INTEL_COM_B"), 0);
}

/* "#n": the n-th address of the PCIDEVICE_* variables, variables in name order, each list in order. */
static void env_nth_address(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(setenv("PCIDEVICE_INTEL_COM_B", "0000:00:03.0", 1), 0);
	assert_int_equal(setenv("PCIDEVICE_INTEL_COM_A", "0000:00:02.0,0000:00:04.0", 1), 0);
	assert_int_equal(resolve("#0", name), 0);
	assert_string_equal(name, "0000:00:02.0");
	assert_int_equal(resolve("#1", name), 0);
	assert_string_equal(name, "0000:00:04.0");
	assert_int_equal(resolve("#2", name), 0);
	assert_string_equal(name, "0000:00:03.0");
	assert_int_equal(resolve("#3", name), -ENODEV);
	assert_int_equal(setenv("PCIDEVICE_INTEL_COM_A", "0000:00:02.0,,0000:00:04.0", 1), 0);
	assert_int_equal(resolve("#1", name), -EINVAL); /* an empty entry is refused, not skipped */
	assert_int_equal(unsetenv("PCIDEVICE_INTEL_COM_A"), 0);
	assert_int_equal(unsetenv("PCIDEVICE_INTEL_COM_B"), 0);
	assert_int_equal(resolve("#0", name), -ENODEV);
}

static void env_absent(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	/* Look-alikes that are not PCIDEVICE_<RESOURCE> variables. */
	assert_int_equal(setenv("PCIDEVICE", "0000:00:02.0", 1), 0);
	assert_int_equal(setenv("XPCIDEVICE_A", "0000:00:02.0", 1), 0);
	assert_int_equal(resolve(NULL, name), -ENODEV);
	assert_int_equal(resolve("", name), -ENODEV);
	assert_int_equal(unsetenv("PCIDEVICE"), 0);
	assert_int_equal(unsetenv("XPCIDEVICE_A"), 0);
	assert_int_equal(resolve(NULL, name), -ENODEV);
}

static void env_garbage(void **state)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	assert_int_equal(setenv("PCIDEVICE_X", "garbage", 1), 0);
	assert_int_equal(resolve(NULL, name), -EINVAL);
	assert_int_equal(resolve("", name), -EINVAL);
	assert_int_equal(setenv("PCIDEVICE_X", "garbage,0000:00:02.0", 1), 0);
	assert_int_equal(resolve(NULL, name), -EINVAL);
	/* An empty or overlong first address is refused, not skipped. */
	assert_int_equal(setenv("PCIDEVICE_X", ",0000:00:02.0", 1), 0);
	assert_int_equal(resolve(NULL, name), -EINVAL);
	assert_int_equal(setenv("PCIDEVICE_X", "", 1), 0);
	assert_int_equal(resolve(NULL, name), -EINVAL);
	assert_int_equal(setenv("PCIDEVICE_X", "0000:00:02.00000000000000000000000000000000", 1), 0);
	assert_int_equal(resolve(NULL, name), -EINVAL);
	assert_int_equal(unsetenv("PCIDEVICE_X"), 0);
}

/* More variables than any fixed table: the smallest name still wins. */
static void env_many_variables(void **state)
{
	char var[64], name[UPCI_PCI_ADDR_STRLEN];
	(void)state;

	for (int i = 0; i < 100; i++) {
		snprintf(var, sizeof(var), "PCIDEVICE_R%03d", 99 - i);
		assert_int_equal(setenv(var, i == 99 ? "0000:00:03.0" : "0000:00:02.0", 1), 0);
	}
	assert_int_equal(resolve(NULL, name), 0);
	assert_string_equal(name, "0000:00:03.0"); /* PCIDEVICE_R000 was set last */
	for (int i = 0; i < 100; i++) {
		snprintf(var, sizeof(var), "PCIDEVICE_R%03d", i);
		assert_int_equal(unsetenv(var), 0);
	}
}

static void null_out(void **state)
{
	(void)state;

	assert_int_equal(upci_dev_resolve("0000:00:02.0", NULL), -EINVAL);
	assert_int_equal(upci_dev_resolve("8086:10d3", NULL), -EINVAL);
	assert_int_equal(upci_dev_resolve(NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bdf_long_and_short, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(id_first_match, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(id_nth_match, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(id_absent, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(malformed_specs, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(env_first_variable_first_address, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(env_nth_address, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(env_absent, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(env_garbage, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(env_many_variables, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(null_out, setup_tree, teardown_tree),
	};

	return cmocka_run_group_tests_name("upci_dev_resolve", tests, NULL, NULL);
}
