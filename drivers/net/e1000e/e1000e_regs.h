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

/* 10.2.5 / 10.2.6 / 10.2.9: receive, transmit, filtering and statistics registers. */
enum e1000e_reg2 {
	E1000E_RCTL = 0x00100,     /* 10.2.5.1 Receive Control */
	E1000E_TCTL = 0x00400,     /* 10.2.6.1 Transmit Control */
	E1000E_TIPG = 0x00410,     /* 10.2.6.2 Transmit IPG */
	E1000E_RXCSUM = 0x05000,   /* 10.2.5.17 Receive Checksum Control */
	E1000E_RFCTL = 0x05008,    /* 10.2.5.18 Receive Filter Control */
	E1000E_RAL0 = 0x05400,     /* 10.2.5.23 Receive Address Low */
	E1000E_RAH0 = 0x05404,     /* 10.2.5.24 Receive Address High */
	E1000E_MRQC = 0x05818,     /* 10.2.5.26 Multiple Receive Queues Command */
	E1000E_RETA = 0x05c00,     /* 10.2.5.27 Redirection Table, 32 registers */
	E1000E_RSSRK = 0x05c80,    /* 10.2.5.28 RSS Random Key, 10 registers */
	E1000E_RDBAL0 = 0x02800,   /* 10.2.5.x Receive Descriptor Base Low, queue 0; queue 1 at +0x100 */
	E1000E_RDBAH0 = 0x02804,
	E1000E_RDLEN0 = 0x02808,
	E1000E_RDH0 = 0x02810,
	E1000E_RDT0 = 0x02818,
	E1000E_RDTR = 0x02820,     /* receive interrupt delay timer */
	E1000E_RXDCTL0 = 0x02828,
	E1000E_RADV = 0x0282c,     /* receive interrupt absolute delay */
	E1000E_TDBAL0 = 0x03800,   /* 10.2.6.x Transmit Descriptor Base Low, queue 0; queue 1 at +0x100 */
	E1000E_TDBAH0 = 0x03804,
	E1000E_TDLEN0 = 0x03808,
	E1000E_TDH0 = 0x03810,
	E1000E_TDT0 = 0x03818,
	E1000E_TIDV = 0x03820,     /* transmit interrupt delay */
	E1000E_TXDCTL0 = 0x03828,
	E1000E_TADV = 0x0382c,
	E1000E_QUEUE_STRIDE = 0x100,
	/* 10.2.9 statistics: clear on read */
	E1000E_CRCERRS = 0x04000,
	E1000E_MPC = 0x04010,
	E1000E_GPRC = 0x04074,
	E1000E_GPTC = 0x04080,
	E1000E_GORCL = 0x04088,
	E1000E_GORCH = 0x0408c,
	E1000E_GOTCL = 0x04090,
	E1000E_GOTCH = 0x04094,
	E1000E_RNBC = 0x040a0,
	E1000E_RUC = 0x040a4,
	E1000E_ROC = 0x040ac,
	E1000E_TPR = 0x040d0,
	E1000E_TPT = 0x040d4,
};

/*
 * QEMU 7.2 (checked against Debian's 7.2+dfsg source): CTRL.RST reloads RAL0/RAH0 only; MPC and RNBC are
 * never incremented (a full ring holds frames back in QEMU's queue instead of dropping them); reading
 * GORCH/GOTCH clears both halves (read the low half first); TCTL.PSP is ignored (no tx padding); transmit
 * is also gated by TARC bit 10 (set at reset); EITR is at least 500 x 256 ns whatever is written.
 */

/* 10.2.2.1 CTRL bits. */
enum {
	E1000E_CTRL_FD = 1u << 0,
	E1000E_CTRL_ASDE = 1u << 5,
	E1000E_CTRL_SLU = 1u << 6,      /* set link up */
	E1000E_CTRL_RST = 1u << 26,     /* device reset. QEMU: reloads the MAC only; re-initialise everything */
};

/* 10.2.2.2 STATUS bits. */
enum {
	E1000E_STATUS_FD = 1u << 0,
	E1000E_STATUS_LU = 1u << 1,
	E1000E_STATUS_SPEED_SHIFT = 6,  /* 00: 10, 01: 100, 1x: 1000 Mb/s */
};

/* 10.2.5.1 RCTL bits. */
enum {
	E1000E_RCTL_EN = 1u << 1,
	E1000E_RCTL_UPE = 1u << 3,      /* unicast promiscuous */
	E1000E_RCTL_MPE = 1u << 4,      /* multicast promiscuous */
	E1000E_RCTL_BAM = 1u << 15,     /* accept broadcast */
	E1000E_RCTL_BSIZE_2048 = 0u << 16,
	E1000E_RCTL_SECRC = 1u << 26,   /* strip the Ethernet CRC */
};

/* 10.2.6.1 TCTL: enable, pad short packets, collision threshold and distance as Linux programs them. */
enum {
	E1000E_TCTL_EN = 1u << 1,
	E1000E_TCTL_PSP = 1u << 3,
	E1000E_TCTL_CT = 0x0fu << 4,
	E1000E_TCTL_COLD = 0x3fu << 12,
	E1000E_TIPG_DEFAULT = 0x00602008u, /* IPGT 8, IPGR1 8, IPGR2 6 (copper) */
};

enum {
	E1000E_RFCTL_EXTEN = 1u << 15,  /* extended rx descriptors */
	E1000E_RFCTL_ACK_DIS = 1u << 12, /* no ACK cause for TCP ACKs (it would fire the "other" vector) */
	E1000E_ICR_RXO = 1u << 6,       /* receiver overrun: QEMU raises it when a ring is full */
	E1000E_RXCSUM_PCSD = 1u << 13,  /* write the RSS hash instead of the packet checksum */
	E1000E_RAH_AV = 1u << 31,       /* address valid */
	E1000E_MRQC_RSS = 0x1,          /* MRQC.Multiple Receive Queues Enable = RSS */
	E1000E_MRQC_TCPIPV4 = 1u << 16, /* hash fields */
	E1000E_MRQC_IPV4 = 1u << 17,
	E1000E_MRQC_TCPIPV6 = 1u << 18,
	E1000E_MRQC_IPV6 = 1u << 20,
	E1000E_CTRL_EXT_DRV_LOAD = 1u << 28,
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
