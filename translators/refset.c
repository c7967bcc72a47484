/*
 * refset.c: bounded sets of references for duplicate checks (refset.h).
 */
#include "config.h"

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

static int
refset_find(const struct refset *c, struct slice s, size_t *slot)
{
	size_t	 j;

	if (c->cap == 0)
		return 0;
	j = refset_home(s) & (c->cap - 1);
	while (c->ent[j].len) {
		if (c->ent[j].len == s.len &&
		    memcmp(c->ent[j].s, s.p, s.len) == 0)
			return 1;
		j = (j + REFSET_STEP) & (c->cap - 1);
	}
	*slot = j;
	return 0;
}

int
refset_seen(struct refset *c, struct slice s)
{
	struct refset_ent *old;
	size_t	 i, j, oldcap;

	if (s.len == 0 || s.len > sizeof(c->ent->s))
		return 0;
	if (c->n + 1 > c->cap / 2) {
		if (c->n >= EG_MAX_CONTROL_TRACK)
			return refset_find(c, s, &j);
		old = c->ent;
		oldcap = c->cap;
		c->cap = oldcap ? oldcap * 2 : 64;
		c->ent = xcalloc(c->cap, sizeof(*c->ent));
		for (i = 0; i < oldcap; i++) {
			if (old[i].len == 0)
				continue;
			j = refset_home(slice_make(old[i].s, old[i].len)) &
			    (c->cap - 1);
			while (c->ent[j].len)
				j = (j + REFSET_STEP) & (c->cap - 1);
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

void
refset_clear(struct refset *c)
{
	if (c->n)
		memset(c->ent, 0, c->cap * sizeof(*c->ent));
	c->n = 0;
}

void
refset_free(struct refset *c)
{
	free(c->ent);
	memset(c, 0, sizeof(*c));
}
