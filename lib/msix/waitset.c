/* SPDX-License-Identifier: BSD-3-Clause */
/* Waiting on many eventfds at once (vectors of several queues or devices) with epoll. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../common/eventfd.h"
#include "upci/log.h"
#include "upci/msix.h"

#define WAIT_BATCH 64

struct slot {
	int fd;      /* -1: free */
	void *tag;
};

struct upci_waitset {
	int epfd;
	struct slot *slots; /* epoll data carries the slot index: stable across growth */
	uint32_t n_slots;
};

int upci_waitset_create(struct upci_waitset **out)
{
	struct upci_waitset *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return -ENOMEM;
	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ws->epfd < 0) {
		int rc = -errno;

		free(ws);
		upci_log(UPCI_LOG_ERR, "msix", "cannot create a wait set: epoll_create1: %s", strerror(-rc));
		return rc;
	}
	*out = ws;
	return 0;
}

void upci_waitset_destroy(struct upci_waitset *ws)
{
	if (!ws)
		return;
	close(ws->epfd);
	free(ws->slots);
	free(ws);
}

static int free_slot(struct upci_waitset *ws, uint32_t *out)
{
	struct slot *grown;
	uint32_t n;

	for (uint32_t i = 0; i < ws->n_slots; i++) {
		if (ws->slots[i].fd < 0) {
			*out = i;
			return 0;
		}
	}
	n = ws->n_slots ? ws->n_slots * 2 : 8;
	grown = realloc(ws->slots, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	for (uint32_t i = ws->n_slots; i < n; i++)
		grown[i].fd = -1;
	*out = ws->n_slots;
	ws->slots = grown;
	ws->n_slots = n;
	return 0;
}

int upci_waitset_add(struct upci_waitset *ws, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t i;
	int rc = fd < 0 ? -EBADF : free_slot(ws, &i);

	if (rc)
		return rc;
	ev.data.u64 = i;
	if (epoll_ctl(ws->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	ws->slots[i].fd = fd;
	ws->slots[i].tag = tag;
	return 0;
}

int upci_waitset_remove(struct upci_waitset *ws, int fd)
{
	for (uint32_t i = 0; i < ws->n_slots; i++) {
		if (ws->slots[i].fd == fd) {
			ws->slots[i].fd = -1;
			return epoll_ctl(ws->epfd, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
		}
	}
	return -ENOENT;
}

int upci_waitset_wait(struct upci_waitset *ws, void **tags, unsigned max, int timeout_ms)
{
	struct epoll_event evs[WAIT_BATCH];
	int n, got = 0;

	if (max == 0)
		return -EINVAL;
	n = upci_epoll_wait_retry(ws->epfd, evs, (int)(max < WAIT_BATCH ? max : WAIT_BATCH), timeout_ms);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const struct slot *s = &ws->slots[evs[i].data.u64];

		/* Consume the counter once, so the next wait sleeps until the next signal. */
		if (s->fd < 0 || upci_eventfd_drain(s->fd, NULL) <= 0)
			continue; /* removed meanwhile, or consumed by someone else */
		tags[got++] = s->tag;
	}
	return got;
}
