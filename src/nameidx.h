/*
 * nameidx.h: a hash index by name over an array of structs whose first
 * member is `char *name` (the files of an inbox seen at the last poll,
 * tens of thousands of them).  The array stays the caller's; the index
 * holds positions, so it is rebuilt when entries move (nameidx_build).
 */
#ifndef NAMEIDX_H
#define NAMEIDX_H

#include <stddef.h>
#include <stdint.h>

struct nameidx {
	uint32_t	*slot;		/* position + 1; 0 free */
	size_t		 nslot;		/* a power of 2 */
};

/* Index the n entries of base (stride bytes each). */
void	nameidx_build(struct nameidx *, const void *base, size_t stride,
	    size_t n);
/* Entry i of base, just appended (base may have moved), is indexed. */
void	nameidx_add(struct nameidx *, const void *base, size_t stride,
	    size_t i);
/* The position of name, or -1. */
long	nameidx_find(const struct nameidx *, const void *base, size_t stride,
	    const char *name);
void	nameidx_free(struct nameidx *);

#endif /* NAMEIDX_H */
