/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the guest-side test programs: TAP output and a monotonic clock. */
#ifndef UPCI_GUEST_TAP_H
#define UPCI_GUEST_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "upci/log.h"

/* Print "ok N - ..." or "not ok N - ..."; return @ok. */
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the plan ("1..N"); return the exit status (0 when every check passed). */
int tap_done(void);
/* The library's log sink of every guest test program (installed before main): "# LINE" on stdout, a TAP
 * diagnostic. A test that installs a sink of its own puts this one back. */
void tap_log(enum upci_log_level level, const char *line, void *arg);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

/* What the test-bed's guest is known to have (test knowledge, not the library's: it reads the kernel). */
struct testbed_window {
	uint64_t start, last;
	const char *what;
};
/* The MSI doorbell window of this architecture's guest: x86 0xfee00000-0xfeefffff (the interrupt address
 * range), aarch64 0x8000000-0x80fffff (Linux's software-MSI window, the ITS doorbell is mapped in it). */
extern const struct testbed_window testbed_msi_window;
/* The other architecture's window: an ordinary IOVA here, that the kernel must accept. */
extern const struct testbed_window testbed_foreign_window;

#endif
