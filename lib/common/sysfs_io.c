/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading small kernel files through the kernel seam. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sysfs_io.h"
#include "upci/kernel.h"

int upci_path(char *buf, size_t len, const char *fmt, ...)
{
	const char *root = upci_kernel()->root;
	size_t rlen = root ? strlen(root) : 0;
	va_list ap;
	int n;

	if (rlen >= len)
		return -ENAMETOOLONG;
	memcpy(buf, root, rlen);
	va_start(ap, fmt);
	n = vsnprintf(buf + rlen, len - rlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - rlen)
		return -ENAMETOOLONG;
	return 0;
}

int upci_read_file(const char *path, char *buf, size_t len)
{
	const struct upci_kernel_ops *k = upci_kernel();
	char full[UPCI_PATH_MAX];
	size_t got = 0;
	int fd, rc;

	if (len == 0)
		return -EINVAL;
	rc = upci_path(full, sizeof(full), "%s", path);
	if (rc)
		return rc;
	fd = k->open(full, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = k->read(fd, buf + got, len - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == len - 1) {
			char extra;

			/* Full buffer: the file is too large only if there is more to read. */
			n = k->read(fd, &extra, 1);
			if (n > 0)
				rc = -EFBIG;
			break;
		}
	}
	k->close(fd);
	buf[got] = '\0';
	return rc ? rc : (int)got;
}

int upci_parse_u64(const char *s, size_t len, int base, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (base == 0) {
		base = 10;
		if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			base = 16;
			i = 2;
		}
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + d;
	}
	*out = v;
	return 0;
}

/* The single line of @buf without its newline; a file without one is truncated. */
static int one_line(const char *buf, int n, size_t *len)
{
	if (n <= 0 || buf[n - 1] != '\n' || memchr(buf, '\n', (size_t)n - 1))
		return -EINVAL;
	*len = (size_t)n - 1;
	return 0;
}

int upci_read_u64(const char *path, uint64_t *out)
{
	char buf[64];
	size_t len;
	int n = upci_read_file(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	if (one_line(buf, n, &len))
		return -EINVAL;
	return upci_parse_u64(buf, len, 0, out);
}

int upci_read_int(const char *path, int *out)
{
	char buf[64];
	size_t len;
	uint64_t v;
	int neg, n = upci_read_file(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	if (one_line(buf, n, &len))
		return -EINVAL;
	neg = len > 0 && buf[0] == '-';
	if (upci_parse_u64(buf + neg, len - (size_t)neg, 10, &v) || v > (uint64_t)INT32_MAX + (uint64_t)neg)
		return -EINVAL;
	*out = neg ? (int)-(int64_t)v : (int)v;
	return 0;
}

int upci_read_link_name(const char *path, char *buf, size_t len)
{
	char full[UPCI_PATH_MAX], target[UPCI_PATH_MAX];
	const char *base;
	ssize_t n;
	int rc = upci_path(full, sizeof(full), "%s", path);

	if (rc)
		return rc;
	n = upci_kernel()->readlink(full, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target) - 1)
		return -ENAMETOOLONG; /* possibly cut short */
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (*base == '\0' || strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int upci_for_each_entry(const char *path, int (*fn)(const char *name, void *arg), void *arg)
{
	const struct upci_kernel_ops *k = upci_kernel();
	char full[UPCI_PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int rc = upci_path(full, sizeof(full), "%s", path);

	if (rc)
		return rc;
	dir = k->opendir(full);
	if (!dir)
		return -errno;
	while (!rc && (de = k->readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			rc = fn(de->d_name, arg);
	k->closedir(dir);
	return rc;
}
