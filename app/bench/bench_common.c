/* SPDX-License-Identifier: BSD-3-Clause */
/* What the latency baselines share (see bench_common.h). */
#include "bench_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- options ---- */

int bench_getopt(int argc, char **argv, const struct option *longopts, void (*usage)(FILE *),
		 bench_option_fn *parse_option, void *opts)
{
	int c;

	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		int status = parse_option(c, optarg, argv[optind - 1], opts);

		if (status)
			return status;
	}
	return 0;
}

int bench_parse_count(const char *prog, const char *opt, const char *s, unsigned long min, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || *out < min || *out > BENCH_MAX_COUNT) {
		fprintf(stderr, "%s: --%s takes a whole number from %lu to %lu, not '%s'\n", prog, opt, min,
			BENCH_MAX_COUNT, s);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

int bench_parse_run_option(const char *prog, int c, const char *arg, const char *word, struct bench_run_opts *o)
{
	switch (c) {
	case 't':
		return bench_parse_count(prog, "trials", arg, 1, &o->trials);
	case 'w':
		return bench_parse_count(prog, "warmup", arg, 0, &o->warmup);
	case 's':
		return bench_parse_count(prog, "spacing-us", arg, 0, &o->spacing_us);
	case 'j':
		o->json = arg;
		return 0;
	default:
		fprintf(stderr, "%s: unknown option or missing argument: '%s' (see --help)\n", prog, word);
		return EXIT_BAD_INPUT;
	}
}

/* ---- trials ---- */

void bench_sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

int bench_rtt_alloc(const char *prog, struct bench_rtt *rtt, unsigned long trials)
{
	rtt->trials = trials;
	rtt->ns = calloc(trials, sizeof(*rtt->ns));
	if (!rtt->ns) {
		fprintf(stderr, "%s: out of memory for %lu samples\n", prog, trials);
		return EXIT_FAILURE;
	}
	return 0;
}

int bench_run_trials(const struct bench_trials *t, struct bench_rtt *rtt)
{
	unsigned long warmup = t->opts->warmup, total = warmup + t->opts->trials, lost_in_a_row = 0;

	for (unsigned long i = 0; i < total; i++) {
		int64_t ns = t->round_trip(t->ctx, i + 1);

		if (ns == TRIAL_ERROR || atomic_load(t->failed))
			return EXIT_FAILURE;
		lost_in_a_row = ns == TRIAL_LOST ? lost_in_a_row + 1 : 0;
		if (lost_in_a_row == BENCH_MAX_LOST_IN_A_ROW) {
			fprintf(stderr, "%s: %d %s: giving up\n", t->prog, BENCH_MAX_LOST_IN_A_ROW, t->lost_what);
			return EXIT_FAILURE;
		}
		if (i >= warmup) {
			rtt->ns[i - warmup] = ns;
			rtt->lost += ns == TRIAL_LOST;
		}
		if (t->opts->spacing_us)
			bench_sleep_ns((int64_t)t->opts->spacing_us * 1000);
	}
	return 0;
}

/* ---- statistics ---- */

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* Nearest-rank percentile of @n sorted samples, @permille in 1..1000, in microseconds. */
static double percentile_us(const int64_t *sorted, size_t n, unsigned permille)
{
	size_t rank = (permille * n + 999) / 1000;

	return (double)sorted[rank ? rank - 1 : 0] / 1000.0;
}

int bench_rtt_stats(const char *prog, struct bench_rtt *rtt)
{
	size_t n = 0;
	int64_t *sorted = malloc((rtt->trials ? rtt->trials : 1) * sizeof(*sorted));

	if (!sorted) {
		fprintf(stderr, "%s: out of memory for %lu samples\n", prog, rtt->trials);
		return EXIT_FAILURE;
	}
	for (unsigned long i = 0; i < rtt->trials; i++)
		if (rtt->ns[i] != TRIAL_LOST)
			sorted[n++] = rtt->ns[i];
	if (n) {
		qsort(sorted, n, sizeof(*sorted), cmp_i64);
		rtt->p50 = percentile_us(sorted, n, 500);
		rtt->p90 = percentile_us(sorted, n, 900);
		rtt->p99 = percentile_us(sorted, n, 990);
		rtt->p999 = percentile_us(sorted, n, 999);
		rtt->max = percentile_us(sorted, n, 1000);
	}
	rtt->returned = n;
	free(sorted);
	return 0;
}

/* ---- output ---- */

void bench_print_rtt_us(const struct bench_rtt *rtt)
{
	printf(" rtt_us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f", rtt->p50, rtt->p90, rtt->p99, rtt->p999,
	       rtt->max);
}

json_object *bench_json_us(double us)
{
	char s[32];

	snprintf(s, sizeof(s), "%.3f", us);
	return json_object_new_double_s(us, s);
}

void bench_json_add_stats(json_object *k, const struct bench_rtt *rtt)
{
	bool any = rtt->returned > 0; /* no sample, no percentile: null */

	json_object_object_add(k, "p50_us", any ? bench_json_us(rtt->p50) : NULL);
	json_object_object_add(k, "p90_us", any ? bench_json_us(rtt->p90) : NULL);
	json_object_object_add(k, "p99_us", any ? bench_json_us(rtt->p99) : NULL);
	json_object_object_add(k, "p999_us", any ? bench_json_us(rtt->p999) : NULL);
	json_object_object_add(k, "max_us", any ? bench_json_us(rtt->max) : NULL);
	json_object_object_add(k, "trials", json_object_new_int64((int64_t)rtt->trials));
	json_object_object_add(k, "lost", json_object_new_int64((int64_t)rtt->lost));
}

void bench_json_add_samples(json_object *k, const struct bench_rtt *rtt)
{
	json_object *samples = json_object_new_array();

	for (unsigned long i = 0; i < rtt->trials; i++)
		if (rtt->ns[i] != TRIAL_LOST)
			json_object_array_add(samples, bench_json_us((double)rtt->ns[i] / 1000.0));
	json_object_object_add(k, "samples_us", samples);
}

int bench_write_json(const char *prog, const char *file, json_object *root)
{
	FILE *f = fopen(file, "w");
	int status = 0;

	if (!f || fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_SPACED)) < 0 ||
	    fflush(f) || ferror(f)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, file, strerror(errno));
		status = EXIT_FAILURE;
	}
	if (f && fclose(f) && !status) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, file, strerror(errno));
		status = EXIT_FAILURE;
	}
	json_object_put(root);
	return status;
}

/* ---- sysfs ---- */

bool bench_first_entry(const char *dir, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e = NULL;
	bool found;

	if (!d)
		return false;
	while ((e = readdir(d)) && e->d_name[0] == '.')
		;
	found = e && strlen(e->d_name) < size;
	if (found)
		memcpy(name, e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	return found;
}
