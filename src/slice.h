/*
 * slice.h: a view of bytes owned by someone else.  Parsers work on slices;
 * they never copy a segment just to look at it.
 */
#ifndef SLICE_H
#define SLICE_H

#include <stddef.h>
#include <string.h>

struct slice {
	const char	*p;
	size_t		 len;
};

#define SLICE_LIT(s)	((struct slice){ (s), sizeof(s) - 1 })

static inline struct slice
slice_make(const char *p, size_t len)
{
	struct slice s = { p, len };
	return s;
}

static inline struct slice
slice_cstr(const char *s)
{
	return slice_make(s, s ? strlen(s) : 0);
}

static inline int
slice_eq(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline int
slice_eqs(struct slice a, const char *s)
{
	return slice_eq(a, slice_cstr(s));
}

/* FNV-1a over the bytes: for small hash tables of references and ids. */
static inline unsigned long long
slice_hash(struct slice s)
{
	unsigned long long h = 1469598103934665603ULL;
	size_t	 i;

	for (i = 0; i < s.len; i++)
		h = (h ^ (unsigned char)s.p[i]) * 1099511628211ULL;
	return h;
}

/* Printable copy of at most 40 bytes of s into buf, for messages. */
const char	*slice_show(struct slice s, char *buf, size_t len);
/* Leading and trailing ASCII spaces removed (ISA fields are padded). */
struct slice	slice_trim(struct slice);
/* 1 when s starts with prefix. */
int		slice_prefix(struct slice s, const char *prefix);
/* NUL-terminated heap copy (xmalloc). */
char		*slice_strdup(struct slice);

#endif /* SLICE_H */
