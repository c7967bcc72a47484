/*
 * setbuf.c: assembling a transaction set's segments (setbuf.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eglimits.h"
#include "setbuf.h"
#include "xmalloc.h"

/* The limits of setbuf_add()'s fast test, after cap or start changed. */
static void
setbuf_limits(struct setbuf *b)
{
	b->lim_nseg = b->overflow ? 0 : b->cap < EG_MAX_SET_SEGMENTS - 1 ?
	    b->cap : EG_MAX_SET_SEGMENTS - 1;
	b->lim_end = b->start + EG_MAX_SET_SIZE;
}

void
setbuf_begin(struct setbuf *b, size_t start)
{
	b->nseg = 0;
	b->count = 0;
	b->overflow = 0;
	b->start = b->end = start;
	setbuf_limits(b);
}

struct edi_seg *
setbuf_add_slow(struct setbuf *b, const struct edi_seg *seg, size_t end, int force,
    enum setbuf_why *why)
{
	struct edi_seg *s;

	b->count++;
	b->end = end;
	if (b->overflow && !force) {
		*why = SETBUF_OVERFLOWED;
		return NULL;
	}
	if (!force && (b->nseg + 1 >= EG_MAX_SET_SEGMENTS ||
	    end - b->start > EG_MAX_SET_SIZE)) {
		setbuf_overflow(b);
		*why = b->nseg + 1 >= EG_MAX_SET_SEGMENTS ? SETBUF_SEGMENTS :
		    SETBUF_SIZE;
		return NULL;
	}
	if (b->nseg == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->seg = xreallocarray(b->seg, b->cap, sizeof(*b->seg));
		setbuf_limits(b);
	}
	s = &b->seg[b->nseg++];
	*s = *seg;
	s->setpos = b->count;
	return s;
}

struct slice
setbuf_raw(const struct setbuf *b, struct slice input)
{
	return slice_make(input.p + b->start, b->end - b->start);
}

void
setbuf_free(struct setbuf *b)
{
	free(b->seg);
	memset(b, 0, sizeof(*b));
}
