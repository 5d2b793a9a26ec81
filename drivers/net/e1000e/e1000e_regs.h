/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel 82574 GbE controller (8086:10d3): registers and bit fields, as data.
 * Section numbers refer to the Intel 82574 Family GbE Controller Datasheet, chapter 10 (Device Registers)
 * and chapter 7.4 (Interrupts). QEMU's e1000e model (hw/net/e1000e_core.c) is what the test-bed runs;
 * behaviour where the model differs from the datasheet is marked "QEMU:".
 */
#ifndef UPCI_E1000E_REGS_H
#define UPCI_E1000E_REGS_H

#include <stdint.h>

/* 10.2 register offsets in BAR 0 (memory). */
enum e1000e_reg {
	E1000E_CTRL = 0x00000,     /* 10.2.2.1 Device Control */
	E1000E_STATUS = 0x00008,   /* 10.2.2.2 Device Status */
	E1000E_CTRL_EXT = 0x00018, /* 10.2.2.4 Extended Device Control */
	E1000E_ICR = 0x000c0,      /* 10.2.4.1 Interrupt Cause Read; write 1s to clear (a read clears only
				    * when INT_ASSERTED is set, which MSI-X mode does not guarantee) */
	E1000E_ITR = 0x000c4,      /* 10.2.4.2 Interrupt Throttling, in 256 ns units */
	E1000E_ICS = 0x000c8,      /* 10.2.4.3 Interrupt Cause Set: raises causes from software */
	E1000E_IMS = 0x000d0,      /* 10.2.4.4 Interrupt Mask Set/Read */
	E1000E_IMC = 0x000d8,      /* 10.2.4.5 Interrupt Mask Clear */
	E1000E_EIAC = 0x000dc,     /* 10.2.4.6 Extended Interrupt Auto Clear (MSI-X) */
	E1000E_IAM = 0x000e0,      /* 10.2.4.7 Interrupt Acknowledge Auto-Mask */
	E1000E_IVAR = 0x000e4,     /* 10.2.4.9 Interrupt Vector Allocation Registers */
	E1000E_EITR0 = 0x000e8,    /* 10.2.4.10 Extended Interrupt Throttle, one per vector (+4 each) */
};

/* 10.2.2.4 CTRL_EXT bits used with MSI-X. */
enum {
	E1000E_CTRL_EXT_EIAME = 1u << 24,   /* extended interrupt auto-mask enable */
	E1000E_CTRL_EXT_PBA_CLR = 1u << 31, /* clear the MSI-X PBA when ICR bits are cleared */
};

/* 10.2.4.1 interrupt causes (ICR/ICS/IMS/IMC/EIAC bits). */
enum {
	E1000E_ICR_LSC = 1u << 2,    /* link status change */
	E1000E_ICR_RXQ0 = 1u << 20,  /* receive queue 0 (MSI-X) */
	E1000E_ICR_RXQ1 = 1u << 21,
	E1000E_ICR_TXQ0 = 1u << 22,
	E1000E_ICR_TXQ1 = 1u << 23,
	E1000E_ICR_OTHER = 1u << 24, /* any other cause, e.g. LSC (MSI-X) */
};

/* 10.2.4.9 IVAR: five 4-bit fields, each "vector number (3 bits) | valid (bit 3)". */
enum e1000e_ivar_field {
	E1000E_IVAR_RXQ0 = 0,
	E1000E_IVAR_RXQ1 = 4,
	E1000E_IVAR_TXQ0 = 8,
	E1000E_IVAR_TXQ1 = 12,
	E1000E_IVAR_OTHER = 16,
};
#define E1000E_IVAR_VALID 0x8u
#define E1000E_IVAR_TX_EVERY_WB (1u << 31) /* interrupt on every tx write-back */

static inline uint32_t e1000e_ivar(enum e1000e_ivar_field field, unsigned vector)
{
	return (E1000E_IVAR_VALID | (vector & 7u)) << field;
}

/* The 82574's five MSI-X causes, in vector order as upci routes them: rx0, rx1, tx0, tx1, other. */
#define E1000E_MSIX_VECTORS 5
static const struct e1000e_vector_route {
	enum e1000e_ivar_field ivar;
	uint32_t cause;         /* the IMS/EIAC bit that enables and auto-clears the vector's cause */
	uint32_t ics;           /* what to write to ICS to raise it from software */
	const char *name;
} e1000e_vector_routes[E1000E_MSIX_VECTORS] = {
	{ E1000E_IVAR_RXQ0, E1000E_ICR_RXQ0, E1000E_ICR_RXQ0, "rx0" },
	{ E1000E_IVAR_RXQ1, E1000E_ICR_RXQ1, E1000E_ICR_RXQ1, "rx1" },
	{ E1000E_IVAR_TXQ0, E1000E_ICR_TXQ0, E1000E_ICR_TXQ0, "tx0" },
	{ E1000E_IVAR_TXQ1, E1000E_ICR_TXQ1, E1000E_ICR_TXQ1, "tx1" },
	/* "Other" carries the non-queue causes: link status change is the one software can raise. */
	{ E1000E_IVAR_OTHER, E1000E_ICR_OTHER, E1000E_ICR_LSC, "other" },
};

/*
 * QEMU: every MSI-X message opens a >= 128 us throttle window on its vector, and EITR/ITR values below
 * 500 (x 256 ns), 0 included, are treated as 500. After a postponed message QEMU can send a duplicate
 * when the window ends: an eventfd wake is a hint, never a count of causes.
 * QEMU: after each MSI-X message the IMS bits of the EIAC causes are cleared (auto-mask); the driver
 * re-writes IMS after every interrupt or the next one never comes.
 */
#define E1000E_QEMU_MIN_THROTTLE_US 128

#endif
