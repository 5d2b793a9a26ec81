/* SPDX-License-Identifier: BSD-3-Clause */
/* The kernel seam: real system calls behind a replaceable ops table. */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upci/kernel.h"

static int real_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_CLOEXEC, mode);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static const struct upci_kernel_ops real_ops = {
	.root = "",
	.open = real_open,
	.close = close,
	.read = read,
	.pread = pread,
	.pwrite = pwrite,
	.ioctl = real_ioctl,
	.mmap = mmap,
	.munmap = munmap,
	.eventfd = eventfd,
	.readlink = readlink,
	.opendir = opendir,
	.readdir = readdir,
	.closedir = closedir,
	.sysconf = sysconf,
	.write = write,
};

static const struct upci_kernel_ops *current_ops = &real_ops;

const struct upci_kernel_ops *upci_kernel_real_ops(void)
{
	return &real_ops;
}

const struct upci_kernel_ops *upci_kernel_install(const struct upci_kernel_ops *ops)
{
	const struct upci_kernel_ops *old = current_ops;

	current_ops = ops ? ops : &real_ops;
	return old;
}

const struct upci_kernel_ops *upci_kernel(void)
{
	return current_ops;
}

size_t upci_page_size(void)
{
	long ps = current_ops->sysconf ? current_ops->sysconf(_SC_PAGESIZE) : -1;

	if (ps <= 0 || (ps & (ps - 1)))
		ps = sysconf(_SC_PAGESIZE);
	return (size_t)ps;
}
