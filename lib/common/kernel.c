/* SPDX-License-Identifier: BSD-3-Clause */
/* The kernel seam: real system calls behind a replaceable ops table. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/uio.h>
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

/*
 * Set once preadv2(RWF_NOWAIT) was refused (EOPNOTSUPP: the file does not do it; ENOSYS: a kernel, or an
 * emulator such as qemu-user, without preadv2): from then on poll first, then read.
 * ThreadSanitizer starts there: it does not model preadv2 as a read of the fd, so it would not see the
 * happens-before an eventfd's write and read give (and report the close of an fd signalled by another
 * thread as a race); the poll-then-read path is real code, the one such kernels run.
 */
#if defined(__SANITIZE_THREAD__)
static atomic_bool nowait_refused = true;
#else
static atomic_bool nowait_refused;
#endif

/* A read that cannot block: poll(2) with a zero timeout says whether read(2) would. */
static ssize_t read_if_ready(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = poll(&p, 1, 0);

	if (rc < 0)
		return -1;
	if (p.revents & POLLNVAL) {
		errno = EBADF; /* what read(2) of a closed fd says */
		return -1;
	}
	if (rc == 0 || !(p.revents & (POLLIN | POLLERR | POLLHUP))) {
		errno = EAGAIN;
		return -1;
	}
	return read(fd, buf, len); /* readable, or an error read(2) reports */
}

static ssize_t real_read_nowait(int fd, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ssize_t n;

	if (atomic_load_explicit(&nowait_refused, memory_order_relaxed))
		return read_if_ready(fd, buf, len);
	n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT); /* offset -1: the file's own position, as read(2) */
	if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
		atomic_store_explicit(&nowait_refused, true, memory_order_relaxed);
		return read_if_ready(fd, buf, len);
	}
	return n;
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
	.read_nowait = real_read_nowait,
	.clock_gettime = clock_gettime,
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
