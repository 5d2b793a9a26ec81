/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet buffer pools carved from one DMA allocation. */
#include <errno.h>
#include <stdlib.h>

#include "upci/log.h"
#include "upci/pktpool.h"
#define LOG_VFIO "vfio_bus" /* the log tag of lib/vfio_bus */

int upci_pktpool_create(struct upci_iommu *iommu, uint32_t n_bufs, uint32_t buf_size, int numa_node,
			struct upci_pktpool **out)
{
	struct upci_pktpool *p;
	uint32_t cap = 1;
	int rc;

	*out = NULL;
	if (n_bufs == 0 || n_bufs > (1u << 24) || buf_size == 0 || buf_size > (1u << 20)) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "packet pool of %u buffers of %u bytes: want 1..2^24 buffers of "
			 "1..1 MiB", n_bufs, buf_size);
		return -EINVAL;
	}
	buf_size = (buf_size + 63) & ~63u;
	while (cap < n_bufs)
		cap <<= 1;
	if (posix_memalign((void **)&p, 64, sizeof(*p)))
		return -ENOMEM;
	*p = (struct upci_pktpool){ .buf_size = buf_size, .n_bufs = n_bufs, .mask = cap - 1 };
	if (!(buf_size & (buf_size - 1)))
		p->buf_shift = (uint32_t)__builtin_ctz(buf_size);
	p->ring = calloc(cap, sizeof(*p->ring));
	if (!p->ring) {
		free(p);
		return -ENOMEM;
	}
	rc = upci_dma_alloc(iommu, (size_t)n_bufs * buf_size, numa_node, 0, &p->dma);
	if (rc) {
		free(p->ring);
		free(p);
		return rc;
	}
	p->base = p->dma->va;
	p->iova_base = p->dma->iova;
	for (uint32_t i = 0; i < n_bufs; i++)
		p->ring[i] = i;
	atomic_store(&p->head, 0);
	atomic_store(&p->tail, n_bufs);
	atomic_store(&p->refs, 1);
	*out = p;
	return 0;
}

void upci_pktpool_ref(struct upci_pktpool *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void upci_pktpool_unref(struct upci_pktpool *p)
{
	if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	upci_dma_free(p->dma);
	free(p->ring);
	free(p);
}

void upci_pktpool_destroy(struct upci_pktpool *p)
{
	upci_pktpool_unref(p);
}
