/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness for the sysfs text parsers (lib/vfio_bus/pci_sysfs.c, resolve.c, lib/common/sysfs_io.c):
 * reserved_regions text (directly and through the file), PCI addresses, device strings with PCIDEVICE_*
 * environment values and '#n', and a device's sysfs attributes. The files live in a fake sysfs tree
 * (test/unit/fake_sysfs.c) installed through the kernel seam, so the library's real file code runs.
 *
 * The first input byte picks the target; the rest is its text. Invariants (abort() when broken):
 * - reserved regions: count within [0, max], start <= end, a known type; one region per line, the text
 *   ends in a newline; printing the regions back and parsing that gives the same regions; -ENOSPC only when
 *   there are more lines than @max; the file path gives what parsing the file's text directly gives.
 * - PCI addresses: dev <= 31, fn <= 7; format then parse gives the same address; parsing is stable.
 * - upci_dev_resolve(): an address it returns was named: by the string itself, by an entry of a PCIDEVICE_*
 *   variable, or it is a device of the fake sysfs with the vendor:device asked for; a string that parses as
 *   a PCI address resolves to that address; errors are -EINVAL or -ENODEV; two calls agree.
 * - attributes: numbers written canonically read back exactly; group and NUMA node >= -1.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "lib/common/sysfs_io.h"
#include "test/unit/fake_sysfs.h"
#include "upci/device.h"
#include "upci/pci.h"

#define MAX_REGIONS 64
#define GROUP 7

static struct fake_sysfs sys;

static const struct {
	const char *bdf;
	unsigned vendor, device;
} devices[] = {
	{ "0000:00:02.0", 0x8086, 0x10d3 },
	{ "0000:00:03.0", 0x8086, 0x10d3 },
	{ "0000:01:00.0", 0x15b3, 0x1017 },
	{ "10000:e1:1f.7", 0x8086, 0x10d3 }, /* a VMD domain */
};
#define TARGET_BDF "0000:02:00.0" /* the device whose attribute files the input writes */

static void cleanup(void)
{
	fake_sysfs_cleanup(&sys);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	if (fake_sysfs_init(&sys))
		abort();
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		fake_sysfs_add_pci(&sys, devices[i].bdf, devices[i].vendor, devices[i].device, 0x020000, "vfio-pci",
				   GROUP);
	fake_sysfs_add_pci(&sys, TARGET_BDF, 0x1af4, 0x1000, 0x020000, NULL, -1);
	atexit(cleanup);
	return 0;
}

static bool known_type(enum upci_resv_type t)
{
	return t == UPCI_RESV_DIRECT || t == UPCI_RESV_DIRECT_RELAXABLE || t == UPCI_RESV_RESERVED ||
	       t == UPCI_RESV_MSI;
}

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

/* Check one parse of @text; returns its result. */
static int check_resv(const char *text, size_t len, size_t max, struct upci_resv_region *out)
{
	int n = upci_parse_reserved_regions(text, len, out, max);

	CHECK(n == -EINVAL || n == -ENOSPC || (n >= 0 && (size_t)n <= max), "rc %d max %zu", n, max);
	if (n == -ENOSPC) {
		struct upci_resv_region more[MAX_REGIONS + 1];

		CHECK(count_lines(text, len) > max, "-ENOSPC with %zu lines, max %zu", count_lines(text, len), max);
		if (max < MAX_REGIONS) {
			int m = upci_parse_reserved_regions(text, len, more, MAX_REGIONS);

			CHECK(m == -ENOSPC || m == -EINVAL || (m > (int)max), "larger max gives %d", m);
		}
	}
	if (n < 0)
		return n;
	CHECK(count_lines(text, len) == (size_t)n, "%d regions from %zu lines", n, count_lines(text, len));
	CHECK(len == 0 || text[len - 1] == '\n', "accepted text without its final newline");
	for (int i = 0; i < n; i++)
		CHECK(out[i].start <= out[i].end && known_type(out[i].type), "region %d [%#llx, %#llx] type %d", i,
		      (unsigned long long)out[i].start, (unsigned long long)out[i].end, (int)out[i].type);
	/* Printed back the way the kernel prints them, the regions parse to themselves. */
	{
		char again[MAX_REGIONS * 64];
		struct upci_resv_region back[MAX_REGIONS];
		size_t at = 0;

		for (int i = 0; i < n; i++)
			at += (size_t)snprintf(again + at, sizeof(again) - at, "0x%016llx 0x%016llx %s\n",
					       (unsigned long long)out[i].start, (unsigned long long)out[i].end,
					       upci_resv_type_name(out[i].type));
		CHECK(upci_parse_reserved_regions(again, at, back, MAX_REGIONS) == n, "round trip count");
		for (int i = 0; i < n; i++)
			CHECK(back[i].start == out[i].start && back[i].end == out[i].end && back[i].type == out[i].type,
			      "round trip of region %d", i);
	}
	return n;
}

static void fuzz_resv_text(const uint8_t *data, size_t len)
{
	struct upci_resv_region out[MAX_REGIONS];
	size_t max = len ? data[0] % (MAX_REGIONS + 1) : 0;
	char *text;

	if (len)
		data++, len--;
	/* An exact-size copy: ASan sees any read past the text (it is not NUL-terminated). */
	text = malloc(len ? len : 1);
	memcpy(text, data, len);
	check_resv(text, len, max, out);
	free(text);
}

/* The same text through /sys/kernel/iommu_groups/N/reserved_regions (upci_read_file, then the parser). */
static void fuzz_resv_file(const uint8_t *data, size_t len)
{
	struct upci_resv_region direct[MAX_REGIONS], viafile[MAX_REGIONS];
	char path[512], *text;
	FILE *fp;
	int n, m;

	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/reserved_regions", sys.root, GROUP);
	fp = fopen(path, "w");
	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp))
		abort();
	m = upci_iommu_group_reserved_regions(GROUP, viafile, MAX_REGIONS);
	if (len >= 4095)
		return; /* the library reads 4 KiB at most (a longer file is cut short, and refused) */
	/* Text up to a NUL is what the file read gives the parser; check that against a direct parse. */
	text = malloc(len ? len : 1);
	memcpy(text, data, len);
	n = upci_parse_reserved_regions(text, len, direct, MAX_REGIONS);
	CHECK(memchr(text, '\0', len) || n == m, "direct parse %d, through the file %d", n, m);
	for (int i = 0; !memchr(text, '\0', len) && i < n; i++)
		CHECK(direct[i].start == viafile[i].start && direct[i].end == viafile[i].end &&
		      direct[i].type == viafile[i].type, "the file path changes region %d", i);
	free(text);
}

/* @s as a NUL-terminated string (its own exact-size allocation). */
static char *cstr(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static bool addr_eq(const struct upci_pci_addr *a, const struct upci_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev && a->fn == b->fn;
}

static void check_addr(const struct upci_pci_addr *a)
{
	char buf[UPCI_PCI_ADDR_STRLEN], tiny[8];
	struct upci_pci_addr back;

	CHECK(a->dev <= 31 && a->fn <= 7, "dev %u fn %u", a->dev, a->fn);
	CHECK(upci_pci_addr_format(a, buf, sizeof(buf)) == 0, "format");
	CHECK(upci_pci_addr_parse(buf, &back) == 0 && addr_eq(a, &back), "'%s' does not parse back", buf);
	CHECK(upci_pci_addr_cmp(a, &back) == 0, "cmp of equal addresses");
	CHECK(upci_pci_addr_format(a, tiny, sizeof(tiny)) == -ENOSPC, "short buffer accepted");
}

static void fuzz_addr(const uint8_t *data, size_t len)
{
	char *s = cstr(data, len);
	struct upci_pci_addr a, b;
	int rc = upci_pci_addr_parse(s, &a);

	CHECK(rc == 0 || rc == -EINVAL, "rc %d", rc);
	if (!rc) {
		check_addr(&a);
		CHECK(upci_pci_addr_parse(s, &b) == 0 && addr_eq(&a, &b), "unstable");
		CHECK(strlen(s) <= UPCI_PCI_ADDR_STRLEN - 1, "'%s' is longer than any address", s);
	}
	free(s);
}

#define MAX_VARS 8

/* Is @a an entry (comma-separated) of one of the PCIDEVICE_* values in force? */
static bool named_by_env(const struct upci_pci_addr *a)
{
	extern char **environ;

	for (char **e = environ; e && *e; e++) {
		const char *v;

		if (strncmp(*e, "PCIDEVICE_", 10) || !(v = strchr(*e, '=')))
			continue;
		for (v++;; ) {
			size_t n = strcspn(v, ",");
			char entry[64];
			struct upci_pci_addr b;

			if (n < sizeof(entry)) {
				memcpy(entry, v, n);
				entry[n] = '\0';
				if (!upci_pci_addr_parse(entry, &b) && addr_eq(a, &b))
					return true;
			}
			if (v[n] != ',')
				break;
			v += n + 1;
		}
	}
	return false;
}

static bool named_by_id(const char *spec, const struct upci_pci_addr *a)
{
	unsigned vendor, device;
	char bdf[UPCI_PCI_ADDR_STRLEN];

	if (strlen(spec) < 9 || sscanf(spec, "%4x:%4x", &vendor, &device) != 2)
		return false;
	upci_pci_addr_format(a, bdf, sizeof(bdf));
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (!strcmp(devices[i].bdf, bdf))
			return devices[i].vendor == vendor && devices[i].device == device;
	return false;
}

/* Input: the device string, then lines "NAME=VALUE" (PCIDEVICE_ prepended unless the line starts with '!'). */
static void fuzz_resolve(const uint8_t *data, size_t len)
{
	char *text = cstr(data, len), *line, *save = NULL, *spec;
	struct upci_pci_addr a, b, direct;
	int vars = 0, rc, rc2;

	clearenv();
	spec = text;
	line = strchr(text, '\n');
	if (line) {
		*line++ = '\0';
		for (char *l = strtok_r(line, "\n", &save); l && vars < MAX_VARS; l = strtok_r(NULL, "\n", &save), vars++) {
			char name[96], *eq = strchr(l, '=');
			const char *value = eq ? eq + 1 : l;
			bool raw = l[0] == '!';
			size_t nlen = eq ? (size_t)(eq - l) : 0;

			if (eq)
				*eq = '\0';
			if (raw)
				snprintf(name, sizeof(name), "%.80s", eq ? l + 1 : "UNRELATED");
			else if (nlen)
				snprintf(name, sizeof(name), "PCIDEVICE_%.80s", l);
			else
				snprintf(name, sizeof(name), "PCIDEVICE_R%d", vars);
			if (name[0])
				setenv(name, value, 1);
		}
	}
	rc = upci_dev_resolve(spec, &a);
	rc2 = upci_dev_resolve(spec, &b);
	CHECK(rc == rc2 && (rc || addr_eq(&a, &b)), "two calls disagree: %d, %d", rc, rc2);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENODEV, "rc %d", rc);
	if (spec[0] != '#' && upci_pci_addr_parse(spec, &direct) == 0)
		CHECK(rc == 0 && addr_eq(&a, &direct), "'%s' is an address but resolves to rc %d", spec, rc);
	if (!rc) {
		check_addr(&a);
		CHECK((upci_pci_addr_parse(spec, &direct) == 0 && addr_eq(&a, &direct)) || named_by_env(&a) ||
		      named_by_id(spec, &a), "'%s' resolved to an address nobody named", spec);
	}
	clearenv();
	free(text);
}

/* Write @rel under the fake device with @text. */
static void put_attr(const char *attr, const char *text, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/sys/devices/pci0000:00/%s/%s", sys.root, TARGET_BDF, attr);
	fp = fopen(path, "w");
	if (!fp || (len && fwrite(text, 1, len, fp) != len) || fclose(fp))
		abort();
}

/*
 * Each attribute: a flag byte, then either a number written canonically (bit 0 clear) or a raw text of up
 * to 24 bytes (bit 0 set). The iommu_group link is pointed at a fuzzed name.
 */
static void fuzz_attrs(const uint8_t *data, size_t len)
{
	static const char *const attrs[] = { "vendor", "device", "class", "numa_node" };
	struct input in = { data, len };
	uint64_t canon[4];
	bool raw[4];
	struct upci_pci_addr addr;
	struct upci_pci_info info;
	char link[512], target[64];
	int rc;

	for (int i = 0; i < 4; i++) {
		uint8_t flag = take8(&in);
		char text[32];
		size_t n;

		raw[i] = flag & 1;
		if (raw[i]) {
			n = take_bytes(&in, text, (flag >> 1) % 25);
		} else {
			canon[i] = take32(&in) & (i == 2 ? 0xffffff : i == 3 ? 0x3f : 0xffff);
			n = (size_t)snprintf(text, sizeof(text), i == 3 ? "%llu\n" : "0x%04llx\n",
					     (unsigned long long)canon[i]);
		}
		put_attr(attrs[i], text, n);
	}
	{
		size_t n = take_bytes(&in, target, take8(&in) % 16);

		target[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (target[i] == '/' || target[i] == '\0')
				target[i] = 'x';
		snprintf(link, sizeof(link), "%s/sys/devices/pci0000:00/%s/iommu_group", sys.root, TARGET_BDF);
		unlink(link);
		if (n && symlink(target, link))
			abort();
	}
	if (upci_pci_addr_parse(TARGET_BDF, &addr))
		abort();
	rc = upci_pci_info_read(&addr, &info);
	CHECK(rc == 0 || rc == -EINVAL || rc == -EIO || rc == -ENODEV || rc == -ENOENT || rc == -ENAMETOOLONG ||
	      rc == -ERANGE, "rc %d", rc);
	if (rc)
		return;
	CHECK(addr_eq(&info.addr, &addr) && !strcmp(info.name, TARGET_BDF), "identity");
	CHECK(info.iommu_group >= -1 && info.numa_node >= -1, "group %d node %d", info.iommu_group, info.numa_node);
	CHECK(info.class_code <= 0xffffff, "class %#x", info.class_code);
	CHECK(raw[0] || info.vendor == canon[0], "vendor %#x, wrote %#llx", info.vendor, (unsigned long long)canon[0]);
	CHECK(raw[1] || info.device == canon[1], "device %#x", info.device);
	CHECK(raw[2] || info.class_code == canon[2], "class %#x", info.class_code);
	CHECK(raw[3] || info.numa_node == (int)canon[3], "node %d", info.numa_node);
	CHECK(info.driver[0] == '\0', "driver '%s' of an unbound device", info.driver);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fuzz_resv_text(data + 1, size - 1);
		break;
	case 1:
		fuzz_resv_file(data + 1, size - 1);
		break;
	case 2:
		fuzz_addr(data + 1, size - 1);
		break;
	case 3:
		fuzz_resolve(data + 1, size - 1);
		break;
	default:
		fuzz_attrs(data + 1, size - 1);
		break;
	}
	return 0;
}
