/*
 * arena.h: a bump allocator for everything built while one transaction set
 * is parsed and mapped.  Reset after each set, so memory does not grow with
 * the number of sets in a file.  Capped like every buffer.
 */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk	*head;
	size_t			 used;	/* bytes handed out since reset */
	size_t			 max;
};

void	 arena_init(struct arena *, size_t max);
void	 arena_free(struct arena *);
/* Keeps the first chunk for reuse. */
void	 arena_reset(struct arena *);
/* Zeroed, 16-byte aligned; NULL when max would be exceeded. */
void	*arena_alloc(struct arena *, size_t);
/* As arena_alloc, not zeroed: for pools that initialise what they carve. */
void	*arena_alloc_raw(struct arena *, size_t);
void	*arena_allocarray(struct arena *, size_t, size_t);
/* As arena_allocarray, not zeroed: the caller fills every element. */
void	*arena_allocarray_raw(struct arena *, size_t, size_t);
char	*arena_strndup(struct arena *, const char *, size_t);

#endif /* ARENA_H */
