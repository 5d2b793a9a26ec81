/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI configuration space through the VFIO config region: accessors, capability walks, MSI-X layout. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "upci/log.h"
#include "device_internal.h"

/* PCI Local Bus Specification 3.0, section 6.2 / 6.7; PCIe Base Specification, section 7.6. */
enum {
	PCI_CFG_COMMAND = 0x04,
	PCI_CFG_STATUS = 0x06,
	PCI_CFG_CAP_PTR = 0x34,
	PCI_CMD_MEMORY = 1u << 1,
	PCI_CMD_BUS_MASTER = 1u << 2,
	PCI_STATUS_CAP_LIST = 1u << 4,
	PCI_STD_CAP_FIRST = 0x40,
	PCI_STD_CFG_SIZE = 0x100,
	PCI_EXT_CAP_FIRST = 0x100,
	PCI_EXT_CFG_SIZE = 0x1000,
	PCI_CAP_ID_MSIX = 0x11,
	MSIX_CTRL = 2,          /* Message Control: table size - 1 in bits 10:0 */
	MSIX_TABLE = 4,         /* Table Offset / BIR */
	MSIX_PBA = 8,           /* PBA Offset / BIR */
	MSIX_BIR_MASK = 0x7,
	MSIX_ENTRY_SIZE = 16,
};

static int cfg_read(struct upci_dev *dev, uint16_t off, void *buf, size_t len)
{
	return upci_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf, len);
}

static int cfg_write(struct upci_dev *dev, uint16_t off, const void *buf, size_t len)
{
	return upci_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf, len);
}

/* Config space is little-endian. */
int upci_cfg_read8(struct upci_dev *dev, uint16_t off, uint8_t *val)
{
	return cfg_read(dev, off, val, 1);
}

int upci_cfg_read16(struct upci_dev *dev, uint16_t off, uint16_t *val)
{
	uint16_t le;
	int rc = cfg_read(dev, off, &le, 2);

	if (!rc)
		*val = le16toh(le);
	return rc;
}

int upci_cfg_read32(struct upci_dev *dev, uint16_t off, uint32_t *val)
{
	uint32_t le;
	int rc = cfg_read(dev, off, &le, 4);

	if (!rc)
		*val = le32toh(le);
	return rc;
}

int upci_cfg_write16(struct upci_dev *dev, uint16_t off, uint16_t val)
{
	uint16_t le = htole16(val);

	return cfg_write(dev, off, &le, 2);
}

int upci_cfg_write32(struct upci_dev *dev, uint16_t off, uint32_t val)
{
	uint32_t le = htole32(val);

	return cfg_write(dev, off, &le, 4);
}

/* A config read of a capability walk failed with @rc: one line (none for a removed device); -ENODEV or -EIO. */
static int walk_read_failed(struct upci_dev *dev, unsigned off, int rc)
{
	if (rc == -ENODEV)
		return rc;
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: config space read at 0x%03x failed during the capability walk: %s (is the "
		 "device in a low-power state or gone? check dmesg; a reset may help)", dev->name, off, strerror(-rc));
	return -EIO;
}

int upci_cfg_find_cap(struct upci_dev *dev, uint8_t id)
{
	uint16_t status;
	uint8_t pos, next, cap_id;
	int rc = upci_cfg_read16(dev, PCI_CFG_STATUS, &status);

	if (rc)
		return walk_read_failed(dev, PCI_CFG_STATUS, rc);
	if (!(status & PCI_STATUS_CAP_LIST))
		return -ENOENT;
	rc = upci_cfg_read8(dev, PCI_CFG_CAP_PTR, &pos);
	if (rc)
		return walk_read_failed(dev, PCI_CFG_CAP_PTR, rc); /* not "no capabilities": that hid MSI-X */
	pos &= ~3u; /* the two low bits are reserved */
	/* At most one capability per dword of the device-specific area: more steps means a loop. */
	for (int steps = 0; pos; steps++) {
		if (steps >= (PCI_STD_CFG_SIZE - PCI_STD_CAP_FIRST) / 4 || pos < PCI_STD_CAP_FIRST) {
			upci_log(UPCI_LOG_WARN, LOG_VFIO, "%s: corrupt capability list (0x%02x after %d steps)",
				 dev->name, pos, steps);
			return -EIO;
		}
		rc = upci_cfg_read8(dev, pos, &cap_id);
		if (!rc)
			rc = upci_cfg_read8(dev, pos + 1, &next);
		if (rc)
			return walk_read_failed(dev, pos, rc);
		if (cap_id == id)
			return pos;
		pos = next & ~3u;
	}
	return -ENOENT;
}

int upci_cfg_find_ext_cap(struct upci_dev *dev, uint16_t id)
{
	const struct upci_region *cfg = upci_dev_region(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	uint32_t hdr;
	uint16_t pos = PCI_EXT_CAP_FIRST;

	if (!cfg || cfg->size < PCI_EXT_CFG_SIZE)
		return -ENOENT; /* conventional PCI: no extended space */
	for (int steps = 0;; steps++) {
		if (steps >= (PCI_EXT_CFG_SIZE - PCI_EXT_CAP_FIRST) / 4 || pos < PCI_EXT_CAP_FIRST ||
		    pos > PCI_EXT_CFG_SIZE - 4) {
			upci_log(UPCI_LOG_WARN, LOG_VFIO, "%s: corrupt extended capability list (0x%03x after %d steps)",
				 dev->name, pos, steps);
			return -EIO;
		}
		int rc = upci_cfg_read32(dev, pos, &hdr);

		if (rc)
			return walk_read_failed(dev, pos, rc);
		if (hdr == 0 || hdr == 0xffffffffu)
			return -ENOENT; /* empty list, or nothing there */
		if ((hdr & 0xffff) == id)
			return pos;
		pos = (uint16_t)((hdr >> 20) & ~3u);
		if (pos == 0)
			return -ENOENT;
	}
}

int upci_dev_enable(struct upci_dev *dev)
{
	uint16_t cmd;
	int rc = upci_cfg_read16(dev, PCI_CFG_COMMAND, &cmd);

	if (!rc && (cmd & (PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER)) != (PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER))
		rc = upci_cfg_write16(dev, PCI_CFG_COMMAND, cmd | PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER);
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot enable memory space and bus mastering: %s", dev->name,
			 strerror(-rc));
	return rc;
}

/* Read the MSI-X capability and check it against the BARs: a table or PBA outside its BAR is refused. */
int dev_read_msix_layout(struct upci_dev *dev)
{
	struct upci_msix_layout *m = &dev->msix;
	uint16_t ctrl;
	uint32_t table, pba;
	const struct upci_bar *tb, *pb;
	int pos = upci_cfg_find_cap(dev, PCI_CAP_ID_MSIX), rc;

	memset(m, 0, sizeof(*m));
	m->why = "the device has no MSI-X capability";
	if (pos == -ENOENT)
		return 0;
	if (pos < 0)
		return pos; /* upci_cfg_find_cap() logged it */
	rc = upci_cfg_read16(dev, (uint16_t)(pos + MSIX_CTRL), &ctrl);
	if (!rc)
		rc = upci_cfg_read32(dev, (uint16_t)(pos + MSIX_TABLE), &table);
	if (!rc)
		rc = upci_cfg_read32(dev, (uint16_t)(pos + MSIX_PBA), &pba);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot read the MSI-X capability at 0x%02x: %s (check dmesg; a reset "
			 "may help)", dev->name, pos, strerror(-rc));
		return -EIO;
	}
	m->cap_offset = (uint16_t)pos;
	m->vectors = (uint16_t)((ctrl & 0x7ff) + 1);
	m->table_bar = (uint8_t)(table & MSIX_BIR_MASK);
	m->table_offset = table & ~(uint32_t)MSIX_BIR_MASK;
	m->pba_bar = (uint8_t)(pba & MSIX_BIR_MASK);
	m->pba_offset = pba & ~(uint32_t)MSIX_BIR_MASK;
	tb = upci_dev_bar(dev, m->table_bar);
	pb = upci_dev_bar(dev, m->pba_bar);
	if (!tb || !pb || (uint64_t)m->table_offset + (uint64_t)m->vectors * MSIX_ENTRY_SIZE > tb->size ||
	    (uint64_t)m->pba_offset + ((m->vectors + 63u) / 64u) * 8u > pb->size) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: MSI-X capability places the table (BAR %u + 0x%x, %u vectors) or "
			 "PBA (BAR %u + 0x%x) outside its BAR", dev->name, m->table_bar, m->table_offset, m->vectors,
			 m->pba_bar, m->pba_offset);
		return -EIO;
	}
	m->present = true;
	return 0;
}
