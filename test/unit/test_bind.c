/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of tools/bind/bind.c (upci-bind's logic) against the fake sysfs, with a small model of the
 * kernel's driver core behind the seam's write(): driver_override, driver/unbind, drivers/D/bind and
 * drivers_probe change the fake tree's driver links and VFIO nodes the way the kernel does, and any write can
 * be made to fail. Covers: viability refusal naming each member, --group, rollback after a failing step at
 * every step, the state file round trip and malformed files, restore from the file and without it
 * (modules.alias, the kernel's match), node ownership with rollback, the memlock figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../tools/bind/bind.h"
#include "fake_sysfs.h"
#include "log_capture.h"
#include "upci/log.h"

#define STATE "/run/upci/bind.json"

static struct fake_sysfs fs;

/* ---- the model of the kernel's driver core ---- */

struct sim_dev {
	const char *bdf;
	const char *native; /* what drivers_probe binds without an override (the id-table match) */
	int group;
};

static struct sim_dev sim_devs[8];
static int n_sim;
static char fd_path[1024][512];
static bool cdev_mode;          /* vfio-pci devices get a cdev (iommufd kernel) */
static const char *fail_at;     /* substring of the path whose write fails */
static int fail_nth;            /* ... on its nth write (1-based); 0: never */
static int fail_errno = EIO;
static int writes_seen;         /* every sysfs write, for the fail-every-step loop */
static int fail_write_no;       /* fail the nth write of any kind; 0: never */

static void rel_path(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", fs.root, rel);
}

static struct sim_dev *sim_find(const char *bdf)
{
	for (int i = 0; i < n_sim; i++)
		if (!strncmp(sim_devs[i].bdf, bdf, 12))
			return &sim_devs[i];
	return NULL;
}

static void dev_rel(const char *bdf, const char *leaf, char *buf, size_t len)
{
	snprintf(buf, len, "sys/devices/pci0000:00/%s%s%s", bdf, leaf[0] ? "/" : "", leaf);
}

static void read_rel(const char *rel, char *buf, size_t len)
{
	char full[600];
	FILE *f;
	size_t n;

	rel_path(rel, full, sizeof(full));
	buf[0] = '\0';
	f = fopen(full, "r");
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void sim_driver(const char *bdf, char *buf, size_t len)
{
	char rel[256], full[600], target[512];
	ssize_t n;

	dev_rel(bdf, "driver", rel, sizeof(rel));
	rel_path(rel, full, sizeof(full));
	n = readlink(full, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n > 0) {
		target[n] = '\0';
		snprintf(buf, len, "%s", strrchr(target, '/') + 1);
	}
}

static void sim_override(const char *bdf, char *buf, size_t len)
{
	char rel[256];

	dev_rel(bdf, "driver_override", rel, sizeof(rel));
	read_rel(rel, buf, len);
	buf[strcspn(buf, "\n")] = '\0';
}

static bool group_on_vfio(int group)
{
	char drv[64];

	for (int i = 0; i < n_sim; i++) {
		sim_driver(sim_devs[i].bdf, drv, sizeof(drv));
		if (sim_devs[i].group == group && !strcmp(drv, "vfio-pci"))
			return true;
	}
	return false;
}

static void vfio_nodes(struct sim_dev *d, bool add)
{
	char rel[256], full[600];
	int idx = (int)(d - sim_devs);

	snprintf(rel, sizeof(rel), "dev/vfio/%d", d->group);
	if (add)
		fake_sysfs_write(&fs, rel, "");
	else if (!group_on_vfio(d->group))
		unlink((rel_path(rel, full, sizeof(full)), full));
	if (!cdev_mode)
		return;
	snprintf(rel, sizeof(rel), "dev/vfio/devices/vfio%d", idx);
	if (add) {
		fake_sysfs_write(&fs, rel, "");
	} else {
		rel_path(rel, full, sizeof(full));
		unlink(full);
	}
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/vfio-dev/vfio%d", d->bdf, idx);
	rel_path(rel, full, sizeof(full));
	if (add)
		fake_sysfs_mkdir(&fs, rel);
	else
		rmdir(full);
}

static int sim_bind(const char *bdf, const char *drv)
{
	char rel[256], cur[64], ovr[64], full[600], target[128];
	struct sim_dev *d = sim_find(bdf);
	struct stat st;

	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", drv);
	rel_path(rel, full, sizeof(full));
	if (!d || stat(full, &st))
		return -ENODEV;
	sim_driver(bdf, cur, sizeof(cur));
	sim_override(bdf, ovr, sizeof(ovr));
	if (cur[0])
		return -EBUSY;
	if (strcmp(ovr, "(null)") && strcmp(ovr, drv))
		return -ENODEV; /* the override does not name this driver: no match */
	dev_rel(d->bdf, "driver", rel, sizeof(rel));
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
	fake_sysfs_link(&fs, rel, target);
	if (!strcmp(drv, "vfio-pci"))
		vfio_nodes(d, true);
	return 0;
}

static int sim_unbind(const char *bdf)
{
	char rel[256], full[600], cur[64];
	struct sim_dev *d = sim_find(bdf);

	if (!d)
		return -ENODEV;
	sim_driver(bdf, cur, sizeof(cur));
	dev_rel(d->bdf, "driver", rel, sizeof(rel));
	rel_path(rel, full, sizeof(full));
	unlink(full);
	if (!strcmp(cur, "vfio-pci"))
		vfio_nodes(d, false);
	return 0;
}

static int sim_probe(const char *bdf)
{
	char cur[64], ovr[64];
	struct sim_dev *d = sim_find(bdf);

	if (!d)
		return -ENODEV;
	sim_driver(bdf, cur, sizeof(cur));
	sim_override(bdf, ovr, sizeof(ovr));
	if (cur[0])
		return 0;
	if (strcmp(ovr, "(null)"))
		return sim_bind(bdf, ovr), 0; /* no driver of that name: it stays unbound */
	if (d->native)
		sim_bind(bdf, d->native);
	return 0;
}

static int sim_set_override(const char *path_bdf, const char *text, size_t len)
{
	char rel[256], val[80], bdf[16];

	snprintf(bdf, sizeof(bdf), "%.12s", path_bdf);
	snprintf(val, sizeof(val), "%.*s", (int)len, text);
	val[strcspn(val, "\n")] = '\0';
	dev_rel(bdf, "driver_override", rel, sizeof(rel));
	fake_sysfs_write(&fs, rel, val[0] ? strcat(val, "\n") : "(null)\n");
	return 0;
}

static int fake_open(const char *path, int flags, mode_t mode)
{
	size_t rlen = strlen(fs.root);
	int fd;

	if (!strncmp(path, fs.root, rlen) && !strncmp(path + rlen, "/sys/", 5))
		flags &= ~O_TRUNC; /* sysfs attributes ignore it: a failed write leaves the old value */
	fd = open(path, flags, mode);

	if (fd >= 0 && fd < 1024)
		snprintf(fd_path[fd], sizeof(fd_path[fd]), "%s", path);
	return fd;
}

static bool ends_with(const char *s, const char *end)
{
	size_t a = strlen(s), b = strlen(end);

	return a >= b && !strcmp(s + a - b, end);
}

/* The kernel's answer to a sysfs write; @p is the path below the root. */
static int sim_write(const char *p, const char *text, size_t len)
{
	char arg[64], drv[64];

	snprintf(arg, sizeof(arg), "%.*s", (int)len, text);
	arg[strcspn(arg, "\n")] = '\0';
	if (ends_with(p, "/driver_override"))
		return sim_set_override(p + strlen("/sys/bus/pci/devices/"), text, len);
	if (ends_with(p, "/driver/unbind"))
		return sim_unbind(arg);
	if (!strcmp(p, "/sys/bus/pci/drivers_probe"))
		return sim_probe(arg);
	if (sscanf(p, "/sys/bus/pci/drivers/%63[^/]/bind", drv) == 1 && ends_with(p, "/bind"))
		return sim_bind(arg, drv);
	return 1; /* not a sysfs attribute: an ordinary file */
}

static ssize_t fake_write(int fd, const void *buf, size_t len)
{
	const char *p = fd >= 0 && fd < 1024 ? fd_path[fd] : "";
	size_t rlen = strlen(fs.root);
	int rc;

	if (strncmp(p, fs.root, rlen) || strncmp(p + rlen, "/sys/", 5))
		return write(fd, buf, len);
	p += rlen;
	writes_seen++;
	if ((fail_write_no && writes_seen == fail_write_no) || (fail_at && strstr(p, fail_at) && --fail_nth == 0)) {
		errno = fail_errno;
		return -1;
	}
	rc = sim_write(p, buf, len);
	if (rc == 1)
		return write(fd, buf, len);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return (ssize_t)len;
}

/* ---- setup ---- */

static void add_dev(const char *bdf, unsigned cls, const char *driver, const char *native, int group)
{
	char rel[256];

	fake_sysfs_add_pci(&fs, bdf, 0x8086, 0x10d3, cls, driver, group);
	dev_rel(bdf, "driver_override", rel, sizeof(rel));
	fake_sysfs_write(&fs, rel, "(null)\n");
	dev_rel(bdf, "modalias", rel, sizeof(rel));
	fake_sysfs_write(&fs, rel, "pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00\n");
	sim_devs[n_sim++] = (struct sim_dev){ bdf, native, group };
}

/* 0000:00:02.0 and 0000:00:02.1, both on e1000e, in IOMMU group 5. */
static void add_group_of_two(void)
{
	add_dev("0000:00:02.0", 0x020000, "e1000e", "e1000e", 5);
	add_dev("0000:00:02.1", 0x020000, "e1000e", "e1000e", 5);
}

static void add_driver(const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/bind", name);
	fake_sysfs_write(&fs, rel, "");
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", name);
	fake_sysfs_write(&fs, rel, "");
}

static int setup(void **state)
{
	(void)state;
	memset(fd_path, 0, sizeof(fd_path));
	n_sim = 0;
	cdev_mode = false;
	fail_at = NULL;
	fail_nth = 0;
	fail_errno = EIO;
	fail_write_no = 0;
	writes_seen = 0;
	if (fake_sysfs_init(&fs))
		return -1;
	fs.ops.open = fake_open;
	fs.ops.write = fake_write;
	add_driver("e1000e");
	add_driver("vfio-pci");
	add_driver("snd_hda_intel");
	add_driver("pcieport");
	fake_sysfs_mkdir(&fs, "dev/vfio/devices");
	fake_sysfs_write(&fs, "sys/bus/pci/drivers_probe", "");
	fake_sysfs_write(&fs, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	log_capture_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_capture_stop();
	bind_ops_install(NULL);
	fake_sysfs_cleanup(&fs);
	return 0;
}

static const char *const first_nic[] = { "0000:00:02.0" };

static struct bind_request request(int n, const char *const *bdfs)
{
	struct bind_request r = { .n = n, .state_path = STATE };

	for (int i = 0; i < n; i++)
		assert_int_equal(upci_pci_addr_parse(bdfs[i], &r.addrs[i]), 0);
	return r;
}

static void assert_driver(const char *bdf, const char *want)
{
	char drv[64];

	sim_driver(bdf, drv, sizeof(drv));
	if (strcmp(drv, want))
		fail_msg("%s is on '%s', expected '%s'", bdf, drv, want);
}

static void assert_override(const char *bdf, const char *want)
{
	char ovr[64];

	sim_override(bdf, ovr, sizeof(ovr));
	if (strcmp(ovr, want))
		fail_msg("%s has driver_override '%s', expected '%s'", bdf, ovr, want);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The state file holds @n devices. */
static void assert_on_record(int n)
{
	struct bind_state st;

	assert_int_equal(bind_state_load(STATE, &st), 0);
	assert_int_equal(st.n, n);
}

static bool state_exists(void)
{
	char full[600];
	struct stat st;

	rel_path("run/upci/bind.json", full, sizeof(full));
	return stat(full, &st) == 0;
}

/* ---- viability ---- */

static void viability_refusal_names_each_member(void **state)
{
	struct bind_request req = request(1, first_nic);
	static struct bind_report rep;
	(void)state;

	add_group_of_two();
	add_dev("0000:00:02.2", 0x040300, "snd_hda_intel", "snd_hda_intel", 5);
	add_dev("0000:00:01.0", 0x060400, "pcieport", "pcieport", 5); /* a bridge's port driver is fine */
	assert_int_equal(bind_devices(&req, &rep), -EBUSY);
	assert_true(rep.refused);
	assert_non_null(strstr(log_text, "IOMMU group 5 is not viable"));
	assert_non_null(strstr(log_text, "0000:00:02.1 (driver e1000e)"));
	assert_non_null(strstr(log_text, "0000:00:02.2 (driver snd_hda_intel)"));
	assert_null(strstr(log_text, "0000:00:01.0 (driver"));
	assert_non_null(strstr(log_text, "--group"));
	assert_int_equal(count_lines(log_text), 1);
	/* Nothing moved, nothing was written. */
	assert_int_equal(writes_seen, 0);
	assert_driver("0000:00:02.0", "e1000e");
	assert_override("0000:00:02.0", "(null)");
	assert_false(state_exists());
	/* The dry run is refused the same way. */
	req.dry_run = true;
	assert_int_equal(bind_devices(&req, &rep), -EBUSY);
}

static void group_binds_the_whole_group(void **state)
{
	struct bind_request req = request(1, first_nic);
	static struct bind_report rep;
	struct bind_state st;
	(void)state;

	add_group_of_two();
	add_dev("0000:00:02.2", 0x040300, "snd_hda_intel", "snd_hda_intel", 5);
	add_dev("0000:00:01.0", 0x060400, "pcieport", "pcieport", 5);
	req.group = true;
	req.dry_run = true;
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_int_equal(rep.n, 3);
	assert_int_equal(rep.res[1].action, BIND_WOULD_MOVE);
	assert_int_equal(writes_seen, 0);
	assert_false(state_exists());
	req.dry_run = false;
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_int_equal(rep.n, 3);
	assert_true(rep.res[0].requested);
	assert_false(rep.res[1].requested);
	assert_driver("0000:00:02.0", "vfio-pci");
	assert_driver("0000:00:02.1", "vfio-pci");
	assert_driver("0000:00:02.2", "vfio-pci");
	assert_driver("0000:00:01.0", "pcieport"); /* bridges stay */
	assert_override("0000:00:02.2", "vfio-pci");
	assert_true(rep.res[0].dev.group_node.exists);
	assert_string_equal(rep.res[0].dev.group_node.path, "/dev/vfio/5");
	assert_int_equal(bind_state_load(STATE, &st), 0);
	assert_int_equal(st.n, 3);
	assert_string_equal(bind_state_find(&st, "0000:00:02.2")->driver, "snd_hda_intel");
	/* Binding again changes nothing and keeps the original drivers on record. */
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_int_equal(rep.res[0].action, BIND_NONE);
	assert_int_equal(bind_state_load(STATE, &st), 0);
	assert_string_equal(bind_state_find(&st, "0000:00:02.0")->driver, "e1000e");
}

static void refusals_before_anything_moves(void **state)
{
	static const char *const absent[] = { "0000:00:09.0" };
	static const char *const nogroup[] = { "0000:00:04.0" };
	static const char *const bridge[] = { "0000:00:01.0" };
	static const char *const up[] = { "0000:00:02.0" };
	struct bind_request req;
	static struct bind_report rep;
	(void)state;

	add_dev("0000:00:02.0", 0x020000, "e1000e", "e1000e", 3);
	add_dev("0000:00:04.0", 0x020000, "e1000e", "e1000e", -1);
	add_dev("0000:00:01.0", 0x060400, "pcieport", "pcieport", 6);
	fake_sysfs_write(&fs, "sys/devices/pci0000:00/0000:00:02.0/net/eth0/flags", "0x1003\n");
	req = request(1, absent);
	assert_int_equal(bind_devices(&req, &rep), -ENODEV);
	assert_non_null(strstr(log_text, "0000:00:09.0: no such PCI device"));
	req = request(1, nogroup);
	assert_int_equal(bind_devices(&req, &rep), -EINVAL);
	assert_non_null(strstr(log_text, "has no IOMMU group"));
	req = request(1, bridge);
	assert_int_equal(bind_devices(&req, &rep), -EINVAL);
	assert_non_null(strstr(log_text, "is a PCI bridge"));
	req = request(1, up);
	assert_int_equal(bind_devices(&req, &rep), -EBUSY);
	assert_non_null(strstr(log_text, "its interface eth0 is up"));
	assert_int_equal(count_lines(log_text), 4);
	assert_int_equal(writes_seen, 0);
	req.force = true;
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_driver("0000:00:02.0", "vfio-pci");
}

/* ---- rollback ---- */

static void add_three_groups(void)
{
	add_dev("0000:00:02.0", 0x020000, "e1000e", "e1000e", 3);
	add_dev("0000:00:03.0", 0x020000, NULL, "e1000e", 4);             /* unbound */
	add_dev("0000:00:04.0", 0x020000, "e1000e", "e1000e", 7);
	sim_set_override("0000:00:04.0", "e1000e\n", 7);               /* an override someone set */
}

static const char *const three_groups[] = { "0000:00:02.0", "0000:00:03.0", "0000:00:04.0" };

static void assert_as_found(void)
{
	assert_driver("0000:00:02.0", "e1000e");
	assert_override("0000:00:02.0", "(null)");
	assert_driver("0000:00:03.0", "");
	assert_override("0000:00:03.0", "(null)");
	assert_driver("0000:00:04.0", "e1000e");
	assert_override("0000:00:04.0", "e1000e");
}

static void failing_bind_rolls_back(void **state)
{
	struct bind_request req = request(3, three_groups);
	static struct bind_report rep;
	(void)state;

	add_three_groups();
	fail_at = "drivers/vfio-pci/bind";
	fail_nth = 3; /* the third device's bind */
	assert_int_equal(bind_devices(&req, &rep), -EIO);
	assert_false(rep.refused); /* a step failed: exit 1, not 2 */
	assert_as_found();
	assert_int_equal(rep.res[0].action, BIND_ROLLED_BACK);
	assert_int_equal(rep.res[2].action, BIND_ROLLED_BACK);
	assert_non_null(strstr(log_text, "0000:00:04.0: writing '0000:00:04.0' to /sys/bus/pci/drivers/vfio-pci/bind failed"));
	assert_int_equal(count_lines(log_text), 1);
	assert_on_record(0); /* nothing left on record */
}

static void every_failing_step_leaves_all_as_found(void **state)
{
	struct bind_request req = request(3, three_groups);
	static struct bind_report rep;
	int total, rc;
	(void)state;

	add_three_groups();
	assert_int_equal(bind_devices(&req, &rep), 0);
	total = writes_seen;
	assert_true(total >= 8);
	assert_int_equal(restore_devices(&req, &rep), 0);
	assert_as_found();
	for (int k = 1; k <= total; k++) {
		writes_seen = 0;
		fail_write_no = k;
		log_text[0] = '\0';
		rc = bind_devices(&req, &rep);
		fail_write_no = 0;
		if (rc == 0)
			fail_msg("bind succeeded with write %d of %d failing", k, total);
		assert_as_found();
		assert_int_equal(count_lines(log_text), 1);
	}
}

/* A later step of the caller failed (giving the nodes away): bind_undo() puts back what the bind moved. */
static void undo_puts_back_what_the_bind_moved(void **state)
{
	struct bind_request req = request(3, three_groups);
	static struct bind_report rep;
	(void)state;

	add_three_groups();
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_false(rep.refused);
	assert_driver("0000:00:03.0", "vfio-pci");
	bind_undo(&rep, STATE);
	assert_as_found();
	assert_int_equal(rep.res[1].action, BIND_ROLLED_BACK);
	assert_on_record(0);
}

static void failing_restore_goes_back_to_vfio(void **state)
{
	static const char *const bdfs[] = { "0000:00:02.0", "0000:00:04.0" };
	struct bind_request req = request(2, bdfs);
	static struct bind_report rep;
	(void)state;

	add_three_groups();
	assert_int_equal(bind_devices(&req, &rep), 0);
	fail_at = "drivers/e1000e/bind";
	fail_nth = 2;
	fail_errno = EBUSY;
	assert_int_equal(restore_devices(&req, &rep), -EBUSY);
	assert_driver("0000:00:02.0", "vfio-pci");
	assert_driver("0000:00:04.0", "vfio-pci");
	assert_override("0000:00:02.0", "vfio-pci");
	assert_on_record(2); /* still on record: a later restore can finish */
	assert_int_equal(restore_devices(&req, &rep), 0);
	assert_driver("0000:00:02.0", "e1000e");
	assert_override("0000:00:04.0", "e1000e");
}

/* ---- the state file ---- */

static void state_round_trip(void **state)
{
	struct bind_state s = { .n = 2 }, t;
	(void)state;

	s.rec[0] = (struct bind_record){ "0000:00:02.0", 0x8086, 0x10d3, "e1000e", "" };
	s.rec[1] = (struct bind_record){ "0000:3a:00.1", 0x15b3, 0x1017, "", "mlx5_core" };
	assert_int_equal(bind_state_save(STATE, &s), 0);
	assert_int_equal(bind_state_load(STATE, &t), 0);
	assert_int_equal(t.n, 2);
	assert_memory_equal(&s.rec[0], &t.rec[0], sizeof(s.rec[0]));
	assert_memory_equal(&s.rec[1], &t.rec[1], sizeof(s.rec[1]));
	bind_state_drop(&t, "0000:00:02.0");
	assert_int_equal(t.n, 1);
	assert_null(bind_state_find(&t, "0000:00:02.0"));
	assert_non_null(bind_state_find(&t, "0000:3a:00.1"));
	/* No file: nothing on record, no error. */
	assert_int_equal(bind_state_load("/run/upci/none.json", &t), 0);
	assert_int_equal(t.n, 0);
}

static void malformed_state_refused(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{\"devices\": 3}",
		"{\"devices\": [{\"bdf\": \"00:02\", \"vendor\": \"0x8086\", \"device\": \"0x10d3\", \"driver\": \"e1000e\", \"driver_override\": null}]}",
		"{\"devices\": [{\"bdf\": \"0000:00:02.0\", \"vendor\": \"0x18086\", \"device\": \"0x10d3\", \"driver\": \"e1000e\", \"driver_override\": null}]}",
		"{\"devices\": [{\"bdf\": \"0000:00:02.0\", \"vendor\": \"0x8086\", \"device\": \"0x10d3\", \"driver\": \"../../x\", \"driver_override\": null}]}",
		"{\"devices\": [{\"bdf\": \"0000:00:02.0\", \"vendor\": \"0x8086\", \"device\": \"0x10d3\", \"driver\": 5, \"driver_override\": null}]}",
		"{\"devices\": [{\"bdf\": \"0000:00:02.0\", \"vendor\": \"0x8086\", \"device\": \"0x10d3\", \"driver_override\": null}]}",
		("{\"devices\": [{\"bdf\": \"0000:00:02.0\", \"vendor\": \"0x8086\", \"device\": \"0x10d3\", \"driver\": \"e1000e\", \"driver_override\": null},"
		 " {\"bdf\": \"00:02.0\", \"vendor\": \"0x8086\", \"device\": \"0x10d3\", \"driver\": \"e1000e\", \"driver_override\": null}]}"),
	};
	struct bind_state t;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_sysfs_write(&fs, STATE, bad[i]);
		log_text[0] = '\0';
		if (bind_state_load(STATE, &t) != -EINVAL)
			fail_msg("accepted state file '%s'", bad[i]);
		assert_non_null(strstr(log_text, "malformed: remove it"));
	}
}

/* ---- restore ---- */

static void restore_from_the_state_file(void **state)
{
	struct bind_request req = request(3, three_groups), all = { .state_path = STATE };
	static struct bind_report rep;
	(void)state;

	add_three_groups();
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_driver("0000:00:03.0", "vfio-pci");
	all.dry_run = true;
	assert_int_equal(restore_devices(&all, &rep), 0);
	assert_int_equal(rep.n, 3);
	assert_driver("0000:00:02.0", "vfio-pci");
	all.dry_run = false;
	assert_int_equal(restore_devices(&all, &rep), 0); /* no BDF: every device on record */
	assert_as_found();
	for (int i = 0; i < rep.n; i++)
		assert_string_equal(rep.res[i].why, "state file");
	assert_on_record(0);
}

static void restore_without_the_file_derives_the_driver(void **state)
{
	static const char *const bdfs[] = { "0000:00:02.0", "0000:00:05.0" };
	struct bind_request req = request(2, bdfs);
	static struct bind_report rep;
	char drv[64], full[600];
	(void)state;

	add_dev("0000:00:02.0", 0x020000, "e1000e", "e1000e", 3);
	add_dev("0000:00:05.0", 0x020000, "e1000e", "e1000e", 8);
	fake_sysfs_write(&fs, "sys/devices/pci0000:00/0000:00:05.0/modalias",
			 "pci:v00001AF4d00001041sv00001AF4sd00001100bc02sc00i00\n");
	fake_sysfs_write(&fs, "lib/modules/6.1.0-test/modules.alias",
			 "# Aliases extracted from modules themselves.\n"
			 "alias pci:v00008086d000010D3sv*sd*bc*sc*i* vfio_pci\n"
			 "alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n"
			 "alias usb:v0BDAp8153d*dc*dsc*dp*ic*isc*ip*in* r8152\n");
	assert_int_equal(bind_derive_driver(&(struct bind_dev){ .info.name = "0000:00:02.0" }, drv, sizeof(drv)), 0);
	assert_string_equal(drv, "e1000e");
	assert_int_equal(bind_derive_driver(&(struct bind_dev){ .info.name = "0000:00:05.0" }, drv, sizeof(drv)),
			 -ENOENT);
	assert_int_equal(bind_devices(&req, &rep), 0);
	rel_path("run/upci/bind.json", full, sizeof(full));
	unlink(full); /* the file is gone (reboot, rm) */
	assert_false(state_exists());
	if (restore_devices(&req, &rep))
		fail_msg("restore failed: %s", log_text);
	assert_driver("0000:00:02.0", "e1000e");
	assert_string_equal(rep.res[0].why, "modules.alias");
	assert_string_equal(rep.res[0].to, "e1000e");
	/* No alias matches 00:05.0's modalias: the kernel's own match (drivers_probe) takes it. */
	assert_driver("0000:00:05.0", "e1000e");
	assert_string_equal(rep.res[1].why, "the kernel's own match (drivers_probe)");
	assert_string_equal(rep.res[1].to, "e1000e");
	assert_override("0000:00:02.0", "(null)");
}

static void restore_with_group_takes_its_vfio_members(void **state)
{
	struct bind_request req = request(1, first_nic);
	static struct bind_report rep;
	(void)state;

	add_group_of_two();
	req.group = true;
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_int_equal(restore_devices(&req, &rep), 0);
	assert_int_equal(rep.n, 2);
	assert_driver("0000:00:02.0", "e1000e");
	assert_driver("0000:00:02.1", "e1000e");
}

/* ---- ownership ---- */

static int chowns, chown_fail_on;
static uid_t chown_uid[4];

static int fake_chown(const char *path, uid_t uid, gid_t gid)
{
	(void)path, (void)gid;
	if (chowns < 4)
		chown_uid[chowns] = uid;
	if (++chowns == chown_fail_on) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static void owner_of_the_nodes(void **state)
{
	struct bind_request req = request(1, first_nic);
	static struct bind_report rep;
	struct bind_ops o = { .stat = stat, .chown = fake_chown, .chmod = chmod, .mkdir = mkdir, .rename = rename };
	struct bind_dev d;
	(void)state;

	cdev_mode = true;
	add_dev("0000:00:02.0", 0x020000, "e1000e", "e1000e", 3);
	assert_int_equal(bind_devices(&req, &rep), 0);
	assert_int_equal(bind_dev_read(&req.addrs[0], &d), 0);
	assert_true(d.group_node.exists);
	assert_string_equal(d.cdev, "vfio0");
	assert_string_equal(d.cdev_node.path, "/dev/vfio/devices/vfio0");
	assert_true(d.cdev_node.exists);
	bind_ops_install(&o);
	chowns = 0, chown_fail_on = 0;
	assert_int_equal(bind_set_owner(&d, 1000, 1000), 0);
	assert_int_equal(chowns, 2); /* group node and cdev */
	assert_int_equal(chown_uid[0], 1000);
	assert_int_equal(bind_dev_read(&req.addrs[0], &d), 0);
	assert_int_equal(d.group_node.mode, 0660);
	assert_int_equal(d.cdev_node.mode, 0660);
	/* The cdev's chown fails: the group node gets its owner back. */
	chowns = 0, chown_fail_on = 2;
	log_text[0] = '\0';
	assert_int_equal(bind_set_owner(&d, 2000, 2000), -EPERM);
	assert_int_equal(chowns, 3);
	assert_int_equal(chown_uid[2], d.group_node.uid);
	assert_non_null(strstr(log_text, "/dev/vfio/devices/vfio0"));
	assert_int_equal(count_lines(log_text), 1);
	/* Restored: the nodes are gone with vfio-pci. */
	bind_ops_install(NULL);
	assert_int_equal(restore_devices(&req, &rep), 0);
	assert_int_equal(bind_dev_read(&req.addrs[0], &d), 0);
	assert_false(d.group_node.exists);
	assert_string_equal(d.cdev, "");
}

/* ---- memlock ---- */

static void memlock_of_a_default_port(void **state)
{
	struct bind_memlock m;
	(void)state;

	assert_int_equal(bind_memlock_for(0x8086, 0x10d3, &m), 0);
	assert_string_equal(m.driver, "e1000e");
	/* rings 4 x 512 x 16 B = 32 KiB; 4 pools of 1088 x 2048 B = 2176 KiB each. */
	assert_int_equal(m.base_kib, 32 + 4 * 2176);
	/* The same rounded to 2 MiB hugepages: 2 MiB of rings, 4 MiB per pool. */
	assert_int_equal(m.huge_kib, 2048 + 4 * 4096);
	assert_int_equal(bind_memlock_for(0x1af4, 0x1041, &m), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(viability_refusal_names_each_member, setup, teardown),
		cmocka_unit_test_setup_teardown(group_binds_the_whole_group, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals_before_anything_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(failing_bind_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(every_failing_step_leaves_all_as_found, setup, teardown),
		cmocka_unit_test_setup_teardown(undo_puts_back_what_the_bind_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(failing_restore_goes_back_to_vfio, setup, teardown),
		cmocka_unit_test_setup_teardown(state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_state_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(restore_from_the_state_file, setup, teardown),
		cmocka_unit_test_setup_teardown(restore_without_the_file_derives_the_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(restore_with_group_takes_its_vfio_members, setup, teardown),
		cmocka_unit_test_setup_teardown(owner_of_the_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(memlock_of_a_default_port, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
