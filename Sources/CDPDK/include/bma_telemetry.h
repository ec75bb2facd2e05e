/* DPDK telemetry for bmad: `dpdk-telemetry.py -f PREFIX` answers /bma/stats, /bma/vms and
 * /bma/vm,NAME. The main lcore publishes values about once a second; the telemetry thread reads
 * them under a lock that the packet path never touches. */
#ifndef BMA_TELEMETRY_H
#define BMA_TELEMETRY_H

#include <stdint.h>

#define BMA_TEL_MAX_VMS 256
#define BMA_TEL_MAX_VALUES 48
#define BMA_TEL_NAME 40

/* Registers the /bma/... commands; call once after EAL init. 0 on success. */
int bma_telemetry_register(void);

/* Publishing: begin, add values, commit. Values replace the previous set. */
void bma_telemetry_begin(void);
void bma_telemetry_global(const char *name, uint64_t value);
/* Starts the next VM's record; returns its index or -1 when full. */
int bma_telemetry_vm(const char *name);
void bma_telemetry_vm_value(int vm, const char *name, uint64_t value);
void bma_telemetry_commit(void);

#endif
