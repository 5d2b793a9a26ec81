/* SPDX-License-Identifier: BSD-3-Clause */
/* Device interrupts (MSI-X, MSI, INTx) as one eventfd per vector, wired with VFIO_DEVICE_SET_IRQS. */
#include <errno.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "../common/eventfd.h"
#include "../common/irq_set.h"
#include "upci/io.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci/msix.h"

#define LOG_MSIX "msix"

struct upci_irqs {
	struct upci_dev *dev;
	enum upci_irq_kind kind;
	unsigned index;          /* VFIO_PCI_*_IRQ_INDEX */
	unsigned max;
	uint32_t flags;          /* VFIO_IRQ_INFO_* */
	int *fds;                /* each vector's own eventfd, -1 when none yet */
	int *wired;              /* what each vector is wired to in the kernel, -1 for nothing */
	unsigned live;           /* vectors [0, live) are enabled in the kernel */
	unsigned full_reenables;
};

static const unsigned kind_index[] = {
	[UPCI_IRQ_MSIX] = VFIO_PCI_MSIX_IRQ_INDEX,
	[UPCI_IRQ_MSI] = VFIO_PCI_MSI_IRQ_INDEX,
	[UPCI_IRQ_INTX] = VFIO_PCI_INTX_IRQ_INDEX,
};

/* The most vectors PCI allows per kind (MSI-X Table Size is 11 bits, MSI Multiple Message Capable 5 vectors in
 * log2, INTx one pin): a larger VFIO_DEVICE_GET_IRQ_INFO count is not believed. */
static const unsigned kind_max_vectors[] = {
	[UPCI_IRQ_MSIX] = 2048,
	[UPCI_IRQ_MSI] = 32,
	[UPCI_IRQ_INTX] = 1,
};

static const char *const kind_names[] = {
	[UPCI_IRQ_AUTO] = "auto", [UPCI_IRQ_MSIX] = "MSI-X", [UPCI_IRQ_MSI] = "MSI", [UPCI_IRQ_INTX] = "INTx",
};

/*
 * VFIO_DEVICE_SET_IRQS on the vectors [@start, @start + @count). @fds: one per vector for DATA_EVENTFD,
 * NULL otherwise. Return: 0, -errno, or a positive count when the kernel granted fewer vectors.
 */
static int set_irqs(struct upci_irqs *q, uint32_t data, unsigned start, unsigned count, const int *fds)
{
	return upci_irq_set(upci_dev_fd(q->dev), q->index, data, start, count, fds);
}

int upci_irqs_open(struct upci_dev *dev, enum upci_irq_kind kind, struct upci_irqs **out)
{
	struct upci_irq_info info = { 0 };
	struct upci_irqs *q;

	*out = NULL;
	if (kind == UPCI_IRQ_AUTO) {
		for (kind = UPCI_IRQ_MSIX; kind <= UPCI_IRQ_INTX; kind++)
			if (!upci_dev_irq_info(dev, kind_index[kind], &info) && info.count &&
			    (info.flags & VFIO_IRQ_INFO_EVENTFD))
				break;
	}
	if (kind < UPCI_IRQ_MSIX || kind > UPCI_IRQ_INTX || upci_dev_irq_info(dev, kind_index[kind], &info) ||
	    !info.count || !(info.flags & VFIO_IRQ_INFO_EVENTFD)) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: the device offers no %s interrupt through VFIO", upci_dev_name(dev),
			 kind <= UPCI_IRQ_INTX ? kind_names[kind] : "usable");
		return -ENODEV;
	}
	if (info.count > kind_max_vectors[kind]) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: VFIO_DEVICE_GET_IRQ_INFO reports %u %s vectors, more than PCI allows "
			 "(%u): the kernel's reply is not believed (a kernel or vfio variant driver bug; try another "
			 "kernel, or another interrupt kind)", upci_dev_name(dev), info.count, kind_names[kind],
			 kind_max_vectors[kind]);
		return -EIO;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: out of memory for the %s vector table", upci_dev_name(dev),
			 kind_names[kind]);
		return -ENOMEM;
	}
	q->dev = dev;
	q->kind = kind;
	q->index = kind_index[kind];
	q->max = info.count;
	q->flags = info.flags;
	q->fds = malloc(q->max * sizeof(int));
	q->wired = malloc(q->max * sizeof(int));
	if (!q->fds || !q->wired) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: out of memory for %u %s vectors", upci_dev_name(dev), q->max,
			 kind_names[kind]);
		upci_irqs_close(q);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < q->max; i++)
		q->fds[i] = q->wired[i] = -1;
	*out = q;
	return 0;
}

void upci_irqs_close(struct upci_irqs *q)
{
	if (!q)
		return;
	if (q->live)
		upci_irqs_disable(q);
	for (unsigned i = 0; q->fds && i < q->max; i++)
		if (q->fds[i] >= 0)
			upci_kernel()->close(q->fds[i]);
	free(q->fds);
	free(q->wired);
	free(q);
}

enum upci_irq_kind upci_irqs_kind(const struct upci_irqs *q)
{
	return q->kind;
}

unsigned upci_irqs_max(const struct upci_irqs *q)
{
	return q->max;
}

bool upci_irqs_can_grow(const struct upci_irqs *q)
{
	return q->kind == UPCI_IRQ_MSIX && !(q->flags & VFIO_IRQ_INFO_NORESIZE);
}

unsigned upci_irqs_live(const struct upci_irqs *q)
{
	return q->live;
}

unsigned upci_irqs_full_reenables(const struct upci_irqs *q)
{
	return q->full_reenables;
}

int upci_irqs_fd(const struct upci_irqs *q, unsigned vector)
{
	return vector < q->max && q->fds[vector] >= 0 ? q->fds[vector] : -ENOENT;
}

static int grant_error(struct upci_irqs *q, int rc, unsigned asked)
{
	if (rc > 0) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: the kernel granted only %d of %u %s vectors", upci_dev_name(q->dev), rc,
			 asked, kind_names[q->kind]);
		return -ENOSPC;
	}
	upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: VFIO_DEVICE_SET_IRQS (%s, %u vectors) failed: %s", upci_dev_name(q->dev),
		 kind_names[q->kind], asked, strerror(-rc));
	return rc;
}

/* Enable [0, n) from scratch, each vector wired as @want says. */
static int enable_all(struct upci_irqs *q, unsigned n, const int *want)
{
	int rc = set_irqs(q, VFIO_IRQ_SET_DATA_EVENTFD, 0, n, want);

	if (rc)
		return grant_error(q, rc, n);
	memcpy(q->wired, want, n * sizeof(int));
	q->live = n;
	return 0;
}

int upci_irqs_enable(struct upci_irqs *q, unsigned first, unsigned count)
{
	unsigned end = first + count;
	int *want, rc;

	if (count == 0 || first >= q->max || count > q->max - first) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: vectors %u..%u asked, the device has %u", upci_dev_name(q->dev), first,
			 end - 1, q->max);
		return -EINVAL;
	}
	if (upci_dev_removed(q->dev))
		return -ENODEV;
	for (unsigned v = first; v < end; v++) {
		if (q->fds[v] < 0 && (q->fds[v] = upci_kernel()->eventfd(0, EFD_CLOEXEC)) < 0) { /* blocking: see upci_irqs_wait */
			rc = -errno;
			q->fds[v] = -1;
			upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: eventfd: %s", upci_dev_name(q->dev), strerror(-rc));
			return rc;
		}
	}
	want = malloc(q->max * sizeof(int));
	if (!want)
		return -ENOMEM;
	memcpy(want, q->wired, q->max * sizeof(int));
	for (unsigned v = first; v < end; v++)
		want[v] = q->fds[v];
	if (q->live == 0) {
		rc = enable_all(q, end, want);
	} else if (end <= q->live || upci_irqs_can_grow(q)) {
		/* Inside the live set, or a kernel with dynamic MSI-X: wire the block in place. */
		rc = set_irqs(q, VFIO_IRQ_SET_DATA_EVENTFD, first, count, want + first);
		if (rc)
			rc = grant_error(q, rc, count);
		else {
			memcpy(q->wired + first, want + first, count * sizeof(int));
			if (end > q->live)
				q->live = end;
		}
	} else {
		/* NORESIZE: the only way to more vectors is a full disable and re-enable. */
		q->full_reenables++;
		rc = set_irqs(q, VFIO_IRQ_SET_DATA_NONE, 0, 0, NULL);
		q->live = 0;
		rc = rc ? grant_error(q, rc, 0) : enable_all(q, end, want);
	}
	free(want);
	return rc;
}

int upci_irqs_rewire(struct upci_irqs *q, unsigned vector, int fd)
{
	int rc;

	if (vector >= q->live) {
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: vector %u is not enabled (%u live)", upci_dev_name(q->dev), vector,
			 q->live);
		return -EINVAL;
	}
	rc = set_irqs(q, VFIO_IRQ_SET_DATA_EVENTFD, vector, 1, &fd);
	if (rc)
		return grant_error(q, rc, 1);
	q->wired[vector] = fd;
	return 0;
}

int upci_irqs_disable(struct upci_irqs *q)
{
	int rc = q->live && !upci_dev_removed(q->dev) ? set_irqs(q, VFIO_IRQ_SET_DATA_NONE, 0, 0, NULL) : 0;

	q->live = 0;
	for (unsigned i = 0; i < q->max; i++)
		q->wired[i] = -1;
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: disabling %s failed: %s", upci_dev_name(q->dev), kind_names[q->kind],
			 strerror(-rc));
	return rc;
}

int upci_irqs_trigger(struct upci_irqs *q, unsigned vector)
{
	int rc;

	if (vector >= q->live)
		return -EINVAL;
	rc = set_irqs(q, VFIO_IRQ_SET_DATA_NONE, vector, 1, NULL);
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_MSIX, "%s: loopback trigger of vector %u failed: %s", upci_dev_name(q->dev),
			 vector, strerror(-rc));
	return rc;
}

/* The counter consumed by a wait or drain, as upci_irqs_wait() returns it. */
static int signals(int rc, uint64_t n)
{
	if (rc <= 0)
		return rc;
	return n > (uint64_t)INT32_MAX ? INT32_MAX : (int)n;
}

/*
 * The vector eventfds are blocking, so a wait without timeout is a single read(2) (as cheap as a bare
 * read of the eventfd); a zero timeout is a single non-blocking read; only a finite timeout needs poll(2).
 */
int upci_irqs_wait(struct upci_irqs *q, unsigned vector, int timeout_ms)
{
	int fd = upci_irqs_fd(q, vector), rc;
	uint64_t n = 0;

	if (fd < 0)
		return -ENOENT;
	if (timeout_ms < 0) {
		rc = upci_eventfd_wait(fd, &n);
		if (rc != 0)
			return signals(rc, n);
		/* 0: someone set O_NONBLOCK on the eventfd; wait for it the slower way */
	} else if (timeout_ms == 0) {
		return signals(upci_eventfd_drain(fd, &n), n);
	}
	do {
		rc = upci_fd_wait(fd, timeout_ms);
		if (rc <= 0)
			return rc;
		rc = upci_eventfd_drain(fd, &n); /* 0: someone else consumed it */
	} while (rc == 0 && timeout_ms < 0);
	return signals(rc, n);
}

int upci_msix_pending(struct upci_irqs *q, unsigned vector)
{
	const struct upci_msix_layout *m = upci_dev_msix(q->dev);
	const struct upci_bar *bar;
	uint64_t word;

	if (q->kind != UPCI_IRQ_MSIX || !m->present || vector >= m->vectors)
		return -EINVAL;
	bar = upci_dev_bar(q->dev, m->pba_bar);
	word = upci_bar_read64(bar, m->pba_offset + (vector / 64) * 8);
	return (int)((word >> (vector % 64)) & 1);
}

/* PCIe Base Spec "MSI-X Table Entries": 16 bytes per vector. */
enum { MSIX_ENTRY_SIZE = 16, MSIX_ADDR_LO = 0, MSIX_ADDR_HI = 4, MSIX_DATA = 8, MSIX_VCTRL = 12 };

int upci_msix_msg_read(struct upci_dev *dev, unsigned vector, struct upci_msix_msg *out)
{
	const struct upci_msix_layout *m = upci_dev_msix(dev);
	const struct upci_bar *bar;
	uint64_t entry;

	if (!m->present || upci_dev_removed(dev))
		return -ENODEV;
	if (vector >= m->vectors)
		return -ERANGE;
	if (!m->table_mapped)
		return -EACCES;
	bar = upci_dev_bar(dev, m->table_bar);
	entry = m->table_offset + (uint64_t)vector * MSIX_ENTRY_SIZE;
	out->address = (uint64_t)upci_bar_read32(bar, entry + MSIX_ADDR_HI) << 32 | upci_bar_read32(bar, entry + MSIX_ADDR_LO);
	out->data = upci_bar_read32(bar, entry + MSIX_DATA);
	out->masked = upci_bar_read32(bar, entry + MSIX_VCTRL) & 1;
	return 0;
}

int upci_msix_msg_window(struct upci_dev *dev, uint64_t address, struct upci_doorbell_window *out)
{
	struct upci_doorbell_window win[16];
	int n = upci_iommu_doorbell_windows(upci_dev_iommu(dev), win, 16);

	for (int i = 0; i < n; i++)
		if (address >= win[i].start && address <= win[i].last) {
			*out = win[i];
			return 0;
		}
	return n < 0 ? n : -ENOENT;
}
