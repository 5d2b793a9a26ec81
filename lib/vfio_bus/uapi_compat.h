/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel uAPI that Debian 12's linux-libc-dev (6.1) does not have yet: iommufd (6.2+) and the VFIO cdev
 * ioctls (6.6+). Layouts and numbers are ABI; they are written here from the kernel's documented
 * interface (include/uapi/linux/iommufd.h, vfio.h) under upci's own names, so the build does not depend on
 * the installed headers' age. Everything VFIO type1 needs comes from <linux/vfio.h>.
 */
#ifndef UPCI_UAPI_COMPAT_H
#define UPCI_UAPI_COMPAT_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

/* VFIO cdev: device ioctls 18..20 (VFIO_TYPE ';', VFIO_BASE 100). */
struct upci_vfio_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define UPCI_VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct upci_vfio_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id; /* in: IOAS id; out: the hw page table the kernel attached */
};
#define UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

/* iommufd: type ';', commands from 0x80. Every struct starts with its own size. */
#define UPCI_IOMMUFD_TYPE ';'

struct upci_iommu_destroy {
	__u32 size;
	__u32 id;
};
#define UPCI_IOMMU_DESTROY _IO(UPCI_IOMMUFD_TYPE, 0x80)

struct upci_iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define UPCI_IOMMU_IOAS_ALLOC _IO(UPCI_IOMMUFD_TYPE, 0x81)

struct upci_iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last; /* inclusive */
};

struct upci_iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;      /* in: capacity of allowed_iovas; out: ranges that exist (EMSGSIZE if more) */
	__u32 __reserved;
	__aligned_u64 allowed_iovas; /* user pointer to struct upci_iommu_iova_range[] */
	__aligned_u64 out_iova_alignment;
};
#define UPCI_IOMMU_IOAS_IOVA_RANGES _IO(UPCI_IOMMUFD_TYPE, 0x84)

#define UPCI_IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define UPCI_IOMMU_IOAS_MAP_WRITEABLE (1u << 1)
#define UPCI_IOMMU_IOAS_MAP_READABLE (1u << 2)

struct upci_iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define UPCI_IOMMU_IOAS_MAP _IO(UPCI_IOMMUFD_TYPE, 0x85)

struct upci_iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define UPCI_IOMMU_IOAS_UNMAP _IO(UPCI_IOMMUFD_TYPE, 0x86)

#define UPCI_IOMMU_OPTION_OP_SET 0
#define UPCI_IOMMU_OPTION_OP_GET 1
struct upci_iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define UPCI_IOMMU_OPTION _IO(UPCI_IOMMUFD_TYPE, 0x87)

/*
 * Proposed, not in mainline Linux (as of 6.12 and the 2025 patch series "iommufd: Add
 * IOMMU_OPTION_SW_MSI_START/SIZE ioctls"): let userspace place the software-MSI window, per device
 * (object_id = devid), start 1 MiB aligned, size in MiB, set before attaching. Mainline kernels answer
 * EOPNOTSUPP for these ids, which is how upci detects their absence; nothing assumes they exist.
 */
#define UPCI_IOMMU_OPTION_SW_MSI_START 2
#define UPCI_IOMMU_OPTION_SW_MSI_SIZE 3

#endif
