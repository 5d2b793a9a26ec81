/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci-probe — what the kernel says about PCI devices: sysfs (identity, driver, IOMMU group, reserved
 * regions) and, for devices bound to vfio-pci, the VFIO view (backend, MSI isolation, regions, MSI-X,
 * interrupts, valid IOVA ranges). Opening a device through VFIO resets it, as any VFIO user does.
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

#include <linux/vfio.h>

#include "upci/dma.h"
#include "upci/io.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci/msix.h"
#include "upci/pci.h"
#include "upci/version.h"
#include "upci/vfio.h"

#define MAX_RESV 32
#define MAX_RANGES 32

enum { EXIT_BAD_INPUT = 2 };

struct dev_report {
	struct upci_pci_info info;
	struct upci_group_member *members;
	int n_members;
	struct upci_resv_region resv[MAX_RESV];
	int n_resv;
	struct upci_dev *dev;          /* open through VFIO when bound to vfio-pci */
	int vfio_error;                /* negative errno when the VFIO open failed */
	struct upci_iova_range ranges[MAX_RANGES];
	int n_ranges;
	struct upci_doorbell_window windows[MAX_RESV];
	int n_windows;
	struct upci_iova_range usable[MAX_RANGES];
	int n_usable;
	struct entry_report *entries;  /* one per MSI-X vector */
	int n_entries;
	bool programmed;               /* the probe enabled the vectors for the reading */
	int program_error;             /* enabling the vectors for the reading failed (negative errno) */
};

/* One MSI-X table entry: where the device's MSI write goes, and which doorbell window that is. */
struct entry_report {
	int rc;                        /* of upci_msix_msg_read() */
	struct upci_msix_msg msg;
	int window_rc;                 /* of upci_msix_msg_window() */
	struct upci_doorbell_window window;
};

static enum upci_backend backend = UPCI_BACKEND_AUTO;
static int no_vfio;
static int no_msix_program;

static void usage(FILE *f)
{
	fprintf(f, "Usage: upci-probe [--json] [--backend auto|type1|iommufd] [--no-vfio] [--no-msix-program] [--root DIR] [BDF...]\n"
		   "What the kernel says about PCI devices: sysfs (identity, driver, IOMMU group, reserved regions) and,\n"
		   "for devices on vfio-pci, the VFIO view (backend, MSI isolation, regions, MSI-X, IRQs, IOVA ranges).\n"
		   "\n"
		   "  BDF          a PCI address, 0000:00:02.0 or 00:02.0; none: every PCI device\n"
		   "  --json       machine-readable output\n"
		   "  --backend B  how to open vfio-pci devices (default: auto, or $UPCI_BACKEND)\n"
		   "  --no-vfio    sysfs only: do not open vfio-pci devices (opening resets them)\n"
		   "  --no-msix-program  read the MSI-X table as it is; by default every vector is enabled for the\n"
		   "               reading (so the kernel programs its doorbell address) and disabled again\n"
		   "  --root DIR   read sysfs below DIR (a saved copy of another machine's /sys tree; implies --no-vfio)\n"
		   "  -h, --help   this text\n"
		   "  -V, --version  the version\n"
		   "\n"
		   "Exit status: 0 done; 1 the system cannot be read or a vfio-pci device cannot be opened; 2 bad input\n"
		   "(malformed BDF, absent device, a kernel with no IOMMU groups).\n");
}

/* The MSI-X table entries (with the vectors enabled, unless --no-msix-program) and their doorbell windows. */
static void collect_msix(struct dev_report *r)
{
	const struct upci_msix_layout *m = upci_dev_msix(r->dev);
	struct upci_irqs *irqs = NULL;

	if (!m->present || !m->vectors || !(r->entries = calloc(m->vectors, sizeof(*r->entries))))
		return;
	r->n_entries = m->vectors;
	if (!no_msix_program && m->table_mapped) {
		r->program_error = upci_irqs_open(r->dev, UPCI_IRQ_MSIX, &irqs);
		if (!r->program_error)
			r->program_error = upci_irqs_enable(irqs, 0, m->vectors);
		r->programmed = !r->program_error;
	}
	for (int v = 0; v < r->n_entries; v++) {
		struct entry_report *e = &r->entries[v];

		e->rc = upci_msix_msg_read(r->dev, (unsigned)v, &e->msg);
		e->window_rc = e->rc ? e->rc : upci_msix_msg_window(r->dev, e->msg.address, &e->window);
	}
	upci_irqs_close(irqs);
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
	if (no_vfio || !strstr(r->info.driver, "vfio"))
		return 0;
	{
		struct upci_dev_opts opts = { .backend = backend };

		r->vfio_error = upci_dev_open(r->info.name, &opts, &r->dev);
		if (!r->vfio_error) {
			struct upci_iommu *m = upci_dev_iommu(r->dev);

			r->n_ranges = upci_iommu_iova_ranges(m, r->ranges, MAX_RANGES);
			r->n_windows = upci_iommu_doorbell_windows(m, r->windows, MAX_RESV);
			r->n_usable = upci_iommu_usable_ranges(m, r->usable, MAX_RANGES);
			collect_msix(r);
		}
	}
	return 0;
}

static const char *const irq_names[] = { "intx", "msi", "msix", "err", "req" };

static void region_flags(const struct upci_region *g, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", g->flags & VFIO_REGION_INFO_FLAG_READ ? "r" : "-",
		 g->flags & VFIO_REGION_INFO_FLAG_WRITE ? "w" : "-", g->flags & VFIO_REGION_INFO_FLAG_MMAP ? "m" : "-",
		 g->flags & VFIO_REGION_INFO_FLAG_CAPS ? "c" : "-");
}

static bool region_mapped_whole(struct upci_dev *dev, unsigned i)
{
	const struct upci_bar *bar = upci_dev_bar(dev, i);

	return bar && bar->size && upci_bar_is_mapped(bar, 0, bar->size);
}

static void print_msix_entries(const struct dev_report *r)
{
	if (r->n_entries && r->entries[0].rc == -EACCES) {
		printf("  MSI-X entries: unreadable (the table is not mapped; the kernel hides it)\n");
		return;
	}
	if (r->program_error)
		printf("  MSI-X entries as found: enabling the vectors failed (%s)\n", strerror(-r->program_error));
	for (int v = 0; v < r->n_entries; v++) {
		const struct entry_report *e = &r->entries[v];

		if (e->rc) {
			printf("  MSI-X vector %d: unreadable (%s)\n", v, strerror(-e->rc));
			continue;
		}
		printf("  MSI-X vector %d: address 0x%016llx data 0x%08x%s: ", v, (unsigned long long)e->msg.address,
		       e->msg.data, e->msg.masked ? " masked" : "");
		if (e->window_rc)
			printf("in no doorbell window\n");
		else
			printf("in the %s 0x%llx-0x%llx\n", e->window.name, (unsigned long long)e->window.start,
			       (unsigned long long)e->window.last);
	}
}

static void print_vfio_text(const struct dev_report *r)
{
	struct upci_dev *dev = r->dev;
	const struct upci_msix_layout *m;
	const char *why;
	bool iso;

	if (r->vfio_error) {
		printf("  VFIO: cannot open: %s\n", strerror(-r->vfio_error));
		return;
	}
	if (!dev)
		return;
	iso = upci_dev_msi_isolated(dev, &why);
	printf("  VFIO backend %s; MSI isolation: %s (%s)\n", upci_backend_name(upci_dev_backend(dev)), iso ? "yes" : "no", why);
	for (unsigned i = 0; i < upci_dev_region_count(dev); i++) {
		const struct upci_region *g = upci_dev_region(dev, i);
		char fl[8];

		if (!g->size)
			continue;
		region_flags(g, fl, sizeof(fl));
		printf("  region %u: size 0x%llx flags %s%s%s", i, (unsigned long long)g->size, fl,
		       g->msix_mappable ? " msix-mappable" : "", region_mapped_whole(dev, i) ? " mapped-whole" : "");
		for (uint32_t s = 0; s < g->n_sparse; s++)
			printf(" sparse[0x%llx+0x%llx]", (unsigned long long)g->sparse[s].offset,
			       (unsigned long long)g->sparse[s].size);
		printf("\n");
	}
	m = upci_dev_msix(dev);
	if (m->present)
		printf("  MSI-X: %u vectors, table BAR %u + 0x%x, PBA BAR %u + 0x%x; table %s\n", m->vectors, m->table_bar,
		       m->table_offset, m->pba_bar, m->pba_offset, m->why);
	print_msix_entries(r);
	for (unsigned i = 0; i < 5; i++) {
		struct upci_irq_info irq;

		if (upci_dev_irq_info(dev, i, &irq) == 0 && irq.count)
			printf("  irq %s: %u%s\n", irq_names[i], irq.count,
			       i == VFIO_PCI_MSIX_IRQ_INDEX ? (irq.flags & VFIO_IRQ_INFO_NORESIZE ? " (fixed set: NORESIZE)"
												 : " (can grow: no NORESIZE)") : "");
	}
	for (int k = 0; k < r->n_ranges; k++)
		printf("  valid IOVA 0x%016llx - 0x%016llx\n", (unsigned long long)r->ranges[k].start,
		       (unsigned long long)r->ranges[k].last);
	for (int k = 0; k < r->n_windows; k++)
		printf("  doorbell window 0x%016llx - 0x%016llx: %s (%s)\n", (unsigned long long)r->windows[k].start,
		       (unsigned long long)r->windows[k].last, r->windows[k].name,
		       r->windows[k].kernel_managed ? "kernel-managed" : "placed by upci");
	for (int k = 0; k < r->n_usable; k++)
		printf("  allocator hands out 0x%016llx - 0x%016llx\n", (unsigned long long)r->usable[k].start,
		       (unsigned long long)r->usable[k].last);
	if (upci_iommu_dma_avail(upci_dev_iommu(dev)) >= 0)
		printf("  DMA mappings available: %ld\n", upci_iommu_dma_avail(upci_dev_iommu(dev)));
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
	print_vfio_text(r);
}

static json_object *json_hex(uint64_t v, int digits)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*llx", digits, (unsigned long long)v);
	return json_object_new_string(buf);
}

static json_object *json_regions(struct upci_dev *dev)
{
	json_object *arr = json_object_new_array();

	for (unsigned i = 0; i < upci_dev_region_count(dev); i++) {
		const struct upci_region *g = upci_dev_region(dev, i);
		json_object *o = json_object_new_object(), *sp = json_object_new_array();
		char fl[8];

		region_flags(g, fl, sizeof(fl));
		json_object_object_add(o, "index", json_object_new_int((int)i));
		json_object_object_add(o, "size", json_hex(g->size, 1));
		json_object_object_add(o, "flags", json_object_new_string(fl));
		json_object_object_add(o, "msix_mappable", json_object_new_boolean(g->msix_mappable));
		json_object_object_add(o, "mapped_whole", json_object_new_boolean(region_mapped_whole(dev, i)));
		for (uint32_t s = 0; s < g->n_sparse; s++) {
			json_object *a = json_object_new_object();

			json_object_object_add(a, "offset", json_hex(g->sparse[s].offset, 1));
			json_object_object_add(a, "size", json_hex(g->sparse[s].size, 1));
			json_object_array_add(sp, a);
		}
		json_object_object_add(o, "sparse", sp);
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *json_msix_entry(int vector, const struct entry_report *e)
{
	json_object *o = json_object_new_object(), *w = NULL;

	json_object_object_add(o, "vector", json_object_new_int(vector));
	json_object_object_add(o, "address", e->rc ? NULL : json_hex(e->msg.address, 16));
	json_object_object_add(o, "data", e->rc ? NULL : json_hex(e->msg.data, 8));
	json_object_object_add(o, "masked", e->rc ? NULL : json_object_new_boolean(e->msg.masked));
	if (!e->window_rc) {
		w = json_object_new_object();
		json_object_object_add(w, "name", json_object_new_string(e->window.name));
		json_object_object_add(w, "start", json_hex(e->window.start, 16));
		json_object_object_add(w, "last", json_hex(e->window.last, 16));
	}
	json_object_object_add(o, "window", w);
	if (e->rc)
		json_object_object_add(o, "unreadable", json_object_new_string(e->rc == -EACCES ?
			"the table is not mapped (no MSI isolation): the kernel hides it" : strerror(-e->rc)));
	return o;
}

static json_object *json_msix(const struct dev_report *r)
{
	struct upci_dev *dev = r->dev;
	const struct upci_msix_layout *m = upci_dev_msix(dev);
	struct upci_irq_info irq = { 0 };
	json_object *o = json_object_new_object(), *entries = json_object_new_array();

	upci_dev_irq_info(dev, VFIO_PCI_MSIX_IRQ_INDEX, &irq);
	json_object_object_add(o, "present", json_object_new_boolean(m->present));
	json_object_object_add(o, "vectors", json_object_new_int(m->vectors));
	json_object_object_add(o, "table_bar", json_object_new_int(m->table_bar));
	json_object_object_add(o, "table_offset", json_hex(m->table_offset, 1));
	json_object_object_add(o, "pba_bar", json_object_new_int(m->pba_bar));
	json_object_object_add(o, "pba_offset", json_hex(m->pba_offset, 1));
	json_object_object_add(o, "table_mapped", json_object_new_boolean(m->table_mapped));
	json_object_object_add(o, "table_mapped_why", json_object_new_string(m->why));
	json_object_object_add(o, "can_grow", json_object_new_boolean(irq.count && !(irq.flags & VFIO_IRQ_INFO_NORESIZE)));
	json_object_object_add(o, "programmed", json_object_new_boolean(r->programmed));
	if (r->program_error)
		json_object_object_add(o, "program_error", json_object_new_string(strerror(-r->program_error)));
	for (int v = 0; v < r->n_entries; v++)
		json_object_array_add(entries, json_msix_entry(v, &r->entries[v]));
	json_object_object_add(o, "entries", entries);
	return o;
}

static void json_vfio(json_object *o, const struct dev_report *r)
{
	struct upci_dev *dev = r->dev;
	json_object *irqs, *ranges;
	const char *why;

	if (r->vfio_error) {
		json_object_object_add(o, "vfio_error", json_object_new_string(strerror(-r->vfio_error)));
		return;
	}
	json_object_object_add(o, "backend", json_object_new_string(upci_backend_name(upci_dev_backend(dev))));
	json_object_object_add(o, "isolated", json_object_new_boolean(upci_dev_msi_isolated(dev, &why)));
	json_object_object_add(o, "isolation_reason", json_object_new_string(why));
	json_object_object_add(o, "regions", json_regions(dev));
	json_object_object_add(o, "msix", json_msix(r));
	irqs = json_object_new_object();
	for (unsigned i = 0; i < 5; i++) {
		struct upci_irq_info irq;

		if (upci_dev_irq_info(dev, i, &irq) == 0) {
			json_object *io = json_object_new_object();

			json_object_object_add(io, "count", json_object_new_int((int)irq.count));
			json_object_object_add(io, "flags", json_hex(irq.flags, 1));
			json_object_object_add(irqs, irq_names[i], io);
		}
	}
	json_object_object_add(o, "irqs", irqs);
	ranges = json_object_new_array();
	for (int k = 0; k < r->n_ranges; k++) {
		json_object *ro = json_object_new_object();

		json_object_object_add(ro, "start", json_hex(r->ranges[k].start, 16));
		json_object_object_add(ro, "last", json_hex(r->ranges[k].last, 16));
		json_object_array_add(ranges, ro);
	}
	json_object_object_add(o, "iova_ranges", ranges);
	ranges = json_object_new_array();
	for (int k = 0; k < r->n_windows; k++) {
		json_object *wo = json_object_new_object();

		json_object_object_add(wo, "start", json_hex(r->windows[k].start, 16));
		json_object_object_add(wo, "last", json_hex(r->windows[k].last, 16));
		json_object_object_add(wo, "name", json_object_new_string(r->windows[k].name));
		json_object_object_add(wo, "kernel_managed", json_object_new_boolean(r->windows[k].kernel_managed));
		json_object_array_add(ranges, wo);
	}
	json_object_object_add(o, "doorbell_windows", ranges);
	ranges = json_object_new_array();
	for (int k = 0; k < r->n_usable; k++) {
		json_object *ro = json_object_new_object();

		json_object_object_add(ro, "start", json_hex(r->usable[k].start, 16));
		json_object_object_add(ro, "last", json_hex(r->usable[k].last, 16));
		json_object_array_add(ranges, ro);
	}
	json_object_object_add(o, "usable_iova_ranges", ranges);
	json_object_object_add(o, "dma_avail", json_object_new_int64(upci_iommu_dma_avail(upci_dev_iommu(dev))));
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
	if (r->dev || r->vfio_error)
		json_vfio(o, r);
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
		{ "backend", required_argument, NULL, 'b' },
		{ "no-vfio", no_argument, NULL, 'n' },
		{ "no-msix-program", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct upci_pci_addr *addrs = NULL;
	struct upci_kernel_ops rooted = *upci_kernel_real_ops();
	json_object *jdevs = NULL;
	int json = 0, n, c, status = 0;

	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, "jr:b:nmhV", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (upci_backend_parse(optarg, &backend)) {
				fprintf(stderr, "upci-probe: --backend takes auto, type1 or iommufd\n");
				return EXIT_BAD_INPUT;
			}
			break;
		case 'n':
			no_vfio = 1;
			break;
		case 'm':
			no_msix_program = 1;
			break;
		case 'r':
			rooted.root = optarg;
			upci_kernel_install(&rooted);
			no_vfio = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("upci-probe (upci) %s\n", UPCI_VERSION_STRING);
			return 0;
		default:
			fprintf(stderr, "upci-probe: unknown option or missing argument: '%s' (upci-probe --help)\n",
				argv[optind - 1]);
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
		if (!status && r.vfio_error)
			status = EXIT_FAILURE; /* reported in the output; the run as a whole failed */
		upci_dev_close(r.dev);
		free(r.members);
		free(r.entries);
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
