/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/msix.h — device interrupts as eventfds, waiting on them, and the poll/interrupt hybrid.
 *
 * One eventfd per vector, wired with VFIO_DEVICE_SET_IRQS. The kernel signals the eventfd from its
 * interrupt handler; the waiting thread reads it directly (no dispatcher thread in between).
 *
 * Masking: VFIO does not implement mask/unmask for MSI-X (it returns -ENOTTY), so a driver masks at the
 * device (the 82574L's IMC/IMS registers) — upci does not pretend otherwise.
 *
 * Functions return 0 (or a count) or a negative errno, with one log line on failure.
 */
#ifndef UPCI_MSIX_H
#define UPCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "upci/dma.h"
#include "upci/vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

/** enum upci_irq_kind - which interrupt mechanism a struct upci_irqs drives. */
enum upci_irq_kind {
	UPCI_IRQ_AUTO = 0, /* MSI-X, else MSI, else INTx */
	UPCI_IRQ_MSIX,
	UPCI_IRQ_MSI,
	UPCI_IRQ_INTX,
};

struct upci_irqs;

/**
 * upci_irqs_open() - prepare the interrupts of @dev (nothing is enabled yet).
 * @kind: UPCI_IRQ_AUTO picks MSI-X, then MSI, then INTx, by what VFIO_DEVICE_GET_IRQ_INFO offers.
 * Return: 0 and *@out, or a negative errno.
 */
int upci_irqs_open(struct upci_dev *dev, enum upci_irq_kind kind, struct upci_irqs **out);

/** upci_irqs_close() - disable every vector, close the eventfds, free. NULL is ignored. */
void upci_irqs_close(struct upci_irqs *irqs);

/** upci_irqs_kind() - the mechanism in use (never AUTO). */
enum upci_irq_kind upci_irqs_kind(const struct upci_irqs *irqs);

/** upci_irqs_max() - how many vectors the device offers for this mechanism. */
unsigned upci_irqs_max(const struct upci_irqs *irqs);

/** upci_irqs_can_grow() - vectors can be added while others are live (MSI-X without NORESIZE). */
bool upci_irqs_can_grow(const struct upci_irqs *irqs);

/**
 * upci_irqs_enable() - give vectors [@first, @first + @count) an eventfd each and wire them.
 *
 * The first call enables the mechanism. Later calls that reach beyond the live vectors grow the set:
 * in place where the kernel allows it (no NORESIZE), otherwise by disabling and re-enabling the whole set
 * with the same eventfds (an interrupt raised in between may be lost: the API counts these re-enables).
 * The kernel granting fewer vectors than asked is an error (-ENOSPC).
 */
int upci_irqs_enable(struct upci_irqs *irqs, unsigned first, unsigned count);

/**
 * upci_irqs_rewire() - point vector @vector at @fd (an eventfd the caller owns), or de-assign it (@fd -1).
 * The vector's own eventfd stays open and can be wired back with upci_irqs_rewire(irqs, v, upci_irqs_fd()).
 */
int upci_irqs_rewire(struct upci_irqs *irqs, unsigned vector, int fd);

/** upci_irqs_disable() - turn the mechanism off (vectors keep their eventfds for a later enable). */
int upci_irqs_disable(struct upci_irqs *irqs);

/**
 * upci_irqs_fd() - vector @vector's eventfd, or -ENOENT when it has none.
 *
 * The eventfd is blocking (no O_NONBLOCK), so that upci_irqs_wait() without a timeout is one read(2).
 * Watch it with poll/epoll as any fd; a read(2) of it blocks until the vector fires, so consume it without
 * blocking with upci_irqs_wait(irqs, vector, 0). Setting O_NONBLOCK on it is allowed (the waits still work,
 * at the cost of a poll(2) each).
 */
int upci_irqs_fd(const struct upci_irqs *irqs, unsigned vector);

/** upci_irqs_live() - how many vectors are currently enabled in the kernel. */
unsigned upci_irqs_live(const struct upci_irqs *irqs);

/** upci_irqs_full_reenables() - how often growing needed a full disable/enable (NORESIZE kernels). */
unsigned upci_irqs_full_reenables(const struct upci_irqs *irqs);

/**
 * upci_irqs_trigger() - have the kernel signal vector @vector's eventfd itself (SET_IRQS DATA_NONE |
 * ACTION_TRIGGER): the software floor of the wake-up path, with no device involved.
 */
int upci_irqs_trigger(struct upci_irqs *irqs, unsigned vector);

/**
 * upci_irqs_wait() - block until vector @vector fires or @timeout_ms passes (-1: forever, 0: do not block).
 *
 * Consumes the eventfd counter once. Costs one system call without a timeout (a blocking read(2)) and with
 * a zero one (a non-blocking read), two with a finite timeout (poll(2), then the read). A wait without
 * timeout that another thread's read overtakes keeps waiting for the next signal.
 * Return: the number of signals consumed (>= 1), 0 on timeout (or nothing pending), -errno.
 */
int upci_irqs_wait(struct upci_irqs *irqs, unsigned vector, int timeout_ms);

/** upci_msix_pending() - vector @vector's Pending Bit (MSI-X PBA), read through the BAR accessors. */
int upci_msix_pending(struct upci_irqs *irqs, unsigned vector);

/**
 * struct upci_msix_msg - one MSI-X table entry as the kernel programmed it (PCIe Base Spec, "MSI-X Table
 * Entries": Message Address, Message Data, Vector Control).
 * @address: where the device writes to signal the vector: an IOVA, translated by the IOMMU like any DMA
 *           (on arm64 the ITS doorbell inside the software-MSI window; on x86 the interrupt address range)
 * @data:    the value it writes
 * @masked:  Vector Control bit 0
 */
struct upci_msix_msg {
	uint64_t address;
	uint32_t data;
	bool masked;
};

/**
 * upci_msix_msg_read() - read vector @vector's table entry from @dev's mapped MSI-X table.
 *
 * Only a mapped table can be read: when MSIs are not isolated the bus layer leaves the table out of the
 * mapping and the kernel answers all-ones through the region fd, so the entry is unknowable.
 * Return: 0 and *@out; -EACCES when the table is not mapped; -ERANGE when @vector is beyond the table;
 * -ENODEV when @dev has no MSI-X capability or is gone.
 */
int upci_msix_msg_read(struct upci_dev *dev, unsigned vector, struct upci_msix_msg *out);

/**
 * upci_msix_msg_window() - the MSI doorbell window of @dev's IOMMU context that holds @address.
 * Return: 0 and *@out; -ENOENT when @address lies in no window (a doorbell outside every reserved window
 * would be a kernel or platform surprise worth reporting), or another negative errno.
 */
int upci_msix_msg_window(struct upci_dev *dev, uint64_t address, struct upci_doorbell_window *out);

/* ---- waiting on many vectors ---- */

struct upci_waitset;

/** upci_waitset_create() - an epoll set; one thread waits on vectors of any number of devices. */
int upci_waitset_create(struct upci_waitset **out);
void upci_waitset_destroy(struct upci_waitset *ws);

/** upci_waitset_add() - watch eventfd @fd; @tag comes back from upci_waitset_wait() when it fires. */
int upci_waitset_add(struct upci_waitset *ws, int fd, void *tag);
int upci_waitset_remove(struct upci_waitset *ws, int fd);

/**
 * upci_waitset_wait() - block until at least one watched eventfd fires or @timeout_ms passes.
 * Each ready eventfd's counter is consumed exactly once; its tag goes to @tags.
 * Return: the number of tags written (0 on timeout), or -errno.
 */
int upci_waitset_wait(struct upci_waitset *ws, void **tags, unsigned max, int timeout_ms);

/* ---- the poll/interrupt hybrid ---- */

/**
 * struct upci_hybrid_ops - what the hybrid needs from a queue.
 * @poll:   process up to @budget packets; return how many (0: the queue was empty).
 * @arm:    enable the queue's interrupt at the device (e.g. write IMS).
 * @disarm: disable it (e.g. write IMC), so polling runs without interrupts.
 * @now_ns: a monotonic clock (NULL: CLOCK_MONOTONIC); tests inject their own.
 * @event:  the fd given to upci_hybrid_watch() became readable while asleep (e.g. the device's REQ):
 *          handle it; a negative return ends the step with that value (NULL: ignore the fd).
 */
struct upci_hybrid_ops {
	unsigned (*poll)(void *queue, unsigned budget);
	void (*arm)(void *queue);
	void (*disarm)(void *queue);
	uint64_t (*now_ns)(void *queue);
	int (*event)(void *queue);
};

/** struct upci_hybrid_cfg - tuning; zero fields take the defaults shown. */
struct upci_hybrid_cfg {
	unsigned budget;           /* packets per poll (32) */
	unsigned idle_polls;       /* empty polls in a row before arming (64) */
	int sleep_timeout_ms;      /* longest sleep before polling again anyway (100; -1: none) */
	bool adaptive;             /* choose idle_polls from the recent packet rate */
	bool automask;             /* the device masks the queue's interrupt as it fires (upci_drv_port.rx_automask):
				    * after a wake-up no disarm, and no drain before the next arm. In the padding
				    * after @adaptive: the struct's size and layout stay those of 0.1 */
	uint64_t busy_rate_pps;    /* adaptive: at or above this rate never sleep (100000) */
};

/** struct upci_hybrid_stats - counters, for CPU-use and latency accounting. */
struct upci_hybrid_stats {
	uint64_t polls;
	uint64_t empty_polls;
	uint64_t packets;
	uint64_t arms;
	uint64_t rearm_catches;   /* the poll right after arming found work: a lost wake-up avoided */
	uint64_t sleeps;
	uint64_t wakeups;         /* woken by the interrupt */
	uint64_t spurious_wakeups;/* woken, but the next poll found nothing */
	uint64_t timeouts;        /* woken by the sleep timeout */
	uint64_t ns_asleep;
};

struct upci_hybrid {
	struct upci_hybrid_ops ops;
	void *queue;
	int fd;                      /* the queue's interrupt eventfd */
	int event_fd;                /* also woken by this fd (upci_hybrid_watch()), -1 for none */
	struct upci_hybrid_cfg cfg;
	struct upci_hybrid_stats stats;
	unsigned empty_run;          /* empty polls in a row */
	unsigned threshold;          /* current idle_polls (adaptive changes it) */
	bool woke;                   /* the last sleep ended with an interrupt */
	bool clean;                  /* cfg.automask: the eventfd is empty and the queue disarmed by its message;
				      * upci_hybrid_forget() clears it */
	uint64_t window_start_ns, window_packets;
};

/** upci_hybrid_init() - set up @h for @queue whose interrupt signals eventfd @fd. */
int upci_hybrid_init(struct upci_hybrid *h, const struct upci_hybrid_ops *ops, void *queue, int fd,
		     const struct upci_hybrid_cfg *cfg);

/**
 * upci_hybrid_watch() - also wake from a sleep when @fd becomes readable (the device's REQ/ERR event fd),
 * and then call ops.event. @fd -1 stops watching. Return: 0, -EINVAL (no event op).
 */
int upci_hybrid_watch(struct upci_hybrid *h, int fd);

/**
 * upci_hybrid_step() - one step of the policy: poll; after a run of empty polls arm the interrupt, poll
 * once more (a packet that landed between the last empty poll and the arm is caught here, not by a
 * timeout), and only then sleep on the eventfd; on wake consume the event, disarm (not with cfg.automask: the
 * device did), and return to polling. The eventfd is drained before each arm (with cfg.automask only when the
 * last sleep did not end by the interrupt, or after upci_hybrid_forget()).
 * Return: packets processed in this step (0 when it slept or polled empty), or -errno from the wait, or
 * the negative value ops.event returned.
 */
int upci_hybrid_step(struct upci_hybrid *h);

/**
 * upci_hybrid_forget() - signals may have reached the eventfd outside the hybrid's sleeps (the device was
 * restarted, or made to fire while disarmed): drain it before the next arm. Call from the queue's thread.
 */
void upci_hybrid_forget(struct upci_hybrid *h);

#ifdef __cplusplus
}
#endif
#endif
