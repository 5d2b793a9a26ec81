/* SPDX-License-Identifier: BSD-3-Clause */
/* A fake VFIO kernel behind the kernel seam (see fake_vfio.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_vfio.h"
#include "lib/vfio_bus/uapi_compat.h"

#define REGION_SHIFT 40
#define MAX_FD 4096
#define MAX_RESERVATIONS 64

enum fd_kind { FD_NONE, FD_CONTAINER, FD_GROUP, FD_IOMMUFD, FD_DEVICE, FD_EVENTFD };

static struct fake_vfio *fake;
static enum fd_kind fd_kinds[MAX_FD];
static void *reservations[MAX_RESERVATIONS];

static bool injected_failure(enum fake_call c)
{
	return ++fake->calls[c] == fake->fail_at[c];
}

static int new_fd(enum fd_kind kind)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0 || fd >= MAX_FD)
		abort();
	fd_kinds[fd] = kind;
	fake->live_fds++;
	return fd;
}

static enum fd_kind kind_of(int fd)
{
	return fd >= 0 && fd < MAX_FD ? fd_kinds[fd] : FD_NONE;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static int fake_open(const char *path, int flags, mode_t mode)
{
	size_t rlen = strlen(fake->sys.root);
	const char *p = strncmp(path, fake->sys.root, rlen) ? path : path + rlen;
	char group[32];

	if (injected_failure(FAKE_OPEN))
		return fail(EIO);
	snprintf(group, sizeof(group), "/dev/vfio/%d", FAKE_GROUP);
	if (!strcmp(p, "/dev/vfio/vfio"))
		return new_fd(FD_CONTAINER);
	if (!strcmp(p, group))
		return new_fd(FD_GROUP);
	if (!strcmp(p, "/dev/iommu"))
		return fake->has_iommufd ? new_fd(FD_IOMMUFD) : fail(ENOENT);
	if (!strcmp(p, "/dev/vfio/devices/vfio0"))
		return fake->has_cdev ? new_fd(FD_DEVICE) : fail(ENOENT);
	if (!strncmp(p, "/dev/", 5))
		return fail(ENOENT);
	return open(path, flags | O_CLOEXEC, mode);
}

static int fake_close(int fd)
{
	if (kind_of(fd) != FD_NONE) {
		if (kind_of(fd) == FD_EVENTFD && fd == fake->req_eventfd)
			fake->req_eventfd = -1;
		fd_kinds[fd] = FD_NONE;
		fake->live_fds--;
	}
	return close(fd);
}

uint64_t fake_vfio_dma_granule(const struct fake_vfio *f, bool iommufd)
{
	/* type1 folds the host page into iova_pgsizes (vfio_update_pgsize_bitmap()); iommufd pins whole pages */
	uint64_t io = iommufd ? f->iova_alignment : f->iova_pgsizes & -f->iova_pgsizes, host = (uint64_t)f->page_size;

	return io > host ? io : host;
}

/* The kernel refuses DMA mappings that are not aligned to the IOMMU page, or touch the MSI window. */
static int dma_map(uint64_t iova, uint64_t size, uint64_t vaddr, bool iommufd)
{
	uint64_t mask = fake_vfio_dma_granule(fake, iommufd) - 1;

	if (size == 0 || ((iova | size | vaddr) & mask) || iova + size - 1 < iova)
		return fail(EINVAL);
	if (iova <= 0xfeefffffull && iova + size - 1 >= 0xfee00000ull)
		return fail(EINVAL);
	if (fake->dma_maps >= (int)fake->dma_entry_limit)
		return fail(ENOSPC);
	fake->dma_maps++;
	fake->dma_bytes += size;
	fake->last_map_iova = iova;
	return 0;
}

static int dma_unmap(uint64_t size)
{
	if (fake->dma_maps == 0)
		return fail(EINVAL);
	fake->dma_maps--;
	fake->dma_bytes -= size;
	return 0;
}

static int container_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU;
	case VFIO_SET_IOMMU:
		fake->set_iommu_calls++;
		return fake->set_iommu_errno ? fail(fake->set_iommu_errno) : 0;
	case VFIO_IOMMU_GET_INFO: {
		struct vfio_iommu_type1_info *info = arg;
		struct vfio_iommu_type1_info_cap_iova_range cap = {
			.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 }, .nr_iovas = 2 };
		struct vfio_iova_range ranges[2] = { { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff } };
		struct vfio_iommu_type1_info_dma_avail avail = {
			.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
			.avail = fake->dma_entry_limit - (uint32_t)fake->dma_maps };
		uint32_t need = sizeof(*info) + sizeof(cap) + sizeof(ranges) + sizeof(avail);

		if (fake->type1_claim_iovas) {
			cap.nr_iovas = fake->type1_claim_iovas;
			need += 16; /* zeroes after DMA_AVAIL, as if another capability followed */
		}

		info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
		info->iova_pgsizes = fake->iova_pgsizes;
		if (info->argsz < need) {
			info->argsz = need;
			info->cap_offset = 0;
			return 0;
		}
		info->cap_offset = sizeof(*info);
		cap.header.next = sizeof(*info) + sizeof(cap) + sizeof(ranges);
		memcpy((uint8_t *)info + sizeof(*info), &cap, sizeof(cap));
		memcpy((uint8_t *)info + sizeof(*info) + sizeof(cap), ranges, sizeof(ranges));
		memcpy((uint8_t *)info + cap.header.next, &avail, sizeof(avail));
		return 0;
	}
	case VFIO_IOMMU_MAP_DMA: {
		const struct vfio_iommu_type1_dma_map *m = arg;

		return dma_map(m->iova, m->size, m->vaddr, false);
	}
	case VFIO_IOMMU_UNMAP_DMA:
		return dma_unmap(((struct vfio_iommu_type1_dma_unmap *)arg)->size);
	default:
		return fail(ENOTTY);
	}
}

static int group_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		((struct vfio_group_status *)arg)->flags = fake->group_viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
		return kind_of(*(int *)arg) == FD_CONTAINER ? 0 : fail(EINVAL);
	case VFIO_GROUP_UNSET_CONTAINER:
		/* The fake has one group: the container loses its last one, and type1 drops every mapping with
		 * its IOMMU (vfio_iommu_type1_release); a later UNMAP_DMA fails. */
		fake->dma_maps = 0;
		fake->dma_bytes = 0;
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		if (!strcmp(arg, FAKE_BDF) || (fake->second_device && !strcmp(arg, FAKE_BDF2)))
			return new_fd(FD_DEVICE);
		return fail(ENODEV);
	default:
		return fail(ENOTTY);
	}
}

static int iommufd_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case UPCI_IOMMU_IOAS_ALLOC:
		((struct upci_iommu_ioas_alloc *)arg)->out_ioas_id = 3;
		return 0;
	case UPCI_IOMMU_IOAS_IOVA_RANGES: {
		struct upci_iommu_ioas_iova_ranges *q = arg;
		struct upci_iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;

		if (q->num_iovas < 2) {
			q->num_iovas = 2;
			return fail(EMSGSIZE);
		}
		q->num_iovas = 2;
		r[0] = (struct upci_iommu_iova_range){ 0, 0xfedfffff };
		r[1] = (struct upci_iommu_iova_range){ 0xfef00000, 0x7fffffffff };
		q->out_iova_alignment = fake->iova_alignment;
		return 0;
	}
	case UPCI_IOMMU_IOAS_MAP: {
		const struct upci_iommu_ioas_map *m = arg;

		if (!(m->flags & UPCI_IOMMU_IOAS_MAP_FIXED_IOVA))
			return fail(EINVAL);
		return dma_map(m->iova, m->length, m->user_va, true);
	}
	case UPCI_IOMMU_IOAS_UNMAP:
		return dma_unmap(((struct upci_iommu_ioas_unmap *)arg)->length);
	case UPCI_IOMMU_OPTION: {
		struct upci_iommu_option *o = arg;
		bool start = o->option_id == UPCI_IOMMU_OPTION_SW_MSI_START;

		if (!fake->sw_msi_option || (!start && o->option_id != UPCI_IOMMU_OPTION_SW_MSI_SIZE))
			return fail(EOPNOTSUPP); /* what mainline answers for an unknown option */
		if (o->op == UPCI_IOMMU_OPTION_OP_GET)
			o->val64 = start ? fake->sw_msi_start : fake->sw_msi_size_mb;
		else if (start)
			fake->sw_msi_start = o->val64;
		else
			fake->sw_msi_size_mb = o->val64;
		return 0;
	}
	default:
		return fail(ENOTTY);
	}
}

static int region_info(struct vfio_region_info *ri)
{
	const struct fake_region *r;
	uint32_t fixed = sizeof(*ri), need;

	if (ri->index >= FAKE_NUM_REGIONS || fake->regions[ri->index].absent)
		return fail(EINVAL);
	r = &fake->regions[ri->index];
	need = fixed + r->caps_len;
	ri->flags = r->flags | (r->caps_len ? VFIO_REGION_INFO_FLAG_CAPS : 0);
	ri->size = r->size;
	ri->offset = r->offset ? r->offset : (uint64_t)ri->index << REGION_SHIFT;
	ri->cap_offset = 0;
	if (r->caps_len && ri->argsz < need) {
		ri->argsz = need; /* ask for a larger buffer, as the kernel does */
		return 0;
	}
	if (r->caps_len) {
		ri->cap_offset = fixed;
		memcpy((uint8_t *)ri + fixed, r->caps, r->caps_len);
	}
	return 0;
}

/* Enable/disable/rewire/trigger as the kernel does for INTx, MSI and MSI-X (see vfio_pci_set_msi_trigger()). */
static int set_vector_irqs(const struct vfio_irq_set *s)
{
	bool msix = s->index == VFIO_PCI_MSIX_IRQ_INDEX;
	bool grow = msix && !(fake->irqs[VFIO_PCI_MSIX_IRQ_INDEX].flags & VFIO_IRQ_INFO_NORESIZE);
	const int32_t *fds = (const int32_t *)s->data;

	fake->last_set.argsz = s->argsz;
	fake->last_set.flags = s->flags;
	fake->last_set.index = s->index;
	fake->last_set.start = s->start;
	fake->last_set.count = s->count;
	if ((s->flags & VFIO_IRQ_SET_DATA_EVENTFD) && s->count <= 32)
		memcpy(fake->last_set.fds, fds, s->count * sizeof(int32_t));
	if ((s->flags & VFIO_IRQ_SET_DATA_NONE) && s->count == 0) {
		if (fake->irq_type != (int)s->index)
			return fail(EINVAL);
		fake->irq_type = -1;
		fake->irq_allocated = 0;
		fake->irq_disables++;
		for (int i = 0; i < 32; i++)
			fake->irq_wired[i] = -1;
		return 0;
	}
	if (s->start + s->count > 32 || s->start + s->count > fake->irqs[s->index].count)
		return fail(EINVAL);
	if (s->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (fake->irq_type >= 0 && fake->irq_type != (int)s->index)
			return fail(EINVAL);
		if (fake->irq_type < 0) {
			unsigned nvec = s->start + s->count;

			if (fake->irq_grant_limit && nvec > fake->irq_grant_limit)
				return (int)fake->irq_grant_limit; /* fewer vectors than asked: a positive return */
			fake->irq_type = (int)s->index;
			fake->irq_allocated = nvec;
		}
		for (unsigned i = 0; i < s->count; i++) {
			unsigned v = s->start + i;

			if (v >= fake->irq_allocated) {
				if (!grow)
					return fail(EINVAL); /* NORESIZE: no vector beyond those allocated at enable */
				fake->irq_allocated = v + 1;
			}
			fake->irq_wired[v] = fds[i];
		}
		return 0;
	}
	if (fake->irq_type != (int)s->index)
		return fail(EINVAL);
	for (unsigned v = s->start; v < s->start + s->count; v++) /* DATA_NONE trigger: the loopback */
		if (v < fake->irq_allocated && fake->irq_wired[v] >= 0)
			eventfd_write(fake->irq_wired[v], 1);
	return 0;
}

static int set_irqs(const struct vfio_irq_set *s)
{
	if (s->index <= VFIO_PCI_MSIX_IRQ_INDEX)
		return set_vector_irqs(s);
	if (s->index == VFIO_PCI_REQ_IRQ_INDEX) {
		if ((s->flags & VFIO_IRQ_SET_DATA_EVENTFD) && s->count == 1)
			fake->req_eventfd = *(const int32_t *)s->data;
		else if (s->flags & VFIO_IRQ_SET_DATA_NONE)
			fake->req_eventfd = -1;
	}
	return s->index < VFIO_PCI_NUM_IRQS ? 0 : fail(EINVAL);
}

static int device_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case UPCI_VFIO_DEVICE_BIND_IOMMUFD:
		if (fake->bind_errno)
			return fail(fake->bind_errno);
		((struct upci_vfio_bind_iommufd *)arg)->out_devid = 1;
		return 0;
	case UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		((struct upci_vfio_attach_iommufd_pt *)arg)->pt_id = 4;
		return 0;
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *info = arg;

		info->flags = fake->dev_flags;
		info->num_regions = FAKE_NUM_REGIONS;
		info->num_irqs = VFIO_PCI_NUM_IRQS;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		return region_info(arg);
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *irq = arg;

		if (irq->index >= VFIO_PCI_NUM_IRQS)
			return fail(EINVAL);
		irq->flags = fake->irqs[irq->index].flags;
		irq->count = fake->irqs[irq->index].count;
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		return set_irqs(arg);
	case VFIO_DEVICE_RESET:
		if (!(fake->dev_flags & VFIO_DEVICE_FLAGS_RESET))
			return fail(ENOTTY);
		fake->resets++;
		return 0;
	default:
		return fail(ENOTTY);
	}
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	if (injected_failure(FAKE_IOCTL))
		return fail(EIO);
	switch (kind_of(fd)) {
	case FD_CONTAINER:
		return container_ioctl(req, arg);
	case FD_GROUP:
		return group_ioctl(req, arg);
	case FD_IOMMUFD:
		return iommufd_ioctl(req, arg);
	case FD_DEVICE:
		return device_ioctl(req, arg);
	default:
		return fail(ENOTTY);
	}
}

static struct fake_region *region_at(off_t off, uint64_t *roff)
{
	uint64_t index = (uint64_t)off >> REGION_SHIFT;

	if (index >= FAKE_NUM_REGIONS)
		return NULL;
	*roff = (uint64_t)off & ((1ull << REGION_SHIFT) - 1);
	return &fake->regions[index];
}

static ssize_t region_rw(int fd, void *buf, size_t len, off_t off, bool write)
{
	uint64_t roff;
	struct fake_region *r = region_at(off, &roff);

	fake->pread_calls += !write;
	if (!write && injected_failure(FAKE_PREAD))
		return fail(EIO);
	if (!r || roff > r->size || len > r->size - roff)
		return fail(EINVAL);
	if (roff < r->hide_hi && roff + len > r->hide_lo) {
		if (!write)
			memset(buf, 0xff, len);
		return (ssize_t)len;
	}
	(void)fd;
	return write ? pwrite(r->memfd, buf, len, (off_t)roff) : pread(r->memfd, buf, len, (off_t)roff);
}

static ssize_t fake_pread(int fd, void *buf, size_t len, off_t off)
{
	return kind_of(fd) == FD_DEVICE ? region_rw(fd, buf, len, off, false) : pread(fd, buf, len, off);
}

static ssize_t fake_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return kind_of(fd) == FD_DEVICE ? region_rw(fd, (void *)buf, len, off, true) : pwrite(fd, buf, len, off);
}

/* Anonymous memory at an address aligned to @align (the fake's page or hugepage), as that kernel returns it. */
static void *anon_mmap(size_t len, int prot, int flags, size_t align)
{
	uint8_t *p = mmap(NULL, len + align, prot, flags, -1, 0), *at;

	if (p == MAP_FAILED)
		return p;
	at = p + (-(uintptr_t)p & (align - 1));
	if (at > p)
		munmap(p, (size_t)(at - p));
	munmap(at + len, (size_t)(p + align - at));
	return at;
}

/* Hugepages from ordinary ones: a multiple of the size the flags encode, at an address aligned to it. */
static void *hugetlb_mmap(size_t len, int prot, int flags)
{
	size_t huge = (size_t)1 << (((unsigned)flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK);

	fake->hugetlb_flags = flags;
	if (!fake->hugetlb || huge == 1 || len % huge) {
		errno = !fake->hugetlb ? ENOMEM : EINVAL;
		return MAP_FAILED;
	}
	return anon_mmap(len, prot, flags & ~(MAP_HUGETLB | (int)((unsigned)MAP_HUGE_MASK << MAP_HUGE_SHIFT)), huge);
}

static long fake_sysconf(int name)
{
	return name == _SC_PAGESIZE ? fake->page_size : sysconf(name);
}

static void *fake_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	if (injected_failure(FAKE_MMAP)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (flags & MAP_HUGETLB)
		return hugetlb_mmap(len, prot, flags);
	if (kind_of(fd) == FD_DEVICE) {
		uint64_t roff;
		struct fake_region *r = region_at(off, &roff);

		if (!r || !(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || roff + len > ((r->size + 4095) & ~4095ull)) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		return mmap(addr, len, prot, flags, r->memfd, (off_t)roff);
	}
	if ((flags & MAP_ANONYMOUS) && !(flags & MAP_FIXED) && fake->page_size > sysconf(_SC_PAGESIZE))
		p = anon_mmap(len, prot, flags, (size_t)fake->page_size);
	else
		p = mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && prot == PROT_NONE && (flags & MAP_ANONYMOUS)) {
		for (int i = 0; i < MAX_RESERVATIONS; i++) {
			if (!reservations[i]) {
				reservations[i] = p;
				fake->live_reservations++;
				break;
			}
		}
	}
	return p;
}

static int fake_munmap(void *addr, size_t len)
{
	for (int i = 0; i < MAX_RESERVATIONS; i++) {
		if (reservations[i] == addr) {
			reservations[i] = NULL;
			fake->live_reservations--;
		}
	}
	return munmap(addr, len);
}

static int fake_eventfd(unsigned int initval, int flags)
{
	int fd;

	if (injected_failure(FAKE_EVENTFD))
		return fail(EMFILE);
	fd = eventfd(initval, flags);
	if (fd >= 0 && fd < MAX_FD) {
		fd_kinds[fd] = FD_EVENTFD;
		fake->live_fds++;
	}
	return fd;
}

static void put16(uint8_t *b, unsigned off, uint16_t v)
{
	b[off] = (uint8_t)v;
	b[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, unsigned off, uint32_t v)
{
	put16(b, off, (uint16_t)v);
	put16(b, off + 2, (uint16_t)(v >> 16));
}

/* Config space shaped like QEMU's e1000e: PM -> MSI -> PCIe -> MSI-X, extended AER -> DSN. */
static void default_config(struct fake_vfio *f)
{
	uint8_t cfg[4096] = { 0 };

	put16(cfg, 0x00, 0x8086);
	put16(cfg, 0x02, 0x10d3);
	put16(cfg, 0x06, 0x0010);           /* status: capability list */
	cfg[0x34] = 0xc8;
	cfg[0xc8] = 0x01, cfg[0xc9] = 0xd0; /* power management */
	cfg[0xd0] = 0x05, cfg[0xd1] = 0xe0; /* MSI */
	cfg[0xe0] = 0x10, cfg[0xe1] = 0xa0; /* PCI Express */
	cfg[0xa0] = 0x11, cfg[0xa1] = 0x00; /* MSI-X */
	put16(cfg, 0xa2, 4);                /* 5 vectors */
	put32(cfg, 0xa4, 0x00000003);       /* table: BAR 3 + 0 */
	put32(cfg, 0xa8, 0x00002003);       /* PBA: BAR 3 + 0x2000 */
	put32(cfg, 0x100, 0x0001 | 1u << 16 | 0x140u << 20); /* AER */
	put32(cfg, 0x140, 0x0003 | 1u << 16);                /* DSN, last */
	fake_region_poke(f, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg, sizeof(cfg));
}

static void add_region(struct fake_vfio *f, unsigned i, uint32_t flags, uint64_t size)
{
	struct fake_region *r = &f->regions[i];

	r->flags = flags;
	r->size = size;
	r->memfd = memfd_create("fake-region", MFD_CLOEXEC);
	if (r->memfd < 0 || ftruncate(r->memfd, (off_t)((size + 4095) & ~4095ull)))
		abort();
}

/*
 * The fake kernel is called from several threads in the threaded tests: one lock around every entry point
 * (the real kernel has its own). errno is what the call set, not what the unlock left.
 */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

#define FAKE_LOCKED(type, call)                   \
	do {                                      \
		type ret_;                        \
		int err_;                         \
		pthread_mutex_lock(&fake_lock);   \
		ret_ = call;                      \
		err_ = errno;                     \
		pthread_mutex_unlock(&fake_lock); \
		errno = err_;                     \
		return ret_;                      \
	} while (0)

static int locked_open(const char *path, int flags, mode_t mode)
{
	FAKE_LOCKED(int, fake_open(path, flags, mode));
}

static int locked_close(int fd)
{
	FAKE_LOCKED(int, fake_close(fd));
}

static int locked_ioctl(int fd, unsigned long req, void *arg)
{
	FAKE_LOCKED(int, fake_ioctl(fd, req, arg));
}

static ssize_t locked_pread(int fd, void *buf, size_t len, off_t off)
{
	FAKE_LOCKED(ssize_t, fake_pread(fd, buf, len, off));
}

static ssize_t locked_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	FAKE_LOCKED(ssize_t, fake_pwrite(fd, buf, len, off));
}

static void *locked_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	FAKE_LOCKED(void *, fake_mmap(addr, len, prot, flags, fd, off));
}

static int locked_munmap(void *addr, size_t len)
{
	FAKE_LOCKED(int, fake_munmap(addr, len));
}

static int locked_eventfd(unsigned int initval, int flags)
{
	FAKE_LOCKED(int, fake_eventfd(initval, flags));
}

static long locked_sysconf(int name)
{
	FAKE_LOCKED(long, fake_sysconf(name));
}

int fake_vfio_init(struct fake_vfio *f)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	uint32_t status = 0x00080283, masked = 1;

	memset(f, 0, sizeof(*f));
	if (fake_sysfs_init(&f->sys))
		return -1;
	fake = f;
	f->group_viable = true;
	f->req_eventfd = -1;
	f->dma_entry_limit = 65535;
	f->page_size = sysconf(_SC_PAGESIZE);
	f->iova_pgsizes = 0x40201000;
	f->iova_alignment = 4096;
	f->irq_type = -1;
	for (int i = 0; i < 32; i++)
		f->irq_wired[i] = -1;
	f->dev_flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	for (int i = 0; i < FAKE_NUM_REGIONS; i++)
		f->regions[i].memfd = -1;
	add_region(f, 0, rw | VFIO_REGION_INFO_FLAG_MMAP, 0x20000);
	add_region(f, 1, rw | VFIO_REGION_INFO_FLAG_MMAP, 0x20000);
	add_region(f, 2, rw, 0x20);
	add_region(f, 3, rw | VFIO_REGION_INFO_FLAG_MMAP, 0x4000);
	add_region(f, 6, VFIO_REGION_INFO_FLAG_READ, 0x40000);
	add_region(f, 7, rw, 0x1000);
	f->regions[8].absent = true;
	f->regions[3].hide_lo = 0;
	f->regions[3].hide_hi = 5 * 16;
	fake_region_add_cap(f, 3, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, NULL, 0);
	fake_region_poke(f, 0, 0x8, &status, 4);
	for (unsigned v = 0; v < 5; v++)
		fake_region_poke(f, 3, v * 16 + 12, &masked, 4);
	default_config(f);
	f->irqs[VFIO_PCI_INTX_IRQ_INDEX] = (struct vfio_irq_info){ .count = 1, .flags = VFIO_IRQ_INFO_EVENTFD };
	f->irqs[VFIO_PCI_MSI_IRQ_INDEX] = (struct vfio_irq_info){ .count = 1, .flags = VFIO_IRQ_INFO_EVENTFD };
	f->irqs[VFIO_PCI_MSIX_IRQ_INDEX] = (struct vfio_irq_info){ .count = 5, .flags = VFIO_IRQ_INFO_EVENTFD };
	f->irqs[VFIO_PCI_ERR_IRQ_INDEX] = (struct vfio_irq_info){ .count = 1, .flags = VFIO_IRQ_INFO_EVENTFD };
	f->irqs[VFIO_PCI_REQ_IRQ_INDEX] = (struct vfio_irq_info){ .count = 1, .flags = VFIO_IRQ_INFO_EVENTFD };

	fake_sysfs_add_pci(&f->sys, FAKE_BDF, 0x8086, 0x10d3, 0x020000, "vfio-pci", FAKE_GROUP);
	fake_sysfs_write(&f->sys, "sys/kernel/iommu_groups/7/reserved_regions",
			 "0x00000000fee00000 0x00000000feefffff msi\n");
	fake_vfio_set_unsafe(f, false);

	f->sys.ops.open = locked_open;
	f->sys.ops.close = locked_close;
	f->sys.ops.ioctl = locked_ioctl;
	f->sys.ops.pread = locked_pread;
	f->sys.ops.pwrite = locked_pwrite;
	f->sys.ops.mmap = locked_mmap;
	f->sys.ops.munmap = locked_munmap;
	f->sys.ops.eventfd = locked_eventfd;
	f->sys.ops.sysconf = locked_sysconf;
	return 0;
}

void fake_vfio_cleanup(struct fake_vfio *f)
{
	for (int i = 0; i < FAKE_NUM_REGIONS; i++)
		if (f->regions[i].memfd >= 0)
			close(f->regions[i].memfd);
	fake_sysfs_cleanup(&f->sys);
	memset(fd_kinds, 0, sizeof(fd_kinds));
	memset(reservations, 0, sizeof(reservations));
	fake = NULL;
}

void fake_vfio_set_unsafe(struct fake_vfio *f, bool unsafe)
{
	const char *v = unsafe ? "Y\n" : "N\n";

	fake_sysfs_write(&f->sys, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", v);
	fake_sysfs_write(&f->sys, "sys/module/iommufd/parameters/allow_unsafe_interrupts", v);
}

void fake_vfio_add_second_device(struct fake_vfio *f)
{
	f->second_device = true;
	fake_sysfs_add_pci(&f->sys, FAKE_BDF2, 0x8086, 0x10d3, 0x020000, "vfio-pci", FAKE_GROUP);
}

void fake_vfio_enable_iommufd(struct fake_vfio *f)
{
	f->has_iommufd = true;
	f->has_cdev = true;
	fake_sysfs_mkdir(&f->sys, "sys/devices/pci0000:00/" FAKE_BDF "/vfio-dev/vfio0");
}

void fake_region_poke(struct fake_vfio *f, unsigned index, uint64_t off, const void *buf, size_t len)
{
	if (pwrite(f->regions[index].memfd, buf, len, (off_t)off) != (ssize_t)len)
		abort();
}

void fake_region_peek(struct fake_vfio *f, unsigned index, uint64_t off, void *buf, size_t len)
{
	if (pread(f->regions[index].memfd, buf, len, (off_t)off) != (ssize_t)len)
		abort();
}

void fake_region_add_cap(struct fake_vfio *f, unsigned index, uint16_t id, const void *body, size_t body_len)
{
	struct fake_region *r = &f->regions[index];
	uint32_t fixed = sizeof(struct vfio_region_info), at = r->caps_len, prev = 0;
	struct vfio_info_cap_header h = { .id = id, .version = 1, .next = 0 };

	if (at + sizeof(h) + body_len > sizeof(r->caps))
		abort();
	/* Link the previous last capability to this one (absolute offsets within the reply). */
	while (r->caps_len && prev < r->caps_len) {
		struct vfio_info_cap_header *ph = (void *)(r->caps + prev);

		if (!ph->next) {
			ph->next = fixed + at;
			break;
		}
		prev = ph->next - fixed;
	}
	memcpy(r->caps + at, &h, sizeof(h));
	if (body_len)
		memcpy(r->caps + at + sizeof(h), body, body_len);
	r->caps_len = (at + (uint32_t)sizeof(h) + (uint32_t)body_len + 7u) & ~7u;
}
