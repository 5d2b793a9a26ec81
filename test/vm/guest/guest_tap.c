/* SPDX-License-Identifier: BSD-3-Clause */
/* TAP output and a monotonic clock for the guest-side test programs. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "guest_tap.h"

static int n_checks, n_failed;

bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	n_checks++;
	n_failed += !ok;
	printf("%s %d - ", ok ? "ok" : "not ok", n_checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok;
}

int tap_done(void)
{
	printf("1..%d\n", n_checks);
	return n_failed != 0;
}

void tap_log(enum upci_log_level level, const char *line, void *arg)
{
	(void)level, (void)arg;
	printf("# %s\n", line);
	fflush(stdout);
}

/* Every guest test program: the library's lines are TAP diagnostics on stdout, where the console puts them
 * anyway (the guest's stderr reaches the host on the same stream). */
__attribute__((constructor)) static void tap_log_install(void)
{
	upci_log_set_sink(tap_log, NULL);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct testbed_window x86_window = { 0xfee00000ull, 0xfeefffffull, "x86 MSI window" };
static const struct testbed_window arm64_window = { 0x08000000ull, 0x080fffffull, "arm64 software-MSI window" };
#if defined(__aarch64__)
const struct testbed_window testbed_msi_window = arm64_window;
const struct testbed_window testbed_foreign_window = x86_window;
#else
const struct testbed_window testbed_msi_window = x86_window;
const struct testbed_window testbed_foreign_window = arm64_window;
#endif
