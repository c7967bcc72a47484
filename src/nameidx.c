/*
 * nameidx.c: see nameidx.h.  Open addressing with linear probing,
 * FNV-1a, kept under half full.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "nameidx.h"
#include "xmalloc.h"

static const char *
name_at(const void *base, size_t stride, size_t i)
{
	return *(char *const *)(const void *)((const char *)base +
	    i * stride);
}

static uint32_t
name_hash(const char *n)
{
	uint32_t	 h = 2166136261u;

	while (*n)
		h = (h ^ (unsigned char)*n++) * 16777619u;
	return h;
}

static void
put(struct nameidx *x, const char *name, size_t i)
{
	size_t	 j, mask = x->nslot - 1;

	for (j = name_hash(name) & mask; x->slot[j]; j = (j + 1) & mask)
		;
	x->slot[j] = (uint32_t)i + 1;
}

void
nameidx_build(struct nameidx *x, const void *base, size_t stride, size_t n)
{
	size_t	 want = 64, i;

	while (want <= 2 * n)
		want *= 2;
	if (x->nslot != want) {
		free(x->slot);
		x->slot = xcalloc(want, sizeof(*x->slot));
		x->nslot = want;
	} else
		memset(x->slot, 0, want * sizeof(*x->slot));
	for (i = 0; i < n; i++)
		put(x, name_at(base, stride, i), i);
}

void
nameidx_add(struct nameidx *x, const void *base, size_t stride, size_t i)
{
	if (x->nslot <= 2 * (i + 1))
		nameidx_build(x, base, stride, i + 1);
	else
		put(x, name_at(base, stride, i), i);
}

long
nameidx_find(const struct nameidx *x, const void *base, size_t stride,
    const char *name)
{
	size_t	 j, mask;

	if (x->nslot == 0)
		return -1;
	mask = x->nslot - 1;
	for (j = name_hash(name) & mask; x->slot[j]; j = (j + 1) & mask)
		if (strcmp(name_at(base, stride, x->slot[j] - 1), name) == 0)
			return (long)x->slot[j] - 1;
	return -1;
}

void
nameidx_free(struct nameidx *x)
{
	free(x->slot);
	x->slot = NULL;
	x->nslot = 0;
}
