/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit-test helper: collect the library's log lines so tests can assert on the messages. */
#ifndef UPCI_TEST_LOG_CAPTURE_H
#define UPCI_TEST_LOG_CAPTURE_H

extern char log_text[8192]; /* every line logged since log_capture_start(), each ending in '\n' */

/* Empty log_text and route the library's log lines into it. */
void log_capture_start(void);
/* Drop the library's log lines (a test that does not look at them, and keeps its output clean). */
void log_discard_start(void);
/* Route log lines back to stderr. */
void log_capture_stop(void);

#endif
