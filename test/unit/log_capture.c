/* SPDX-License-Identifier: BSD-3-Clause */
/* Collect the library's log lines for assertions. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log_capture.h"
#include "upci/log.h"

char log_text[8192];

static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER; /* threaded tests log from several threads */

static void capture(enum upci_log_level level, const char *line, void *arg)
{
	size_t used;

	(void)level, (void)arg;
	pthread_mutex_lock(&capture_lock);
	used = strlen(log_text);
	snprintf(log_text + used, sizeof(log_text) - used, "%s\n", line);
	pthread_mutex_unlock(&capture_lock);
}

void log_capture_start(void)
{
	log_text[0] = '\0';
	upci_log_set_sink(capture, NULL);
}

static void discard(enum upci_log_level level, const char *line, void *arg)
{
	(void)level, (void)line, (void)arg;
}

void log_discard_start(void)
{
	upci_log_set_sink(discard, NULL);
}

void log_capture_stop(void)
{
	upci_log_set_sink(NULL, NULL);
}
