/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the DMA / IOVA VM test. TAP on stdout.
 *
 *   vm_dma check BDF RAW_BDF   doorbell windows read from the kernel, the allocator never hands out a
 *                              doorbell address, 1 GiB mapped and unmapped (timed), IOVA lookups; and, with
 *                              raw VFIO calls on RAW_BDF (no upci), the kernel itself refuses a mapping
 *                              inside the MSI window
 *   vm_dma memlock BDF         drops to uid/gid 65534 with RLIMIT_MEMLOCK 1 MiB, then the allocation is
 *                              refused with a message that gives the figures
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>

#include "guest_tap.h"
#include "lib/vfio_bus/uapi_compat.h"
#include "upci/dma.h"
#include "upci/log.h"
#include "upci/pci.h"
#include "upci/vfio.h"

static double now_ms(void)
{
	return (double)now_ns() / 1e6;
}

static bool in_window(uint64_t start, uint64_t len, const struct upci_doorbell_window *w, int n)
{
	for (int i = 0; i < n; i++)
		if (start <= w[i].last && start + len - 1 >= w[i].start)
			return true;
	return false;
}

static void check_windows(struct upci_dev *dev, struct upci_doorbell_window *win, int *n_win)
{
	struct upci_resv_region resv[16];
	int n = upci_iommu_group_reserved_regions(upci_dev_iommu_group(dev), resv, 16), msi = -1;

	for (int i = 0; i < n; i++)
		if (resv[i].type == UPCI_RESV_MSI)
			msi = i;
	*n_win = upci_iommu_doorbell_windows(upci_dev_iommu(dev), win, 8);
	for (int i = 0; i < *n_win; i++)
		printf("# doorbell window 0x%08" PRIx64 "-0x%08" PRIx64 ": %s, %s\n", win[i].start, win[i].last, win[i].name,
		       win[i].kernel_managed ? "kernel-managed" : "user-placed");
	check(msi >= 0 && *n_win == 1 && win[0].start == resv[msi].start && win[0].last == resv[msi].end,
	      "the doorbell window is the group's msi reserved region as sysfs reports it");
	check(*n_win == 1 && win[0].start == testbed_msi_window.start && win[0].last == testbed_msi_window.last,
	      "on this guest that is the %s 0x%" PRIx64 "-0x%" PRIx64, testbed_msi_window.what,
	      testbed_msi_window.start, testbed_msi_window.last);
}

/* Many allocations of mixed sizes and alignments: none may touch a doorbell window. */
static void check_allocator(struct upci_iommu *m, const struct upci_doorbell_window *win, int n_win)
{
	static uint64_t iova[400], size[400];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int got = 0, bad = 0, known = 0;

	for (int i = 0; i < 400; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		size[i] = ((seed % 4096) + 1) * 4096 * ((seed >> 20) % 64 + 1);
		if (upci_iova_alloc(m, size[i], 4096ull << ((seed >> 40) % 10), &iova[i]))
			break;
		got++;
		bad += in_window(iova[i], size[i], win, n_win);
		known += iova[i] <= testbed_msi_window.last && iova[i] + size[i] - 1 >= testbed_msi_window.start;
	}
	check(got == 400 && bad == 0, "%d allocations of mixed sizes, %d touching a doorbell window", got, bad);
	check(got == 400 && known == 0, "none of them in 0x%" PRIx64 "-0x%" PRIx64 " (%d did)", testbed_msi_window.start,
	      testbed_msi_window.last, known);
	for (int i = 0; i < got; i++)
		upci_iova_free(m, iova[i], size[i]);
	check(upci_iova_alloc_fixed(m, win[0].start, 4096) == -EINVAL, "a fixed IOVA inside the window is refused");
	check(upci_iova_alloc_fixed(m, win[0].start - 0x100000, 0x200000) == -EINVAL,
	      "a fixed IOVA straddling the window's start is refused");
}

static void map_gib(struct upci_iommu *m, const struct upci_doorbell_window *win, int n_win, size_t len,
		    unsigned flags, const char *what)
{
	struct upci_dma *d = NULL;
	double t0 = now_ms(), t1, t2;
	int rc = upci_dma_alloc(m, len, -1, flags, &d);
	bool lookups = true;
	size_t page;

	t1 = now_ms();
	if (!check(rc == 0, "map %zu MiB of %s (%s)", len >> 20, what, strerror(-rc)))
		return;
	check(!in_window(d->iova, d->len, win, n_win), "its IOVA 0x%" PRIx64 "+0x%zx avoids the doorbell window",
	      d->iova, d->len);
	for (size_t off = 0; off < d->len; off += d->len / 7 + 4093)
		lookups &= upci_dma_iova(d, d->va + off) == d->iova + off;
	check(lookups && upci_dma_iova(d, d->va + d->len) == ~0ull, "IOVA lookups inside and past the end are right");
	d->va[d->len - 1] = 0x5a;
	page = d->page_size;
	upci_dma_free(d);
	t2 = now_ms();
	printf("# dma: %s: %zu MiB, page %zu KiB: alloc+pin+map %.1f ms, unmap+free %.1f ms; per GiB: map %.1f ms, "
	       "unmap %.1f ms\n", what, len >> 20, page >> 10, t1 - t0, t2 - t1,
	       (t1 - t0) * (double)(1ull << 30) / (double)len, (t2 - t1) * (double)(1ull << 30) / (double)len);
}

/* Raw VFIO on the second NIC, without upci: does the kernel itself refuse a mapping at the doorbell? */
static int raw_container(const char *bdf, int *keep)
{
	struct upci_pci_addr a;
	struct upci_pci_info info;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int c = open("/dev/vfio/vfio", O_RDWR), g;

	if (c < 0 || upci_pci_addr_parse(bdf, &a) || upci_pci_info_read(&a, &info))
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", info.iommu_group);
	g = open(path, O_RDWR);
	if (g < 0 || ioctl(g, VFIO_GROUP_GET_STATUS, &st) || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -1;
	*keep = g;
	return c;
}

static int raw_type1_map(int c, void *va, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ |
						VFIO_DMA_MAP_FLAG_WRITE, .vaddr = (uintptr_t)va, .iova = iova, .size = len };

	return ioctl(c, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int raw_iommufd(const char *bdf, uint32_t *ioas, int *keep)
{
	struct upci_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char path[128], name[32] = "";
	int fd = open("/dev/iommu", O_RDWR), dev;
	FILE *p;

	snprintf(path, sizeof(path), "ls /sys/bus/pci/devices/%s/vfio-dev", bdf);
	p = popen(path, "r");
	if (!p || !fgets(name, sizeof(name), p) || fd < 0) {
		if (p)
			pclose(p);
		return -1;
	}
	pclose(p);
	name[strcspn(name, "\n")] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	dev = open(path, O_RDWR);
	struct upci_vfio_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = fd };
	if (dev < 0 || ioctl(dev, UPCI_VFIO_DEVICE_BIND_IOMMUFD, &bind) || ioctl(fd, UPCI_IOMMU_IOAS_ALLOC, &alloc))
		return -1;
	struct upci_vfio_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = alloc.out_ioas_id };
	if (ioctl(dev, UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
		return -1;
	*ioas = alloc.out_ioas_id;
	*keep = dev;
	return fd;
}

static int raw_ioas_map(int fd, uint32_t ioas, void *va, uint64_t iova, uint64_t len)
{
	struct upci_iommu_ioas_map map = { .size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)va,
					   .length = len, .iova = iova, .flags = UPCI_IOMMU_IOAS_MAP_FIXED_IOVA |
					   UPCI_IOMMU_IOAS_MAP_READABLE | UPCI_IOMMU_IOAS_MAP_WRITEABLE };

	return ioctl(fd, UPCI_IOMMU_IOAS_MAP, &map) ? -errno : 0;
}

static int raw_unmap(int fd, uint32_t ioas, bool iommufd, uint64_t iova, uint64_t len)
{
	struct upci_iommu_ioas_unmap un = { .size = sizeof(un), .ioas_id = ioas, .iova = iova, .length = len };
	struct vfio_iommu_type1_dma_unmap un1 = { .argsz = sizeof(un1), .iova = iova, .size = len };

	return (iommufd ? ioctl(fd, UPCI_IOMMU_IOAS_UNMAP, &un) : ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &un1)) ? -errno : 0;
}

/* The kernel's own cost of pinning and mapping 1 GiB of already-faulted hugepage memory, and unmapping it. */
static void time_raw_map(int fd, uint32_t ioas, bool iommufd)
{
	size_t len = 1ull << 30;
	void *va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	double t0, t1, t2;
	int rc;

	if (va == MAP_FAILED) {
		printf("# raw 1 GiB timing skipped: no hugepages left\n");
		return;
	}
	t0 = now_ms();
	rc = iommufd ? raw_ioas_map(fd, ioas, va, 1ull << 32, len) : raw_type1_map(fd, va, 1ull << 32, len);
	t1 = now_ms();
	if (check(rc == 0, "raw map of 1 GiB of hugepages (%s)", strerror(-rc))) {
		rc = raw_unmap(fd, ioas, iommufd, 1ull << 32, len);
		t2 = now_ms();
		check(rc == 0, "raw unmap of 1 GiB");
		printf("# dma: kernel alone (%s, pre-faulted 2 MiB pages): pin+map 1 GiB %.1f ms, unmap %.1f ms\n",
		       iommufd ? "IOMMU_IOAS_MAP" : "VFIO_IOMMU_MAP_DMA", t1 - t0, t2 - t1);
	}
	munmap(va, len);
}

static void check_kernel_refuses(const char *raw_bdf, bool iommufd, uint64_t window)
{
	void *va = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t ioas = 0;
	int keep = -1, fd = iommufd ? raw_iommufd(raw_bdf, &ioas, &keep) : raw_container(raw_bdf, &keep);
	int in, out;

	if (!check(fd >= 0, "raw %s setup on %s without upci", iommufd ? "iommufd" : "type1", raw_bdf))
		return;
	uint64_t foreign = testbed_foreign_window.start;
	int other;

	in = iommufd ? raw_ioas_map(fd, ioas, va, window, 4096) : raw_type1_map(fd, va, window, 4096);
	out = iommufd ? raw_ioas_map(fd, ioas, va, 0x100000, 4096) : raw_type1_map(fd, va, 0x100000, 4096);
	other = iommufd ? raw_ioas_map(fd, ioas, va, foreign, 4096) : raw_type1_map(fd, va, foreign, 4096);
	check(in == -EINVAL, "the kernel refuses a raw %s at the doorbell 0x%" PRIx64 " with EINVAL (got %s)",
	      iommufd ? "IOMMU_IOAS_MAP" : "VFIO_IOMMU_MAP_DMA", window, strerror(-in));
	check(out == 0, "while it accepts the same mapping at 0x100000 (%s)", strerror(-out));
	/* The windows are the kernel's, per platform: the other architecture's window is ordinary IOVA here. */
	check(other == 0, "and at 0x%" PRIx64 ", the %s, which is ordinary IOVA on this platform (%s)", foreign,
	      testbed_foreign_window.what, strerror(-other));
	time_raw_map(fd, ioas, iommufd);
	close(keep);
	close(fd);
	munmap(va, 4096);
}

/* Mainline kernels have no IOMMU_OPTION_SW_MSI_START: placing the window must fail cleanly, and say why. */
static void check_window_placement(const char *bdf, bool iommufd)
{
	struct upci_dev_opts opts = { .backend = iommufd ? UPCI_BACKEND_IOMMUFD : UPCI_BACKEND_TYPE1,
				      .msi_window_start = 0x10000000 };
	struct upci_dev *dev = NULL;
	int rc = upci_dev_open(bdf, &opts, &dev);

	check(rc == -EOPNOTSUPP && !dev, "placing the MSI window is refused with EOPNOTSUPP on this kernel (%s)",
	      strerror(-rc));
	upci_dev_close(dev);
}

static int cmd_check(const char *bdf, const char *raw_bdf)
{
	struct upci_doorbell_window win[8];
	struct upci_iova_range r[16];
	struct upci_dev *dev = NULL;
	struct upci_iommu *m;
	int n_win = 0, n, rc = upci_dev_open(bdf, NULL, &dev);
	bool iommufd;

	if (!check(rc == 0, "open %s", bdf))
		return 1;
	m = upci_dev_iommu(dev);
	iommufd = upci_dev_backend(dev) == UPCI_BACKEND_IOMMUFD;
	printf("# backend %s, DMA_AVAIL %ld\n", upci_backend_name(upci_dev_backend(dev)), upci_iommu_dma_avail(m));
	check_windows(dev, win, &n_win);
	n = upci_iommu_usable_ranges(m, r, 16);
	check(n > 0, "%d usable IOVA range(s)", n);
	for (int i = 0; i < n; i++)
		printf("# usable 0x%016" PRIx64 "-0x%016" PRIx64 "\n", r[i].start, r[i].last);
	if (!iommufd)
		check(upci_iommu_dma_avail(m) > 60000, "type1 reports DMA_AVAIL (%ld)", upci_iommu_dma_avail(m));
	if (n_win > 0) {
		check_allocator(m, win, n_win);
		map_gib(m, win, n_win, 1ull << 30, 0, "2 MiB hugepages");
		map_gib(m, win, n_win, 256ull << 20, UPCI_DMA_NO_HUGEPAGES, "small pages");
		check_kernel_refuses(raw_bdf, iommufd, win[0].start);
	}
	upci_dev_close(dev);
	check_window_placement(raw_bdf, iommufd);
	return tap_done();
}

static char log_line[1024];

static void keep_log(enum upci_log_level level, const char *line, void *arg)
{
	(void)level, (void)arg;
	printf("# log: %s\n", line);
	if (strstr(line, "RLIMIT_MEMLOCK"))
		snprintf(log_line, sizeof(log_line), "%s", line);
}

static int cmd_memlock(const char *bdf)
{
	struct upci_dev *dev = NULL;
	struct upci_dma *d = NULL;
	int rc;

	struct rlimit rl = { 1u << 20, 1u << 20 };

	upci_log_set_sink(keep_log, NULL);
	if (!check(setrlimit(RLIMIT_MEMLOCK, &rl) == 0 && setgroups(0, NULL) == 0 && setgid(65534) == 0 &&
		   setuid(65534) == 0, "now uid 65534 with a 1 MiB memlock limit"))
		return 1;
	rc = upci_dev_open(bdf, NULL, &dev);
	if (!check(rc == 0, "uid %d opens %s (%s)", (int)getuid(), bdf, strerror(-rc)))
		return 1;
	rc = upci_dma_alloc(upci_dev_iommu(dev), 64u << 20, -1, 0, &d);
	check(rc == -ENOMEM && !d, "pinning 64 MiB with a 1 MiB memlock limit is refused (%s)", strerror(-rc));
	printf("# message: %s\n", log_line);
	check(strstr(log_line, "65536 KiB") && strstr(log_line, "RLIMIT_MEMLOCK of 1024 KiB") &&
	      strstr(log_line, "ulimit -l"), "the message gives the need, the limit and how to raise it");
	upci_dev_close(dev);
	return tap_done();
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "memlock"))
		return cmd_memlock(argv[2]);
	fprintf(stderr, "usage: vm_dma check BDF RAW_BDF | memlock BDF\n");
	return 2;
}
