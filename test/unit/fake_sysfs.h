/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake sysfs for unit tests: a real directory tree under a temporary root, installed through the
 * kernel seam's root prefix, so the library's real file/readlink/readdir code runs against it.
 */
#ifndef UPCI_TEST_FAKE_SYSFS_H
#define UPCI_TEST_FAKE_SYSFS_H

#include "upci/kernel.h"

struct fake_sysfs {
	char root[256];
	struct upci_kernel_ops ops; /* the real calls with .root = @root; tests may override entries */
};

/* Create an empty tree and install it. Return: 0 or -1. */
int fake_sysfs_init(struct fake_sysfs *f);
/* Remove the tree and restore the real kernel. */
void fake_sysfs_cleanup(struct fake_sysfs *f);
/* fake_sysfs_init() on a tree of its own on the heap, for a group's setup. Return: the tree, or NULL. */
struct fake_sysfs *fake_sysfs_new(void);
/* fake_sysfs_cleanup() and free a tree of fake_sysfs_new(). */
void fake_sysfs_free(struct fake_sysfs *f);
/* Write @content to @rel (parent directories created). */
void fake_sysfs_write(struct fake_sysfs *f, const char *rel, const char *content);
/* Make @rel a symlink to @target. */
void fake_sysfs_link(struct fake_sysfs *f, const char *rel, const char *target);
/* Make directory @rel and its parents. */
void fake_sysfs_mkdir(struct fake_sysfs *f, const char *rel);
/*
 * A PCI device as the kernel shows it: vendor/device/class/numa_node files, driver link (NULL: none),
 * iommu_group link and the group's devices/ entry (@group < 0: no group).
 */
void fake_sysfs_add_pci(struct fake_sysfs *f, const char *bdf, unsigned vendor, unsigned device, unsigned cls,
			const char *driver, int group);
/*
 * The test VM's PCI devices, added in this order (not the address order): an 82574L at 0000:00:03.0 on
 * @driver_03 in group 4, one at 0000:00:02.0 on vfio-pci in group 3, the host bridge 0000:00:00.0 (no driver).
 */
void fake_sysfs_add_testbed(struct fake_sysfs *f, const char *driver_03);

#endif
