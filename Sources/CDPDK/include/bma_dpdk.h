/* The plain-C face of DPDK for the Swift dataplane.
 *
 * Swift cannot import struct rte_mbuf or DPDK's function-like macros, so everything that touches
 * DPDK lives behind these prefixed functions with opaque handles and POD structs. Per-packet work
 * happens here, once per burst: one call receives and parses a burst, one call sends one.
 */
#ifndef BMA_DPDK_H
#define BMA_DPDK_H

#include <stdint.h>
#include <stddef.h>
#include "bma_packet.h"

typedef struct bma_mbuf bma_mbuf_t;       /* struct rte_mbuf */
typedef struct bma_mempool bma_mempool_t; /* struct rte_mempool */

#define BMA_BURST 32

/* ---- EAL and lcores ---- */

/* rte_eal_init; returns how many arguments EAL consumed, or -1 with bma_last_error() set. */
int bma_eal_init(int argc, char **argv);
void bma_eal_cleanup(void);
const char *bma_last_error(void);
unsigned bma_lcore_main(void);
/* Fills ids with the worker (non-main) lcores; returns how many. */
unsigned bma_lcore_workers(unsigned *ids, unsigned cap);
int bma_lcore_launch(unsigned lcore, int (*fn)(void *), void *arg);
int bma_lcore_wait(unsigned lcore);
int bma_socket_id(void);

/* ---- time ---- */
uint64_t bma_tsc(void);
uint64_t bma_tsc_hz(void);

/* ---- signals: the handlers only set flags ---- */
void bma_signals_install(void);
int bma_stop_requested(void);
void bma_request_stop(void);
/* Returns 1 once per SIGUSR1 received. */
int bma_take_usr1(void);

/* ---- mempools ---- */
bma_mempool_t *bma_pool_create(const char *name, unsigned n, unsigned cache, uint16_t data_room,
                               int socket);
void bma_pool_free(bma_mempool_t *pool);

/* ---- ports ---- */

typedef struct bma_port_info {
    char driver[64];
    char name[96];
    uint64_t mac;          /* 48-bit, as in bma_pkt_t */
    uint16_t max_rx_queues;
    uint16_t max_tx_queues;
    int socket;
    int rx_timestamp;      /* 1 for net_pcap, whose mbufs carry the capture time */
} bma_port_info_t;

typedef struct bma_port_stats {
    uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
} bma_port_stats_t;

/* Attaches a device by devargs ("net_pcap0,rx_pcap=f.pcap", "0000:01:00.0", ...) or finds it
 * when EAL already probed it. Returns the port id, or -1 with bma_last_error() set. */
int bma_port_attach(const char *devargs);
int bma_port_info(uint16_t port, bma_port_info_t *info);
/* Configures rx/tx queues (rx timestamps when the port offers them), starts, sets promiscuous. */
int bma_port_start(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t rx_desc,
                   uint16_t tx_desc, bma_mempool_t *pool);
void bma_port_stop_close(uint16_t port);
/* 1 up, 0 down, -1 unknown. Never blocks. */
int bma_port_link_up(uint16_t port);
/* Finds the rx timestamp field that net_pcap registers; call after the ports started.
 * Returns 1 when capture times are available. */
int bma_timestamps_lookup(void);
int bma_port_stats(uint16_t port, bma_port_stats_t *stats);

/* ---- bursts ---- */

/* Receives up to `max` packets and parses each into pkts[i]. With `capture_time`, a packet
 * net_pcap stamped gets its capture time (BMA_PF_TIMESTAMP set); every other gets `now_ns`.
 * Returns the count. */
uint16_t bma_rx_parse(uint16_t port, uint16_t queue, bma_mbuf_t **mbufs, bma_pkt_t *pkts,
                      uint16_t max, uint64_t now_ns, int capture_time);
/* Sends n mbufs; frees what the queue did not take. Returns how many were sent. */
uint16_t bma_tx(uint16_t port, uint16_t queue, bma_mbuf_t **mbufs, uint16_t n);
void bma_mbufs_free(bma_mbuf_t **mbufs, uint16_t n);
/* Adds `extra` references to each mbuf so the same frame can go to several ports. */
void bma_mbufs_ref(bma_mbuf_t **mbufs, uint16_t n, uint16_t extra);

#endif
