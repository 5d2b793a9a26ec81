/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/port/registry.c: the driver registry (upci/driver.h). The built-in drivers are there
 * before the first call; a driver is refused when it claims an id another one handles, when it is already
 * registered, or when it is incomplete; every refusal logs one line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/port/builtin.h"
#include "log_capture.h"
#include "upci/driver.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a driver that does nothing: only its tables matter here ---- */

static int t_init(struct upci_dev *dev, const struct upci_port_cfg *cfg, void **priv, struct upci_drv_port *port)
{
	(void)dev, (void)cfg, (void)priv, (void)port;
	return -ENODEV;
}

static int t_rxq(void *priv, unsigned q, struct upci_pktpool *pool, void **rxq)
{
	(void)priv, (void)q, (void)pool, (void)rxq;
	return -EINVAL;
}

static int t_txq(void *priv, unsigned q, void **txq)
{
	(void)priv, (void)q, (void)txq;
	return -EINVAL;
}

static int t_onoff(void *priv)
{
	(void)priv;
	return 0;
}

static void t_close(void *priv, bool removed)
{
	(void)priv, (void)removed;
}

static unsigned t_burst(void *q, struct upci_pkt *pkts, unsigned n)
{
	(void)q, (void)pkts, (void)n;
	return 0;
}

static bool t_clean(void *q)
{
	(void)q;
	return true;
}

static bool t_ready(const void *q)
{
	(void)q;
	return false;
}

static void t_arm(void *q)
{
	(void)q;
}

static void t_link(void *priv, struct upci_link *out)
{
	(void)priv;
	memset(out, 0, sizeof(*out));
}

static int t_link_event(void *priv)
{
	(void)priv;
	return 0;
}

static void t_stats(void *priv, struct upci_port_stats *out)
{
	(void)priv, (void)out;
}

static int t_raise(void *priv, unsigned vector)
{
	(void)priv, (void)vector;
	return 0;
}

static const struct upci_driver_ops full_ops = {
	.init = t_init, .rx_queue_setup = t_rxq, .tx_queue_setup = t_txq, .start = t_onoff, .stop = t_onoff,
	.close = t_close, .rx_burst = t_burst, .tx_burst = t_burst, .tx_clean = t_clean, .rx_ready = t_ready,
	.rx_arm = t_arm, .rx_disarm = t_arm, .link_get = t_link, .link_event = t_link_event, .stats = t_stats,
	.raise_irq = t_raise,
};

static const struct upci_pci_id own_ids[] = { { 0x1af4, 0x7e57 }, { 0x1af4, 0x7e58 } };
static const struct upci_pci_id e1000e_id[] = { { 0x8086, 0x10d3 } };
static const struct upci_pci_id mixed_ids[] = { { 0x1af4, 0x7e59 }, { 0x8086, 0x10d3 } }; /* 2nd is taken */

static unsigned builtin_count(void)
{
	unsigned n = 0;

	while (upci_builtin_drivers[n])
		n++;
	return n;
}

static unsigned log_lines(void)
{
	unsigned n = 0;

	for (const char *p = log_text; *p; p++)
		n += *p == '\n';
	return n;
}

static int setup(void **state)
{
	(void)state;
	log_capture_start();
	return 0;
}

/* Every test leaves the registry as it found it: only the built-in drivers. */
static int teardown(void **state)
{
	(void)state;
	log_capture_stop();
	return upci_driver_count() == builtin_count() ? 0 : -1;
}

/* ---- tests ---- */

static void builtin_e1000e_matches_82574l(void **state)
{
	const struct upci_driver *drv = upci_driver_match(0x8086, 0x10d3);

	(void)state;
	assert_non_null(drv);
	assert_string_equal(drv->name, "e1000e");
	assert_ptr_equal(drv, upci_builtin_drivers[0]);
	assert_non_null(drv->ops);
	assert_true(drv->n_ids >= 1);
	assert_int_equal(upci_driver_count(), builtin_count());
	assert_true(upci_driver_count() >= 1);
	assert_string_equal(log_text, ""); /* a match logs nothing */
}

static void no_match_is_null(void **state)
{
	(void)state;
	assert_null(upci_driver_match(0x8086, 0x10d4)); /* right vendor, other device */
	assert_null(upci_driver_match(0x10d3, 0x8086)); /* swapped */
	assert_null(upci_driver_match(0x1af4, 0x10d3)); /* other vendor, same device id */
	assert_null(upci_driver_match(0xffff, 0xffff)); /* what an absent device reads */
	assert_null(upci_driver_match(0, 0));
	assert_string_equal(log_text, "");
}

static void register_match_unregister(void **state)
{
	const struct upci_driver drv = { .name = "test", .ids = own_ids, .n_ids = ARRAY_LEN(own_ids), .ops = &full_ops };
	unsigned base = upci_driver_count();

	(void)state;
	assert_int_equal(upci_driver_register(&drv), 0);
	assert_int_equal(upci_driver_count(), base + 1);
	assert_ptr_equal(upci_driver_match(0x1af4, 0x7e57), &drv);
	assert_ptr_equal(upci_driver_match(0x1af4, 0x7e58), &drv); /* every id of the table */
	assert_null(upci_driver_match(0x1af4, 0x7e59));
	assert_string_equal(upci_driver_match(0x8086, 0x10d3)->name, "e1000e"); /* the others are untouched */
	assert_string_equal(log_text, "");

	assert_int_equal(upci_driver_unregister(&drv), 0);
	assert_int_equal(upci_driver_count(), base);
	assert_null(upci_driver_match(0x1af4, 0x7e57));
	assert_null(upci_driver_match(0x1af4, 0x7e58));
	assert_non_null(upci_driver_match(0x8086, 0x10d3));

	/* gone: a second unregister is refused, with one line */
	assert_int_equal(upci_driver_unregister(&drv), -ENOENT);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "test"));
	assert_int_equal(upci_driver_count(), base);

	/* and it can come back */
	assert_int_equal(upci_driver_register(&drv), 0);
	assert_ptr_equal(upci_driver_match(0x1af4, 0x7e57), &drv);
	assert_int_equal(upci_driver_unregister(&drv), 0);
}

/* A second driver for 8086:10d3 is refused, with one line that names both drivers and the id. */
static void second_driver_for_an_id_is_refused(void **state)
{
	const struct upci_driver other = { .name = "other82574", .ids = e1000e_id, .n_ids = 1, .ops = &full_ops };
	const struct upci_driver mixed = { .name = "mixed", .ids = mixed_ids, .n_ids = ARRAY_LEN(mixed_ids),
					   .ops = &full_ops };
	unsigned base = upci_driver_count();

	(void)state;
	assert_int_equal(upci_driver_register(&other), -EEXIST);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "other82574"));
	assert_non_null(strstr(log_text, "e1000e"));
	assert_non_null(strstr(log_text, "8086:10d3"));
	assert_int_equal(upci_driver_count(), base);
	assert_string_equal(upci_driver_match(0x8086, 0x10d3)->name, "e1000e");

	/* one taken id among free ones: refused whole, none of its ids registered */
	log_text[0] = '\0';
	assert_int_equal(upci_driver_register(&mixed), -EEXIST);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "mixed"));
	assert_non_null(strstr(log_text, "e1000e"));
	assert_null(upci_driver_match(0x1af4, 0x7e59));
	assert_int_equal(upci_driver_count(), base);
	assert_int_equal(upci_driver_unregister(&mixed), -ENOENT);
}

/* Two drivers of ours that overlap: the second is refused, naming the first. */
static void overlap_between_registered_drivers(void **state)
{
	static const struct upci_pci_id one[] = { { 0x1af4, 0x7e57 } };
	const struct upci_driver a = { .name = "alpha", .ids = own_ids, .n_ids = ARRAY_LEN(own_ids), .ops = &full_ops };
	const struct upci_driver b = { .name = "beta", .ids = one, .n_ids = 1, .ops = &full_ops };

	(void)state;
	assert_int_equal(upci_driver_register(&a), 0);
	assert_int_equal(upci_driver_register(&b), -EEXIST);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "alpha"));
	assert_non_null(strstr(log_text, "beta"));
	assert_non_null(strstr(log_text, "1af4:7e57"));
	assert_ptr_equal(upci_driver_match(0x1af4, 0x7e57), &a);
	/* once alpha is gone, beta may take the id */
	assert_int_equal(upci_driver_unregister(&a), 0);
	assert_int_equal(upci_driver_register(&b), 0);
	assert_ptr_equal(upci_driver_match(0x1af4, 0x7e57), &b);
	assert_null(upci_driver_match(0x1af4, 0x7e58));
	assert_int_equal(upci_driver_unregister(&b), 0);
}

static void same_driver_twice_is_refused(void **state)
{
	const struct upci_driver drv = { .name = "twice", .ids = own_ids, .n_ids = ARRAY_LEN(own_ids), .ops = &full_ops };
	unsigned base = upci_driver_count();

	(void)state;
	assert_int_equal(upci_driver_register(&drv), 0);
	assert_int_equal(upci_driver_register(&drv), -EEXIST);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "twice"));
	assert_int_equal(upci_driver_count(), base + 1); /* registered once */
	assert_int_equal(upci_driver_unregister(&drv), 0);
	assert_null(upci_driver_match(0x1af4, 0x7e57)); /* one unregister removes it: it was there once */
	assert_int_equal(upci_driver_count(), base);

	/* the built-in driver itself, again */
	log_text[0] = '\0';
	assert_int_equal(upci_driver_register(upci_builtin_drivers[0]), -EEXIST);
	assert_int_equal(log_lines(), 1);
	assert_int_equal(upci_driver_count(), base);
}

/* Each required op missing in turn: -EINVAL, one line, nothing registered. The optional ones may be NULL. */
static void incomplete_driver_is_refused(void **state)
{
	static const size_t required[] = {
		offsetof(struct upci_driver_ops, init),      offsetof(struct upci_driver_ops, rx_queue_setup),
		offsetof(struct upci_driver_ops, tx_queue_setup), offsetof(struct upci_driver_ops, start),
		offsetof(struct upci_driver_ops, stop),      offsetof(struct upci_driver_ops, close),
		offsetof(struct upci_driver_ops, rx_burst),  offsetof(struct upci_driver_ops, tx_burst),
		offsetof(struct upci_driver_ops, tx_clean),  offsetof(struct upci_driver_ops, rx_ready),
		offsetof(struct upci_driver_ops, rx_arm),    offsetof(struct upci_driver_ops, rx_disarm),
		offsetof(struct upci_driver_ops, link_get),  offsetof(struct upci_driver_ops, stats),
	};
	unsigned base = upci_driver_count();
	struct upci_driver_ops ops;
	struct upci_driver drv = { .name = "partial", .ids = own_ids, .n_ids = ARRAY_LEN(own_ids), .ops = &ops };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(required); i++) {
		ops = full_ops;
		memset((char *)&ops + required[i], 0, sizeof(void (*)(void)));
		log_text[0] = '\0';
		if (upci_driver_register(&drv) != -EINVAL)
			fail_msg("a driver without the op at offset %zu was accepted", required[i]);
		assert_int_equal(log_lines(), 1);
		assert_non_null(strstr(log_text, "partial"));
		assert_int_equal(upci_driver_count(), base);
		assert_null(upci_driver_match(0x1af4, 0x7e57));
	}

	/* link_event and raise_irq are optional */
	ops = full_ops;
	ops.link_event = NULL;
	ops.raise_irq = NULL;
	log_text[0] = '\0';
	assert_int_equal(upci_driver_register(&drv), 0);
	assert_string_equal(log_text, "");
	assert_ptr_equal(upci_driver_match(0x1af4, 0x7e57), &drv);
	assert_int_equal(upci_driver_unregister(&drv), 0);
}

static void driver_without_ids_or_name_is_refused(void **state)
{
	const struct upci_driver no_ids = { .name = "noids", .ids = NULL, .n_ids = 0, .ops = &full_ops };
	const struct upci_driver zero_ids = { .name = "zeroids", .ids = own_ids, .n_ids = 0, .ops = &full_ops };
	const struct upci_driver null_table = { .name = "nulltable", .ids = NULL, .n_ids = 2, .ops = &full_ops };
	const struct upci_driver no_name = { .name = NULL, .ids = own_ids, .n_ids = 1, .ops = &full_ops };
	const struct upci_driver no_ops = { .name = "noops", .ids = own_ids, .n_ids = 1, .ops = NULL };
	const struct upci_driver *bad[] = { &no_ids, &zero_ids, &null_table, &no_name, &no_ops, NULL };
	unsigned base = upci_driver_count();

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		log_text[0] = '\0';
		assert_int_equal(upci_driver_register(bad[i]), -EINVAL);
		assert_int_equal(log_lines(), 1);
		if (bad[i] && bad[i]->name)
			assert_non_null(strstr(log_text, bad[i]->name));
		assert_int_equal(upci_driver_count(), base);
	}
	assert_null(upci_driver_match(0x1af4, 0x7e57));
}

/* The built-in driver can be taken out (a replacement may then claim its ids) and put back. */
static void builtin_can_be_replaced(void **state)
{
	const struct upci_driver *builtin = upci_driver_match(0x8086, 0x10d3);
	const struct upci_driver mine = { .name = "my82574", .ids = e1000e_id, .n_ids = 1, .ops = &full_ops };
	unsigned base = upci_driver_count();

	(void)state;
	assert_non_null(builtin);
	assert_int_equal(upci_driver_unregister(builtin), 0);
	assert_int_equal(upci_driver_count(), base - 1);
	assert_null(upci_driver_match(0x8086, 0x10d3));
	assert_int_equal(upci_driver_register(&mine), 0);
	assert_ptr_equal(upci_driver_match(0x8086, 0x10d3), &mine);
	assert_int_equal(upci_driver_unregister(&mine), 0);
	assert_int_equal(upci_driver_register(builtin), 0);
	assert_ptr_equal(upci_driver_match(0x8086, 0x10d3), builtin);
	assert_int_equal(upci_driver_count(), base);
	assert_string_equal(log_text, "");
}

/* Drivers register until the registry is full: then -ENOSPC with one line; unregistering makes room. */
static void registry_full(void **state)
{
	enum { TRIES = 128 };
	struct upci_pci_id *ids = calloc(TRIES, sizeof(*ids));
	struct upci_driver *drvs = calloc(TRIES, sizeof(*drvs));
	unsigned base = upci_driver_count(), n = 0;
	int rc = 0;

	(void)state;
	assert_non_null(ids);
	assert_non_null(drvs);
	for (unsigned i = 0; i < TRIES; i++) {
		ids[i] = (struct upci_pci_id){ 0x1af4, (uint16_t)(0x7000 + i) };
		drvs[i] = (struct upci_driver){ .name = "filler", .ids = &ids[i], .n_ids = 1, .ops = &full_ops };
	}
	while (n < TRIES && (rc = upci_driver_register(&drvs[n])) == 0)
		n++;
	assert_int_equal(rc, -ENOSPC);
	assert_true(n >= 1);
	assert_int_equal(upci_driver_count(), base + n);
	assert_int_equal(log_lines(), 1);
	assert_null(upci_driver_match(0x1af4, (uint16_t)(0x7000 + n))); /* the refused one */
	for (unsigned i = 0; i < n; i++)
		assert_ptr_equal(upci_driver_match(0x1af4, (uint16_t)(0x7000 + i)), &drvs[i]);

	/* one out, the refused one fits */
	assert_int_equal(upci_driver_unregister(&drvs[0]), 0);
	assert_int_equal(upci_driver_register(&drvs[n]), 0);
	assert_ptr_equal(upci_driver_match(0x1af4, (uint16_t)(0x7000 + n)), &drvs[n]);
	for (unsigned i = 1; i <= n; i++)
		assert_int_equal(upci_driver_unregister(&drvs[i]), 0);
	assert_int_equal(upci_driver_count(), base);
	free(drvs);
	free(ids);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(builtin_e1000e_matches_82574l),
		T(no_match_is_null),
		T(register_match_unregister),
		T(second_driver_for_an_id_is_refused),
		T(overlap_between_registered_drivers),
		T(same_driver_twice_is_refused),
		T(incomplete_driver_is_refused),
		T(driver_without_ids_or_name_is_refused),
		T(builtin_can_be_replaced),
		T(registry_full),
	};

	return cmocka_run_group_tests_name("driver_registry", tests, NULL, NULL);
}
