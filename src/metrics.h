/*
 * metrics.h: the daemon's /metrics (Prometheus text format 0.0.4).
 * Counters that only the running daemon knows live here in memory
 * (translate latency, channel poll errors, AS2 messages); everything else
 * is derived from the store at each scrape, in one short read
 * transaction, and from the forwarder's counters.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

struct buf;
struct gateway;

/* One document translated (pipeline.c): its wall time in nanoseconds. */
void	 metrics_translate_observe(uint64_t ns);
/* A poll of partner's channel (type "dir", ...) failed. */
void	 metrics_poll_error(const char *partner, const char *channel);
/* An AS2 message received (0) or sent (1). */
void	 metrics_as2_message(int outbound);
/* An MDN we sent (received 0) or got back (1), by its disposition text. */
void	 metrics_as2_mdn(int received, const char *disposition);
/* The failed polls counted so far for partner's channel. */
uint64_t metrics_poll_errors(const char *partner, const char *channel);
/* The exposition of every family into out: 0, or a store EG_ERR_*. */
int	 metrics_render(struct gateway *, struct buf *out);
/* Prometheus label value escaping (\\, \", \n) of s into out. */
int	 metrics_label(struct buf *out, const char *s);

#endif /* METRICS_H */
