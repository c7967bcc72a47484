/*
 * forward.h: the ERP forwarder (DESIGN.md §9).  One thread drives a
 * libcurl multi handle: it takes due STORE_JOB_FORWARD jobs from the
 * store (store_jobs_take), POSTs each event as application/cloudevents+json
 * with its Idempotency-Key, classifies the outcome in one function
 * (forward_classify) and settles the jobs in batches (store_jobs_settle):
 * done, retry with backoff, or dead letter.  Events with the same business
 * key are delivered in order: a job waits while an older job of its key
 * is pending, inflight or held.
 */
#ifndef FORWARD_H
#define FORWARD_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum forward_outcome {
	FORWARD_OK = 0,
	FORWARD_TEMPFAIL = 1,
	FORWARD_PERMFAIL = 2,
};

struct forward_conf {
	const char	*url;		/* NULL: forwarding off */
	const char	*auth;		/* "bearer" | "basic" | "none" */
	const char	*token;		/* bearer token (file contents) */
	const char	*user;		/* basic */
	const char	*password;	/* basic (file contents) */
	const char	*client_cert;	/* PEM for mutual TLS; may be NULL */
	const char	*client_key;
	const char	*ca_file;	/* may be NULL: system store */
	const char	*reference;	/* JSON pointer into the 2xx response
					   body: the ERP's document reference;
					   NULL: none */
	int		 async_ack;	/* 1: a 2xx is not the import ack; the
					   ERP posts /v1/events/ID/ack */
	int64_t		 timeout_ms;
	int64_t		 retry_min_ms, retry_max_ms;
	int64_t		 max_age_ms;	/* then dead letter */
	unsigned int	 connections;	/* parallel requests */
	const char	*target;	/* job target name, "erp" */
};

/*
 * The one classification of a transport outcome: curl_code is a CURLcode
 * (CURLE_OK when an HTTP status was received), status the HTTP status.
 * 2xx ok; 408, 429, 5xx, timeouts, connection and TLS errors temporary;
 * other 4xx (and 1xx/3xx) permanent.
 */
enum forward_outcome forward_classify(int curl_code, long status);

/*
 * Delay before the next attempt of a job first tried at first_try (ms)
 * now failing at now: the job's age clamped to [retry_min, retry_max],
 * plus up to 10% jitter from rnd (0..UINT32_MAX); a Retry-After of
 * retry_after_ms (-1: none) is honoured as the minimum (still clamped to
 * retry_max).
 */
int64_t	 forward_backoff(const struct forward_conf *, int64_t first_try,
	    int64_t now, int64_t retry_after_ms, uint32_t rnd);

/*
 * A Retry-After header value: delta-seconds or an HTTP-date (RFC 9110
 * §10.2.3), relative to now (ms).  Returns the delay in ms (>= 0), or -1
 * when malformed.
 */
int64_t	 forward_retry_after(const char *value, int64_t now);

/*
 * The ERP's document reference in a 2xx response body: the string or
 * number at JSON pointer ptr (RFC 6901) copied into out (cut to outsz - 1
 * bytes).  0; EG_ERR_NOTFOUND when nothing, or another type, is there;
 * EG_ERR_SYNTAX when body is not JSON or ptr is not a pointer.
 */
int	 forward_reference(const char *body, size_t len, const char *ptr,
	    char *out, size_t outsz);

/*
 * The one-line reason an operator reads in `edigate dlq` and the log:
 * "curl: TEXT" when no HTTP status was received (curl_err not NULL),
 * else "HTTP STATUS" plus ": " and up to FORWARD_EXCERPT bytes of the
 * body, control characters turned into spaces, cut on a UTF-8 boundary.
 */
#define FORWARD_EXCERPT	200
void	 forward_describe(const char *curl_err, long status, const char *body,
	    size_t len, char *out, size_t outsz);

struct forwarder;

/* Start the forwarder thread; conf is copied. */
int	 forward_start(struct store *, const struct forward_conf *,
	    struct forwarder **);
/* New jobs were committed: look now rather than at the next timer. */
void	 forward_kick(struct forwarder *);
/*
 * Stop taking jobs, wait up to drain_ms for requests in flight to finish
 * and be settled, then stop the thread and free.  Jobs left inflight are
 * taken again after their lease (crash semantics).
 */
void	 forward_stop(struct forwarder *, int64_t drain_ms);

struct forward_stats {
	uint64_t	 delivered, retried, dead, inflight;
};
void	 forward_stats(struct forwarder *, struct forward_stats *);

#endif /* FORWARD_H */
