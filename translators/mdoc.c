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

#include <stddef.h>
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

/* mdoc_set when key's bit is already set: replace it if it is there. */
void
mdoc_set_again(struct mdoc *o, const char *key, struct mdoc *v)
{
	struct mdoc *m, *prev = NULL;

	v->key = key;
	v->next = NULL;
	for (m = o->u.o.head; m != NULL; prev = m, m = m->next)
		if (m->key == key)
			break;
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
	/* another name with the same bit: a new member after all */
	mdoc_add_new(o, key, 0, v);
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

#define ARR_FIRST	8	/* an array's first slots */
_Static_assert(ARR_FIRST <= EG_MAX_ARRAY_ITEMS * 2u, "arr_grow's cap");

static int
arr_grow(struct mdoc_pool *mp, struct mdoc *a)
{
	struct mdoc **nv;
	uint32_t nc = a->u.a.cap ? a->u.a.cap * 2 : ARR_FIRST;

	if (nc > EG_MAX_ARRAY_ITEMS * 2u ||
	    (nv = mdoc_alloc(mp, nc * sizeof(*nv))) == NULL)
		return EG_ERR_LIMIT;
	if (a->u.a.n)
		memcpy(nv, a->u.a.v, a->u.a.n * sizeof(*nv));
	a->u.a.v = nv;
	a->u.a.cap = nc;
	return 0;
}

/*
 * Room for one more element of a.  Most arrays are short (an address's
 * lines, a document's references): their first ARR_FIRST slots are
 * taken here, without a call (an empty array has nothing to copy); more
 * by doubling (arr_grow).
 */
static inline int
arr_room(struct mdoc_pool *mp, struct mdoc *a)
{
	struct mdoc **nv;

	if (a->u.a.n < a->u.a.cap)
		return 0;
	if (a->u.a.cap != 0)
		return arr_grow(mp, a);
	if ((nv = mdoc_alloc(mp, ARR_FIRST * sizeof(*nv))) == NULL)
		return EG_ERR_LIMIT;
	a->u.a.v = nv;
	a->u.a.cap = ARR_FIRST;
	return 0;
}

/* Append v, outside the document-order bookkeeping of mdoc_put. */
int
mdoc_append(struct mdoc_pool *mp, struct mdoc *a, struct mdoc *v)
{
	if (arr_room(mp, a) != 0)
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
	if (arr_room(mp, a) != 0)
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
 * Output goes straight into the buf's own memory.  Each writer takes the
 * output position o and returns where it left off, or NULL once the
 * buf's cap is reached (w->err is then set and writing stops); w->end is
 * the end of the room (within the buf's cap).  The buf's len is brought
 * up to date at the end and around the calls that write through the buf.
 *
 * Every member and element is written with the comma after it instead
 * of before it, and the comma after the last one becomes its object's
 * '}' or array's ']': a member that is a key and a plain string (most
 * of them) is then one piece with nothing to decide, ,"key":"value"
 * less the comma before, its room claimed once.  Each byte is written
 * where the text has one, so the room asked for is never more than the
 * text still to come: the cap fails exactly when the text does not fit.
 */
struct wr {
	struct buf	*b;
	char		*end;
	int		 err;
};

/* The position after the buf's contents, and the room after it. */
static char *
wr_load(struct wr *w)
{
	struct buf *b = w->b;
	size_t	 lim = b->cap < b->max ? b->cap : b->max;

	w->end = b->p + (b->len < lim ? lim : b->len);
	return b->p + b->len;
}

static void
wr_sync(struct wr *w, char *o)
{
	w->b->len = (size_t)(o - w->b->p);
	*o = '\0';
}

/* Room for k more bytes at o: the new position, or NULL at the cap. */
static char *
wr_grow(struct wr *w, char *o, size_t k)
{
	wr_sync(w, o);
	if (buf_grow(w->b, k) != 0) {
		w->err = EG_ERR_LIMIT;
		return NULL;
	}
	return wr_load(w);
}

static inline char *
wr_room(struct wr *w, char *o, size_t k)
{
	return k <= (size_t)(w->end - o) ? o : wr_grow(w, o, k);
}

/* "s" (known to need no escape) into room already claimed. */
static inline char *
wr_plain(char *o, const char *s, size_t n)
{
	o[0] = '"';
	jsonw_copy(o + 1, s, n);
	o[n + 1] = '"';
	return o + n + 2;
}

/* "s", escaped as jansson does (jsonw.c) when it has to be. */
static char *
wr_str(struct wr *w, char *o, const char *s, size_t n)
{
	if (jsonw_plain_prefix(s, n) == n) {
		if ((o = wr_room(w, o, n + 2)) == NULL)
			return NULL;
		return wr_plain(o, s, n);
	}
	wr_sync(w, o);
	if (jsonw_string(w->b, s, n) != 0) {
		w->err = EG_ERR_LIMIT;
		return NULL;
	}
	return wr_load(w);
}

/* As jsonw_int. */
static char *
wr_int(struct wr *w, char *o, json_int_t v)
{
	char		 tmp[24], *p = jsonw_fmt_int(tmp, v);
	size_t		 n = (size_t)(tmp + sizeof(tmp) - p);

	if ((o = wr_room(w, o, n)) == NULL)
		return NULL;
	jsonw_copy(o, p, n);
	return o + n;
}

/*
 * A value that is not a non-empty object or array: a scalar, {} or []
 * (nothing for an unknown kind).
 */
static char *
wr_leaf(struct wr *w, char *o, const struct mdoc *d)
{
	switch (d->kind) {
	case MDOC_OBJ:
	case MDOC_ARR:
		if ((o = wr_room(w, o, 2)) == NULL)
			return NULL;
		o[0] = d->kind == MDOC_OBJ ? '{' : '[';
		o[1] = d->kind == MDOC_OBJ ? '}' : ']';
		return o + 2;
	case MDOC_STR:
	case MDOC_DEC:
		if (d->plain) {
			if ((o = wr_room(w, o, d->u.s.len + 2)) == NULL)
				return NULL;
			return wr_plain(o, d->u.s.p, d->u.s.len);
		}
		return wr_str(w, o, d->u.s.p, d->u.s.len);
	case MDOC_INT:
		return wr_int(w, o, d->u.i);
	}
	return o;
}

/*
 * A member's key length is read on every member: one 16-bit load where
 * the byte order allows.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WR_LE16	1
#endif

/* map_name_len */
static inline size_t
wr_keylen(const char *k)
{
#ifdef WR_LE16
	uint16_t n;

	memcpy(&n, k - 2, 2);
	return n;
#else
	return map_name_len(k);
#endif
}

/*
 * Whether v is a string or decimal string marked plain: only those are
 * ever marked (mdoc_new clears plain, and the builder sets it on the
 * text it stores), so the mark alone tells.
 */
static inline int
wr_plainstr(const struct mdoc *v)
{
	return v->plain != 0;
}

/* Whether v is an object or array with something in it. */
static inline int
wr_nonempty(const struct mdoc *v)
{
	return (v->kind == MDOC_OBJ && v->u.o.head != NULL) ||
	    (v->kind == MDOC_ARR && v->u.a.n > 0);
}

/*
 * "key":" (kn + 3 bytes of JSON and a string's opening quote) of a key
 * with its JSON form (kn is not MAP_NAME_NOJSON) into room already
 * claimed, without a call.  The form's padding (map_int.h) is copied
 * too, as the same 32 bytes whatever the length: the room claimed holds
 * them, and what follows the key overwrites them (the quote too, when
 * the value is not a string).
 */
static inline void
wr_key_fast(char *o, const char *k)
{
	char	 a[16], b[16];

	memcpy(a, k - MAP_NAME_PRE, 16);
	memcpy(b, k - MAP_NAME_PRE + 16, 16);
	memcpy(o, a, 16);
	memcpy(o + 16, b, 16);
}

/* "key": of any key, room claimed. */
static char *
wr_key(struct wr *w, char *o, const char *k, size_t kn)
{
	if (kn == MAP_NAME_NOJSON) {
		if ((o = wr_str(w, o, k, strlen(k))) == NULL ||
		    (o = wr_room(w, o, 1)) == NULL)
			return NULL;
		*o++ = ':';
		return o;
	}
	if ((o = wr_room(w, o, kn + 3)) == NULL)
		return NULL;
	memcpy(o, k - MAP_NAME_PRE, kn + 3);
	return o + kn + 3;
}

/*
 * A plain string's text and the '",' after it into room already claimed
 * (with the '"' before it), for text of up to 32 bytes; 0 for longer
 * text, with nothing of it written.
 */
static inline int
wr_val_fast(char *o, const char *s, size_t n)
{
	uint32_t q = '"' | ',' << 8;	/* and two bytes of room after */

	if (!jsonw_copy32(o, s, n))
		return 0;
	/* one 32-bit store: a 16-bit immediate would go through a register */
	memcpy(o + n, &q, 4);
	return 1;
}

/* The digits of u at o (room claimed): where they end. */
static inline char *
wr_u32(char *o, uint32_t u)
{
	size_t	 n;

	if (u < 10) {
		*o = (char)('0' + u);
		return o + 1;
	}
	if (u < 10000)
		n = u < 100 ? 2 : u < 1000 ? 3 : 4;
	else if (u < 100000000)
		n = u < 1000000 ? (u < 100000 ? 5 : 6) :
		    (u < 10000000 ? 7 : 8);
	else
		n = u < 1000000000 ? 9 : 10;
	jsonw_fmt_u32(o + n, u);
	return o + n;
}

/*
 * Room the writer keeps for a member it writes without checking its
 * length against the room: a key of up to 32 bytes of JSON and a
 * plain string of up to 32 bytes, quoted, with its comma (or a key
 * and a brace), and two bytes more, so that the commas after an
 * object of such members, and after the object it ends, need no check
 * either; and the two bytes after each, which the 32-bit stores of
 * '",' and '},' write over.  With less room left, members claim
 * exactly their own (wr_key, wr_leaf).
 */
#define WR_SHORT	(32 + 32 + 3 + 2 + 2)
_Static_assert(MAP_NAME_JSONPAD <= 32, "wr_key_fast's copy fits WR_SHORT");

/*
 * The last place a member may start at and be written without a check
 * of its length against the room, less its key's length kn: the one
 * comparison (uintptr_t)o + kn <= lim finds both that WR_SHORT bytes of
 * room are left and that the key has its JSON form, as a key without
 * one has kn MAP_NAME_NOJSON and lim is kept less than that past o.
 * Taken again with o after each member that claims its own room.
 */
static inline uintptr_t
wr_lim(const char *end, const char *o)
{
	uintptr_t l = (uintptr_t)end - WR_SHORT,
	    m = (uintptr_t)o + MAP_NAME_NOJSON - 1;

	return l < m ? l : m;
}

/*
 * "key":"value", and the comma after it, for v, a plain string member
 * whose key k is kn bytes, when o + kn is within lim (wr_lim) and the
 * value is short; else 0, with o unchanged.
 */
static inline __attribute__((always_inline)) int
wr_short(char **op, uintptr_t lim, const struct mdoc *v, const char *k,
    size_t kn)
{
	char	*o = *op, *t = o + kn;
	size_t	 vn = v->u.s.len;	/* not reread after the stores */

	if ((uintptr_t)t > lim)
		return 0;
	wr_key_fast(o, k);
	if (!wr_val_fast(t + 4, v->u.s.p, vn))
		return 0;
	*op = t + vn + 6;
	return 1;
}

/*
 * The containers the writer is inside of, kept in an array instead of
 * the C stack: a document is mostly small objects a few levels down
 * (lines[].item.standardItemId), and a call and return for each cost
 * more than writing its members.  Deeper than WR_STACK, wr_tree calls
 * itself with a new array.
 */
#define WR_STACK	32

struct wr_frame {
	const void	*at;		/* the next member, or next element */
	const struct mdoc *const *ee;	/* an array's end; NULL: an object */
};

/*
 * The members or elements of d, a non-empty object or array at depth
 * whose '{' or '[' is written, and its '}' or ']'.  A node deeper than
 * MDOC_MAX_DEPTH fails (EG_ERR_LIMIT), as the readers stop there.
 *
 * Short members and elements (a key of up to 32 bytes of JSON and a
 * plain string of up to 32, or the opening of a non-empty object or
 * array) are written while WR_SHORT bytes of room are left, which is
 * one comparison with lim; anything else claims its own room.
 *
 * Where the writer is, is m (the object's next member) with ee NULL,
 * or e and ee (the array's next element and its end): a frame keeps
 * the same two, so going back up reads nothing of the container.
 */
static char *
wr_tree(struct wr *w, char *o, const struct mdoc *d, int depth)
{
	struct wr_frame	 st[WR_STACK], *fp = st, *flim;
	const struct mdoc *m = NULL, *v, *vm, *vv, *const *e = NULL;
	const uint32_t	 cc = '}' | ',' << 8;
	const struct mdoc *const *ee = NULL;
	const char	*k;
	char		*end;
	uintptr_t	 lim;
	size_t		 kn, vn;

	if (depth >= MDOC_MAX_DEPTH)
		goto deep;
	/* a container may go in a frame when its members are not too deep */
	flim = st + (MDOC_MAX_DEPTH - 1 - depth < WR_STACK ?
	    MDOC_MAX_DEPTH - 1 - depth : WR_STACK);
	end = w->end;
	lim = wr_lim(end, o);
	if (d->kind == MDOC_ARR) {
		e = (const struct mdoc *const *)d->u.a.v;
		ee = e + d->u.a.n;
		goto arr;
	}
	m = d->u.o.head;

obj:	/* the members of an object from m (ee is NULL) */
	for (;;) {
		/* most are short plain strings, one after another */
		while (wr_plainstr(m) &&
		    wr_short(&o, lim, m, m->key, wr_keylen(m->key)))
			if ((m = m->next) == NULL)
				goto close;
		v = m;
		m = m->next;
		k = v->key;
		kn = wr_keylen(k);
		if (wr_plainstr(v)) {
			/* long, or no room: wr_key and wr_leaf claim it */
		} else if (v->kind == MDOC_OBJ) {
			if (v->u.o.head != NULL && (uintptr_t)o + kn <= lim) {
				wr_key_fast(o, k);
				o[kn + 3] = '{';
				o += kn + 4;
				if (fp == flim)
					goto deeper;
				/*
				 * Most objects hold only short plain strings:
				 * written here, with nothing kept in a frame.
				 */
				vm = v->u.o.head;
				do {
					if (wr_plainstr(vm)) {
						if (!wr_short(&o, lim, vm,
						    vm->key, wr_keylen(vm->key)))
							break;
						continue;
					}
					/*
					 * An object of short members in it
					 * (lines[].item.standardItemId) too,
					 * with two frames ready should one
					 * not be short.
					 */
					kn = wr_keylen(vm->key);
					if (vm->kind != MDOC_OBJ ||
					    vm->u.o.head == NULL ||
					    flim - fp < 2 ||
					    (uintptr_t)o + kn > lim)
						break;
					wr_key_fast(o, vm->key);
					o[kn + 3] = '{';
					o += kn + 4;
					vv = vm->u.o.head;
					do
						if (!wr_plainstr(vv) ||
						    !wr_short(&o, lim, vv,
						    vv->key, wr_keylen(vv->key)))
							break;
					while ((vv = vv->next) != NULL);
					if (vv != NULL) {
						fp[0].at = m;
						fp[0].ee = NULL;
						fp[1].at = vm->next;
						fp[1].ee = NULL;
						fp += 2;
						m = vv;
						goto obj;
					}
					memcpy(o - 1, &cc, 4);
					o++;
				} while ((vm = vm->next) != NULL);
				if (vm == NULL) {
					/* a short member left three bytes */
					memcpy(o - 1, &cc, 4);
					o++;
					goto next;
				}
				fp->at = m;
				fp->ee = NULL;
				fp++;
				m = vm;
				continue;
			}
		} else if (v->kind == MDOC_ARR) {
			if (v->u.a.n > 0 && (uintptr_t)o + kn <= lim) {
				wr_key_fast(o, k);
				o[kn + 3] = '[';
				o += kn + 4;
				if (fp == flim)
					goto deeper;
				fp->at = m;
				fp->ee = NULL;
				fp++;
				e = (const struct mdoc *const *)v->u.a.v;
				ee = e + v->u.a.n;
				goto arr;
			}
		}
		if ((uintptr_t)o + kn <= lim) {
			wr_key_fast(o, k);
			o += kn + 3;
			/* counts (totals.lineCount) with the key */
			if (v->kind == MDOC_INT && v->u.i >= 0 &&
			    v->u.i <= UINT32_MAX) {
				o = wr_u32(o, (uint32_t)v->u.i);
				*o++ = ',';
				goto next;
			}
		} else if ((o = wr_key(w, o, k, kn)) == NULL)
			return NULL;
		end = w->end;
		lim = wr_lim(end, o);
		goto value;
next:
		if (m == NULL)
			break;
	}
close:
	o[-1] = '}';
	goto up;

arr:	/* the elements of an array from e to ee */
	do {
		v = *e++;
		if (wr_plainstr(v) && (uintptr_t)o <= lim &&
		    wr_val_fast(o + 1, v->u.s.p, vn = v->u.s.len)) {
			o[0] = '"';
			o += vn + 3;
			continue;
		}
		if (v->kind == MDOC_OBJ && v->u.o.head != NULL &&
		    (uintptr_t)o <= lim) {
			*o++ = '{';
			if (fp == flim)
				goto deeper;
			fp->at = e;
			fp->ee = ee;
			fp++;
			ee = NULL;
			m = v->u.o.head;
			goto obj;
		}
		goto value;
	} while (e != ee);
	o[-1] = ']';
	goto up;

value:	/* v, a member after its key or an element, one level down */
	if (!wr_nonempty(v)) {
		if ((o = wr_leaf(w, o, v)) == NULL)
			return NULL;
		end = w->end;
		lim = wr_lim(end, o);
		goto comma;
	}
	if (o == end) {
		if ((o = wr_grow(w, o, 1)) == NULL)
			return NULL;
		end = w->end;
		lim = wr_lim(end, o);
	}
	*o++ = v->kind == MDOC_OBJ ? '{' : '[';
	if (fp == flim)
		goto deeper;
	fp->at = ee == NULL ? (const void *)m : (const void *)e;
	fp->ee = ee;
	fp++;
	if (v->kind == MDOC_OBJ) {
		ee = NULL;
		m = v->u.o.head;
		goto obj;
	}
	e = (const struct mdoc *const *)v->u.a.v;
	ee = e + v->u.a.n;
	goto arr;

deeper:	/* v, its brace written, with a new array of frames */
	if ((o = wr_tree(w, o, v, depth + (int)(fp - st) + 1)) == NULL)
		return NULL;	/* at once when v's members are too deep */
	end = w->end;
	lim = wr_lim(end, o);
	goto comma;

up:	/* a container is written: back to the one it is in */
	if (fp == st)
		return o;
	fp--;
	if (o == end) {
		if ((o = wr_grow(w, o, 1)) == NULL)
			return NULL;
		end = w->end;
		lim = wr_lim(end, o);
	}
	/* the comma, or the brace it would become */
	if ((ee = fp->ee) == NULL) {
		if ((m = fp->at) == NULL) {
			*o++ = '}';
			goto up;
		}
		*o++ = ',';
		goto obj;
	}
	if ((e = fp->at) == ee) {
		*o++ = ']';
		goto up;
	}
	*o++ = ',';
	goto arr;

comma:	/* after a value that is not a plain string: the next, or the end */
	if (o == end) {
		if ((o = wr_grow(w, o, 1)) == NULL)
			return NULL;
		end = w->end;
		lim = wr_lim(end, o);
	}
	*o++ = ',';
	if (ee == NULL) {
		if (m != NULL)
			goto obj;
		o[-1] = '}';
	} else {
		if (e != ee)
			goto arr;
		o[-1] = ']';
	}
	goto up;

deep:
	w->err = EG_ERR_LIMIT;	/* its members are too deep */
	return NULL;
}

int
mdoc_write_json(const struct mdoc *d, struct buf *b)
{
	struct wr	 w;
	char		*o;

	/* A document is at least "{}": the buf has memory to point into. */
	if (b->p == NULL && buf_grow(b, 2) != 0)
		return EG_ERR_LIMIT;
	w.b = b;
	w.err = 0;
	o = wr_load(&w);
	if (d == NULL) {
		if ((o = wr_room(&w, o, 2)) != NULL) {
			memcpy(o, "{}", 2);
			o += 2;
		}
	} else if (!wr_nonempty(d))
		o = wr_leaf(&w, o, d);
	else if ((o = wr_room(&w, o, 1)) != NULL) {
		*o++ = d->kind == MDOC_OBJ ? '{' : '[';
		o = wr_tree(&w, o, d, 0);
	}
	if (o != NULL)
		wr_sync(&w, o);
	return o == NULL ? (w.err ? w.err : EG_ERR_LIMIT) : 0;
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

/*
 * Whether the n bytes at a and b are the same, their first bytes (if
 * any) known to be: names of up to 16 bytes (id, issueDate,
 * orderReference) by two overlapping loads each, without a call.
 */
static inline int
same_n(const char *a, const char *b, size_t n)
{
	uint64_t w, x, y, z;
	uint32_t p, q, r, s;

	if (n - 8 <= 8) {
		memcpy(&w, a, 8);
		memcpy(&x, b, 8);
		memcpy(&y, a + n - 8, 8);
		memcpy(&z, b + n - 8, 8);
		return ((w ^ x) | (y ^ z)) == 0;
	}
	if (n - 4 < 4) {
		memcpy(&p, a, 4);
		memcpy(&q, b, 4);
		memcpy(&r, a + n - 4, 4);
		memcpy(&s, b + n - 4, 4);
		return ((p ^ q) | (r ^ s)) == 0;
	}
	if (n < 4)
		return n < 2 || (a[1] == b[1] && a[n - 1] == b[n - 1]);
	return memcmp(a, b, n) == 0;
}

/* Whether key (an interned name, of length kl) is name[0..n). */
static inline int
key_is(const char *key, size_t kl, const char *name, size_t n)
{
	/* keys are interned names: their length is at hand (map_int.h) */
	if (kl != MAP_NAME_NOJSON)
		return kl == n && (n == 0 || key[0] == name[0]) &&
		    same_n(key, name, n);
	return strncmp(key, name, n) == 0 && key[n] == '\0';
}

static const struct mdoc *
member(const struct mdoc *o, const char *name, size_t n)
{
	const struct mdoc *m;

	if (o == NULL || o->kind != MDOC_OBJ)
		return NULL;
	for (m = o->u.o.head; m != NULL; m = m->next)
		if (key_is(m->key, wr_keylen(m->key), name, n))
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

/* The string or decimal string d is; NULL for any other value. */
static const char *
str_of(const struct mdoc *d, size_t *len)
{
	if (d == NULL || (d->kind != MDOC_STR && d->kind != MDOC_DEC))
		return NULL;
	*len = d->u.s.len;
	return d->u.s.p;
}

void
mdoc_paths_init(struct mdoc_paths *ps, const char *const *paths, int n)
{
	const char	*p;
	int		 i;

	memset(ps, 0, sizeof(*ps));
	for (i = 0; i < n && i < MDOC_GET_N; i++) {
		for (p = paths[i]; *p != '\0' && *p != '.'; p++)
			;
		ps->p[i].path = paths[i];
		ps->p[i].first = (size_t)(p - paths[i]);
		ps->p[i].rest = *p == '.' ? p + 1 : NULL;
	}
	ps->n = i;
}

/*
 * Each path's first step is a walk of the root that stops at the first
 * member of its name.  Walking the root once for all of them costs more
 * than that: the names looked for are mostly among its first members
 * (id, issueDate), so only an absent one walks it all, and telling each
 * member apart from several names is dearer than from one.  What the
 * paths save is splitting them per document.
 */
void
mdoc_get_paths(const struct mdoc *d, const struct mdoc_paths *ps,
    const char **out, size_t *lens)
{
	const struct mdoc *m;
	int		 i;

	for (i = 0; i < ps->n; i++) {
		out[i] = NULL;
		lens[i] = 0;
		if (ps->p[i].absent)
			continue;
		if (ps->p[i].key != NULL) {
			/* by key bit and pointer, as the builder finds it */
			if (d == NULL || d->kind != MDOC_OBJ ||
			    (m = mdoc_member(d, ps->p[i].key)) == NULL)
				continue;
		} else if ((m = member(d, ps->p[i].path, ps->p[i].first)) ==
		    NULL)
			continue;
		if (ps->p[i].rest != NULL)
			out[i] = mdoc_get(m, ps->p[i].rest, &lens[i]);
		else
			out[i] = str_of(m, &lens[i]);
	}
}

/*
 * Once per map, so the table of its names is searched through rather
 * than hashed: nothing here depends on how the compiler hashes them.
 */
void
mdoc_paths_map(struct mdoc_paths *ps, const struct map *m)
{
	const struct map *o = m->owner != NULL ? m->owner : m;
	const char	*k;
	size_t		 n;
	uint32_t	 j;
	int		 i;

	if (o->names == NULL)
		return;		/* (no document member either: by text) */
	for (i = 0; i < ps->n; i++) {
		n = ps->p[i].first;
		ps->p[i].key = NULL;
		for (j = 0; j <= o->namemask; j++)
			if ((k = o->names[j]) != NULL &&
			    strncmp(k, ps->p[i].path, n) == 0 && k[n] == '\0') {
				ps->p[i].key = k;
				break;
			}
		ps->p[i].absent = ps->p[i].key == NULL;
	}
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
