/* SPDX-License-Identifier: BSD-3-Clause */
/* upci-bind's logic: see bind.h. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/common/sysfs_io.h"
#include "bind.h"
#include "upci/driver.h"
#include "upci/kernel.h"
#include "upci/log.h"

#define IFF_UP_FLAG 0x1

/* ---- the calls outside the seam ---- */

static const struct bind_ops real_ops = {
	.stat = stat, .chown = chown, .chmod = chmod, .mkdir = mkdir, .rename = rename,
};
static const struct bind_ops *ops = &real_ops;

const struct bind_ops *bind_ops_install(const struct bind_ops *o)
{
	const struct bind_ops *old = ops;

	ops = o ? o : &real_ops;
	return old;
}

static int rooted(char *buf, size_t len, const char *path)
{
	return upci_path(buf, len, "%s", path);
}

int bind_node_stat_path(const char *path, struct stat *st)
{
	char full[UPCI_PATH_MAX];

	if (rooted(full, sizeof(full), path))
		return -ENAMETOOLONG;
	return ops->stat(full, st) ? -errno : 0;
}

static int node_stat(struct bind_node *n)
{
	char full[UPCI_PATH_MAX];
	struct stat st;

	n->exists = false;
	if (rooted(full, sizeof(full), n->path) || ops->stat(full, &st))
		return -errno;
	n->exists = true;
	n->uid = st.st_uid;
	n->gid = st.st_gid;
	n->mode = st.st_mode & 07777;
	return 0;
}

/* ---- sysfs ---- */

static const char *hint_for(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
	case EROFS:
		return "run upci-bind as root (sysfs must be writable)";
	case ENOENT:
		return "the kernel has no such attribute: is the driver loaded?";
	case EBUSY:
		return "the device is in use";
	default:
		return "see dmesg";
	}
}

/* Write @text to the sysfs file @path (seam root prepended). Logs one line on failure. */
static int sysfs_write(const char *bdf, const char *path, const char *text)
{
	const struct upci_kernel_ops *k = upci_kernel();
	char full[UPCI_PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, rc = rooted(full, sizeof(full), path);

	if (rc)
		return rc;
	fd = k->open(full, O_WRONLY | O_TRUNC, 0);
	if (fd < 0) {
		rc = -errno;
	} else {
		n = k->write(fd, text, len);
		rc = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
		k->close(fd);
	}
	if (rc)
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: writing '%.*s' to %s failed: %s (%s)", bdf,
			 (int)strcspn(text, "\n"), text, path, strerror(-rc), hint_for(-rc));
	return rc;
}

static void strip_newline(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

static int read_override(const char *bdf, char *buf, size_t len)
{
	char path[UPCI_PATH_MAX], text[UPCI_DRIVER_NAME_MAX + 2];
	int n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	n = upci_read_file(path, text, sizeof(text));
	buf[0] = '\0';
	if (n == -ENOENT)
		return 0; /* kernels before 3.16: no override */
	if (n < 0)
		return n;
	strip_newline(text);
	if (strcmp(text, "(null)") && strlen(text) < len)
		strcpy(buf, text);
	return 0;
}

static int current_driver(const char *bdf, char *buf, size_t len)
{
	char path[UPCI_PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	rc = upci_read_link_name(path, buf, len);
	if (rc == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return rc;
}

struct first_entry {
	char *buf;
	size_t len;
	const char *prefix;
};

static int take_first(const char *name, void *arg)
{
	struct first_entry *f = arg;

	if (strncmp(name, f->prefix, strlen(f->prefix)) || strlen(name) >= f->len)
		return 0;
	strcpy(f->buf, name);
	return 1;
}

/* The first entry of directory @path starting with @prefix, "" when none. */
static void first_entry(const char *path, const char *prefix, char *buf, size_t len)
{
	struct first_entry f = { buf, len, prefix };

	buf[0] = '\0';
	if (upci_for_each_entry(path, take_first, &f) != 1)
		buf[0] = '\0';
}

static void read_netdev(struct bind_dev *d)
{
	char path[UPCI_PATH_MAX];
	uint64_t flags;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", d->info.name);
	first_entry(path, "", d->netdev, sizeof(d->netdev));
	d->netdev_up = false;
	if (!d->netdev[0])
		return;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net/%s/flags", d->info.name, d->netdev);
	d->netdev_up = upci_read_u64(path, &flags) == 0 && (flags & IFF_UP_FLAG);
}

int bind_dev_read(const struct upci_pci_addr *addr, struct bind_dev *d)
{
	char path[UPCI_PATH_MAX];
	int rc;

	memset(d, 0, sizeof(*d));
	rc = upci_pci_info_read(addr, &d->info);
	if (rc)
		return rc;
	rc = read_override(d->info.name, d->override, sizeof(d->override));
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", d->info.name);
	first_entry(path, "vfio", d->cdev, sizeof(d->cdev));
	read_netdev(d);
	if (d->info.iommu_group >= 0) {
		snprintf(d->group_node.path, sizeof(d->group_node.path), "/dev/vfio/%d", d->info.iommu_group);
		node_stat(&d->group_node);
	}
	if (d->cdev[0]) {
		snprintf(d->cdev_node.path, sizeof(d->cdev_node.path), "/dev/vfio/devices/%s", d->cdev);
		node_stat(&d->cdev_node);
	}
	return 0;
}

bool bind_driver_vfio_safe(const char *driver)
{
	/* As the kernel sees a group (and lib/vfio_bus/group.c): unbound, a vfio driver, pci-stub, or pcieport. */
	return driver[0] == '\0' || strstr(driver, "vfio") || !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport");
}

static bool is_bridge(const struct upci_pci_info *i)
{
	return (i->class_code >> 8) == 0x0604;
}

/* ---- moving a device between drivers ---- */

static int driver_dir_exists(const char *driver)
{
	char path[UPCI_PATH_MAX], full[UPCI_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s", driver);
	return !rooted(full, sizeof(full), path) && ops->stat(full, &st) == 0;
}

static int bind_to(const char *bdf, const char *driver)
{
	char path[UPCI_PATH_MAX];

	if (!driver_dir_exists(driver)) {
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: the kernel has no PCI driver %s (/sys/bus/pci/drivers/%s): load it "
			 "(modprobe %s) and run upci-bind again", bdf, driver, driver, driver);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	return sysfs_write(bdf, path, bdf);
}

static int set_override(const char *bdf, const char *override)
{
	char path[UPCI_PATH_MAX], text[UPCI_DRIVER_NAME_MAX + 2];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	snprintf(text, sizeof(text), "%s\n", override);
	return sysfs_write(bdf, path, text);
}

/* Off the current driver, onto @driver ("": none; NULL: whatever the kernel's match gives). */
static int switch_driver(const char *bdf, const char *cur, const char *driver)
{
	char path[UPCI_PATH_MAX];
	int rc = 0;

	if (cur[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		rc = sysfs_write(bdf, path, bdf);
	}
	if (rc)
		return rc;
	if (!driver)
		return sysfs_write(bdf, "/sys/bus/pci/drivers_probe", bdf);
	return driver[0] ? bind_to(bdf, driver) : 0;
}

/* Put @bdf on @driver (see switch_driver()) with driver_override @override ("": none). */
static int move(const char *bdf, const char *driver, const char *override)
{
	char cur[UPCI_DRIVER_NAME_MAX], have[UPCI_DRIVER_NAME_MAX];
	int rc = read_override(bdf, have, sizeof(have));

	if (!rc && strcmp(have, override))
		rc = set_override(bdf, override);
	if (!rc)
		rc = current_driver(bdf, cur, sizeof(cur));
	if (rc || (driver && !strcmp(cur, driver)))
		return rc;
	rc = switch_driver(bdf, cur, driver);
	if (!rc)
		rc = current_driver(bdf, cur, sizeof(cur));
	if (!rc && driver && strcmp(cur, driver)) {
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: did not bind to %s (its driver is now %s): see dmesg", bdf,
			 driver[0] ? driver : "none", cur[0] ? cur : "none");
		rc = -EIO;
	}
	return rc;
}

/* ---- the state file ---- */

struct bind_record *bind_state_find(struct bind_state *s, const char *bdf)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->rec[i].bdf, bdf))
			return &s->rec[i];
	return NULL;
}

void bind_state_drop(struct bind_state *s, const char *bdf)
{
	struct bind_record *r = bind_state_find(s, bdf);

	if (r) {
		*r = s->rec[s->n - 1];
		s->n--;
	}
}

/* A string field of at most @len - 1 bytes ("" for null). */
static int json_str(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v))
		return -EINVAL;
	s = json_object_is_type(v, json_type_null) ? "" : json_object_get_string(v);
	if (!json_object_is_type(v, json_type_null) && !json_object_is_type(v, json_type_string))
		return -EINVAL;
	if (strlen(s) >= len || strchr(s, '/') || strchr(s, '\n'))
		return -EINVAL;
	strcpy(buf, s);
	return 0;
}

static int json_id(json_object *o, const char *key, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (json_str(o, key, buf, sizeof(buf)) || strncmp(buf, "0x", 2) ||
	    upci_parse_u64(buf + 2, strlen(buf + 2), 16, &v) || v > 0xffff)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int parse_record(json_object *o, struct bind_record *r)
{
	struct upci_pci_addr a;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object) || json_str(o, "bdf", r->bdf, sizeof(r->bdf)) ||
	    upci_pci_addr_parse(r->bdf, &a) || json_id(o, "vendor", &r->vendor) || json_id(o, "device", &r->device) ||
	    json_str(o, "driver", r->driver, sizeof(r->driver)) ||
	    json_str(o, "driver_override", r->override, sizeof(r->override)))
		return -EINVAL;
	upci_pci_addr_format(&a, r->bdf, sizeof(r->bdf)); /* canonical */
	return 0;
}

static int parse_state(const char *text, struct bind_state *s)
{
	json_object *root = json_tokener_parse(text), *devs;
	int rc = -EINVAL;
	size_t n;

	s->n = 0;
	if (root && json_object_object_get_ex(root, "devices", &devs) && json_object_is_type(devs, json_type_array)) {
		n = json_object_array_length(devs);
		rc = n > BIND_MAX_DEVS ? -ENOSPC : 0;
		for (size_t i = 0; !rc && i < n; i++) {
			rc = parse_record(json_object_array_get_idx(devs, i), &s->rec[s->n]);
			if (!rc && bind_state_find(s, s->rec[s->n].bdf))
				rc = -EINVAL; /* the same device twice */
			if (!rc)
				s->n++;
		}
	}
	json_object_put(root);
	return rc;
}

int bind_state_load(const char *path, struct bind_state *s)
{
	static char text[65536];
	int n = upci_read_file(path, text, sizeof(text));

	s->n = 0;
	if (n == -ENOENT)
		return 0;
	if (n >= 0)
		n = parse_state(text, s);
	if (n < 0)
		upci_log(UPCI_LOG_ERR, BIND_LOG, "state file %s: %s: remove it (upci-bind --restore re-derives each "
			 "device's driver without it)", path, n == -EINVAL ? "malformed" : strerror(-n));
	return n < 0 ? n : 0;
}

static json_object *json_hex4(uint16_t v)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "0x%04x", v);
	return json_object_new_string(buf);
}

static char *format_state(const struct bind_state *s)
{
	json_object *root = json_object_new_object(), *devs = json_object_new_array();
	char *text;

	json_object_object_add(root, "version", json_object_new_int(1));
	for (int i = 0; i < s->n; i++) {
		const struct bind_record *r = &s->rec[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "bdf", json_object_new_string(r->bdf));
		json_object_object_add(o, "vendor", json_hex4(r->vendor));
		json_object_object_add(o, "device", json_hex4(r->device));
		json_object_object_add(o, "driver", r->driver[0] ? json_object_new_string(r->driver) : NULL);
		json_object_object_add(o, "driver_override", r->override[0] ? json_object_new_string(r->override) : NULL);
		json_object_array_add(devs, o);
	}
	json_object_object_add(root, "devices", devs);
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}

/* mkdir -p of @path's directory (root prepended). */
static int make_parent(const char *full)
{
	char dir[UPCI_PATH_MAX];
	size_t rlen = strlen(upci_kernel()->root ? upci_kernel()->root : "");

	snprintf(dir, sizeof(dir), "%s", full);
	*strrchr(dir, '/') = '\0';
	for (char *p = dir + rlen + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (ops->mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return ops->mkdir(dir, 0755) && errno != EEXIST ? -errno : 0;
}

static int write_whole(const char *full, const char *text)
{
	const struct upci_kernel_ops *k = upci_kernel();
	size_t len = strlen(text), done = 0;
	int fd = k->open(full, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = 0;

	if (fd < 0)
		return -errno;
	while (!rc && done < len) {
		ssize_t n = k->write(fd, text + done, len - done);

		rc = n > 0 ? 0 : n < 0 ? -errno : -EIO;
		done += n > 0 ? (size_t)n : 0;
	}
	if (k->close(fd) && !rc)
		rc = -errno;
	return rc;
}

int bind_state_save(const char *path, const struct bind_state *s)
{
	char full[UPCI_PATH_MAX], tmp[UPCI_PATH_MAX];
	char *text = format_state(s);
	int rc = text ? 0 : -ENOMEM;

	if (!rc)
		rc = rooted(full, sizeof(full), path);
	if (!rc && snprintf(tmp, sizeof(tmp), "%s.tmp", full) >= (int)sizeof(tmp))
		rc = -ENAMETOOLONG;
	if (!rc)
		rc = make_parent(full);
	if (!rc)
		rc = write_whole(tmp, text);
	if (!rc && ops->rename(tmp, full))
		rc = -errno;
	free(text);
	if (rc)
		upci_log(UPCI_LOG_ERR, BIND_LOG, "cannot write the state file %s: %s (give another with --state FILE "
			 "or UPCI_BIND_STATE)", path, strerror(-rc));
	return rc;
}

/* ---- planning: which devices, and is every group they are in viable ---- */

static int find_result(const struct bind_report *rep, const char *bdf)
{
	for (int i = 0; i < rep->n; i++)
		if (!strcmp(rep->res[i].dev.info.name, bdf))
			return i;
	return -1;
}

/* Read @a into the next slot of @rep, unless it is there already. */
static int add_device(struct bind_report *rep, const struct upci_pci_addr *a, bool requested)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	struct bind_result *r;
	int at, rc;

	upci_pci_addr_format(a, name, sizeof(name));
	at = find_result(rep, name);
	if (at >= 0) {
		rep->res[at].requested |= requested;
		return 0;
	}
	if (rep->n == BIND_MAX_DEVS) {
		upci_log(UPCI_LOG_ERR, BIND_LOG, "more than %d devices in one request: split it", BIND_MAX_DEVS);
		return -E2BIG;
	}
	r = &rep->res[rep->n];
	memset(r, 0, sizeof(*r));
	rc = bind_dev_read(a, &r->dev);
	if (rc == -ENODEV)
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: no such PCI device (see lspci -D or /sys/bus/pci/devices)", name);
	if (rc)
		return rc;
	r->requested = requested;
	rep->n++;
	return 0;
}

static int check_bindable(const struct bind_dev *d)
{
	if (d->info.iommu_group < 0) {
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s has no IOMMU group: the IOMMU is off or absent; enable VT-d/AMD-Vi "
			 "in firmware and boot with intel_iommu=on (or amd_iommu=on)", d->info.name);
		return -EINVAL;
	}
	if (is_bridge(&d->info)) {
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s is a PCI bridge (class %06x): bridges stay on their driver; bind the "
			 "devices behind it", d->info.name, d->info.class_code);
		return -EINVAL;
	}
	return 0;
}

/* The members of group @g that keep it from VFIO, appended to @list; with @take_all, PCI endpoint members are
 * added to @rep instead. Return: the number of offenders, or a negative errno. */
static int scan_group(int g, bool take_all, struct bind_report *rep, char *list, size_t len)
{
	struct upci_group_member *m = NULL;
	int n = upci_iommu_group_members(g, &m), bad = 0, rc = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n && rc >= 0; i++) {
		size_t used = strlen(list);

		if (m[i].is_pci && find_result(rep, m[i].name) >= 0)
			continue;
		if (take_all && m[i].is_pci && strcmp(m[i].driver, "pcieport")) {
			struct bind_dev probe;

			rc = bind_dev_read(&m[i].addr, &probe);
			if (!rc && !is_bridge(&probe.info))
				rc = add_device(rep, &m[i].addr, false);
			continue;
		}
		if (bind_driver_vfio_safe(m[i].driver))
			continue;
		bad++;
		snprintf(list + used, len - used, "%s%s (driver %s)", used ? ", " : "", m[i].name, m[i].driver);
	}
	free(m);
	return rc < 0 ? rc : bad;
}

static bool group_seen(const struct bind_report *rep, int upto, int g)
{
	for (int i = 0; i < upto; i++)
		if (rep->res[i].dev.info.iommu_group == g)
			return true;
	return false;
}

/* Every group of the devices in @rep: viable once they are on vfio-pci, or (@take_all) completed. */
static int check_groups(struct bind_report *rep, bool take_all)
{
	for (int i = 0; i < rep->n; i++) {
		const struct bind_dev *d = &rep->res[i].dev;
		char list[400] = "";
		int g = d->info.iommu_group, bad;

		if (group_seen(rep, i, g))
			continue;
		bad = scan_group(g, take_all, rep, list, sizeof(list));
		if (bad < 0)
			return bad;
		if (bad) {
			upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: IOMMU group %d is not viable for VFIO: it also holds %s; "
				 "bind the whole group with --group%s, or move %s off %s first", d->info.name, g, list,
				 take_all ? " (non-PCI members cannot be bound)" : "", bad > 1 ? "them" : "it",
				 bad > 1 ? "their drivers" : "its driver");
			return -EBUSY;
		}
	}
	return 0;
}

static int check_netdevs(const struct bind_report *rep, bool force)
{
	for (int i = 0; i < rep->n && !force; i++) {
		const struct bind_dev *d = &rep->res[i].dev;

		if (d->netdev_up && strcmp(d->info.driver, BIND_VFIO_DRIVER)) {
			upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: its interface %s is up (in use by the kernel): take it down "
				 "(ip link set %s down) or pass --force", d->info.name, d->netdev, d->netdev);
			return -EBUSY;
		}
	}
	return 0;
}

static int plan(const struct bind_request *req, struct bind_report *rep, bool for_bind)
{
	int rc = 0;

	rep->n = 0;
	for (int i = 0; i < req->n && !rc; i++)
		rc = add_device(rep, &req->addrs[i], true);
	for (int i = 0; i < rep->n && !rc && for_bind; i++)
		rc = check_bindable(&rep->res[i].dev);
	if (!rc && for_bind)
		rc = check_groups(rep, req->group);
	if (!rc && for_bind)
		rc = check_netdevs(rep, req->force);
	return rc;
}

/* ---- bind ---- */

static bool on_vfio(const struct bind_dev *d)
{
	return !strcmp(d->info.driver, BIND_VFIO_DRIVER) && !strcmp(d->override, BIND_VFIO_DRIVER);
}

/* Remember where each device that moves comes from (a device already recorded keeps its record). */
static int record_origins(const struct bind_report *rep, struct bind_state *st)
{
	for (int i = 0; i < rep->n; i++) {
		const struct bind_dev *d = &rep->res[i].dev;
		struct bind_record *r;

		if (on_vfio(d) || bind_state_find(st, d->info.name) || !strcmp(d->info.driver, BIND_VFIO_DRIVER))
			continue;
		if (st->n == BIND_MAX_DEVS)
			return -ENOSPC;
		r = &st->rec[st->n++];
		memset(r, 0, sizeof(*r));
		strcpy(r->bdf, d->info.name);
		r->vendor = d->info.vendor;
		r->device = d->info.device;
		strcpy(r->driver, d->info.driver);
		strcpy(r->override, d->override);
	}
	return 0;
}

/* Put results [0, upto) that moved back where they were found (their from/override). */
static void roll_back(struct bind_report *rep, int upto)
{
	for (int i = upto - 1; i >= 0; i--) {
		struct bind_result *r = &rep->res[i];

		if (r->action != BIND_MOVED)
			continue;
		if (move(r->dev.info.name, r->from, r->dev.override))
			upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: rolling back to %s failed: put it back by hand (echo %s > "
				 "/sys/bus/pci/drivers/%s/bind)", r->dev.info.name, r->from[0] ? r->from : "no driver",
				 r->dev.info.name, r->from[0] ? r->from : "DRIVER");
		else
			r->action = BIND_ROLLED_BACK;
	}
}

static void mark_plan(struct bind_report *rep, bool dry_run)
{
	for (int i = 0; i < rep->n; i++) {
		struct bind_result *r = &rep->res[i];

		/* snprintf, not strcpy: same-sized arrays, but gcc 12 with -fsanitize=address sees a bound of 0 */
		snprintf(r->from, sizeof(r->from), "%s", r->dev.info.driver);
		snprintf(r->to, sizeof(r->to), "%s", BIND_VFIO_DRIVER);
		r->action = on_vfio(&r->dev) ? BIND_NONE : dry_run ? BIND_WOULD_MOVE : BIND_NONE;
	}
}

static int move_all_to_vfio(struct bind_report *rep)
{
	for (int i = 0; i < rep->n; i++) {
		struct bind_result *r = &rep->res[i];
		int rc;

		if (on_vfio(&r->dev))
			continue;
		r->action = BIND_MOVED; /* also when it fails half-way: roll_back() puts it back */
		rc = move(r->dev.info.name, BIND_VFIO_DRIVER, BIND_VFIO_DRIVER);
		if (rc) {
			roll_back(rep, i + 1);
			return rc;
		}
	}
	return 0;
}

/* Re-read the devices that moved (their nodes exist now). */
static void refresh(struct bind_report *rep)
{
	for (int i = 0; i < rep->n; i++) {
		struct bind_dev now;

		if (!bind_dev_read(&rep->res[i].dev.info.addr, &now)) {
			rep->res[i].dev.group_node = now.group_node;
			rep->res[i].dev.cdev_node = now.cdev_node;
			strcpy(rep->res[i].dev.cdev, now.cdev);
		}
	}
}

/* Drop the records of the devices rolled back, and save. */
static void forget_rolled_back(const struct bind_report *rep, struct bind_state *st, const char *state_path)
{
	for (int i = 0; i < rep->n; i++)
		if (rep->res[i].action == BIND_ROLLED_BACK)
			bind_state_drop(st, rep->res[i].dev.info.name);
	bind_state_save(state_path, st);
}

void bind_undo(struct bind_report *rep, const char *state_path)
{
	struct bind_state st;

	roll_back(rep, rep->n);
	if (!bind_state_load(state_path, &st))
		forget_rolled_back(rep, &st, state_path);
}

int bind_devices(const struct bind_request *req, struct bind_report *rep)
{
	struct bind_state st;
	int rc = plan(req, rep, true);

	rep->refused = rc != 0;
	if (rc)
		return rc;
	mark_plan(rep, req->dry_run);
	if (req->dry_run)
		return 0;
	rc = bind_state_load(req->state_path, &st);
	if (!rc)
		rc = record_origins(rep, &st);
	if (!rc)
		rc = bind_state_save(req->state_path, &st); /* before anything moves: a crash leaves what to restore */
	if (rc)
		return rc;
	rc = move_all_to_vfio(rep);
	if (rc) {
		forget_rolled_back(rep, &st, req->state_path);
		return rc;
	}
	refresh(rep);
	return 0;
}

/* ---- restore ---- */

/* One "alias PATTERN MODULE" line: the module when PATTERN matches @modalias and is not a VFIO/stub one. */
static int match_alias_line(const char *line, const char *modalias, char *buf, size_t len)
{
	char pat[256], mod[UPCI_DRIVER_NAME_MAX];

	if (sscanf(line, "alias %255s %63s", pat, mod) != 2 || strncmp(pat, "pci:", 4))
		return 0;
	if (strstr(mod, "vfio") || !strcmp(mod, "pci_stub") || fnmatch(pat, modalias, 0))
		return 0;
	if (strlen(mod) >= len)
		return 0;
	strcpy(buf, mod);
	return 1;
}

/* Stream @path line by line through match_alias_line(). Return: 1 found, 0 not, -errno. */
static int scan_alias_file(const char *path, const char *modalias, char *buf, size_t len)
{
	const struct upci_kernel_ops *k = upci_kernel();
	char full[UPCI_PATH_MAX], chunk[16384 + 1];
	size_t have = 0;
	int fd, found = 0;

	if (rooted(full, sizeof(full), path))
		return -ENAMETOOLONG;
	fd = k->open(full, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = k->read(fd, chunk + have, sizeof(chunk) - 1 - have);
		char *line = chunk, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		chunk[have] = '\0';
		while (!found && (nl = strchr(line, '\n'))) {
			*nl = '\0';
			found = match_alias_line(line, modalias, buf, len);
			line = nl + 1;
		}
		if (found)
			break;
		have -= (size_t)(line - chunk);
		memmove(chunk, line, have);
		if (have == sizeof(chunk) - 1)
			have = 0; /* a line longer than the buffer: not an alias line */
	}
	k->close(fd);
	return found;
}

int bind_derive_driver(const struct bind_dev *d, char *buf, size_t len)
{
	static const char *const files[] = { "modules.alias", "modules.builtin.alias" };
	char path[UPCI_PATH_MAX], modalias[256], release[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/modalias", d->info.name);
	if (upci_read_file(path, modalias, sizeof(modalias)) <= 0 ||
	    upci_read_file("/proc/sys/kernel/osrelease", release, sizeof(release)) <= 0)
		return -ENOENT;
	strip_newline(modalias);
	strip_newline(release);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", release, files[i]);
		if (scan_alias_file(path, modalias, buf, len) == 1)
			return 0;
	}
	return -ENOENT;
}

/* A module's PCI driver name (/sys/module/M/drivers/pci:NAME), which may differ from the module's. */
static void module_driver_name(char *mod, size_t len)
{
	char path[UPCI_PATH_MAX], entry[UPCI_DRIVER_NAME_MAX + 8];

	if (driver_dir_exists(mod))
		return;
	snprintf(path, sizeof(path), "/sys/module/%s/drivers", mod);
	first_entry(path, "pci:", entry, sizeof(entry));
	if (entry[0] && strlen(entry + 4) < len)
		strcpy(mod, entry + 4);
}

/* Where @r goes back to: its record, else modules.alias, else the kernel's match. */
static void restore_target(struct bind_result *r, struct bind_state *st, bool *use_probe)
{
	const struct bind_record *rec = bind_state_find(st, r->dev.info.name);

	*use_probe = false;
	if (rec) {
		strcpy(r->to, rec->driver);
		strcpy(r->dev.was_override, rec->override);
		r->why = "state file";
	} else if (!bind_derive_driver(&r->dev, r->to, sizeof(r->to))) {
		module_driver_name(r->to, sizeof(r->to));
		r->why = "modules.alias";
		*use_probe = !driver_dir_exists(r->to);
	} else {
		r->to[0] = '\0';
		r->why = "the kernel's own match (drivers_probe)";
		*use_probe = true;
	}
}

static int restore_one(struct bind_result *r, struct bind_state *st, bool dry_run)
{
	char now[UPCI_DRIVER_NAME_MAX];
	bool use_probe;
	int rc;

	strcpy(r->from, r->dev.info.driver);
	restore_target(r, st, &use_probe);
	if (strcmp(r->from, BIND_VFIO_DRIVER) && strcmp(r->dev.override, BIND_VFIO_DRIVER)) {
		r->action = BIND_NONE; /* not upci-bind's: leave it */
		strcpy(r->to, r->from);
		return 0;
	}
	if (dry_run) {
		r->action = BIND_WOULD_MOVE;
		return 0;
	}
	r->action = BIND_MOVED;
	rc = move(r->dev.info.name, use_probe ? NULL : r->to, r->dev.was_override);
	if (!rc && use_probe && !(rc = current_driver(r->dev.info.name, now, sizeof(now)))) {
		if (r->to[0] && strcmp(now, r->to))
			upci_log(UPCI_LOG_WARN, BIND_LOG, "%s: modules.alias names %s, the kernel bound it to %s (load %s: "
				 "modprobe %s)", r->dev.info.name, r->to, now[0] ? now : "nothing", r->to, r->to);
		strcpy(r->to, now);
	}
	return rc;
}

/* Put results [0, upto) that were restored back on vfio-pci. */
static void back_to_vfio(struct bind_report *rep, int upto)
{
	for (int i = upto - 1; i >= 0; i--) {
		struct bind_result *r = &rep->res[i];

		if (r->action != BIND_MOVED)
			continue;
		if (move(r->dev.info.name, BIND_VFIO_DRIVER, BIND_VFIO_DRIVER))
			upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: putting it back on vfio-pci failed: it has no driver now "
				 "(upci-bind %s binds it again)", r->dev.info.name, r->dev.info.name);
		else
			r->action = BIND_ROLLED_BACK;
	}
}

/* The request's devices: the named ones (with their groups' vfio-pci members), or the state file's. */
static int restore_set(const struct bind_request *req, const struct bind_state *st, struct bind_report *rep)
{
	struct bind_request all = *req;
	int rc;

	if (!req->n) {
		all.n = 0;
		for (int i = 0; i < st->n; i++)
			if (!upci_pci_addr_parse(st->rec[i].bdf, &all.addrs[all.n]))
				all.n++;
	}
	rc = plan(&all, rep, false);
	for (int i = 0; i < rep->n && !rc && req->group; i++) {
		struct upci_group_member *m = NULL;
		int n = rep->res[i].dev.info.iommu_group < 0 ? 0 :
			upci_iommu_group_members(rep->res[i].dev.info.iommu_group, &m);

		for (int j = 0; j < n && !rc; j++)
			if (m[j].is_pci && !strcmp(m[j].driver, BIND_VFIO_DRIVER))
				rc = add_device(rep, &m[j].addr, false);
		free(m);
		rc = rc ? rc : n < 0 ? n : 0;
	}
	return rc;
}

int restore_devices(const struct bind_request *req, struct bind_report *rep)
{
	struct bind_state st;
	int rc = bind_state_load(req->state_path, &st);

	rep->n = 0;
	rep->refused = false;
	if (!rc) {
		rc = restore_set(req, &st, rep);
		rep->refused = rc != 0;
	}
	for (int i = 0; i < rep->n && !rc; i++) {
		rc = restore_one(&rep->res[i], &st, req->dry_run);
		if (rc)
			back_to_vfio(rep, i + 1);
	}
	if (rc || req->dry_run)
		return rc;
	for (int i = 0; i < rep->n; i++)
		if (rep->res[i].action == BIND_MOVED || rep->res[i].action == BIND_NONE)
			bind_state_drop(&st, rep->res[i].dev.info.name);
	return bind_state_save(req->state_path, &st);
}

/* ---- ownership ---- */

static int own_node(const struct bind_node *n, uid_t uid, gid_t gid, mode_t mode)
{
	char full[UPCI_PATH_MAX];

	if (rooted(full, sizeof(full), n->path))
		return -ENAMETOOLONG;
	if (ops->chown(full, uid, gid) || ops->chmod(full, mode))
		return -errno;
	return 0;
}

int bind_set_owner(const struct bind_dev *d, uid_t uid, gid_t gid)
{
	const struct bind_node *nodes[2] = { &d->group_node, &d->cdev_node };
	int rc = 0, done = 0;

	if (!d->group_node.exists) {
		upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: %s does not exist (the device is not on vfio-pci)", d->info.name,
			 d->group_node.path[0] ? d->group_node.path : "its VFIO group node");
		return -ENOENT;
	}
	for (; done < 2; done++) {
		if (nodes[done]->exists && (rc = own_node(nodes[done], uid, gid, 0660)))
			break;
	}
	if (!rc)
		return 0;
	upci_log(UPCI_LOG_ERR, BIND_LOG, "%s: cannot give %s to %d:%d: %s (run upci-bind as root)", d->info.name,
		 nodes[done]->path, (int)uid, (int)gid, strerror(-rc));
	for (int i = 0; i < done; i++) /* the ones changed get their owner and mode back */
		if (nodes[i]->exists)
			own_node(nodes[i], nodes[i]->uid, nodes[i]->gid, nodes[i]->mode);
	return rc;
}

/* ---- memlock ---- */

/* What each upci driver sets up with the default upci_port_cfg (lib/port/port.c fill_cfg_defaults(): rings
 * of 512, pools of rx ring + tx ring + 64 buffers, one pool per queue) and its own limits. */
static const struct { const char *driver; unsigned rxq, txq, buf_size, desc_size; } port_shapes[] = {
	{ "e1000e", 2, 2, 2048, 16 }, /* drivers/net/e1000e: 2+2 queues, RCTL.BSIZE 2048, 16-byte descriptors */
};

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

int bind_memlock_for(uint16_t vendor, uint16_t device, struct bind_memlock *out)
{
	const struct upci_driver *drv = upci_driver_match(vendor, device);

	for (size_t i = 0; drv && i < sizeof(port_shapes) / sizeof(port_shapes[0]); i++) {
		uint64_t rings, pool, pages[2] = { 4096, 2u << 20 }, kib[2];

		if (strcmp(port_shapes[i].driver, drv->name))
			continue;
		*out = (struct bind_memlock){ .driver = drv->name, .rx_queues = port_shapes[i].rxq,
					      .tx_queues = port_shapes[i].txq, .ring = 512, .pool_bufs = 512 + 512 + 64,
					      .buf_size = port_shapes[i].buf_size };
		rings = (uint64_t)(out->rx_queues + out->tx_queues) * out->ring * port_shapes[i].desc_size;
		pool = (uint64_t)out->pool_bufs * round_up(out->buf_size, 64);
		for (int p = 0; p < 2; p++)
			kib[p] = (round_up(rings, pages[p]) + (out->rx_queues + out->tx_queues) * round_up(pool, pages[p])) >> 10;
		out->base_kib = kib[0];
		out->huge_kib = kib[1];
		return 0;
	}
	return -ENOENT;
}
