/*
 * buf.c: capped growable byte buffers (see buf.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "xmalloc.h"

static int	buf_reserve(struct buf *, size_t);

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

int
buf_grow(struct buf *b, size_t more)
{
	return buf_reserve(b, more);
}

static int
buf_reserve(struct buf *b, size_t more)
{
	size_t	 want, ncap;

	if (more > b->max || b->len > b->max - more)
		return EG_ERR_LIMIT;
	want = b->len + more;
	if (b->p != NULL && want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	b->p = xreallocarray(b->p, ncap + 1, 1);
	b->cap = ncap;
	return 0;
}

int
buf_add_slow(struct buf *b, const void *p, size_t len)
{
	int	 r;

	if ((r = buf_reserve(b, len)) != 0)
		return r;
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return EG_ERR_INVAL;
	if ((r = buf_reserve(b, (size_t)n)) != 0)
		return r;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *
buf_release(struct buf *b, size_t *lenp)
{
	char	*p;

	if (b->p == NULL)
		b->p = xcalloc(1, 1);
	p = b->p;
	if (lenp)
		*lenp = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
