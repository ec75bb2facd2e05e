/* What a port can carry: MTU, largest received frame, segments per transmitted frame. Read once
 * at startup for the mirror path check (Sources/Dataplane/MirrorPathCheck.swift). */
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <string.h>

#include "bma_internal.h"
#include "bma_mirror.h"

int bma_port_limits(uint16_t port, bma_port_limits_t *out)
{
    struct rte_eth_dev_info di;
    uint16_t mtu = 0;
    memset(out, 0, sizeof(*out));
    int rc = rte_eth_dev_info_get(port, &di);
    if (rc != 0) {
        bma_set_error("port %u: cannot read device info: %s", port, rte_strerror(-rc));
        return -1;
    }
    if (rte_eth_dev_get_mtu(port, &mtu) != 0)
        mtu = RTE_ETHER_MTU;
    out->mtu = mtu;
    out->max_rx_pktlen = di.max_rx_pktlen;
    /* Virtual devices report 0 or UINT16_MAX; either way no limit below a copy's. */
    out->nb_seg_max = di.tx_desc_lim.nb_seg_max ? di.tx_desc_lim.nb_seg_max : UINT16_MAX;
    return 0;
}
