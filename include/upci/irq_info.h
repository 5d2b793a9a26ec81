/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/irq_info.h — what VFIO reports about each IRQ index of an open device (VFIO_DEVICE_GET_IRQ_INFO).
 */
#ifndef UPCI_IRQ_INFO_H
#define UPCI_IRQ_INFO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct upci_dev;

/** struct upci_irq_info - VFIO_DEVICE_GET_IRQ_INFO for one index. */
struct upci_irq_info {
	uint32_t count;
	uint32_t flags; /* VFIO_IRQ_INFO_EVENTFD, MASKABLE, AUTOMASKED, NORESIZE */
};

/** upci_dev_irq_info() - count and flags of IRQ index @index (VFIO_PCI_*_IRQ_INDEX). */
int upci_dev_irq_info(const struct upci_dev *dev, unsigned index, struct upci_irq_info *out);

#ifdef __cplusplus
}
#endif
#endif
