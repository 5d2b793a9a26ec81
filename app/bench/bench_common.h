/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the latency baselines (kernel_rtt, verbs_rtt) share: option parsing, the warmup-then-measured trial
 * loop, nearest-rank percentiles, and the JSON of one round-trip method. Each function that reports an error
 * takes the program's name (@prog) for the message.
 */
#ifndef UPCI_BENCH_COMMON_H
#define UPCI_BENCH_COMMON_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_BAD_INPUT = 2 };
enum { TRIAL_LOST = -1, TRIAL_ERROR = -2 };

#define BENCH_MAX_COUNT 10000000UL	/* the largest --trials, --warmup, ... */
#define BENCH_MAX_LOST_IN_A_ROW 10	/* the link is dead: stop rather than wait for each trial's timeout */

/* The round trips of one method. */
struct bench_rtt {
	unsigned long trials, lost, returned;
	int64_t *ns;		/* per measured trial, in trial order; TRIAL_LOST when it did not come back */
	double p50, p90, p99, p999, max; /* microseconds, over the returned trials */
};

/* ---- options ---- */

/* The options every baseline takes: --trials N --warmup N --spacing-us U --json FILE. */
struct bench_run_opts {
	unsigned long trials, warmup, spacing_us;
	const char *json;
};

#define BENCH_RUN_OPTS_DEFAULT { 2000, 100, 200, NULL }
/* Their getopt_long_only entries, in the order of the usage line; BENCH_LONGOPTS_END adds --json and --help. */
#define BENCH_LONGOPTS_TRIALS \
	{ "trials", required_argument, NULL, 't' }, \
	{ "warmup", required_argument, NULL, 'w' }, \
	{ "spacing-us", required_argument, NULL, 's' }
#define BENCH_LONGOPTS_END \
	{ "json", required_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }

/* One option of getopt_long_only (@c its value, @arg its argument, @word as typed): 0 or an exit status. */
typedef int bench_option_fn(int c, const char *arg, const char *word, void *opts);

/* The getopt_long_only loop, with --help ('h') printing @usage. Return: 0, -1 after --help, or an exit status. */
int bench_getopt(int argc, char **argv, const struct option *longopts, void (*usage)(FILE *),
		 bench_option_fn *parse_option, void *opts);
int bench_parse_count(const char *prog, const char *opt, const char *s, unsigned long min, unsigned long *out);
/* One of the options every baseline takes ('t', 'w', 's', 'j'); any other is unknown. */
int bench_parse_run_option(const char *prog, int c, const char *arg, const char *word, struct bench_run_opts *o);

/* ---- trials ---- */

/* One round trip, sequence number @seq: the RTT in ns, TRIAL_LOST, or TRIAL_ERROR (reported). */
typedef int64_t bench_round_trip_fn(void *ctx, uint64_t seq);

struct bench_trials {
	const char *prog;
	const struct bench_run_opts *opts;
	bench_round_trip_fn *round_trip;
	void *ctx;
	const atomic_int *failed;	/* set when the reflector gave up (and reported why) */
	const char *lost_what;		/* "frames in a row did not come back from ...", for the give-up message */
};

void bench_sleep_ns(int64_t ns);
/* rtt->ns for @trials samples. */
int bench_rtt_alloc(const char *prog, struct bench_rtt *rtt, unsigned long trials);
/* Warmup then measured trials, --spacing-us apart; each measured RTT (or TRIAL_LOST) goes to rtt->ns. */
int bench_run_trials(const struct bench_trials *t, struct bench_rtt *rtt);

/* ---- statistics and output ---- */

/* rtt->returned and the percentiles of the returned trials. */
int bench_rtt_stats(const char *prog, struct bench_rtt *rtt);
/* " rtt_us p50 P p90 P p99 P p99.9 P max P" on stdout. */
void bench_print_rtt_us(const struct bench_rtt *rtt);
/* A number in microseconds, serialized with nanosecond resolution (not json-c's 17 digits). */
json_object *bench_json_us(double us);
/* p50_us, p90_us, p99_us, p999_us, max_us (null without a sample), trials and lost, into @k. */
void bench_json_add_stats(json_object *k, const struct bench_rtt *rtt);
/* samples_us, the returned trials' RTTs in trial order, into @k. */
void bench_json_add_samples(json_object *k, const struct bench_rtt *rtt);
/* Write @root to @file and release it. */
int bench_write_json(const char *prog, const char *file, json_object *root);

/* ---- sysfs ---- */

/* The first entry of @dir that is not . or ..; false when there is none or @dir cannot be read. */
bool bench_first_entry(const char *dir, char *name, size_t size);

#endif
