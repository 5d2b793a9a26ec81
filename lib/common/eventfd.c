/* SPDX-License-Identifier: BSD-3-Clause */
/* eventfd counters and EINTR-safe waits (see eventfd.h). */
#include <errno.h>
#include <sys/epoll.h>

#include "eventfd.h"
#include "upci/kernel.h"

/* One 8-byte read through @rd, restarted on EINTR. Return: as upci_eventfd_drain(). */
static int counter_read(ssize_t (*rd)(int, void *, size_t), int fd, uint64_t *count)
{
	uint64_t v = 0;
	ssize_t n;

	if (count)
		*count = 0;
	do
		n = rd(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n != (ssize_t)sizeof(v))
		return -EIO;
	if (count)
		*count = v;
	return v > 0;
}

int upci_eventfd_drain(int fd, uint64_t *count)
{
	if (fd < 0) {
		if (count)
			*count = 0;
		return 0;
	}
	return counter_read(upci_kernel()->read_nowait, fd, count);
}

int upci_eventfd_wait(int fd, uint64_t *count)
{
	if (fd < 0)
		return -EBADF;
	return counter_read(upci_kernel()->read, fd, count);
}

int upci_poll_retry(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	int rc;

	do
		rc = poll(fds, n, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

int upci_fd_wait(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd < 0)
		return -EBADF;
	return upci_poll_retry(&p, 1, timeout_ms);
}

int upci_epoll_wait_retry(int epfd, struct epoll_event *evs, int max, int timeout_ms)
{
	int rc;

	do
		rc = epoll_wait(epfd, evs, max, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}
