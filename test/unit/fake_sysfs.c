/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_sysfs.h"

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fake_sysfs: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

static void full_path(struct fake_sysfs *f, const char *rel, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", f->root, rel[0] == '/' ? rel + 1 : rel) >= len)
		die("path too long:", rel);
}

static void mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			die("mkdir", path);
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		die("mkdir", path);
}

static void mkdir_parent(char *path)
{
	char *slash = strrchr(path, '/');

	*slash = '\0';
	mkdir_p(path);
	*slash = '/';
}

int fake_sysfs_init(struct fake_sysfs *f)
{
	snprintf(f->root, sizeof(f->root), "%s/upci-fake-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	f->ops = *upci_kernel_real_ops();
	f->ops.root = f->root;
	upci_kernel_install(&f->ops);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

void fake_sysfs_cleanup(struct fake_sysfs *f)
{
	upci_kernel_install(NULL);
	nftw(f->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fake_sysfs_add_testbed(struct fake_sysfs *f, const char *driver_03)
{
	fake_sysfs_add_pci(f, "0000:00:03.0", 0x8086, 0x10d3, 0x020000, driver_03, 4);
	fake_sysfs_add_pci(f, "0000:00:02.0", 0x8086, 0x10d3, 0x020000, "vfio-pci", 3);
	fake_sysfs_add_pci(f, "0000:00:00.0", 0x8086, 0x29c0, 0x060000, NULL, 0);
}

struct fake_sysfs *fake_sysfs_new(void)
{
	struct fake_sysfs *f = calloc(1, sizeof(*f));

	if (f && fake_sysfs_init(f)) {
		free(f);
		return NULL;
	}
	return f;
}

void fake_sysfs_free(struct fake_sysfs *f)
{
	fake_sysfs_cleanup(f);
	free(f);
}

void fake_sysfs_mkdir(struct fake_sysfs *f, const char *rel)
{
	char path[512];

	full_path(f, rel, path, sizeof(path));
	mkdir_p(path);
}

void fake_sysfs_write(struct fake_sysfs *f, const char *rel, const char *content)
{
	char path[512];
	FILE *fp;

	full_path(f, rel, path, sizeof(path));
	mkdir_parent(path);
	fp = fopen(path, "w");
	if (!fp)
		die("fopen", path);
	fputs(content, fp);
	fclose(fp);
}

void fake_sysfs_link(struct fake_sysfs *f, const char *rel, const char *target)
{
	char path[512];

	full_path(f, rel, path, sizeof(path));
	mkdir_parent(path);
	unlink(path);
	if (symlink(target, path))
		die("symlink", path);
}

void fake_sysfs_add_pci(struct fake_sysfs *f, const char *bdf, unsigned vendor, unsigned device, unsigned cls,
			const char *driver, int group)
{
	char rel[256], val[64];

	/* sysfs keeps the device under /sys/devices and links it from the bus. */
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/vendor", bdf);
	snprintf(val, sizeof(val), "0x%04x\n", vendor);
	fake_sysfs_write(f, rel, val);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/device", bdf);
	snprintf(val, sizeof(val), "0x%04x\n", device);
	fake_sysfs_write(f, rel, val);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/class", bdf);
	snprintf(val, sizeof(val), "0x%06x\n", cls);
	fake_sysfs_write(f, rel, val);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/numa_node", bdf);
	fake_sysfs_write(f, rel, "-1\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	snprintf(val, sizeof(val), "../../../devices/pci0000:00/%s", bdf);
	fake_sysfs_link(f, rel, val);
	if (driver) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", driver);
		fake_sysfs_mkdir(f, rel);
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", bdf);
		snprintf(val, sizeof(val), "../../../bus/pci/drivers/%s", driver);
		fake_sysfs_link(f, rel, val);
	}
	if (group >= 0) {
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
		snprintf(val, sizeof(val), "../../../../devices/pci0000:00/%s", bdf);
		fake_sysfs_link(f, rel, val);
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/iommu_group", bdf);
		snprintf(val, sizeof(val), "../../../kernel/iommu_groups/%d", group);
		fake_sysfs_link(f, rel, val);
	}
}
