/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The logic of upci-bind: what a device is bound to, IOMMU group viability, moving devices between drivers
 * through driver_override with rollback, the state file of original drivers, re-deriving a device's driver
 * when the file is gone, VFIO node ownership and the memlock a port needs.
 *
 * Everything the kernel is asked goes through the library's kernel seam (upci/kernel.h: open, write,
 * readlink, directory walks, with its root prefix) or, for the few calls the seam has no entry for
 * (stat, chown, chmod, mkdir, rename), through struct bind_ops with the same root prefix, so the unit tests
 * run all of it against a fake sysfs tree. Functions return 0 or a negative errno and log one line
 * (upci_log, module "bind") saying what failed, on which device, and what the user can do.
 */
#ifndef UPCI_TOOLS_BIND_H
#define UPCI_TOOLS_BIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "upci/pci.h"

#define BIND_LOG "bind"
#define BIND_MAX_DEVS 64
#define BIND_STATE_DEFAULT "/run/upci/bind.json"
#define BIND_VFIO_DRIVER "vfio-pci"

/* Exit statuses of upci-bind. */
enum { BIND_EXIT_OK = 0, BIND_EXIT_FAILED = 1, BIND_EXIT_BAD_INPUT = 2 };

/** struct bind_ops - the calls the kernel seam has no entry for; paths get the seam's root prefix. */
struct bind_ops {
	int (*stat)(const char *path, struct stat *st);
	int (*chown)(const char *path, uid_t uid, gid_t gid);
	int (*chmod)(const char *path, mode_t mode);
	int (*mkdir)(const char *path, mode_t mode);
	int (*rename)(const char *from, const char *to);
};

/** bind_ops_install() - use @ops (NULL: the real calls). Return: the previous table. */
const struct bind_ops *bind_ops_install(const struct bind_ops *ops);

/** bind_node_stat_path() - stat(2) of @path through bind_ops, seam root prepended. Return: 0 or -errno. */
int bind_node_stat_path(const char *path, struct stat *st);

/** struct bind_node - a device node: /dev/vfio/N or /dev/vfio/devices/vfioX. */
struct bind_node {
	char path[64];
	bool exists;
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

/** struct bind_dev - what sysfs says about one device, plus what the state file remembers of it. */
struct bind_dev {
	struct upci_pci_info info;
	char override[UPCI_DRIVER_NAME_MAX];    /* driver_override, "" when none */
	char cdev[32];                          /* "vfio0" when the device has a VFIO cdev, else "" */
	char netdev[32];                        /* its first network interface, "" when none */
	bool netdev_up;                         /* that interface is administratively up (IFF_UP) */
	bool recorded;                          /* the state file has it: */
	char was_driver[UPCI_DRIVER_NAME_MAX];  /*   the driver it had before upci-bind ("" none) */
	char was_override[UPCI_DRIVER_NAME_MAX];/*   and its driver_override then */
	struct bind_node group_node, cdev_node;
};

/** struct bind_record - one device the state file remembers. */
struct bind_record {
	char bdf[UPCI_PCI_ADDR_STRLEN];
	uint16_t vendor, device;
	char driver[UPCI_DRIVER_NAME_MAX];
	char override[UPCI_DRIVER_NAME_MAX];
};

/** struct bind_state - the state file's contents. */
struct bind_state {
	int n;
	struct bind_record rec[BIND_MAX_DEVS];
};

/** enum bind_action - what happened (or, in a dry run, would happen) to a device. */
enum bind_action {
	BIND_NONE,         /* already where it was asked to be */
	BIND_MOVED,        /* moved from one driver to the other */
	BIND_WOULD_MOVE,   /* --dry-run */
	BIND_ROLLED_BACK,  /* moved, then put back because a later step failed */
};

/** struct bind_result - one device of a bind or restore, for the report. */
struct bind_result {
	struct bind_dev dev;            /* as found */
	enum bind_action action;
	char from[UPCI_DRIVER_NAME_MAX];/* "" none */
	char to[UPCI_DRIVER_NAME_MAX];  /* "" none */
	const char *why;                /* where @to came from (restore): "state file", "modules.alias", ... */
	bool requested;                 /* named on the command line (not only a member of its group) */
	struct bind_node was_group_node, was_cdev_node; /* their owners before --uid/--gid (upci-bind.c) */
};

/** struct bind_request - what upci-bind was asked. */
struct bind_request {
	struct upci_pci_addr addrs[BIND_MAX_DEVS];
	int n;                          /* 0 with restore: every device of the state file */
	bool group, dry_run, force;
	const char *state_path;
};

/** struct bind_report - the outcome of bind_devices() / restore_devices(). */
struct bind_report {
	bool refused;                   /* the request was refused before anything was written */
	int n;
	struct bind_result res[BIND_MAX_DEVS];
};

/** bind_dev_read() - read @addr's view (state file records are merged by the caller). Return: 0, -ENODEV. */
int bind_dev_read(const struct upci_pci_addr *addr, struct bind_dev *d);

/** bind_driver_vfio_safe() - a group member on @driver does not stop the group going to VFIO. */
bool bind_driver_vfio_safe(const char *driver);

/**
 * bind_devices() - bind the requested devices (and, with @req->group, their groups) to vfio-pci.
 * Viability is checked first for every group touched: a member outside the set on another driver refuses
 * the whole request (-EBUSY), naming each such member and its driver. The original drivers are written to
 * the state file before anything moves; a failing step rolls back every device already moved.
 * Return: 0; -EINVAL/-ENODEV/-EBUSY for requests refused before anything changed; another -errno when a
 * step failed (and everything was rolled back).
 */
int bind_devices(const struct bind_request *req, struct bind_report *rep);

/**
 * bind_undo() - put every device bind_devices() moved back where it was found and drop their records from
 * the state file at @state_path (for a later step of the caller that failed, e.g. giving the nodes away).
 */
void bind_undo(struct bind_report *rep, const char *state_path);

/**
 * restore_devices() - put the requested devices (none: every device of the state file; @req->group: their
 * whole groups) back on the driver they had: the state file's record, else the driver derived from
 * modules.alias, else the kernel's own match (drivers_probe). A failing step puts the devices already
 * restored back on vfio-pci. Return: 0 or a negative errno.
 */
int restore_devices(const struct bind_request *req, struct bind_report *rep);

/**
 * bind_set_owner() - give @d's VFIO nodes (/dev/vfio/N, the cdev) to @uid:@gid, mode 0660. (uid_t)-1 or
 * (gid_t)-1 leaves that part as it is. On failure the nodes already changed get their owners back.
 */
int bind_set_owner(const struct bind_dev *d, uid_t uid, gid_t gid);

/** bind_derive_driver() - the kernel driver modules.alias gives @d's modalias. Return: 0, -ENOENT. */
int bind_derive_driver(const struct bind_dev *d, char *buf, size_t len);

/** struct bind_memlock - what a port of @driver pins for DMA with the default upci_port_cfg. */
struct bind_memlock {
	const char *driver;             /* the upci driver */
	unsigned rx_queues, tx_queues, ring, pool_bufs, buf_size;
	uint64_t base_kib;              /* with 4 KiB (base) pages */
	uint64_t huge_kib;              /* with 2 MiB hugepages */
};

/** bind_memlock_for() - the figure for @vendor:@device. Return: 0, -ENOENT (no upci driver known). */
int bind_memlock_for(uint16_t vendor, uint16_t device, struct bind_memlock *out);

/* The state file. */
int bind_state_load(const char *path, struct bind_state *s);
int bind_state_save(const char *path, const struct bind_state *s);
struct bind_record *bind_state_find(struct bind_state *s, const char *bdf);
void bind_state_drop(struct bind_state *s, const char *bdf);

#endif
