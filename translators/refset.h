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
 */
struct refset {
	struct refset_ent *ent;
	size_t		 cap, n;
	int		 hashed;
};

/*
 * 1 when s was already in the set; otherwise remembers it and returns 0.
 * Empty references and those over 15 bytes are never duplicates.  Past
 * EG_MAX_CONTROL_TRACK entries the set only answers, it stops growing.
 */
int	refset_seen(struct refset *, struct slice s);
void	refset_clear(struct refset *);	/* empty, memory kept */
void	refset_free(struct refset *);

#endif /* REFSET_H */
