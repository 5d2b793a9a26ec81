/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: the one builder of VFIO_DEVICE_SET_IRQS requests (struct vfio_irq_set), used by the device
 * layer (REQ/ERR events) and by lib/msix (MSI-X, MSI, INTx vectors). Always ACTION_TRIGGER.
 */
#ifndef UPCI_COMMON_IRQ_SET_H
#define UPCI_COMMON_IRQ_SET_H

#include <stdint.h>

/**
 * upci_irq_set() - VFIO_DEVICE_SET_IRQS on vectors [@start, @start + @count) of IRQ index @index.
 * @device_fd: the VFIO device fd.
 * @data: VFIO_IRQ_SET_DATA_EVENTFD (then @fds holds @count eventfds, -1 unwires a vector) or
 *        VFIO_IRQ_SET_DATA_NONE (@fds NULL; @count 0 disables the index, @count > 0 fires the vectors).
 *
 * Return: 0, a negative errno, or the kernel's positive answer when it granted fewer vectors.
 */
int upci_irq_set(int device_fd, unsigned index, uint32_t data, unsigned start, unsigned count, const int *fds);

/** upci_irq_set_eventfds() - wire @count vectors from @start to the eventfds @fds (DATA_EVENTFD). */
int upci_irq_set_eventfds(int device_fd, unsigned index, unsigned start, unsigned count, const int *fds);

/**
 * upci_irq_set_none() - DATA_NONE | ACTION_TRIGGER: with @count 0 the whole index is disabled; otherwise
 * the vectors [@start, @start + @count) are signalled (loopback).
 */
int upci_irq_set_none(int device_fd, unsigned index, unsigned start, unsigned count);

#endif
