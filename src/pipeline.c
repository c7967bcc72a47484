/*
 * pipeline.c: translate workers.  Each worker takes due translate jobs
 * from the store (intake wrote them with the documents), translates the
 * stored bytes, and commits every document's outcome with its events,
 * forward jobs, functional acknowledgement (an outbound document with its
 * send job), acknowledgement expectations and resolutions, and the
 * translate job's completion in one transaction per batch (group commit).
 * A crash before that commit leaves the job inflight: its lease runs out
 * and the document is translated again; the idempotency keys make the
 * second run's events the same events.
 *
 * Events are held until their envelope's trailer has validated: an
 * envelope error (group or interchange) drops the events of that envelope
 * (DESIGN.md §5, error scope).
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "catalog.h"
#include "conf.h"
#include "diag.h"
#include "edifact_ack.h"
#include "eglimits.h"
#include "envelope.h"
#include "err.h"
#include "failpoint.h"
#include "forward.h"
#include "gateway.h"
#include "jsonw.h"
#include "log.h"
#include "opevent.h"
#include "metrics.h"
#include "store.h"
#include "translate.h"
#include "x12_ack.h"
#include "xmalloc.h"

#define PIPE_LEASE_MS	(10 * 60 * 1000)	/* a translation's lease */
#define PIPE_BATCH_MAX	256			/* documents per commit */
#define PIPE_IDLE_MS	1000			/* look at the store anyway */
#define PIPE_MAX_DIAGS	200			/* kept per document */

struct pev {			/* one event, held until its trailer */
	uint8_t		 id[STORE_ID_LEN];	/* its CloudEvents id */
	char		*json;
	size_t		 len;
	char		 idem[EG_MAX_STORE_KEYTEXT];
	char		 biz[EG_MAX_STORE_KEYTEXT];
	int		 hasbiz;
};

struct work {
	struct store_job job;
	struct store_doc doc;
	const struct partner *p;
	int		 settle_only;	/* no outcome: settle the job */
	int		 leave;		/* neither: taken again after its lease */
	const char	*settle_error;
	/* events */
	struct pev	*ev;
	size_t		 nev, cap, grp_mark, ic_mark;
	size_t		 dropped;	/* events of rejected envelopes */
	struct store_event *sev;
	/* diagnostics: a JSON array */
	struct buf	 diags;
	struct jw	 jw;
	unsigned	 ndiag, nerr;
	char		 first_error[EG_MAX_STORE_ERROR + 1];
	/* the functional acknowledgement */
	struct buf	 ack;
	struct store_outbound out;
	struct store_ctl outctl[2];
	char		 outicn[32], outtarget[EG_MAX_STORE_TARGET + 1];
	/* the ledger */
	struct store_expect *exp;
	struct store_resolve *res;
	size_t		 nexp, nres;
	char		**strs;		/* refs owned by exp[] and res[] */
	size_t		 nstrs;
	char		 reason[EG_MAX_STORE_ERROR + 1];
	char		 first_code[24];
	struct opevent	 op;		/* document.rejected */
	struct store_event opsev;
	struct store_outcome oc;
};

/* snprintf that may cut: record texts are capped, and cut is fine. */
static void __attribute__((format(printf, 3, 4)))
cut(char *dst, size_t size, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

/*
 * Outbound control numbers, per partner: read from the store (ctrseq) at
 * a partner's first document of a batch, used from memory, and written
 * back once before the batch's outcomes commit, so a crash leaves a gap
 * in the numbers, never a number used twice.  The lock serializes workers.
 */
static const enum store_level ctr_level[5] = {
	STORE_LVL_ISA, STORE_LVL_GS, STORE_LVL_ST, STORE_LVL_UNB, STORE_LVL_UNH
};
struct ctrs {
	char		 partner[STORE_FIELD];
	uint64_t	 next[5];
};

static struct {
	struct gateway	*gw;
	pthread_t	*tid;
	unsigned int	 n;
	pthread_mutex_t	 ctr;	/* outbound control numbers */
	struct ctrs	*ctrs;	/* of the batch being translated */
	size_t		 nctrs;
} pl;

static uint64_t *
ctrs_of(const char *partner)
{
	struct ctrs	*c;
	size_t		 i;
	int		 l;

	for (i = 0; i < pl.nctrs; i++)
		if (strcmp(pl.ctrs[i].partner, partner) == 0)
			return pl.ctrs[i].next;
	pl.ctrs = xreallocarray(pl.ctrs, pl.nctrs + 1, sizeof(*pl.ctrs));
	c = &pl.ctrs[pl.nctrs++];
	snprintf(c->partner, sizeof(c->partner), "%s", partner);
	for (l = 0; l < 5; l++)
		if (store_ctr_next(pl.gw->store, partner, ctr_level[l],
		    &c->next[l]) != 0)
			c->next[l] = 1;
	return c->next;
}

/* Persist the batch's counters; 0, or -1 (then nothing may commit). */
static int
ctrs_save(void)
{
	size_t	 i;
	int	 l;

	for (i = 0; i < pl.nctrs; i++)
		for (l = 0; l < 5; l++)
			if (store_ctr_set(pl.gw->store, pl.ctrs[i].partner,
			    ctr_level[l], pl.ctrs[i].next[l]) != 0)
				return -1;
	free(pl.ctrs);
	pl.ctrs = NULL;
	pl.nctrs = 0;
	return 0;
}

static const char *
idtext8_buf(const uint8_t id[STORE_ID_LEN], char out[STORE_ID_TEXT])
{
	store_id_format(id, out);
	return out;
}

static char *
keep(struct work *w, const char *s)
{
	w->strs = xreallocarray(w->strs, w->nstrs + 1, sizeof(*w->strs));
	return w->strs[w->nstrs++] = xstrdup(s);
}

static void
work_free(struct work *w)
{
	size_t	 i;

	for (i = 0; i < w->nev; i++)
		free(w->ev[i].json);
	free(w->ev);
	free(w->sev);
	buf_free(&w->diags);
	buf_free(&w->ack);
	free(w->exp);
	free(w->res);
	for (i = 0; i < w->nstrs; i++)
		free(w->strs[i]);
	free(w->strs);
	opevent_free(&w->op);
}

/*
 * A rejected or quarantined document gets its document.rejected event
 * (EVENTS.md §3.9), forwarded like the business events.
 */
static void
add_rejected(struct work *w, const char *why)
{
	const char	*ack = NULL, *ctl = NULL;

	if (w->oc.nout > 0) {
		ack = w->out.doc.doctype;
		ctl = w->outicn;
	}
	if (opevent_rejected(&w->doc, why, w->reason, w->diags.p,
	    w->ndiag ? w->diags.len : 0, ack, ctl, &w->op) != 0)
		return;
	memcpy(w->opsev.id, w->op.id, STORE_ID_LEN);
	w->opsev.json = w->op.json;
	w->opsev.jsonlen = w->op.len;
	w->opsev.idem = w->op.idem;
	w->opsev.biz = w->op.biz;
	w->oc.ev = &w->opsev;
	w->oc.nev = 1;
	if (pl.gw->fwd != NULL)
		w->oc.target = "erp";
}

/* --- translate callbacks --- */

static int
on_event(void *arg, const char *json, size_t len)
{
	struct work	*w = arg;
	struct pev	*e;
	char		 idt[64];

	if (w->nev == EG_MAX_STORE_EVENTS)
		return 1;
	if (w->nev == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->ev = xreallocarray(w->ev, w->cap, sizeof(*w->ev));
	}
	e = &w->ev[w->nev];
	if (jsonw_top_string(json, len, "idempotencykey", e->idem,
	    sizeof(e->idem)) != 0) {
		log_warnx("pipeline: event without idempotency key dropped");
		return 0;
	}
	e->hasbiz = jsonw_top_string(json, len, "businesskey", e->biz,
	    sizeof(e->biz)) == 0;
	/* stored under its CloudEvents id, the id the ERP sees */
	if (jsonw_top_string(json, len, "id", idt, sizeof(idt)) != 0 ||
	    store_id_parse(idt, e->id) != 0)
		memset(e->id, 0, sizeof(e->id));	/* the store picks */
	e->json = xmalloc(len);
	memcpy(e->json, json, len);
	e->len = len;
	w->nev++;
	return 0;
}

static void
drop_since(struct work *w, size_t mark)
{
	while (w->nev > mark) {
		free(w->ev[--w->nev].json);
		w->dropped++;
	}
}

static void
on_envelope(void *arg, int level, int ok)
{
	struct work	*w = arg;

	if (level == 1) {
		if (!ok)
			drop_since(w, w->grp_mark);
		w->grp_mark = w->nev;
	} else {
		if (!ok)
			drop_since(w, w->ic_mark);
		w->ic_mark = w->grp_mark = w->nev;
	}
}

static void
on_diag(void *arg, const struct diag *d)
{
	struct work	*w = arg;
	struct buf	 line;

	if (d->sev == DIAG_ERROR && w->nerr++ == 0) {
		snprintf(w->first_code, sizeof(w->first_code), "%s", d->code);
		buf_init(&line, 4096);
		if (diag_format(d, w->doc.name, &line) == 0 && line.len > 0) {
			snprintf(w->first_error, sizeof(w->first_error),
			    "%.*s", (int)(line.len -
			    (line.p[line.len - 1] == '\n')), line.p);
		}
		buf_free(&line);
	}
	if (w->ndiag++ >= PIPE_MAX_DIAGS)
		return;
	jw_open(&w->jw, '{');
	jw_kcstr(&w->jw, "severity", d->sev == DIAG_ERROR ? "error" :
	    "warning");
	jw_kcstr(&w->jw, "code", d->code);
	if (d->filepos) {
		jw_key(&w->jw, "segmentNumber");
		jw_int(&w->jw, d->filepos);
	}
	if (d->tag[0])
		jw_kcstr(&w->jw, "segment", d->tag);
	if (d->setpos) {
		jw_key(&w->jw, "setPosition");
		jw_int(&w->jw, d->setpos);
	}
	if (d->el) {
		jw_key(&w->jw, "element");
		jw_int(&w->jw, d->el);
	}
	if (d->comp) {
		jw_key(&w->jw, "component");
		jw_int(&w->jw, d->comp);
	}
	if (d->line) {
		jw_key(&w->jw, "line");
		jw_int(&w->jw, d->line);
	}
	if (d->element[0])
		jw_kcstr(&w->jw, "xmlElement", d->element);
	if (d->rule[0])
		jw_kcstr(&w->jw, "rule", d->rule);
	if (d->field[0])
		jw_kcstr(&w->jw, "field", d->field);
	jw_kcstr(&w->jw, "message", d->msg);
	jw_close(&w->jw, '}');
}

/* --- the ledger: expectations from events --- */

static void
expect(struct work *w, enum store_ack_kind kind, const char *ref,
    const char *biz, long long after_ms)
{
	struct store_expect *e;

	if (*ref == '\0' || strlen(ref) > EG_MAX_STORE_FIELD)
		return;
	w->exp = xreallocarray(w->exp, w->nexp + 1, sizeof(*w->exp));
	e = &w->exp[w->nexp++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->partner = w->p->id;
	e->ref = keep(w, ref);
	e->bizkey = biz ? keep(w, biz) : NULL;
	memcpy(e->doc, w->doc.id, STORE_ID_LEN);
	e->due = store_now() + after_ms;
}

static void
resolve(struct work *w, enum store_ack_kind kind, const char *ref,
    enum store_ack_state st, const char *reason)
{
	struct store_resolve *r;

	if (ref == NULL || *ref == '\0' || strlen(ref) > EG_MAX_STORE_FIELD)
		return;
	w->res = xreallocarray(w->res, w->nres + 1, sizeof(*w->res));
	r = &w->res[w->nres++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->partner = w->p->id;
	r->ref = keep(w, ref);
	r->state = st;
	r->reason = reason ? keep(w, reason) : NULL;
	memcpy(r->by, w->doc.id, STORE_ID_LEN);
}

static const char *
jstr(json_t *o, const char *path)
{
	char		 key[64];
	const char	*dot;
	json_t		*v = o;

	while (v != NULL && *path) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) :
		    (int)strlen(path), path);
		v = json_object_get(v, key);
		path = dot ? dot + 1 : "";
	}
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * DESIGN.md §7: an order received expects its PO acknowledgement; an
 * accepted 855/ORDRSP resolves that and expects the ship notice; a ship
 * notice resolves the ship-notice expectations of the orders it names; a
 * 997/999/CONTRL resolves the functional acknowledgement of what we sent.
 */
static void
ledger(struct work *w, const struct pev *e)
{
	char		 type[64], subject[STORE_FIELD];
	json_t		*root, *data, *refs, *r;
	json_error_t	 jerr;
	const char	*s, *st;
	size_t		 i;

	if (jsonw_top_string(e->json, e->len, "type", type,
	    sizeof(type)) != 0)
		return;
	if (strcmp(type, "order.created") == 0 &&
	    jsonw_top_string(e->json, e->len, "subject", subject,
	    sizeof(subject)) == 0) {
		expect(w, STORE_ACK_POACK, subject,
		    e->hasbiz ? e->biz : NULL, w->p->ack_po);
		return;
	}
	if (strcmp(type, "order.acknowledged") != 0 &&
	    strcmp(type, "shipment.noticed") != 0 &&
	    strcmp(type, "ack.received") != 0)
		return;
	if ((root = json_loadb(e->json, e->len, 0, &jerr)) == NULL)
		return;
	data = json_object_get(json_object_get(root, "data"), "document");
	if (strcmp(type, "order.acknowledged") == 0) {
		s = jstr(data, "orderReference.id");
		st = jstr(data, "acknowledgementType");
		if (st != NULL && (strcmp(st, "rejected") == 0 ||
		    strcmp(st, "rejectedWithDetail") == 0)) {
			resolve(w, STORE_ACK_POACK, s, STORE_ACK_REJECTED,
			    "order rejected by the PO acknowledgement");
		} else {
			resolve(w, STORE_ACK_POACK, s, STORE_ACK_ACCEPTED,
			    NULL);
			if (s != NULL)
				expect(w, STORE_ACK_SHIPNOTICE, s,
				    e->hasbiz ? e->biz : NULL, w->p->ack_ship);
		}
	} else if (strcmp(type, "shipment.noticed") == 0) {
		refs = json_object_get(json_object_get(data, "correlation"),
		    "orderRefs");
		json_array_foreach(refs, i, r) {
			s = json_is_string(r) ? json_string_value(r) :
			    jstr(r, "id");
			resolve(w, STORE_ACK_SHIPNOTICE, s,
			    STORE_ACK_ACCEPTED, NULL);
		}
	} else {
		st = jstr(data, "status");
		s = jstr(data, "acknowledged.interchangeControlNumber");
		if (s == NULL)
			s = jstr(data, "acknowledged.groupControlNumber");
		resolve(w, STORE_ACK_FUNCTIONAL, s, st != NULL &&
		    strcmp(st, "rejected") == 0 ? STORE_ACK_REJECTED :
		    STORE_ACK_ACCEPTED, st != NULL && strcmp(st, "accepted")
		    != 0 ? st : NULL);
	}
	json_decref(root);
}

/* --- one document --- */

static enum x12_ack_kind
x12_kind(const char *ack)
{
	if (ack == NULL || strcmp(ack, "997") == 0)
		return X12_ACK_997;
	if (strcmp(ack, "999") == 0)
		return X12_ACK_999;
	return X12_ACK_NONE;
}

/*
 * Who sent it: the partner of the channel, confirmed by the envelope.
 * NULL with w->reason set: quarantine.
 */
static const struct partner *
identify(struct work *w, const struct conf *cf, struct slice raw)
{
	const struct partner	*chan, *env = NULL;
	struct envelope		 e;

	if ((chan = conf_partner(cf, w->doc.partner)) == NULL) {
		cut(w->reason, sizeof(w->reason), "partner %s is not "
		    "configured (partners.d/%s.ini)", w->doc.partner,
		    w->doc.partner);
		return NULL;
	}
	if (envelope_peek(raw, &e) != 0 || e.syntax == NULL ||
	    strcmp(e.syntax, "xml") == 0)
		return chan;	/* the translator says what is wrong */
	if (strcmp(e.syntax, "x12") == 0)
		env = conf_partner_x12(cf, e.sender_qual, e.sender_id);
	else
		env = conf_partner_edifact(cf, e.sender_id, e.sender_qual);
	if (env == NULL) {
		cut(w->reason, sizeof(w->reason), "unknown sender %s "
		    "(%s) on %s: no partner has this %s", e.sender,
		    strcmp(e.syntax, "x12") == 0 ? "ISA05:ISA06" :
		    "UNB S002", w->doc.channel, strcmp(e.syntax, "x12") == 0 ?
		    "x12_id" : "edifact_id");
		return NULL;
	}
	if (env != chan) {
		cut(w->reason, sizeof(w->reason), "sender %s is partner "
		    "%s, but the document came by %s of partner %s", e.sender,
		    env->id, w->doc.channel, chan->id);
		return NULL;
	}
	return chan;
}

static const char *
protocol(const char *channel)
{
	if (strncmp(channel, "sftp:", 5) == 0)
		return "SFTP";
	if (strncmp(channel, "as2:", 4) == 0)
		return "AS2";
	return "DIR";
}

static void
make_ack(struct work *w, const struct conf *cf, struct x12_ack *xa,
    struct edifact_ack *ea, const uint64_t first[5], uint64_t next[5])
{
	unsigned long	 c[5];
	int		 n, n2;
	struct store_doc *d = &w->out.doc;
	int		 x12;

	n = x12_ack_output(xa, &w->ack);
	x12 = n > 0;
	n2 = edifact_ack_output(ea, &w->ack);
	x12_ack_counters(xa, &c[0], &c[1], &c[2]);
	edifact_ack_counters(ea, &c[3], &c[4]);
	memcpy(next, (uint64_t[5]){ c[0], c[1], c[2], c[3], c[4] },
	    sizeof(uint64_t[5]));
	if (n < 0 || n2 < 0 || w->ack.len == 0)
		return;
	memset(d, 0, sizeof(*d));
	cut(d->partner, sizeof(d->partner), "%s", w->p->id);
	cut(d->channel, sizeof(d->channel), "%s", w->doc.channel);
	cut(d->syntax, sizeof(d->syntax), "%s", x12 ? "x12" :
	    "edifact");
	cut(d->doctype, sizeof(d->doctype), "%s", !x12 ? "CONTRL" :
	    x12_kind(w->p->ack) == X12_ACK_999 ? "999" : "997");
	cut(w->outicn, sizeof(w->outicn), x12 ? "%09" PRIu64 :
	    "%" PRIu64, x12 ? first[0] : first[3]);
	cut(d->icn, sizeof(d->icn), "%s", w->outicn);
	cut(d->name, sizeof(d->name), "%s-%s-%s.%s", d->doctype,
	    w->p->id, w->outicn, x12 ? "x12" : "edi");
	cut(d->sender, sizeof(d->sender), "%s", x12 ?
	    (cf->x12_id ? cf->x12_id : "") : (cf->edifact_id ?
	    cf->edifact_id : ""));
	cut(d->receiver, sizeof(d->receiver), "%s", w->doc.sender);
	memcpy(d->about, w->doc.id, STORE_ID_LEN);	/* what it answers */
	w->outctl[0].level = x12 ? STORE_LVL_ISA : STORE_LVL_UNB;
	w->outctl[0].sender = d->sender;
	w->outctl[0].number = w->outicn;
	w->out.raw = slice_make(w->ack.p, w->ack.len);
	w->out.ctl = w->outctl;
	w->out.nctl = 1;
	if (w->p->outbox != NULL) {
		cut(w->outtarget, sizeof(w->outtarget), "dir:%s",
		    w->p->id);
		w->out.target = w->outtarget;
	} else if (w->p->sftp_host != NULL && w->p->sftp_outbox != NULL) {
		cut(w->outtarget, sizeof(w->outtarget), "sftp:%s",
		    w->p->id);
		w->out.target = w->outtarget;
	} else if (w->p->as2_url != NULL) {
		/* no folder: over AS2 (outbox.c hands it to as2.c) */
		cut(w->outtarget, sizeof(w->outtarget), "as2:%s",
		    w->p->id);
		w->out.target = w->outtarget;
	}
	w->oc.out = &w->out;
	w->oc.nout = 1;
	w->oc.out_unless_duplicate = w->p->duplicate != NULL &&
	    strcmp(w->p->duplicate, "none") == 0;
}

static void
translate_one(struct work *w, const struct conf *cf,
    const struct catalog *cat, struct store_rtxn *rt)
{
	struct translate_opts	 o;
	struct translate_stats	 st;
	struct x12_ack_opts	 ao;
	struct edifact_ack_opts	 eo;
	struct x12_ack		*xa;
	struct edifact_ack	*ea;
	struct slice		 raw;
	char			 idt[STORE_ID_TEXT];
	uint64_t		 first[5], *next;
	size_t			 i;
	int			 rc;

	if ((rc = store_doc_get(rt, w->job.ref, &w->doc)) != 0) {
		w->settle_only = 1;
		w->settle_error = rc == EG_ERR_NOTFOUND ?
		    "document not found" : "document record unreadable";
		return;
	}
	if (w->doc.state != STORE_DOC_RECEIVED &&
	    w->doc.state != STORE_DOC_REJECTED &&
	    w->doc.state != STORE_DOC_QUARANTINED) {
		w->settle_only = 1;	/* done already (a retaken lease) */
		return;
	}
	memcpy(w->oc.id, w->doc.id, STORE_ID_LEN);
	w->oc.job = &w->job;
	if ((rc = store_blob_get(rt, w->doc.id, &raw)) != 0) {
		w->oc.state = STORE_DOC_QUARANTINED;
		cut(w->reason, sizeof(w->reason), "raw bytes unreadable: "
		    "%s", store_errmsg());
		w->oc.reason = w->reason;
		return;
	}
	if ((w->p = identify(w, cf, raw)) == NULL) {
		w->oc.state = STORE_DOC_QUARANTINED;
		w->oc.reason = w->reason;
		add_rejected(w, "unknown-partner");
		return;
	}

	next = ctrs_of(w->p->id);
	memcpy(first, next, sizeof(first));
	memset(&ao, 0, sizeof(ao));
	ao.kind = x12_kind(w->p->ack);
	ao.our_x12_id = cf->x12_id;
	ao.isa_control = first[0];
	ao.gs_control = first[1];
	ao.st_control = first[2];
	clock_gettime(CLOCK_REALTIME, &ao.now);
	xa = x12_ack_new(&ao);
	memset(&eo, 0, sizeof(eo));
	eo.always = w->p->ack != NULL && strcmp(w->p->ack, "contrl") == 0;
	eo.our_edifact_id = cf->edifact_id;
	eo.icref = first[3];
	eo.msgref = first[4];
	eo.now = ao.now;
	ea = edifact_ack_new(&eo);

	store_id_format(w->doc.id, idt);
	memset(&o, 0, sizeof(o));
	o.cat = cat;
	o.conf = cf;
	o.partner = w->p->id;
	o.filename = w->doc.name;
	o.protocol = protocol(w->doc.channel);
	o.doc_id = idt;
	o.received.tv_sec = w->doc.received / 1000;
	o.received.tv_nsec = (w->doc.received % 1000) * 1000000;
	o.ack = xa;
	o.contrl = ea;
	o.on_event = on_event;
	o.on_envelope = on_envelope;
	o.on_diag = on_diag;
	o.arg = w;
	buf_init(&w->diags, EG_MAX_STORE_DIAGS);
	jw_init(&w->jw, &w->diags);
	jw_open(&w->jw, '[');
	rc = translate_bytes(raw, &o, &st);
	jw_close(&w->jw, ']');
	if (w->nev > w->ic_mark)	/* no trailer at all: not validated */
		drop_since(w, w->ic_mark);

	buf_init(&w->ack, EG_MAX_DOC_SIZE);
	make_ack(w, cf, xa, ea, first, next);
	x12_ack_free(xa);
	edifact_ack_free(ea);

	w->sev = xcalloc(w->nev ? w->nev : 1, sizeof(*w->sev));
	for (i = 0; i < w->nev; i++) {
		memcpy(w->sev[i].id, w->ev[i].id, STORE_ID_LEN);
		w->sev[i].json = w->ev[i].json;
		w->sev[i].jsonlen = w->ev[i].len;
		w->sev[i].idem = w->ev[i].idem;
		w->sev[i].biz = w->ev[i].hasbiz ? w->ev[i].biz : NULL;
		ledger(w, &w->ev[i]);
	}
	w->oc.ev = w->sev;
	w->oc.nev = w->nev;
	w->oc.exp = w->exp;
	w->oc.nexp = w->nexp;
	w->oc.res = w->res;
	w->oc.nres = w->nres;
	if (pl.gw->fwd != NULL) {
		w->oc.target = "erp";
		w->oc.erp_due = store_now() + cf->erp_ack_timeout_ms;
	}
	if (w->ndiag > 0)
		w->oc.diags = slice_make(w->diags.p, w->diags.len);
	if (rc != 0 && w->nev == 0) {
		w->oc.state = STORE_DOC_REJECTED;
		cut(w->reason, sizeof(w->reason), "%s",
		    w->first_error[0] ? w->first_error : st.not_edi ?
		    "not X12, EDIFACT or XML" : eg_strerror(rc));
		w->oc.reason = w->reason;
		add_rejected(w, opevent_reason(w->first_code));
	} else {
		w->oc.state = STORE_DOC_TRANSLATED;
		if (rc != 0 || w->dropped) {
			cut(w->reason, sizeof(w->reason), "%u of %u "
			    "documents rejected%s%s", st.rejected +
			    (unsigned)w->dropped, st.sets, w->first_error[0] ?
			    ": " : "", w->first_error);
			w->oc.reason = w->reason;
		}
	}
}

static void
run_batch(struct store_job *jobs, size_t n)
{
	struct gateway	*gw = pl.gw;
	struct work	*w;
	struct store_outcome *oc;
	struct store_settle *se;
	struct store_rtxn *rt;
	struct timespec	 t0, t1;
	size_t		 i, noc = 0, nse = 0, nout = 0;
	char		 idt[STORE_ID_TEXT];
	int		 rc;

	w = xcalloc(n, sizeof(*w));
	oc = xcalloc(n, sizeof(*oc));
	se = xcalloc(n, sizeof(*se));
	pthread_mutex_lock(&pl.ctr);
	pthread_rwlock_rdlock(&gw->lock);
	for (i = 0; i < n; i++) {
		w[i].job = jobs[i];
		if (store_rtxn_begin(gw->store, &rt) != 0) {
			log_warnx("pipeline: read transaction: %s; the job is "
			    "taken again when its lease ends", store_errmsg());
			w[i].leave = 1;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		translate_one(&w[i], gw->conf, gw->cat, rt);
		store_rtxn_end(rt);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!w[i].settle_only)
			metrics_translate_observe((uint64_t)((t1.tv_sec -
			    t0.tv_sec) * 1000000000LL + (t1.tv_nsec -
			    t0.tv_nsec)));
	}
	pthread_rwlock_unlock(&gw->lock);

	for (i = 0; i < n; i++) {
		if (w[i].leave)
			continue;
		if (w[i].settle_only) {
			se[nse].job = &w[i].job;
			se[nse].to = w[i].settle_error ? STORE_JOB_DEAD :
			    STORE_JOB_DONE;
			se[nse].due = STORE_DUE_NEVER;
			se[nse].error = w[i].settle_error;
			nse++;
			continue;
		}
		oc[noc++] = w[i].oc;
	}
	if (ctrs_save() != 0) {
		log_warnx("pipeline: saving control numbers: %s; the batch is "
		    "translated again when its lease ends", store_errmsg());
		noc = nse = 0;
	}
	pthread_mutex_unlock(&pl.ctr);
	FAILPOINT("pipeline-before-commit");
	if (noc > 0 && (rc = store_outcome_batch(gw->store, oc, noc)) != 0)
		log_warnx("pipeline: commit of %zu outcomes failed: %s (the "
		    "documents are translated again when their lease ends)",
		    noc, store_errmsg());
	else if (noc > 0) {
		FAILPOINT("pipeline-after-commit");
		for (i = 0; i < noc; i++) {
			if (oc[i].rc != 0) {
				log_warnx("pipeline: doc=%s outcome refused: "
				    "%s", idtext8_buf(oc[i].id, idt),
				    eg_strerror(oc[i].rc));
				continue;
			}
			nout += oc[i].nout;
			log_info("pipeline: %s doc=%s events=%zu%s%s",
			    store_doc_state_name(oc[i].final),
			    idtext8_buf(oc[i].id, idt), oc[i].nev,
			    oc[i].reason ? " reason=" : "",
			    oc[i].reason ? oc[i].reason : "");
		}
	}
	if (nse > 0 && store_jobs_settle(gw->store, se, nse,
	    store_now()) != 0)
		log_warnx("pipeline: settling %zu jobs: %s", nse,
		    store_errmsg());
	if (gw->fwd != NULL)
		forward_kick(gw->fwd);
	if (nout > 0)
		wake_signal(&gw->outbox_wake);
	for (i = 0; i < n; i++)
		work_free(&w[i]);
	free(w);
	free(oc);
	free(se);
}

static void *
worker(void *arg)
{
	struct gateway	*gw = arg;
	struct store_job *jobs;
	size_t		 n, max;
	int		 rc;

	max = PIPE_BATCH_MAX;
	jobs = xcalloc(max, sizeof(*jobs));
	while (!atomic_load(&gw->stopping)) {
		rc = store_jobs_take(gw->store, 1u << STORE_JOB_TRANSLATE,
		    store_now(), PIPE_LEASE_MS, jobs, max, &n);
		if (rc != 0) {
			log_warnx("pipeline: taking jobs: %s", store_errmsg());
			wake_wait(&gw->pipeline_wake, PIPE_IDLE_MS);
			continue;
		}
		if (n == 0) {
			wake_wait(&gw->pipeline_wake, PIPE_IDLE_MS);
			continue;
		}
		run_batch(jobs, n);
	}
	free(jobs);
	return NULL;
}

int
pipeline_start(struct gateway *gw, unsigned int nworkers)
{
	unsigned int	 i;

	pl.gw = gw;
	pl.n = nworkers ? nworkers : 1;
	pl.tid = xcalloc(pl.n, sizeof(*pl.tid));
	pthread_mutex_init(&pl.ctr, NULL);
	for (i = 0; i < pl.n; i++)
		if (pthread_create(&pl.tid[i], NULL, worker, gw) != 0) {
			log_warn("pipeline: pthread_create");
			pl.n = i;
			return EG_ERR_IO;
		}
	return 0;
}

void
pipeline_stop(void)
{
	unsigned int	 i;

	for (i = 0; i < pl.n; i++) {
		wake_signal(&pl.gw->pipeline_wake);
		pthread_join(pl.tid[i], NULL);
	}
	free(pl.tid);
	pl.tid = NULL;
	pthread_mutex_destroy(&pl.ctr);
}
