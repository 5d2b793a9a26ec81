/* SPDX-License-Identifier: BSD-3-Clause */
/* VFIO regions: info and capability chains, the BAR mapping policy, and the trapped register path. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upci/kernel.h"
#include "upci/log.h"
#include "../common/vfio_caps.h"
#include "device_internal.h"

/* A region info reply larger than this is not believed. */
#define REGION_INFO_MAX 65536

static int region_cap(const uint8_t *cap, uint32_t avail, uint16_t id, void *arg)
{
	struct upci_region *r = arg;

	switch (id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP: {
		struct vfio_region_info_cap_sparse_mmap sp;

		if (avail < sizeof(sp))
			return -EINVAL;
		memcpy(&sp, cap, sizeof(sp));
		if (sp.nr_areas > UPCI_MAX_SPARSE ||
		    sizeof(sp) + (uint64_t)sp.nr_areas * sizeof(struct vfio_region_sparse_mmap_area) > avail)
			return -EINVAL;
		for (uint32_t i = 0; i < sp.nr_areas; i++) {
			struct vfio_region_sparse_mmap_area a;

			memcpy(&a, cap + sizeof(sp) + i * sizeof(a), sizeof(a));
			if (a.size == 0 || a.offset > r->size || a.size > r->size - a.offset)
				return -EINVAL;
			r->sparse[i].offset = a.offset;
			r->sparse[i].size = a.size;
		}
		r->n_sparse = sp.nr_areas;
		r->has_sparse = true;
		return 0;
	}
	case VFIO_REGION_INFO_CAP_TYPE: {
		struct vfio_region_info_cap_type t;

		if (avail < sizeof(t))
			return -EINVAL;
		memcpy(&t, cap, sizeof(t));
		r->has_type = true;
		r->type = t.type;
		r->subtype = t.subtype;
		return 0;
	}
	case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
		r->msix_mappable = true;
		return 0;
	default:
		return 0; /* capabilities we do not use */
	}
}

/* Parse a VFIO_DEVICE_GET_REGION_INFO reply of @argsz bytes (capability chain untrusted). Return: 0 or -EINVAL. */
int region_info_parse(const void *buf, uint32_t argsz, struct upci_region *out)
{
	struct vfio_region_info ri;

	if (argsz < sizeof(ri))
		return -EINVAL;
	memcpy(&ri, buf, sizeof(ri));
	memset(out, 0, sizeof(*out));
	out->index = ri.index;
	out->flags = ri.flags;
	out->size = ri.size;
	out->offset = ri.offset;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	return vfio_cap_walk(buf, argsz, sizeof(ri), ri.cap_offset, region_cap, out);
}

/* One VFIO_DEVICE_GET_REGION_INFO, growing the buffer when the kernel asks for more (argsz). */
static int query_region(struct upci_dev *dev, unsigned index, struct upci_region *out)
{
	const struct upci_kernel_ops *k = upci_kernel();
	uint32_t size = sizeof(struct vfio_region_info);
	int rc = -EIO;

	for (int attempt = 0; attempt < 3; attempt++) {
		struct vfio_region_info *ri = calloc(1, size);

		if (!ri)
			return -ENOMEM;
		ri->argsz = size;
		ri->index = index;
		if (k->ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) {
			rc = -errno;
			free(ri);
			return rc;
		}
		if (ri->argsz > size) {
			/* The capability chain did not fit: the kernel says how much it needs. */
			size = ri->argsz;
			free(ri);
			if (size > REGION_INFO_MAX)
				return -EINVAL;
			continue;
		}
		rc = region_info_parse(ri, ri->argsz < size ? ri->argsz : size, out);
		free(ri);
		return rc;
	}
	return rc;
}

/* Whether [@off, @off + @len) of region @r lies inside it and its bytes in the device fd are valid off_t values
 * (the region's offset and size come from the kernel: region_fits_fd() checked them at open). */
static bool region_span_ok(const struct upci_region *r, uint64_t off, uint64_t len)
{
	return off <= r->size && len <= r->size - off && r->offset <= (uint64_t)INT64_MAX &&
	       r->size <= (uint64_t)INT64_MAX - r->offset;
}

/* A region must lie inside the device fd: offset + size neither wraps nor passes INT64_MAX (off_t). */
static bool region_fits_fd(const struct upci_region *r)
{
	return region_span_ok(r, 0, 0);
}

int dev_read_regions(struct upci_dev *dev)
{
	dev->regions = calloc(dev->n_regions, sizeof(*dev->regions));
	if (!dev->regions) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: out of memory for %u region descriptors", dev->name,
			 dev->n_regions);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < dev->n_regions; i++) {
		int rc = query_region(dev, i, &dev->regions[i]);

		if (rc == -EINVAL && i == VFIO_PCI_VGA_REGION_INDEX) {
			memset(&dev->regions[i], 0, sizeof(dev->regions[i])); /* no VGA region: normal */
			dev->regions[i].index = i;
			continue;
		}
		if (rc) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_GET_REGION_INFO(%u): %s%s", dev->name, i,
				 strerror(-rc), rc == -EINVAL ? " (malformed capability chain)" : "");
			return rc;
		}
		if (!region_fits_fd(&dev->regions[i])) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_GET_REGION_INFO(%u) reports offset 0x%llx size "
				 "0x%llx, which wraps or lies past the end of the device fd: refusing the device (a kernel "
				 "or vfio variant driver bug; try another kernel)", dev->name, i,
				 (unsigned long long)dev->regions[i].offset, (unsigned long long)dev->regions[i].size);
			return -EINVAL;
		}
		if (i < VFIO_PCI_ROM_REGION_INDEX) {
			dev->bars[i].size = dev->regions[i].size;
			dev->bars[i].index = (uint8_t)i;
			dev->bars[i].dev = dev;
		}
	}
	return 0;
}

const struct upci_region *upci_dev_region(const struct upci_dev *dev, unsigned index)
{
	return dev && index < dev->n_regions ? &dev->regions[index] : NULL;
}

unsigned upci_dev_region_count(const struct upci_dev *dev)
{
	return dev->n_regions;
}

const struct upci_bar *upci_dev_bar(const struct upci_dev *dev, unsigned index)
{
	return dev && index < VFIO_PCI_ROM_REGION_INDEX ? &dev->bars[index] : NULL;
}

static int region_io(struct upci_dev *dev, unsigned index, uint64_t off, void *buf, size_t len, bool write)
{
	const struct upci_kernel_ops *k = upci_kernel();
	const struct upci_region *r = upci_dev_region(dev, index);
	ssize_t n;

	if (dev->removed)
		return -ENODEV;
	if (!r || !r->size || !region_span_ok(r, off, len))
		return -EINVAL; /* no such region, an absent one (size 0), or outside it */
	if (!len)
		return 0;
	n = write ? k->pwrite(dev->fd, buf, len, (off_t)(r->offset + off))
		  : k->pread(dev->fd, buf, len, (off_t)(r->offset + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int upci_region_read(struct upci_dev *dev, unsigned index, uint64_t off, void *buf, size_t len)
{
	return region_io(dev, index, off, buf, len, false);
}

int upci_region_write(struct upci_dev *dev, unsigned index, uint64_t off, const void *buf, size_t len)
{
	return region_io(dev, index, off, (void *)buf, len, true);
}

uint64_t upci_bar_read_slow(const struct upci_bar *bar, uint64_t off, unsigned width)
{
	uint64_t v = 0;
	int rc;

	if (width != 1 && width != 2 && width != 4 && width != 8)
		return ~0ull;
	rc = upci_region_read(bar->dev, bar->index, off, &v, width);
	if (rc) {
		if (rc != -ENODEV)
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: BAR %u read of %u bytes at 0x%llx: %s", bar->dev->name,
				 bar->index, width, (unsigned long long)off, strerror(-rc));
		return width == 8 ? ~0ull : (1ull << (width * 8)) - 1;
	}
	return width == 8 ? le64toh(v) : width == 4 ? le32toh((uint32_t)v) : width == 2 ? le16toh((uint16_t)v) : v;
}

void upci_bar_write_slow(const struct upci_bar *bar, uint64_t off, uint64_t val, unsigned width)
{
	uint64_t le = width == 8 ? htole64(val) : width == 4 ? htole32((uint32_t)val)
						: width == 2 ? htole16((uint16_t)val) : val;
	int rc;

	if (width != 1 && width != 2 && width != 4 && width != 8)
		return;
	rc = upci_region_write(bar->dev, bar->index, off, &le, width);
	if (rc && rc != -ENODEV)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: BAR %u write of %u bytes at 0x%llx: %s", bar->dev->name,
			 bar->index, width, (unsigned long long)off, strerror(-rc));
}

/* ---- the mapping policy ---- */

static uint64_t round_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void add_piece(struct upci_bar *bar, uint64_t lo, uint64_t hi)
{
	if (lo < hi && bar->n_pieces < UPCI_BAR_MAX_PIECES) {
		bar->lo[bar->n_pieces] = lo;
		bar->hi[bar->n_pieces] = hi;
		bar->n_pieces++;
	}
}

/* Add [lo, hi) minus the hole [hole_lo, hole_hi) to @bar's pieces. */
static void add_piece_minus_hole(struct upci_bar *bar, uint64_t lo, uint64_t hi, uint64_t hole_lo, uint64_t hole_hi)
{
	if (hole_lo >= hole_hi || hi <= hole_lo || lo >= hole_hi) {
		add_piece(bar, lo, hi);
		return;
	}
	add_piece(bar, lo, hole_lo);
	add_piece(bar, hole_hi, hi);
}

/*
 * Decide which parts of BAR @i may be mapped: the mmap-able areas (sparse areas, or the whole region),
 * minus the MSI-X table's pages unless the kernel says the table is mappable and MSIs are isolated.
 */
static void plan_bar(struct upci_dev *dev, unsigned i)
{
	const struct upci_region *r = &dev->regions[i];
	struct upci_bar *bar = &dev->bars[i];
	const struct upci_msix_layout *m = &dev->msix;
	uint64_t hole_lo = 0, hole_hi = 0, ps = upci_page_size();

	bar->n_pieces = 0;
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || r->size == 0)
		return;
	if (m->present && m->table_bar == i && !(r->msix_mappable && dev->isolated)) {
		hole_lo = round_down(m->table_offset, ps);
		hole_hi = round_up((uint64_t)m->table_offset + (uint64_t)m->vectors * 16, ps);
	}
	if (!r->has_sparse) {
		add_piece_minus_hole(bar, 0, r->size, hole_lo, hole_hi);
		return;
	}
	for (uint32_t s = 0; s < r->n_sparse; s++)
		add_piece_minus_hole(bar, r->sparse[s].offset, r->sparse[s].offset + r->sparse[s].size, hole_lo, hole_hi);
}

static void describe_msix(struct upci_dev *dev)
{
	struct upci_msix_layout *m = &dev->msix;
	const struct upci_region *r;

	if (!m->present)
		return;
	r = &dev->regions[m->table_bar];
	m->table_mapped = upci_bar_is_mapped(&dev->bars[m->table_bar], m->table_offset, (uint64_t)m->vectors * 16);
	if (m->table_mapped)
		snprintf(dev->msix_why, sizeof(dev->msix_why), "mapped: the kernel reports MSIX_MAPPABLE and MSIs are isolated");
	else if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		snprintf(dev->msix_why, sizeof(dev->msix_why), "not mapped: BAR %u cannot be mmapped", m->table_bar);
	else if (!r->msix_mappable)
		snprintf(dev->msix_why, sizeof(dev->msix_why),
			 "not mapped: the kernel does not report MSIX_MAPPABLE for BAR %u", m->table_bar);
	else if (!dev->isolated)
		snprintf(dev->msix_why, sizeof(dev->msix_why), "not mapped: MSIs are not isolated (%s)",
			 dev->isolation_reason);
	else
		snprintf(dev->msix_why, sizeof(dev->msix_why), "not mapped: no mmap-able area covers it");
	m->why = dev->msix_why;
}

/* Reserve the BAR's span PROT_NONE, then map each planned piece over it from the device fd. */
static int map_bar(struct upci_dev *dev, unsigned i)
{
	const struct upci_kernel_ops *k = upci_kernel();
	struct upci_bar *bar = &dev->bars[i];
	uint64_t ps = upci_page_size();
	size_t span = (size_t)round_up(bar->size, ps);
	uint8_t *base;

	if (bar->n_pieces == 0)
		return 0;
	base = k->mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	dev->bar_reserved[i] = span;
	bar->base = base;
	for (uint32_t p = 0; p < bar->n_pieces; p++) {
		size_t len = (size_t)round_up(bar->hi[p] - bar->lo[p], ps);
		void *at = MAP_FAILED;

		/* plan_bar() keeps every piece inside the region, and the region lies inside the fd: checked anyway. */
		errno = EINVAL;
		if (region_span_ok(&dev->regions[i], bar->lo[p], bar->hi[p] - bar->lo[p]))
			at = k->mmap(base + bar->lo[p], len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, dev->fd,
				     (off_t)(dev->regions[i].offset + bar->lo[p]));
		if (at == MAP_FAILED) {
			int rc = -errno;

			upci_log(UPCI_LOG_WARN, LOG_VFIO, "%s: mmap of BAR %u [0x%llx, 0x%llx) failed (%s): "
				 "that part is served through the region fd", dev->name, i,
				 (unsigned long long)bar->lo[p], (unsigned long long)bar->hi[p], strerror(-rc));
			/* Keep the pieces that did map; drop this one. */
			bar->lo[p] = bar->lo[bar->n_pieces - 1];
			bar->hi[p] = bar->hi[bar->n_pieces - 1];
			bar->n_pieces--;
			p--;
		}
	}
	return 0;
}

int dev_map_bars(struct upci_dev *dev)
{
	for (unsigned i = 0; i < VFIO_PCI_ROM_REGION_INDEX && i < dev->n_regions; i++) {
		int rc;

		plan_bar(dev, i);
		rc = map_bar(dev, i);
		if (rc) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot reserve address space for BAR %u: %s", dev->name, i,
				 strerror(-rc));
			return rc;
		}
	}
	describe_msix(dev);
	return 0;
}

void dev_unmap_bars(struct upci_dev *dev)
{
	for (unsigned i = 0; i < VFIO_PCI_ROM_REGION_INDEX; i++) {
		if (dev->bars[i].base)
			upci_kernel()->munmap((void *)dev->bars[i].base, dev->bar_reserved[i]);
		dev->bars[i].base = NULL;
		dev->bars[i].n_pieces = 0;
		dev->bar_reserved[i] = 0;
	}
}

/*
 * The device is gone: replace every mapped piece with private all-ones memory, so a pointer a caller still
 * holds reads ~0 (what a removed PCI device answers) and its writes land nowhere, instead of faulting.
 */
void dev_neuter_bars(struct upci_dev *dev)
{
	const struct upci_kernel_ops *k = upci_kernel();
	uint64_t ps = upci_page_size();

	for (unsigned i = 0; i < VFIO_PCI_ROM_REGION_INDEX; i++) {
		struct upci_bar *bar = &dev->bars[i];

		if (!bar->base)
			continue;
		for (uint32_t p = 0; p < bar->n_pieces; p++) {
			size_t len = (size_t)round_up(bar->hi[p] - bar->lo[p], ps);
			void *at = k->mmap((void *)(bar->base + bar->lo[p]), len, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

			if (at != MAP_FAILED)
				memset(at, 0xff, len);
		}
	}
}
