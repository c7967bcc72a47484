/*
 * refset.h: a bounded set of short references (control numbers, message
 * references) for duplicate checks within one input: ISA13 and ST02 in
 * X12, UNB 0020 and UNH 0062 in EDIFACT.
 */
#ifndef REFSET_H
#define REFSET_H

#include <stddef.h>
#include <stdint.h>

#include "slice.h"

struct refset_ent {
	uint8_t		 len;
	char		 s[15];		/* X12 9 digits, EDIFACT up to 14 */
};

/*
 * ent: a run of numbers in order, or once hashed open addressing
 * (refset.c); cap 0 or a power of 2 from 64.  All zero is empty.
 *
 * Before ent, the references while each is the one before plus 1 (the
 * control numbers of nearly every file): none can be a duplicate, so
 * they are kept as the ends of their run, first..last, and go into ent
 * only once the run breaks (refset_run_end), in the same order.  A run
 * whose first reference has a leading zero keeps that length ("0001",
 * "0002"); any other has none ("9", "10").  run: 0 none yet, 1 the run,
 * 2 broken (ent holds them all).
 */
struct refset {
	struct refset_ent *ent;
	size_t		 cap, n;
	int		 hashed;
	uint64_t	 run_first, run_last;
	uint8_t		 run_len;	/* its length, 0 none kept */
	uint8_t		 run;
};

int	refset_seen_slow(struct refset *, struct slice s);
void	refset_run_end(struct refset *);
void	refset_clear(struct refset *);	/* empty, memory kept */
void	refset_free(struct refset *);

/*
 * 1 when s was already in the set; otherwise remembers it and returns 0.
 * Empty references and those over 15 bytes are never duplicates.  Past
 * EG_MAX_CONTROL_TRACK entries the set only answers, it stops growing.
 * Inline: a reference that extends the run (once per transaction set or
 * message) takes a few instructions and no call.
 */
static inline int
refset_seen(struct refset *c, struct slice s)
{
	uint64_t v = 0;
	size_t	 i;
	unsigned d;

	if (c->run != 2 && s.len - 1 < sizeof(c->ent->s)) {
		for (i = 0; i < s.len; i++) {
			if ((d = (unsigned)(unsigned char)s.p[i] - '0') > 9)
				goto broken;
			v = v * 10 + d;		/* 15 digits fit */
		}
		if (c->run == 0) {
			c->run_first = c->run_last = v;
			c->run_len = s.p[0] == '0' ? (uint8_t)s.len : 0;
			c->run = 1;
			return 0;
		}
		if (v == c->run_last + 1 && (c->run_len ?
		    s.len == c->run_len : s.p[0] != '0')) {
			c->run_last = v;
			return 0;
		}
 broken:
		refset_run_end(c);
	}
	return refset_seen_slow(c, s);
}

#endif /* REFSET_H */
