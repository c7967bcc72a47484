/*
 * ops.c: the operator's queries and actions on the store (ops.h), shared
 * by the CLI and the HTTP console.  Everything is built as jansson values
 * from one read transaction the caller holds; actions read in their own
 * snapshot, end it, then write one short transaction per job, never
 * overwriting a job the daemon moved meanwhile (store_job_update()
 * refuses: EG_ERR_NOTFOUND).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "ops.h"
#include "xmalloc.h"

#define DOCS_PAGE	128	/* documents read per store_doc_list() */
#define REPLAY_TARGET	"erp"	/* the one destination of v1 */

/* --- values --- */

json_t *
ops_str(const char *s)
{
	json_t	*j;
	char	*c;
	size_t	 i;

	if ((j = json_string(s)) != NULL)
		return j;
	c = xstrdup(s);
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

json_t *
ops_strn(const char *p, size_t len)
{
	char	*c = xstrndup(p, len);
	json_t	*j = ops_str(c);

	free(c);
	return j;
}

json_t *
ops_opt(const char *s)
{
	return s != NULL && *s != '\0' ? ops_str(s) : json_null();
}

json_t *
ops_time(int64_t ms)
{
	struct tm	 tm;
	time_t		 t;
	char		 out[32];

	if (ms <= 0 || ms == STORE_DUE_NEVER)
		return json_null();
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, sizeof(out), "%" PRId64, ms);
	return json_string(out);
}

static int
iszero_id(const uint8_t id[STORE_ID_LEN])
{
	size_t	 i;

	for (i = 0; i < STORE_ID_LEN; i++)
		if (id[i] != 0)
			return 0;
	return 1;
}

json_t *
ops_id(const uint8_t id[STORE_ID_LEN])
{
	char	 t[STORE_ID_TEXT];

	if (iszero_id(id))
		return json_null();
	store_id_format(id, t);
	return json_string(t);
}

json_t *
ops_int(uint64_t v)
{
	return json_integer((json_int_t)v);
}

void
ops_set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v != NULL ? v : json_null());
}

const char *
ops_job_kind_name(int k)
{
	switch (k) {
	case STORE_JOB_FORWARD:
		return "forward";
	case STORE_JOB_SEND:
		return "send";
	case STORE_JOB_TRANSLATE:
		return "translate";
	}
	return "unknown";
}

int
ops_parse_name(const char *s, const char *(*name)(int), int max)
{
	int	 i;

	for (i = 1; i < max; i++)
		if (strcmp(s, name(i)) == 0)
			return i;
	return 0;
}

const char *
ops_doc_state_name(int i)
{
	return store_doc_state_name((enum store_doc_state)i);
}

const char *
ops_job_state_name(int i)
{
	return store_job_state_name((enum store_job_state)i);
}

const char *
ops_ack_kind_name(int i)
{
	return store_ack_kind_name((enum store_ack_kind)i);
}

int64_t
ops_parse_time(const char *s, int end)
{
	struct tm	 tm;
	const char	*p;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*p == '\0') {
		if (end) {
			tm.tm_hour = 23;
			tm.tm_min = 59;
			tm.tm_sec = 59;
		}
	} else if (*p != 'T' || (p = strptime(p + 1, "%H:%M:%S", &tm)) ==
	    NULL || (strcmp(p, "Z") != 0 && *p != '\0'))
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + (end ? 999 : 0);
}

int
ops_exit(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case EG_ERR_NOTFOUND:
		return EX_NOINPUT;
	case EG_ERR_SYNTAX:
	case EG_ERR_UNSUPPORTED:
	case EG_ERR_REJECTED:
		return EX_DATAERR;
	case EG_ERR_LIMIT:
		return EX_UNAVAILABLE;
	case EG_ERR_IO:
		return EX_IOERR;
	}
	return EX_SOFTWARE;
}

int
ops_ack_overdue(const struct store_ack *a, int64_t now)
{
	return a->state == STORE_ACK_OVERDUE ||
	    (a->state == STORE_ACK_PENDING && a->due <= now);
}

static int
iszero16(const uint8_t *p)
{
	static const uint8_t zero[STORE_ID_LEN];

	return memcmp(p, zero, STORE_ID_LEN) == 0;
}

json_t *
ops_doc_json(const struct store_doc *d)
{
	json_t	*o = json_object();
	char	 sha[2 * STORE_SHA_LEN + 1];
	size_t	 i;

	ops_set(o, "id", ops_id(d->id));
	if (d->unreadable) {
		ops_set(o, "unreadable", json_true());
		ops_set(o, "state", json_string("quarantined"));
		ops_set(o, "error", ops_str(d->error));
		return o;
	}
	for (i = 0; i < STORE_SHA_LEN; i++)
		snprintf(sha + 2 * i, 3, "%02x", d->sha256[i]);
	ops_set(o, "state", json_string(store_doc_state_name(d->state)));
	ops_set(o, "direction", json_string(d->direction == STORE_OUTBOUND ?
	    "outbound" : "inbound"));
	ops_set(o, "received", ops_time(d->received));
	ops_set(o, "updated", ops_time(d->updated));
	ops_set(o, "partner", ops_str(d->partner));
	ops_set(o, "channel", ops_str(d->channel));
	ops_set(o, "name", ops_str(d->name));
	ops_set(o, "syntax", ops_str(d->syntax));
	ops_set(o, "doctype", ops_str(d->doctype));
	ops_set(o, "sender", ops_str(d->sender));
	ops_set(o, "receiver", ops_str(d->receiver));
	ops_set(o, "icn", ops_str(d->icn));
	ops_set(o, "gcn", ops_str(d->gcn));
	ops_set(o, "scn", ops_str(d->scn));
	ops_set(o, "size", ops_int(d->size));
	ops_set(o, "sha256", json_string(sha));
	ops_set(o, "purged", json_boolean(d->flags & STORE_DOCF_PURGED));
	ops_set(o, "error", ops_str(d->error));
	ops_set(o, "about", iszero16(d->about) ? json_null() :
	    ops_id(d->about));
	return o;
}

json_t *
ops_job_json(const struct store_job *j)
{
	json_t	*o = json_object();

	ops_set(o, "id", ops_id(j->id));
	ops_set(o, "kind", json_string(ops_job_kind_name(j->kind)));
	ops_set(o, "state", json_string(store_job_state_name(j->state)));
	ops_set(o, "target", ops_str(j->target));
	ops_set(o, "ref", ops_id(j->ref));
	ops_set(o, "due", ops_time(j->due));
	ops_set(o, "created", ops_time(j->created));
	ops_set(o, "first_try", ops_time(j->first_try));
	ops_set(o, "last_try", ops_time(j->last_try));
	ops_set(o, "attempts", ops_int(j->attempts));
	ops_set(o, "error", ops_str(j->error));
	return o;
}

json_t *
ops_ack_json(const struct store_ack *a, int64_t now)
{
	json_t	*o = json_object();

	ops_set(o, "partner", ops_str(a->partner));
	ops_set(o, "kind", json_string(store_ack_kind_name(a->kind)));
	ops_set(o, "ref", ops_str(a->ref));
	ops_set(o, "bizkey", a->bizkey[0] ? ops_str(a->bizkey) : json_null());
	ops_set(o, "state", json_string(store_ack_state_name(a->state)));
	ops_set(o, "overdue", json_boolean(ops_ack_overdue(a, now)));
	ops_set(o, "created", ops_time(a->created));
	ops_set(o, "due", ops_time(a->due));
	ops_set(o, "resolved", ops_time(a->resolved));
	ops_set(o, "doc", ops_id(a->doc));
	ops_set(o, "by", ops_id(a->by));
	ops_set(o, "reason", ops_str(a->reason));
	return o;
}

/* The CloudEvent's string member k, or null. */
static json_t *
ev_field(json_t *ev, const char *k)
{
	json_t	*v = ev != NULL ? json_object_get(ev, k) : NULL;

	return json_is_string(v) ? json_incref(v) : json_null();
}

json_t *
ops_event_json(const struct store_event_rec *e)
{
	json_error_t	 err;
	json_t		*o = json_object(), *ev;

	ev = json_loadb(e->json.p, e->json.len, 0, &err);
	ops_set(o, "id", ops_id(e->id));
	ops_set(o, "doc", ops_id(e->doc));
	ops_set(o, "type", ev_field(ev, "type"));
	ops_set(o, "time", ev_field(ev, "time"));
	ops_set(o, "partner", ev_field(ev, "partner"));
	ops_set(o, "subject", ev_field(ev, "subject"));
	ops_set(o, "businesskey", ev_field(ev, "businesskey"));
	ops_set(o, "idempotencykey", ev_field(ev, "idempotencykey"));
	if (ev == NULL)
		ops_set(o, "invalid", json_true());
	json_decref(ev);
	return o;
}

/* --- walking the store --- */

int
ops_each_doc(struct store_rtxn *rt, struct store_doc_filter *f,
    ops_doc_fn fn, void *arg)
{
	struct store_doc	*page;
	size_t			 i, n;
	int			 rc = 0;

	page = xcalloc(DOCS_PAGE, sizeof(*page));
	for (;;) {
		if ((rc = store_doc_list(rt, f, page, DOCS_PAGE, &n,
		    f->before)) != 0)
			break;
		for (i = 0; i < n; i++)
			if ((rc = fn(arg, &page[i])) != 0) {
				/* The cursor: after the last one seen. */
				memcpy(f->before, page[i].id, STORE_ID_LEN);
				goto out;
			}
		if (n == 0 || iszero_id(f->before))
			break;
	}
out:
	free(page);
	return rc;
}

/* --- status --- */

static int
tally_doc(void *arg, const struct store_doc *d)
{
	struct ops_tally *t = arg;

	if (d->unreadable)
		t->unreadable++;
	else if (d->state > 0 && d->state < OPS_NDOCSTATE)
		t->doc[d->state]++;
	return 0;
}

static int
tally_job(void *arg, const struct store_job *j)
{
	struct ops_tally *t = arg;

	if (j->kind <= 0 || j->kind >= OPS_NJOBKIND || j->state <= 0 ||
	    j->state >= OPS_NJOBSTATE)
		return 0;
	t->job[j->kind][j->state]++;
	if (j->state == STORE_JOB_PENDING && (t->oldest[j->kind] == 0 ||
	    j->created < t->oldest[j->kind]))
		t->oldest[j->kind] = j->created;
	return 0;
}

static int
tally_ack(void *arg, const struct store_ack *a)
{
	struct ops_tally *t = arg;

	if (a->kind <= 0 || a->kind >= OPS_NACKKIND)
		return 0;
	if (ops_ack_overdue(a, t->now))
		t->ack[a->kind][1]++;
	else if (a->state == STORE_ACK_PENDING)
		t->ack[a->kind][0]++;
	else if (a->state == STORE_ACK_REJECTED)
		t->ack[a->kind][2]++;
	else if (a->state == STORE_ACK_ACCEPTED)
		t->ack[a->kind][3]++;
	return 0;
}

int
ops_tally(struct store_rtxn *rt, int64_t now, struct ops_tally *t)
{
	struct store_doc_filter	 f;
	int			 rc;

	memset(t, 0, sizeof(*t));
	t->now = now;
	memset(&f, 0, sizeof(f));
	if ((rc = ops_each_doc(rt, &f, tally_doc, t)) != 0 ||
	    (rc = store_job_walk(rt, tally_job, t)) != 0 ||
	    (rc = store_ack_walk(rt, tally_ack, t)) != 0)
		return rc;
	return 0;
}

/* --- channel state (store_chan_put by the pollers) --- */

json_t *
ops_chan_json(const char *partner, const char *channel,
    const struct store_chan *c, int64_t now)
{
	json_t	*o = json_object();

	ops_set(o, "partner", ops_str(partner));
	ops_set(o, "channel", ops_str(channel));
	ops_set(o, "server", ops_str(c->server));
	ops_set(o, "connected", json_boolean(c->connected));
	ops_set(o, "last_poll", ops_time(c->last_poll));
	ops_set(o, "last_poll_age_s", c->last_poll > 0 ?
	    json_integer((now - c->last_poll) / 1000) : json_null());
	ops_set(o, "last_ok", ops_time(c->last_ok));
	ops_set(o, "cycle_ms", ops_int(c->cycle_ms));
	ops_set(o, "polls", ops_int(c->polls));
	ops_set(o, "files", ops_int(c->files));
	ops_set(o, "bytes", ops_int(c->bytes));
	ops_set(o, "sent", ops_int(c->sent));
	ops_set(o, "errors", ops_int(c->errors));
	ops_set(o, "error", c->error[0] ? ops_str(c->error) : json_null());
	ops_set(o, "error_at", ops_time(c->error_at));
	return o;
}

struct chans {
	json_t		*rows;
	int64_t		 now;
};

static int
chan_row(void *arg, const char *partner, const char *channel,
    const struct store_chan *c)
{
	struct chans	*cs = arg;

	json_array_append_new(cs->rows, ops_chan_json(partner, channel, c,
	    cs->now));
	return 0;
}

int
ops_channels(struct store_rtxn *rt, int64_t now, json_t **out)
{
	struct chans	 cs;
	int		 rc;

	cs.rows = json_array();
	cs.now = now;
	if ((rc = store_chan_walk(rt, chan_row, &cs)) != 0) {
		json_decref(cs.rows);
		return rc;
	}
	*out = cs.rows;
	return 0;
}

/* --- partners --- */

struct prow {
	char		 id[STORE_FIELD];
	const struct partner *conf;
	uint64_t	 doc[OPS_NDOCSTATE], total;
	int64_t		 last;
	uint64_t	 ack[OPS_NACKKIND][4];	/* as struct ops_tally */
	struct store_chan sftp;
	int		 has_sftp;
};

struct ptab {
	struct prow	*row;
	size_t		 n, cap;
	int64_t		 now;
};

static struct prow *
prow_get(struct ptab *p, const char *id)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->row[i].id, id) == 0)
			return &p->row[i];
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->row = xreallocarray(p->row, p->cap, sizeof(*p->row));
	}
	memset(&p->row[p->n], 0, sizeof(p->row[p->n]));
	snprintf(p->row[p->n].id, sizeof(p->row[p->n].id), "%s", id);
	return &p->row[p->n++];
}

static int
partner_doc(void *arg, const struct store_doc *d)
{
	struct prow	*r;

	if (d->unreadable)
		return 0;
	r = prow_get(arg, d->partner);
	if (d->state > 0 && d->state < OPS_NDOCSTATE)
		r->doc[d->state]++;
	r->total++;
	if (d->received > r->last)
		r->last = d->received;
	return 0;
}

static int
partner_ack(void *arg, const struct store_ack *a)
{
	struct ptab	*p = arg;
	struct prow	*r = prow_get(p, a->partner);

	if (a->kind <= 0 || a->kind >= OPS_NACKKIND)
		return 0;
	if (ops_ack_overdue(a, p->now))
		r->ack[a->kind][1]++;
	else if (a->state == STORE_ACK_PENDING)
		r->ack[a->kind][0]++;
	else if (a->state == STORE_ACK_REJECTED)
		r->ack[a->kind][2]++;
	else if (a->state == STORE_ACK_ACCEPTED)
		r->ack[a->kind][3]++;
	return 0;
}

static int
partner_chan(void *arg, const char *partner, const char *channel,
    const struct store_chan *c)
{
	struct prow	*r;

	if (strcmp(channel, "sftp") != 0)
		return 0;
	r = prow_get(arg, partner);
	r->sftp = *c;
	r->has_sftp = 1;
	return 0;
}

int
ops_partners(struct store_rtxn *rt, const struct conf *cf, int64_t now,
    json_t **out)
{
	struct store_doc_filter f;
	struct ptab	 p;
	struct prow	*r;
	json_t		*rows, *row, *docs, *acks, *byk, *k1;
	uint64_t	 sum[3];
	size_t		 i;
	int		 rc, k;

	memset(&p, 0, sizeof(p));
	p.now = now;
	for (i = 0; cf != NULL && i < cf->npartner; i++)
		prow_get(&p, cf->partner[i].id)->conf = &cf->partner[i];
	memset(&f, 0, sizeof(f));
	if ((rc = ops_each_doc(rt, &f, partner_doc, &p)) != 0 ||
	    (rc = store_ack_walk(rt, partner_ack, &p)) != 0 ||
	    (rc = store_chan_walk(rt, partner_chan, &p)) != 0) {
		free(p.row);
		return rc;
	}
	rows = json_array();
	for (i = 0; i < p.n; i++) {
		r = &p.row[i];
		row = json_object();
		ops_set(row, "id", ops_str(r->id));
		ops_set(row, "configured", json_boolean(r->conf != NULL));
		ops_set(row, "name", ops_opt(r->conf ? r->conf->name : NULL));
		ops_set(row, "x12_id", ops_opt(r->conf ? r->conf->x12_id :
		    NULL));
		ops_set(row, "edifact_id", ops_opt(r->conf ?
		    r->conf->edifact_id : NULL));
		ops_set(row, "ack", ops_opt(r->conf ? r->conf->ack : NULL));
		docs = json_object();
		ops_set(docs, "total", ops_int(r->total));
		for (k = 1; k < OPS_NDOCSTATE; k++)
			ops_set(docs, ops_doc_state_name(k), ops_int(r->doc[k]));
		ops_set(row, "documents", docs);
		ops_set(row, "last_received", ops_time(r->last));
		memset(sum, 0, sizeof(sum));
		byk = json_object();
		for (k = 1; k < OPS_NACKKIND; k++) {
			k1 = json_object();
			ops_set(k1, "pending", ops_int(r->ack[k][0]));
			ops_set(k1, "overdue", ops_int(r->ack[k][1]));
			ops_set(k1, "rejected", ops_int(r->ack[k][2]));
			ops_set(k1, "accepted", ops_int(r->ack[k][3]));
			ops_set(byk, ops_ack_kind_name(k), k1);
			sum[0] += r->ack[k][0];
			sum[1] += r->ack[k][1];
			sum[2] += r->ack[k][2];
		}
		acks = json_object();
		ops_set(acks, "pending", ops_int(sum[0]));
		ops_set(acks, "overdue", ops_int(sum[1]));
		ops_set(acks, "rejected", ops_int(sum[2]));
		ops_set(row, "acks", acks);
		ops_set(row, "acks_by_kind", byk);
		byk = json_object();
		if (r->has_sftp)
			ops_set(byk, "sftp", ops_chan_json(r->id, "sftp",
			    &r->sftp, now));
		ops_set(row, "channels", byk);
		json_array_append_new(rows, row);
	}
	free(p.row);
	*out = rows;
	return 0;
}

/* --- what refers to a document or an event --- */

struct related {
	uint8_t		(*ids)[STORE_ID_LEN];	/* the doc, its events */
	size_t		 n, cap;
	json_t		*events, *jobs, *acks;
	long		 limit;
	int64_t		 now;
};

static void
rel_add(struct related *r, const uint8_t id[STORE_ID_LEN])
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->ids = xreallocarray(r->ids, r->cap, sizeof(*r->ids));
	}
	memcpy(r->ids[r->n++], id, STORE_ID_LEN);
}

static int
rel_has(const struct related *r, const uint8_t id[STORE_ID_LEN])
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		if (memcmp(r->ids[i], id, STORE_ID_LEN) == 0)
			return 1;
	return 0;
}

static int
rel_event(void *arg, const struct store_event_rec *e)
{
	struct related	*r = arg;

	rel_add(r, e->id);
	json_array_append_new(r->events, ops_event_json(e));
	return r->limit != 0 && (long)json_array_size(r->events) >= r->limit;
}

static int
rel_job(void *arg, const struct store_job *j)
{
	struct related	*r = arg;

	if (rel_has(r, j->ref))
		json_array_append_new(r->jobs, ops_job_json(j));
	return 0;
}

static int
rel_ack(void *arg, const struct store_ack *a)
{
	struct related	*r = arg;

	if (rel_has(r, a->doc))
		json_array_append_new(r->acks, ops_ack_json(a, r->now));
	return 0;
}

static void
rel_init(struct related *r, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->events = json_array();
	r->jobs = json_array();
	r->acks = json_array();
	r->now = now;
}

static void
rel_free(struct related *r)
{
	free(r->ids);
	json_decref(r->events);
	json_decref(r->jobs);
	json_decref(r->acks);
}

/*
 * The functional acknowledgements written with inbound document d: the
 * outcome transaction stores them (outbound, same partner) with
 * received = the document's updated time and about = d's id.  (Records
 * written before `about` existed are matched by their receiver.)
 */
static int
acks_sent(struct store_rtxn *rt, const struct store_doc *d, json_t *out)
{
	struct store_doc_filter	 f;
	struct store_doc	*page;
	int64_t			 t = d->updated + 1;
	size_t			 i, n;
	int			 rc;

	if (d->direction == STORE_OUTBOUND || d->updated <= 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.partner = d->partner;
	/* A UUIDv7 cursor: the 48-bit ms time, the rest zero. */
	for (i = 0; i < 6; i++)
		f.before[i] = (uint8_t)((uint64_t)t >> (40 - 8 * i));
	page = xcalloc(DOCS_PAGE, sizeof(*page));
	rc = store_doc_list(rt, &f, page, DOCS_PAGE, &n, f.before);
	for (i = 0; rc == 0 && i < n; i++) {
		if (page[i].received < d->updated)
			break;
		if (page[i].direction != STORE_OUTBOUND ||
		    page[i].received != d->updated)
			continue;
		if (memcmp(page[i].about, d->id, STORE_ID_LEN) == 0 ||
		    (iszero16(page[i].about) &&
		    strcmp(page[i].receiver, d->sender) == 0))
			json_array_append_new(out, ops_doc_json(&page[i]));
	}
	free(page);
	return rc;
}

int
ops_doc_detail(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    int64_t now, json_t **out)
{
	struct store_doc	*d;
	struct related		 r;
	struct slice		 diags;
	json_error_t		 err;
	json_t			*root, *dj, *sent;
	int			 rc;

	d = xmalloc(sizeof(*d));
	if ((rc = store_doc_get(rt, id, d)) != 0) {
		free(d);
		return rc;
	}
	rel_init(&r, now);
	rel_add(&r, id);
	sent = json_array();
	if ((rc = store_doc_diags(rt, id, &diags)) != 0 ||
	    (rc = store_events_of_doc(rt, id, rel_event, &r)) != 0 ||
	    (rc = store_job_walk(rt, rel_job, &r)) != 0 ||
	    (rc = store_ack_walk(rt, rel_ack, &r)) != 0 ||
	    (rc = acks_sent(rt, d, sent)) != 0) {
		free(d);
		rel_free(&r);
		json_decref(sent);
		return rc;
	}
	root = json_object();
	ops_set(root, "kind", json_string("document"));
	ops_set(root, "document", ops_doc_json(d));
	dj = diags.len ? json_loadb(diags.p, diags.len, JSON_DECODE_ANY,
	    &err) : NULL;
	if (diags.len && dj == NULL)
		dj = ops_strn(diags.p, diags.len);
	ops_set(root, "diagnostics", dj);
	ops_set(root, "events", json_incref(r.events));
	ops_set(root, "jobs", json_incref(r.jobs));
	ops_set(root, "acks", json_incref(r.acks));
	ops_set(root, "acks_sent", sent);
	free(d);
	rel_free(&r);
	*out = root;
	return 0;
}

int
ops_event_detail(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    int64_t now, json_t **out)
{
	struct store_event_rec	 e;
	struct related		 r;
	json_error_t		 err;
	json_t			*root, *ev;
	int			 rc;

	if ((rc = store_event_get(rt, id, &e)) != 0)
		return rc;
	rel_init(&r, now);
	rel_add(&r, id);
	if ((rc = store_job_walk(rt, rel_job, &r)) != 0 ||
	    (rc = store_ack_walk(rt, rel_ack, &r)) != 0) {
		rel_free(&r);
		return rc;
	}
	root = json_object();
	ops_set(root, "kind", json_string("event"));
	ops_set(root, "id", ops_id(e.id));
	ops_set(root, "doc", ops_id(e.doc));
	if ((ev = json_loadb(e.json.p, e.json.len, 0, &err)) == NULL)
		ev = ops_strn(e.json.p, e.json.len);
	ops_set(root, "event", ev);
	ops_set(root, "jobs", json_incref(r.jobs));
	ops_set(root, "acks", json_incref(r.acks));
	rel_free(&r);
	*out = root;
	return 0;
}

/* --- events --- */

struct evwalk {
	struct related	 r;		/* first: rel_event() takes it */
	struct store_rtxn *rt;
};

static int
events_doc(void *arg, const struct store_doc *d)
{
	struct evwalk	*w = arg;

	if (d->unreadable)
		return 0;
	return store_events_of_doc(w->rt, d->id, rel_event, &w->r);
}

int
ops_events(struct store_rtxn *rt, const uint8_t *doc, const char *biz,
    long limit, json_t **rows)
{
	struct store_doc_filter	 f;
	struct evwalk		 w;
	int			 rc;

	rel_init(&w.r, 0);
	w.rt = rt;
	w.r.limit = limit;
	if (doc != NULL)
		rc = store_events_of_doc(rt, doc, rel_event, &w.r);
	else if (biz != NULL)
		rc = store_events_of_biz(rt, biz, rel_event, &w.r);
	else {
		memset(&f, 0, sizeof(f));
		rc = ops_each_doc(rt, &f, events_doc, &w);
	}
	if (rc < 0) {
		rel_free(&w.r);
		return rc;
	}
	*rows = json_incref(w.r.events);
	rel_free(&w.r);
	return 0;
}

/* --- acks --- */

struct acklist {
	const char	*partner;
	int		 kind, overdue;
	int64_t		 now;
	json_t		*rows;
};

static int
list_ack(void *arg, const struct store_ack *a)
{
	struct acklist	*l = arg;

	if (l->overdue && !ops_ack_overdue(a, l->now))
		return 0;
	if (l->partner != NULL && strcmp(l->partner, a->partner) != 0)
		return 0;
	if (l->kind != 0 && (int)a->kind != l->kind)
		return 0;
	json_array_append_new(l->rows, ops_ack_json(a, l->now));
	return 0;
}

int
ops_acks(struct store_rtxn *rt, const char *partner, int kind,
    int overdue_only, int64_t now, json_t **rows)
{
	struct acklist	 l;
	int		 rc;

	l.partner = partner;
	l.kind = kind;
	l.overdue = overdue_only;
	l.now = now;
	l.rows = json_array();
	if ((rc = store_ack_walk(rt, list_ack, &l)) != 0) {
		json_decref(l.rows);
		return rc;
	}
	*rows = l.rows;
	return 0;
}

/* --- jobs and dead letters --- */

struct joblist {
	struct store_rtxn *rt;
	json_t		*rows;
	int		 dlq, state, kind;
};

/* What a dead job was about: its event's or document's identity. */
static void
job_about(struct store_rtxn *rt, const struct store_job *j, json_t *row)
{
	struct store_event_rec	 e;
	struct store_doc	*d;
	json_t			*ev;

	if (j->kind == STORE_JOB_FORWARD) {
		if (store_event_get(rt, j->ref, &e) != 0)
			return;
		ev = ops_event_json(&e);
		ops_set(row, "event_type", json_incref(json_object_get(ev,
		    "type")));
		ops_set(row, "partner", json_incref(json_object_get(ev,
		    "partner")));
		ops_set(row, "subject", json_incref(json_object_get(ev,
		    "subject")));
		ops_set(row, "doc", json_incref(json_object_get(ev, "doc")));
		json_decref(ev);
		return;
	}
	d = xmalloc(sizeof(*d));
	if (store_doc_get(rt, j->ref, d) == 0) {
		ops_set(row, "event_type", json_null());
		ops_set(row, "partner", ops_str(d->partner));
		ops_set(row, "subject", ops_opt(d->name));
		ops_set(row, "doc", ops_id(d->id));
	}
	free(d);
}

static int
list_job(void *arg, const struct store_job *j)
{
	struct joblist	*l = arg;
	json_t		*row;

	if (l->dlq && j->state != STORE_JOB_DEAD)
		return 0;
	if (l->state != 0 && (int)j->state != l->state)
		return 0;
	if (l->kind != 0 && (int)j->kind != l->kind)
		return 0;
	row = ops_job_json(j);
	if (l->dlq)
		job_about(l->rt, j, row);
	json_array_append_new(l->rows, row);
	return 0;
}

int
ops_jobs(struct store_rtxn *rt, int dlq, int state, int kind, json_t **rows)
{
	struct joblist	 l;
	int		 rc;

	l.rt = rt;
	l.rows = json_array();
	l.dlq = dlq;
	l.state = state;
	l.kind = kind;
	if ((rc = store_job_walk(rt, list_job, &l)) != 0) {
		json_decref(l.rows);
		return rc;
	}
	*rows = l.rows;
	return 0;
}

/* --- the chain of a PO --- */

struct chain {
	struct store_rtxn *rt;
	const char	*po;
	int64_t		 now;
	char		(*keys)[STORE_FIELD];	/* order:PARTNER:PO */
	size_t		 nkey;
	struct related	 r;			/* events and their ids */
	uint8_t		(*docs)[STORE_ID_LEN];
	size_t		 ndoc, capdoc;
	json_t		*acks;
	uint8_t		(*by)[STORE_ID_LEN];	/* what resolved an ack */
	size_t		 nby, capby;
};

static void
chain_doc(struct chain *c, const uint8_t id[STORE_ID_LEN])
{
	size_t	 i;

	if (iszero_id(id))
		return;
	for (i = 0; i < c->ndoc; i++)
		if (memcmp(c->docs[i], id, STORE_ID_LEN) == 0)
			return;
	if (c->ndoc == c->capdoc) {
		c->capdoc = c->capdoc ? 2 * c->capdoc : 16;
		c->docs = xreallocarray(c->docs, c->capdoc, sizeof(*c->docs));
	}
	memcpy(c->docs[c->ndoc++], id, STORE_ID_LEN);
}

static int
chain_event(void *arg, const struct store_event_rec *e)
{
	struct chain	*c = arg;

	chain_doc(c, e->doc);
	if (rel_has(&c->r, e->id))
		return 0;
	return rel_event(&c->r, e);
}

static int
chain_ack(void *arg, const struct store_ack *a)
{
	struct chain	*c = arg;
	size_t		 i;
	int		 mine = 0;

	if ((a->kind == STORE_ACK_POACK || a->kind == STORE_ACK_SHIPNOTICE) &&
	    strcmp(a->ref, c->po) == 0)
		mine = 1;
	for (i = 0; !mine && i < c->nkey; i++)
		if (strcmp(a->bizkey, c->keys[i]) == 0)
			mine = 1;
	if (!mine && a->kind == STORE_ACK_ERP)
		mine = rel_has(&c->r, a->doc);
	if (!mine)
		return 0;
	json_array_append_new(c->acks, ops_ack_json(a, c->now));
	if (!iszero_id(a->by)) {
		if (c->nby == c->capby) {
			c->capby = c->capby ? 2 * c->capby : 16;
			c->by = xreallocarray(c->by, c->capby, sizeof(*c->by));
		}
		memcpy(c->by[c->nby++], a->by, STORE_ID_LEN);
	}
	return 0;
}

static int
chain_job(void *arg, const struct store_job *j)
{
	struct chain	*c = arg;
	size_t		 i;

	if (rel_has(&c->r, j->ref)) {
		json_array_append_new(c->r.jobs, ops_job_json(j));
		return 0;
	}
	for (i = 0; i < c->ndoc; i++)
		if (memcmp(c->docs[i], j->ref, STORE_ID_LEN) == 0) {
			json_array_append_new(c->r.jobs, ops_job_json(j));
			break;
		}
	return 0;
}

static void
step(json_t *steps, json_t *time, const char *what, json_t *doc,
    json_t *event, json_t *state, const char *text)
{
	json_t	*s = json_object();

	ops_set(s, "time", time);
	ops_set(s, "step", json_string(what));
	ops_set(s, "doc", doc);
	ops_set(s, "event", event);
	ops_set(s, "state", state);
	ops_set(s, "text", ops_str(text));
	json_array_append_new(steps, s);
}

static const char *
jget(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static int
by_time(const void *a, const void *b)
{
	json_t	*x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(jget(x, "time"), jget(y, "time"));
}

/* The document type that gives an event type, by syntax. */
static const char *
doc_kind(const char *syntax, const char *type)
{
	static const struct {
		const char	*type, *x12, *edifact;
	} k[] = {
		{ "order.created", "850", "ORDERS" },
		{ "order.acknowledged", "855", "ORDRSP" },
		{ "shipment.noticed", "856", "DESADV" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strcmp(type, k[i].type) == 0)
			return strcmp(syntax, "edifact") == 0 ? k[i].edifact :
			    strcmp(syntax, "x12") == 0 ? k[i].x12 : type;
	return type;
}

/* The time line of a chain: one step per document, event, ack. */
static json_t *
chain_steps(json_t *docs, json_t *events, json_t *jobs, json_t *acks)
{
	json_t		*steps = json_array(), *o, *j, *sorted;
	json_t		**v;
	char		 text[EG_MAX_STORE_ERROR + 256];
	const char	*st, *kind;
	size_t		 i, k, n;

	json_array_foreach(docs, i, o) {
		const char *dt = jget(o, "doctype");

		/* Intake does not record the type: name it by its events. */
		json_array_foreach(events, k, j)
			if (*dt == '\0' && json_equal(json_object_get(j, "doc"),
			    json_object_get(o, "id")))
				dt = doc_kind(jget(o, "syntax"),
				    jget(j, "type"));
		st = jget(o, "state");
		snprintf(text, sizeof(text), "%s %s %s %s%s%s",
		    *dt ? dt : jget(o, "name"), strcmp(jget(o, "direction"),
		    "outbound") == 0 ? "sent to" : "received from",
		    jget(o, "partner"), st, *jget(o, "error") ? ": " : "",
		    jget(o, "error"));
		step(steps, json_incref(json_object_get(o, "received")),
		    strcmp(jget(o, "direction"), "outbound") == 0 ? "sent" :
		    "received", json_incref(json_object_get(o, "id")),
		    json_null(), json_string(st), text);
	}
	json_array_foreach(events, i, o) {
		const char *fw = "not forwarded";

		json_array_foreach(jobs, k, j)
			if (json_equal(json_object_get(j, "ref"),
			    json_object_get(o, "id")))
				fw = jget(j, "state");
		snprintf(text, sizeof(text), "event %s (%s) to the ERP: %s",
		    jget(o, "type"), jget(o, "subject"), fw);
		step(steps, json_incref(json_object_get(o, "time")), "event",
		    json_incref(json_object_get(o, "doc")),
		    json_incref(json_object_get(o, "id")), json_string(fw),
		    text);
	}
	json_array_foreach(acks, i, o) {
		kind = jget(o, "kind");
		st = json_is_true(json_object_get(o, "overdue")) ? "overdue" :
		    jget(o, "state");
		snprintf(text, sizeof(text), "%s acknowledgement %s: %s%s%s",
		    strcmp(kind, "erp") == 0 ? "ERP import" :
		    strcmp(kind, "po_ack") == 0 ? "PO (855)" :
		    strcmp(kind, "ship_notice") == 0 ? "ship notice (856)" :
		    strcmp(kind, "functional") == 0 ? "functional" : kind,
		    jget(o, "ref"), st, *jget(o, "reason") ? ": " : "",
		    jget(o, "reason"));
		step(steps, json_incref(json_object_get(o,
		    json_is_null(json_object_get(o, "resolved")) ?
		    "created" : "resolved")), "ack", json_null(),
		    json_null(), json_string(st), text);
	}
	/* Oldest first; ISO 8601 strings order as times. */
	n = json_array_size(steps);
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(steps, i);
	qsort(v, n, sizeof(*v), by_time);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(steps);
	return sorted;
}

int
ops_chain(struct store_rtxn *rt, const struct conf *cf, const char *partner,
    const char *po, int64_t now, json_t **out)
{
	struct chain		 c;
	struct store_doc	*d;
	struct store_event_rec	 e;
	json_t			*docs, *root, *sent, *o;
	size_t			 i, np;
	int			 rc = 0;

	memset(&c, 0, sizeof(c));
	c.rt = rt;
	c.po = po;
	c.now = now;
	rel_init(&c.r, now);
	c.acks = json_array();
	np = cf != NULL ? cf->npartner : 0;
	c.keys = xcalloc(np + 1, sizeof(*c.keys));
	for (i = 0; i < np; i++)
		if (partner == NULL || strcmp(partner,
		    cf->partner[i].id) == 0)
			snprintf(c.keys[c.nkey++], sizeof(*c.keys),
			    "order:%s:%s", cf->partner[i].id, po);
	if (partner != NULL && c.nkey == 0)
		snprintf(c.keys[c.nkey++], sizeof(*c.keys), "order:%s:%s",
		    partner, po);
	for (i = 0; rc == 0 && i < c.nkey; i++)
		rc = store_events_of_biz(rt, c.keys[i], chain_event, &c);
	if (rc == 0)
		rc = store_ack_walk(rt, chain_ack, &c);
	/* What resolved an acknowledgement: an event, or a document. */
	for (i = 0; rc == 0 && i < c.nby; i++) {
		if (store_event_get(rt, c.by[i], &e) == 0)
			rc = chain_event(&c, &e) < 0 ? EG_ERR_INTERNAL : 0;
		else
			chain_doc(&c, c.by[i]);
	}
	if (rc == 0)
		rc = store_job_walk(rt, chain_job, &c);
	docs = json_array();
	d = xmalloc(sizeof(*d));
	for (i = 0; rc == 0 && i < c.ndoc; i++) {
		if (store_doc_get(rt, c.docs[i], d) != 0)
			continue;
		json_array_append_new(docs, ops_doc_json(d));
		sent = json_array();
		if (acks_sent(rt, d, sent) == 0)
			json_array_foreach(sent, np, o)
				json_array_append(docs, o);
		json_decref(sent);
	}
	free(d);
	if (rc != 0) {
		json_decref(docs);
		json_decref(c.acks);
	} else {
		root = json_object();
		ops_set(root, "po", ops_str(po));
		ops_set(root, "steps", chain_steps(docs, c.r.events, c.r.jobs,
		    c.acks));
		ops_set(root, "documents", docs);
		ops_set(root, "events", json_incref(c.r.events));
		ops_set(root, "jobs", json_incref(c.r.jobs));
		ops_set(root, "acks", c.acks);
		*out = root;
	}
	rel_free(&c.r);
	free(c.keys);
	free(c.docs);
	free(c.by);
	return rc;
}

/* --- document listing --- */

struct doclist {
	const struct ops_docq *q;
	json_t		*rows;
	json_t		*only;		/* ids of a PO's chain; NULL: any */
};

static int
list_doc(void *arg, const struct store_doc *d)
{
	struct doclist	*l = arg;
	json_t		*id, *v;
	size_t		 i;
	int		 in = 0;

	if (l->q->from > 0 && (d->unreadable || d->received < l->q->from))
		return 0;
	if (l->q->to > 0 && (d->unreadable || d->received > l->q->to))
		return 0;
	if (l->only != NULL) {
		id = ops_id(d->id);
		json_array_foreach(l->only, i, v)
			if (json_equal(v, id))
				in = 1;
		json_decref(id);
		if (!in)
			return 0;
	}
	json_array_append_new(l->rows, ops_doc_json(d));
	return l->q->limit != 0 &&
	    (long)json_array_size(l->rows) >= l->q->limit;
}

int
ops_docs(struct store_rtxn *rt, const struct conf *cf,
    const struct ops_docq *q, json_t **rows, uint8_t next[STORE_ID_LEN])
{
	struct store_doc_filter	 f;
	struct doclist		 l;
	json_t			*ch = NULL, *v;
	size_t			 i;
	int			 rc;

	memset(&f, 0, sizeof(f));
	f.partner = q->partner;
	f.doctype = q->doctype;
	f.state = q->state;
	memcpy(f.before, q->before, STORE_ID_LEN);
	l.q = q;
	l.rows = json_array();
	l.only = NULL;
	if (q->po != NULL) {
		if ((rc = ops_chain(rt, cf, q->partner, q->po, 0, &ch)) != 0) {
			json_decref(l.rows);
			return rc;
		}
		l.only = json_array();
		json_array_foreach(json_object_get(ch, "documents"), i, v)
			json_array_append(l.only, json_object_get(v, "id"));
		json_decref(ch);
	}
	rc = ops_each_doc(rt, &f, list_doc, &l);
	json_decref(l.only);
	if (rc < 0) {
		json_decref(l.rows);
		return rc;
	}
	if (next != NULL) {
		/* Stopped at the limit: the cursor is the last row. */
		if (rc > 0)
			memcpy(next, f.before, STORE_ID_LEN);
		else
			memset(next, 0, STORE_ID_LEN);
	}
	*rows = l.rows;
	return 0;
}

/* --- ids --- */

int
ops_resolve(struct store_rtxn *rt, const char *text, int *kind,
    uint8_t id[STORE_ID_LEN], char *err, size_t errsz)
{
	static const char *const what[] = { "document", "event", "job" };
	struct store_doc	*d;
	struct store_event_rec	 e;
	struct store_job	 j;
	char			 msg[3][256];
	int			 rc[3], found = 0, i;

	d = xmalloc(sizeof(*d));
	for (i = 0; i < 3; i++) {
		switch (i) {
		case 0:
			if ((rc[i] = store_doc_find(rt, text, d)) == 0)
				memcpy(id, d->id, STORE_ID_LEN);
			break;
		case 1:
			if ((rc[i] = store_event_find(rt, text, &e)) == 0)
				memcpy(id, e.id, STORE_ID_LEN);
			break;
		default:
			if ((rc[i] = store_job_find(rt, text, &j)) == 0)
				memcpy(id, j.id, STORE_ID_LEN);
			break;
		}
		snprintf(msg[i], sizeof(msg[i]), "%s", rc[i] == 0 ? "" :
		    store_errmsg());
		if (rc[i] == 0) {
			*kind = OPS_ID_DOC + i;
			found++;
		}
	}
	free(d);
	for (i = 0; i < 3; i++) {
		if (rc[i] == 0 || rc[i] == EG_ERR_NOTFOUND)
			continue;
		if (rc[i] == EG_ERR_INVAL) {
			/* Not hex, or a prefix of two ids of one kind. */
			if (strstr(msg[i], "ambiguous") != NULL)
				snprintf(err, errsz, "id prefix %s is "
				    "ambiguous: more than one %s starts with "
				    "it; give more digits", text, what[i]);
			else
				snprintf(err, errsz, "%s: not an id (a "
				    "document, event or job id or a prefix of "
				    "one, hex digits and dashes)", text);
			return EX_USAGE;
		}
		/* A record failing validation, an LMDB error. */
		snprintf(err, errsz, "%s: %s", text, msg[i]);
		return ops_exit(rc[i]);
	}
	if (found > 1) {
		snprintf(err, errsz, "id prefix %s is ambiguous: it starts "
		    "the ids of more than one document, event or job; give "
		    "more digits", text);
		return EX_USAGE;
	}
	if (found == 0) {
		snprintf(err, errsz, "no document, event or job with id %s",
		    text);
		return EX_NOINPUT;
	}
	return 0;
}

/* --- actions: replay, hold, release --- */

static const char *const act_name[] = { "replay", "hold", "release" };

const char *
ops_act_name(enum ops_act a)
{
	return act_name[a];
}

/* What one action does: jobs to move, jobs to queue. */
struct plan {
	enum ops_act	 act;
	uint8_t		(*refs)[STORE_ID_LEN];	/* a document, its events */
	size_t		 nref, capref;
	struct store_job *job;			/* jobs to move */
	size_t		 njob, capjob;
	size_t		 skipped;		/* inflight: not moved */
	struct {
		enum store_job_kind kind;
		uint8_t	 ref[STORE_ID_LEN];
		const char *target;
	}		*add;
	size_t		 nadd, capadd;
	json_t		*done, *errors;
};

static void
plan_ref(struct plan *p, const uint8_t id[STORE_ID_LEN])
{
	if (p->nref == p->capref) {
		p->capref = p->capref ? 2 * p->capref : 16;
		p->refs = xreallocarray(p->refs, p->capref, sizeof(*p->refs));
	}
	memcpy(p->refs[p->nref++], id, STORE_ID_LEN);
}

static void
plan_job(struct plan *p, const struct store_job *j)
{
	if (p->njob == p->capjob) {
		p->capjob = p->capjob ? 2 * p->capjob : 16;
		p->job = xreallocarray(p->job, p->capjob, sizeof(*p->job));
	}
	p->job[p->njob++] = *j;
}

static void
plan_add(struct plan *p, enum store_job_kind kind,
    const uint8_t ref[STORE_ID_LEN], const char *target)
{
	if (p->nadd == p->capadd) {
		p->capadd = p->capadd ? 2 * p->capadd : 16;
		p->add = xreallocarray(p->add, p->capadd, sizeof(*p->add));
	}
	p->add[p->nadd].kind = kind;
	memcpy(p->add[p->nadd].ref, ref, STORE_ID_LEN);
	p->add[p->nadd].target = target;
	p->nadd++;
}

static void
say(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(json_t *a, const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(a, ops_str(line));
}

static int
plan_event(void *arg, const struct store_event_rec *e)
{
	plan_ref(arg, e->id);
	return 0;
}

/* hold, release: the jobs referring to one of p->refs in the state. */
static int
plan_walk(void *arg, const struct store_job *j)
{
	struct plan	*p = arg;
	size_t		 i;

	for (i = 0; i < p->nref; i++)
		if (memcmp(p->refs[i], j->ref, STORE_ID_LEN) == 0)
			break;
	if (i == p->nref)
		return 0;
	if (j->state == (p->act == OPS_HOLD ? STORE_JOB_PENDING :
	    STORE_JOB_HELD))
		plan_job(p, j);
	else if (j->state == STORE_JOB_INFLIGHT)
		p->skipped++;
	return 0;
}

static int
plan_store_error(struct plan *p, int rc)
{
	say(p->errors, "%s", store_errmsg());
	return ops_exit(rc);
}

/* Decide, in the read transaction, what act does to the object text. */
static int
plan_make(struct store_rtxn *rt, const char *text, struct plan *p)
{
	struct store_doc	*d;
	struct store_job	 j;
	char			 t[STORE_ID_TEXT], err[512];
	uint8_t			 id[STORE_ID_LEN];
	int			 kind, ex, rc;

	if ((ex = ops_resolve(rt, text, &kind, id, err, sizeof(err))) != 0) {
		say(p->errors, "%s", err);
		return ex;
	}
	store_id_format(id, t);
	if (kind == OPS_ID_JOB) {
		if ((rc = store_job_find(rt, t, &j)) != 0)
			return plan_store_error(p, rc);
		if (j.state != (p->act == OPS_REPLAY ? STORE_JOB_DEAD :
		    p->act == OPS_HOLD ? STORE_JOB_PENDING : STORE_JOB_HELD)) {
			say(p->errors, "job %s is %s: only a %s job can be %s",
			    t, store_job_state_name(j.state),
			    p->act == OPS_REPLAY ? "dead" : p->act == OPS_HOLD ?
			    "pending" : "held", p->act == OPS_REPLAY ?
			    "replayed" : p->act == OPS_HOLD ? "held" :
			    "released");
			return EX_DATAERR;
		}
		plan_job(p, &j);
		return 0;
	}
	if (kind == OPS_ID_EVENT) {
		if (p->act == OPS_REPLAY) {
			plan_add(p, STORE_JOB_FORWARD, id, REPLAY_TARGET);
			return 0;
		}
		plan_ref(p, id);
	} else {
		d = xmalloc(sizeof(*d));
		if ((rc = store_doc_get(rt, id, d)) != 0) {
			free(d);
			return plan_store_error(p, rc);
		}
		plan_ref(p, id);
		rc = store_events_of_doc(rt, id, plan_event, p);
		if (rc != 0) {
			free(d);
			return plan_store_error(p, rc);
		}
		if (p->act == OPS_REPLAY) {
			enum store_doc_state st = d->state;
			size_t	 i;

			free(d);
			if (st == STORE_DOC_REJECTED ||
			    st == STORE_DOC_QUARANTINED) {
				plan_add(p, STORE_JOB_TRANSLATE, id, NULL);
				return 0;
			}
			if (st == STORE_DOC_TRANSLATED && p->nref > 1) {
				for (i = 1; i < p->nref; i++)
					plan_add(p, STORE_JOB_FORWARD,
					    p->refs[i], REPLAY_TARGET);
				return 0;
			}
			say(p->errors, "document %s is %s: %s", t,
			    store_doc_state_name(st),
			    st == STORE_DOC_RECEIVED ? "it is waiting for "
			    "translation already" : st == STORE_DOC_DUPLICATE ?
			    "its events came with the first copy; replay "
			    "that document or its events" :
			    "it has no events to deliver");
			return EX_DATAERR;
		}
		free(d);
	}
	/* hold, release: every job of the object's refs in the state. */
	if ((rc = store_job_walk(rt, plan_walk, p)) != 0)
		return plan_store_error(p, rc);
	if (p->njob == 0) {
		say(p->errors, "no %s job refers to %s %s%s",
		    p->act == OPS_HOLD ? "pending" : "held",
		    kind == OPS_ID_DOC ? "document" : "event", t,
		    kind == OPS_ID_DOC ? " or its events" : "");
		return EX_DATAERR;
	}
	return 0;
}

/* Carry the plan out, one transaction per job. */
static int
plan_run(struct store *s, struct plan *p)
{
	struct store_job	 j;
	enum store_job_state	 from, to;
	char			 t[STORE_ID_TEXT], r[STORE_ID_TEXT];
	size_t			 i;
	int64_t			 now;
	int			 rc, ex = 0;

	for (i = 0; i < p->njob; i++) {
		now = store_now();
		j = p->job[i];
		from = j.state;
		to = p->act == OPS_HOLD ? STORE_JOB_HELD : STORE_JOB_PENDING;
		store_id_format(j.id, t);
		store_id_format(j.ref, r);
		if ((rc = store_job_update(s, &j, to, now, NULL, now)) != 0) {
			say(p->errors, "%s%s", store_errmsg(),
			    rc == EG_ERR_NOTFOUND ? " (the daemon moved it: "
			    "see edigate jobs)" : "");
			ex = rc == EG_ERR_NOTFOUND ? EX_UNAVAILABLE :
			    ops_exit(rc);
			continue;
		}
		say(p->done, "%s job %s: %s -> %s%s (%s%s%s, ref %s)",
		    p->act == OPS_REPLAY ? "replayed" : p->act == OPS_HOLD ?
		    "held" : "released", t, store_job_state_name(from),
		    store_job_state_name(to), to == STORE_JOB_PENDING ?
		    ", due now" : "", ops_job_kind_name(j.kind),
		    j.target[0] ? " " : "", j.target, r);
	}
	for (i = 0; i < p->nadd; i++) {
		now = store_now();
		store_id_format(p->add[i].ref, r);
		if ((rc = store_job_add(s, p->add[i].kind, p->add[i].ref,
		    p->add[i].target, now, &j)) != 0) {
			say(p->errors, "%s", store_errmsg());
			ex = ops_exit(rc);
			continue;
		}
		store_id_format(j.id, t);
		say(p->done, "queued %s job %s for %s %s (%s%s, due now)",
		    ops_job_kind_name(j.kind), t, p->add[i].kind ==
		    STORE_JOB_FORWARD ? "event" : "document", r,
		    j.target[0] ? "target " : "the daemon translates it",
		    j.target);
	}
	if (p->skipped)
		say(p->done, "%zu inflight job%s left alone (the daemon has "
		    "%s)", p->skipped, p->skipped == 1 ? "" : "s",
		    p->skipped == 1 ? "it" : "them");
	return ex;
}

int
ops_action(struct store *s, enum ops_act act, const char *text,
    json_t **result)
{
	struct store_rtxn	*rt = NULL;
	struct plan		 p;
	json_t			*o;
	int			 rc, ex;

	memset(&p, 0, sizeof(p));
	p.act = act;
	p.done = json_array();
	p.errors = json_array();
	if ((rc = store_rtxn_begin(s, &rt)) != 0)
		ex = plan_store_error(&p, rc);
	else {
		ex = plan_make(rt, text, &p);
		/* The snapshot ends before the first write. */
		store_rtxn_end(rt);
		if (ex == 0)
			ex = plan_run(s, &p);
	}
	free(p.refs);
	free(p.job);
	free(p.add);
	o = json_object();
	ops_set(o, "action", json_string(act_name[act]));
	ops_set(o, "id", ops_str(text));
	ops_set(o, "ok", json_boolean(ex == 0));
	ops_set(o, "done", p.done);
	ops_set(o, "errors", p.errors);
	*result = o;
	return ex;
}
