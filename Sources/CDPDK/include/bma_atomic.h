/* Relaxed loads and stores for fields one thread writes and others read (counters, the VM MAC
 * table). No read-modify-write on the packet path: each field has a single writer. */
#ifndef BMA_ATOMIC_H
#define BMA_ATOMIC_H

#include <stdint.h>

static inline uint64_t bma_load_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void bma_store_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t bma_load_acquire_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void bma_store_release_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Compare-and-swap for the one-slot control mailbox (never on the packet path's counters). */
static inline int bma_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

#endif
