/* A held frame parsed again (see bma_reparse.h). */
#include <rte_config.h>
#include <rte_mbuf.h>

#include <string.h>

#include "bma_reparse.h"

void bma_mbuf_parse(const bma_mbuf_t *mb, bma_pkt_t *out)
{
    const struct rte_mbuf *m = (const struct rte_mbuf *)mb;
    if (m == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    bma_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, m->pkt_len, out);
}
