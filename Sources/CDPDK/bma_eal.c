/* EAL, lcores, time, signals and mempools. */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bma_dpdk.h"
#include "bma_internal.h"

static char last_error[256];

void bma_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
}

const char *bma_last_error(void) { return last_error; }

int bma_eal_init(int argc, char **argv)
{
    int n = rte_eal_init(argc, argv);
    if (n < 0)
        bma_set_error("EAL initialisation failed: %s", rte_strerror(rte_errno));
    return n;
}

void bma_eal_cleanup(void) { rte_eal_cleanup(); }
unsigned bma_lcore_main(void) { return rte_get_main_lcore(); }
int bma_socket_id(void) { return (int)rte_socket_id(); }

unsigned bma_lcore_workers(unsigned *ids, unsigned cap)
{
    unsigned n = 0, lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (n < cap)
            ids[n] = lcore;
        n++;
    }
    return n < cap ? n : cap;
}

int bma_lcore_launch(unsigned lcore, int (*fn)(void *), void *arg)
{
    return rte_eal_remote_launch(fn, arg, lcore);
}

int bma_lcore_wait(unsigned lcore) { return rte_eal_wait_lcore(lcore); }

uint64_t bma_tsc(void) { return rte_rdtsc(); }
uint64_t bma_tsc_hz(void) { return rte_get_tsc_hz(); }
/* Written by the signal handler only; read by the main loop and the workers. */
static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t usr1_flag;

static void on_stop(int sig) { (void)sig; stop_flag = 1; }
static void on_usr1(int sig) { (void)sig; usr1_flag = 1; }

void bma_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int bma_stop_requested(void) { return stop_flag != 0; }
void bma_request_stop(void) { stop_flag = 1; }

int bma_take_usr1(void)
{
    if (!usr1_flag)
        return 0;
    usr1_flag = 0;
    return 1;
}

bma_mempool_t *bma_pool_create(const char *name, unsigned n, unsigned cache, uint16_t data_room,
                               int socket)
{
    struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
    if (mp == NULL)
        bma_set_error("cannot create mempool %s (%u mbufs of %u bytes): %s", name, n,
                      (unsigned)data_room, rte_strerror(rte_errno));
    return (bma_mempool_t *)mp;
}

void bma_pool_free(bma_mempool_t *pool) { rte_mempool_free((struct rte_mempool *)pool); }
