/*
 * arena.c: bump allocation for per-set data (see arena.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "xmalloc.h"

#define ARENA_CHUNK	(64U * 1024)

void
arena_init(struct arena *a, size_t max)
{
	a->head = NULL;
	a->used = 0;
	a->max = max;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *n;

	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = 0;
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *n, *keep = NULL;

	/* Keep the largest chunk; free the others. */
	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		if (keep == NULL || c->size > keep->size) {
			free(keep);
			keep = c;
		} else
			free(c);
	}
	if (keep) {
		keep->next = NULL;
		keep->off = 0;
	}
	a->head = keep;
	a->used = 0;
}

size_t
arena_held(const struct arena *a)
{
	const struct arena_chunk *c;
	size_t	 n = 0;

	for (c = a->head; c != NULL; c = c->next)
		n += c->size;
	return n;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	void	*p;

	if ((p = arena_alloc_raw(a, size)) != NULL)
		memset(p, 0, size);
	return p;
}

void *
arena_alloc_grow(struct arena *a, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t	 need, csize;
	void	*p;

	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < size || need > a->max || a->used > a->max - need)
		return NULL;
	if (c == NULL || c->size - c->off < need) {
		csize = need > ARENA_CHUNK ? need : ARENA_CHUNK;
		if (c != NULL && c->size * 2 > csize && c->size * 2 <= a->max)
			csize = c->size * 2;
		c = xmalloc(sizeof(*c) + csize);
		c->size = csize;
		c->off = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->off;
	c->off += need;
	a->used += need;
	return p;
}

void *
arena_allocarray(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char	*p;

	if ((p = arena_alloc(a, len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
