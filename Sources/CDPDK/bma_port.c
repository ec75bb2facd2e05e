/* Port attach, setup, link state and statistics. */
#include <rte_config.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <stdio.h>
#include <string.h>

#include "bma_dpdk.h"
#include "bma_internal.h"

int bma_ts_offset = -1;
uint64_t bma_ts_flag;

/* The device name is what precedes the first comma of the devargs. */
static void devargs_name(const char *devargs, char *name, size_t cap)
{
    size_t i = 0;
    while (devargs[i] != '\0' && devargs[i] != ',' && i + 1 < cap) {
        name[i] = devargs[i];
        i++;
    }
    name[i] = '\0';
}

int bma_port_attach(const char *devargs)
{
    char name[RTE_ETH_NAME_MAX_LEN];
    uint16_t port;

    devargs_name(devargs, name, sizeof(name));
    if (name[0] == '\0') {
        bma_set_error("empty device name in devargs '%s'", devargs);
        return -1;
    }
    if (rte_eth_dev_get_port_by_name(name, &port) == 0)
        return port;
    int rc = rte_dev_probe(devargs);
    if (rc < 0) {
        bma_set_error("cannot attach device '%s': %s", devargs, rte_strerror(-rc));
        return -1;
    }
    if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
        bma_set_error("device '%s' attached but no ethdev port is named '%s'", devargs, name);
        return -1;
    }
    return port;
}

static uint64_t mac_to_u64(const struct rte_ether_addr *a)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = (v << 8) | a->addr_bytes[i];
    return v;
}

int bma_port_info(uint16_t port, bma_port_info_t *info)
{
    struct rte_eth_dev_info di;
    struct rte_ether_addr mac;

    memset(info, 0, sizeof(*info));
    int rc = rte_eth_dev_info_get(port, &di);
    if (rc != 0) {
        bma_set_error("port %u: cannot read device info: %s", port, rte_strerror(-rc));
        return -1;
    }
    snprintf(info->driver, sizeof(info->driver), "%s", di.driver_name ? di.driver_name : "");
    rte_eth_dev_get_name_by_port(port, info->name);
    if (rte_eth_macaddr_get(port, &mac) == 0)
        info->mac = mac_to_u64(&mac);
    info->max_rx_queues = di.max_rx_queues;
    info->max_tx_queues = di.max_tx_queues;
    info->socket = rte_eth_dev_socket_id(port);
    /* net_pcap stamps each mbuf with the capture time (microseconds) once the field exists. */
    info->rx_timestamp = strcmp(info->driver, "net_pcap") == 0;
    return 0;
}

int bma_port_start(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t rx_desc,
                   uint16_t tx_desc, bma_mempool_t *pool)
{
    struct rte_eth_dev_info di;
    struct rte_eth_conf conf;
    int rc;

    memset(&conf, 0, sizeof(conf));
    rc = rte_eth_dev_info_get(port, &di);
    if (rc != 0) {
        bma_set_error("port %u: cannot read device info: %s", port, rte_strerror(-rc));
        return -1;
    }
    if (nb_rxq > di.max_rx_queues || nb_txq > di.max_tx_queues) {
        bma_set_error("port %u (%s): needs %u rx and %u tx queues, the device has %u and %u",
                      port, di.driver_name, nb_rxq, nb_txq, di.max_rx_queues, di.max_tx_queues);
        return -1;
    }
    /* NIC timestamps come in device clock units; bmad uses the TSC for those ports. Capture
     * time comes from net_pcap, which stamps mbufs on its own (bma_timestamps_lookup). */
    if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
        conf.txmode.offloads &= ~RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE; /* we send shared mbufs */

    rc = rte_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
    if (rc != 0) {
        bma_set_error("port %u (%s): configure failed: %s", port, di.driver_name,
                      rte_strerror(-rc));
        return -1;
    }
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
    if (rc != 0) {
        bma_set_error("port %u: cannot adjust descriptors: %s", port, rte_strerror(-rc));
        return -1;
    }
    int socket = rte_eth_dev_socket_id(port);
    struct rte_eth_rxconf rxconf = di.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    for (uint16_t q = 0; q < nb_rxq; q++) {
        rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket, &rxconf,
                                    (struct rte_mempool *)pool);
        if (rc != 0) {
            bma_set_error("port %u: rx queue %u setup failed: %s", port, q, rte_strerror(-rc));
            return -1;
        }
    }
    struct rte_eth_txconf txconf = di.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    for (uint16_t q = 0; q < nb_txq; q++) {
        rc = rte_eth_tx_queue_setup(port, q, tx_desc, socket, &txconf);
        if (rc != 0) {
            bma_set_error("port %u: tx queue %u setup failed: %s", port, q, rte_strerror(-rc));
            return -1;
        }
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) {
        bma_set_error("port %u (%s): start failed: %s", port, di.driver_name, rte_strerror(-rc));
        return -1;
    }
    /* Uplink traffic toward VMs carries their MACs, not the port's. */
    rte_eth_promiscuous_enable(port);
    return 0;
}

void bma_port_stop_close(uint16_t port)
{
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
}

int bma_timestamps_lookup(void)
{
    int off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
    int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
    if (off < 0 || bit < 0)
        return 0;
    bma_ts_offset = off;
    bma_ts_flag = 1ULL << bit;
    return 1;
}

int bma_port_link_up(uint16_t port)
{
    struct rte_eth_link link;
    if (rte_eth_link_get_nowait(port, &link) != 0)
        return -1;
    return link.link_status == RTE_ETH_LINK_UP;
}

int bma_port_stats(uint16_t port, bma_port_stats_t *out)
{
    struct rte_eth_stats s;
    memset(out, 0, sizeof(*out));
    if (rte_eth_stats_get(port, &s) != 0)
        return -1;
    out->ipackets = s.ipackets;
    out->opackets = s.opackets;
    out->ibytes = s.ibytes;
    out->obytes = s.obytes;
    out->imissed = s.imissed;
    out->ierrors = s.ierrors;
    out->oerrors = s.oerrors;
    out->rx_nombuf = s.rx_nombuf;
    return 0;
}
