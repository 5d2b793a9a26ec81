/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/config.h — PCI configuration space of an open device: accessors, capability lists, enabling.
 * Each accessor returns 0 or a negative errno (-ENODEV once the device was released).
 */
#ifndef UPCI_CONFIG_H
#define UPCI_CONFIG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct upci_dev;

int upci_cfg_read8(struct upci_dev *dev, uint16_t off, uint8_t *val);
int upci_cfg_read16(struct upci_dev *dev, uint16_t off, uint16_t *val);
int upci_cfg_read32(struct upci_dev *dev, uint16_t off, uint32_t *val);
int upci_cfg_write16(struct upci_dev *dev, uint16_t off, uint16_t val);
int upci_cfg_write32(struct upci_dev *dev, uint16_t off, uint32_t val);

/**
 * upci_cfg_find_cap() - offset of the first standard capability @id in config space.
 * Walks the list from 0x34 with bounds (0x40..0xff, dword aligned) and a step limit, so a looping or
 * corrupt list ends. Return: the offset, -ENOENT (absent), -EIO (corrupt list or read failure).
 */
int upci_cfg_find_cap(struct upci_dev *dev, uint8_t id);

/** upci_cfg_find_ext_cap() - the same for PCIe extended capabilities (from 0x100). */
int upci_cfg_find_ext_cap(struct upci_dev *dev, uint16_t id);

/** upci_dev_enable() - set Memory Space and Bus Master in the command register (MSI-X needs both). */
int upci_dev_enable(struct upci_dev *dev);

#ifdef __cplusplus
}
#endif
#endif
