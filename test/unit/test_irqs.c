/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/msix/irqs.c against the fake VFIO kernel: SET_IRQS layout, grants, growth, rewiring. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_vfio.h"
#include "log_capture.h"
#include "upci/log.h"
#include "upci/msix.h"
#include "upci/vfio.h"

struct world {
	struct fake_vfio f;
	struct upci_dev *dev;
	struct upci_irqs *irqs;
};

static int open_world(void **state, bool noresize)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w || fake_vfio_init(&w->f))
		return -1;
	if (noresize)
		w->f.irqs[VFIO_PCI_MSIX_IRQ_INDEX].flags |= VFIO_IRQ_INFO_NORESIZE;
	log_capture_start();
	if (upci_dev_open(FAKE_BDF, NULL, &w->dev) || upci_irqs_open(w->dev, UPCI_IRQ_AUTO, &w->irqs))
		return -1;
	*state = w;
	return 0;
}

static int setup(void **state)
{
	return open_world(state, false);
}

static int setup_noresize(void **state)
{
	return open_world(state, true);
}

/* No MSI isolation: the bus layer leaves the MSI-X table out of the mapping. */
static int setup_unsafe(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w || fake_vfio_init(&w->f))
		return -1;
	fake_vfio_set_unsafe(&w->f, true);
	log_capture_start();
	if (upci_dev_open(FAKE_BDF, NULL, &w->dev) || upci_irqs_open(w->dev, UPCI_IRQ_AUTO, &w->irqs))
		return -1;
	*state = w;
	return 0;
}

/* What the kernel would program into entry @vector (BAR 3 + 16 * vector: address lo/hi, data, control). */
static void program_entry(struct world *w, unsigned vector, uint64_t address, uint32_t data, uint32_t vctrl)
{
	uint32_t entry[4] = { (uint32_t)address, (uint32_t)(address >> 32), data, vctrl };

	fake_region_poke(&w->f, 3, 16ull * vector, entry, sizeof(entry));
}

static int teardown(void **state)
{
	struct world *w = *state;
	int fds;

	upci_irqs_close(w->irqs);
	upci_dev_close(w->dev);
	fds = w->f.live_fds;
	fake_vfio_cleanup(&w->f);
	free(w);
	log_capture_stop();
	return fds == 0 ? 0 : -1; /* every eventfd closed */
}

static void enable_layout(void **state)
{
	struct world *w = *state;
	struct upci_irqs *q = w->irqs;

	assert_int_equal(upci_irqs_kind(q), UPCI_IRQ_MSIX);
	assert_int_equal(upci_irqs_max(q), 5);
	assert_true(upci_irqs_can_grow(q));
	assert_int_equal(upci_irqs_fd(q, 0), -ENOENT);
	assert_int_equal(upci_irqs_enable(q, 0, 5), 0);
	assert_int_equal(w->f.last_set.argsz, sizeof(struct vfio_irq_set) + 5 * sizeof(int32_t));
	assert_int_equal(w->f.last_set.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(w->f.last_set.index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(w->f.last_set.start, 0);
	assert_int_equal(w->f.last_set.count, 5);
	for (unsigned v = 0; v < 5; v++) {
		assert_true(upci_irqs_fd(q, v) >= 0);
		assert_int_equal(w->f.last_set.fds[v], upci_irqs_fd(q, v));
		for (unsigned u = 0; u < v; u++)
			assert_int_not_equal(upci_irqs_fd(q, u), upci_irqs_fd(q, v));
	}
	assert_int_equal(upci_irqs_live(q), 5);
	assert_int_equal(w->f.irq_allocated, 5);
}

static void enable_block_leaves_the_rest_unwired(void **state)
{
	struct world *w = *state;

	assert_int_equal(upci_irqs_enable(w->irqs, 2, 2), 0);
	/* Enabling allocates vectors 0..3; only the asked block gets eventfds. */
	assert_int_equal(w->f.last_set.start, 0);
	assert_int_equal(w->f.last_set.count, 4);
	assert_int_equal(w->f.last_set.fds[0], -1);
	assert_int_equal(w->f.last_set.fds[1], -1);
	assert_int_equal(w->f.last_set.fds[2], upci_irqs_fd(w->irqs, 2));
	assert_int_equal(upci_irqs_fd(w->irqs, 0), -ENOENT);
}

static void partial_grant_is_an_error(void **state)
{
	struct world *w = *state;

	w->f.irq_grant_limit = 3;
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), -ENOSPC);
	assert_non_null(strstr(log_text, "granted only 3 of 5"));
	assert_int_equal(upci_irqs_live(w->irqs), 0);
	w->f.irq_grant_limit = 0;
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
}

static void bad_ranges(void **state)
{
	struct world *w = *state;
	int fds_before = w->f.live_fds;

	assert_int_equal(upci_irqs_enable(w->irqs, 4, 2), -EINVAL);
	assert_int_equal(upci_irqs_enable(w->irqs, 5, 1), -EINVAL);
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 0), -EINVAL);
	assert_int_equal(upci_irqs_enable(w->irqs, UINT32_MAX, 2), -EINVAL);
	assert_int_equal(upci_irqs_rewire(w->irqs, 0, -1), -EINVAL); /* nothing live */
	assert_int_equal(upci_irqs_trigger(w->irqs, 0), -EINVAL);
	assert_int_equal(upci_irqs_wait(w->irqs, 9, 0), -ENOENT);
	assert_int_equal(w->f.live_fds, fds_before); /* no eventfd was created for refused calls */
}

static void grow_in_place(void **state)
{
	struct world *w = *state;
	int fd0;

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 1), 0);
	fd0 = upci_irqs_fd(w->irqs, 0);
	assert_int_equal(upci_irqs_enable(w->irqs, 1, 4), 0);
	assert_int_equal(upci_irqs_full_reenables(w->irqs), 0);
	assert_int_equal(w->f.irq_disables, 0);
	assert_int_equal(w->f.last_set.start, 1);
	assert_int_equal(w->f.last_set.count, 4);
	assert_int_equal(w->f.irq_allocated, 5);
	assert_int_equal(w->f.irq_wired[0], fd0);
	assert_int_equal(upci_irqs_live(w->irqs), 5);
}

static void grow_with_noresize(void **state)
{
	struct world *w = *state;
	int fd0;

	assert_false(upci_irqs_can_grow(w->irqs));
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 1), 0);
	fd0 = upci_irqs_fd(w->irqs, 0);
	assert_int_equal(upci_irqs_enable(w->irqs, 1, 4), 0);
	assert_int_equal(upci_irqs_full_reenables(w->irqs), 1);
	assert_int_equal(w->f.irq_disables, 1);
	assert_int_equal(w->f.last_set.start, 0);
	assert_int_equal(w->f.last_set.count, 5);
	assert_int_equal(w->f.irq_wired[0], fd0); /* the existing vector keeps its eventfd */
	for (unsigned v = 1; v < 5; v++)
		assert_int_equal(w->f.irq_wired[v], upci_irqs_fd(w->irqs, v));
	/* Rewiring inside the live set needs no re-enable. */
	assert_int_equal(upci_irqs_enable(w->irqs, 2, 1), 0);
	assert_int_equal(upci_irqs_full_reenables(w->irqs), 1);
}

static void rewire_and_deassign(void **state)
{
	struct world *w = *state;
	int other = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	assert_int_equal(upci_irqs_rewire(w->irqs, 2, -1), 0);
	assert_int_equal(w->f.last_set.start, 2);
	assert_int_equal(w->f.last_set.count, 1);
	assert_int_equal(w->f.last_set.fds[0], -1);
	assert_int_equal(w->f.irq_wired[2], -1);
	assert_int_equal(upci_irqs_rewire(w->irqs, 2, other), 0);
	assert_int_equal(w->f.irq_wired[2], other);
	assert_int_equal(upci_irqs_trigger(w->irqs, 2), 0);
	assert_int_equal(upci_irqs_wait(w->irqs, 2, 0), 0); /* its own eventfd is no longer wired */
	assert_int_equal(eventfd_read(other, &(eventfd_t){ 0 }), 0);
	assert_int_equal(upci_irqs_rewire(w->irqs, 2, upci_irqs_fd(w->irqs, 2)), 0);
	close(other);
}

static void loopback_and_wait(void **state)
{
	struct world *w = *state;

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	assert_int_equal(upci_irqs_wait(w->irqs, 1, 0), 0); /* nothing yet: timeout */
	assert_int_equal(upci_irqs_trigger(w->irqs, 1), 0);
	assert_int_equal(w->f.last_set.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(w->f.last_set.start, 1);
	assert_int_equal(w->f.last_set.count, 1);
	assert_int_equal(upci_irqs_trigger(w->irqs, 1), 0);
	assert_int_equal(upci_irqs_wait(w->irqs, 1, 1000), 2); /* two signals, consumed at once */
	assert_int_equal(upci_irqs_wait(w->irqs, 1, 0), 0);
}

/* ---- the wait path's cost: counted reads through the seam ---- */

static ssize_t (*base_read)(int, void *, size_t), (*base_read_nowait)(int, void *, size_t);
static atomic_int n_read, n_read_nowait;

static ssize_t counted_read(int fd, void *buf, size_t len)
{
	atomic_fetch_add(&n_read, 1);
	return base_read(fd, buf, len);
}

static ssize_t counted_read_nowait(int fd, void *buf, size_t len)
{
	atomic_fetch_add(&n_read_nowait, 1);
	return base_read_nowait(fd, buf, len);
}

static void count_reads(struct world *w)
{
	base_read = w->f.sys.ops.read;
	base_read_nowait = w->f.sys.ops.read_nowait;
	w->f.sys.ops.read = counted_read;
	w->f.sys.ops.read_nowait = counted_read_nowait;
	atomic_store(&n_read, 0);
	atomic_store(&n_read_nowait, 0);
}

struct waiter {
	struct upci_irqs *irqs;
	unsigned vector;
	atomic_int rc;  /* INT_MIN until the wait returns */
};

static void *wait_forever(void *arg)
{
	struct waiter *wt = arg;

	atomic_store(&wt->rc, upci_irqs_wait(wt->irqs, wt->vector, -1));
	return NULL;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 }, NULL);
}

/* A wait without timeout on a pending vector is one read(2), with a zero timeout one non-blocking read. */
static void wait_costs_one_read(void **state)
{
	struct world *w = *state;

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	assert_int_equal(fcntl(upci_irqs_fd(w->irqs, 1), F_GETFL) & O_NONBLOCK, 0); /* blocking eventfd */
	count_reads(w);
	assert_int_equal(upci_irqs_trigger(w->irqs, 1), 0);
	assert_int_equal(upci_irqs_trigger(w->irqs, 1), 0);
	assert_int_equal(upci_irqs_wait(w->irqs, 1, -1), 2);
	assert_int_equal(atomic_load(&n_read), 1);
	assert_int_equal(atomic_load(&n_read_nowait), 0);
	assert_int_equal(upci_irqs_wait(w->irqs, 1, 0), 0); /* nothing pending: does not block */
	assert_int_equal(atomic_load(&n_read), 1);
	assert_int_equal(atomic_load(&n_read_nowait), 1);
}

/* A wait without timeout blocks until the vector fires, whether or not someone made the eventfd
 * non-blocking. */
static void wait_forever_blocks_until_fired(void **state)
{
	struct world *w = *state;

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	for (int nonblock = 0; nonblock < 2; nonblock++) {
		struct waiter wt = { .irqs = w->irqs, .vector = 2, .rc = INT32_MIN };
		pthread_t th;

		if (nonblock)
			assert_int_equal(fcntl(upci_irqs_fd(w->irqs, 2), F_SETFL, O_NONBLOCK), 0);
		assert_int_equal(pthread_create(&th, NULL, wait_forever, &wt), 0);
		sleep_ms(50);
		assert_int_equal(atomic_load(&wt.rc), INT32_MIN); /* still waiting */
		assert_int_equal(upci_irqs_trigger(w->irqs, 2), 0);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(atomic_load(&wt.rc), 1);
	}
}

static void disable_and_reenable(void **state)
{
	struct world *w = *state;

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 3), 0);
	assert_int_equal(upci_irqs_disable(w->irqs), 0);
	assert_int_equal(w->f.last_set.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(w->f.last_set.count, 0);
	assert_int_equal(w->f.irq_type, -1);
	assert_int_equal(upci_irqs_live(w->irqs), 0);
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	assert_int_equal(w->f.irq_allocated, 5);
}

static void kernel_refusal_is_reported(void **state)
{
	struct world *w = *state;

	/* The third eventfd cannot be created: nothing is wired, the two made are kept for the retry. */
	w->f.fail_at[FAKE_EVENTFD] = w->f.calls[FAKE_EVENTFD] + 3;
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), -EMFILE);
	assert_int_equal(upci_irqs_live(w->irqs), 0);
	assert_int_equal(w->f.irq_type, -1);
	assert_true(upci_irqs_fd(w->irqs, 1) >= 0);
	assert_int_equal(upci_irqs_fd(w->irqs, 2), -ENOENT);
	w->f.fail_at[FAKE_IOCTL] = w->f.calls[FAKE_IOCTL] + 1;
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), -EIO);
	assert_non_null(strstr(log_text, "VFIO_DEVICE_SET_IRQS"));
	assert_int_equal(upci_irqs_live(w->irqs), 0);
	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	assert_int_equal(upci_irqs_live(w->irqs), 5);
}

static void pending_bit(void **state)
{
	struct world *w = *state;
	uint64_t pba = 1u << 3;

	fake_region_poke(&w->f, 3, 0x2000, &pba, sizeof(pba));
	assert_int_equal(upci_msix_pending(w->irqs, 3), 1);
	assert_int_equal(upci_msix_pending(w->irqs, 2), 0);
	assert_int_equal(upci_msix_pending(w->irqs, 5), -EINVAL);
}

static void msg_read_from_the_mapped_table(void **state)
{
	struct world *w = *state;
	struct upci_msix_msg msg;
	struct upci_doorbell_window win;

	assert_true(upci_dev_msix(w->dev)->table_mapped);
	program_entry(w, 2, 0xfee00298ull, 0x4021, 0);
	program_entry(w, 4, 0x0000000108000040ull, 7, 1);
	assert_int_equal(upci_msix_msg_read(w->dev, 2, &msg), 0);
	assert_true(msg.address == 0xfee00298ull && msg.data == 0x4021 && !msg.masked);
	assert_int_equal(upci_msix_msg_window(w->dev, msg.address, &win), 0);
	assert_true(win.start == 0xfee00000ull && win.last == 0xfeefffffull && win.name && win.kernel_managed);
	/* Both address halves are read: a doorbell above 4 GiB is not truncated, and lies in no window here. */
	assert_int_equal(upci_msix_msg_read(w->dev, 4, &msg), 0);
	assert_true(msg.address == 0x0000000108000040ull && msg.data == 7 && msg.masked);
	assert_int_equal(upci_msix_msg_window(w->dev, msg.address, &win), -ENOENT);
}

static void msg_read_bounds(void **state)
{
	struct world *w = *state;
	struct upci_msix_msg msg = { .address = 42 };

	assert_int_equal(upci_msix_msg_read(w->dev, 5, &msg), -ERANGE); /* the table has 5 entries */
	assert_int_equal(upci_msix_msg_read(w->dev, ~0u, &msg), -ERANGE);
	assert_int_equal(msg.address, 42); /* untouched on error */
}

static void msg_read_refused_without_isolation(void **state)
{
	struct world *w = *state;
	struct upci_msix_msg msg = { .address = 42 };

	assert_false(upci_dev_msix(w->dev)->table_mapped);
	program_entry(w, 0, 0xfee00258ull, 0, 0);
	assert_int_equal(upci_msix_msg_read(w->dev, 0, &msg), -EACCES);
	assert_int_equal(msg.address, 42);
}

static void kind_fallbacks(void **state)
{
	struct world *w = *state;
	struct upci_irqs *q = NULL;

	w->f.irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = 0;
	upci_dev_close(w->dev);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &w->dev), 0);
	assert_int_equal(upci_irqs_open(w->dev, UPCI_IRQ_AUTO, &q), 0);
	assert_int_equal(upci_irqs_kind(q), UPCI_IRQ_MSI);
	upci_irqs_close(q);
	assert_int_equal(upci_irqs_open(w->dev, UPCI_IRQ_MSIX, &q), -ENODEV);
	assert_non_null(strstr(log_text, "no MSI-X interrupt"));
	w->f.irqs[VFIO_PCI_MSI_IRQ_INDEX].count = 0;
	upci_dev_close(w->dev);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &w->dev), 0);
	assert_int_equal(upci_irqs_open(w->dev, UPCI_IRQ_AUTO, &q), 0);
	assert_int_equal(upci_irqs_kind(q), UPCI_IRQ_INTX);
	assert_int_equal(upci_irqs_enable(q, 0, 1), 0);
	assert_int_equal(w->f.last_set.index, VFIO_PCI_INTX_IRQ_INDEX);
	upci_irqs_close(q);
	w->f.irqs[VFIO_PCI_INTX_IRQ_INDEX].count = 0;
	upci_dev_close(w->dev);
	assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &w->dev), 0);
	assert_int_equal(upci_irqs_open(w->dev, UPCI_IRQ_AUTO, &q), -ENODEV);
}

static void close_disables(void **state)
{
	struct world *w = *state;

	assert_int_equal(upci_irqs_enable(w->irqs, 0, 5), 0);
	upci_irqs_close(w->irqs);
	w->irqs = NULL;
	assert_int_equal(w->f.irq_type, -1);
	assert_int_equal(w->f.irq_disables, 1);
}

/*
 * VFIO_DEVICE_GET_IRQ_INFO's count is the kernel's word: more vectors than PCI allows (MSI-X 2048, MSI 32,
 * INTx 1) is refused with one line, instead of allocating a table per vector (0xffffffff: 16 GiB, 4 G loops).
 */
static void implausible_vector_counts_refused(void **state)
{
	static const struct {
		enum upci_irq_kind kind;
		unsigned index;
		uint32_t limit;
		const char *name;
	} k[] = {
		{ UPCI_IRQ_MSIX, VFIO_PCI_MSIX_IRQ_INDEX, 2048, "MSI-X" },
		{ UPCI_IRQ_MSI, VFIO_PCI_MSI_IRQ_INDEX, 32, "MSI" },
		{ UPCI_IRQ_INTX, VFIO_PCI_INTX_IRQ_INDEX, 1, "INTx" },
	};
	struct world *w = *state;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct vfio_irq_info saved = w->f.irqs[k[i].index];
		const uint32_t counts[] = { k[i].limit + 1, k[i].limit + 2, 0x10000, 0xffffffffu };

		for (size_t e = 0; e < sizeof(counts) / sizeof(counts[0]); e++) {
			uint32_t count = counts[e];
			struct upci_irqs *q = (void *)1;
			char want[64];

			w->f.irqs[k[i].index].count = count;
			upci_dev_close(w->dev);
			assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &w->dev), 0);
			log_capture_start();
			assert_int_equal(upci_irqs_open(w->dev, k[i].kind, &q), -EIO);
			assert_null(q);
			snprintf(want, sizeof(want), "%u %s vectors", count, k[i].name);
			if (!strstr(log_text, want) || !strstr(log_text, FAKE_BDF))
				fail_msg("count %u of %s: no line naming it; log:\n%s", count, k[i].name, log_text);
			assert_int_equal(strchr(log_text, '\n') - log_text + 1, (long)strlen(log_text)); /* one line */
		}
		/* The limit itself is a valid device. */
		w->f.irqs[k[i].index].count = k[i].limit;
		upci_dev_close(w->dev);
		assert_int_equal(upci_dev_open(FAKE_BDF, NULL, &w->dev), 0);
		{
			struct upci_irqs *q = NULL;

			assert_int_equal(upci_irqs_open(w->dev, k[i].kind, &q), 0);
			assert_int_equal(upci_irqs_max(q), k[i].limit);
			upci_irqs_close(q);
		}
		w->f.irqs[k[i].index] = saved;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(enable_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(enable_block_leaves_the_rest_unwired, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_grant_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(grow_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(grow_with_noresize, setup_noresize, teardown),
		cmocka_unit_test_setup_teardown(rewire_and_deassign, setup, teardown),
		cmocka_unit_test_setup_teardown(loopback_and_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_costs_one_read, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_forever_blocks_until_fired, setup, teardown),
		cmocka_unit_test_setup_teardown(disable_and_reenable, setup, teardown),
		cmocka_unit_test_setup_teardown(kernel_refusal_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(pending_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(kind_fallbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(msg_read_from_the_mapped_table, setup, teardown),
		cmocka_unit_test_setup_teardown(msg_read_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(msg_read_refused_without_isolation, setup_unsafe, teardown),
		cmocka_unit_test_setup_teardown(close_disables, setup, teardown),
		cmocka_unit_test_setup_teardown(implausible_vector_counts_refused, setup, teardown),
	};

	return cmocka_run_group_tests_name("irqs", tests, NULL, NULL);
}
