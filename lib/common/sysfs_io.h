/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: reading small kernel files (sysfs, procfs) through the kernel seam. */
#ifndef UPCI_SYSFS_IO_H
#define UPCI_SYSFS_IO_H

#include <stddef.h>
#include <stdint.h>

/* Longest path the library builds (root prefix included). */
#define UPCI_PATH_MAX 512

/* Format an absolute path and prepend the seam's root. Return: 0 or -ENAMETOOLONG. */
int upci_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Read the whole file at @path (seam root prepended) into @buf and NUL-terminate it.
 * Return: the byte count; -errno of open/read; -EFBIG when the file does not fit in @len - 1 bytes.
 */
int upci_read_file(const char *path, char *buf, size_t len);

/* Parse an unsigned number spanning exactly @s[0..len) ("0x" prefix selects hex when @base is 0). */
int upci_parse_u64(const char *s, size_t len, int base, uint64_t *out);

/* Read a file that holds one number and a newline ("0x8086\n", "-1\n"). Return: 0, -EINVAL, -errno. */
int upci_read_u64(const char *path, uint64_t *out);
int upci_read_int(const char *path, int *out);

/* The last component of the symlink at @path ("vfio-pci" for .../driver). Return: 0, -ENOENT, -errno. */
int upci_read_link_name(const char *path, char *buf, size_t len);

/* Call @fn for each entry of directory @path (seam root prepended), dot entries skipped, until @fn
 * returns non-zero. Return: that value, 0 when the walk ended, -errno when the directory cannot be read. */
int upci_for_each_entry(const char *path, int (*fn)(const char *name, void *arg), void *arg);

#endif
