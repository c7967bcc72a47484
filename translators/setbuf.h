/*
 * setbuf.h: the segments of the transaction set (X12 ST..SE, EDIFACT
 * UNH..UNT) a parser is assembling, with the set-size limits of
 * eglimits.h.  Both parsers keep their sets here; each copies values and
 * reports limits in its own diagnostic codes.
 */
#ifndef SETBUF_H
#define SETBUF_H

#include <stddef.h>
#include <stdint.h>

#include "edi.h"
#include "eglimits.h"
#include "slice.h"

struct setbuf {
	struct edi_seg	*seg;		/* kept segments, header first */
	size_t		 nseg, cap;
	uint32_t	 count;		/* segments seen, kept or not (SE01) */
	size_t		 start, end;	/* input offsets of the set's bytes */
	int		 overflow;	/* a limit was hit: nothing more kept */
};

enum setbuf_why {
	SETBUF_OVERFLOWED = 1,		/* an earlier segment hit a limit */
	SETBUF_SEGMENTS,		/* EG_MAX_SET_SEGMENTS reached */
	SETBUF_SIZE,			/* EG_MAX_SET_SIZE reached */
};

/* A new set whose header starts at input offset start. */
void	setbuf_begin(struct setbuf *, size_t start);
/*
 * Count seg (ending at input offset end) and, within the limits or when
 * force is set (trailers), reserve its slot: a copy of seg whose setpos is
 * set and whose values the caller fills.  NULL with *why when not kept.
 */
static inline struct edi_seg *setbuf_add(struct setbuf *,
		    const struct edi_seg *seg, size_t end, int force,
		    enum setbuf_why *why);
/* setbuf_add() for a trailer, at a limit or when seg[] must grow. */
struct edi_seg *setbuf_add_slow(struct setbuf *, const struct edi_seg *seg,
		    size_t end, int force, enum setbuf_why *why);
/* The set's bytes in input. */
struct slice setbuf_raw(const struct setbuf *, struct slice input);
void	setbuf_free(struct setbuf *);

/* Inline: the parsers call it for every segment of a set. */
static inline struct edi_seg *
setbuf_add(struct setbuf *b, const struct edi_seg *seg, size_t end, int force,
    enum setbuf_why *why)
{
	struct edi_seg *s;

	if (force || b->overflow || b->nseg == b->cap ||
	    b->nseg + 1 >= EG_MAX_SET_SEGMENTS || end - b->start > EG_MAX_SET_SIZE)
		return setbuf_add_slow(b, seg, end, force, why);
	b->count++;
	b->end = end;
	s = &b->seg[b->nseg++];
	*s = *seg;
	s->setpos = b->count;
	return s;
}

#endif /* SETBUF_H */
