/*
 * mdoc.c: the mapped document (map.h): the ordered tree of objects, arrays,
 * strings, decimal strings and integers that map_eval builds, and its
 * compact JSON writer.
 *
 * Every node lives in the set's arena, carved from blocks by a bump pool,
 * so building a document costs no malloc and freeing it costs nothing (the
 * arena is reset after the set).  Object members keep insertion order in a
 * short linked list; their names are the plan's interned names, so the
 * builder compares pointers (map_compile.c interns every target and field
 * name).  The public readers take text from callers and compare text.
 *
 * The writer must stay byte-identical to json_dumps(JSON_COMPACT): tests
 * compare the two on tricky strings.  Nothing here may fail on partner
 * data: strings are made valid UTF-8 when they enter the tree.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "eglimits.h"
#include "err.h"
#include "jsonw.h"
#include "map.h"
#include "map_int.h"

/* Nesting the readers and writers follow (the builder's is far lower). */
#define MDOC_MAX_DEPTH	2048

/* ---- the pool --------------------------------------------------------- */

void
mdoc_pool_init(struct mdoc_pool *mp, struct arena *a)
{
	mp->a = a;
	mp->p = mp->e = NULL;
}

void *
mdoc_pool_grow(struct mdoc_pool *mp, size_t n)
{
	size_t	 blk = n > MDOC_POOL_BLOCK / 4 ? n : MDOC_POOL_BLOCK;
	char	*p;

	/* The pool's users initialise what they take: no zeroing here. */
	if ((p = arena_alloc_raw(mp->a, blk)) == NULL)
		return NULL;
	if (blk == n)
		return p;	/* a large array: the current block stays */
	mp->p = p + n;
	mp->e = p + blk;
	return p;
}

/* ---- strings: valid UTF-8 -------------------------------------------- */

/*
 * Length of the UTF-8 sequence at p (at most n bytes) when jansson would
 * accept it, else 0: no overlong forms, no surrogates, nothing above
 * U+10FFFF (jansson's utf8_check_first and utf8_check_full).
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned	 c = p[0];
	size_t		 need, k;
	uint32_t	 v;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		v = c & 0x07;
	} else
		return 0;
	if (need > n)
		return 0;
	for (k = 1; k < need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[k] & 0x3fu);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (need == 3 && v < 0x800) || (need == 4 && v < 0x10000))
		return 0;
	return need;
}

static int
utf8_valid(const unsigned char *p, size_t n)
{
	size_t	 i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/*
 * The text of a string node.  A string jansson accepts is kept as is (NUL
 * bytes included); any other has each byte that starts no valid sequence,
 * and each NUL, replaced by U+FFFD, as map_eval always did.  The result
 * points at p or into the pool; NULL when the pool is exhausted.
 */
const char *
mdoc_text_slow(struct mdoc_pool *mp, const char *p, size_t len,
    size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t	 i, n = 0, k;
	char	*o;

	*outlen = len;
	/* Most EDI text is ASCII: 8 bytes at a time. */
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, u + i, 8);
		if (w & 0x8080808080808080ull)
			break;
	}
	for (; i < len; i++)
		if (u[i] >= 0x80)
			break;
	if (i == len || utf8_valid(u + i, len - i))
		return p;
	if (len > (SIZE_MAX - 1) / 3 ||
	    (o = mdoc_alloc(mp, len * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len;) {
		if (u[i] != 0 && u[i] < 0x80) {
			o[n++] = (char)u[i++];
			continue;
		}
		if (u[i] != 0 && (k = utf8_seq(u + i, len - i)) > 1) {
			memcpy(o + n, u + i, k);
			n += k;
			i += k;
			continue;
		}
		memcpy(o + n, "\xef\xbf\xbd", 3);
		n += 3;
		i++;
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

/* Byte classes for mdoc_text_plain: 1 JSON escapes it, 0x80 not ASCII. */
const unsigned char mdoc_cls[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
	[0x80] = 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* ---- building --------------------------------------------------------- */

/* Replace the member named key in place, or append v. */
void
mdoc_set(struct mdoc *o, const char *key, struct mdoc *v)
{
	struct mdoc *m = NULL, *prev = NULL;
	uint64_t bit = mdoc_keybit(key);

	v->key = key;
	v->next = NULL;
	if (o->u.o.keys & bit)
		for (m = o->u.o.head; m != NULL; prev = m, m = m->next)
			if (m->key == key)
				break;
	o->u.o.keys |= bit;
	if (m != NULL) {
		v->next = m->next;
		if (prev != NULL)
			prev->next = v;
		else
			o->u.o.head = v;
		if (o->u.o.tail == m)
			o->u.o.tail = v;
		return;
	}
	if (o->u.o.tail != NULL)
		o->u.o.tail->next = v;
	else
		o->u.o.head = v;
	o->u.o.tail = v;
	o->u.o.n++;
}

void
mdoc_del(struct mdoc *o, const char *key)
{
	struct mdoc *m, *prev = NULL;

	for (m = o->u.o.head; m != NULL; prev = m, m = m->next)
		if (m->key == key)
			break;
	if (m == NULL)
		return;
	if (prev != NULL)
		prev->next = m->next;
	else
		o->u.o.head = m->next;
	if (o->u.o.tail == m)
		o->u.o.tail = prev;
	o->u.o.n--;
}

/* json_object_update(dst, src): src's members set in dst, in src's order. */
void
mdoc_merge(struct mdoc *dst, struct mdoc *src)
{
	struct mdoc *m, *next;

	for (m = src->u.o.head; m != NULL; m = next) {
		next = m->next;
		mdoc_set(dst, m->key, m);
	}
	src->u.o.head = src->u.o.tail = NULL;
	src->u.o.n = 0;
	src->u.o.keys = 0;
}

static int
arr_grow(struct mdoc_pool *mp, struct mdoc *a)
{
	struct mdoc **nv;
	uint32_t nc = a->u.a.cap ? a->u.a.cap * 2 : 8;

	if (nc > EG_MAX_ARRAY_ITEMS * 2u ||
	    (nv = mdoc_alloc(mp, nc * sizeof(*nv))) == NULL)
		return EG_ERR_LIMIT;
	if (a->u.a.n)
		memcpy(nv, a->u.a.v, a->u.a.n * sizeof(*nv));
	a->u.a.v = nv;
	a->u.a.cap = nc;
	return 0;
}

/* Append v, outside the document-order bookkeeping of mdoc_put. */
int
mdoc_append(struct mdoc_pool *mp, struct mdoc *a, struct mdoc *v)
{
	if (a->u.a.n == a->u.a.cap && arr_grow(mp, a) != 0)
		return EG_ERR_LIMIT;
	v->key = NULL;
	v->next = NULL;
	a->u.a.v[a->u.a.n++] = v;
	return 0;
}

/*
 * Insert v at its document position pos among the elements put so far, so
 * that several groups filling one array interleave in source order.  Once
 * an element was appended otherwise, elements are appended.  Returns the
 * index of v, or -1.
 */
int
mdoc_put(struct mdoc_pool *mp, struct mdoc *a, struct mdoc *v, uint32_t pos)
{
	uint32_t at, n = a->u.a.n;

	if (a->u.a.ntrack != n) {
		if (mdoc_append(mp, a, v) != 0)
			return -1;
		return (int)n;
	}
	if (n == a->u.a.cap && arr_grow(mp, a) != 0)
		return -1;
	v->key = NULL;
	v->next = NULL;
	v->pos = pos;
	for (at = n; at > 0 && a->u.a.v[at - 1]->pos > pos; at--)
		;
	if (at < n)
		memmove(a->u.a.v + at + 1, a->u.a.v + at, (n - at) *
		    sizeof(*a->u.a.v));
	a->u.a.v[at] = v;
	a->u.a.n++;
	a->u.a.ntrack++;
	return (int)at;
}

/*
 * Remove empty objects, arrays and strings below d; 1 when d itself is
 * empty.  (map_eval prunes only when something may have been left empty.)
 */
int
mdoc_prune(struct mdoc *d, int depth)
{
	struct mdoc *m, *next, *prev = NULL;
	uint32_t i, k;

	if (depth > MAP_MAX_TARGET_DEPTH * 4)
		return 0;
	switch (d->kind) {
	case MDOC_OBJ:
		for (m = d->u.o.head; m != NULL; m = next) {
			next = m->next;
			if (!mdoc_prune(m, depth + 1)) {
				prev = m;
				continue;
			}
			if (prev != NULL)
				prev->next = next;
			else
				d->u.o.head = next;
			if (d->u.o.tail == m)
				d->u.o.tail = prev;
			d->u.o.n--;
		}
		return d->u.o.n == 0;
	case MDOC_ARR:
		for (i = k = 0; i < d->u.a.n; i++)
			if (!mdoc_prune(d->u.a.v[i], depth + 1))
				d->u.a.v[k++] = d->u.a.v[i];
		if (d->u.a.ntrack == d->u.a.n)
			d->u.a.ntrack = k;
		d->u.a.n = k;
		return k == 0;
	case MDOC_STR:
	case MDOC_DEC:
		return d->u.s.len == 0;
	default:
		return 0;
	}
}

/* ---- compact JSON ------------------------------------------------------ */

/*
 * Output goes straight into the buf's own memory: w->s is its bytes,
 * w->n the length so far and w->lim the room (within the buf's cap);
 * the buf's len is brought up to date at the end and around the calls
 * that write through the buf itself.
 */
struct wr {
	struct buf	*b;
	char		*s;
	size_t		 n, lim;
	int		 err;
};

static void
wr_load(struct wr *w)
{
	struct buf *b = w->b;

	w->s = b->p;
	w->n = b->len;
	w->lim = b->p == NULL ? 0 : b->cap < b->max ? b->cap : b->max;
}

static void
wr_sync(struct wr *w)
{
	if (w->s != NULL) {
		w->b->len = w->n;
		w->s[w->n] = '\0';
	}
}

/* Room for k more bytes; 0 (and the error kept) at the cap. */
static int
wr_grow(struct wr *w, size_t k)
{
	if (w->err)
		return 0;
	wr_sync(w);
	if (buf_grow(w->b, k) != 0) {
		w->err = EG_ERR_LIMIT;
		return 0;
	}
	wr_load(w);
	return 1;
}

static inline int
wr_room(struct wr *w, size_t k)
{
	return k <= w->lim - w->n || wr_grow(w, k);
}

/*
 * Most pieces are keys and short values: copied without a call, with
 * loads and stores that may overlap but stay within [s, s + n).
 */
static inline void
wr_copy(char *d, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t x, y;

	if (n > 16) {
		memcpy(d, s, n);
	} else if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else if (n > 0) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

static inline void
wr_add(struct wr *w, const char *p, size_t n)
{
	if (!wr_room(w, n))
		return;
	wr_copy(w->s + w->n, p, n);
	w->n += n;
}

static inline void
wr_c(struct wr *w, char c)
{
	if (!wr_room(w, 1))
		return;
	w->s[w->n++] = c;
}

/* "s" where s is known to need no escape. */
static inline void
wr_plain(struct wr *w, const char *s, size_t n)
{
	char	*o;

	if (n > SIZE_MAX - 2 || !wr_room(w, n + 2))
		return;
	o = w->s + w->n;
	o[0] = '"';
	wr_copy(o + 1, s, n);
	o[n + 1] = '"';
	w->n += n + 2;
}

/* "s", escaped as jansson does (jsonw.c) when it has to be. */
static void
wr_str(struct wr *w, const char *s, size_t n)
{
	if (jsonw_plain_prefix(s, n) == n) {
		wr_plain(w, s, n);
		return;
	}
	if (w->err)
		return;
	wr_sync(w);
	if (jsonw_string(w->b, s, n) != 0)
		w->err = EG_ERR_LIMIT;
	wr_load(w);
}

/* A member's "key": from the interned name's JSON form (map_int.h). */
static inline void
wr_key(struct wr *w, const char *k)
{
	unsigned n = map_name_len(k);

	if (n == MAP_NAME_NOJSON) {
		wr_str(w, k, strlen(k));
		wr_c(w, ':');
		return;
	}
	wr_add(w, k + n + 1, n + 3);
}

static void
wr_int(struct wr *w, json_int_t v)
{
	if (w->err)
		return;
	wr_sync(w);
	if (jsonw_int(w->b, (long long)v) != 0)
		w->err = EG_ERR_LIMIT;
	wr_load(w);
}

static void
wr_node(struct wr *w, const struct mdoc *d, int depth)
{
	const struct mdoc *m;
	uint32_t i;

	if (depth > MDOC_MAX_DEPTH) {
		w->err = EG_ERR_LIMIT;
		return;
	}
	switch (d->kind) {
	case MDOC_OBJ:
		wr_c(w, '{');
		for (m = d->u.o.head; m != NULL; m = m->next) {
			if (m != d->u.o.head)
				wr_c(w, ',');
			wr_key(w, m->key);
			wr_node(w, m, depth + 1);
		}
		wr_c(w, '}');
		break;
	case MDOC_ARR:
		wr_c(w, '[');
		for (i = 0; i < d->u.a.n; i++) {
			if (i > 0)
				wr_c(w, ',');
			wr_node(w, d->u.a.v[i], depth + 1);
		}
		wr_c(w, ']');
		break;
	case MDOC_STR:
	case MDOC_DEC:
		if (d->plain)
			wr_plain(w, d->u.s.p, d->u.s.len);
		else
			wr_str(w, d->u.s.p, d->u.s.len);
		break;
	case MDOC_INT:
		wr_int(w, d->u.i);
		break;
	}
}

int
mdoc_write_json(const struct mdoc *d, struct buf *b)
{
	struct wr	 w;

	w.b = b;
	w.err = 0;
	wr_load(&w);
	if (d == NULL)
		wr_add(&w, "{}", 2);
	else
		wr_node(&w, d, 0);
	wr_sync(&w);
	return w.err;
}

static json_t *
to_json(const struct mdoc *d, int depth)
{
	const struct mdoc *m;
	json_t	*j, *v;
	uint32_t i;

	if (depth > MDOC_MAX_DEPTH)
		return json_null();
	switch (d->kind) {
	case MDOC_OBJ:
		j = json_object();
		for (m = d->u.o.head; m != NULL; m = m->next)
			if ((v = to_json(m, depth + 1)) != NULL)
				json_object_set_new_nocheck(j, m->key, v);
		return j;
	case MDOC_ARR:
		j = json_array();
		for (i = 0; i < d->u.a.n; i++)
			if ((v = to_json(d->u.a.v[i], depth + 1)) != NULL)
				json_array_append_new(j, v);
		return j;
	case MDOC_STR:
	case MDOC_DEC:
		return json_stringn_nocheck(d->u.s.p, d->u.s.len);
	case MDOC_INT:
		return json_integer(d->u.i);
	}
	return json_null();
}

json_t *
mdoc_to_json(const struct mdoc *d)
{
	if (d == NULL)
		return json_object();
	return to_json(d, 0);
}

/* ---- reading by path -------------------------------------------------- */

static const struct mdoc *
member(const struct mdoc *o, const char *name, size_t n)
{
	const struct mdoc *m;

	if (o == NULL || o->kind != MDOC_OBJ)
		return NULL;
	/* n > 0: the first byte rules out most members without a call */
	for (m = o->u.o.head; m != NULL; m = m->next)
		if ((n == 0 || m->key[0] == name[0]) &&
		    strncmp(m->key, name, n) == 0 && m->key[n] == '\0')
			return m;
	return NULL;
}

const char *
mdoc_get(const struct mdoc *d, const char *path, size_t *len)
{
	const char *p = path, *e;

	if (len != NULL)
		*len = 0;
	while (d != NULL) {
		e = strchr(p, '.');
		d = member(d, p, e != NULL ? (size_t)(e - p) : strlen(p));
		if (e == NULL)
			break;
		p = e + 1;
	}
	if (d == NULL || (d->kind != MDOC_STR && d->kind != MDOC_DEC))
		return NULL;
	if (len != NULL)
		*len = d->u.s.len;
	return d->u.s.p;
}

static void
each(const struct mdoc *d, const char *p,
    void (*fn)(void *, const char *, size_t), void *arg, int depth)
{
	const char *e;
	size_t	 n;
	int	 arr;
	uint32_t i;

	if (d == NULL || depth > MDOC_MAX_DEPTH)
		return;
	if (*p == '\0') {
		if (d->kind == MDOC_STR || d->kind == MDOC_DEC)
			fn(arg, d->u.s.p, d->u.s.len);
		return;
	}
	e = strchr(p, '.');
	n = e != NULL ? (size_t)(e - p) : strlen(p);
	arr = n >= 2 && p[n - 2] == '[' && p[n - 1] == ']';
	d = member(d, p, arr ? n - 2 : n);
	p = e != NULL ? e + 1 : p + n;
	if (d == NULL)
		return;
	if (!arr) {
		each(d, p, fn, arg, depth + 1);
		return;
	}
	if (d->kind != MDOC_ARR)
		return;
	for (i = 0; i < d->u.a.n; i++)
		each(d->u.a.v[i], p, fn, arg, depth + 1);
}

void
mdoc_each(const struct mdoc *d, const char *path,
    void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
	if (path == NULL || fn == NULL)
		return;
	each(d, path, fn, arg, 0);
}
