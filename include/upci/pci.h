/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/pci.h — PCI addresses and what sysfs says about a device and its IOMMU group.
 *
 * All functions return 0 (or a count) on success and a negative errno on failure (see upci/log.h).
 */
#ifndef UPCI_PCI_H
#define UPCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct upci_pci_addr - a PCI function address (domain:bus:device.function). */
struct upci_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;  /* 0..31 */
	uint8_t fn;   /* 0..7 */
};

/* "dddd:bb:dd.f" plus the NUL; domains above 0xffff (VMD) take up to 8 digits. */
#define UPCI_PCI_ADDR_STRLEN 18

/**
 * upci_pci_addr_parse() - parse "0000:00:02.0" or the short form "00:02.0" (domain 0).
 * @s:   the string; hexadecimal digits of either case, nothing before or after.
 * @out: the address.
 *
 * Return: 0, or -EINVAL when @s is not a PCI address (nothing is logged: callers decide).
 */
int upci_pci_addr_parse(const char *s, struct upci_pci_addr *out);

/**
 * upci_pci_addr_format() - write the canonical sysfs name ("%04x:%02x:%02x.%x") of @addr.
 * @buf: at least UPCI_PCI_ADDR_STRLEN bytes.
 * Return: 0, or -ENOSPC when @len is too small.
 */
int upci_pci_addr_format(const struct upci_pci_addr *addr, char *buf, size_t len);

/** upci_pci_addr_cmp() - order by domain, bus, device, function (for sorting). */
int upci_pci_addr_cmp(const struct upci_pci_addr *a, const struct upci_pci_addr *b);

/** enum upci_resv_type - kinds of /sys/kernel/iommu_groups/N/reserved_regions lines. */
enum upci_resv_type {
	UPCI_RESV_DIRECT,           /* "direct": identity-mapped (RMRR) */
	UPCI_RESV_DIRECT_RELAXABLE, /* "direct-relaxable" */
	UPCI_RESV_RESERVED,         /* "reserved": never mappable */
	UPCI_RESV_MSI,              /* "msi": an MSI doorbell window (hardware or software-managed) */
};

/** struct upci_resv_region - one reserved IOVA region; @end is inclusive, as sysfs prints it. */
struct upci_resv_region {
	uint64_t start;
	uint64_t end;
	enum upci_resv_type type;
};

/** upci_resv_type_name() - the sysfs spelling of @type ("msi", ...). */
const char *upci_resv_type_name(enum upci_resv_type type);

/**
 * upci_parse_reserved_regions() - parse the text of a reserved_regions file.
 * @text:  file contents (need not be NUL-terminated).
 * @len:   bytes in @text.
 * @out:   regions, in file order.
 * @max:   capacity of @out.
 *
 * Each line is "0x<start> 0x<end> <type>\n" with start <= end. A line without its newline is a truncated
 * file and is rejected, as are unknown types, bad numbers and extra fields.
 *
 * Return: the number of regions, -EINVAL on a malformed line, -ENOSPC when more than @max.
 */
int upci_parse_reserved_regions(const char *text, size_t len, struct upci_resv_region *out, size_t max);

#define UPCI_DRIVER_NAME_MAX 64
#define UPCI_DEV_NAME_MAX 64

/** struct upci_pci_info - what sysfs says about one PCI device. */
struct upci_pci_info {
	struct upci_pci_addr addr;
	char name[UPCI_PCI_ADDR_STRLEN];      /* canonical BDF */
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code;                 /* 24-bit class/subclass/prog-if */
	char driver[UPCI_DRIVER_NAME_MAX];   /* "" when no driver is bound */
	int iommu_group;                     /* -1 when the device has no IOMMU group */
	int numa_node;                       /* -1 when unknown */
};

/**
 * upci_pci_info_read() - read a device's identity, driver, IOMMU group and NUMA node from sysfs.
 * Return: 0; -ENODEV when no such device; -EIO/-EINVAL when its sysfs files are unreadable or malformed.
 */
int upci_pci_info_read(const struct upci_pci_addr *addr, struct upci_pci_info *out);

/**
 * upci_pci_list() - every PCI device in /sys/bus/pci/devices, sorted by address.
 * @out: set to a malloc'd array the caller frees (NULL when there are none).
 * Return: the number of devices (0 when the system has no PCI bus), or a negative errno.
 */
int upci_pci_list(struct upci_pci_addr **out);

/** struct upci_group_member - a device in an IOMMU group (not necessarily a PCI device). */
struct upci_group_member {
	char name[UPCI_DEV_NAME_MAX];        /* the device's sysfs name */
	bool is_pci;                         /* @name parsed as a PCI address into @addr */
	struct upci_pci_addr addr;
	char driver[UPCI_DRIVER_NAME_MAX];   /* "" when no driver is bound */
};

/**
 * upci_iommu_group_members() - the devices of IOMMU group @group, sorted by name.
 * @out: set to a malloc'd array the caller frees.
 * Return: the number of members, -ENOENT when the group does not exist, or a negative errno.
 */
int upci_iommu_group_members(int group, struct upci_group_member **out);

/**
 * upci_iommu_group_reserved_regions() - read /sys/kernel/iommu_groups/@group/reserved_regions.
 * Return: the number of regions written to @out, or a negative errno (see upci_parse_reserved_regions()).
 */
int upci_iommu_group_reserved_regions(int group, struct upci_resv_region *out, size_t max);

/** upci_iommu_group_count() - how many IOMMU groups the kernel has (0 when the IOMMU is off). */
int upci_iommu_group_count(void);

#ifdef __cplusplus
}
#endif
#endif
