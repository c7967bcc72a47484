/*
 * arena.h: a bump allocator for everything built while one transaction set
 * is parsed and mapped.  Reset after each set, so memory does not grow with
 * the number of sets in a file.  Capped like every buffer.
 */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

#define ARENA_ALIGN	16U

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 size;
	size_t			 off;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct arena_chunk	*head;
	size_t			 used;	/* bytes handed out since reset */
	size_t			 max;
};

void	 arena_init(struct arena *, size_t max);
void	 arena_free(struct arena *);
/* Keeps the largest chunk for reuse. */
void	 arena_reset(struct arena *);
/* The memory a holds (its chunks' sizes), used or not. */
size_t	 arena_held(const struct arena *);
/* Zeroed, 16-byte aligned; NULL when max would be exceeded. */
void	*arena_alloc(struct arena *, size_t);
void	*arena_allocarray(struct arena *, size_t, size_t);
/* The general case of arena_alloc_raw(): a new chunk, or the cap. */
void	*arena_alloc_grow(struct arena *, size_t);
char	*arena_strndup(struct arena *, const char *, size_t);

/*
 * As arena_alloc, not zeroed: for pools that initialise what they carve.
 * Inline for the parsers' per-segment copies: what fits in the current chunk
 * is handed out here, anything else by arena_alloc_grow().
 */
static inline void *
arena_alloc_raw(struct arena *a, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t	 need;
	void	*p;

	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (c == NULL || need < size || need > c->size - c->off ||
	    need > a->max || a->used > a->max - need)
		return arena_alloc_grow(a, size);
	p = c->data + c->off;
	c->off += need;
	a->used += need;
	return p;
}

/*
 * arena_alloc_raw(a, size) for size bytes written at p, the current
 * chunk's free space, size within it, with nothing allocated from a since:
 * they are in the chunk, so only the cap is tested here; past it, the
 * general call decides (and refuses).
 */
static inline void *
arena_claim(struct arena *a, void *p, size_t size)
{
	size_t	 need;

	/*
	 * size <= avail: no overflow; and chunk sizes and offsets are all
	 * multiples of ARENA_ALIGN, so need ends within the chunk too.
	 */
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need > a->max || a->used > a->max - need)
		return arena_alloc_raw(a, size);
	a->head->off += need;
	a->used += need;
	return p;
}

/*
 * The free space of the current chunk within the cap, of which *avail bytes (a multiple of ARENA_ALIGN) may be taken
 * without a test by arena_commit(); NULL when none may.  For a parser
 * that writes many small records there in a row and claims them all at
 * once: nothing else may be allocated from a, nor a reset, until then.
 */
static inline void *
arena_window(const struct arena *a, size_t *avail)
{
	const struct arena_chunk *c = a->head;
	size_t	 n, cap;

	if (c == NULL || c->off >= c->size || a->used >= a->max)
		return NULL;
	n = c->size - c->off;
	cap = (a->max - a->used) & ~(size_t)(ARENA_ALIGN - 1);
	*avail = n < cap ? n : cap;
	return *avail ? (void *)(c->data + c->off) : NULL;
}

/*
 * Claim size bytes written at p = arena_window(a, &avail): size is a
 * multiple of ARENA_ALIGN, at most avail, and nothing was allocated from
 * a since, so there is nothing left to test.
 */
static inline void
arena_commit(struct arena *a, size_t size)
{
	a->head->off += size;
	a->used += size;
}

/*
 * Exchange what a and b hold (their chunks, and what was handed out):
 * each keeps its own cap.  For handing a whole set's memory from the
 * parser to a worker without copying it.
 */
static inline void
arena_swap(struct arena *a, struct arena *b)
{
	struct arena_chunk *h = a->head;
	size_t	 u = a->used;

	a->head = b->head;
	a->used = b->used;
	b->head = h;
	b->used = u;
}

/* As arena_allocarray, not zeroed: the caller fills every element. */
static inline void *
arena_allocarray_raw(struct arena *a, size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	return arena_alloc_raw(a, n * size);
}

#endif /* ARENA_H */
