/*
 * unit_mdoc.c: mdoc_write_json against json_dumps(mdoc_to_json(),
 * JSON_COMPACT) on documents built here through the construction API,
 * shaped to reach what the corpus does not: nesting past the writer's
 * frames, containers last in their container, empty ones, long keys and
 * values, text to escape, integers; the depth limit; the buffer's cap.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "map.h"
#include "map_int.h"
#include "tap.h"

/* Names in the map_int.h layout, as map_compile.c interns them. */
#define NNAMES	8
static const char *names[NNAMES];

static const char *
intern(const char *s, unsigned seq)
{
	size_t	 n = strlen(s);
	char	*p = calloc(1, MAP_NAME_PRE + n + 1), *k = p + MAP_NAME_PRE;
	unsigned len = n + 4 <= MAP_NAME_JSONPAD ? (unsigned)n :
	    MAP_NAME_NOJSON;

	if (p == NULL)
		abort();
	if (strpbrk(s, "\"\\") != NULL)
		len = MAP_NAME_NOJSON;
	if (len != MAP_NAME_NOJSON) {
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		p[n + 2] = ':';
		p[n + 3] = '"';
	}
	k[-3] = (char)(seq % 64);
	k[-2] = (char)(len & 0xff);
	k[-1] = (char)(len >> 8);
	memcpy(k, s, n);
	return k;
}

static uint32_t seed = 12345;

static unsigned
rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 16) % n;
}

static struct mdoc *
str_node(struct mdoc_pool *mp, const char *s, size_t n)
{
	struct mdoc *d = mdoc_new(mp, MDOC_STR);

	d->u.s.p = mdoc_text_plain(mp, s, n, &d->u.s.len, &d->plain);
	return d;
}

/* A scalar: short or long text, plain or to escape, or an integer. */
static struct mdoc *
leaf(struct mdoc_pool *mp)
{
	static const char *const text[] = { "", "a", "CS", "USD", "0001",
	    "V777573", "PO000001", "2025-11-04", "00731284151552",
	    "BOLT HEX M8 X 40 AND MORE", ("a text of more than thirty-two "
	    "bytes, copied by memcpy"), "quote \" here", "back\\slash",
	    "tab\there", "caf\xc3\xa9", "bad \xff byte" };
	struct mdoc *d;
	const char *s;

	if (rnd(8) == 0) {
		d = mdoc_new(mp, MDOC_INT);
		d->u.i = (json_int_t)rnd(100000) - 500;
		return d;
	}
	s = text[rnd(sizeof(text) / sizeof(text[0]))];
	return str_node(mp, s, strlen(s));
}

static struct mdoc *
tree(struct mdoc_pool *mp, int depth)
{
	struct mdoc *d, *v;
	unsigned i, n, k;

	if (depth <= 0 || rnd(4) == 0)
		return leaf(mp);
	d = mdoc_new(mp, rnd(3) == 0 ? MDOC_ARR : MDOC_OBJ);
	n = rnd(5);	/* 0: an empty container */
	for (i = 0; i < n; i++) {
		v = tree(mp, depth - 1);
		if (d->kind == MDOC_ARR) {
			if (mdoc_append(mp, d, v) != 0)
				abort();
			continue;
		}
		k = rnd(NNAMES);
		mdoc_set(d, names[k], v);
	}
	return d;
}

/* A chain of n containers, objects and arrays in turn, around a string. */
static struct mdoc *
chain(struct mdoc_pool *mp, int n, int tail)
{
	struct mdoc *d = str_node(mp, "x", 1), *c, *o;
	int	 i;

	for (i = 0; i < n; i++) {
		c = mdoc_new(mp, i % 2 ? MDOC_ARR : MDOC_OBJ);
		if (c->kind == MDOC_ARR) {
			if (!tail && mdoc_append(mp, c, leaf(mp)) != 0)
				abort();
			if (mdoc_append(mp, c, d) != 0)
				abort();
		} else {
			if (!tail)
				mdoc_set(c, names[0], leaf(mp));
			mdoc_set(c, names[1], d);
			if (!tail) {
				o = mdoc_new(mp, MDOC_OBJ);
				mdoc_set(o, names[2], str_node(mp, "y", 1));
				mdoc_set(c, names[3], o);
			}
		}
		d = c;
	}
	return d;
}

/* 1 when mdoc_write_json writes json_dumps' text (the first few misses
 * are shown). */
static int
same(const struct mdoc *d, struct buf *b)
{
	static int shown;
	json_t	*j = mdoc_to_json(d);
	char	*want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	int	 r;

	buf_reset(b);
	r = mdoc_write_json(d, b) == 0 && want != NULL && b->p != NULL &&
	    strcmp(want, b->p) == 0;
	if (!r && shown++ < 5)
		printf("# got:  %.300s\n# want: %.300s\n", b->p ? b->p : "",
		    want ? want : "");
	free(want);
	json_decref(j);
	return r;
}

int
main(void)
{
	static const char *const nm[NNAMES] = { "id", "quantity", "item",
	    "standardItemId", "a name of exactly twenty-nine", ("a name of "
	    "thirty bytes, one more"), "", "quo\"ted" };
	struct arena	 a;
	struct mdoc_pool mp;
	struct buf	 b, c;
	struct mdoc	*d;
	size_t		 len, max;
	int		 i, n, bad = 0, fails = 0;

	for (i = 0; i < NNAMES; i++)
		names[i] = intern(nm[i], (unsigned)i);
	arena_init(&a, 256U << 20);
	buf_init(&b, 64U << 20);

	for (i = 0; i < 3000; i++) {
		arena_reset(&a);
		mdoc_pool_init(&mp, &a);
		d = tree(&mp, 1 + i % 12);
		if (!same(d, &b))
			bad++;
	}
	is_int(bad, 0, "random documents written as json_dumps writes them");

	/* past the writer's frames (32): objects and arrays, last or not */
	for (n = 1; n <= 200; n += (n < 70 ? 1 : 13)) {
		arena_reset(&a);
		mdoc_pool_init(&mp, &a);
		if (!same(chain(&mp, n, 0), &b) || !same(chain(&mp, n, 1), &b))
			fails++;
	}
	is_int(fails, 0, "nested 1 to 200 deep, with and without members "
	    "after each container");

	/* the depth limit: the readers' (2048), counted from the root */
	fails = 0;
	for (n = 2040; n <= 2056; n++) {
		arena_reset(&a);
		mdoc_pool_init(&mp, &a);
		d = chain(&mp, n, n % 2);
		buf_reset(&b);
		if ((mdoc_write_json(d, &b) == 0) != (n < 2048)) {
			printf("# depth %d: %s\n", n, n < 2048 ? "refused" :
			    "written");
			fails++;
		}
	}
	is_int(fails, 0, "documents deeper than 2048 refused, others written");

	/* the cap: exactly the text fits, one byte less does not */
	fails = 0;
	seed = 999;
	for (i = 0; i < 300; i++) {
		arena_reset(&a);
		mdoc_pool_init(&mp, &a);
		d = tree(&mp, 1 + i % 8);
		buf_reset(&b);
		if (mdoc_write_json(d, &b) != 0)
			abort();
		len = b.len;
		for (max = len > 3 ? len - 3 : 0; max <= len + 1; max++) {
			buf_init(&c, max);
			if ((mdoc_write_json(d, &c) == 0) != (max >= len) ||
			    (max >= len && (c.len != len ||
			    memcmp(c.p, b.p, len) != 0)))
				fails++;
			buf_free(&c);
		}
	}
	is_int(fails, 0, "a buffer's cap fails exactly when the text does not "
	    "fit");

	buf_free(&b);
	arena_free(&a);
	for (i = 0; i < NNAMES; i++)
		free((char *)names[i] - MAP_NAME_PRE);
	return done_testing();
}
