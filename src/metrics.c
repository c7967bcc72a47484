/*
 * metrics.c: /metrics (metrics.h).  Every family is written with its HELP
 * and TYPE lines once, even when it has no series yet (AS2: zero until
 * the channel exists), so dashboards and alerts can be written ahead.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "eglimits.h"
#include "forward.h"
#include "gateway.h"
#include "metrics.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/* Translate latency buckets, seconds (upper bounds; +Inf implied). */
static const double bucket_s[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};
#define NBUCKET	(sizeof(bucket_s) / sizeof(bucket_s[0]))

static atomic_uint_fast64_t lat_bucket[NBUCKET + 1];	/* not cumulative */
static atomic_uint_fast64_t lat_sum_ns;

#define MAX_POLL_SERIES	256
/* AS2: messages in/out; MDNs sent and received by outcome. */
static atomic_uint_fast64_t as2_msg[2];
static atomic_uint_fast64_t as2_mdn[2][3];	/* [sent, received][outcome] */
static const char *const mdn_outcome[3] = { "processed", "warning",
	"failed" };

void
metrics_as2_message(int outbound)
{
	atomic_fetch_add(&as2_msg[outbound ? 1 : 0], 1);
}

void
metrics_as2_mdn(int received, const char *disposition)
{
	int	 o = 2;

	if (disposition != NULL && strncmp(disposition, "processed", 9) == 0)
		o = strstr(disposition, "/error") != NULL ? 2 :
		    strstr(disposition, "/warning") != NULL ? 1 : 0;
	atomic_fetch_add(&as2_mdn[received ? 1 : 0][o], 1);
}

static pthread_mutex_t poll_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char		 partner[64], channel[16];
	uint64_t	 n;
}		 poll_err[MAX_POLL_SERIES];
static size_t	 npoll;

void
metrics_translate_observe(uint64_t ns)
{
	size_t	 i;

	for (i = 0; i < NBUCKET; i++)
		if ((double)ns <= bucket_s[i] * 1e9)
			break;
	atomic_fetch_add(&lat_bucket[i], 1);
	atomic_fetch_add(&lat_sum_ns, ns);
}

void
metrics_poll_error(const char *partner, const char *channel)
{
	size_t	 i;

	pthread_mutex_lock(&poll_mu);
	for (i = 0; i < npoll; i++)
		if (strcmp(poll_err[i].partner, partner) == 0 &&
		    strcmp(poll_err[i].channel, channel) == 0)
			break;
	if (i == npoll && npoll < MAX_POLL_SERIES) {
		snprintf(poll_err[i].partner, sizeof(poll_err[i].partner),
		    "%s", partner);
		snprintf(poll_err[i].channel, sizeof(poll_err[i].channel),
		    "%s", channel);
		npoll++;
	}
	if (i < npoll)
		poll_err[i].n++;
	pthread_mutex_unlock(&poll_mu);
}

uint64_t
metrics_poll_errors(const char *partner, const char *channel)
{
	uint64_t	 n = 0;
	size_t		 i;

	pthread_mutex_lock(&poll_mu);
	for (i = 0; i < npoll; i++)
		if (strcmp(poll_err[i].partner, partner) == 0 &&
		    strcmp(poll_err[i].channel, channel) == 0)
			n = poll_err[i].n;
	pthread_mutex_unlock(&poll_mu);
	return n;
}

int
metrics_label(struct buf *out, const char *s)
{
	int	 rc = 0;

	for (; *s != '\0' && rc == 0; s++)
		switch (*s) {
		case '\\':
			rc = buf_adds(out, "\\\\");
			break;
		case '"':
			rc = buf_adds(out, "\\\"");
			break;
		case '\n':
			rc = buf_adds(out, "\\n");
			break;
		default:
			rc = buf_addc(out, *s);
		}
	return rc;
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; labels NULL-terminated pairs. */
static void
sample(struct buf *b, const char *name, const char *const *labels,
    uint64_t v)
{
	size_t	 i;

	buf_adds(b, name);
	for (i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		buf_printf(b, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
		metrics_label(b, labels[i + 1]);
		buf_addc(b, '"');
	}
	if (labels != NULL && labels[0] != NULL)
		buf_addc(b, '}');
	buf_printf(b, " %" PRIu64 "\n", v);
}

/*
 * Documents by partner, type and state, and acknowledgement expectations
 * by partner, kind and state (pending, overdue, negative): rows keyed by
 * partner and document type (empty for acknowledgements).
 */
struct mrow {
	char		 partner[STORE_FIELD], type[STORE_FIELD];
	uint64_t	 doc[OPS_NDOCSTATE];
	uint64_t	 ack[OPS_NACKKIND][3];
};
struct mtab {
	struct mrow	*c;
	size_t		 n, cap;
	int64_t		 now;
};

/* The row of partner and type, added (zeroed) when new. */
static struct mrow *
mrow_get(struct mtab *t, const char *partner, const char *type)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->c[i].partner, partner) == 0 &&
		    strcmp(t->c[i].type, type) == 0)
			return &t->c[i];
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->c = xreallocarray(t->c, t->cap, sizeof(*t->c));
	}
	memset(&t->c[i], 0, sizeof(t->c[i]));
	snprintf(t->c[i].partner, sizeof(t->c[i].partner), "%s", partner);
	snprintf(t->c[i].type, sizeof(t->c[i].type), "%s", type);
	t->n++;
	return &t->c[i];
}

static int
count_doc(void *arg, const struct store_doc *d)
{
	struct mrow	*r;

	r = mrow_get(arg, d->unreadable ? "unknown" : d->partner,
	    d->unreadable ? "" : d->doctype);
	r->doc[d->unreadable ? STORE_DOC_QUARANTINED : d->state]++;
	return 0;
}

static int
count_ack(void *arg, const struct store_ack *a)
{
	struct mtab	*t = arg;
	int		 st;

	if (a->kind <= 0 || a->kind >= OPS_NACKKIND)
		return 0;
	if (ops_ack_overdue(a, t->now))
		st = 1;
	else if (a->state == STORE_ACK_PENDING)
		st = 0;
	else if (a->state == STORE_ACK_REJECTED)
		st = 2;
	else
		return 0;
	mrow_get(t, a->partner, "")->ack[a->kind][st]++;
	return 0;
}

int
metrics_render(struct gateway *gw, struct buf *b)
{
	static const char *const ackstate[] = { "pending", "overdue",
	    "negative" };
	struct store_rtxn	*rt;
	struct store_doc_filter	 f;
	struct ops_tally	*t;
	struct forward_stats	 fs;
	struct mtab		 dt, at;
	uint64_t		 cum, v;
	int64_t			 now = store_now();
	char			 le[32], num[64];
	size_t			 i;
	int			 k, s, rc;

	memset(&dt, 0, sizeof(dt));
	memset(&at, 0, sizeof(at));
	at.now = now;
	t = xcalloc(1, sizeof(*t));
	if ((rc = store_rtxn_begin(gw->store, &rt)) != 0) {
		free(t);
		return rc;
	}
	memset(&f, 0, sizeof(f));
	if ((rc = ops_each_doc(rt, &f, count_doc, &dt)) == 0 &&
	    (rc = ops_tally(rt, now, t)) == 0)
		rc = store_ack_walk(rt, count_ack, &at);
	store_rtxn_end(rt);
	if (rc != 0)
		goto out;

	family(b, "edigate_up", "gauge", "1 while the daemon serves.");
	sample(b, "edigate_up", NULL, 1);

	family(b, "edigate_documents", "gauge",
	    "Stored documents by partner, document type and state.");
	for (i = 0; i < dt.n; i++)
		for (s = 1; s < OPS_NDOCSTATE; s++)
			if (dt.c[i].doc[s] > 0)
				sample(b, "edigate_documents",
				    (const char *[]){ "partner",
				    dt.c[i].partner, "type", dt.c[i].type,
				    "state", ops_doc_state_name(s), NULL },
				    dt.c[i].doc[s]);

	memset(&fs, 0, sizeof(fs));
	if (gw->fwd != NULL)
		forward_stats(gw->fwd, &fs);
	family(b, "edigate_events_forwarded_total", "counter",
	    "Events the ERP accepted (2xx) since the daemon started.");
	sample(b, "edigate_events_forwarded_total", NULL, fs.delivered);
	family(b, "edigate_events_forward_failed_total", "counter",
	    "Events that became dead letters since the daemon started.");
	sample(b, "edigate_events_forward_failed_total", NULL, fs.dead);
	family(b, "edigate_events_forward_retried_total", "counter",
	    "Delivery attempts that failed temporarily and were rescheduled.");
	sample(b, "edigate_events_forward_retried_total", NULL, fs.retried);

	family(b, "edigate_jobs", "gauge", "Jobs by kind and state.");
	for (k = 1; k < OPS_NJOBKIND; k++)
		for (s = 1; s < OPS_NJOBSTATE; s++)
			sample(b, "edigate_jobs", (const char *[]){ "kind",
			    ops_job_kind_name(k), "state",
			    ops_job_state_name(s), NULL }, t->job[k][s]);
	family(b, "edigate_job_queue_depth", "gauge",
	    "Jobs waiting or in flight, by kind.");
	for (k = 1; k < OPS_NJOBKIND; k++)
		sample(b, "edigate_job_queue_depth", (const char *[]){ "kind",
		    ops_job_kind_name(k), NULL },
		    t->job[k][STORE_JOB_PENDING] +
		    t->job[k][STORE_JOB_INFLIGHT]);
	family(b, "edigate_job_oldest_pending_age_seconds", "gauge",
	    "Age of the oldest pending job, by kind (0: none pending).");
	for (k = 1; k < OPS_NJOBKIND; k++)
		sample(b, "edigate_job_oldest_pending_age_seconds",
		    (const char *[]){ "kind", ops_job_kind_name(k), NULL },
		    t->oldest[k] > 0 && now > t->oldest[k] ?
		    (uint64_t)(now - t->oldest[k]) / 1000 : 0);

	family(b, "edigate_acks", "gauge", "Acknowledgement expectations "
	    "by kind, partner and state (pending, overdue, negative).");
	for (i = 0; i < at.n; i++)
		for (k = 1; k < OPS_NACKKIND; k++)
			for (s = 0; s < 3; s++)
				sample(b, "edigate_acks", (const char *[]){
				    "kind", ops_ack_kind_name(k), "partner",
				    at.c[i].partner, "state", ackstate[s],
				    NULL }, at.c[i].ack[k][s]);

	family(b, "edigate_channel_poll_errors_total", "counter",
	    "Failed polls of a partner's channel since the daemon started.");
	pthread_mutex_lock(&poll_mu);
	for (i = 0; i < npoll; i++)
		sample(b, "edigate_channel_poll_errors_total",
		    (const char *[]){ "partner", poll_err[i].partner,
		    "channel", poll_err[i].channel, NULL }, poll_err[i].n);
	pthread_mutex_unlock(&poll_mu);

	family(b, "edigate_as2_messages_total", "counter",
	    "AS2 messages received (in) and sent (out) since the daemon "
	    "started.");
	sample(b, "edigate_as2_messages_total", (const char *[]){
	    "direction", "in", NULL }, atomic_load(&as2_msg[0]));
	sample(b, "edigate_as2_messages_total", (const char *[]){
	    "direction", "out", NULL }, atomic_load(&as2_msg[1]));
	family(b, "edigate_as2_mdn_total", "counter",
	    "AS2 MDNs we sent (for messages received) and received (for "
	    "messages sent), by outcome: processed, warning (e.g. "
	    "duplicate-document), failed (an error disposition, or an "
	    "unusable MDN).");
	for (i = 0; i < 2; i++)
		for (k = 0; k < 3; k++)
			sample(b, "edigate_as2_mdn_total", (const char *[]){
			    "direction", i ? "received" : "sent", "outcome",
			    mdn_outcome[k], NULL },
			    atomic_load(&as2_mdn[i][k]));

	family(b, "edigate_translate_duration_seconds", "histogram",
	    "Time to translate one document (parse, map, acknowledgement).");
	cum = 0;
	for (i = 0; i <= NBUCKET; i++) {
		cum += atomic_load(&lat_bucket[i]);
		if (i < NBUCKET)
			snprintf(le, sizeof(le), "%g", bucket_s[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		sample(b, "edigate_translate_duration_seconds_bucket",
		    (const char *[]){ "le", le, NULL }, cum);
	}
	v = atomic_load(&lat_sum_ns);
	snprintf(num, sizeof(num), "%" PRIu64 ".%09" PRIu64,
	    v / 1000000000, v % 1000000000);
	buf_printf(b, "edigate_translate_duration_seconds_sum %s\n", num);
	/* The +Inf bucket is the count (one load: they agree). */
	sample(b, "edigate_translate_duration_seconds_count", NULL, cum);
out:
	free(dt.c);
	free(at.c);
	free(t);
	return rc;
}
