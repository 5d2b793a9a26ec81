/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/log.h — library logging.
 *
 * Error convention of the whole library: functions return 0 (or a non-negative count) on success and a
 * negative errno on failure, and log one line that says what failed, on which device, and what the user
 * can do. They never set errno as their way of reporting.
 */
#ifndef UPCI_LOG_H
#define UPCI_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum upci_log_level {
	UPCI_LOG_ERR = 0,
	UPCI_LOG_WARN = 1,
	UPCI_LOG_INFO = 2,
	UPCI_LOG_DEBUG = 3,
};

/**
 * typedef upci_log_fn - a log sink.
 * @level: severity of the line.
 * @line:  the complete line, "upci: <module>: <text>", without a trailing newline.
 * @arg:   the pointer given to upci_log_set_sink().
 */
typedef void (*upci_log_fn)(enum upci_log_level level, const char *line, void *arg);

/**
 * upci_log_set_level() - lines above @level are dropped.
 *
 * The default is UPCI_LOG_WARN, or the value of the environment variable UPCI_LOG_LEVEL
 * (err, warn, info, debug or 0..3) read at the first log call.
 */
void upci_log_set_level(enum upci_log_level level);

/** upci_log_get_level() - the level in force. */
enum upci_log_level upci_log_get_level(void);

/** upci_log_set_sink() - send lines to @fn instead of stderr; NULL restores stderr. */
void upci_log_set_sink(upci_log_fn fn, void *arg);

/** upci_log() - log one line from @module (printf-style). Used by the library; open to applications. */
void upci_log(enum upci_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
