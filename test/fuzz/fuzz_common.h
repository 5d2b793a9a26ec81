/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the libFuzzer harnesses: the entry points, a reader that takes fields off the fuzz input, and
 * CHECK(), which reports a broken invariant and abort()s (libFuzzer saves the input as a crash).
 */
#ifndef UPCI_FUZZ_COMMON_H
#define UPCI_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upci/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* Fields off the front of the input; past its end every field reads as zero. */
struct input {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t take8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t take16(struct input *in)
{
	return (uint16_t)(take8(in) | take8(in) << 8);
}

static inline uint32_t take32(struct input *in)
{
	return take16(in) | (uint32_t)take16(in) << 16;
}

static inline uint64_t take64(struct input *in)
{
	return take32(in) | (uint64_t)take32(in) << 32;
}

/* Up to @n bytes (fewer at the end of the input). Return: how many. */
static inline size_t take_bytes(struct input *in, void *buf, size_t n)
{
	if (n > in->left)
		n = in->left;
	memcpy(buf, in->p, n);
	in->p += n;
	in->left -= n;
	return n;
}

/* A 64-bit value that is often at an edge (0, ~0, a power of two or next to one), else arbitrary. */
static inline uint64_t take_edgy64(struct input *in)
{
	uint8_t k = take8(in);
	unsigned sh = k & 63;

	switch (k >> 6) {
	case 0:
		return 1ull << sh;
	case 1:
		return (1ull << sh) - 1;
	case 2:
		return ~0ull << sh;
	default:
		return take64(in);
	}
}

/* The library's log lines are not what a fuzz run is about: drop them (they would also slow it down). */
static void fuzz_quiet_sink(enum upci_log_level level, const char *line, void *arg)
{
	(void)level, (void)line, (void)arg;
}

static inline void fuzz_quiet(void)
{
	upci_log_set_sink(fuzz_quiet_sink, NULL);
	upci_log_set_level(UPCI_LOG_DEBUG); /* the formatting code runs too */
}

#endif
