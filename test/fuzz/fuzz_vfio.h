/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the harnesses that run the library against the fake VFIO kernel (test/unit/fake_vfio.c). */
#ifndef UPCI_FUZZ_VFIO_H
#define UPCI_FUZZ_VFIO_H

#include <stdlib.h>

#include "fuzz_common.h"
#include "test/unit/fake_vfio.h"

static struct fake_vfio *fuzz_vfio_world;

static inline void fuzz_vfio_cleanup(void)
{
	fake_vfio_cleanup(fuzz_vfio_world);
}

/* Install @f quiet, with both backends offered (iommufd and cdev too), torn down at exit. */
static inline void fuzz_vfio_init(struct fake_vfio *f)
{
	fuzz_quiet();
	unsetenv("UPCI_BACKEND");
	if (fake_vfio_init(f))
		abort();
	fake_vfio_enable_iommufd(f);
	fuzz_vfio_world = f;
	atexit(fuzz_vfio_cleanup);
}

#endif
