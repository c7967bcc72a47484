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
#if defined(__SSE2__) && defined(__x86_64__)
#define UUID_SSE2	1
#include <emmintrin.h>
#endif

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

#ifndef UUID_SSE2
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
#endif

/*
 * The generator's seed.  getrandom(2) where there is one: OpenSSL's DRBG
 * costs far more to set up than the few events of most inputs, and the
 * kernel's pool is what it would seed itself from.
 */
static void __attribute__((noinline, cold))
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

#ifdef UUID_SSE2
/*
 * The 32 hex digits of w0's then w1's bytes, in memory order, as the
 * 8-4-4-4-12 of a UUID at out: a nibble's digit is '0' + n, and
 * 'a' - '0' - 10 more above 9, sixteen at a time.
 */
static void
uuid_hex(uint64_t w0, uint64_t w1, char out[37])
{
	const __m128i	 m = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9),
	    zero = _mm_set1_epi8('0'), af = _mm_set1_epi8('a' - '0' - 10);
	__m128i		 v, hi, lo, a, b;
	uint64_t	 mid;
	uint32_t	 w;

	v = _mm_set_epi64x((long long)w1, (long long)w0);
	hi = _mm_and_si128(_mm_srli_epi16(v, 4), m);
	lo = _mm_and_si128(v, m);
	a = _mm_unpacklo_epi8(hi, lo);		/* digits 0 to 15 */
	b = _mm_unpackhi_epi8(hi, lo);		/* digits 16 to 31 */
	a = _mm_add_epi8(_mm_add_epi8(a, zero),
	    _mm_and_si128(_mm_cmpgt_epi8(a, nine), af));
	b = _mm_add_epi8(_mm_add_epi8(b, zero),
	    _mm_and_si128(_mm_cmpgt_epi8(b, nine), af));
	/* digits 0-7 in place, 20-31 at 24-35; the rest moved up */
	_mm_storeu_si128((__m128i *)out, a);
	_mm_storeu_si128((__m128i *)(out + 20), b);
	mid = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(a, a));
	w = (uint32_t)mid;
	memcpy(out + 9, &w, 4);			/* digits 8-11 */
	w = (uint32_t)(mid >> 32);
	memcpy(out + 14, &w, 4);		/* digits 12-15 */
	w = (uint32_t)_mm_cvtsi128_si32(b);
	memcpy(out + 19, &w, 4);		/* digits 16-19 */
	out[8] = out[13] = out[18] = out[23] = '-';
	out[36] = '\0';
}
#endif

/* event_uuid7, inline in the usual event's head (fast_head) */
static inline __attribute__((always_inline)) void
uuid7(struct event_cache *c, const struct timespec *t, char out[37])
{
	uint64_t	 ms, r[2];
#ifndef UUID_SSE2
	unsigned char	 b[16];
	int		 i;
#endif

	ms = (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
	if (c != NULL) {
		if (!c->seeded)
			rng_seed(c);
		r[0] = rng_next(c);
		r[1] = rng_next(c);
	} else if (RAND_bytes((unsigned char *)r, sizeof(r)) != 1)
		fatalx("uuid: no randomness");
	/*
	 * 48 bits of milliseconds, big-endian; version 7 and 12 random
	 * bits (rand_a); variant 10 and 62 random bits (rand_b).
	 */
#ifdef UUID_SSE2
	/* x86-64: little-endian, each word's bytes in memory order */
	uuid_hex(__builtin_bswap64(ms << 16 | 0x7000 | (r[0] & 0x0fff)),
	    (r[1] & ~(uint64_t)0xc0) | 0x80, out);
#else
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (r[0] >> 8 & 0x0f));
	b[7] = (unsigned char)r[0];
	b[8] = (unsigned char)(0x80 | (r[1] & 0x3f));
	for (i = 9; i < 16; i++)
		b[i] = (unsigned char)(r[1] >> (8 * (i - 8)));
	/* 8-4-4-4-12: each byte's place known, its digits one move */
#define HEX(i, at)	memcpy(out + (at), hex2[b[i]], 2)
	HEX(0, 0); HEX(1, 2); HEX(2, 4); HEX(3, 6);
	HEX(4, 9); HEX(5, 11);
	HEX(6, 14); HEX(7, 16);
	HEX(8, 19); HEX(9, 21);
	HEX(10, 24); HEX(11, 26); HEX(12, 28); HEX(13, 30); HEX(14, 32);
	HEX(15, 34);
#undef HEX
	out[8] = out[13] = out[18] = out[23] = '-';
	out[36] = '\0';
#endif
}

void
event_uuid7(struct event_cache *c, const struct timespec *t, char out[37])
{
	uuid7(c, t, out);
}

/* Trimmed envelope value; empty when absent. */
static struct slice
ev(const struct edi_seg *seg, int el, int comp)
{
	const struct slice *v = edi_value(seg, el, comp, 1);

	return v ? slice_trim(*v) : slice_make("", 0);
}

/*
 * ev() of the set's first segment's implementation reference: absent
 * without a walk when it would come after all of the segment's values
 * (they are in (el, rep, comp) order), as it mostly is.
 */
static struct slice
ev_impl(const struct edi_seg *seg, int el, int comp)
{
	const struct edi_val *l;

	if (seg->nval == 0)
		return slice_make("", 0);
	l = &seg->val[seg->nval - 1];
	if (l->el < el || (l->el == el && l->rep == 1 && l->comp < comp))
		return slice_make("", 0);
	return ev(seg, el, comp);
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
 * else in edigate reads local time.  main() sets TZ before any thread
 * starts, so that switching it replaces a value and never resizes the
 * environment under another thread's getenv().
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

/*
 * occurredAt: the document's own date and time, else the envelope's
 * (GS04/GS05, UNB S004), in the partner's (or the map's) time zone.
 */
static int
occurred_at(const struct edi_set *set, const char *d, size_t dl,
    const char *t, size_t tl, const char *zone, char *out, size_t outlen,
    int *plainp)
{
	char		 date[11], time[9] = "00:00:00";
	struct slice	 gd, gt;
	size_t		 k;

	*plainp = 0;
	/* d, t: the document's issueDate and issueTime (NULL: none) */
	k = t == NULL || tl < 5 ? 0 : tl >= 8 ? 8 : 5;
	if (d != NULL && dl == 10 && outlen >= 21 && (zone == NULL ||
	    *zone == '\0' || strcmp(zone, "UTC") == 0 ||
	    strcmp(zone, "Etc/UTC") == 0) && jsonw_plain(d, 10) &&
	    jsonw_plain(t, k)) {
		/*
		 * In UTC, the document's own text: event_rfc3339's, known
		 * to need no escape (and to hold no NUL to end it early).
		 */
		memcpy(out, d, 10);
		out[10] = 'T';
		if (k == 8)
			memcpy(out + 11, t, 8);
		else if (k == 5) {
			memcpy(out + 11, t, 5);
			memcpy(out + 16, ":00", 3);
		} else
			memcpy(out + 11, "00:00:00", 8);
		out[19] = 'Z';
		out[20] = '\0';
		*plainp = 1;
		return 0;
	}
	if (d != NULL && dl == 10) {
		memcpy(date, d, 10);
		date[10] = '\0';
		if (t != NULL && tl >= 5) {
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
 * The event is written member by member straight into the buf, each
 * member with the comma before it, dropped for the first member of an
 * object.  The shape of an event is fixed, so that one flag is all the
 * state a writer needs: every object is opened, filled and closed in
 * turn, and the object around a closed one always has a member.
 */
struct ew {
	struct buf	*b;
	int		 first;		/* the next member opens its object */
	int		 err;
	size_t		 sha;		/* where the input's sha256 went in b */
};

/* A key's JSON with the comma before it, and that length. */
#define EWK(key)	",\"" key "\":", sizeof(",\"" key "\":") - 1

/* Bytes already serialized (a piece, the diagnostics). */
static void
ew_raw(struct ew *e, const char *s, size_t n)
{
	if (n > 0)
		e->err |= buf_add(e->b, s, n);
}

/* kq (a key as EWK gives it), then s as a JSON string, claimed at once. */
static void
ew_kq_str(struct ew *e, const char *kq, size_t kql, const char *s, size_t n)
{
	char	*o;

	kq += e->first;
	kql -= (size_t)e->first;
	e->first = 0;
	if (!jsonw_plain(s, n)) {
		e->err |= buf_add(e->b, kq, kql) | jsonw_string(e->b, s, n);
		return;
	}
	if ((o = buf_room(e->b, kql + n + 2)) == NULL) {
		e->err |= EG_ERR_LIMIT;
		return;
	}
	memcpy(o, kq, kql);
	o += kql;
	*o = '"';
	jsonw_copy(o + 1, s, n);
	o[n + 1] = '"';
	buf_end_at(e->b, o + n + 2);
}

/*
 * kq and the string a then b, both known to need no escape, claimed at
 * once: what ew_kq_str writes for them joined, without joining them.
 */
static inline __attribute__((always_inline)) void
ew_kq_plain2(struct ew *e, const char *kq, size_t kql, const char *a,
    size_t an, const char *b, size_t bn)
{
	char	*o;

	kq += e->first;
	kql -= (size_t)e->first;
	e->first = 0;
	if ((o = buf_room(e->b, kql + an + bn + 2)) == NULL) {
		e->err |= EG_ERR_LIMIT;
		return;
	}
	memcpy(o, kq, kql);	/* a literal: its length is the compiler's */
	o += kql;
	*o++ = '"';
	jsonw_copy(o, a, an);
	jsonw_copy(o + an, b, bn);
	o[an + bn] = '"';
	buf_end_at(e->b, o + an + bn + 1);
}

/* A string member, left out when s is NULL or empty (EVENTS.md). */
static void
ew_kstr(struct ew *e, const char *kq, size_t kql, const char *s, size_t n)
{
	if (s != NULL && n > 0)
		ew_kq_str(e, kq, kql, s, n);
}

static void
ew_kcstr(struct ew *e, const char *kq, size_t kql, const char *s)
{
	if (s != NULL)
		ew_kstr(e, kq, kql, s, strlen(s));
}

static void
ew_kslice(struct ew *e, const char *kq, size_t kql, struct slice s)
{
	ew_kstr(e, kq, kql, s.p, s.len);
}

static void
ew_kint(struct ew *e, const char *kq, size_t kql, long long v)
{
	e->err |= buf_add(e->b, kq + e->first, kql - (size_t)e->first) |
	    jsonw_int(e->b, v);
	e->first = 0;
}

/* "key":{ or "key":[ (ko: as EWO gives it) */
#define EWO(key, brace)	",\"" key "\":" brace, \
	sizeof(",\"" key "\":" brace) - 1

static void
ew_kopen(struct ew *e, const char *ko, size_t kol)
{
	e->err |= buf_add(e->b, ko + e->first, kol - (size_t)e->first);
	e->first = 1;
}

static inline void
ew_close(struct ew *e, int brace)
{
	e->err |= buf_addc(e->b, brace);
	e->first = 0;
}

/* Array elements. */
static void
ew_str(struct ew *e, const char *s, size_t n)
{
	if (!e->first)
		e->err |= buf_addc(e->b, ',');
	e->first = 0;
	e->err |= jsonw_string(e->b, s, n);
}

static void
ew_int(struct ew *e, long long v)
{
	if (!e->first)
		e->err |= buf_addc(e->b, ',');
	e->first = 0;
	e->err |= jsonw_int(e->b, v);
}

/*
 * What a map's event type asks of the envelope, worked out from its name
 * once per map instead of comparing it per event.
 */
enum evtype {
	ET_OTHER, ET_ORDER_CREATED, ET_ORDER_ACK, ET_SHIPMENT, ET_ACK_RECEIVED,
};

static enum evtype
evtype(const char *type)
{
	if (strcmp(type, "order.created") == 0)
		return ET_ORDER_CREATED;
	if (strcmp(type, "order.acknowledged") == 0)
		return ET_ORDER_ACK;
	if (strcmp(type, "shipment.noticed") == 0)
		return ET_SHIPMENT;
	if (strcmp(type, "ack.received") == 0)
		return ET_ACK_RECEIVED;
	return ET_OTHER;
}

/*
 * The pieces of an event that are the same for every set of an input
 * with the same partner and map: serialized once, then copied.  Each
 * starts with the comma before its first member (it follows a member
 * wherever it is used).
 */
enum {
	PC_HEAD,	/* ,"type":..,"source":.. */
	PC_TAIL,	/* ,"time":.. to "direction":.. */
	PC_DATA,	/* ,"eventversion":N,"data":{"document": */
	PC_SOURCE,	/* ,"source":{"channel":{..},"standard":.. (not XML) */
	PC_RAWREF,	/* ,"rawRef":{"docId":..,"sha256":.. */
	PC_MAP,		/* ,"map":{..} */
	/* the same joined for event_write's one-claim paths */
	PC_H1,		/* " PC_HEAD ,"subject":" */
	PC_H2,		/* " PC_TAIL ,"idempotencykey":" */
	PC_H3,		/* ","businesskey":" and the business key's prefix */
	PC_H4,		/* " PC_DATA */
	PC_T1,		/* } PC_RAWREF ,"segments":[ */
	PC_T2,		/* ]}} PC_MAP */
	PC_N
};

struct event_frag {
	struct buf	 pc[PC_N];
	int		 rawref_first;	/* PC_RAWREF left rawRef empty */
	size_t		 rawsha;	/* sha256 in PC_RAWREF, or SIZE_MAX */
	enum evtype	 type;
	/* issueDate, issueTime and the subject's path(s) (lookup) */
	struct mdoc_paths look;
	/* The business key up to the subject (type:partner:). */
	char		 biz[KEYMAX];
	size_t		 bizlen;
	int		 bizplain;	/* biz needs no escape */
	int		 err;		/* a piece reached its cap */
};

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

/* A piece, written with e's writer into its own buf. */
static void
pc_begin(struct event_frag *f, int k, struct ew *e)
{
	if (f->pc[k].max == 0)
		buf_init(&f->pc[k], 1024U * 1024);
	buf_reset(&f->pc[k]);
	e->b = &f->pc[k];
	e->first = 0;
	e->err = 0;
}

/* Where the input's sha256 lies in b when PC_RAWREF is copied at pos. */
static inline size_t
sha_at(const struct event_frag *f, size_t pos)
{
	return f->rawsha == SIZE_MAX ? SIZE_MAX : pos + f->rawsha;
}

/* Copy piece k at e. */
static void
pc_put(struct ew *e, const struct event_frag *f, int k)
{
	ew_raw(e, f->pc[k].p, f->pc[k].len);
}

/*
 * What an event reads from its document: occurredAt's issueDate and
 * issueTime, and the subject, which only acknowledgements take from
 * what they acknowledge.  The paths are split once per map (lookup_init
 * from make_pieces), not per event.
 */
static const char *const look_order[] = { "issueDate", "issueTime", "id" };
static const char *const look_orderack[] = { "issueDate", "issueTime",
	"orderReference.id" };
static const char *const look_ack[] = { "issueDate", "issueTime",
	"acknowledged.interchangeControlNumber",
	"acknowledged.groupControlNumber" };

static void
lookup_init(struct event_frag *f)
{
	if (f->type == ET_ACK_RECEIVED)
		mdoc_paths_init(&f->look, look_ack, 4);
	else if (f->type == ET_ORDER_ACK)
		mdoc_paths_init(&f->look, look_orderack, 3);
	else
		mdoc_paths_init(&f->look, look_order, 3);
}

struct docvals {
	const char	*subject, *icn, *gcn, *date, *time;
	size_t		 sl, il, gl, dl, tl;
};

static void
lookup(const struct mdoc *doc, const struct event_frag *f,
    struct docvals *v)
{
	const char	*val[4];
	size_t		 len[4];

	mdoc_get_paths(doc, &f->look, val, len);
	v->date = val[0];
	v->dl = len[0];
	v->time = val[1];
	v->tl = len[1];
	v->icn = v->gcn = NULL;
	v->il = v->gl = 0;
	if (f->type == ET_ACK_RECEIVED) {
		v->icn = val[2];
		v->il = len[2];
		v->gcn = val[3];
		v->gl = len[3];
		v->subject = v->gcn ? v->gcn : v->icn;
		v->sl = v->gcn ? v->gl : v->il;
	} else {
		v->subject = val[2];
		v->sl = len[2];
	}
}

static void
make_pieces(struct event_frag *f, const struct map *m,
    const struct edi_set *set, const struct event_origin *o,
    const char *time)
{
	const char	*type = map_event_type(m);
	struct ew	 e;
	char		 key[KEYMAX];
	size_t		 n;
	int		 err = 0;

	f->type = evtype(type);
	lookup_init(f);
	/* the document is m's: its members are found by m's names */
	mdoc_paths_map(&f->look, m);

	pc_begin(f, PC_HEAD, &e);
	ew_kcstr(&e, EWK("type"), type);
	n = 0;
	kcat(key, sizeof(key), &n, "/edigate/partners/", 18);
	kcat(key, sizeof(key), &n, o->partner, strlen(o->partner));
	ew_kstr(&e, EWK("source"), key, n);
	err |= e.err;

	pc_begin(f, PC_TAIL, &e);
	ew_kcstr(&e, EWK("time"), time);
	ew_kcstr(&e, EWK("datacontenttype"), "application/json");
	ew_kcstr(&e, EWK("partner"), o->partner);
	ew_kcstr(&e, EWK("direction"), "inbound");
	err |= e.err;

	pc_begin(f, PC_DATA, &e);
	ew_kint(&e, EWK("eventversion"), map_event_version(m));
	ew_kopen(&e, EWO("data", "{"));
	ew_raw(&e, "\"document\":", 11);
	err |= e.err;

	pc_begin(f, PC_SOURCE, &e);
	if (set->env.syntax != EDI_XML) {
		ew_kopen(&e, EWO("source", "{"));
		ew_kopen(&e, EWO("channel", "{"));
		ew_kcstr(&e, EWK("protocol"), o->protocol ? o->protocol :
		    "FILE");
		ew_kcstr(&e, EWK("filename"), o->filename);
		ew_close(&e, '}');
		ew_kcstr(&e, EWK("standard"), set->env.syntax == EDI_X12 ?
		    "X12" : "EDIFACT");
	}
	err |= e.err;

	pc_begin(f, PC_RAWREF, &e);
	ew_kopen(&e, EWO("rawRef", "{"));
	ew_kcstr(&e, EWK("docId"), o->doc_id);
	ew_kcstr(&e, EWK("sha256"), o->sha256);
	/* the hex, then its closing quote, ends the piece */
	f->rawsha = o->sha256 != NULL && !e.err ?
	    f->pc[PC_RAWREF].len - 1 - strlen(o->sha256) : SIZE_MAX;
	f->rawref_first = e.first;
	err |= e.err;

	pc_begin(f, PC_MAP, &e);
	ew_kopen(&e, EWO("map", "{"));
	ew_kcstr(&e, EWK("id"), map_id(m));
	ew_kint(&e, EWK("version"), map_version(m));
	ew_kcstr(&e, EWK("sha256"), map_sha256(m));
	ew_close(&e, '}');
	err |= e.err;

	/* order.created and order.acknowledged share the order's chain */
	f->bizlen = 0;
	f->biz[0] = '\0';
	kcat(f->biz, sizeof(f->biz), &f->bizlen, type, strcspn(type, "."));
	kcat(f->biz, sizeof(f->biz), &f->bizlen, ":", 1);
	kcat(f->biz, sizeof(f->biz), &f->bizlen, o->partner,
	    strlen(o->partner));
	kcat(f->biz, sizeof(f->biz), &f->bizlen, ":", 1);
	f->bizplain = jsonw_plain_prefix(f->biz, f->bizlen) == f->bizlen;

	/*
	 * The pieces joined where an event has nothing of its own between
	 * them: the usual event is then a few copies into one claim.
	 */
	pc_begin(f, PC_H1, &e);
	ew_raw(&e, "\"", 1);
	pc_put(&e, f, PC_HEAD);
	ew_raw(&e, EWK("subject"));
	ew_raw(&e, "\"", 1);
	err |= e.err;

	pc_begin(f, PC_H2, &e);
	ew_raw(&e, "\"", 1);
	pc_put(&e, f, PC_TAIL);
	ew_raw(&e, EWK("idempotencykey"));
	ew_raw(&e, "\"", 1);
	err |= e.err;

	pc_begin(f, PC_H3, &e);
	ew_raw(&e, "\"", 1);
	ew_raw(&e, EWK("businesskey"));
	ew_raw(&e, "\"", 1);
	ew_raw(&e, f->biz, f->bizlen);
	err |= e.err;

	pc_begin(f, PC_H4, &e);
	ew_raw(&e, "\"", 1);
	pc_put(&e, f, PC_DATA);
	err |= e.err;

	pc_begin(f, PC_T1, &e);
	ew_raw(&e, "}", 1);
	pc_put(&e, f, PC_RAWREF);
	if (f->rawref_first)
		ew_raw(&e, "\"segments\":[", 12);
	else
		ew_raw(&e, ",\"segments\":[", 13);
	err |= e.err;

	pc_begin(f, PC_T2, &e);
	ew_raw(&e, "]}}", 3);
	pc_put(&e, f, PC_MAP);
	err |= e.err;
	/* a piece cut short by its cap fails every event it is part of */
	f->err = err;
}

/*
 * The pieces of c are those of this partner, map and input: made again
 * when any of them changes (and for every event when the partner is too
 * long to remember).
 */
static void
frag_check(struct event_cache *c, const struct map *m,
    const struct edi_set *set, const struct event_origin *o)
{
	if (c->fr != NULL && c->frvalid && c->frmap == m &&
	    c->frproto == o->protocol && c->frfile == o->filename &&
	    c->frdoc == o->doc_id && c->frsha == o->sha256 &&
	    c->frsyntax == (int)set->env.syntax && c->frpgen == c->pgen)
		return;
	if (c->fr == NULL)
		c->fr = xcalloc(1, sizeof(*c->fr));
	make_pieces(c->fr, m, set, o, c->time);
	c->frgen++;
	c->frvalid = c->pvalid;
	c->frpgen = c->pgen;
	c->frmap = m;
	c->frproto = o->protocol;
	c->frfile = o->filename;
	c->frdoc = o->doc_id;
	c->frsha = o->sha256;
	c->frsyntax = (int)set->env.syntax;
}

/* "interchange" and "group" members of an X12 data.source. */
static void
x12_envelope(struct ew *w, const struct edi_set *set)
{
	const struct edi_seg *isa = set->env.interchange, *gs = set->env.group;
	struct slice	 u;
	char		 d[11], t[9];

	ew_kopen(w, EWO("interchange", "{"));
	ew_kslice(w, EWK("controlNumber"), ev(isa, 13, 1));
	ew_kslice(w, EWK("senderQualifier"), ev(isa, 5, 1));
	ew_kslice(w, EWK("senderId"), ev(isa, 6, 1));
	ew_kslice(w, EWK("receiverQualifier"), ev(isa, 7, 1));
	ew_kslice(w, EWK("receiverId"), ev(isa, 8, 1));
	if (isodate(ev(isa, 9, 1), d) == 0)
		ew_kcstr(w, EWK("date"), d);
	if (isotime(ev(isa, 10, 1), 0, t) == 0)
		ew_kcstr(w, EWK("time"), t);
	ew_kslice(w, EWK("version"), ev(isa, 12, 1));
	u = ev(isa, 15, 1);
	if (slice_eqs(u, "P"))
		ew_kcstr(w, EWK("usage"), "production");
	else if (slice_eqs(u, "T"))
		ew_kcstr(w, EWK("usage"), "test");
	else if (slice_eqs(u, "I"))
		ew_kcstr(w, EWK("usage"), "information");
	ew_close(w, '}');
	if (gs != NULL) {
		ew_kopen(w, EWO("group", "{"));
		ew_kslice(w, EWK("controlNumber"), ev(gs, 6, 1));
		ew_kslice(w, EWK("functionalId"), ev(gs, 1, 1));
		ew_kslice(w, EWK("senderCode"), ev(gs, 2, 1));
		ew_kslice(w, EWK("receiverCode"), ev(gs, 3, 1));
		ew_kslice(w, EWK("version"), ev(gs, 8, 1));
		ew_close(w, '}');
	}
}

/* "interchange" and "group" members of an EDIFACT data.source. */
static void
edifact_envelope(struct ew *w, const struct edi_set *set)
{
	const struct edi_seg *unb = set->env.interchange, *ung = set->env.group;
	struct slice	 a, b;
	char		 d[11], t[9], v[64];

	if (unb != NULL) {
		ew_kopen(w, EWO("interchange", "{"));
		ew_kslice(w, EWK("controlNumber"), ev(unb, 5, 1));
		ew_kslice(w, EWK("senderQualifier"), ev(unb, 2, 2));
		ew_kslice(w, EWK("senderId"), ev(unb, 2, 1));
		ew_kslice(w, EWK("receiverQualifier"), ev(unb, 3, 2));
		ew_kslice(w, EWK("receiverId"), ev(unb, 3, 1));
		if (isodate(ev(unb, 4, 1), d) == 0)	/* S004 0017 */
			ew_kcstr(w, EWK("date"), d);
		if (isotime(ev(unb, 4, 2), 0, t) == 0)
			ew_kcstr(w, EWK("time"), t);
		a = ev(unb, 1, 1);
		b = ev(unb, 1, 2);
		if (a.len > 0) {	/* syntax identifier:version */
			snprintf(v, sizeof(v), "%.*s%s%.*s", (int)a.len, a.p,
			    b.len ? ":" : "", (int)b.len, b.p);
			ew_kcstr(w, EWK("version"), v);
		}
		ew_kcstr(w, EWK("usage"), slice_eqs(ev(unb, 11, 1), "1") ?
		    "test" : "production");		/* 0035 */
		ew_close(w, '}');
	}
	if (ung != NULL) {
		ew_kopen(w, EWO("group", "{"));
		ew_kslice(w, EWK("controlNumber"), ev(ung, 5, 1));
		ew_kslice(w, EWK("functionalId"), ev(ung, 1, 1));
		ew_kslice(w, EWK("senderCode"), ev(ung, 2, 1));
		ew_kslice(w, EWK("receiverCode"), ev(ung, 3, 1));
		a = ev(ung, 7, 1);
		b = ev(ung, 7, 2);
		if (a.len > 0 && b.len > 0) {
			snprintf(v, sizeof(v), "%.*s%.*s", (int)a.len, a.p,
			    (int)b.len, b.p);
			ew_kcstr(w, EWK("version"), v);
		}
		ew_close(w, '}');
	}
}

/*
 * source up to its transaction (the channel piece, version, documentType
 * and the envelope fragment) into c->src.  The sets of one group mostly
 * share all of it: the last one made is kept while they do.  Returns
 * EG_ERR_LIMIT when the piece reached its cap (it is then cut short).
 */
/*
 * Whether a's n bytes are b's: the version and document type each set
 * is checked against, compared without a call when short, by loads that
 * may overlap but stay within both.
 */
static inline int
short_eq(const char *a, const char *b, size_t n)
{
	uint64_t	 x, y, u, v;
	uint32_t	 i, j, k, l;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, a + n - 8, 8);
		memcpy(&u, b, 8);
		memcpy(&v, b + n - 8, 8);
		return ((x ^ u) | (y ^ v)) == 0;
	}
	if (n >= 4) {
		memcpy(&i, a, 4);
		memcpy(&j, a + n - 4, 4);
		memcpy(&k, b, 4);
		memcpy(&l, b + n - 4, 4);
		return ((i ^ k) | (j ^ l)) == 0;
	}
	/* up to three bytes: the first, middle and last are all of them */
	return n == 0 || (a[0] == b[0] && a[n >> 1] == b[n >> 1] &&
	    a[n - 1] == b[n - 1]);
}

static int
source_make(struct event_cache *c, const struct edi_set *set)
{
	struct ew	 w;

	if (c->src == NULL) {
		c->src = xcalloc(1, sizeof(*c->src));
		buf_init(c->src, 1024U * 1024);
	}
	buf_reset(c->src);
	w.b = c->src;
	w.first = 0;
	w.err = 0;
	pc_put(&w, c->fr, PC_SOURCE);
	ew_kslice(&w, EWK("version"), set->version);
	ew_kslice(&w, EWK("documentType"), set->doctype);
	if (c->valid)
		ew_raw(&w, c->frag->p, c->frag->len);
	c->srcdtplain = jsonw_plain(set->doctype.p, set->doctype.len);
	c->srcvalid = w.err == 0 && set->version.len <= sizeof(c->srcver) &&
	    set->doctype.len <= sizeof(c->srcdt);
	if (c->srcvalid) {
		memcpy(c->srcver, set->version.p, set->version.len);
		c->srcverlen = set->version.len;
		memcpy(c->srcdt, set->doctype.p, set->doctype.len);
		c->srcdtlen = set->doctype.len;
	}
	c->srcfrgen = c->frgen;
	c->srcenvgen = c->envgen;
	return w.err;
}

/* The kept piece when it is this set's, without a call. */
static inline int
source_piece(struct event_cache *c, const struct edi_set *set)
{
	if (c->srcvalid && c->srcfrgen == c->frgen &&
	    c->srcenvgen == c->envgen &&
	    set->version.len == c->srcverlen &&
	    set->doctype.len == c->srcdtlen &&
	    short_eq(set->version.p, c->srcver, c->srcverlen) &&
	    short_eq(set->doctype.p, c->srcdt, c->srcdtlen))
		return 0;
	return source_make(c, set);
}

/*
 * source up to its transaction: the channel piece, version, documentType
 * and the envelope fragment, as source_piece keeps them.
 */
static void
write_source(struct ew *e, struct event_cache *c, const struct edi_set *set)
{
	e->err |= source_piece(c, set);
	ew_raw(e, c->src->p, c->src->len);
	e->first = 0;
}

static char *
put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define PUTL(o, lit)	put((o), (lit), sizeof(lit) - 1)

/* s of n bytes, mostly short */
static char *
put_short(char *o, const char *s, size_t n)
{
	jsonw_copy(o, s, n);
	return o + n;
}

/* a count or position (never negative), its digits counted first */
static inline __attribute__((always_inline)) char *
put_int(char *o, uint32_t v)
{
	size_t	 n;

	if (v < 10000)
		n = v < 100 ? (v < 10 ? 1 : 2) : (v < 1000 ? 3 : 4);
	else if (v < 100000000)
		n = v < 1000000 ? (v < 100000 ? 5 : 6) : (v < 10000000 ? 7 : 8);
	else
		n = v < 1000000000 ? 9 : 10;
	jsonw_fmt_u32(o + n, v);
	return o + n;
}

static int
plain(struct slice s)
{
	return jsonw_plain(s.p, s.len);
}

/*
 * ,"transaction":{"controlNumber":..,"setId":..,"implementationRef":..,
 * "segmentCount":N of the fast writers, without its closing brace; its
 * room is TXN_HEAD_ROOM(cn, dt, impl).  The strings need no escape.
 */
static const char txn_tr[] = ",\"transaction\":{\"controlNumber\":\"",
    txn_sid[] = "\",\"setId\":\"",
    txn_iref[] = "\",\"implementationRef\":\"",
    txn_count[] = "\",\"segmentCount\":";
#define TXN_HEAD_ROOM(cn, dt, impl)	(sizeof(txn_tr) + sizeof(txn_sid) + \
	sizeof(txn_iref) + sizeof(txn_count) + (cn).len + (dt).len + \
	(impl).len + 20)

static inline __attribute__((always_inline)) char *
put_txn_head(char *o, struct slice cn, struct slice dt, struct slice impl,
    uint32_t nseg)
{
	o = PUTL(o, txn_tr);
	o = put_short(o, cn.p, cn.len);
	if (dt.len > 0) {
		o = PUTL(o, txn_sid);
		o = put_short(o, dt.p, dt.len);
	}
	if (impl.len > 0) {
		o = PUTL(o, txn_iref);
		o = put_short(o, impl.p, impl.len);
	}
	o = PUTL(o, txn_count);
	return put_int(o, nseg);
}

/*
 * The usual transaction (a reference, segments, nothing to escape) in
 * one piece, room claimed once; -1 for any other (or at the cap, where
 * the member by member writer finds exactly where it stops), nothing
 * written.
 */
static int
fast_transaction(struct ew *w, const struct edi_set *set,
    const struct event_frag *f, struct slice impl)
{
	static const char segs[] = ",\"segments\":[";
	const struct buf *rr = &f->pc[PC_RAWREF];
	struct slice	 cn = set->control, dt = set->doctype;
	char		*o;
	size_t		 need;

	if (w->first || cn.len == 0 || set->nseg == 0 || !plain(cn) ||
	    !plain(dt) || !plain(impl))
		return -1;
	/* the head, rawRef, segments, two numbers and "}", ",", "]}" */
	need = TXN_HEAD_ROOM(cn, dt, impl) + sizeof(segs) + rr->len +
	    2 * 20 + 4;
	if ((o = buf_room(w->b, need)) == NULL)
		return -1;
	o = put_txn_head(o, cn, dt, impl, set->nseg);
	*o++ = '}';
	w->sha = sha_at(f, (size_t)(o - w->b->p));
	o = put(o, rr->p, rr->len);
	o = f->rawref_first ? PUTL(o, "\"segments\":[") : PUTL(o, segs);
	o = put_int(o, set->seg[0].filepos);
	*o++ = ',';
	o = put_int(o, set->seg[set->nseg - 1].filepos);
	o = PUTL(o, "]}");
	buf_end_at(w->b, o);
	w->first = 0;
	return 0;
}

/* "transaction" and "rawRef" of an X12 or EDIFACT data.source. */
static void
write_transaction(struct ew *w, const struct edi_set *set,
    const struct event_frag *f)
{
	struct slice	 impl = slice_make("", 0);

	if (set->env.syntax == EDI_X12) {
		if (set->nseg > 0 && strcmp(set->seg[0].tag, "ST") == 0)
			impl = ev_impl(&set->seg[0], 3, 1);
	} else if (set->nseg > 0)
		impl = ev_impl(&set->seg[0], 2, 5);
	if (fast_transaction(w, set, f, impl) == 0)
		return;
	ew_kopen(w, EWO("transaction", "{"));
	ew_kslice(w, EWK("controlNumber"), set->control);
	ew_kslice(w, EWK("setId"), set->doctype);
	ew_kslice(w, EWK("implementationRef"), impl);
	ew_kint(w, EWK("segmentCount"), set->nseg);
	ew_close(w, '}');
	w->sha = sha_at(f, w->b->len);
	pc_put(w, f, PC_RAWREF);
	w->first = f->rawref_first;
	if (set->nseg > 0) {
		ew_kopen(w, EWO("segments", "["));
		ew_int(w, set->seg[0].filepos);
		ew_int(w, set->seg[set->nseg - 1].filepos);
		ew_close(w, ']');
	}
	ew_close(w, '}');
}

/* cXML and UBL: no envelope; the document names itself. */
static void
xml_source(struct ew *w, const struct edi_set *set,
    const struct event_origin *o)
{
	int	 cxml = set->xml_request.len > 0;

	ew_kopen(w, EWO("source", "{"));
	ew_kopen(w, EWO("channel", "{"));
	ew_kcstr(w, EWK("protocol"), o->protocol ? o->protocol : "FILE");
	ew_kcstr(w, EWK("filename"), o->filename);
	ew_close(w, '}');
	ew_kcstr(w, EWK("standard"), cxml ? "cXML" : "XML");
	ew_kslice(w, EWK("version"), set->version);
	ew_kslice(w, EWK("documentType"), cxml ? set->xml_request :
	    set->doctype);
	if (cxml)
		ew_kslice(w, EWK("payloadId"), set->control);
	ew_kopen(w, EWO("rawRef", "{"));
	ew_kcstr(w, EWK("docId"), o->doc_id);
	ew_kcstr(w, EWK("sha256"), o->sha256);
	if (o->sha256 != NULL && !w->err)
		w->sha = w->b->len - 1 - strlen(o->sha256);
	ew_close(w, '}');
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

void
event_cache_free(struct event_cache *c)
{
	size_t	 i;

	if (c->frag != NULL) {
		buf_free(c->frag);
		free(c->frag);
	}
	if (c->src != NULL) {
		buf_free(c->src);
		free(c->src);
	}
	if (c->fr != NULL) {
		for (i = 0; i < PC_N; i++)
			buf_free(&c->fr->pc[i]);
		free(c->fr);
	}
	memset(c, 0, sizeof(*c));
}

/*
 * The partner of this event against the last one's, once for all the
 * caches made for a partner: pgen counts its changes (and every event of
 * a partner too long to keep, whose caches are then made again each
 * time).
 */
static void
cache_partner(struct event_cache *c, const char *partner)
{
	size_t	 pl;

	if (c->pvalid && strcmp(c->partner, partner) == 0)
		return;
	c->pgen++;
	pl = strlen(partner);
	c->pvalid = pl < sizeof(c->partner);
	if (c->pvalid)
		memcpy(c->partner, partner, pl + 1);
}

/*
 * The envelope fragments of c are those of set's interchange and group
 * for this partner (cache_partner first); rebuilt when the envelope
 * changes.
 */
static void
cache_envelope(struct event_cache *c, const struct edi_set *set,
    const char *partner)
{
	struct ew	 w;

	if (c->valid && c->ici == set->env.interchange_index &&
	    c->gi == set->env.group_index && c->envpgen == c->pgen)
		return;
	if (c->frag == NULL) {
		c->frag = xmalloc(sizeof(*c->frag));
		buf_init(c->frag, 64U * 1024);
	}
	buf_reset(c->frag);
	w.b = c->frag;
	w.first = 0;
	w.err = 0;
	if (set->env.syntax == EDI_X12)
		x12_envelope(&w, set);
	else if (set->env.syntax == EDI_EDIFACT)
		edifact_envelope(&w, set);
	idempotency_prefix(set, partner, c->idem, sizeof(c->idem));
	c->idemlen = strlen(c->idem);
	c->idemplain = jsonw_plain_prefix(c->idem, c->idemlen) == c->idemlen;
	c->envgen++;
	c->envpgen = c->pgen;
	c->ici = set->env.interchange_index;
	c->gi = set->env.group_index;
	/* XML has no envelope: its key is per document */
	c->valid = set->env.syntax != EDI_XML && w.err == 0;
}

/* The CloudEvents time: the receive time, the same for the whole input. */
static void
cache_time(struct event_cache *c, const struct timespec *t)
{
	struct tm	 tm;
	size_t		 n;

	if (c->have_time)
		return;
	gmtime_r(&t->tv_sec, &tm);
	n = strftime(c->time, sizeof(c->time), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(c->time + n, sizeof(c->time) - n, ".%03ldZ",
	    t->tv_nsec / 1000000);
	c->have_time = 1;
}

/* {"specversion":"1.0","id":"..." */
static void
write_id(struct ew *e, struct event_cache *c, const struct timespec *t)
{
	static const char head[] = "{\"specversion\":\"1.0\",\"id\":\"";
	char	*o;

	if ((o = buf_room(e->b, sizeof(head) - 1 + 37)) == NULL) {
		e->err |= EG_ERR_LIMIT;
		return;
	}
	memcpy(o, head, sizeof(head) - 1);
	o += sizeof(head) - 1;
	event_uuid7(c, t, o);
	o[36] = '"';
	buf_end_at(e->b, o + 37);
	e->first = 0;
}

/*
 * idempotencykey and businesskey.  Both are a prefix kept per envelope
 * or per partner and map, and the set's reference or the subject: when
 * both halves need no escape and nothing is cut at KEYMAX, the halves
 * are written as they are instead of joined and scanned again.
 */
static void
write_keys(struct ew *e, struct event_cache *c, const struct edi_set *set,
    const struct event_origin *o, const char *subject, size_t sl,
    int splain, const char *icn, size_t il, const char *gcn, size_t gl)
{
	const struct event_frag *f = c->fr;
	char		 key[KEYMAX];
	size_t		 n, cl;

	if (set->env.syntax == EDI_XML)
		ew_kstr(e, EWK("idempotencykey"), c->idem, c->idemlen);
	else {
		cl = strnlen(set->control.p, set->control.len);
		if (c->idemplain && c->idemlen + cl < sizeof(key) &&
		    jsonw_plain(set->control.p, cl))
			ew_kq_plain2(e, EWK("idempotencykey"), c->idem,
			    c->idemlen, set->control.p, cl);
		else {
			n = 0;
			kcat(key, sizeof(key), &n, c->idem, c->idemlen);
			kcat(key, sizeof(key), &n, set->control.p, cl);
			ew_kstr(e, EWK("idempotencykey"), key, n);
		}
	}
	if (f->type == ET_ACK_RECEIVED) {
		snprintf(key, sizeof(key), "ack:%s:%.*s:%.*s", o->partner,
		    (int)il, icn ? icn : "", (int)gl, gcn ? gcn : "");
		ew_kcstr(e, EWK("businesskey"), key);
	} else if (subject != NULL) {
		/* a plain subject has no NUL: strnlen would be sl */
		if (splain && f->bizplain && f->bizlen + sl < sizeof(key)) {
			ew_kq_plain2(e, EWK("businesskey"), f->biz, f->bizlen,
			    subject, sl);
			return;
		}
		n = f->bizlen;
		memcpy(key, f->biz, n + 1);
		kcat(key, sizeof(key), &n, subject, strnlen(subject, sl));
		ew_kstr(e, EWK("businesskey"), key, n);
	}
}

static void
write_refs(struct ew *e, const struct event_frag *f, const struct mdoc *doc,
    const char *subject, size_t sl, int splain)
{
	static const char refs1[] = ",\"correlation\":{\"orderRefs\":[";
	struct refs	 r;
	size_t		 i;

	/* an order's own events: the subject is the only reference */
	if ((f->type == ET_ORDER_CREATED || f->type == ET_ORDER_ACK) &&
	    splain && !e->first) {
		ew_kq_plain2(e, refs1, sizeof(refs1) - 1, subject, sl, "", 0);
		ew_raw(e, "]}", 2);
		return;
	}
	r.v = r.inl;
	r.cap = sizeof(r.inl) / sizeof(r.inl[0]);
	r.n = 0;
	switch (f->type) {
	case ET_ORDER_CREATED:
	case ET_ORDER_ACK:
		/* the subject is read from the same path */
		if (subject != NULL)
			addref(&r, subject, sl);
		break;
	case ET_SHIPMENT:
		mdoc_each(doc, "orders[].orderReference.id", addref, &r);
		mdoc_each(doc, "lines[].orderReference.id", addref, &r);
		break;
	default:
		mdoc_each(doc, "orderReference.id", addref, &r);
		break;
	}
	if (r.n > 0) {
		ew_kopen(e, EWO("correlation", "{"));
		ew_kopen(e, EWO("orderRefs", "["));
		for (i = 0; i < r.n; i++)
			ew_str(e, r.v[i].p, r.v[i].len);
		ew_close(e, ']');
		ew_close(e, '}');
	}
	if (r.v != r.inl)
		free(r.v);
}

/*
 * The usual head of an event, up to its document, in one claim: an X12
 * or EDIFACT set whose subject, keys and control number need no escape
 * (splain, cnplain) and fit KEYMAX.  -1 for any other (or at the cap),
 * nothing written; write_id to write_keys are the member by member way,
 * and write the same.
 */
static int
fast_head(struct ew *e, struct event_cache *c, const struct edi_set *set,
    const struct timespec *t, const char *subject, size_t sl, int splain,
    int cnplain)
{
	static const char head[] = "{\"specversion\":\"1.0\",\"id\":\"";
	const struct event_frag *f = c->fr;
	const struct buf *h1 = &f->pc[PC_H1], *h2 = &f->pc[PC_H2],
	    *h3 = &f->pc[PC_H3], *h4 = &f->pc[PC_H4];
	struct slice	 cn = set->control;
	char		*o;

	/* a plain string holds no NUL: cn.len is its strnlen */
	if (!splain || f->err || set->env.syntax == EDI_XML ||
	    f->type == ET_ACK_RECEIVED || !f->bizplain || !c->idemplain ||
	    f->bizlen + sl >= KEYMAX || c->idemlen + cn.len >= KEYMAX ||
	    !cnplain)
		return -1;
	if ((o = buf_room(e->b, sizeof(head) - 1 + 36 + h1->len + sl +
	    h2->len + c->idemlen + cn.len + h3->len + sl + h4->len)) == NULL)
		return -1;
	o = PUTL(o, head);
	uuid7(c, t, o);
	o += 36;
	o = put(o, h1->p, h1->len);
	o = put_short(o, subject, sl);
	o = put(o, h2->p, h2->len);
	o = put(o, c->idem, c->idemlen);
	o = put_short(o, cn.p, cn.len);
	o = put(o, h3->p, h3->len);
	o = put_short(o, subject, sl);
	o = put(o, h4->p, h4->len);
	buf_end_at(e->b, o);
	e->first = 0;
	return 0;
}

/*
 * The usual rest of an X12 or EDIFACT event after its document, in one
 * claim: occurredAt, data.source, map and, for an order's own events,
 * correlation; then what is left member by member.  -1 for any other
 * (or at the cap), nothing written; the caller then writes the same
 * member by member.  when is NULL without occurredAt; wplain: when
 * needs no escape.
 */
static int
fast_tail(struct ew *e, struct event_cache *c, const struct edi_set *set,
    const char *when, size_t wl, int wplain, const struct mdoc *doc,
    const char *subject, size_t sl, int splain, int cnplain,
    const char *diags, size_t diagslen)
{
	static const char at[] = ",\"occurredAt\":\"",
	    refs[] = ",\"correlation\":{\"orderRefs\":[\"";
	const struct event_frag *f = c->fr;
	const struct buf *t1 = &f->pc[PC_T1], *t2 = &f->pc[PC_T2];
	struct slice	 cn = set->control, dt = set->doctype, impl;
	char		*o;
	size_t		 need;
	int		 r;

	if (f->err || e->first || set->env.syntax == EDI_XML ||
	    cn.len == 0 || set->nseg == 0)
		return -1;
	if (when != NULL && wl > 0 && !wplain)
		return -1;
	impl = slice_make("", 0);
	if (set->env.syntax == EDI_X12) {
		if (strcmp(set->seg[0].tag, "ST") == 0)
			impl = ev_impl(&set->seg[0], 3, 1);
	} else
		impl = ev_impl(&set->seg[0], 2, 5);
	/* the document type's check is kept with the source piece */
	if (!cnplain || !plain(impl) || source_piece(c, set) != 0 ||
	    !c->srcdtplain)
		return -1;
	/* an order's own events: the subject is the only reference */
	r = (f->type == ET_ORDER_CREATED || f->type == ET_ORDER_ACK) && splain;
	/* the transaction head, the literals, the strings, two more numbers
	   and "}}" */
	need = sizeof(at) + wl + c->src->len + TXN_HEAD_ROOM(cn, dt, impl) +
	    t1->len + 2 * 20 + 1 + t2->len + (r ? sizeof(refs) + sl + 3 : 0) +
	    2;
	if ((o = buf_room(e->b, need)) == NULL)
		return -1;
	if (when != NULL && wl > 0) {
		o = PUTL(o, at);
		o = put_short(o, when, wl);
		*o++ = '"';
	}
	o = put(o, c->src->p, c->src->len);
	o = put_txn_head(o, cn, dt, impl, set->nseg);
	e->sha = sha_at(f, (size_t)(o - e->b->p) + 1); /* "}" PC_RAWREF */
	o = put(o, t1->p, t1->len);
	o = put_int(o, set->seg[0].filepos);
	*o++ = ',';
	o = put_int(o, set->seg[set->nseg - 1].filepos);
	o = put(o, t2->p, t2->len);
	if (r) {
		o = PUTL(o, refs);
		o = put_short(o, subject, sl);
		o = PUTL(o, "\"]}");
		if (diagslen == 0) {
			o = PUTL(o, "}}");
			buf_end_at(e->b, o);
			e->first = 0;
			return 0;
		}
	}
	buf_end_at(e->b, o);
	e->first = 0;
	if (!r)
		write_refs(e, f, doc, subject, sl, splain);
	if (diagslen > 0) {
		ew_kopen(e, EWO("diagnostics", "["));
		ew_raw(e, diags, diagslen);
		ew_close(e, ']');
	}
	ew_close(e, '}');
	ew_close(e, '}');
	return 0;
}

/* The end of event_write: its return, and where the sha256 went. */
static int
ew_done(const struct ew *e, const struct event_origin *o, size_t mark)
{
	if (o->sha256_at != NULL)
		*o->sha256_at = e->sha == SIZE_MAX || e->sha < mark ?
		    SIZE_MAX : e->sha - mark;
	return e->err ? EG_ERR_LIMIT : 0;
}

int
event_write(struct event_cache *cache, struct buf *out, const struct map *m,
    const struct edi_set *set, const struct mdoc *doc, const char *diags,
    size_t diagslen, const struct event_origin *o)
{
	struct event_cache local;
	const struct event_frag *f;
	struct docvals	 dv;
	struct ew	 e;
	const char	*subject, *icn, *gcn;
	size_t		 sl = 0, il = 0, gl = 0, wl, mark;
	char		 when[40];
	int		 r, splain, cnplain, has_when, wplain;

	if (cache == NULL) {
		memset(&local, 0, sizeof(local));
		r = event_write(&local, out, m, set, doc, diags, diagslen, o);
		event_cache_free(&local);
		return r;
	}
	cache_time(cache, &o->received);
	cache_partner(cache, o->partner);
	cache_envelope(cache, set, o->partner);
	frag_check(cache, m, set, o);
	f = cache->fr;

	lookup(doc, f, &dv);
	subject = dv.subject;
	sl = dv.sl;
	icn = dv.icn;
	il = dv.il;
	gcn = dv.gcn;
	gl = dv.gl;

	e.b = out;
	e.err = f->err;
	e.sha = SIZE_MAX;
	mark = out->len;
	splain = subject != NULL && sl > 0 &&
	    jsonw_plain(subject, sl);
	/* both fast writers' (a plain string holds no NUL) */
	cnplain = jsonw_plain(set->control.p, set->control.len);
	if (fast_head(&e, cache, set, &o->received, subject, sl, splain,
	    cnplain) != 0) {
		write_id(&e, cache, &o->received);
		pc_put(&e, f, PC_HEAD);
		if (splain)
			ew_kq_plain2(&e, EWK("subject"), subject, sl, "", 0);
		else
			ew_kstr(&e, EWK("subject"), subject, sl);
		pc_put(&e, f, PC_TAIL);
		write_keys(&e, cache, set, o, subject, sl, splain, icn, il,
		    gcn, gl);
		pc_put(&e, f, PC_DATA);
	}
	e.err |= mdoc_write_json(doc, out);
	e.first = 0;
	has_when = occurred_at(set, dv.date, dv.dl, dv.time, dv.tl,
	    o->timezone, when, sizeof(when), &wplain) == 0;
	wl = !has_when ? 0 : wplain ? 20 : strlen(when);
	/* the document's date may hold anything: checked, as a key */
	wplain = wplain || (wl > 0 && jsonw_plain(when, wl));
	if (fast_tail(&e, cache, set, has_when ? when : NULL, wl, wplain, doc,
	    subject, sl, splain, cnplain, diags, diagslen) == 0)
		return ew_done(&e, o, mark);
	if (has_when) {
		if (wplain)
			ew_kq_plain2(&e, EWK("occurredAt"), when, wl, "", 0);
		else
			ew_kstr(&e, EWK("occurredAt"), when, wl);
	}
	if (set->env.syntax == EDI_XML)
		xml_source(&e, set, o);
	else {
		write_source(&e, cache, set);
		write_transaction(&e, set, f);
	}
	ew_close(&e, '}');
	pc_put(&e, f, PC_MAP);
	write_refs(&e, f, doc, subject, sl, splain);
	if (diagslen > 0) {
		ew_kopen(&e, EWO("diagnostics", "["));
		ew_raw(&e, diags, diagslen);
		ew_close(&e, ']');
	}
	ew_close(&e, '}');
	ew_close(&e, '}');
	return ew_done(&e, o, mark);
}
