/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci-probe — what the kernel says about PCI devices and their IOMMU groups (sysfs view).
 *
 * usage: upci-probe [--json] [--root DIR] [BDF...]
 * With no BDF, every PCI device. Exit status: 0 ok, 1 the system could not be read, 2 bad input
 * (malformed BDF, absent device, no IOMMU groups).
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upci/kernel.h"
#include "upci/pci.h"

#define MAX_RESV 32

enum { EXIT_BAD_INPUT = 2 };

struct dev_report {
	struct upci_pci_info info;
	struct upci_group_member *members;
	int n_members;
	struct upci_resv_region resv[MAX_RESV];
	int n_resv;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: upci-probe [--json] [--root DIR] [BDF...]\n"
		   "  BDF         a PCI address, 0000:00:02.0 or 00:02.0; none: every PCI device\n"
		   "  --json      machine-readable output\n"
		   "  --root DIR  read sysfs below DIR (a saved copy of another machine's /sys tree)\n");
}

/* Fill @r for @addr. Return: 0, or the exit status to end with (an error line is printed). */
static int collect(const struct upci_pci_addr *addr, struct dev_report *r)
{
	char name[UPCI_PCI_ADDR_STRLEN];
	int rc;

	memset(r, 0, sizeof(*r));
	upci_pci_addr_format(addr, name, sizeof(name));
	rc = upci_pci_info_read(addr, &r->info);
	if (rc == -ENODEV) {
		fprintf(stderr, "upci-probe: %s: no such PCI device (see lspci -D or /sys/bus/pci/devices)\n", name);
		return EXIT_BAD_INPUT;
	}
	if (rc)
		return EXIT_FAILURE;
	if (r->info.iommu_group < 0)
		return 0;
	rc = upci_iommu_group_members(r->info.iommu_group, &r->members);
	if (rc < 0)
		return EXIT_FAILURE;
	r->n_members = rc;
	rc = upci_iommu_group_reserved_regions(r->info.iommu_group, r->resv, MAX_RESV);
	if (rc < 0)
		return EXIT_FAILURE;
	r->n_resv = rc;
	return 0;
}

static const char *driver_or_none(const char *drv)
{
	return drv[0] ? drv : "none";
}

static void print_text(const struct dev_report *r)
{
	const struct upci_pci_info *i = &r->info;

	printf("%s  %04x:%04x  class %06x  driver %s  numa node %d\n", i->name, i->vendor, i->device,
	       i->class_code, driver_or_none(i->driver), i->numa_node);
	if (i->iommu_group < 0) {
		printf("  IOMMU group: none\n");
		return;
	}
	printf("  IOMMU group %d:", i->iommu_group);
	for (int m = 0; m < r->n_members; m++)
		printf(" %s [%s]", r->members[m].name, driver_or_none(r->members[m].driver));
	printf("\n  reserved regions:%s\n", r->n_resv ? "" : " none");
	for (int k = 0; k < r->n_resv; k++)
		printf("    %-16s 0x%016llx - 0x%016llx\n", upci_resv_type_name(r->resv[k].type),
		       (unsigned long long)r->resv[k].start, (unsigned long long)r->resv[k].end);
}

static json_object *json_hex(uint64_t v, int digits)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*llx", digits, (unsigned long long)v);
	return json_object_new_string(buf);
}

static json_object *json_report(const struct dev_report *r)
{
	const struct upci_pci_info *i = &r->info;
	json_object *o = json_object_new_object(), *members, *resv;

	json_object_object_add(o, "bdf", json_object_new_string(i->name));
	json_object_object_add(o, "vendor", json_hex(i->vendor, 4));
	json_object_object_add(o, "device", json_hex(i->device, 4));
	json_object_object_add(o, "class", json_hex(i->class_code, 6));
	json_object_object_add(o, "driver", i->driver[0] ? json_object_new_string(i->driver) : NULL);
	json_object_object_add(o, "numa_node", json_object_new_int(i->numa_node));
	json_object_object_add(o, "iommu_group", i->iommu_group < 0 ? NULL : json_object_new_int(i->iommu_group));
	members = json_object_new_array();
	for (int m = 0; m < r->n_members; m++) {
		json_object *mo = json_object_new_object();

		json_object_object_add(mo, "name", json_object_new_string(r->members[m].name));
		json_object_object_add(mo, "driver",
				       r->members[m].driver[0] ? json_object_new_string(r->members[m].driver) : NULL);
		json_object_array_add(members, mo);
	}
	json_object_object_add(o, "group_devices", members);
	resv = json_object_new_array();
	for (int k = 0; k < r->n_resv; k++) {
		json_object *ro = json_object_new_object();

		json_object_object_add(ro, "type", json_object_new_string(upci_resv_type_name(r->resv[k].type)));
		json_object_object_add(ro, "start", json_hex(r->resv[k].start, 16));
		json_object_object_add(ro, "end", json_hex(r->resv[k].end, 16));
		json_object_array_add(resv, ro);
	}
	json_object_object_add(o, "reserved_regions", resv);
	return o;
}

/* The devices named on the command line, or every PCI device. Return: count, or -(exit status). */
static int targets(int argc, char **argv, struct upci_pci_addr **out)
{
	struct upci_pci_addr *addrs;
	int n;

	if (argc == 0) {
		n = upci_pci_list(out);
		if (n < 0)
			return -EXIT_FAILURE;
		if (n == 0) {
			fprintf(stderr, "upci-probe: no PCI devices in /sys/bus/pci/devices\n");
			return -EXIT_BAD_INPUT;
		}
		return n;
	}
	addrs = calloc((size_t)argc, sizeof(*addrs));
	if (!addrs)
		return -EXIT_FAILURE;
	for (n = 0; n < argc; n++) {
		if (upci_pci_addr_parse(argv[n], &addrs[n])) {
			fprintf(stderr, "upci-probe: '%s' is not a PCI address (expected 0000:00:02.0 or 00:02.0)\n",
				argv[n]);
			free(addrs);
			return -EXIT_BAD_INPUT;
		}
	}
	*out = addrs;
	return argc;
}

static int no_iommu_groups(void)
{
	fprintf(stderr, "upci-probe: the kernel has no IOMMU groups: the IOMMU is off or absent; "
			"enable VT-d/AMD-Vi in firmware and boot with intel_iommu=on (or amd_iommu=on)\n");
	return EXIT_BAD_INPUT;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct upci_pci_addr *addrs = NULL;
	struct upci_kernel_ops rooted = *upci_kernel_real_ops();
	json_object *jdevs = NULL;
	int json = 0, n, c, status = 0;

	while ((c = getopt_long(argc, argv, "jr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rooted.root = optarg;
			upci_kernel_install(&rooted);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_BAD_INPUT;
		}
	}
	n = targets(argc - optind, argv + optind, &addrs);
	if (n < 0)
		return -n;
	if (json)
		jdevs = json_object_new_array();
	for (int d = 0; d < n && !status; d++) {
		struct dev_report r;

		status = collect(&addrs[d], &r);
		if (!status && r.info.iommu_group < 0 && upci_iommu_group_count() == 0)
			status = no_iommu_groups();
		if (!status) {
			if (json)
				json_object_array_add(jdevs, json_report(&r));
			else
				print_text(&r);
		}
		free(r.members);
	}
	if (json && !status) {
		json_object *root = json_object_new_object();

		json_object_object_add(root, "devices", json_object_get(jdevs));
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
	json_object_put(jdevs);
	free(addrs);
	return status;
}
