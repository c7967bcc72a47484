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
#include <string.h>

#include "arena.h"
#include "edi.h"
#include "eglimits.h"
#include "slice.h"

struct setbuf {
	struct edi_seg	*seg;		/* kept segments, header first */
	size_t		 nseg, cap;
	uint32_t	 count;		/* segments seen, kept or not (SE01) */
	size_t		 start, end;	/* input offsets of the set's bytes */
	int		 overflow;	/* a limit was hit: nothing more kept */
	/*
	 * setbuf_add()'s fast test: nseg below lim_nseg, end not past
	 * lim_end; overflowed, lim_nseg is 0, so the test is one compare.
	 */
	size_t		 lim_nseg;	/* cap, or EG_MAX_SET_SEGMENTS - 1 */
	size_t		 lim_end;	/* start + EG_MAX_SET_SIZE */
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
/*
 * The slot setbuf_add() fills next, for a tokenizer to write a segment
 * straight into instead of copying it there; NULL when setbuf_add() would
 * not take its fast path anyway (overflowed, or seg[] full or at the
 * segment limit).  The slot is past nseg: nothing reads it, and the
 * caller copies it out before anything else may touch b.
 */
static inline struct edi_seg *setbuf_slot(struct setbuf *);
/*
 * setbuf_add() without force for the segment written at setbuf_slot(),
 * with nothing done to b since: s, or NULL (b unchanged) when end is past
 * the set's size limit, for the caller to copy s out and call setbuf_add().
 */
static inline struct edi_seg *setbuf_add_slot(struct setbuf *,
		    struct edi_seg *s, size_t end);
/* setbuf_add() for a trailer, at a limit or when seg[] must grow. */
struct edi_seg *setbuf_add_slow(struct setbuf *, const struct edi_seg *seg,
		    size_t end, int force, enum setbuf_why *why);
/*
 * arena_allocarray_raw(a, n, sizeof(struct edi_val)) for n values written
 * at v, the arena's free space as setbuf_vwroom() gave it (n below its
 * *cap), with the window closed and nothing allocated from a since: they
 * fit in the chunk, so only the arena's cap is tested here; the general
 * call decides when it refuses them.
 */
static inline struct edi_val *setbuf_valclaim(struct arena *a,
		    struct edi_val *v, size_t n);
/*
 * The values of a run of segments written one after the other into the
 * arena's free space, and claimed when the run ends: a segment's values
 * cost a pointer step instead of a claim each (setbuf_valclaim()).
 * p is NULL while the window is closed.  While it is open nothing else
 * may be allocated from the arena, nor the arena reset:
 * setbuf_vwclose() first.
 */
struct setbuf_vwin {
	unsigned char	*p;		/* the next segment's values */
	unsigned char	*end;		/* of the room within chunk and cap */
	unsigned char	*start;		/* p when opened: p - start taken */
};

/*
 * Where the next segment's values go, and how many fit (*cap, at most
 * max); NULL when none do (the window stays closed).
 */
static inline struct edi_val *setbuf_vwroom(struct arena *,
		    struct setbuf_vwin *, size_t max, size_t *cap);
/* Keep the n values written at setbuf_vwroom() (n below its *cap). */
static inline struct edi_val *setbuf_vwtake(struct setbuf_vwin *, size_t n);
/*
 * setbuf_vwtake() for the values written at setbuf_vwroom() up to end
 * (end - start below its *cap): the same step, from the end the writer
 * holds instead of a count.
 */
static inline struct edi_val *setbuf_vwtake_end(struct setbuf_vwin *,
		    struct edi_val *end);
/* Claim what the window took from the arena, and close it. */
static inline void setbuf_vwclose(struct arena *, struct setbuf_vwin *);

/*
 * A value's el, rep and comp as one 64-bit word, stored with one move by
 * setbuf_putval(): el in bits 0..15, rep 16..31, comp 32..47 (the two
 * bytes past comp are struct edi_val's padding).  The tokenizers' fast
 * paths use it only where the machine is little-endian (x86, __SSE2__).
 */
#define ERC_EL		0xffffU
#define ERC_REP1	((uint64_t)1 << 16)
#define ERC_COMP1	((uint64_t)1 << 32)
#define ERC_ELNUM(erc)	((unsigned)((erc) & ERC_EL))
#define ERC_COMP(erc)	((unsigned)((erc) >> 32))

_Static_assert(offsetof(struct edi_val, rep) ==
    offsetof(struct edi_val, el) + 2 && offsetof(struct edi_val, comp) ==
    offsetof(struct edi_val, el) + 4 && sizeof(struct edi_val) >=
    offsetof(struct edi_val, el) + 8, "edi_val: el, rep, comp, padding");

static inline void
setbuf_putval(struct edi_val *v, const unsigned char *start,
    const unsigned char *q, uint64_t erc)
{
	v->s.p = (const char *)start;
	v->s.len = (size_t)(q - start);
	memcpy((unsigned char *)v + offsetof(struct edi_val, el), &erc,
	    sizeof(erc));
}

/* A limit was hit: nothing more is kept but trailers (setbuf_add()'s force). */
static inline void
setbuf_overflow(struct setbuf *b)
{
	b->overflow = 1;
	b->lim_nseg = 0;
}

/* The set's bytes in input. */
struct slice setbuf_raw(const struct setbuf *, struct slice input);
void	setbuf_free(struct setbuf *);

/* Inline: the parsers call it for every segment of a set. */
static inline struct edi_seg *
setbuf_add(struct setbuf *b, const struct edi_seg *seg, size_t end, int force,
    enum setbuf_why *why)
{
	struct edi_seg *s;

	/*
	 * overflowed: lim_nseg is 0.  Within the limits force (a trailer)
	 * changes nothing: setbuf_add_slow() would keep seg the same way.
	 */
	if (b->nseg >= b->lim_nseg || end > b->lim_end)
		return setbuf_add_slow(b, seg, end, force, why);
	b->count++;
	b->end = end;
	s = &b->seg[b->nseg++];
	*s = *seg;
	s->setpos = b->count;
	return s;
}

static inline struct edi_seg *
setbuf_slot(struct setbuf *b)
{
	if (b->nseg >= b->lim_nseg)		/* overflowed: lim_nseg is 0 */
		return NULL;
	return &b->seg[b->nseg];
}

static inline struct edi_seg *
setbuf_add_slot(struct setbuf *b, struct edi_seg *s, size_t end)
{
	if (end > b->lim_end)
		return NULL;
	b->count++;
	b->end = end;
	b->nseg++;
	s->setpos = b->count;
	return s;
}

static inline struct edi_val *
setbuf_valclaim(struct arena *a, struct edi_val *v, size_t n)
{
	return arena_claim(a, v, n * sizeof(*v));	/* n < cap: no overflow */
}

static inline struct edi_val *
setbuf_vwroom(struct arena *a, struct setbuf_vwin *w, size_t max, size_t *cap)
{
	size_t	 avail, room;

	if (w->p == NULL) {
		if ((w->p = arena_window(a, &avail)) == NULL)
			return NULL;
		w->start = w->p;
		w->end = w->p + avail;
	}
	room = (size_t)(w->end - w->p);
	/* the division only when the chunk is nearly full */
	*cap = room >= max * sizeof(struct edi_val) ? max :
	    room / sizeof(struct edi_val);
	return *cap ? (struct edi_val *)(void *)w->p : NULL;
}

static inline struct edi_val *
setbuf_vwtake(struct setbuf_vwin *w, size_t n)
{
	struct edi_val *v = (struct edi_val *)(void *)w->p;
	size_t	 need;

	/*
	 * n < cap: within the room, which is a multiple of ARENA_ALIGN; one
	 * pointer to step, the room and what was taken follow from it
	 */
	need = (n * sizeof(*v) + ARENA_ALIGN - 1) &
	    ~(size_t)(ARENA_ALIGN - 1);
	w->p += need;
	return n ? v : NULL;
}

_Static_assert(_Alignof(max_align_t) >= ARENA_ALIGN,
    "setbuf_vwtake_end(): malloc() memory is ARENA_ALIGN-aligned");

static inline struct edi_val *
setbuf_vwtake_end(struct setbuf_vwin *w, struct edi_val *end)
{
	struct edi_val *v = (struct edi_val *)(void *)w->p;

	/*
	 * w->p is ARENA_ALIGN-aligned (the arena's chunks are malloc()-ed,
	 * and it hands out multiples of ARENA_ALIGN): rounding end up steps
	 * as setbuf_vwtake() does from n, without working n out again
	 */
	w->p = (unsigned char *)(((uintptr_t)end + ARENA_ALIGN - 1) &
	    ~(uintptr_t)(ARENA_ALIGN - 1));
	return end != v ? v : NULL;
}

static inline void
setbuf_vwclose(struct arena *a, struct setbuf_vwin *w)
{
	if (w->p != NULL && w->p != w->start)
		arena_commit(a, (size_t)(w->p - w->start));
	w->p = NULL;
}

#endif /* SETBUF_H */
