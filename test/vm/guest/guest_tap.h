/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the guest-side test programs: TAP output and a monotonic clock. */
#ifndef UPCI_GUEST_TAP_H
#define UPCI_GUEST_TAP_H

#include <stdbool.h>
#include <stdint.h>

/* Print "ok N - ..." or "not ok N - ..."; return @ok. */
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the plan ("1..N"); return the exit status (0 when every check passed). */
int tap_done(void);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

#endif
