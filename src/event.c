/*
 * event.c: CloudEvents 1.0 structured-mode envelope for mapped documents.
 *
 * Owns the naming rules of EVENTS.md: subject and business key per event
 * type, the X12 and EDIFACT idempotency keys, data.source provenance and
 * occurredAt.  Writes JSON text straight into the caller's buffer (one
 * event is written per transaction set, so no tree is built for it).
 * Never does I/O.
 */
#include "config.h"

#include <openssl/rand.h>

#include <sys/types.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "edi.h"
#include "err.h"
#include "event.h"
#include "jsonw.h"
#include "log.h"
#include "map.h"
#include "slice.h"
#include "xmalloc.h"

#define KEYMAX	2048	/* idempotency and business keys */

/* xorshift128+: fast, and seeded with 128 bits from OpenSSL's DRBG. */
static uint64_t
rng_next(struct event_cache *c)
{
	uint64_t	 x = c->rng[0], y = c->rng[1];

	c->rng[0] = y;
	x ^= x << 23;
	c->rng[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
	return c->rng[1] + y;
}

/* "00" to "ff": a byte's two hex digits in one load. */
static const char hex2[256][2] = {
#define H4(x)	{ "0123456789abcdef"[(x) >> 4], "0123456789abcdef"[(x) & 15] }
#define H16(x)	H4(x), H4(x + 1), H4(x + 2), H4(x + 3), H4(x + 4), H4(x + 5), \
	H4(x + 6), H4(x + 7), H4(x + 8), H4(x + 9), H4(x + 10), H4(x + 11), \
	H4(x + 12), H4(x + 13), H4(x + 14), H4(x + 15)
	H16(0x00), H16(0x10), H16(0x20), H16(0x30), H16(0x40), H16(0x50),
	H16(0x60), H16(0x70), H16(0x80), H16(0x90), H16(0xa0), H16(0xb0),
	H16(0xc0), H16(0xd0), H16(0xe0), H16(0xf0),
#undef H16
#undef H4
};

/*
 * The generator's seed.  getrandom(2) where there is one: OpenSSL's DRBG
 * costs far more to set up than the few events of most inputs, and the
 * kernel's pool is what it would seed itself from.
 */
static void
rng_seed(struct event_cache *c)
{
#ifdef HAVE_GETRANDOM
	if (getrandom(c->rng, sizeof(c->rng), 0) == (ssize_t)sizeof(c->rng) &&
	    (c->rng[0] | c->rng[1]) != 0) {
		c->seeded = 1;
		return;
	}
#endif
	if (RAND_bytes((unsigned char *)c->rng, sizeof(c->rng)) != 1 ||
	    (c->rng[0] | c->rng[1]) == 0)
		fatalx("uuid: no randomness");
	c->seeded = 1;
}

void
event_uuid7(struct event_cache *c, const struct timespec *t, char out[37])
{
	/* where each of the 16 bytes' digits go: 8-4-4-4-12 */
	static const unsigned char at[16] = {
		0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34
	};
	unsigned char	 b[16];
	uint64_t	 ms, r1, r2;
	int		 i;

	ms = (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
	if (c != NULL) {
		if (!c->seeded)
			rng_seed(c);
		r1 = rng_next(c);
		r2 = rng_next(c);
		memcpy(b + 6, &r1, 8);
		memcpy(b + 14, &r2, 2);
	} else if (RAND_bytes(b + 6, 10) != 1)
		fatalx("uuid: no randomness");
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	for (i = 0; i < 16; i++)
		memcpy(out + at[i], hex2[b[i]], 2);
	out[8] = out[13] = out[18] = out[23] = '-';
	out[36] = '\0';
}

/* Trimmed envelope value; empty when absent. */
static struct slice
ev(const struct edi_seg *seg, int el, int comp)
{
	const struct slice *v = edi_value(seg, el, comp, 1);

	return v ? slice_trim(*v) : slice_make("", 0);
}

static void
kslice(struct jw *w, const char *key, struct slice s)
{
	jw_kstr(w, key, s.p, s.len);
}

static int
alldigits(struct slice s)
{
	size_t	 i;

	for (i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
	return s.len > 0;
}

/* YYMMDD or CCYYMMDD -> YYYY-MM-DD into out[11]; 0, or -1. */
static int
isodate(struct slice s, char out[11])
{
	if (!alldigits(s))
		return -1;
	if (s.len == 8) {
		snprintf(out, 11, "%.4s-%.2s-%.2s", s.p, s.p + 4, s.p + 6);
		return 0;
	}
	if (s.len == 6) {
		snprintf(out, 11, "%s%.2s-%.2s-%.2s",
		    (s.p[0] - '0') * 10 + (s.p[1] - '0') < 50 ? "20" : "19",
		    s.p, s.p + 2, s.p + 4);
		return 0;
	}
	return -1;
}

/* HHMM[SS[d..]] -> HH:MM[:SS] into out[9]; with_seconds forces :SS. */
static int
isotime(struct slice s, int with_seconds, char out[9])
{
	if (s.len < 4 || !alldigits(s))
		return -1;
	if (s.len >= 6)
		snprintf(out, 9, "%.2s:%.2s:%.2s", s.p, s.p + 2, s.p + 4);
	else if (with_seconds)
		snprintf(out, 9, "%.2s:%.2s:00", s.p, s.p + 2);
	else
		snprintf(out, 9, "%.2s:%.2s", s.p, s.p + 2);
	return 0;
}

/*
 * The process-wide TZ is the only portable way to reach the system's zone
 * database from C; it is switched under a lock and restored, and nothing
 * else in edigate reads local time.
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

int
event_rfc3339(char *out, size_t outlen, const char *date, const char *time,
    const char *zone)
{
	struct tm	 tm;
	time_t		 t;
	char		*old = NULL, path[512];
	const char	*o;
	long		 off;
	int		 y, mo, d, h, mi, s;

	if (strlen(date) != 10 || strlen(time) != 8 || outlen < 21)
		return -1;
	if (zone == NULL || *zone == '\0' || strcmp(zone, "UTC") == 0 ||
	    strcmp(zone, "Etc/UTC") == 0) {
		memcpy(out, date, 10);
		out[10] = 'T';
		memcpy(out + 11, time, 8);
		out[19] = 'Z';
		out[20] = '\0';
		return 0;
	}
	if (sscanf(date, "%4d-%2d-%2d", &y, &mo, &d) != 3 ||
	    sscanf(time, "%2d:%2d:%2d", &h, &mi, &s) != 3)
		return -1;
	/* An unknown zone would silently become UTC: refuse it instead. */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (strstr(zone, "..") != NULL || access(path, R_OK) != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	pthread_mutex_lock(&tz_lock);
	if ((o = getenv("TZ")) != NULL)
		old = xstrdup(o);
	setenv("TZ", zone, 1);
	tzset();
	t = mktime(&tm);
	off = tm.tm_gmtoff;
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
	free(old);
	if (t == (time_t)-1)
		return -1;
	if (off == 0)
		snprintf(out, outlen, "%.10sT%.8sZ", date, time);
	else
		snprintf(out, outlen, "%.10sT%.8s%c%02ld:%02ld", date, time,
		    off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
	return 0;
}

/* "a-b", each up to its first NUL (as "%.*s-%.*s"). */
static char *
join2(struct slice a, struct slice b)
{
	size_t	 al = strnlen(a.p, a.len), bl = strnlen(b.p, b.len);
	char	*p = xmalloc(al + bl + 2);

	memcpy(p, a.p, al);
	p[al] = '-';
	memcpy(p + al + 1, b.p, bl);
	p[al + 1 + bl] = '\0';
	return p;
}

char *
event_default_partner(const struct edi_set *set)
{
	struct slice	 q, id;

	if (set->env.syntax == EDI_XML) {
		if (set->xml_sender.len == 0)
			return xstrdup("unknown");
		return slice_strdup(set->xml_sender);
	}
	if (set->env.syntax == EDI_X12) {
		q = ev(set->env.interchange, 5, 1);
		id = ev(set->env.interchange, 6, 1);
	} else {
		/* UNB S002: 0004 id, 0007 qualifier (joined id-qualifier). */
		id = ev(set->env.interchange, 2, 1);
		q = ev(set->env.interchange, 2, 2);
		if (id.len == 0)		/* a message without UNB */
			return xstrdup("unknown");
		if (q.len == 0)
			return slice_strdup(id);
		return join2(id, q);
	}
	if (q.len == 0 && id.len == 0)
		return xstrdup("unknown");
	if (q.len == 0)
		return slice_strdup(id);
	return join2(q, id);
}

/* -- correlation.orderRefs -- */

#define MAXREFS	1000	/* distinct order numbers named by one event */

struct refs {
	struct slice	 inl[8];
	struct slice	*v;		/* inl, or heap beyond 8 */
	size_t		 n, cap;
};

static void
addref(void *arg, const char *s, size_t len)
{
	struct refs	*r = arg;
	size_t		 i;

	if (len == 0 || r->n == MAXREFS)
		return;
	for (i = 0; i < r->n; i++)
		if (slice_eq(r->v[i], slice_make(s, len)))
			return;
	if (r->n == r->cap) {
		if (r->v == r->inl) {
			r->v = xreallocarray(NULL, r->cap * 2, sizeof(*r->v));
			memcpy(r->v, r->inl, sizeof(r->inl));
		} else
			r->v = xreallocarray(r->v, r->cap * 2, sizeof(*r->v));
		r->cap *= 2;
	}
	r->v[r->n++] = slice_make(s, len);
}

static void
orderrefs(const char *type, const struct mdoc *doc, struct refs *r)
{
	r->v = r->inl;
	r->cap = sizeof(r->inl) / sizeof(r->inl[0]);
	r->n = 0;
	if (strcmp(type, "order.created") == 0)
		mdoc_each(doc, "id", addref, r);
	else if (strcmp(type, "shipment.noticed") == 0) {
		mdoc_each(doc, "orders[].orderReference.id", addref, r);
		mdoc_each(doc, "lines[].orderReference.id", addref, r);
	} else
		mdoc_each(doc, "orderReference.id", addref, r);
}

/*
 * occurredAt: the document's own date and time, else the envelope's
 * (GS04/GS05, UNB S004), in the partner's (or the map's) time zone.
 */
static int
occurred_at(const struct edi_set *set, const struct mdoc *doc,
    const char *zone, char *out, size_t outlen)
{
	const char	*d, *t;
	size_t		 dl, tl;
	char		 date[11], time[9] = "00:00:00";
	struct slice	 gd, gt;

	if ((d = mdoc_get(doc, "issueDate", &dl)) != NULL && dl == 10) {
		memcpy(date, d, 10);
		date[10] = '\0';
		if ((t = mdoc_get(doc, "issueTime", &tl)) != NULL && tl >= 5) {
			if (tl >= 8)
				snprintf(time, sizeof(time), "%.8s", t);
			else
				snprintf(time, sizeof(time), "%.5s:00", t);
		}
	} else if (set->env.syntax == EDI_XML) {
		return -1;	/* no envelope date: occurredAt is left out */
	} else {
		if (set->env.syntax == EDI_X12) {
			gd = ev(set->env.group, 4, 1);
			gt = ev(set->env.group, 5, 1);
		} else {
			gd = ev(set->env.interchange, 4, 1);
			gt = ev(set->env.interchange, 4, 2);
		}
		if (isodate(gd, date) != 0)
			return -1;
		if (isotime(gt, 1, time) != 0)
			snprintf(time, sizeof(time), "00:00:00");
	}
	return event_rfc3339(out, outlen, date, time, zone);
}

/*
 * Pieces of an event that are the same for every set of an input with
 * the same partner and map are serialized once and copied.  A piece
 * keeps the writer's state it was made from and the state it leaves, so
 * it is used only where it was made and the writer continues as if the
 * calls had been made.
 */
struct efrag {
	struct buf	 b;
	struct jw	 start, end;
	int		 ok;
};

enum { FR_HEAD, FR_TAIL, FR_CHANNEL, FR_RAWREF, FR_MAP, FR_N };

struct event_frag {
	struct efrag	 f[FR_N];
};

static int
jw_same(const struct jw *a, const struct jw *b)
{
	return a->depth == b->depth && a->afterkey == b->afterkey &&
	    a->depth >= 0 && a->depth < JW_MAXDEPTH &&
	    memcmp(a->first, b->first, (size_t)a->depth + 1) == 0;
}

/* Copy piece f at w; 0 when it cannot be used here (then write it). */
static int
frag_put(struct jw *w, const struct efrag *f)
{
	if (!f->ok || !jw_same(w, &f->start))
		return 0;
	w->err |= buf_add(w->b, f->b.p, f->b.len);
	w->depth = f->end.depth;
	w->afterkey = f->end.afterkey;
	memcpy(w->first, f->end.first, sizeof(w->first));
	return 1;
}

/* Start recording piece f from w's state into *tw. */
static void
frag_begin(struct efrag *f, const struct jw *w, struct jw *tw)
{
	if (f->b.max == 0)
		buf_init(&f->b, 1024U * 1024);
	buf_reset(&f->b);
	*tw = *w;
	tw->b = &f->b;
	tw->err = 0;
	f->start = *w;
	f->ok = 0;
}

/* End recording and use the piece at w. */
static void
frag_end(struct efrag *f, struct jw *w, struct jw *tw)
{
	f->end = *tw;
	f->ok = tw->err == 0 && f->b.p != NULL;
	if (!frag_put(w, f)) {
		/* not kept: the state is still what the calls left */
		w->err |= tw->err | buf_add(w->b, f->b.p ? f->b.p : "",
		    f->b.len);
		w->depth = tw->depth;
		w->afterkey = tw->afterkey;
		memcpy(w->first, tw->first, sizeof(w->first));
	}
}

/* The pieces are those of this partner, map and input, or are dropped. */
static void
frag_check(struct event_cache *c, const struct map *m,
    const struct edi_set *set, const struct event_origin *o)
{
	size_t	 i, pl = strlen(o->partner);

	if (c->fr != NULL && c->frvalid && c->frmap == m &&
	    c->frproto == o->protocol && c->frfile == o->filename &&
	    c->frdoc == o->doc_id && c->frsha == o->sha256 &&
	    c->frsyntax == (int)set->env.syntax &&
	    strcmp(c->frpartner, o->partner) == 0)
		return;
	if (c->fr == NULL)
		c->fr = xcalloc(1, sizeof(*c->fr));
	for (i = 0; i < FR_N; i++)
		c->fr->f[i].ok = 0;
	c->frvalid = pl < sizeof(c->frpartner);
	if (c->frvalid)
		memcpy(c->frpartner, o->partner, pl + 1);
	c->frmap = m;
	c->frproto = o->protocol;
	c->frfile = o->filename;
	c->frdoc = o->doc_id;
	c->frsha = o->sha256;
	c->frsyntax = (int)set->env.syntax;
}

/*
 * Where to write piece k: NULL when it was copied; else tw (recording,
 * frag_close keeps it) or w itself (no pieces for this input).
 */
static struct jw *
frag_open(struct event_cache *c, struct jw *w, int k, struct jw *tw)
{
	struct efrag	*f;

	if (!c->frvalid)
		return w;
	f = &c->fr->f[k];
	if (frag_put(w, f))
		return NULL;
	frag_begin(f, w, tw);
	return tw;
}

static void
frag_close(struct event_cache *c, struct jw *w, int k, struct jw *tw,
    struct jw *used)
{
	if (used == tw)
		frag_end(&c->fr->f[k], w, tw);
}

static void
write_raw_ref(struct jw *w, const struct edi_set *set,
    const struct event_origin *o, struct event_cache *c)
{
	struct jw	 tw, *fw;

	if ((fw = frag_open(c, w, FR_RAWREF, &tw)) != NULL) {
		jw_kopen(fw, "rawRef", '{');
		jw_kcstr(fw, "docId", o->doc_id);
		jw_kcstr(fw, "sha256", o->sha256);
		frag_close(c, w, FR_RAWREF, &tw, fw);
	}
	if (set->nseg > 0) {
		jw_kopen(w, "segments", '[');
		jw_int(w, set->seg[0].filepos);
		jw_int(w, set->seg[set->nseg - 1].filepos);
		jw_close(w, ']');
	}
	jw_close(w, '}');
}

static void
write_channel(struct jw *w, const struct edi_set *set,
    const struct event_origin *o, struct event_cache *c)
{
	struct jw	 tw, *fw;

	if ((fw = frag_open(c, w, FR_CHANNEL, &tw)) != NULL) {
		jw_kopen(fw, "channel", '{');
		jw_kcstr(fw, "protocol", o->protocol ? o->protocol : "FILE");
		jw_kcstr(fw, "filename", o->filename);
		jw_close(fw, '}');
		jw_key(fw, "standard");
		jw_cstr(fw, set->env.syntax == EDI_X12 ? "X12" : "EDIFACT");
		frag_close(c, w, FR_CHANNEL, &tw, fw);
	}
	kslice(w, "version", set->version);
	kslice(w, "documentType", set->doctype);
}

/* "interchange" and "group" members of an X12 data.source. */
static void
x12_envelope(struct jw *w, const struct edi_set *set)
{
	const struct edi_seg *isa = set->env.interchange, *gs = set->env.group;
	struct slice	 u;
	char		 d[11], t[9];

	jw_kopen(w, "interchange", '{');
	kslice(w, "controlNumber", ev(isa, 13, 1));
	kslice(w, "senderQualifier", ev(isa, 5, 1));
	kslice(w, "senderId", ev(isa, 6, 1));
	kslice(w, "receiverQualifier", ev(isa, 7, 1));
	kslice(w, "receiverId", ev(isa, 8, 1));
	if (isodate(ev(isa, 9, 1), d) == 0)
		jw_kcstr(w, "date", d);
	if (isotime(ev(isa, 10, 1), 0, t) == 0)
		jw_kcstr(w, "time", t);
	kslice(w, "version", ev(isa, 12, 1));
	u = ev(isa, 15, 1);
	if (slice_eqs(u, "P"))
		jw_kcstr(w, "usage", "production");
	else if (slice_eqs(u, "T"))
		jw_kcstr(w, "usage", "test");
	else if (slice_eqs(u, "I"))
		jw_kcstr(w, "usage", "information");
	jw_close(w, '}');
	if (gs != NULL) {
		jw_kopen(w, "group", '{');
		kslice(w, "controlNumber", ev(gs, 6, 1));
		kslice(w, "functionalId", ev(gs, 1, 1));
		kslice(w, "senderCode", ev(gs, 2, 1));
		kslice(w, "receiverCode", ev(gs, 3, 1));
		kslice(w, "version", ev(gs, 8, 1));
		jw_close(w, '}');
	}
}

static void
x12_transaction(struct jw *w, const struct edi_set *set,
    const struct event_origin *o, struct event_cache *c)
{
	const struct edi_seg *st = &set->seg[0];

	jw_kopen(w, "transaction", '{');
	kslice(w, "controlNumber", set->control);
	kslice(w, "setId", set->doctype);
	if (set->nseg > 0 && strcmp(st->tag, "ST") == 0)
		kslice(w, "implementationRef", ev(st, 3, 1));
	jw_kint(w, "segmentCount", set->nseg);
	jw_close(w, '}');
	write_raw_ref(w, set, o, c);
}

/* "interchange" and "group" members of an EDIFACT data.source. */
static void
edifact_envelope(struct jw *w, const struct edi_set *set)
{
	const struct edi_seg *unb = set->env.interchange, *ung = set->env.group;
	struct slice	 a, b;
	char		 d[11], t[9], v[64];

	if (unb != NULL) {
		jw_kopen(w, "interchange", '{');
		kslice(w, "controlNumber", ev(unb, 5, 1));
		kslice(w, "senderQualifier", ev(unb, 2, 2));
		kslice(w, "senderId", ev(unb, 2, 1));
		kslice(w, "receiverQualifier", ev(unb, 3, 2));
		kslice(w, "receiverId", ev(unb, 3, 1));
		if (isodate(ev(unb, 4, 1), d) == 0)	/* S004 0017 */
			jw_kcstr(w, "date", d);
		if (isotime(ev(unb, 4, 2), 0, t) == 0)
			jw_kcstr(w, "time", t);
		a = ev(unb, 1, 1);
		b = ev(unb, 1, 2);
		if (a.len > 0) {	/* syntax identifier:version */
			snprintf(v, sizeof(v), "%.*s%s%.*s", (int)a.len, a.p,
			    b.len ? ":" : "", (int)b.len, b.p);
			jw_kcstr(w, "version", v);
		}
		jw_kcstr(w, "usage", slice_eqs(ev(unb, 11, 1), "1") ?
		    "test" : "production");		/* 0035 */
		jw_close(w, '}');
	}
	if (ung != NULL) {
		jw_kopen(w, "group", '{');
		kslice(w, "controlNumber", ev(ung, 5, 1));
		kslice(w, "functionalId", ev(ung, 1, 1));
		kslice(w, "senderCode", ev(ung, 2, 1));
		kslice(w, "receiverCode", ev(ung, 3, 1));
		a = ev(ung, 7, 1);
		b = ev(ung, 7, 2);
		if (a.len > 0 && b.len > 0) {
			snprintf(v, sizeof(v), "%.*s%.*s", (int)a.len, a.p,
			    (int)b.len, b.p);
			jw_kcstr(w, "version", v);
		}
		jw_close(w, '}');
	}
}

static void
edifact_transaction(struct jw *w, const struct edi_set *set,
    const struct event_origin *o, struct event_cache *c)
{
	jw_kopen(w, "transaction", '{');
	kslice(w, "controlNumber", set->control);
	kslice(w, "setId", set->doctype);
	if (set->nseg > 0)
		kslice(w, "implementationRef", ev(&set->seg[0], 2, 5));
	jw_kint(w, "segmentCount", set->nseg);
	jw_close(w, '}');
	write_raw_ref(w, set, o, c);
}

/* cXML and UBL: no envelope; the document names itself. */
static void
xml_source(struct jw *w, const struct edi_set *set,
    const struct event_origin *o)
{
	int	 cxml = set->xml_request.len > 0;

	jw_kopen(w, "channel", '{');
	jw_kcstr(w, "protocol", o->protocol ? o->protocol : "FILE");
	jw_kcstr(w, "filename", o->filename);
	jw_close(w, '}');
	jw_kcstr(w, "standard", cxml ? "cXML" : "XML");
	kslice(w, "version", set->version);
	kslice(w, "documentType", cxml ? set->xml_request : set->doctype);
	if (cxml)
		kslice(w, "payloadId", set->control);
	jw_kopen(w, "rawRef", '{');
	jw_kcstr(w, "docId", o->doc_id);
	jw_kcstr(w, "sha256", o->sha256);
	jw_close(w, '}');
}

/*
 * The idempotency key up to, not including, the set's own reference
 * (EVENTS.md §3.8); XML keys are whole.
 */
static void
idempotency_prefix(const struct edi_set *set, const char *partner,
    char *k, size_t klen)
{
	const struct edi_seg *h = set->env.interchange;
	struct slice	 a, b, c, d, e, f;

	if (set->env.syntax == EDI_XML) {
		/* cXML: payloadID "should not change for retry attempts" */
		if (set->xml_request.len > 0)
			snprintf(k, klen, "cxml:%s:%.*s", partner,
			    (int)set->control.len, set->control.p);
		else
			snprintf(k, klen, "xml:%s:%.*s:%.*s", partner,
			    (int)set->doctype.len, set->doctype.p,
			    (int)set->control.len, set->control.p);
		return;
	}
	if (set->env.syntax == EDI_X12) {
		a = ev(h, 5, 1);
		b = ev(h, 6, 1);
		c = ev(h, 7, 1);
		d = ev(h, 8, 1);
		e = ev(h, 13, 1);
		f = ev(set->env.group, 6, 1);
		snprintf(k, klen, "x12:%s:%.*s/%.*s:%.*s/%.*s:%.*s:%.*s:",
		    partner, (int)a.len, a.p, (int)b.len, b.p, (int)c.len, c.p,
		    (int)d.len, d.p, (int)e.len, e.p, (int)f.len, f.p);
		return;
	}
	a = ev(h, 2, 1);
	b = ev(h, 2, 2);
	c = ev(h, 3, 1);
	d = ev(h, 3, 2);
	e = ev(h, 5, 1);
	snprintf(k, klen, "edifact:%s:%.*s%s%.*s:%.*s%s%.*s:%.*s:",
	    partner, (int)a.len, a.p, b.len ? ":" : "", (int)b.len, b.p,
	    (int)c.len, c.p, d.len ? ":" : "", (int)d.len, d.p,
	    (int)e.len, e.p);
}

/*
 * Append n bytes of p at key[*o], truncated as snprintf into a buffer of
 * cap bytes would; key stays NUL-terminated.  For the keys written per
 * event, without formatting.
 */
static void
kcat(char *key, size_t cap, size_t *o, const char *p, size_t n)
{
	if (*o + 1 >= cap)
		return;
	if (n > cap - 1 - *o)
		n = cap - 1 - *o;
	memcpy(key + *o, p, n);
	*o += n;
	key[*o] = '\0';
}

void
event_cache_free(struct event_cache *c)
{
	size_t	 i;

	if (c->frag != NULL) {
		buf_free(c->frag);
		free(c->frag);
	}
	if (c->fr != NULL) {
		for (i = 0; i < FR_N; i++)
			buf_free(&c->fr->f[i].b);
		free(c->fr);
	}
	memset(c, 0, sizeof(*c));
}

/*
 * The envelope fragments of c are those of set's interchange and group
 * for this partner; rebuilt when the envelope changes.
 */
static void
cache_envelope(struct event_cache *c, const struct edi_set *set,
    const char *partner)
{
	struct jw	 w;

	if (c->valid && c->ici == set->env.interchange_index &&
	    c->gi == set->env.group_index && strcmp(c->partner, partner) == 0)
		return;
	if (c->frag == NULL) {
		c->frag = xmalloc(sizeof(*c->frag));
		buf_init(c->frag, 64U * 1024);
	}
	buf_reset(c->frag);
	jw_init(&w, c->frag);
	if (set->env.syntax == EDI_X12)
		x12_envelope(&w, set);
	else if (set->env.syntax == EDI_EDIFACT)
		edifact_envelope(&w, set);
	idempotency_prefix(set, partner, c->idem, sizeof(c->idem));
	snprintf(c->partner, sizeof(c->partner), "%s", partner);
	c->ici = set->env.interchange_index;
	c->gi = set->env.group_index;
	/* XML has no envelope: its key is per document */
	c->valid = set->env.syntax != EDI_XML && w.err == 0;
}

int
event_write(struct event_cache *cache, struct buf *out, const struct map *m,
    const struct edi_set *set, const struct mdoc *doc, const char *diags,
    size_t diagslen, const struct event_origin *o)
{
	struct event_cache local;
	int		 r;

	if (cache == NULL) {
		memset(&local, 0, sizeof(local));
		r = event_write(&local, out, m, set, doc, diags, diagslen, o);
		event_cache_free(&local);
		return r;
	}
	struct jw	 w, tw, *fw;
	struct refs	 refs;
	struct tm	 tm;
	const char	*type = map_event_type(m), *subject, *icn, *gcn;
	size_t		 sl = 0, il = 0, gl = 0, n, i;
	char		 id[37], key[KEYMAX], when[40];

	event_uuid7(cache, &o->received, id);
	if (!cache->have_time) {
		gmtime_r(&o->received.tv_sec, &tm);
		n = strftime(cache->time, sizeof(cache->time),
		    "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(cache->time + n, sizeof(cache->time) - n, ".%03ldZ",
		    o->received.tv_nsec / 1000000);
		cache->have_time = 1;
	}
	cache_envelope(cache, set, o->partner);

	/* Only acknowledgements name what they acknowledge. */
	icn = gcn = NULL;
	if (strcmp(type, "ack.received") == 0) {
		icn = mdoc_get(doc, "acknowledged.interchangeControlNumber",
		    &il);
		gcn = mdoc_get(doc, "acknowledged.groupControlNumber", &gl);
	}
	if (strcmp(type, "order.acknowledged") == 0)
		subject = mdoc_get(doc, "orderReference.id", &sl);
	else if (strcmp(type, "ack.received") == 0) {
		subject = gcn ? gcn : icn;
		sl = gcn ? gl : il;
	} else
		subject = mdoc_get(doc, "id", &sl);

	frag_check(cache, m, set, o);
	jw_init(&w, out);
	jw_open(&w, '{');
	jw_kcstr(&w, "specversion", "1.0");
	jw_kcstr(&w, "id", id);
	if ((fw = frag_open(cache, &w, FR_HEAD, &tw)) != NULL) {
		jw_kcstr(fw, "type", type);
		n = 0;
		kcat(key, sizeof(key), &n, "/edigate/partners/", 18);
		kcat(key, sizeof(key), &n, o->partner, strlen(o->partner));
		jw_kstr(fw, "source", key, n);
		frag_close(cache, &w, FR_HEAD, &tw, fw);
	}
	jw_kstr(&w, "subject", subject, sl);
	if ((fw = frag_open(cache, &w, FR_TAIL, &tw)) != NULL) {
		jw_kcstr(fw, "time", cache->time);
		jw_kcstr(fw, "datacontenttype", "application/json");
		jw_kcstr(fw, "partner", o->partner);
		jw_kcstr(fw, "direction", "inbound");
		frag_close(cache, &w, FR_TAIL, &tw, fw);
	}
	if (set->env.syntax == EDI_XML)
		jw_kcstr(&w, "idempotencykey", cache->idem);
	else {
		n = 0;
		kcat(key, sizeof(key), &n, cache->idem, strlen(cache->idem));
		kcat(key, sizeof(key), &n, set->control.p,
		    strnlen(set->control.p, set->control.len));
		jw_kstr(&w, "idempotencykey", key, n);
	}
	if (strcmp(type, "ack.received") == 0) {
		snprintf(key, sizeof(key), "ack:%s:%.*s:%.*s", o->partner,
		    (int)il, icn ? icn : "", (int)gl, gcn ? gcn : "");
		jw_kcstr(&w, "businesskey", key);
	} else if (subject != NULL) {
		/* order.created and order.acknowledged share the order's chain */
		size_t	 kn = 0;

		n = strcspn(type, ".");
		kcat(key, sizeof(key), &kn, type, n);
		kcat(key, sizeof(key), &kn, ":", 1);
		kcat(key, sizeof(key), &kn, o->partner, strlen(o->partner));
		kcat(key, sizeof(key), &kn, ":", 1);
		kcat(key, sizeof(key), &kn, subject, strnlen(subject, sl));
		jw_kstr(&w, "businesskey", key, kn);
	}
	jw_kint(&w, "eventversion", map_event_version(m));

	jw_kopen(&w, "data", '{');
	jw_key(&w, "document");
	jw_raw(&w, "", 0);
	w.err |= mdoc_write_json(doc, out);
	if (occurred_at(set, doc, o->timezone, when, sizeof(when)) == 0)
		jw_kcstr(&w, "occurredAt", when);
	jw_kopen(&w, "source", '{');
	if (set->env.syntax == EDI_XML)
		xml_source(&w, set, o);
	else {
		write_channel(&w, set, o, cache);
		if (cache->valid && cache->frag->len > 0)
			jw_raw(&w, cache->frag->p, cache->frag->len);
		if (set->env.syntax == EDI_X12)
			x12_transaction(&w, set, o, cache);
		else
			edifact_transaction(&w, set, o, cache);
	}
	jw_close(&w, '}');
	if ((fw = frag_open(cache, &w, FR_MAP, &tw)) != NULL) {
		jw_kopen(fw, "map", '{');
		jw_kcstr(fw, "id", map_id(m));
		jw_kint(fw, "version", map_version(m));
		jw_kcstr(fw, "sha256", map_sha256(m));
		jw_close(fw, '}');
		frag_close(cache, &w, FR_MAP, &tw, fw);
	}
	orderrefs(type, doc, &refs);
	if (refs.n > 0) {
		jw_kopen(&w, "correlation", '{');
		jw_kopen(&w, "orderRefs", '[');
		for (i = 0; i < refs.n; i++)
			jw_str(&w, refs.v[i].p, refs.v[i].len);
		jw_close(&w, ']');
		jw_close(&w, '}');
	}
	if (refs.v != refs.inl)
		free(refs.v);
	if (diagslen > 0) {
		jw_kopen(&w, "diagnostics", '[');
		jw_raw(&w, diags, diagslen);
		jw_close(&w, ']');
	}
	jw_close(&w, '}');
	jw_close(&w, '}');
	return w.err ? EG_ERR_LIMIT : 0;
}
