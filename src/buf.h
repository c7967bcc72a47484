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

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;	/* allocated, excluding the NUL */
	size_t	 max;	/* hard limit on len */
};

void	 buf_init(struct buf *, size_t max);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, memory kept */
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_addc(struct buf *, int);
int	 buf_adds(struct buf *, const char *);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* Hand the contents to the caller (NUL-terminated); the buf is emptied. */
char	*buf_release(struct buf *, size_t *lenp);

#endif /* BUF_H */
