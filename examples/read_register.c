/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * read_register — open a PCI device through VFIO and read a 32-bit register of BAR 0.
 *
 *   read_register [DEVICE [OFFSET]]     DEVICE: 0000:00:02.0, 8086:10d3, or none to use PCIDEVICE_*
 *
 * The smallest upci program: no driver, just the bus layer.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <upci/io.h>
#include <upci/vfio.h>

int main(int argc, char **argv)
{
	const char *spec = argc > 1 ? argv[1] : NULL;
	unsigned long off = argc > 2 ? strtoul(argv[2], NULL, 0) : 0x8; /* 82574L STATUS */
	struct upci_dev *dev;
	const char *why;
	bool isolated;
	int rc = upci_dev_open(spec, NULL, &dev);

	if (rc < 0)
		return 1; /* the library logged what failed and what to do */
	isolated = upci_dev_msi_isolated(dev, &why);
	printf("%s: backend %s, MSI isolation %s (%s)\n", upci_dev_name(dev), upci_backend_name(upci_dev_backend(dev)),
	       isolated ? "yes" : "no", why);
	printf("BAR 0 + 0x%lx = 0x%08x\n", off, upci_bar_read32(upci_dev_bar(dev, 0), off));
	upci_dev_close(dev);
	return 0;
}
