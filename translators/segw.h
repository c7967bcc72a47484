/*
 * segw.h: writing X12 and EDIFACT segments of generated acknowledgements
 * (TA1/997/999, CONTRL) with a set of delimiters: empty trailing elements
 * are left out, and the first error of the buffer is kept in *rc.
 */
#ifndef SEGW_H
#define SEGW_H

#include "edi.h"

struct buf;

struct segw {
	struct buf	*b;
	const struct edi_delims *d;
	int		 empty;		/* empty elements not yet written */
	int		*rc;		/* first negative EG_ERR_*, kept */
};

void	segw_start(struct segw *, struct buf *, const struct edi_delims *,
	    int *rc, const char *tag);
/* An element already in the output syntax; NULL or "" is empty. */
void	segw_raw(struct segw *, const char *);
void	segw_num(struct segw *, unsigned long);
void	segw_end(struct segw *);
/* 1 when c is one of d's service characters (element, segment, component,
 * release, repetition; X12 has no release). */
int	segw_is_delim(const struct edi_delims *, int c);

#endif /* SEGW_H */
