/* SPDX-License-Identifier: BSD-3-Clause */
/* The drivers built into the library (drivers/), NULL-terminated. A new driver adds one line to builtin.c. */
#ifndef UPCI_PORT_BUILTIN_H
#define UPCI_PORT_BUILTIN_H

#include "upci/driver.h"

extern const struct upci_driver *const upci_builtin_drivers[];

#endif
