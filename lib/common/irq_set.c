/* SPDX-License-Identifier: BSD-3-Clause */
/* Building struct vfio_irq_set for VFIO_DEVICE_SET_IRQS (see irq_set.h). */
#include <errno.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>

#include "irq_set.h"
#include "upci/kernel.h"

int upci_irq_set(int device_fd, unsigned index, uint32_t data, unsigned start, unsigned count, const int *fds)
{
	size_t payload = data == VFIO_IRQ_SET_DATA_EVENTFD ? count * sizeof(int32_t) : 0;
	struct vfio_irq_set *set;
	int rc;

	if (payload && !fds)
		return -EINVAL;
	set = calloc(1, sizeof(*set) + payload);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)(sizeof(*set) + payload);
	set->flags = data | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = start;
	set->count = count;
	for (unsigned i = 0; payload && i < count; i++) {
		int32_t fd = fds[i];

		memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
	}
	rc = upci_kernel()->ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set);
	if (rc < 0)
		rc = -errno;
	free(set);
	return rc;
}

int upci_irq_set_eventfds(int device_fd, unsigned index, unsigned start, unsigned count, const int *fds)
{
	return upci_irq_set(device_fd, index, VFIO_IRQ_SET_DATA_EVENTFD, start, count, fds);
}

int upci_irq_set_none(int device_fd, unsigned index, unsigned start, unsigned count)
{
	return upci_irq_set(device_fd, index, VFIO_IRQ_SET_DATA_NONE, start, count, NULL);
}
