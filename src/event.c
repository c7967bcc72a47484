/*
 * event.c: CloudEvents 1.0 structured-mode envelope for mapped documents.
 *
 * Owns the naming rules of EVENTS.md: subject and business key per event
 * type, the X12 idempotency key, data.source provenance and occurredAt.
 * It never sees raw bytes beyond the set and never does I/O.
 */
#include "config.h"

#include <openssl/rand.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "edi.h"
#include "event.h"
#include "map.h"
#include "slice.h"
#include "xmalloc.h"

void
event_uuid7(const struct timespec *t, char out[37])
{
	unsigned char	 b[16];
	uint64_t	 ms;
	int		 i, o = 0;

	ms = (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
	if (RAND_bytes(b + 6, 10) != 1)
		memset(b + 6, 0, 10);	/* still unique enough per ms+file */
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02x", b[i]);
		o += 2;
	}
	out[o] = '\0';
}

/* Trimmed envelope value as a new string; "" when absent. */
static char *
envval(const struct edi_seg *seg, int el)
{
	const struct slice *v;

	if (seg == NULL || (v = edi_value(seg, el, 1, 1)) == NULL)
		return xstrdup("");
	return slice_strdup(slice_trim(*v));
}

static void
setstr(json_t *o, const char *key, const char *val)
{
	if (val != NULL && *val != '\0')
		json_object_set_new(o, key, json_string(val));
}

static void
setslice(json_t *o, const char *key, const struct slice *s)
{
	struct slice	 t;

	if (s == NULL)
		return;
	t = slice_trim(*s);
	if (t.len > 0)
		json_object_set_new(o, key, json_stringn(t.p, t.len));
}

static int
isdigits(const char *s, size_t n)
{
	size_t	 i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* YYMMDD or CCYYMMDD -> YYYY-MM-DD; NULL when neither. */
static char *
isodate(const char *s)
{
	char	*out;

	if (isdigits(s, 8)) {
		xasprintf(&out, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
		return out;
	}
	if (isdigits(s, 6)) {
		xasprintf(&out, "%s%.2s-%.2s-%.2s",
		    (s[0] - '0') * 10 + (s[1] - '0') < 50 ? "20" : "19",
		    s, s + 2, s + 4);
		return out;
	}
	return NULL;
}

/* HHMM[SS[d..]] -> HH:MM[:SS] (with_seconds forces :SS). */
static char *
isotime(const char *s, int with_seconds)
{
	char	*out;
	size_t	 n = strlen(s), i;

	if (n < 4)
		return NULL;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return NULL;
	if (n >= 6)
		xasprintf(&out, "%.2s:%.2s:%.2s", s, s + 2, s + 4);
	else if (with_seconds)
		xasprintf(&out, "%.2s:%.2s:00", s, s + 2);
	else
		xasprintf(&out, "%.2s:%.2s", s, s + 2);
	return out;
}

char *
event_default_partner(const struct edi_set *set)
{
	char	*q, *id, *p;

	if (set->env.syntax == EDI_X12) {
		q = envval(set->env.interchange, 5);
		id = envval(set->env.interchange, 6);
	} else {
		/* UNB S002: 0004 id, 0007 qualifier. */
		const struct slice *v;

		v = edi_value(set->env.interchange, 2, 1, 1);
		if (v == NULL)		/* a message without UNB */
			return xstrdup("unknown");
		id = slice_strdup(slice_trim(*v));
		v = edi_value(set->env.interchange, 2, 2, 1);
		q = v ? slice_strdup(slice_trim(*v)) : xstrdup("");
		if (*q != '\0') {
			xasprintf(&p, "%s-%s", id, q);
			free(q);
			free(id);
			return p;
		}
		free(q);
		return id;
	}
	if (*q == '\0' && *id == '\0')
		p = xstrdup("unknown");
	else if (*q == '\0')
		p = xstrdup(id);
	else
		xasprintf(&p, "%s-%s", q, id);
	free(q);
	free(id);
	return p;
}

/* document value at a dotted path, as a string; NULL when absent. */
static const char *
docstr(json_t *doc, const char *path)
{
	char		 key[64];
	const char	*dot;
	json_t		*o = doc;
	size_t		 n;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	o = o ? json_object_get(o, path) : NULL;
	return json_is_string(o) ? json_string_value(o) : NULL;
}

/* Add s to the array unless present. */
static void
addref(json_t *arr, const char *s)
{
	size_t	 i;
	json_t	*v;

	if (s == NULL || *s == '\0')
		return;
	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(arr, json_string(s));
}

static json_t *
orderrefs(const char *type, json_t *doc)
{
	json_t	*refs = json_array(), *arr, *v;
	size_t	 i;

	if (strcmp(type, "order.created") == 0)
		addref(refs, docstr(doc, "id"));
	else if (strcmp(type, "order.acknowledged") == 0)
		addref(refs, docstr(doc, "orderReference.id"));
	else if (strcmp(type, "shipment.noticed") == 0) {
		arr = json_object_get(doc, "orders");
		json_array_foreach(arr, i, v)
			addref(refs, docstr(v, "orderReference.id"));
		arr = json_object_get(doc, "lines");
		json_array_foreach(arr, i, v)
			addref(refs, docstr(v, "orderReference.id"));
	} else
		addref(refs, docstr(doc, "orderReference.id"));
	return refs;
}

/*
 * The process-wide TZ is the only portable way to reach the system's zone
 * database from C; it is switched under a lock and restored, and nothing
 * else in edigate reads local time.
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

char *
event_rfc3339(const char *date, const char *time, const char *zone)
{
	struct tm	 tm;
	time_t		 t;
	char		*old = NULL, *out = NULL, path[512];
	const char	*o;
	long		 off;
	int		 y, mo, d, h, mi, s;

	if (sscanf(date, "%4d-%2d-%2d", &y, &mo, &d) != 3 ||
	    sscanf(time, "%2d:%2d:%2d", &h, &mi, &s) != 3)
		return NULL;
	if (zone == NULL || *zone == '\0' || strcmp(zone, "UTC") == 0 ||
	    strcmp(zone, "Etc/UTC") == 0) {
		xasprintf(&out, "%sT%sZ", date, time);
		return out;
	}
	/* An unknown zone would silently become UTC: refuse it instead. */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (strstr(zone, "..") != NULL || access(path, R_OK) != 0)
		return NULL;
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
		return NULL;
	if (off == 0)
		xasprintf(&out, "%sT%sZ", date, time);
	else
		xasprintf(&out, "%sT%s%c%02ld:%02ld", date, time,
		    off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
	return out;
}

/*
 * occurredAt: the document's own date and time, else the group's
 * (GS04/GS05), in the partner's (or the map's) time zone.
 */
static char *
occurred_at(const struct edi_set *set, json_t *doc, const char *zone)
{
	const char	*d, *t;
	char		*date = NULL, *time = NULL, *out = NULL, *gd, *gt;

	if ((d = docstr(doc, "issueDate")) != NULL && strlen(d) == 10) {
		date = xstrdup(d);
		if ((t = docstr(doc, "issueTime")) != NULL && strlen(t) >= 5) {
			if (strlen(t) >= 8)
				xasprintf(&time, "%.8s", t);
			else
				xasprintf(&time, "%.5s:00", t);
		}
	} else if (set->env.syntax == EDI_X12 && set->env.group != NULL) {
		gd = envval(set->env.group, 4);
		gt = envval(set->env.group, 5);
		date = isodate(gd);
		time = isotime(gt, 1);
		free(gd);
		free(gt);
	} else if (set->env.syntax == EDI_EDIFACT &&
	    set->env.interchange != NULL) {
		const struct slice *ut;

		gd = envval(set->env.interchange, 4);	/* S004 0017 */
		date = isodate(gd);
		free(gd);
		if ((ut = edi_value(set->env.interchange, 4, 2, 1)) != NULL) {
			gt = slice_strdup(*ut);
			time = isotime(gt, 1);
			free(gt);
		}
	}
	if (date != NULL)
		out = event_rfc3339(date, time ? time : "00:00:00", zone);
	free(date);
	free(time);
	return out;
}

static json_t *
x12_source(const struct edi_set *set, const struct event_origin *o)
{
	const struct edi_seg *isa = set->env.interchange, *gs = set->env.group;
	const struct edi_seg *st = &set->seg[0];
	json_t	*src, *ch, *ic, *gr, *tr, *raw, *segs;
	char	*v, *d;

	src = json_object();
	ch = json_object();
	setstr(ch, "protocol", o->protocol ? o->protocol : "FILE");
	setstr(ch, "filename", o->filename);
	json_object_set_new(src, "channel", ch);
	json_object_set_new(src, "standard", json_string("X12"));
	setslice(src, "version", &set->version);
	setslice(src, "documentType", &set->doctype);

	ic = json_object();
	setslice(ic, "controlNumber", edi_value(isa, 13, 1, 1));
	setslice(ic, "senderQualifier", edi_value(isa, 5, 1, 1));
	setslice(ic, "senderId", edi_value(isa, 6, 1, 1));
	setslice(ic, "receiverQualifier", edi_value(isa, 7, 1, 1));
	setslice(ic, "receiverId", edi_value(isa, 8, 1, 1));
	v = envval(isa, 9);
	if ((d = isodate(v)) != NULL)
		json_object_set_new(ic, "date", json_string(d));
	free(d);
	free(v);
	v = envval(isa, 10);
	if ((d = isotime(v, 0)) != NULL)
		json_object_set_new(ic, "time", json_string(d));
	free(d);
	free(v);
	setslice(ic, "version", edi_value(isa, 12, 1, 1));
	v = envval(isa, 15);
	if (strcmp(v, "P") == 0)
		setstr(ic, "usage", "production");
	else if (strcmp(v, "T") == 0)
		setstr(ic, "usage", "test");
	else if (strcmp(v, "I") == 0)
		setstr(ic, "usage", "information");
	free(v);
	json_object_set_new(src, "interchange", ic);

	if (gs != NULL) {
		gr = json_object();
		setslice(gr, "controlNumber", edi_value(gs, 6, 1, 1));
		setslice(gr, "functionalId", edi_value(gs, 1, 1, 1));
		setslice(gr, "senderCode", edi_value(gs, 2, 1, 1));
		setslice(gr, "receiverCode", edi_value(gs, 3, 1, 1));
		setslice(gr, "version", edi_value(gs, 8, 1, 1));
		if (json_object_size(gr))
			json_object_set_new(src, "group", gr);
		else
			json_decref(gr);
	}

	tr = json_object();
	setslice(tr, "controlNumber", &set->control);
	setslice(tr, "setId", &set->doctype);
	if (set->nseg > 0 && strcmp(st->tag, "ST") == 0)
		setslice(tr, "implementationRef", edi_value(st, 3, 1, 1));
	json_object_set_new(tr, "segmentCount", json_integer(set->nseg));
	json_object_set_new(src, "transaction", tr);

	raw = json_object();
	setstr(raw, "docId", o->doc_id);
	setstr(raw, "sha256", o->sha256);
	if (set->nseg > 0) {
		segs = json_array();
		json_array_append_new(segs, json_integer(set->seg[0].filepos));
		json_array_append_new(segs,
		    json_integer(set->seg[set->nseg - 1].filepos));
		json_object_set_new(raw, "segments", segs);
	}
	json_object_set_new(src, "rawRef", raw);
	return src;
}

/* "id:qualifier" of a UNB party composite (S002, S003); "" when absent. */
static char *
unb_party(const struct edi_seg *unb, int el)
{
	const struct slice *id = edi_value(unb, el, 1, 1);
	const struct slice *q = edi_value(unb, el, 2, 1);
	char	*out;

	if (id == NULL)
		return xstrdup("");
	if (q == NULL)
		return slice_strdup(*id);
	xasprintf(&out, "%.*s:%.*s", (int)id->len, id->p, (int)q->len, q->p);
	return out;
}

static json_t *
edifact_source(const struct edi_set *set, const struct event_origin *o)
{
	const struct edi_seg *unb = set->env.interchange, *ung = set->env.group;
	const struct edi_seg *unh = &set->seg[0];
	const struct slice *a, *b;
	json_t	*src, *ch, *ic, *gr, *tr, *raw, *segs;
	char	*v, *d;

	src = json_object();
	ch = json_object();
	setstr(ch, "protocol", o->protocol ? o->protocol : "FILE");
	setstr(ch, "filename", o->filename);
	json_object_set_new(src, "channel", ch);
	json_object_set_new(src, "standard", json_string("EDIFACT"));
	setslice(src, "version", &set->version);
	setslice(src, "documentType", &set->doctype);

	if (unb != NULL) {
		ic = json_object();
		setslice(ic, "controlNumber", edi_value(unb, 5, 1, 1));
		setslice(ic, "senderQualifier", edi_value(unb, 2, 2, 1));
		setslice(ic, "senderId", edi_value(unb, 2, 1, 1));
		setslice(ic, "receiverQualifier", edi_value(unb, 3, 2, 1));
		setslice(ic, "receiverId", edi_value(unb, 3, 1, 1));
		v = envval(unb, 4);	/* S004 0017: YYMMDD or CCYYMMDD */
		if ((d = isodate(v)) != NULL)
			json_object_set_new(ic, "date", json_string(d));
		free(d);
		free(v);
		if ((a = edi_value(unb, 4, 2, 1)) != NULL) {
			v = slice_strdup(*a);
			if ((d = isotime(v, 0)) != NULL)
				json_object_set_new(ic, "time", json_string(d));
			free(d);
			free(v);
		}
		a = edi_value(unb, 1, 1, 1);
		b = edi_value(unb, 1, 2, 1);
		if (a != NULL) {
			xasprintf(&v, "%.*s%s%.*s", (int)a->len, a->p,
			    b ? ":" : "", b ? (int)b->len : 0, b ? b->p : "");
			json_object_set_new(ic, "version", json_string(v));
			free(v);
		}
		a = edi_value(unb, 11, 1, 1);	/* 0035 test indicator */
		setstr(ic, "usage", a != NULL && slice_eqs(*a, "1") ?
		    "test" : "production");
		json_object_set_new(src, "interchange", ic);
	}
	if (ung != NULL) {
		gr = json_object();
		setslice(gr, "controlNumber", edi_value(ung, 5, 1, 1));
		setslice(gr, "functionalId", edi_value(ung, 1, 1, 1));
		setslice(gr, "senderCode", edi_value(ung, 2, 1, 1));
		setslice(gr, "receiverCode", edi_value(ung, 3, 1, 1));
		a = edi_value(ung, 7, 1, 1);
		b = edi_value(ung, 7, 2, 1);
		if (a != NULL && b != NULL) {
			xasprintf(&v, "%.*s%.*s", (int)a->len, a->p,
			    (int)b->len, b->p);
			json_object_set_new(gr, "version", json_string(v));
			free(v);
		}
		json_object_set_new(src, "group", gr);
	}

	tr = json_object();
	setslice(tr, "controlNumber", &set->control);
	setslice(tr, "setId", &set->doctype);
	setslice(tr, "implementationRef", edi_value(unh, 2, 5, 1));
	json_object_set_new(tr, "segmentCount", json_integer(set->nseg));
	json_object_set_new(src, "transaction", tr);

	raw = json_object();
	setstr(raw, "docId", o->doc_id);
	setstr(raw, "sha256", o->sha256);
	if (set->nseg > 0) {
		segs = json_array();
		json_array_append_new(segs, json_integer(set->seg[0].filepos));
		json_array_append_new(segs,
		    json_integer(set->seg[set->nseg - 1].filepos));
		json_object_set_new(raw, "segments", segs);
	}
	json_object_set_new(src, "rawRef", raw);
	return src;
}

static char *
edifact_idempotency_key(const struct edi_set *set, const char *partner)
{
	const struct edi_seg *unb = set->env.interchange;
	char	*k, *from, *to, *icref, *ref;

	from = unb_party(unb, 2);
	to = unb_party(unb, 3);
	icref = envval(unb, 5);
	ref = slice_strdup(set->control);
	xasprintf(&k, "edifact:%s:%s:%s:%s:%s", partner, from, to, icref, ref);
	free(from);
	free(to);
	free(icref);
	free(ref);
	return k;
}

static char *
idempotency_key(const struct edi_set *set, const char *partner)
{
	const struct edi_seg *isa = set->env.interchange, *gs = set->env.group;
	char	*k, *v[7];
	int	 i;

	v[0] = envval(isa, 5);
	v[1] = envval(isa, 6);
	v[2] = envval(isa, 7);
	v[3] = envval(isa, 8);
	v[4] = envval(isa, 13);
	v[5] = envval(gs, 6);
	v[6] = slice_strdup(set->control);
	xasprintf(&k, "x12:%s:%s/%s:%s/%s:%s:%s:%s", partner, v[0], v[1],
	    v[2], v[3], v[4], v[5], v[6]);
	for (i = 0; i < 7; i++)
		free(v[i]);
	return k;
}

json_t *
event_build(const struct map *m, const struct edi_set *set, json_t *doc,
    json_t *diags, const struct event_origin *o)
{
	json_t		*ev, *data, *mp, *corr, *refs;
	const char	*type = map_event_type(m), *subject = NULL;
	char		 id[37], tbuf[40], *s, *bkey = NULL, prefix[32];
	struct tm	 tm;
	size_t		 n;

	ev = json_object();
	event_uuid7(&o->received, id);
	gmtime_r(&o->received.tv_sec, &tm);
	n = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tbuf + n, sizeof(tbuf) - n, ".%03ldZ",
	    o->received.tv_nsec / 1000000);

	if (strcmp(type, "order.acknowledged") == 0)
		subject = docstr(doc, "orderReference.id");
	else if (strcmp(type, "ack.received") == 0) {
		subject = docstr(doc, "acknowledged.groupControlNumber");
		if (subject == NULL)
			subject = docstr(doc,
			    "acknowledged.interchangeControlNumber");
	} else
		subject = docstr(doc, "id");

	/* order.created and order.acknowledged share the order's chain. */
	n = strcspn(type, ".");
	snprintf(prefix, sizeof(prefix), "%.*s", (int)n, type);
	if (strcmp(type, "ack.received") == 0) {
		const char *icn = docstr(doc,
		    "acknowledged.interchangeControlNumber");
		const char *gcn = docstr(doc, "acknowledged.groupControlNumber");
		xasprintf(&bkey, "ack:%s:%s:%s", o->partner, icn ? icn : "",
		    gcn ? gcn : "");
	} else if (subject != NULL)
		xasprintf(&bkey, "%s:%s:%s", prefix, o->partner, subject);

	json_object_set_new(ev, "specversion", json_string("1.0"));
	json_object_set_new(ev, "id", json_string(id));
	json_object_set_new(ev, "type", json_string(type));
	xasprintf(&s, "/edigate/partners/%s", o->partner);
	json_object_set_new(ev, "source", json_string(s));
	free(s);
	setstr(ev, "subject", subject);
	json_object_set_new(ev, "time", json_string(tbuf));
	json_object_set_new(ev, "datacontenttype",
	    json_string("application/json"));
	json_object_set_new(ev, "partner", json_string(o->partner));
	json_object_set_new(ev, "direction", json_string("inbound"));
	s = set->env.syntax == EDI_X12 ? idempotency_key(set, o->partner) :
	    edifact_idempotency_key(set, o->partner);
	json_object_set_new(ev, "idempotencykey", json_string(s));
	free(s);
	setstr(ev, "businesskey", bkey);
	free(bkey);
	json_object_set_new(ev, "eventversion",
	    json_integer(map_event_version(m)));

	data = json_object();
	s = occurred_at(set, doc, o->timezone);
	json_object_set_new(data, "document", doc);
	setstr(data, "occurredAt", s);
	free(s);
	json_object_set_new(data, "source", set->env.syntax == EDI_X12 ?
	    x12_source(set, o) : edifact_source(set, o));
	mp = json_object();
	json_object_set_new(mp, "id", json_string(map_id(m)));
	json_object_set_new(mp, "version", json_integer(map_version(m)));
	json_object_set_new(mp, "sha256", json_string(map_sha256(m)));
	json_object_set_new(data, "map", mp);
	refs = orderrefs(type, doc);
	if (json_array_size(refs) > 0) {
		corr = json_object();
		json_object_set_new(corr, "orderRefs", refs);
		json_object_set_new(data, "correlation", corr);
	} else
		json_decref(refs);
	if (diags != NULL && json_array_size(diags) > 0)
		json_object_set_new(data, "diagnostics", diags);
	else
		json_decref(diags);
	json_object_set_new(ev, "data", data);
	return ev;
}
