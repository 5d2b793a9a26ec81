/* SPDX-License-Identifier: BSD-3-Clause */
/* Library logging: one line per event, to stderr or an application sink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upci/log.h"

static int log_level = -1; /* -1: not yet read from UPCI_LOG_LEVEL */
static upci_log_fn log_sink;
static void *log_sink_arg;

static enum upci_log_level level_from_env(void)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	const char *env = getenv("UPCI_LOG_LEVEL");

	if (!env)
		return UPCI_LOG_WARN;
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(env, names[i]) || (env[0] == '0' + i && env[1] == '\0'))
			return (enum upci_log_level)i;
	return UPCI_LOG_WARN;
}

void upci_log_set_level(enum upci_log_level level)
{
	log_level = level;
}

enum upci_log_level upci_log_get_level(void)
{
	if (log_level < 0)
		log_level = level_from_env();
	return (enum upci_log_level)log_level;
}

void upci_log_set_sink(upci_log_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

void upci_log(enum upci_log_level level, const char *module, const char *fmt, ...)
{
	char line[512];
	int n;
	va_list ap;

	if (level > upci_log_get_level())
		return;
	n = snprintf(line, sizeof(line), "upci: %s: ", module);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (log_sink)
		log_sink(level, line, log_sink_arg);
	else
		fprintf(stderr, "%s\n", line);
}
