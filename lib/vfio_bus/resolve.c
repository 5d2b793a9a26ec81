/* SPDX-License-Identifier: BSD-3-Clause */
/* Device strings: BDF, vendor:device[#n], or the SR-IOV device plugin's PCIDEVICE_* environment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sysfs_io.h"
#include "upci/log.h"
#include "device_internal.h"

extern char **environ;

/* "vvvv:dddd" or "vvvv:dddd#n". Return: 0, -EINVAL when @spec is not of that form. */
static int parse_id_spec(const char *spec, uint16_t *vendor, uint16_t *device, unsigned *nth)
{
	uint64_t v, d, n = 0;
	const char *hash = strchr(spec, '#');
	size_t idlen = hash ? (size_t)(hash - spec) : strlen(spec);

	if (idlen != 9 || spec[4] != ':' || upci_parse_u64(spec, 4, 16, &v) || upci_parse_u64(spec + 5, 4, 16, &d))
		return -EINVAL;
	if (hash && (upci_parse_u64(hash + 1, strlen(hash + 1), 10, &n) || n > 4096))
		return -EINVAL;
	*vendor = (uint16_t)v;
	*device = (uint16_t)d;
	*nth = (unsigned)n;
	return 0;
}

static int resolve_by_id(const char *spec, uint16_t vendor, uint16_t device, unsigned nth,
			 struct upci_pci_addr *out)
{
	struct upci_pci_addr *all = NULL;
	unsigned seen = 0;
	int n = upci_pci_list(&all), rc = -ENODEV;

	for (int i = 0; i < n; i++) {
		struct upci_pci_info info;

		if (upci_pci_info_read(&all[i], &info) || info.vendor != vendor || info.device != device)
			continue;
		if (seen++ == nth) {
			*out = all[i];
			rc = 0;
			break;
		}
	}
	free(all);
	if (n < 0)
		return n;
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: no such device (%u device(s) %04x:%04x present; '#n' counts from 0)",
			 spec, seen, vendor, device);
	return rc;
}

/* The length of a variable's name (up to '='). */
static size_t name_len(const char *var)
{
	return (size_t)(strchr(var, '=') - var);
}

static int cmp_names(const char *a, const char *b)
{
	size_t la = name_len(a), lb = name_len(b);
	int c = memcmp(a, b, la < lb ? la : lb);

	return c ? c : (la > lb) - (la < lb);
}

/* The variable that sorts right after @prev (NULL: the first), among the PCIDEVICE_* ones. */
static const char *next_env_var(const char *prev)
{
	const char *best = NULL;

	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, "PCIDEVICE_", 10) && strchr(*e, '=') && (!prev || cmp_names(*e, prev) > 0) &&
		    (!best || cmp_names(*e, best) < 0))
			best = *e;
	return best;
}

/* The @nth BDF (from 0) of the PCIDEVICE_* variables: variables in name order, each one's list in order. */
static int resolve_from_env(unsigned nth, struct upci_pci_addr *out)
{
	const char *var = next_env_var(NULL), *val = NULL;
	char bdf[UPCI_PCI_ADDR_STRLEN];
	unsigned seen = 0;
	size_t len = 0;

	if (!var) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "no device given and no PCIDEVICE_<RESOURCE>=<bdf> variable in the "
			 "environment: name a device (0000:00:02.0 or 8086:10d3)");
		return -ENODEV;
	}
	/* Each variable holds one entry or more, comma-separated; an empty value is one (empty) entry. */
	for (; var; var = next_env_var(var)) {
		for (val = var + name_len(var) + 1;; val += len + 1) {
			len = strcspn(val, ",");
			if (seen++ == nth)
				goto found;
			if (val[len] != ',')
				break;
		}
	}
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "PCIDEVICE_* variables list %u device(s); device #%u was asked for", seen, nth);
	return -ENODEV;
found:
	if (len > 0 && len < sizeof(bdf)) {
		memcpy(bdf, val, len);
		bdf[len] = '\0';
		if (upci_pci_addr_parse(bdf, out) == 0)
			return 0;
	}
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "%.*s: '%.*s' is not a PCI address", (int)name_len(var), var,
		 (int)(len > 40 ? 40 : len), val);
	return -EINVAL;
}

/* "#n": the n-th device of the PCIDEVICE_* variables. Return: 0, -EINVAL when @spec is not of that form. */
static int parse_env_index(const char *spec, unsigned *nth)
{
	char *end;
	unsigned long n;

	if (spec[0] != '#' || spec[1] < '0' || spec[1] > '9')
		return -EINVAL;
	n = strtoul(spec + 1, &end, 10);
	if (*end || n > 255)
		return -EINVAL;
	*nth = (unsigned)n;
	return 0;
}

int upci_dev_resolve(const char *spec, struct upci_pci_addr *out)
{
	uint16_t vendor, device;
	unsigned nth;

	if (!out)
		return -EINVAL;
	if (!spec || !*spec)
		return resolve_from_env(0, out);
	if (parse_env_index(spec, &nth) == 0)
		return resolve_from_env(nth, out);
	if (upci_pci_addr_parse(spec, out) == 0)
		return 0;
	if (parse_id_spec(spec, &vendor, &device, &nth) == 0)
		return resolve_by_id(spec, vendor, device, nth, out);
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "'%s' is not a device: use 0000:00:02.0, 00:02.0, 8086:10d3[#n] or #n "
		 "(the n-th PCIDEVICE_* address)", spec);
	return -EINVAL;
}
