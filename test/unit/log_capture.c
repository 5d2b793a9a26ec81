/* SPDX-License-Identifier: BSD-3-Clause */
/* Collect the library's log lines for assertions. */
#include <stdio.h>
#include <string.h>

#include "log_capture.h"
#include "upci/log.h"

char log_text[8192];

static void capture(enum upci_log_level level, const char *line, void *arg)
{
	size_t used = strlen(log_text);

	(void)level, (void)arg;
	snprintf(log_text + used, sizeof(log_text) - used, "%s\n", line);
}

void log_capture_start(void)
{
	log_text[0] = '\0';
	upci_log_set_sink(capture, NULL);
}

void log_capture_stop(void)
{
	upci_log_set_sink(NULL, NULL);
}
