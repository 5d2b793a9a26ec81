/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device-access invariant of the VFIO harnesses: every pread, pwrite and mmap of the device's fd is
 * checked before the fake runs it. The harness defines is_device_fd() and check_access() (which fails the
 * run, CHECK, when an access is outside what is allowed) and wraps open, close and ioctl to learn the
 * device's fd; fuzz_vfio_access_install() puts all six calls in front of the fake's own, kept in base. Its
 * check_nothing_left() checks that every fd, reservation and DMA mapping is gone after a close.
 */
#ifndef UPCI_FUZZ_VFIO_ACCESS_H
#define UPCI_FUZZ_VFIO_ACCESS_H

#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "fuzz_common.h"
#include "test/unit/fake_vfio.h"
#include "upci/device.h"

#define FUZZ_VFIO_CDEV "/dev/vfio/devices/vfio0"

static struct upci_kernel_ops base; /* the fake's calls, which the checking ones wrap */

static bool is_device_fd(int fd);
static void check_access(const char *what, size_t len, off_t off, bool mmap);
static void check_nothing_left(const char *when);

/* @path is the device's cdev (the iommufd backend opens it instead of asking the group). */
static inline bool is_device_cdev(const char *path)
{
	size_t n = strlen(path), c = strlen(FUZZ_VFIO_CDEV);

	return n >= c && !strcmp(path + n - c, FUZZ_VFIO_CDEV);
}

static ssize_t w_pread(int fd, void *buf, size_t len, off_t off)
{
	if (is_device_fd(fd))
		check_access("pread", len, off, false);
	return base.pread(fd, buf, len, off);
}

static ssize_t w_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (is_device_fd(fd))
		check_access("pwrite", len, off, false);
	return base.pwrite(fd, buf, len, off);
}

static void *w_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fd >= 0 && is_device_fd(fd)) /* fd -1: an anonymous mapping */
		check_access("mmap", len, off, true);
	return base.mmap(addr, len, prot, flags, fd, off);
}

static inline void fuzz_vfio_access_install(struct fake_vfio *f, int (*w_open)(const char *, int, mode_t),
					    int (*w_close)(int), int (*w_ioctl)(int, unsigned long, void *))
{
	base = f->sys.ops;
	f->sys.ops.open = w_open;
	f->sys.ops.close = w_close;
	f->sys.ops.ioctl = w_ioctl;
	f->sys.ops.pread = w_pread;
	f->sys.ops.pwrite = w_pwrite;
	f->sys.ops.mmap = w_mmap;
}

/* Open @f's device as @opts say, its interrupt state reset first. Return: the device, or NULL after a failed
 * open (checked: it returned an error and left nothing behind). */
static inline struct upci_dev *fuzz_vfio_open_device(struct fake_vfio *f, const struct upci_dev_opts *opts)
{
	struct upci_dev *dev = NULL;
	int rc;

	f->irq_type = -1;
	f->req_eventfd = -1;
	rc = upci_dev_open(FAKE_BDF, opts, &dev);
	if (rc) {
		CHECK(rc < 0 && !dev, "open rc %d", rc);
		check_nothing_left("failed open");
		return NULL;
	}
	return dev;
}

#endif
