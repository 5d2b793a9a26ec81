/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI addresses, and what sysfs says about a device and its IOMMU group. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sysfs_io.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci/pci.h"

#define LOG_MODULE "pci"

/* Between @min and @max hex digits at *@s; advances *@s past them. */
static int take_hex(const char **s, size_t min, size_t max, uint64_t *out)
{
	size_t n = 0;

	while (n < max && (*s)[n] && strchr("0123456789abcdefABCDEF", (*s)[n]))
		n++;
	if (n < min || upci_parse_u64(*s, n, 16, out))
		return -EINVAL;
	*s += n;
	return 0;
}

static int take_char(const char **s, char c)
{
	if (**s != c)
		return -EINVAL;
	(*s)++;
	return 0;
}

int upci_pci_addr_parse(const char *s, struct upci_pci_addr *out)
{
	uint64_t domain = 0, bus, dev, fn;
	const char *colon;

	if (!s || !out)
		return -EINVAL;
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* Long form: the domain has 4 digits, or up to 8 for VMD-style domains above 0xffff. */
		if (take_hex(&s, 4, 8, &domain) || take_char(&s, ':'))
			return -EINVAL;
	}
	if (take_hex(&s, 2, 2, &bus) || take_char(&s, ':') || take_hex(&s, 2, 2, &dev) ||
	    take_char(&s, '.') || take_hex(&s, 1, 1, &fn) || *s != '\0')
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	out->domain = (uint32_t)domain;
	out->bus = (uint8_t)bus;
	out->dev = (uint8_t)dev;
	out->fn = (uint8_t)fn;
	return 0;
}

int upci_pci_addr_format(const struct upci_pci_addr *a, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev, a->fn);

	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int upci_pci_addr_cmp(const struct upci_pci_addr *a, const struct upci_pci_addr *b)
{
	uint64_t ka = (uint64_t)a->domain << 16 | (uint64_t)a->bus << 8 | (uint64_t)a->dev << 3 | a->fn;
	uint64_t kb = (uint64_t)b->domain << 16 | (uint64_t)b->bus << 8 | (uint64_t)b->dev << 3 | b->fn;

	return ka < kb ? -1 : ka > kb;
}

static const char *const resv_names[] = {
	[UPCI_RESV_DIRECT] = "direct",
	[UPCI_RESV_DIRECT_RELAXABLE] = "direct-relaxable",
	[UPCI_RESV_RESERVED] = "reserved",
	[UPCI_RESV_MSI] = "msi",
};

const char *upci_resv_type_name(enum upci_resv_type type)
{
	return (unsigned)type < sizeof(resv_names) / sizeof(resv_names[0]) ? resv_names[type] : "?";
}

/* Split the next space-separated field off [*p, end). */
static int next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p, *e;

	if (s >= end || *s == ' ')
		return -EINVAL;
	e = memchr(s, ' ', (size_t)(end - s));
	if (!e)
		e = end;
	*f = s;
	*flen = (size_t)(e - s);
	*p = e < end ? e + 1 : e;
	return 0;
}

static int parse_resv_line(const char *line, size_t len, struct upci_resv_region *r)
{
	const char *p = line, *end = line + len, *f;
	size_t flen;
	size_t t;

	if (next_field(&p, end, &f, &flen) || flen < 3 || f[0] != '0' || f[1] != 'x' ||
	    upci_parse_u64(f + 2, flen - 2, 16, &r->start))
		return -EINVAL;
	if (next_field(&p, end, &f, &flen) || flen < 3 || f[0] != '0' || f[1] != 'x' ||
	    upci_parse_u64(f + 2, flen - 2, 16, &r->end))
		return -EINVAL;
	if (next_field(&p, end, &f, &flen) || f + flen != end || r->start > r->end)
		return -EINVAL;
	for (t = 0; t < sizeof(resv_names) / sizeof(resv_names[0]); t++) {
		if (strlen(resv_names[t]) == flen && !memcmp(resv_names[t], f, flen)) {
			r->type = (enum upci_resv_type)t;
			return 0;
		}
	}
	return -EINVAL;
}

int upci_parse_reserved_regions(const char *text, size_t len, struct upci_resv_region *out, size_t max)
{
	size_t count = 0, pos = 0;

	if (!text && len)
		return -EINVAL;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		struct upci_resv_region r;

		if (!nl || parse_resv_line(text + pos, (size_t)(nl - (text + pos)), &r))
			return -EINVAL; /* no newline: the file was cut short */
		if (count == max)
			return -ENOSPC;
		out[count++] = r;
		pos = (size_t)(nl - text) + 1;
	}
	return (int)count;
}

static int dev_attr_u64(const char *name, const char *attr, uint64_t *v)
{
	char path[UPCI_PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", name, attr);
	return upci_read_u64(path, v);
}

/* @dir/@leaf into @buf. Return: 0 or -ENAMETOOLONG. */
static int sub_path(char *buf, size_t len, const char *dir, const char *leaf)
{
	int n = snprintf(buf, len, "%s/%s", dir, leaf);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The bound driver's name, "" when none. */
static int read_driver(const char *devdir, char *buf, size_t len)
{
	char path[UPCI_PATH_MAX];
	int rc = sub_path(path, sizeof(path), devdir, "driver");

	if (rc)
		return rc;
	rc = upci_read_link_name(path, buf, len);
	if (rc == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return rc;
}

static int read_group_link(const char *name, int *group)
{
	char path[UPCI_PATH_MAX], link[32];
	uint64_t g;
	int rc;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", name);
	rc = upci_read_link_name(path, link, sizeof(link));
	if (rc == -ENOENT) {
		*group = -1;
		return 0;
	}
	if (rc)
		return rc;
	if (upci_parse_u64(link, strlen(link), 10, &g) || g > INT32_MAX)
		return -EINVAL;
	*group = (int)g;
	return 0;
}

int upci_pci_info_read(const struct upci_pci_addr *addr, struct upci_pci_info *out)
{
	char devdir[UPCI_PATH_MAX], full[UPCI_PATH_MAX];
	uint64_t vendor, device, class_code;
	struct upci_pci_info info = { .addr = *addr, .iommu_group = -1, .numa_node = -1 };
	int rc;

	upci_pci_addr_format(addr, info.name, sizeof(info.name));
	snprintf(devdir, sizeof(devdir), "/sys/bus/pci/devices/%s", info.name);
	rc = upci_path(full, sizeof(full), "%s", devdir);
	if (rc)
		return rc;
	rc = dev_attr_u64(info.name, "vendor", &vendor);
	if (rc == -ENOENT)
		return -ENODEV;
	if (!rc)
		rc = dev_attr_u64(info.name, "device", &device);
	if (!rc)
		rc = dev_attr_u64(info.name, "class", &class_code);
	if (!rc && (vendor > 0xffff || device > 0xffff || class_code > 0xffffff))
		rc = -EINVAL;
	if (!rc)
		rc = read_driver(devdir, info.driver, sizeof(info.driver));
	if (!rc)
		rc = read_group_link(info.name, &info.iommu_group);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_MODULE, "%s: cannot read its sysfs attributes in %s: %s", info.name,
			 full, strerror(-rc));
		return rc;
	}
	if (sub_path(full, sizeof(full), devdir, "numa_node") || upci_read_int(full, &info.numa_node))
		info.numa_node = -1; /* absent on kernels without NUMA */
	info.vendor = (uint16_t)vendor;
	info.device = (uint16_t)device;
	info.class_code = (uint32_t)class_code;
	*out = info;
	return 0;
}

struct growing {
	void *items;
	size_t count, cap, size;
};

static void *grow_one(struct growing *g)
{
	if (g->count == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		void *p = realloc(g->items, cap * g->size);

		if (!p)
			return NULL;
		g->items = p;
		g->cap = cap;
	}
	return (char *)g->items + g->size * g->count++;
}

static int add_pci_addr(const char *name, void *arg)
{
	struct upci_pci_addr a, *slot;

	if (upci_pci_addr_parse(name, &a))
		return 0; /* not a PCI function name: ignore */
	slot = grow_one(arg);
	if (!slot)
		return -ENOMEM;
	*slot = a;
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	return upci_pci_addr_cmp(a, b);
}

int upci_pci_list(struct upci_pci_addr **out)
{
	struct growing g = { .size = sizeof(struct upci_pci_addr) };
	int rc = upci_for_each_entry("/sys/bus/pci/devices", add_pci_addr, &g);

	if (rc == -ENOENT)
		rc = 0; /* no PCI bus at all */
	if (rc) {
		free(g.items);
		upci_log(UPCI_LOG_ERR, LOG_MODULE, "cannot list /sys/bus/pci/devices: %s", strerror(-rc));
		return rc;
	}
	if (g.count > 1)
		qsort(g.items, g.count, g.size, cmp_addr);
	*out = g.items;
	return (int)g.count;
}

struct member_walk {
	struct growing g;
	int group;
};

static int add_member(const char *name, void *arg)
{
	struct member_walk *w = arg;
	struct upci_group_member *m;
	char path[UPCI_PATH_MAX];

	if (strlen(name) >= sizeof(m->name))
		return -ENAMETOOLONG;
	m = grow_one(&w->g);
	if (!m)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	m->is_pci = upci_pci_addr_parse(name, &m->addr) == 0;
	if (snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices/%s", w->group, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return read_driver(path, m->driver, sizeof(m->driver));
}

static int cmp_member(const void *a, const void *b)
{
	const struct upci_group_member *ma = a, *mb = b;

	if (ma->is_pci && mb->is_pci)
		return upci_pci_addr_cmp(&ma->addr, &mb->addr);
	return strcmp(ma->name, mb->name);
}

int upci_iommu_group_members(int group, struct upci_group_member **out)
{
	struct member_walk w = { .g = { .size = sizeof(struct upci_group_member) }, .group = group };
	char path[UPCI_PATH_MAX];
	int rc;

	if (group < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", group);
	rc = upci_for_each_entry(path, add_member, &w);
	if (rc) {
		free(w.g.items);
		if (rc != -ENOENT)
			upci_log(UPCI_LOG_ERR, LOG_MODULE, "IOMMU group %d: cannot list its devices: %s", group,
				 strerror(-rc));
		return rc;
	}
	if (w.g.count > 1)
		qsort(w.g.items, w.g.count, w.g.size, cmp_member);
	*out = w.g.items;
	return (int)w.g.count;
}

int upci_iommu_group_reserved_regions(int group, struct upci_resv_region *out, size_t max)
{
	char path[UPCI_PATH_MAX], text[4096];
	int n;

	if (group < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions", group);
	n = upci_read_file(path, text, sizeof(text));
	if (n < 0) {
		upci_log(UPCI_LOG_ERR, LOG_MODULE, "IOMMU group %d: cannot read %s: %s", group, path, strerror(-n));
		return n;
	}
	n = upci_parse_reserved_regions(text, (size_t)n, out, max);
	if (n < 0)
		upci_log(UPCI_LOG_ERR, LOG_MODULE, "IOMMU group %d: %s in %s", group,
			 n == -ENOSPC ? "more reserved regions than expected" : "malformed line", path);
	return n;
}

static int count_entry(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
	return 0;
}

int upci_iommu_group_count(void)
{
	int count = 0;
	int rc = upci_for_each_entry("/sys/kernel/iommu_groups", count_entry, &count);

	return rc == -ENOENT ? 0 : rc ? rc : count;
}
