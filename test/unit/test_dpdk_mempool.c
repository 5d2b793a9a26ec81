/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/dpdk (the "upci" mempool ops and the mbuf <-> upci packet conversions) against a
 * hand-built upci pool and a hand-built rte_mempool: no EAL, no VM. DPDK's own inline mempool and mbuf
 * paths (rte_pktmbuf_alloc / rte_pktmbuf_free / rte_mempool_avail_count) run on it too, so what is tested is
 * what a DPDK application calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dpdk/mempool.h"
#include "upci/dpdk.h"

#define BUF_SIZE 2048u
#define N_BUFS 16u
#define IOVA_BASE 0x100000000ull

struct fixture {
	struct upci_pktpool pool;      /* 64-byte aligned members: the fixture comes from aligned_alloc */
	struct upci_dpdk_pool ctx;
	struct rte_mempool *mp;
	struct rte_mbuf *m[N_BUFS];
};

static int setup(void **state)
{
	size_t mp_size = sizeof(struct rte_mempool) + sizeof(struct rte_pktmbuf_pool_private);
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = BUF_SIZE,
						 .mbuf_priv_size = UPCI_DPDK_PRIV_SIZE };
	struct fixture *f = aligned_alloc(64, sizeof(*f));
	struct upci_pktpool *p;

	assert_non_null(f);
	memset(f, 0, sizeof(*f));
	p = &f->pool;
	p->base = aligned_alloc(64, N_BUFS * BUF_SIZE);
	memset(p->base, 0, N_BUFS * BUF_SIZE);
	p->iova_base = IOVA_BASE;
	p->buf_size = BUF_SIZE;
	p->n_bufs = N_BUFS;
	p->mask = N_BUFS - 1;
	p->buf_shift = __builtin_ctz(BUF_SIZE);
	p->ring = calloc(N_BUFS, sizeof(uint32_t));
	for (uint32_t i = 0; i < N_BUFS; i++) /* all free, in reverse order: the ring order is what counts */
		p->ring[i] = N_BUFS - 1 - i;
	atomic_store(&p->tail, N_BUFS);
	f->ctx = (struct upci_dpdk_pool){ .pool = p, .n_bufs = N_BUFS, .mbufs = calloc(N_BUFS, sizeof(void *)) };
	/* the mempool as rte_mempool_create_empty() + set_ops_byname + rte_pktmbuf_pool_init leave it */
	f->mp = aligned_alloc(64, (mp_size + 63) & ~(size_t)63);
	memset(f->mp, 0, mp_size);
	f->mp->size = N_BUFS;
	f->mp->elt_size = sizeof(struct rte_mbuf) + UPCI_DPDK_PRIV_SIZE;
	f->mp->private_data_size = sizeof(priv);
	assert_int_equal(rte_mempool_set_ops_byname(f->mp, UPCI_DPDK_OPS_NAME, &f->ctx), 0);
	f->mp->pool_data = &f->ctx;
	memcpy(rte_mempool_get_priv(f->mp), &priv, sizeof(priv));
	for (uint32_t i = 0; i < N_BUFS; i++) {
		f->m[i] = aligned_alloc(64, 192);
		memset(f->m[i], 0, 192);
		f->m[i]->pool = f->mp;
		f->m[i]->nb_segs = 1;
		rte_mbuf_refcnt_set(f->m[i], 1);
		upci_dpdk_bind_mbuf(&f->ctx, f->m[i], i);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (uint32_t i = 0; i < N_BUFS; i++)
		free(f->m[i]);
	free(f->ctx.mbufs);
	free(f->mp);
	free(f->pool.ring);
	free(f->pool.base);
	free(f);
	return 0;
}

static void bind_sets_buffer(void **state)
{
	struct fixture *f = *state;

	for (uint32_t i = 0; i < N_BUFS; i++) {
		assert_ptr_equal(f->m[i]->buf_addr, f->pool.base + i * BUF_SIZE);
		assert_int_equal(f->m[i]->buf_iova, IOVA_BASE + i * BUF_SIZE);
		assert_int_equal(f->m[i]->buf_len, BUF_SIZE);
		assert_int_equal(upci_dpdk_mbuf_index(f->m[i]), i);
		assert_ptr_equal(f->ctx.mbufs[i], f->m[i]);
	}
}

static void dequeue_takes_ring_order(void **state)
{
	struct fixture *f = *state;
	void *objs[4];

	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS);
	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_ptr_equal(objs[i], f->m[N_BUFS - 1 - i]); /* the ring's first four indices */
	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS - 4);
	assert_int_equal(upci_pktpool_free_count(&f->pool), N_BUFS - 4);
}

static void dequeue_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	void *objs[N_BUFS + 1];

	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, N_BUFS + 1), -ENOBUFS);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS); /* nothing taken */
	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, N_BUFS), 0);
	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, 1), -ENOBUFS);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), 0);
}

static void dequeue_refuses_corrupt_ring(void **state)
{
	struct fixture *f = *state;
	void *objs[2] = { NULL, NULL };

	f->pool.ring[1] = N_BUFS; /* a stray write: no buffer of that index */
	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, 2), -EIO);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS);
}

static void enqueue_returns_indices(void **state)
{
	struct fixture *f = *state;
	void *objs[N_BUFS];
	uint32_t tail;

	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, N_BUFS), 0);
	void *back[3] = { f->m[5], f->m[0], f->m[9] };
	assert_int_equal(upci_dpdk_op_enqueue(f->mp, back, 3), 0);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), 3);
	tail = atomic_load(&f->pool.tail);
	assert_int_equal(f->pool.ring[(tail - 3) & f->pool.mask], 5);
	assert_int_equal(f->pool.ring[(tail - 2) & f->pool.mask], 0);
	assert_int_equal(f->pool.ring[(tail - 1) & f->pool.mask], 9);
	assert_int_equal(f->ctx.bad_enqueues, 0);
}

static void enqueue_drops_foreign_objects(void **state)
{
	struct fixture *f = *state;
	struct rte_mbuf *alien = aligned_alloc(64, 192);
	void *objs[N_BUFS];

	assert_int_equal(upci_dpdk_op_dequeue(f->mp, objs, 2), 0);
	memcpy(alien, f->m[3], 192); /* looks like buffer 3's header (same index), but is not it */
	void *back[4] = { alien, NULL, objs[0], (char *)f->m[4] + 8 };
	assert_int_equal(upci_dpdk_op_enqueue(f->mp, back, 4), 0);
	assert_int_equal(f->ctx.bad_enqueues, 3);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS - 1);
	free(alien);
}

static void enqueue_double_free_overflows_nothing(void **state)
{
	struct fixture *f = *state;
	void *objs[1] = { f->m[2] }; /* already free: the ring is full */

	assert_int_equal(upci_dpdk_op_enqueue(f->mp, objs, 1), 0);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS);
	assert_int_equal(f->pool.bad_puts, 1);
}

static void enqueue_while_populating_adopts(void **state)
{
	struct fixture *f = *state;
	void *objs[2] = { f->m[0], f->m[1] };

	f->ctx.populating = true;
	assert_int_equal(upci_dpdk_op_enqueue(f->mp, objs, 2), 0);
	assert_int_equal(f->ctx.adopted, 2);
	assert_int_equal(upci_dpdk_op_get_count(f->mp), N_BUFS); /* not added to the full ring */
	assert_int_equal(f->pool.bad_puts, 0);
}

/* DPDK's inline paths, as an application calls them, land in the ops. */
static void pktmbuf_alloc_and_free(void **state)
{
	struct fixture *f = *state;
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->mp);

	assert_ptr_equal(m, f->m[N_BUFS - 1]);
	assert_int_equal(rte_mempool_avail_count(f->mp), N_BUFS - 1);
	assert_int_equal(rte_mempool_in_use_count(f->mp), 1);
	assert_int_equal(m->data_off, RTE_PKTMBUF_HEADROOM);
	assert_ptr_equal(m->buf_addr, f->pool.base + (N_BUFS - 1) * BUF_SIZE);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_mempool_avail_count(f->mp), N_BUFS);
	assert_int_equal(f->ctx.bad_enqueues, 0);
}

static void pkt_to_mbuf_fills_fields(void **state)
{
	struct fixture *f = *state;
	struct upci_pkt pkt = { .buf = f->pool.base + 7 * BUF_SIZE, .pool = &f->pool, .len = 60, .rss_hash = 0x1234 };
	struct rte_mbuf *m;

	f->m[7]->data_off = 128;
	f->m[7]->next = f->m[8];
	m = upci_dpdk_pkt_to_mbuf(&f->ctx, &pkt, 3);
	assert_ptr_equal(m, f->m[7]);
	assert_int_equal(m->data_off, 0);
	assert_ptr_equal(rte_pktmbuf_mtod(m, void *), pkt.buf);
	assert_int_equal(m->data_len, 60);
	assert_int_equal(m->pkt_len, 60);
	assert_int_equal(m->nb_segs, 1);
	assert_null(m->next);
	assert_int_equal(m->port, 3);
	assert_int_equal(m->hash.rss, 0x1234);
	assert_true(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH);
	assert_int_equal(rte_pktmbuf_iova(m), IOVA_BASE + 7 * BUF_SIZE);
}

static void pkt_to_mbuf_refuses_foreign(void **state)
{
	struct fixture *f = *state;
	struct upci_pktpool other = f->pool;
	struct upci_pkt inside = { .buf = f->pool.base + 7 * BUF_SIZE + 64, .pool = &f->pool, .len = 60 };
	struct upci_pkt past = { .buf = f->pool.base + N_BUFS * BUF_SIZE, .pool = &f->pool, .len = 60 };
	struct upci_pkt wrong_pool = { .buf = f->pool.base, .pool = &other, .len = 60 };

	assert_null(upci_dpdk_pkt_to_mbuf(&f->ctx, &inside, 0));
	assert_null(upci_dpdk_pkt_to_mbuf(&f->ctx, &past, 0));
	assert_null(upci_dpdk_pkt_to_mbuf(&f->ctx, &wrong_pool, 0));
}

static void mbuf_to_pkt_zero_copy(void **state)
{
	struct fixture *f = *state;
	struct rte_mbuf *m = f->m[4];
	struct upci_pkt pkt;

	m->data_off = 0;
	m->data_len = m->pkt_len = 100;
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), 0);
	assert_ptr_equal(pkt.buf, f->pool.base + 4 * BUF_SIZE);
	assert_ptr_equal(pkt.pool, &f->pool);
	assert_int_equal(pkt.len, 100);
}

static void mbuf_to_pkt_moves_headroom(void **state)
{
	struct fixture *f = *state;
	struct rte_mbuf *m = f->m[4];
	uint8_t *buf = f->pool.base + 4 * BUF_SIZE;
	struct upci_pkt pkt;

	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = m->pkt_len = 64;
	for (unsigned i = 0; i < 64; i++)
		buf[RTE_PKTMBUF_HEADROOM + i] = (uint8_t)i;
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), 1);
	assert_ptr_equal(pkt.buf, buf);
	assert_int_equal(m->data_off, 0);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(buf[i], i);
}

static void mbuf_to_pkt_refuses(void **state)
{
	struct fixture *f = *state;
	struct rte_mbuf *m = f->m[4];
	struct upci_pkt pkt = { 0 };
	struct rte_mempool *mp = f->mp;

	m->data_len = m->pkt_len = 100;
	m->nb_segs = 2; /* chained */
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), -EINVAL);
	m->nb_segs = 1;
	rte_mbuf_refcnt_set(m, 2); /* shared */
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), -EINVAL);
	rte_mbuf_refcnt_set(m, 1);
	m->data_off = BUF_SIZE - 50; /* frame runs past the buffer */
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), -EINVAL);
	m->data_off = 0;
	m->data_len = m->pkt_len = 0; /* empty */
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), -EINVAL);
	m->data_len = m->pkt_len = 100;
	m->ol_flags = RTE_MBUF_F_INDIRECT; /* attached to another mbuf's data */
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), -EINVAL);
	m->ol_flags = 0;
	assert_int_equal(rte_mempool_set_ops_byname(mp, "other", NULL), 0); /* a mempool of other ops */
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), -EINVAL);
	assert_int_equal(rte_mempool_set_ops_byname(mp, UPCI_DPDK_OPS_NAME, &f->ctx), 0);
	assert_int_equal(upci_dpdk_mbuf_to_pkt(m, &pkt), 0); /* and the same mbuf, put right, passes */
	assert_non_null(pkt.buf);
}

/* Another mempool driver, as a mempool of DPDK's own ring ops would be. */
static int other_alloc(struct rte_mempool *mp)
{
	(void)mp;
	return 0;
}

static int other_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	(void)mp, (void)objs, (void)n;
	return 0;
}

static int other_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	(void)mp, (void)objs, (void)n;
	return -ENOBUFS;
}

static unsigned other_count(const struct rte_mempool *mp)
{
	(void)mp;
	return 0;
}

static struct rte_mempool_ops other_ops = {
	.name = "other", .alloc = other_alloc, .enqueue = other_enqueue, .dequeue = other_dequeue, .get_count = other_count,
};
RTE_MEMPOOL_REGISTER_OPS(other_ops);

#define FIX_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FIX_TEST(bind_sets_buffer),
		FIX_TEST(dequeue_takes_ring_order),
		FIX_TEST(dequeue_all_or_nothing),
		FIX_TEST(dequeue_refuses_corrupt_ring),
		FIX_TEST(enqueue_returns_indices),
		FIX_TEST(enqueue_drops_foreign_objects),
		FIX_TEST(enqueue_double_free_overflows_nothing),
		FIX_TEST(enqueue_while_populating_adopts),
		FIX_TEST(pktmbuf_alloc_and_free),
		FIX_TEST(pkt_to_mbuf_fills_fields),
		FIX_TEST(pkt_to_mbuf_refuses_foreign),
		FIX_TEST(mbuf_to_pkt_zero_copy),
		FIX_TEST(mbuf_to_pkt_moves_headroom),
		FIX_TEST(mbuf_to_pkt_refuses),
	};

	return cmocka_run_group_tests_name("dpdk_mempool", tests, NULL, NULL);
}
