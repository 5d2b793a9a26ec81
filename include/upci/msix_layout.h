/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/msix_layout.h — where a device's MSI-X table and PBA live, as read at open, and whether the
 * table is mapped (vfio_bus decides; lib/msix and drivers read it). Vectors themselves: upci/msix.h.
 */
#ifndef UPCI_MSIX_LAYOUT_H
#define UPCI_MSIX_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct upci_dev;

/** struct upci_msix_layout - where the MSI-X table and PBA live, and whether the table is mapped. */
struct upci_msix_layout {
	bool present;
	uint16_t cap_offset;
	uint16_t vectors;
	uint8_t table_bar;
	uint32_t table_offset;
	uint8_t pba_bar;
	uint32_t pba_offset;
	bool table_mapped;
	const char *why; /* one sentence: why the table is or is not mapped */
};

/** upci_dev_msix() - the MSI-X layout read from config space at open. */
const struct upci_msix_layout *upci_dev_msix(const struct upci_dev *dev);

#ifdef __cplusplus
}
#endif
#endif
