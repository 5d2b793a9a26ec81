/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/common/eventfd.c and lib/common/irq_set.c: real eventfds, a recording ioctl for SET_IRQS. */
#include <errno.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/common/eventfd.h"
#include "lib/common/irq_set.h"
#include "upci/kernel.h"

static void drain_counts_and_empties(void **state)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t n = 99, three = 3;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(upci_eventfd_drain(fd, &n), 0); /* nothing pending */
	assert_int_equal(n, 0);
	assert_int_equal(write(fd, &three, sizeof(three)), sizeof(three));
	assert_int_equal(upci_eventfd_drain(fd, &n), 1);
	assert_int_equal(n, 3);
	assert_int_equal(upci_eventfd_drain(fd, NULL), 0); /* consumed */
	assert_int_equal(upci_eventfd_drain(-1, &n), 0);
	close(fd);
	assert_int_equal(upci_eventfd_drain(fd, NULL), -EBADF);
}

static void fd_wait_times_out_then_sees_a_signal(void **state)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t one = 1;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(upci_fd_wait(fd, 0), 0);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(upci_fd_wait(fd, 1000), 1);
	assert_int_equal(upci_eventfd_drain(fd, NULL), 1);
	assert_int_equal(upci_fd_wait(-1, 0), -EBADF);
	close(fd);
}

/* The last VFIO_DEVICE_SET_IRQS request, copied. */
static struct {
	int fd;
	struct vfio_irq_set set;
	int32_t fds[8];
	int answer, err; /* what the ioctl returns, and errno when that is -1 */
} seen;

static int record_ioctl(int fd, unsigned long req, void *arg)
{
	const struct vfio_irq_set *s = arg;

	assert_int_equal(req, VFIO_DEVICE_SET_IRQS);
	seen.fd = fd;
	seen.set = *s;
	assert_true(s->argsz >= sizeof(*s) && s->argsz - sizeof(*s) <= sizeof(seen.fds));
	memcpy(seen.fds, s->data, s->argsz - sizeof(*s));
	if (seen.answer < 0)
		errno = seen.err;
	return seen.answer;
}

static struct upci_kernel_ops recording;

static int install_recorder(void **state)
{
	(void)state;
	recording = *upci_kernel_real_ops();
	recording.ioctl = record_ioctl;
	upci_kernel_install(&recording);
	memset(&seen, 0, sizeof(seen));
	return 0;
}

static int restore_kernel(void **state)
{
	(void)state;
	upci_kernel_install(NULL);
	return 0;
}

static void irq_set_eventfds_layout(void **state)
{
	const int fds[3] = { 7, -1, 9 };

	(void)state;
	assert_int_equal(upci_irq_set_eventfds(42, VFIO_PCI_MSIX_IRQ_INDEX, 2, 3, fds), 0);
	assert_int_equal(seen.fd, 42);
	assert_int_equal(seen.set.argsz, sizeof(struct vfio_irq_set) + 3 * sizeof(int32_t));
	assert_int_equal(seen.set.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(seen.set.index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(seen.set.start, 2);
	assert_int_equal(seen.set.count, 3);
	assert_int_equal(seen.fds[0], 7);
	assert_int_equal(seen.fds[1], -1);
	assert_int_equal(seen.fds[2], 9);
}

static void irq_set_none_and_answers(void **state)
{
	(void)state;
	assert_int_equal(upci_irq_set_none(5, VFIO_PCI_REQ_IRQ_INDEX, 0, 0), 0);
	assert_int_equal(seen.set.argsz, sizeof(struct vfio_irq_set));
	assert_int_equal(seen.set.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(seen.set.index, VFIO_PCI_REQ_IRQ_INDEX);
	assert_int_equal(seen.set.count, 0);
	seen.answer = 2; /* the kernel granted fewer vectors */
	assert_int_equal(upci_irq_set_none(5, VFIO_PCI_MSIX_IRQ_INDEX, 1, 1), 2);
	seen.answer = -1;
	seen.err = EINVAL;
	assert_int_equal(upci_irq_set_none(5, VFIO_PCI_MSIX_IRQ_INDEX, 1, 1), -EINVAL);
	assert_int_equal(upci_irq_set_eventfds(5, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest eventfd_tests[] = {
		cmocka_unit_test(drain_counts_and_empties),
		cmocka_unit_test(fd_wait_times_out_then_sees_a_signal),
	};
	const struct CMUnitTest irq_set_tests[] = {
		cmocka_unit_test_setup_teardown(irq_set_eventfds_layout, install_recorder, restore_kernel),
		cmocka_unit_test_setup_teardown(irq_set_none_and_answers, install_recorder, restore_kernel),
	};
	int failed = cmocka_run_group_tests_name("eventfd", eventfd_tests, NULL, NULL);

	return failed + cmocka_run_group_tests_name("irq_set", irq_set_tests, NULL, NULL);
}
