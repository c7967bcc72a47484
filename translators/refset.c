/*
 * refset.c: bounded sets of references for duplicate checks (refset.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eglimits.h"
#include "refset.h"
#include "xmalloc.h"

static int
refset_find(const struct refset *c, struct slice s, size_t *slot)
{
	size_t	 j;

	if (c->cap == 0)
		return 0;
	j = slice_hash(s) & (c->cap - 1);
	while (c->ent[j].len) {
		if (c->ent[j].len == s.len &&
		    memcmp(c->ent[j].s, s.p, s.len) == 0)
			return 1;
		j = (j + 1) & (c->cap - 1);
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
			j = slice_hash(slice_make(old[i].s, old[i].len)) &
			    (c->cap - 1);
			while (c->ent[j].len)
				j = (j + 1) & (c->cap - 1);
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
