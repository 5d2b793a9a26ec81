/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness for the whole of upci_dev_open() with every kernel reply fuzzed, then what an application does
 * next with the device (IOVA ranges, a DMA allocation, MSI-X vectors, region accesses) and close.
 *
 * The fake VFIO kernel (test/unit/fake_vfio.c) answers first; then, call by call, the input decides whether
 * the reply is changed before the library sees it: fields of VFIO_DEVICE_GET_INFO, GET_IRQ_INFO (edgy counts),
 * GET_REGION_INFO (flags, size, offset, cap_offset, argsz), the type1 VFIO_IOMMU_GET_INFO reply (any byte of
 * it, its argsz), IOMMU_IOAS_IOVA_RANGES (num_iovas, the ranges, the alignment), the group status, the API
 * version and extension answers, the iommufd ids, or the call fails with an errno. Map and unmap calls are
 * never changed (the fake's own mapping count is what proves nothing is left).
 *
 * Invariants (abort() when broken):
 * - every pread/pwrite/mmap of the device fd lies inside a region as the (fuzzed) reply described it, and an
 *   mmap only where that reply said MMAP;
 * - the valid IOVA ranges returned are at most what was asked, each start <= last;
 * - a DMA allocation lies inside one usable range, in none of the doorbell windows, aligned to the granule;
 * - MSI-X: never more vectors than PCI allows (2048), enabling within them;
 * - after close (or a failed open) no fd, address-space reservation or DMA mapping is left.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_vfio.h"
#include "fuzz_vfio_access.h"
#include "lib/vfio_bus/uapi_compat.h"
#include "test/unit/fake_vfio.h"
#include "upci/device.h"
#include "upci/dma.h"
#include "upci/msix.h"
#include "upci/region.h"

static struct fake_vfio f;
static struct input *in;             /* the current input: each reply takes its decisions from it */
static int device_fd = -1;

/* What the library was told about each region (after fuzzing), for the access invariant. */
static struct told_region {
	bool valid;
	uint32_t flags;
	uint64_t offset, size;
} told[FAKE_NUM_REGIONS + 8];

static uint32_t take_edgy32(void)
{
	uint8_t k = take8(in);

	switch (k >> 6) {
	case 0:
		return k & 31;                   /* small */
	case 1:
		return 1u << (k & 31);
	case 2:
		return ~0u >> (k & 31);
	default:
		return take32(in);
	}
}

/* Overwrite up to 4 bytes of @len bytes at @p from offset @from on. */
static void patch_bytes(void *p, size_t from, size_t len)
{
	unsigned n = take8(in) % 5;

	for (unsigned i = 0; i < n && len > from; i++)
		((uint8_t *)p)[from + take16(in) % (len - from)] = take8(in);
}

static void fuzz_device_info(struct vfio_device_info *d)
{
	switch (take8(in) % 4) {
	case 0:
		d->num_regions = take_edgy32();
		break;
	case 1:
		d->num_irqs = take_edgy32();
		break;
	case 2:
		d->flags ^= take32(in);
		break;
	default:
		patch_bytes(d, 4, sizeof(*d));
	}
}

static void fuzz_irq_info(struct vfio_irq_info *q)
{
	if (take8(in) & 1)
		q->count = take_edgy32();
	else
		q->flags ^= take32(in);
}

static void fuzz_region_info(struct vfio_region_info *ri, uint32_t asked)
{
	switch (take8(in) % 6) {
	case 0:
		ri->flags ^= take32(in);
		break;
	case 1:
		ri->size = take_edgy64(in);
		break;
	case 2:
		ri->offset = take_edgy64(in);
		break;
	case 3:
		ri->cap_offset = take_edgy32();
		break;
	case 4:
		ri->argsz = take_edgy32();
		break;
	default:
		patch_bytes(ri, 4, asked);      /* the capability chain too */
	}
}

static void fuzz_type1_info(struct vfio_iommu_type1_info *info, uint32_t asked)
{
	if (take8(in) & 1)
		info->argsz = take_edgy32();
	else
		patch_bytes(info, 4, asked);
}

static void fuzz_ioas_ranges(struct upci_iommu_ioas_iova_ranges *q, uint32_t capacity)
{
	struct upci_iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;
	uint32_t n = q->num_iovas < capacity ? q->num_iovas : capacity;

	switch (take8(in) % 3) {
	case 0:
		q->num_iovas = take_edgy32();
		break;
	case 1:
		q->out_iova_alignment = take_edgy64(in);
		break;
	default:
		if (n && r)
			patch_bytes(r, 0, n * sizeof(*r));
	}
}

static void note_region(const struct vfio_region_info *ri, uint32_t index)
{
	if (index < sizeof(told) / sizeof(told[0]))
		told[index] = (struct told_region){ true, ri->flags, ri->offset, ri->size };
}

/* Change the reply of @req (already answered by the fake with @rc). Return: the rc the library sees. */
static int fuzz_reply(unsigned long req, void *arg, int rc, uint32_t asked)
{
	static const int errnos[] = { EIO, EINVAL, ENOSPC, EMSGSIZE, EAGAIN, ENOTTY, EPERM, EBUSY };
	uint8_t ctl = take8(in);

	if (ctl < 0x90)
		return rc;                        /* most replies as the fake gave them */
	if (ctl >= 0xf0) {
		errno = errnos[ctl & 7];
		return -1;
	}
	if (rc < 0)
		return rc;
	switch (req) {
	case VFIO_GET_API_VERSION:
	case VFIO_CHECK_EXTENSION:
		return (int)take_edgy32();
	case VFIO_GROUP_GET_STATUS:
		((struct vfio_group_status *)arg)->flags ^= take32(in);
		break;
	case VFIO_DEVICE_GET_INFO:
		fuzz_device_info(arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
		fuzz_irq_info(arg);
		break;
	case VFIO_DEVICE_GET_REGION_INFO:
		fuzz_region_info(arg, asked);
		break;
	case VFIO_IOMMU_GET_INFO:
		fuzz_type1_info(arg, asked);
		break;
	case UPCI_IOMMU_IOAS_IOVA_RANGES:
		fuzz_ioas_ranges(arg, asked);
		break;
	case UPCI_IOMMU_IOAS_ALLOC:
		((struct upci_iommu_ioas_alloc *)arg)->out_ioas_id = take_edgy32();
		break;
	case UPCI_VFIO_DEVICE_BIND_IOMMUFD:
		((struct upci_vfio_bind_iommufd *)arg)->out_devid = take_edgy32();
		break;
	case UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		((struct upci_vfio_attach_iommufd_pt *)arg)->pt_id = take_edgy32();
		break;
	default:
		break;
	}
	return rc;
}

/* Replies that report, or change nothing the fake counts (it tracks fds and mappings), are the ones fuzzed. */
static bool is_fuzzed(unsigned long req)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
	case VFIO_CHECK_EXTENSION:
	case VFIO_GROUP_GET_STATUS:
	case VFIO_DEVICE_GET_INFO:
	case VFIO_DEVICE_GET_IRQ_INFO:
	case VFIO_DEVICE_GET_REGION_INFO:
	case VFIO_IOMMU_GET_INFO:
	case UPCI_IOMMU_IOAS_IOVA_RANGES:
	case UPCI_IOMMU_IOAS_ALLOC:
	case UPCI_VFIO_DEVICE_BIND_IOMMUFD:
	case UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return true;
	default:
		return false;
	}
}

/* The size the caller gave (argsz, or the range capacity), read before the fake writes over it. */
static uint32_t asked_size(unsigned long req, const void *arg)
{
	if (req == UPCI_IOMMU_IOAS_IOVA_RANGES)
		return ((const struct upci_iommu_ioas_iova_ranges *)arg)->num_iovas;
	if (req == VFIO_DEVICE_GET_REGION_INFO || req == VFIO_IOMMU_GET_INFO)
		return *(const uint32_t *)arg;
	return 0;
}

static int w_ioctl(int fd, unsigned long req, void *arg)
{
	uint32_t asked = arg ? asked_size(req, arg) : 0;
	uint32_t index = req == VFIO_DEVICE_GET_REGION_INFO ? ((struct vfio_region_info *)arg)->index : 0;
	int rc = base.ioctl(fd, req, arg);

	if (req == VFIO_GROUP_GET_DEVICE_FD && rc >= 0)
		device_fd = rc;
	if (is_fuzzed(req))
		rc = fuzz_reply(req, arg, rc, asked);
	if (req == VFIO_DEVICE_GET_REGION_INFO && rc == 0)
		note_region(arg, index);
	return rc;
}

static int w_open(const char *path, int flags, mode_t mode)
{
	int fd = base.open(path, flags, mode);

	if (fd >= 0 && is_device_cdev(path))
		device_fd = fd;
	return fd;
}

static bool is_device_fd(int fd)
{
	return fd == device_fd;
}

static int w_close(int fd)
{
	if (fd == device_fd)
		device_fd = -1;
	return base.close(fd);
}

/* Inside a region as the library was told it (offset + size never wraps for a region it accepted). */
static void check_access(const char *what, size_t len, off_t off, bool mmap)
{
	uint64_t o = (uint64_t)off;

	for (size_t i = 0; i < sizeof(told) / sizeof(told[0]); i++) {
		const struct told_region *t = &told[i];
		uint64_t size = mmap ? (t->size + 4095) & ~4095ull : t->size;

		if (!t->valid || o < t->offset || o - t->offset > size || len > size - (o - t->offset))
			continue;
		if (mmap && !(t->flags & VFIO_REGION_INFO_FLAG_MMAP))
			continue;
		return;
	}
	CHECK(false, "%s of %zu bytes at %#llx of the device fd: in no region as described", what, len,
	      (unsigned long long)o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_vfio_init(&f);
	fuzz_vfio_access_install(&f, w_open, w_close, w_ioctl);
	return 0;
}

static void check_ranges(struct upci_iommu *iommu)
{
	struct upci_iova_range r[8];
	int n = upci_iommu_iova_ranges(iommu, r, 8);

	CHECK(n <= 8, "%d ranges into 8", n);
	for (int i = 0; i < n; i++)
		CHECK(r[i].start <= r[i].last, "range %d [%#llx, %#llx]", i, (unsigned long long)r[i].start,
		      (unsigned long long)r[i].last);
}

static void check_dma(struct upci_iommu *iommu, size_t len)
{
	struct upci_iova_range use[32];
	struct upci_doorbell_window win[8];
	struct upci_dma *d = NULL;
	uint64_t granule = upci_iommu_iova_granule(iommu), last;
	int nu, nw;
	bool inside = false;

	if (upci_dma_alloc(iommu, len, -1, UPCI_DMA_NO_HUGEPAGES, &d))
		return;
	last = d->iova + d->len - 1;
	CHECK(d->len >= len && last >= d->iova && granule && !(d->iova % granule), "DMA %#llx+%#zx, granule %#llx",
	      (unsigned long long)d->iova, d->len, (unsigned long long)granule);
	nu = upci_iommu_usable_ranges(iommu, use, 32);
	for (int i = 0; i < nu && i < 32; i++)
		inside |= d->iova >= use[i].start && last <= use[i].last;
	CHECK(nu < 0 || inside, "DMA %#llx-%#llx in none of %d usable ranges", (unsigned long long)d->iova,
	      (unsigned long long)last, nu);
	nw = upci_iommu_doorbell_windows(iommu, win, 8);
	for (int i = 0; i < nw && i < 8; i++)
		CHECK(last < win[i].start || d->iova > win[i].last, "DMA %#llx-%#llx in the doorbell window %#llx-%#llx",
		      (unsigned long long)d->iova, (unsigned long long)last, (unsigned long long)win[i].start,
		      (unsigned long long)win[i].last);
	upci_dma_free(d);
}

static void check_vectors(struct upci_dev *dev)
{
	struct upci_irqs *irqs = NULL;
	unsigned want = take8(in) % 8 + 1;

	if (upci_irqs_open(dev, UPCI_IRQ_AUTO, &irqs))
		return;
	CHECK(upci_irqs_max(irqs) >= 1 && upci_irqs_max(irqs) <= 2048, "%u vectors", upci_irqs_max(irqs));
	if (want <= upci_irqs_max(irqs) && !upci_irqs_enable(irqs, 0, want))
		for (unsigned v = 0; v < want; v++)
			CHECK(upci_irqs_fd(irqs, v) >= 0, "vector %u of %u enabled without an eventfd", v, want);
	upci_irqs_close(irqs);
}

static void check_nothing_left(const char *when)
{
	CHECK(f.live_fds == 0 && f.live_reservations == 0 && f.dma_maps == 0 && device_fd < 0,
	      "%s: %d fds, %d reservations, %d DMA mappings left, device fd %d", when, f.live_fds,
	      f.live_reservations, f.dma_maps, device_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input cur = { data, size };
	struct upci_dev_opts opts = { 0 };
	struct upci_dev *dev;

	in = &cur;
	memset(told, 0, sizeof(told));
	opts.backend = take8(in) & 1 ? UPCI_BACKEND_IOMMUFD : UPCI_BACKEND_TYPE1;
	dev = fuzz_vfio_open_device(&f, &opts);
	if (!dev)
		return 0;
	check_ranges(upci_dev_iommu(dev));
	check_dma(upci_dev_iommu(dev), (size_t)(take8(in) + 1) * 4096);
	check_vectors(dev);
	for (unsigned k = 0; k < 2 && cur.left; k++) {
		uint8_t buf[64];
		unsigned index = take8(in) % (FAKE_NUM_REGIONS + 1);

		upci_region_read(dev, index, take_edgy64(in), buf, take8(in) % sizeof(buf));
	}
	upci_dev_close(dev);
	check_nothing_left("close");
	return 0;
}
