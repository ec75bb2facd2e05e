/* The shim's Swift interface. */
#include "bma_packet.h"
#include "bma_atomic.h"
#include "bma_dpdk.h"
#include "bma_mirror.h"
#include "bma_chain.h"
#include "bma_telemetry.h"
#include "bma_dns.h"
#include "bma_reparse.h"
