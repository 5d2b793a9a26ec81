/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/vfio.h — open a PCI device through VFIO and reach its registers (umbrella header).
 *
 * Includes one header per concept: upci/iommu.h (backends, IOMMU contexts, IOVA ranges), upci/device.h
 * (resolve, open/close, identity, reset, REQ/ERR events), upci/region.h (regions and their read/write),
 * upci/config.h (config space, capabilities, enable), upci/msix_layout.h (MSI-X table placement) and
 * upci/irq_info.h (IRQ indexes). New code may include just the one it needs.
 *
 * Two kernel backends behind one API, chosen at run time: the VFIO type1 container/group interface
 * (/dev/vfio/vfio, /dev/vfio/N) and iommufd with VFIO device cdevs (/dev/iommu, /dev/vfio/devices/vfioX).
 * Devices opened without an explicit IOMMU context share one per backend (one container, one IOAS).
 *
 * Every function returns 0 (or a count) on success and a negative errno on failure, and logs one line
 * naming the device (see upci/log.h). Opening and closing devices is serialised internally; the register
 * accessors (upci/io.h) take no lock.
 */
#ifndef UPCI_VFIO_H
#define UPCI_VFIO_H

#include "upci/config.h"
#include "upci/device.h"
#include "upci/iommu.h"
#include "upci/irq_info.h"
#include "upci/msix_layout.h"
#include "upci/pci.h"
#include "upci/region.h"

#endif
