/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/kernel.h — the one seam between upci and the kernel.
 *
 * Every open/close/read/ioctl/mmap/munmap/pread/pwrite/eventfd/readlink and directory walk the library
 * makes goes through the ops table installed here. Production uses the real system calls; unit tests
 * install a fake kernel (a scripted VFIO container, group and device, or a fake sysfs tree under @root).
 */
#ifndef UPCI_KERNEL_H
#define UPCI_KERNEL_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct upci_kernel_ops - system calls the library makes, as a replaceable table.
 * @root:     prefix prepended to every absolute path the library opens ("" for the real system), so a
 *            fake sysfs/devfs tree can live in a temporary directory.
 * @open ... @sysconf: same contract as the libc functions of the same names (-1 and errno on failure).
 *            @sysconf is asked only for _SC_PAGESIZE, so a fake can give the library another base page
 *            size (64 KiB, as on some arm64 kernels) than the host it runs on.
 * @read_nowait: read(2) that never blocks, even on a file opened blocking: -1 with errno EAGAIN when
 *            nothing is there. The vector eventfds are blocking (a wait without timeout is one read(2));
 *            their drains use this (preadv2 with RWF_NOWAIT; poll(2) with a zero timeout, then read(2), on a
 *            kernel that refuses RWF_NOWAIT for the file).
 * @clock_gettime: clock_gettime(2) (the vDSO: no system call for the coarse and monotonic clocks), for the
 *            port layer's periodic checks, so a test can move time.
 *
 * A fake may leave an entry NULL only if the code under test never calls it.
 */
struct upci_kernel_ops {
	const char *root;
	int (*open)(const char *path, int flags, mode_t mode);
	int (*close)(int fd);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
	int (*munmap)(void *addr, size_t len);
	int (*eventfd)(unsigned int initval, int flags);
	ssize_t (*readlink)(const char *path, char *buf, size_t len);
	DIR *(*opendir)(const char *path);
	struct dirent *(*readdir)(DIR *dir);
	int (*closedir)(DIR *dir);
	long (*sysconf)(int name);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	ssize_t (*read_nowait)(int fd, void *buf, size_t len);
	int (*clock_gettime)(clockid_t clock, struct timespec *ts);
};

/** upci_kernel_real_ops() - the table of real system calls (the default). */
const struct upci_kernel_ops *upci_kernel_real_ops(void);

/**
 * upci_kernel_install() - make @ops the kernel every later library call uses.
 * @ops: the table; NULL restores the real system calls.
 *
 * Not thread-safe: install before opening devices (tests do it in their setup).
 * Return: the previously installed table.
 */
const struct upci_kernel_ops *upci_kernel_install(const struct upci_kernel_ops *ops);

/** upci_kernel() - the table in use. */
const struct upci_kernel_ops *upci_kernel(void);

/**
 * upci_page_size() - the base page size of the kernel in use (4 KiB on x86; 4, 16 or 64 KiB on arm64).
 *
 * Asked through the installed table's @sysconf; a table without one, or an answer that is not a power of
 * two, gets the real system's value. Return: the page size in bytes, a power of two.
 */
size_t upci_page_size(void);

#ifdef __cplusplus
}
#endif
#endif
