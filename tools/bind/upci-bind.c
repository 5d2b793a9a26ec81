/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci-bind — bind PCI devices to vfio-pci for upci (and put them back), with a whole-group viability check,
 * rollback, a state file of the original drivers, VFIO node ownership for non-root users and the memlock a
 * port needs. The logic is in bind.c; this file is the command line and the output.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci_config.h"

enum mode { MODE_BIND, MODE_RESTORE, MODE_STATUS };

struct cli {
	enum mode mode;
	bool mode_set, json, all;
	bool set_uid, set_gid;
	const char *root;
	uid_t uid;
	gid_t gid;
	struct bind_request req;
};

static char last_error[512];

/* The library's lines "upci: bind: TEXT" become "upci-bind: TEXT"; others keep their module. */
static void log_sink(enum upci_log_level level, const char *line, void *arg)
{
	const char *text = strncmp(line, "upci: bind: ", 12) ? line : line + 12;

	(void)arg;
	if (level == UPCI_LOG_ERR)
		snprintf(last_error, sizeof(last_error), "%s", text);
	fprintf(stderr, "upci-bind: %s\n", text);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: upci-bind [OPTION]... BDF...\n"
		"  or:  upci-bind --restore [--group] [BDF...]\n"
		"  or:  upci-bind --status [--all] [BDF...]\n"
		"Bind PCI devices to vfio-pci for upci through driver_override, and put them back.\n"
		"\n"
		"Before anything moves, every IOMMU group touched must be viable: each other member unbound, on a\n"
		"vfio driver, pci-stub or pcieport. Otherwise the request is refused, naming each member and its driver.\n"
		"The driver each device had is written to the state file first; a failing step rolls back every device\n"
		"already moved.\n"
		"\n"
		"  BDF               a PCI address, 0000:00:02.0 or 00:02.0\n"
		"  --group           bind (or restore) the whole IOMMU group of each BDF (bridges excepted)\n"
		"  --dry-run         say what would be done, change nothing\n"
		"  --force           bind even when the device's network interface is up\n"
		"  --uid U, --gid G  give /dev/vfio/N and the VFIO cdev (/dev/vfio/devices/vfioX) to user U and group G\n"
		"                    (names or numbers; --uid alone takes U's primary group), mode 0660, and say how\n"
		"                    much RLIMIT_MEMLOCK the user needs for the DMA memory of a port\n"
		"  --restore, --unbind  put each device back on the driver it had: the state file's record, else the\n"
		"                    driver modules.alias names for its modalias, else the kernel's own match; no BDF:\n"
		"                    every device of the state file\n"
		"  --status          list devices with driver, original driver, IOMMU group and VFIO nodes (default:\n"
		"                    network devices, devices on vfio-pci or in the state file)\n"
		"  --all             with --status: every PCI device\n"
		"  --json            machine-readable output (status, and the results of a bind or restore)\n"
		"  --state FILE      the state file (default $UPCI_BIND_STATE or " BIND_STATE_DEFAULT ")\n"
		"  --root DIR        work on the sysfs, /dev and state file below DIR (a copy of a tree, for tests)\n"
		"  -h, --help        this text\n"
		"  -V, --version     the version\n"
		"\n"
		"Exit status: 0 done; 1 a step failed (what was done is rolled back) or the system cannot be read;\n"
		"2 bad input or a request refused before anything changed (malformed or absent BDF, no IOMMU group,\n"
		"a group that is not viable, an interface that is up).\n");
}

__attribute__((format(printf, 1, 2))) static int bad_input(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "upci-bind: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (upci-bind --help)\n");
	return BIND_EXIT_BAD_INPUT;
}

static int parse_uid(const char *s, struct cli *c)
{
	struct passwd *pw;
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s && !*end && v < (unsigned long)(uid_t)-1) {
		c->uid = (uid_t)v;
		pw = getpwuid(c->uid);
	} else if ((pw = getpwnam(s)) != NULL) {
		c->uid = pw->pw_uid;
	} else {
		return -1;
	}
	if (!c->set_gid && pw)
		c->gid = pw->pw_gid;
	c->set_uid = true;
	return 0;
}

static int parse_gid(const char *s, struct cli *c)
{
	struct group *gr;
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s && !*end && v < (unsigned long)(gid_t)-1)
		c->gid = (gid_t)v;
	else if ((gr = getgrnam(s)) != NULL)
		c->gid = gr->gr_gid;
	else
		return -1;
	c->set_gid = true;
	return 0;
}

/* Return: -1, or the exit status of a conflict. */
static int set_mode(struct cli *c, enum mode m)
{
	if (c->mode_set && c->mode != m)
		return bad_input("%s", "--restore/--unbind and --status exclude each other");
	c->mode = m;
	c->mode_set = true;
	return -1;
}

/* Return: -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },       { "dry-run", no_argument, NULL, 'n' },
		{ "group", no_argument, NULL, 'g' },      { "force", no_argument, NULL, 'f' },
		{ "uid", required_argument, NULL, 'u' },  { "gid", required_argument, NULL, 'G' },
		{ "restore", no_argument, NULL, 'r' },    { "unbind", no_argument, NULL, 'r' },
		{ "status", no_argument, NULL, 's' },     { "all", no_argument, NULL, 'a' },
		{ "state", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },    { "root", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	c->req.state_path = getenv("UPCI_BIND_STATE") && *getenv("UPCI_BIND_STATE") ? getenv("UPCI_BIND_STATE")
										     : BIND_STATE_DEFAULT;
	c->gid = (gid_t)-1;
	c->uid = (uid_t)-1;
	opterr = 0; /* one line of our own instead of getopt's */
	while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		rc = -1;
		switch (opt) {
		case 'j': c->json = true; break;
		case 'n': c->req.dry_run = true; break;
		case 'g': c->req.group = true; break;
		case 'f': c->req.force = true; break;
		case 'a': c->all = true; break;
		case 'S': c->req.state_path = optarg; break;
		case 'R': c->root = optarg; break;
		case 'u': if (parse_uid(optarg, c)) return bad_input("--uid %s: no such user", optarg); break;
		case 'G': if (parse_gid(optarg, c)) return bad_input("--gid %s: no such group", optarg); break;
		case 'r': rc = set_mode(c, MODE_RESTORE); break;
		case 's': rc = set_mode(c, MODE_STATUS); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("upci-bind (upci) %s\n", UPCI_VERSION); return 0;
		default: return bad_input("unknown option or missing argument: '%s'", argv[optind - 1]);
		}
		if (rc >= 0)
			return rc;
	}
	if (c->req.state_path[0] != '/')
		return bad_input("--state %s: give an absolute path", c->req.state_path);
	if ((c->set_uid || c->set_gid) && c->mode != MODE_BIND)
		return bad_input("%s", "--uid/--gid go with a bind");
	if (c->all && c->mode != MODE_STATUS)
		return bad_input("%s", "--all goes with --status");
	if (argc - optind > BIND_MAX_DEVS)
		return bad_input("more than %d devices in one request", BIND_MAX_DEVS);
	for (int i = optind; i < argc; i++) {
		if (upci_pci_addr_parse(argv[i], &c->req.addrs[c->req.n]))
			return bad_input("'%s' is not a PCI address (expected 0000:00:02.0 or 00:02.0)", argv[i]);
		c->req.n++;
	}
	if (c->mode == MODE_BIND && !c->req.n)
		return bad_input("%s", "no device given");
	return -1;
}

/* ---- output ---- */

static const char *or_none(const char *s)
{
	return s && s[0] ? s : "none";
}

static json_object *json_str_or_null(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static json_object *json_node(const struct bind_node *n)
{
	json_object *o;
	char mode[8];

	if (!n->path[0] || !n->exists)
		return NULL;
	o = json_object_new_object();
	snprintf(mode, sizeof(mode), "%04o", (unsigned)n->mode);
	json_object_object_add(o, "path", json_object_new_string(n->path));
	json_object_object_add(o, "uid", json_object_new_int((int)n->uid));
	json_object_object_add(o, "gid", json_object_new_int((int)n->gid));
	json_object_object_add(o, "mode", json_object_new_string(mode));
	return o;
}

static void text_node(const struct bind_node *n, char *buf, size_t len)
{
	size_t used = strlen(buf);

	if (n->path[0] && n->exists)
		snprintf(buf + used, len - used, "%s%s (%d:%d %04o)", used ? ", " : "", n->path, (int)n->uid, (int)n->gid,
			 (unsigned)n->mode);
}

static const char *action_name(enum bind_action a)
{
	static const char *const names[] = { "none", "moved", "would-move", "rolled-back" };

	return names[a];
}

static json_object *json_memlock(const struct bind_report *rep, const struct cli *c)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < rep->n; i++) {
		struct bind_memlock m;
		json_object *o;

		if (bind_memlock_for(rep->res[i].dev.info.vendor, rep->res[i].dev.info.device, &m))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "bdf", json_object_new_string(rep->res[i].dev.info.name));
		json_object_object_add(o, "upci_driver", json_object_new_string(m.driver));
		json_object_object_add(o, "kib_base_pages", json_object_new_int64((int64_t)m.base_kib));
		json_object_object_add(o, "kib_hugepages", json_object_new_int64((int64_t)m.huge_kib));
		if (c->set_uid)
			json_object_object_add(o, "uid", json_object_new_int((int)c->uid));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void print_json_report(const struct bind_report *rep, const struct cli *c, int rc)
{
	json_object *root = json_object_new_object(), *devs = json_object_new_array();

	json_object_object_add(root, "operation", json_object_new_string(c->mode == MODE_BIND ? "bind" : "restore"));
	json_object_object_add(root, "dry_run", json_object_new_boolean(c->req.dry_run));
	json_object_object_add(root, "ok", json_object_new_boolean(rc == 0));
	if (rc)
		json_object_object_add(root, "error", json_object_new_string(last_error));
	for (int i = 0; i < rep->n; i++) {
		const struct bind_result *r = &rep->res[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "bdf", json_object_new_string(r->dev.info.name));
		json_object_object_add(o, "requested", json_object_new_boolean(r->requested));
		json_object_object_add(o, "action", json_object_new_string(action_name(r->action)));
		json_object_object_add(o, "from", json_str_or_null(r->from));
		json_object_object_add(o, "to", json_str_or_null(r->to));
		if (r->why)
			json_object_object_add(o, "to_from", json_object_new_string(r->why));
		json_object_object_add(o, "iommu_group", json_object_new_int(r->dev.info.iommu_group));
		json_object_object_add(o, "group_node", json_node(&r->dev.group_node));
		json_object_object_add(o, "cdev_node", json_node(&r->dev.cdev_node));
		json_object_array_add(devs, o);
	}
	json_object_object_add(root, "devices", devs);
	if (c->mode == MODE_BIND)
		json_object_object_add(root, "memlock", json_memlock(rep, c));
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void print_text_result(const struct bind_result *r, bool dry_run)
{
	char nodes[256] = "";
	const char *n = r->dev.info.name;

	text_node(&r->dev.group_node, nodes, sizeof(nodes));
	text_node(&r->dev.cdev_node, nodes, sizeof(nodes));
	switch (r->action) {
	case BIND_NONE:
		printf("%s: stays on %s\n", n, or_none(r->to));
		break;
	case BIND_WOULD_MOVE:
		printf("%s: would move %s -> %s%s%s%s\n", n, or_none(r->from), or_none(r->to), r->why ? " (" : "",
		       r->why ? r->why : "", r->why ? ")" : "");
		break;
	case BIND_MOVED:
		printf("%s: %s -> %s%s%s%s\n", n, or_none(r->from), or_none(r->to), r->why ? " (" : "",
		       r->why ? r->why : "", r->why ? ")" : "");
		break;
	case BIND_ROLLED_BACK:
		printf("%s: rolled back to %s\n", n, or_none(r->from));
		break;
	}
	if (!dry_run && r->action != BIND_ROLLED_BACK && !strcmp(r->to, BIND_VFIO_DRIVER))
		printf("  IOMMU group %d, VFIO nodes: %s\n", r->dev.info.iommu_group, nodes[0] ? nodes : "none yet");
}

static void print_memlock_text(const struct bind_report *rep, const struct cli *c)
{
	uint64_t base = 0, huge = 0;
	int ports = 0;
	struct bind_memlock m = { 0 };

	for (int i = 0; i < rep->n; i++) {
		if (bind_memlock_for(rep->res[i].dev.info.vendor, rep->res[i].dev.info.device, &m))
			continue;
		base += m.base_kib;
		huge += m.huge_kib;
		ports++;
	}
	if (!ports) {
		printf("memlock: no upci driver for these devices: the user needs RLIMIT_MEMLOCK for the DMA memory its "
		       "program pins\n");
		return;
	}
	printf("memlock: a default %s port pins %llu KiB (4 KiB pages) or %llu KiB (2 MiB hugepages): %u+%u queues, "
	       "%u-descriptor rings, a pool of %u x %u-byte buffers per queue (upci_port_cfg defaults)\n",
	       m.driver, (unsigned long long)m.base_kib, (unsigned long long)m.huge_kib, m.rx_queues, m.tx_queues,
	       m.ring, m.pool_bufs, m.buf_size);
	printf("memlock: uid %d needs RLIMIT_MEMLOCK >= %llu KiB for the %d port(s) here (%llu KiB with hugepages): "
	       "ulimit -l, systemd LimitMEMLOCK=, docker/podman --ulimit memlock=; iommufd counts all of the user's "
	       "processes against it\n", (int)c->uid, (unsigned long long)base, ports, (unsigned long long)huge);
}

/* /dev/iommu: iommufd users need it too; say so when the user cannot open it. */
static void print_iommufd_note(const struct bind_report *rep, const struct cli *c)
{
	bool any_cdev = false;
	struct stat st;

	for (int i = 0; i < rep->n; i++)
		any_cdev |= rep->res[i].dev.cdev_node.exists;
	if (!any_cdev || bind_node_stat_path("/dev/iommu", &st))
		return;
	if ((st.st_mode & 0006) || (st.st_uid == c->uid && (st.st_mode & 0600) == 0600) ||
	    (c->set_gid && st.st_gid == c->gid && (st.st_mode & 0060) == 0060))
		return;
	printf("note: the iommufd backend also opens /dev/iommu (%d:%d %04o here), which uid %d cannot: upci "
		       "then uses the type1 group node; to use iommufd give the user /dev/iommu (udev rule "
		       "KERNEL==\"iommu\", GROUP=\"...\", MODE=\"0660\")\n", (int)st.st_uid, (int)st.st_gid,
	       (unsigned)(st.st_mode & 07777), (int)c->uid);
}

/* The nodes of every device bound get the owner; on a failure, the devices this run moved are put back and
 * the others get their nodes' owners back, so nothing is left half done. */
static int set_owners(struct bind_report *rep, const struct cli *c)
{
	int i, rc = 0;

	for (i = 0; i < rep->n && !rc; i++) {
		struct bind_dev now;

		rc = bind_dev_read(&rep->res[i].dev.info.addr, &now);
		if (!rc)
			rc = bind_set_owner(&now, c->set_uid ? c->uid : (uid_t)-1, c->gid);
		if (!rc && !bind_dev_read(&rep->res[i].dev.info.addr, &now)) { /* the owners as they are now */
			rep->res[i].was_group_node = rep->res[i].dev.group_node;
			rep->res[i].was_cdev_node = rep->res[i].dev.cdev_node;
			rep->res[i].dev.group_node = now.group_node;
			rep->res[i].dev.cdev_node = now.cdev_node;
		}
	}
	if (!rc)
		return 0;
	for (int j = 0; j < i - 1; j++) {
		struct bind_result *r = &rep->res[j];

		if (r->action == BIND_NONE && r->was_group_node.exists) /* it was on vfio-pci before this run */
			bind_set_owner(&(struct bind_dev){ .info = r->dev.info, .group_node = r->was_group_node,
							   .cdev_node = r->was_cdev_node },
				       r->was_group_node.uid, r->was_group_node.gid);
	}
	bind_undo(rep, c->req.state_path);
	return rc;
}

static int exit_status(int rc, const struct bind_report *rep)
{
	return !rc ? 0 : rep->refused ? BIND_EXIT_BAD_INPUT : BIND_EXIT_FAILED;
}

static int do_bind_or_restore(struct cli *c)
{
	static struct bind_report rep;
	int rc = c->mode == MODE_BIND ? bind_devices(&c->req, &rep) : restore_devices(&c->req, &rep);

	if (!rc && (c->set_uid || c->set_gid) && !c->req.dry_run)
		rc = set_owners(&rep, c);
	if (c->json) {
		print_json_report(&rep, c, rc);
	} else {
		if (!rc && !rep.n)
			printf("no device on record in %s: name the devices to restore\n", c->req.state_path);
		for (int i = 0; i < rep.n && !rep.refused; i++)
			print_text_result(&rep.res[i], c->req.dry_run);
		if (!rc && c->set_uid && !c->req.dry_run) {
			print_memlock_text(&rep, c);
			print_iommufd_note(&rep, c);
		}
	}
	return exit_status(rc, &rep);
}

/* ---- status ---- */

static bool of_interest(const struct bind_dev *d, struct bind_state *st)
{
	return (d->info.class_code >> 16) == 0x02 || !strcmp(d->info.driver, BIND_VFIO_DRIVER) || d->override[0] ||
	       bind_state_find(st, d->info.name);
}

static void status_text_row(const struct bind_dev *d)
{
	char nodes[256] = "", id[16], group[12] = "-";

	text_node(&d->group_node, nodes, sizeof(nodes));
	text_node(&d->cdev_node, nodes, sizeof(nodes));
	snprintf(id, sizeof(id), "%04x:%04x", d->info.vendor, d->info.device);
	if (d->info.iommu_group >= 0)
		snprintf(group, sizeof(group), "%d", d->info.iommu_group);
	printf("%-13s %-10s %-10s %-10s %-5s %-10s %s\n", d->info.name, id, or_none(d->info.driver),
	       d->recorded ? or_none(d->was_driver) : "-", group, d->netdev[0] ? d->netdev : "-", nodes[0] ? nodes : "-");
}

static json_object *json_members(int group)
{
	struct upci_group_member *m = NULL;
	json_object *arr = json_object_new_array();
	int n = group < 0 ? 0 : upci_iommu_group_members(group, &m);

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(m[i].name));
		json_object_object_add(o, "driver", json_str_or_null(m[i].driver));
		json_object_array_add(arr, o);
	}
	free(m);
	return arr;
}

static json_object *json_status_dev(const struct bind_dev *d)
{
	json_object *o = json_object_new_object();
	char buf[16];

	json_object_object_add(o, "bdf", json_object_new_string(d->info.name));
	snprintf(buf, sizeof(buf), "0x%04x", d->info.vendor);
	json_object_object_add(o, "vendor", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "0x%04x", d->info.device);
	json_object_object_add(o, "device", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "0x%06x", d->info.class_code);
	json_object_object_add(o, "class", json_object_new_string(buf));
	json_object_object_add(o, "driver", json_str_or_null(d->info.driver));
	json_object_object_add(o, "driver_override", json_str_or_null(d->override));
	json_object_object_add(o, "recorded", json_object_new_boolean(d->recorded));
	json_object_object_add(o, "original_driver", d->recorded ? json_str_or_null(d->was_driver) : NULL);
	json_object_object_add(o, "iommu_group", d->info.iommu_group < 0 ? NULL : json_object_new_int(d->info.iommu_group));
	json_object_object_add(o, "group_members", json_members(d->info.iommu_group));
	json_object_object_add(o, "netdev", json_str_or_null(d->netdev));
	json_object_object_add(o, "group_node", json_node(&d->group_node));
	json_object_object_add(o, "cdev", json_str_or_null(d->cdev));
	json_object_object_add(o, "cdev_node", json_node(&d->cdev_node));
	return o;
}

static void merge_record(struct bind_dev *d, struct bind_state *st)
{
	struct bind_record *r = bind_state_find(st, d->info.name);

	if (!r)
		return;
	d->recorded = true;
	strcpy(d->was_driver, r->driver);
	strcpy(d->was_override, r->override);
}

static int status_one(const struct upci_pci_addr *a, struct bind_state *st, bool filter, json_object *arr)
{
	struct bind_dev d;
	char name[UPCI_PCI_ADDR_STRLEN];
	int rc = bind_dev_read(a, &d);

	upci_pci_addr_format(a, name, sizeof(name));
	if (rc == -ENODEV) {
		fprintf(stderr, "upci-bind: %s: no such PCI device (see lspci -D or /sys/bus/pci/devices)\n", name);
		return BIND_EXIT_BAD_INPUT;
	}
	if (rc)
		return BIND_EXIT_FAILED;
	merge_record(&d, st);
	if (filter && !of_interest(&d, st))
		return 0;
	if (arr) {
		json_object_array_add(arr, json_status_dev(&d));
	} else {
		status_text_row(&d);
	}
	return 0;
}

static int do_status(struct cli *c)
{
	struct upci_pci_addr *all = NULL;
	struct bind_state st;
	json_object *arr = c->json ? json_object_new_array() : NULL;
	int n = c->req.n, status = 0;

	if (bind_state_load(c->req.state_path, &st))
		st.n = 0; /* said so; the status is still worth showing */
	if (!n) {
		n = upci_pci_list(&all);
		if (n < 0)
			return BIND_EXIT_FAILED;
	}
	if (!c->json)
		printf("%-13s %-10s %-10s %-10s %-5s %-10s %s\n", "BDF", "ID", "DRIVER", "WAS", "GROUP", "NET", "VFIO NODES");
	for (int i = 0; i < n && !status; i++)
		status = status_one(all ? &all[i] : &c->req.addrs[i], &st, all && !c->all, arr);
	if (arr && !status) {
		json_object *root = json_object_new_object();

		json_object_object_add(root, "devices", json_object_get(arr));
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
	json_object_put(arr);
	free(all);
	return status;
}

int main(int argc, char **argv)
{
	static struct cli c;
	int rc;

	upci_log_set_sink(log_sink, NULL);
	static struct upci_kernel_ops rooted;

	rc = parse_args(argc, argv, &c);
	if (rc >= 0)
		return rc;
	if (c.root) {
		rooted = *upci_kernel_real_ops();
		rooted.root = c.root;
		upci_kernel_install(&rooted);
	}
	return c.mode == MODE_STATUS ? do_status(&c) : do_bind_or_restore(&c);
}
