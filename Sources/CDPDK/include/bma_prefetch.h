/* A cache-line prefetch for Swift code, which has no intrinsic for it. Inline: no call. */
#ifndef BMA_PREFETCH_H
#define BMA_PREFETCH_H

static inline void bma_prefetch(const void *p)
{
    __builtin_prefetch(p, 0, 3);
}

#endif
