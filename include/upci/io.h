/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/io.h — BAR register access that never faults.
 *
 * A BAR is mapped in pieces (the whole BAR when nothing must stay out). An access inside a mapped piece is
 * a plain load/store with the device-memory barriers of the architecture; any other access (the MSI-X
 * table's pages when they are not mappable, a BAR the kernel does not let us mmap, an I/O BAR) goes
 * through pread/pwrite on the region. Accesses outside the BAR are refused: reads return all-ones.
 */
#ifndef UPCI_IO_H
#define UPCI_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upci/vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UPCI_BAR_MAX_PIECES 8

/** struct upci_bar - one BAR as mapped by upci_dev_open(); read-only for callers. */
struct upci_bar {
	volatile uint8_t *base;   /* start of the BAR's reservation; NULL when nothing is mapped */
	uint64_t size;            /* region size; 0 for an absent BAR */
	uint32_t n_pieces;        /* mapped [lo, hi) byte ranges, relative to the BAR */
	uint64_t lo[UPCI_BAR_MAX_PIECES], hi[UPCI_BAR_MAX_PIECES];
	struct upci_dev *dev;
	uint8_t index;
};

/** upci_dev_bar() - BAR @index (0..5), or NULL when out of range. The pointer lives as long as @dev. */
const struct upci_bar *upci_dev_bar(const struct upci_dev *dev, unsigned index);

/** upci_bar_is_mapped() - whether [@off, @off + @len) lies inside one mapped piece. */
static inline bool upci_bar_is_mapped(const struct upci_bar *bar, uint64_t off, uint64_t len)
{
	for (uint32_t i = 0; i < bar->n_pieces; i++)
		if (off >= bar->lo[i] && len <= bar->hi[i] - off && off < bar->hi[i])
			return true;
	return false;
}

/*
 * Ordering between memory the device reads and writes by DMA (descriptor rings) and the CPU, as Linux has it:
 * upci_dma_wmb() - descriptor writes before the doorbell (MMIO) write that publishes them; Linux dma_wmb().
 * upci_dma_rmb() - a descriptor's done bit (or an MMIO read) before the reads that depend on it; dma_rmb().
 * arm64: dmb oshst / dmb oshld, also the barriers inside Linux's writel() / readl(). x86 keeps these accesses
 * in order in hardware: a compiler barrier. Another architecture must bring its own (a build error until then:
 * a wrong guess here corrupts DMA silently). A test may define both macros before including this header.
 */
#ifndef upci_dma_rmb
#if defined(__aarch64__)
#define upci_dma_rmb() __asm__ __volatile__("dmb oshld" ::: "memory")
#define upci_dma_wmb() __asm__ __volatile__("dmb oshst" ::: "memory")
#elif defined(__x86_64__) || defined(__i386__)
#define upci_dma_rmb() __asm__ __volatile__("" ::: "memory")
#define upci_dma_wmb() __asm__ __volatile__("" ::: "memory")
#else
#error "upci/io.h: no device-memory barriers for this architecture (port Linux's dma_rmb()/dma_wmb())"
#endif
#endif

/* The BAR accessors below: a read is followed by upci_io_rmb(), a write preceded by upci_io_wmb() (readl/writel). */
#define upci_io_rmb() upci_dma_rmb()
#define upci_io_wmb() upci_dma_wmb()

/**
 * upci_bar_read_slow() / upci_bar_write_slow() - the trapped path: pread/pwrite on the region fd.
 * @width: 1, 2, 4 or 8. Reads outside the BAR or after removal give all-ones; writes there are dropped.
 * Each failure logs one line.
 */
uint64_t upci_bar_read_slow(const struct upci_bar *bar, uint64_t off, unsigned width);
void upci_bar_write_slow(const struct upci_bar *bar, uint64_t off, uint64_t val, unsigned width);

static inline uint32_t upci_bar_read32(const struct upci_bar *bar, uint64_t off)
{
	if (upci_bar_is_mapped(bar, off, 4) && !(off & 3)) {
		uint32_t v = *(volatile uint32_t *)(bar->base + off);

		upci_io_rmb();
		return v;
	}
	return (uint32_t)upci_bar_read_slow(bar, off, 4);
}

static inline void upci_bar_write32(const struct upci_bar *bar, uint64_t off, uint32_t val)
{
	if (upci_bar_is_mapped(bar, off, 4) && !(off & 3)) {
		upci_io_wmb();
		*(volatile uint32_t *)(bar->base + off) = val;
		return;
	}
	upci_bar_write_slow(bar, off, val, 4);
}

/**
 * upci_bar_reg32() - a direct pointer to the aligned 32-bit register at @off when it lies in a mapped
 * piece, else NULL (the register is served through the region fd). A driver resolves a doorbell once and
 * writes it with upci_reg_write32(); the pointer stays valid while the device is open (after a removal it
 * points at memory that swallows writes).
 */
static inline volatile uint32_t *upci_bar_reg32(const struct upci_bar *bar, uint64_t off)
{
	return upci_bar_is_mapped(bar, off, 4) && !(off & 3) ? (volatile uint32_t *)(bar->base + off) : NULL;
}

/** upci_reg_write32() - write @val to a register resolved with upci_bar_reg32() (@reg NULL: @bar at @off). */
static inline void upci_reg_write32(volatile uint32_t *reg, const struct upci_bar *bar, uint64_t off, uint32_t val)
{
	if (reg) {
		upci_io_wmb();
		*reg = val;
		return;
	}
	upci_bar_write32(bar, off, val);
}

static inline uint64_t upci_bar_read64(const struct upci_bar *bar, uint64_t off)
{
	if (upci_bar_is_mapped(bar, off, 8) && !(off & 7)) {
		uint64_t v = *(volatile uint64_t *)(bar->base + off);

		upci_io_rmb();
		return v;
	}
	return upci_bar_read_slow(bar, off, 8);
}

static inline void upci_bar_write64(const struct upci_bar *bar, uint64_t off, uint64_t val)
{
	if (upci_bar_is_mapped(bar, off, 8) && !(off & 7)) {
		upci_io_wmb();
		*(volatile uint64_t *)(bar->base + off) = val;
		return;
	}
	upci_bar_write_slow(bar, off, val, 8);
}

#ifdef __cplusplus
}
#endif
#endif
