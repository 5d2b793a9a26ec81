/* SPDX-License-Identifier: BSD-3-Clause */
/* The driver registry: id tables matched against a device's vendor:device. The built-in drivers are
 * registered on first use (no constructors: a static link would drop a driver nothing references). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#include "builtin.h"
#include "upci/driver.h"
#include "upci/log.h"

#define MAX_DRIVERS 32

static const struct upci_driver *drivers[MAX_DRIVERS];
static unsigned n_drivers;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static bool ops_complete(const struct upci_driver_ops *o)
{
	return o && o->init && o->rx_queue_setup && o->tx_queue_setup && o->start && o->stop && o->close &&
	       o->rx_burst && o->tx_burst && o->tx_clean && o->rx_ready && o->rx_arm && o->rx_disarm && o->link_get &&
	       o->stats;
}

static const struct upci_driver *find_locked(uint16_t vendor, uint16_t device)
{
	for (unsigned d = 0; d < n_drivers; d++)
		for (unsigned i = 0; i < drivers[d]->n_ids; i++)
			if (drivers[d]->ids[i].vendor == vendor && drivers[d]->ids[i].device == device)
				return drivers[d];
	return NULL;
}

static int register_locked(const struct upci_driver *drv)
{
	if (!drv || !drv->name || !drv->ids || !drv->n_ids || !ops_complete(drv->ops)) {
		upci_log(UPCI_LOG_ERR, "driver", "driver %s: a name, an id table and every required op are needed",
			 drv && drv->name ? drv->name : "(unnamed)");
		return -EINVAL;
	}
	for (unsigned d = 0; d < n_drivers; d++) {
		if (drivers[d] == drv) {
			upci_log(UPCI_LOG_ERR, "driver", "driver %s is registered already", drv->name);
			return -EEXIST;
		}
	}
	for (unsigned i = 0; i < drv->n_ids; i++) {
		const struct upci_driver *owner = find_locked(drv->ids[i].vendor, drv->ids[i].device);

		if (owner) {
			upci_log(UPCI_LOG_ERR, "driver", "driver %s: %04x:%04x is already handled by driver %s", drv->name,
				 drv->ids[i].vendor, drv->ids[i].device, owner->name);
			return -EEXIST;
		}
	}
	if (n_drivers == MAX_DRIVERS) {
		upci_log(UPCI_LOG_ERR, "driver", "driver %s: the registry is full (%u drivers)", drv->name, MAX_DRIVERS);
		return -ENOSPC;
	}
	drivers[n_drivers++] = drv;
	return 0;
}

static void register_builtin(void)
{
	pthread_mutex_lock(&registry_lock);
	for (const struct upci_driver *const *d = upci_builtin_drivers; *d; d++)
		(void)register_locked(*d);
	pthread_mutex_unlock(&registry_lock);
}

int upci_driver_register(const struct upci_driver *drv)
{
	int rc;

	pthread_once(&builtin_once, register_builtin);
	pthread_mutex_lock(&registry_lock);
	rc = register_locked(drv);
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int upci_driver_unregister(const struct upci_driver *drv)
{
	int rc = -ENOENT;

	pthread_once(&builtin_once, register_builtin);
	pthread_mutex_lock(&registry_lock);
	for (unsigned d = 0; d < n_drivers; d++) {
		if (drivers[d] != drv)
			continue;
		drivers[d] = drivers[--n_drivers];
		drivers[n_drivers] = NULL;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&registry_lock);
	if (rc)
		upci_log(UPCI_LOG_ERR, "driver", "driver %s: not registered", drv && drv->name ? drv->name : "(unnamed)");
	return rc;
}

const struct upci_driver *upci_driver_match(uint16_t vendor, uint16_t device)
{
	const struct upci_driver *drv;

	pthread_once(&builtin_once, register_builtin);
	pthread_mutex_lock(&registry_lock);
	drv = find_locked(vendor, device);
	pthread_mutex_unlock(&registry_lock);
	return drv;
}

unsigned upci_driver_count(void)
{
	unsigned n;

	pthread_once(&builtin_once, register_builtin);
	pthread_mutex_lock(&registry_lock);
	n = n_drivers;
	pthread_mutex_unlock(&registry_lock);
	return n;
}
