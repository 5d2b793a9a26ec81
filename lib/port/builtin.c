/* SPDX-License-Identifier: BSD-3-Clause */
/* The drivers built into the library. Referenced here, so a static link keeps them. */
#include "builtin.h"

extern const struct upci_driver upci_e1000e_driver;

const struct upci_driver *const upci_builtin_drivers[] = {
	&upci_e1000e_driver,
	NULL,
};
