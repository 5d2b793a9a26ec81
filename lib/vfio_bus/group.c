/* SPDX-License-Identifier: BSD-3-Clause */
/* IOMMU group viability: every member must be bound to a VFIO driver or to none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upci/log.h"
#include "iommu_internal.h"
#include "upci/pci.h"

static bool driver_is_vfio_safe(const char *driver)
{
	/* Unbound, a vfio driver (vfio-pci and its variants such as mlx5_vfio_pci), pci-stub, or pcieport
	 * (a bridge's port driver manages no DMA): the kernel lets such a group go to VFIO. */
	return driver[0] == '\0' || strstr(driver, "vfio") || !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport");
}

/* See iommu_internal.h. */
int group_check_viable(int group, const char *devname)
{
	struct upci_group_member *m = NULL;
	char offenders[768] = "", fix[768] = "";
	size_t olen = 0, flen = 0;
	int n = upci_iommu_group_members(group, &m), bad = 0;

	if (n < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot list IOMMU group %d: %s", devname, group, strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		if (driver_is_vfio_safe(m[i].driver))
			continue;
		bad++;
		if (olen < sizeof(offenders))
			olen += (size_t)snprintf(offenders + olen, sizeof(offenders) - olen, "%s%s (bound to %s)",
						 bad > 1 ? ", " : "", m[i].name, m[i].driver);
		if (flen < sizeof(fix) && m[i].is_pci)
			flen += (size_t)snprintf(fix + flen, sizeof(fix) - flen,
						 "%secho %s > /sys/bus/pci/devices/%s/driver/unbind; "
						 "echo vfio-pci > /sys/bus/pci/devices/%s/driver_override; "
						 "echo %s > /sys/bus/pci/drivers_probe",
						 bad > 1 ? "; " : "", m[i].name, m[i].name, m[i].name, m[i].name);
	}
	free(m);
	if (!bad)
		return 0;
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: IOMMU group %d is not viable: %s %s not on vfio-pci; as root run: %s",
		 devname, group, offenders, bad > 1 ? "are" : "is", fix[0] ? fix : "(unbind the non-PCI members)");
	return -EBUSY;
}
