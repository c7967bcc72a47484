/*
 * refset.c: bounded sets of references for duplicate checks (refset.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eglimits.h"
#include "refset.h"
#include "xmalloc.h"

/*
 * The slot where s is looked for first.  Control numbers are digits and
 * mostly sequential: the 64 numbers of a run (the same v >> 6) get the
 * 64 slots of one aligned block, so the next number's slot is in the same
 * or the next cache line instead of anywhere in a table of megabytes
 * (100,000 sets in one group made every lookup a cache miss).  A
 * multiplicative hash of the run picks the block and how far the run is
 * rotated inside it: numbers in steps of 64 (all the same v & 63) still
 * start at different places in their blocks instead of filling one
 * column of the table.
 */
static size_t
refset_home(struct slice s)
{
	unsigned long long v = 0, x;
	size_t	 i;

	for (i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return (size_t)slice_hash(s);
		v = v * 10 + (unsigned)(s.p[i] - '0');	/* 15 digits fit */
	}
	x = (v >> 6) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 20 << 6 | ((v + (x >> 58)) & 63));
}

/*
 * The next slot to look at.  A step of 1 would walk through the whole of
 * another run when two runs share a block (ten probes a number on
 * sequential ST02s); a step of 65 lands in the next block, where the
 * colliding run mostly finds its slots free.  65 is odd and the table a
 * power of 2, so the walk visits every slot: with the table at most half
 * full it always ends.
 */
#define REFSET_STEP	65

/*
 * Until a reference is not a number above every one before it, none can
 * repeat an earlier one (sequential control numbers never do): they are
 * only appended to ent, in order, and hashed into a table of the same
 * cap when one is not.  cap grows (and stops at the limit) the same way
 * in both, so the set keeps what it kept when it always hashed.
 */

/* s, 1 to 15 bytes, as a number: 0 when it is not all digits. */
static int
refset_number(const char *p, size_t len, uint64_t *v)
{
	uint64_t n = 0;
	size_t	 i;
	unsigned d;

	for (i = 0; i < len; i++) {
		if ((d = (unsigned)(unsigned char)p[i] - '0') > 9)
			return 0;
		n = n * 10 + d;			/* 15 digits fit */
	}
	*v = n;
	return 1;
}

static int
refset_find(const struct refset *c, struct slice s, size_t *slot)
{
	const size_t cap = c->cap;
	size_t	 j;

	if (cap == 0)
		return 0;
	j = refset_home(s) & (cap - 1);
	while (c->ent[j].len) {
		if (c->ent[j].len == s.len &&
		    memcmp(c->ent[j].s, s.p, s.len) == 0)
			return 1;
		j = (j + REFSET_STEP) & (cap - 1);
	}
	*slot = j;
	return 0;
}

/* The run in ent, hashed into a table of the same cap. */
static void
refset_hash(struct refset *c)
{
	struct refset_ent *run = c->ent;
	const size_t cap = c->cap;
	size_t	 i, j;

	c->ent = cap ? xcalloc(cap, sizeof(*c->ent)) : NULL;
	for (i = 0; i < c->n; i++) {
		j = refset_home(slice_make(run[i].s, run[i].len)) & (cap - 1);
		while (c->ent[j].len)
			j = (j + REFSET_STEP) & (cap - 1);
		c->ent[j] = run[i];
	}
	free(run);
	c->hashed = 1;
}

/* refset_seen() on the run: 1 when s was appended, 0 when not taken. */
static int
refset_append(struct refset *c, struct slice s)
{
	const size_t cap = c->cap;
	struct refset_ent *e;
	uint64_t v, top;
	size_t	 i;

	if (!refset_number(s.p, s.len, &v) || (c->n > 0 &&
	    refset_number(c->ent[c->n - 1].s, c->ent[c->n - 1].len, &top) &&
	    v <= top))
		return 0;
	if (c->n + 1 > cap / 2) {
		if (c->n >= EG_MAX_CONTROL_TRACK)
			return 1;		/* not kept, as below */
		c->ent = xreallocarray(c->ent, cap ? cap * 2 : 64,
		    sizeof(*c->ent));
		c->cap = cap ? cap * 2 : 64;
	}
	e = &c->ent[c->n++];
	memset(e, 0, sizeof(*e));
	e->len = (uint8_t)s.len;
	for (i = 0; i < s.len; i++)
		e->s[i] = s.p[i];
	return 1;
}

/* The run into ent, as refset_seen_slow() would have taken them. */
void
refset_run_end(struct refset *c)
{
	char	 b[24];
	uint64_t v, n;
	size_t	 i;

	if (c->run == 1)
		for (v = c->run_first; v <= c->run_last; v++) {
			i = sizeof(b);
			n = v;
			do {
				b[--i] = (char)('0' + n % 10);
				n /= 10;
			} while (n != 0);
			while (sizeof(b) - i < c->run_len)
				b[--i] = '0';
			(void)refset_seen_slow(c, slice_make(b + i,
			    sizeof(b) - i));
		}
	c->run = 2;
}

/* refset_seen() past the run. */
int
refset_seen_slow(struct refset *c, struct slice s)
{
	struct refset_ent *old;
	size_t	 i, j = 0, oldcap, cap;	/* j: set by refset_find (cap > 0) */

	if (s.len == 0 || s.len > sizeof(c->ent->s))
		return 0;
	if (!c->hashed) {
		if (refset_append(c, s))
			return 0;
		refset_hash(c);
	}
	if (c->n + 1 > c->cap / 2) {
		if (c->n >= EG_MAX_CONTROL_TRACK)
			return refset_find(c, s, &j);
		old = c->ent;
		oldcap = c->cap;
		cap = oldcap ? oldcap * 2 : 64;
		c->ent = xcalloc(cap, sizeof(*c->ent));
		c->cap = cap;
		for (i = 0; i < oldcap; i++) {
			if (old[i].len == 0)
				continue;
			j = refset_home(slice_make(old[i].s, old[i].len)) &
			    (cap - 1);
			while (c->ent[j].len)
				j = (j + REFSET_STEP) & (cap - 1);
			c->ent[j] = old[i];
		}
		free(old);
	}
	if (refset_find(c, s, &j))
		return 1;
	c->ent[j].len = (uint8_t)s.len;
	memcpy(c->ent[j].s, s.p, s.len);
	c->n++;
	return 0;
}

/* Back to a run: what ent holds past n is not read, nothing to zero. */
void
refset_clear(struct refset *c)
{
	c->n = 0;
	c->hashed = 0;
	c->run = 0;
}

void
refset_free(struct refset *c)
{
	free(c->ent);
	memset(c, 0, sizeof(*c));
}
