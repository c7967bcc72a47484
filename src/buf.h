/*
 * buf.h: the one growable byte buffer.  It cannot be created without a
 * maximum size; growing past it fails with EG_ERR_LIMIT and leaves the
 * buffer unchanged.  The contents are always NUL-terminated (not counted
 * in len) so they can be handed to C string functions.
 */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;	/* allocated, excluding the NUL */
	size_t	 max;	/* hard limit on len */
};

void	 buf_init(struct buf *, size_t max);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, memory kept */
int	 buf_add_slow(struct buf *, const void *, size_t);
/* Room for more bytes after len (p allocated); 0, or EG_ERR_LIMIT. */
int	 buf_grow(struct buf *, size_t more);
int	 buf_adds(struct buf *, const char *);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/*
 * Appending is on every hot path (JSON, diagnostics, traces): the common
 * case (room already allocated, below the cap) is inline; growing and the
 * cap are buf_add_slow's.
 */
static inline int
buf_add(struct buf *b, const void *p, size_t len)
{
	if (b->p != NULL && len <= b->cap - b->len &&
	    len <= b->max - b->len && b->len <= b->max) {
		if (len)
			memcpy(b->p + b->len, p, len);
		b->len += len;
		b->p[b->len] = '\0';
		return 0;
	}
	return buf_add_slow(b, p, len);
}

static inline int
buf_addc(struct buf *b, int c)
{
	char	 ch = (char)c;

	if (b->p != NULL && b->len < b->cap && b->len < b->max) {
		b->p[b->len++] = ch;
		b->p[b->len] = '\0';
		return 0;
	}
	return buf_add_slow(b, &ch, 1);
}

/*
 * For writers that assemble a piece in place: room for k more bytes,
 * returned as where they go (the end of the contents), or NULL at the cap
 * (EG_ERR_LIMIT, the buffer unchanged).  After writing, buf_end_at(b, e)
 * with e the end of what was written (within the k bytes).
 */
static inline char *
buf_room(struct buf *b, size_t k)
{
	if ((b->p == NULL || k > b->cap - b->len || k > b->max - b->len ||
	    b->len > b->max) && buf_grow(b, k) != 0)
		return NULL;
	return b->p + b->len;
}

static inline void
buf_end_at(struct buf *b, char *e)
{
	b->len = (size_t)(e - b->p);
	*e = '\0';
}

/* Hand the contents to the caller (NUL-terminated); the buf is emptied. */
char	*buf_release(struct buf *, size_t *lenp);

#endif /* BUF_H */
