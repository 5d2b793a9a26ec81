/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * read_register — open a PCI device through VFIO and read a 32-bit register of BAR 0.
 *
 *   read_register [--json] [DEVICE [OFFSET]]     DEVICE: 0000:00:02.0, 8086:10d3, or none to use PCIDEVICE_*
 *
 * The smallest upci program: no driver, just the bus layer. Bad usage: one line, exit 2.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <upci/io.h>
#include <upci/version.h>
#include <upci/vfio.h>

#define USAGE "usage: read_register [--json] [DEVICE [OFFSET]]"

int main(int argc, char **argv)
{
	const char *spec = NULL, *offset = NULL;
	unsigned long off = 0x8; /* 82574L STATUS */
	struct upci_dev *dev;
	const char *why;
	bool isolated, json = false;
	uint32_t val;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(USAGE "\n  DEVICE: BDF, vendor:device[#n], or none for PCIDEVICE_*; OFFSET: default 0x8 (STATUS)\n");
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("read_register (upci) %s\n", UPCI_VERSION_STRING);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] != '-' && !spec) {
			spec = argv[i];
		} else if (argv[i][0] != '-' && !offset) {
			offset = argv[i];
		} else {
			fprintf(stderr, "read_register: bad argument '%s': " USAGE " (read_register --help)\n", argv[i]);
			return 2;
		}
	}
	if (offset && (off = strtoul(offset, &end, 0), !*offset || *end || off % 4)) {
		fprintf(stderr, "read_register: OFFSET '%s' is not a 4-byte aligned offset into BAR 0 (e.g. 0x8)\n", offset);
		return 2;
	}
	if (upci_dev_open(spec, NULL, &dev) < 0)
		return 1; /* the library logged what failed and what to do */
	isolated = upci_dev_msi_isolated(dev, &why);
	val = upci_bar_read32(upci_dev_bar(dev, 0), off);
	if (json)
		printf("{\"device\": \"%s\", \"backend\": \"%s\", \"msi_isolated\": %s, \"bar\": 0, \"offset\": %lu, "
		       "\"value\": %u}\n", upci_dev_name(dev), upci_backend_name(upci_dev_backend(dev)),
		       isolated ? "true" : "false", off, val);
	else
		printf("%s: backend %s, MSI isolation %s (%s)\nBAR 0 + 0x%lx = 0x%08x\n", upci_dev_name(dev),
		       upci_backend_name(upci_dev_backend(dev)), isolated ? "yes" : "no", why, off, val);
	upci_dev_close(dev);
	return 0;
}
