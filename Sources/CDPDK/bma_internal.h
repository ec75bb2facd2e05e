/* Shared between the shim's C files; not part of the Swift interface. */
#ifndef BMA_INTERNAL_H
#define BMA_INTERNAL_H

void bma_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The rx timestamp dynamic field, registered when a port enables timestamps (-1 until then). */
extern int bma_ts_offset;
extern uint64_t bma_ts_flag;

#endif
