/* /bma/... telemetry commands over values the main lcore publishes. */
#include <rte_config.h>
#include <rte_telemetry.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bma_telemetry.h"

typedef struct {
    char name[BMA_TEL_NAME];
    uint64_t value;
} value_t;

typedef struct {
    char name[BMA_TEL_NAME];
    unsigned n;
    value_t values[BMA_TEL_MAX_VALUES];
} record_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static record_t globals;
static record_t vms[BMA_TEL_MAX_VMS];
static unsigned n_vms;

static void put(record_t *r, const char *name, uint64_t v)
{
    if (r->n >= BMA_TEL_MAX_VALUES)
        return;
    snprintf(r->values[r->n].name, BMA_TEL_NAME, "%s", name);
    r->values[r->n].value = v;
    r->n++;
}

void bma_telemetry_begin(void)
{
    pthread_mutex_lock(&lock);
    globals.n = 0;
    n_vms = 0;
}

void bma_telemetry_global(const char *name, uint64_t value) { put(&globals, name, value); }

int bma_telemetry_vm(const char *name)
{
    if (n_vms >= BMA_TEL_MAX_VMS)
        return -1;
    record_t *r = &vms[n_vms];
    snprintf(r->name, BMA_TEL_NAME, "%s", name);
    r->n = 0;
    return (int)n_vms++;
}

void bma_telemetry_vm_value(int vm, const char *name, uint64_t value)
{
    if (vm >= 0 && (unsigned)vm < n_vms)
        put(&vms[vm], name, value);
}

void bma_telemetry_commit(void) { pthread_mutex_unlock(&lock); }

static void dict(struct rte_tel_data *d, const record_t *r)
{
    rte_tel_data_start_dict(d);
    for (unsigned i = 0; i < r->n; i++)
        rte_tel_data_add_dict_u64(d, r->values[i].name, r->values[i].value);
}

static int on_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    (void)params;
    pthread_mutex_lock(&lock);
    dict(d, &globals);
    pthread_mutex_unlock(&lock);
    return 0;
}

static int on_vms(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    (void)params;
    rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < n_vms; i++)
        rte_tel_data_add_array_string(d, vms[i].name);
    pthread_mutex_unlock(&lock);
    return 0;
}

static int on_vm(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    if (params == NULL || params[0] == '\0')
        return -1;
    int rc = -1;
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < n_vms; i++) {
        if (strcmp(vms[i].name, params) == 0) {
            dict(d, &vms[i]);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int bma_telemetry_register(void)
{
    int rc = rte_telemetry_register_cmd("/bma/stats", on_stats, "bmad totals. No parameters");
    rc |= rte_telemetry_register_cmd("/bma/vms", on_vms, "The VMs bmad serves. No parameters");
    rc |= rte_telemetry_register_cmd("/bma/vm", on_vm, "One VM's counters. Parameters: VM name");
    return rc;
}
