/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: eventfd counters and waiting on file descriptors, with the EINTR retry in one place.
 * Every read goes through the kernel seam (upci_kernel()), so the fake kernel of the unit tests sees it.
 */
#ifndef UPCI_COMMON_EVENTFD_H
#define UPCI_COMMON_EVENTFD_H

#include <poll.h>
#include <stdint.h>

struct epoll_event;

/**
 * upci_eventfd_drain() - consume the 8-byte counter of an eventfd without blocking.
 * @fd: the eventfd (blocking or not: the read never blocks); a negative value reads as "nothing pending".
 * @count: if not NULL, set to the counter read (0 when nothing was pending).
 *
 * One read through the seam's read_nowait, retried when a signal interrupts it. Return: 1 when the
 * counter was non-zero (the eventfd had fired), 0 when nothing was pending (EAGAIN, or @fd < 0), -EIO on
 * a short read, or another negative errno.
 */
int upci_eventfd_drain(int fd, uint64_t *count);

/**
 * upci_eventfd_wait() - block until a blocking eventfd fires and consume its counter: one read(2).
 * @fd: the eventfd, opened without EFD_NONBLOCK (on a non-blocking one this is a drain).
 * @count: if not NULL, set to the counter read.
 *
 * Retried when a signal interrupts it. Return: 1, 0 (non-blocking @fd with nothing pending), -EBADF
 * (@fd < 0), -EIO on a short read, or another negative errno.
 */
int upci_eventfd_wait(int fd, uint64_t *count);

/**
 * upci_poll_retry() - poll(2), restarted when a signal interrupts it.
 *
 * The timeout is not shortened on restart (as the callers have always had it): a process hit by a
 * steady stream of signals may wait longer than @timeout_ms. Return: poll's count, or a negative errno.
 */
int upci_poll_retry(struct pollfd *fds, nfds_t n, int timeout_ms);

/**
 * upci_fd_wait() - wait up to @timeout_ms (-1: forever) for @fd to become readable.
 * Return: 1 readable, 0 timed out, or a negative errno.
 */
int upci_fd_wait(int fd, int timeout_ms);

/**
 * upci_epoll_wait_retry() - epoll_wait(2), restarted when a signal interrupts it.
 * Return: the number of events, or a negative errno.
 */
int upci_epoll_wait_retry(int epfd, struct epoll_event *evs, int max, int timeout_ms);

#endif
