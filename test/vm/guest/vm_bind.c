/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest helper of the upci-bind VM test.
 *   vm_bind as UID GID MEMLOCK_KIB -- COMMAND [ARG...]   run COMMAND as UID:GID (no supplementary groups) with
 *                                                      RLIMIT_MEMLOCK of MEMLOCK_KIB KiB (0: leave it)
 *   vm_bind port BDF                                   open a port with the default configuration, start it,
 *                                                      close it (what a program like l2fwd pins per port)
 * Exit status: 0 done, 1 the port or the exec failed (the library's line or the reason on stderr), 2 usage.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "upci/port.h"

static int run_as(char **argv)
{
	uid_t uid = (uid_t)strtoul(argv[0], NULL, 10);
	gid_t gid = (gid_t)strtoul(argv[1], NULL, 10);
	unsigned long long kib = strtoull(argv[2], NULL, 10);
	struct rlimit rl = { kib << 10, kib << 10 };

	if (strcmp(argv[3], "--") || !argv[4])
		return 2;
	if (kib && setrlimit(RLIMIT_MEMLOCK, &rl)) {
		perror("vm_bind: setrlimit(RLIMIT_MEMLOCK)");
		return 1;
	}
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
		perror("vm_bind: dropping to the uid");
		return 1;
	}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "vm_bind: exec %s: %s\n", argv[4], strerror(errno));
	return 1;
}

static int open_port(const char *bdf)
{
	struct upci_port *port;
	int rc = upci_port_open(bdf, NULL, &port);

	if (rc) {
		fprintf(stderr, "vm_bind: port %s: %s\n", bdf, strerror(-rc));
		return 1;
	}
	rc = upci_port_start(port);
	printf("port %s opened and %s as uid %d\n", bdf, rc ? "did not start" : "started", (int)getuid());
	upci_port_close(port);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && !strcmp(argv[1], "as"))
		return run_as(argv + 2);
	if (argc == 3 && !strcmp(argv[1], "port"))
		return open_port(argv[2]);
	fprintf(stderr, "usage: vm_bind as UID GID MEMLOCK_KIB -- COMMAND... | vm_bind port BDF\n");
	return 2;
}
